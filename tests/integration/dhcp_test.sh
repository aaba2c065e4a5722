#!/usr/bin/env bash
# DHCP with real clients, in network namespaces this test creates (nothing
# here touches the machine's own interfaces):
#
#   ns C (dhclient, udhcpc, scripted PXE client) ──┐
#   ns D (dnsmasq, the "site" DHCP server, proxy)─ br0 in ns L ── ns S (pxed) eth0 10.77.0.2/16
#                                                                   eth1 10.78.0.2/24
#   ns C2 (relayed client) ── ns R (dhcrelay) 10.79.0.1 / 10.78.0.1 ──┘
#
# Usage: dhcp_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

[[ $(id -u) -eq 0 ]] || skip_all "needs root to create network namespaces"
for c in ip dhclient busybox dhcrelay dnsmasq python3 tftp; do
  command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"
done
PROBE="python3 $SRC/tests/integration/dhcp_probe.py"

id=$$
L=pxd-l-$id S=pxd-s-$id C=pxd-c-$id D=pxd-d-$id R=pxd-r-$id C2=pxd-c2-$id
# (IPv6 off: iPXE and the kernel's IPv6 autoconfiguration only add noise here.)
netns_up $L $S $C $D $R $C2

ip -n $L link add br0 type bridge
ip -n $L link set br0 up
plug() {  # NS IFNAME: a veth from NS into the bridge
  ip link add "$2" netns "$1" type veth peer name "p-$1" netns $L
  ip -n $L link set "p-$1" master br0 up
  ip -n "$1" link set "$2" up
}
plug $S eth0
plug $C eth0
plug $D eth0
ip -n $S addr add 10.77.0.2/16 dev eth0
ip -n $D addr add 10.77.0.3/16 dev eth0
# The relayed side.
ip link add eth1 netns $S type veth peer name up0 netns $R
ip link add down0 netns $R type veth peer name eth0 netns $C2
ip -n $S addr add 10.78.0.2/24 dev eth1
ip -n $R addr add 10.78.0.1/24 dev up0
ip -n $R addr add 10.79.0.1/24 dev down0
for x in "$S eth1" "$R up0" "$R down0" "$C2 eth0"; do ip -n ${x% *} link set ${x#* } up; done
ip -n $S route add 10.79.0.0/24 via 10.78.0.1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1

root=$TMP/tftp
mkdir -p "$root" "$TMP/state"
head -c 30000 /dev/urandom > "$root/pxelinux.0"
MAC_A=52:54:00:77:00:0a   # dynamic
MAC_B=52:54:00:77:00:0b   # reserved
MAC_C=52:54:00:77:00:0c   # relayed
cat > "$TMP/site.yaml" <<YAML
server:
  address: 10.77.0.2
  state_dir: $TMP/state
  log: {level: debug}
  dhcp: {relay_agents: [10.78.0.1]}
  tftp: {root: $root}
  http: {port: 8080}
  ftp: {enabled: false}
boot:
  ipxe: http://10.77.0.2/ipxe/{{mac}}
subnets:
  - network: 10.77.0.0/16
    ranges: [10.77.1.0-10.77.2.255]
    routers: [10.77.0.1]
    dns: [10.77.0.53]
    domain: lab.test
    lease_time: 10m
  - network: 10.79.0.0/24
    ranges: [10.79.0.100-10.79.0.150]
    routers: [10.79.0.1]
    relay_only: true
  - network: 10.78.0.0/24
profiles:
  c7: {label: CentOS 7, kernel: pxelinux.0, initrd: pxelinux.0}
menu: {default: c7}
hosts:
  - {mac: "$MAC_B", hostname: web01, ip: 10.77.0.20, profile: c7}
  - {mac: "52:54:00:77:00:e4", hostname: done01, profile: c7, lifecycle: {new_hosts: installed, installed_pxe: none}}
YAML
start_pxed "$TMP/site.yaml" ip netns exec $S
wait_for_log "dhcp: answering on" 5 || true
check "pxed answers on the subnet's interfaces only" grep -q "dhcp: answering on eth0, eth1" "$TMP/pxed.log"

leases() { "$PXED" leases --config "$TMP/site.yaml" "$@"; }

# --- dhclient: a dynamic client -------------------------------------------
write_dhclient_script "$TMP/dhclient-script" "$TMP/dhc"
ip -n $C link set eth0 address $MAC_A
dhc() {  # extra dhclient args...
  timeout 20 ip netns exec $C dhclient -4 -1 -v -sf "$TMP/dhclient-script" \
    -lf "$TMP/dhclient.leases" -pf "$TMP/dhclient.pid" "$@" eth0 > "$TMP/dhclient.out" 2>&1
}
val() { sed -n "s/^$2=//p" "$1" 2>/dev/null | tr -d "'" || true; }

check "dhclient gets a lease" dhc
ip_a=$(val "$TMP/dhc.BOUND" new_ip_address)
echo "# dhclient got $ip_a"
check "the address is from the dynamic range" bash -c "[[ $ip_a == 10.77.1.* || $ip_a == 10.77.2.* ]]"
check "next-server is pxed" test "$(val "$TMP/dhc.BOUND" new_next_server)" = 10.77.0.2
check "filename is pxelinux.0" test "$(val "$TMP/dhc.BOUND" new_filename)" = pxelinux.0
check "router, dns and domain are handed out" bash -c "grep -q \"new_routers='\\?10.77.0.1\" $TMP/dhc.BOUND && grep -q 10.77.0.53 $TMP/dhc.BOUND && grep -q lab.test $TMP/dhc.BOUND"
check "the boot file is fetchable from next-server" \
  bash -c "cd $TMP && ip netns exec $C tftp 10.77.0.2 -c get pxelinux.0 got.0 && cmp -s got.0 $root/pxelinux.0"
check "pxed logged the ACK" grep -q "DHCPACK $ip_a to $MAC_A" "$TMP/pxed.log"
check "pxed leases lists it as bound" bash -c "$PXED leases --config $TMP/site.yaml | grep -E '^$ip_a +$MAC_A .* bound '"
api=$(ip netns exec $S curl -sf http://127.0.0.1:8080/api/v1/leases || true)
check "the HTTP API lists it as bound" python3 -c "
import json, sys
leases = json.loads(sys.argv[1])
assert any(l['ip'] == '$ip_a' and l['mac'] == '$MAC_A' and l['state'] == 'bound' for l in leases), leases
" "$api"

rm -f "$TMP"/dhc.*
check "dhclient again (INIT-REBOOT) keeps the address" dhc
check "... the same one" test "$(val "$TMP/dhc.REBOOT" new_ip_address 2>/dev/null || val "$TMP/dhc.BOUND" new_ip_address)" = "$ip_a"

check "dhclient -r releases it" dhc -r
sleep 0.3
check "pxed logged the release" grep -q "DHCPRELEASE $ip_a from $MAC_A" "$TMP/pxed.log"
check "the lease is released" bash -c "$PXED leases --config $TMP/site.yaml | grep -E '^$ip_a .* released '"
rm -f "$TMP/dhclient.leases" "$TMP"/dhc.*
check "a fresh DISCOVER after the release gets the same address back" dhc
check "... the same one" test "$(val "$TMP/dhc.BOUND" new_ip_address)" = "$ip_a"
dhc -r || true

# --- udhcpc: a reserved host, renewal --------------------------------------
udhcpc_script
ip -n $C link set eth0 address $MAC_B
ip netns exec $C env UDH_OUT="$TMP/udh" busybox udhcpc -f -i eth0 -s "$TMP/udhcpc-script" -t 5 -T 2 -O bootfile \
  > "$TMP/udhcpc.out" 2>&1 &
UDHCPC=$!
on_exit "kill $UDHCPC 2>/dev/null"
deadline=$((SECONDS + 15)); until [[ -n $(val "$TMP/udh.bound" ip) ]] || ((SECONDS > deadline)); do sleep 0.1; done
check "udhcpc gets the reserved address" test "$(val "$TMP/udh.bound" ip)" = 10.77.0.20
check "udhcpc sees next-server and the boot file" \
  bash -c "[[ \$(sed -n 's/^siaddr=//p' $TMP/udh.bound) == 10.77.0.2 && \$(sed -n 's/^boot_file=//p' $TMP/udh.bound) == pxelinux.0 ]]"
check "udhcpc sees its hostname" test "$(val "$TMP/udh.bound" hostname)" = web01
acks_before=$(grep -c "DHCPACK 10.77.0.20 to $MAC_B" "$TMP/pxed.log")
kill -USR1 $UDHCPC   # renew now: a unicast REQUEST with ciaddr (RENEWING)
deadline=$((SECONDS + 10)); until [[ -n $(val "$TMP/udh.renew" ip) ]] || ((SECONDS > deadline)); do sleep 0.1; done
check "udhcpc renews (RENEWING, unicast)" test "$(val "$TMP/udh.renew" ip)" = 10.77.0.20
check "pxed ACKed the renewal" test "$(grep -c "DHCPACK 10.77.0.20 to $MAC_B" "$TMP/pxed.log")" -gt "$acks_before"
kill -USR2 $UDHCPC   # release
sleep 0.5
check "udhcpc's release reaches pxed" grep -q "DHCPRELEASE 10.77.0.20 from $MAC_B" "$TMP/pxed.log"
kill $UDHCPC 2>/dev/null; wait $UDHCPC 2>/dev/null || true; cat $TMP/udhcpc.out | sed "s/^/# udhcpc: /"

# --- a PXE ROM, iPXE, and a burst of machines at once -----------------------
ip -n $C addr flush dev eth0
pxe=$(ip netns exec $C $PROBE eth0 discover --mac 52:54:00:77:00:e1 --pxe 7 --wait 1 | head -n 1)
field() { python3 -c "import json,sys; m=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }
check "a UEFI x64 PXE ROM is offered grubx64.efi" test "$(field "$pxe" 'm["file"]')" = grubx64.efi
check "... with option 60 PXEClient echoed" test "$(field "$pxe" 'm["options"].get("60")')" = PXEClient
check "... and options 66/67 as asked, never twice" \
  test "$(field "$pxe" 'm["options"].get("67"), m["options"].get("66"), m["duplicate_options"]')" = "('grubx64.efi', '10.77.0.2', [])"
ipxe=$(ip netns exec $C $PROBE eth0 discover --mac 52:54:00:77:00:e2 --pxe 0 --ipxe --wait 1 | head -n 1)
check "iPXE is handed its script URL, not pxelinux.0 again" test "$(field "$ipxe" 'm["file"]')" = http://10.77.0.2/ipxe/52:54:00:77:00:e2
# lifecycle.installed_pxe: none -- an installed host's firmware is given an
# address and no boot file, so it goes on to its disk; once reinstalled it
# is offered its boot loader again.
done1=$(ip netns exec $C $PROBE eth0 discover --mac 52:54:00:77:00:e4 --pxe 0 --wait 1 | head -n 1)
check "an installed host (installed_pxe: none) is offered an address" test -n "$(field "$done1" 'm["yiaddr"]')"
check "... with no boot file and no PXEClient" test "$(field "$done1" 'm["file"], m["options"].get("60")')" = "('', None)"
"$PXED" reinstall --config "$TMP/site.yaml" done01 > /dev/null
done2=$(ip netns exec $C $PROBE eth0 discover --mac 52:54:00:77:00:e4 --pxe 0 --wait 1 | head -n 1)
check "after pxed reinstall it is offered pxelinux.0 again" test "$(field "$done2" 'm["file"]')" = pxelinux.0

burst=$(ip netns exec $C $PROBE eth0 burst --count 300 --wait 4)
n_offers=$(grep -c '"type": 2' <<<"$burst" || true)
n_unique=$(python3 -c "import json,sys; print(len({json.loads(l)['yiaddr'] for l in sys.stdin if l.strip()}))" <<<"$burst")
echo "# burst of 300 DISCOVERs: $n_offers offers, $n_unique distinct addresses"
check "300 machines at once: every one gets an offer" test "$n_offers" -eq 300
check "... and no address is offered twice" test "$n_unique" -eq 300

# --- a relayed subnet -------------------------------------------------------
ip netns exec $R dhcrelay -4 -d -q -id down0 -iu up0 10.78.0.2 > "$TMP/dhcrelay.out" 2>&1 &
on_exit "kill $! 2>/dev/null"
sleep 0.5
ip -n $C2 link set eth0 address $MAC_C
rm -f "$TMP"/udh.*
check "udhcpc behind dhcrelay gets a lease" \
  timeout 20 ip netns exec $C2 env UDH_OUT="$TMP/udh" busybox udhcpc -n -q -f -i eth0 -s "$TMP/udhcpc-script" -t 5 -T 2
ip_c=$(val "$TMP/udh.bound" ip)
echo "# relayed client got $ip_c"
check "... from the relay's subnet" bash -c "[[ $ip_c == 10.79.0.1[0-4][0-9] || $ip_c == 10.79.0.150 ]]"
check "... and the server saw it through the relay" grep -q "DHCPACK $ip_c to $MAC_C via eth1 relay 10.79.0.1" "$TMP/pxed.log"

# --- garbage does not stop it -------------------------------------------------
ip netns exec $C python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
for p in [b'', b'x'*10, b'\x01'*240, b'\x01\x01\x06\x00'+b'\0'*232+b'\x63\x82\x53\x63\x35\x05\x01']: s.sendto(p, ('255.255.255.255', 67))"
again=$(ip netns exec $C $PROBE eth0 discover --mac 52:54:00:77:00:e3 --wait 1 | head -n 1)
check "malformed packets are dropped and the next client is served" test "$(field "$again" 'm["type"]')" = 2

# --- what /metrics says of all that (docs/metrics.md) --------------------------
ip netns exec $S curl -s -m 10 -o "$TMP/metrics.txt" http://127.0.0.1:8080/metrics || true
metric() { awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print -1 }' "$TMP/metrics.txt"; }
at_least() { local v; v=$(metric "$1"); python3 -c "import sys; sys.exit(0 if float('$v') >= $2 else 1)" || { echo "  $1 = $v, wanted >= $2"; return 1; }; }
if command -v promtool >/dev/null; then
  check "promtool check metrics passes with DHCP on" bash -c "promtool check metrics < $TMP/metrics.txt"
fi
check "metrics: DISCOVERs answered (dhclient, udhcpc, the probe)" at_least 'pxed_dhcp_messages_received_total{type="discover",outcome="answered"}' 3
check "metrics: REQUESTs answered" at_least 'pxed_dhcp_messages_received_total{type="request",outcome="answered"}' 3
check "metrics: OFFERs sent" at_least 'pxed_dhcp_messages_sent_total{type="offer",outcome="sent"}' 3
check "metrics: ACKs sent" at_least 'pxed_dhcp_messages_sent_total{type="ack",outcome="sent"}' 3
check "metrics: the garbage counted as malformed" at_least 'pxed_dhcp_packets_dropped_total{reason="malformed"}' 3
check "metrics: the pool of 10.77.0.0/16 is 512 addresses" test "$(metric 'pxed_dhcp_pool_addresses{subnet="10.77.0.0/16"}')" = 512
check "metrics: and the relayed subnet's 51" test "$(metric 'pxed_dhcp_pool_addresses{subnet="10.79.0.0/24"}')" = 51
check "metrics: none in use on 10.77.0.0/16 (dhclient and udhcpc released theirs)" \
  test "$(metric 'pxed_dhcp_addresses_in_use{subnet="10.77.0.0/16"}')" = 0
check "metrics: the relayed client's in use" test "$(metric 'pxed_dhcp_addresses_in_use{subnet="10.79.0.0/24"}')" = 1
check "metrics: lease commits timed" at_least pxed_lease_store_commit_duration_seconds_count 2
check "metrics: no commit failed" test "$(metric pxed_lease_store_commit_failures_total)" = 0

# --- kill -9 right after an ACK, restart: nothing ACKed is lost ---------------
ip -n $C link set eth0 address $MAC_A
rm -f "$TMP/dhclient.leases" "$TMP"/dhc.*
dhc
ip_a2=$(val "$TMP/dhc.BOUND" new_ip_address)
kill -9 $PXED_PID; wait $PXED_PID 2>/dev/null || true; PXED_PID=
check "after kill -9 the ACKed lease is on disk" bash -c "$PXED leases --config $TMP/site.yaml | grep -E '^$ip_a2 +$MAC_A .* bound '"
check "so is the relayed one" bash -c "$PXED leases --config $TMP/site.yaml | grep -E '^$ip_c +$MAC_C '"
mv "$TMP/pxed.log" "$TMP/pxed.log.1"
start_pxed "$TMP/site.yaml" ip netns exec $S
check "the restarted server reads the leases back" grep -qE "dhcp: [0-9]+ lease\(s\) read back" "$TMP/pxed.log"
rm -f "$TMP/dhclient.leases" "$TMP"/dhc.*
dhc
check "after the restart a fresh DISCOVER gets the same address" test "$(val "$TMP/dhc.BOUND" new_ip_address)" = "$ip_a2"
dhc -r || true
stop_pxed
cat "$TMP/pxed.log.1" >> "$TMP/pxed.log"

# --- proxyDHCP beside dnsmasq --------------------------------------------------
cat > "$TMP/proxy.yaml" <<YAML
server:
  address: 10.77.0.2
  state_dir: $TMP/state-proxy
  log: {level: debug}
  dhcp: {mode: proxy}
  tftp: {root: $root}
  http: {enabled: false}
  ftp: {enabled: false}
subnets:
  - network: 10.77.0.0/16
profiles:
  c7: {label: CentOS 7, kernel: pxelinux.0, initrd: pxelinux.0}
menu: {default: c7}
YAML
ip netns exec $D dnsmasq --no-daemon --port=0 --interface=eth0 --bind-interfaces \
  --dhcp-range=10.77.5.10,10.77.5.50,255.255.0.0,10m --dhcp-leasefile=$TMP/dnsmasq.leases \
  --pid-file=$TMP/dnsmasq.pid --log-dhcp --no-ping > "$TMP/dnsmasq.out" 2>&1 &
on_exit "kill $! 2>/dev/null"
mv "$TMP/pxed.log" "$TMP/pxed.log.2"
start_pxed "$TMP/proxy.yaml" ip netns exec $S
sleep 0.3
offers=$(ip netns exec $C $PROBE eth0 discover --mac 52:54:00:77:00:f1 --pxe 0 --wait 1.5)
echo "$offers" | sed 's/^/# /'
site_offer=$(grep '"from": "10.77.0.3"' <<<"$offers" | head -n 1 || true)
proxy_offer=$(grep '"from": "10.77.0.2"' <<<"$offers" | head -n 1 || true)
check "dnsmasq offers the address" bash -c "[[ \$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[\"yiaddr\"])' '$site_offer') == 10.77.5.* ]]"
check "pxed's proxy offer has no address" test "$(field "$proxy_offer" 'm["yiaddr"]')" = 0.0.0.0
check "... but the boot file, next-server, PXEClient and option 43" \
  test "$(field "$proxy_offer" 'm["file"], m["siaddr"], m["options"].get("60"), "43" in m["options"]')" = "('pxelinux.0', '10.77.0.2', 'PXEClient', True)"
ip -n $C addr add 10.77.5.99/16 dev eth0
boot=$(ip netns exec $C $PROBE eth0 request4011 --mac 52:54:00:77:00:f1 --pxe 0 --ciaddr 10.77.5.99 --server 10.77.0.2 --wait 1.5 | head -n 1)
check "the PXE boot server on port 4011 answers with the boot file" \
  test "$(field "$boot" 'm["type"], m["file"], m["from_port"]')" = "(5, 'pxelinux.0', 4011)"
ip -n $C addr flush dev eth0
ip -n $C link set eth0 address 52:54:00:77:00:f2
rm -f "$TMP/dhclient.leases" "$TMP"/dhc.*
check "dhclient (not PXE) gets its lease from dnsmasq" dhc
check "... while pxed stays silent for it" bash -c "! grep -q 'proxyDHCP.*52:54:00:77:00:f2' $TMP/pxed.log"
check "... and hands out no addresses in proxy mode" bash -c "test ! -e $TMP/state-proxy/leases.sqlite3"
dhc -r || true
stop_pxed
cat "$TMP/pxed.log.2" "$TMP/pxed.log" > "$TMP/pxed.all"; mv "$TMP/pxed.all" "$TMP/pxed.log"

finish
