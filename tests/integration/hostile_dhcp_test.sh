#!/usr/bin/env bash
# The DHCP attacks of docs/security.md ("Limits and hostile clients"), each
# run from an attacker's namespace against pxed while real clients (busybox
# udhcpc) on the same segment must still be served:
#
#   ns S (pxed 10.60.0.2) ─┐
#   ns X (attacker 10.60.0.66, also 10.61.0.1 on lo) ─┼─ br0 in ns L
#   ns C (udhcpc, a dynamic client) ─┤
#   ns H (udhcpc, inventory host web01, reserved 10.60.0.20) ─┘
#
# Usage: hostile_dhcp_test.sh PXED SOURCE_DIR
set -euo pipefail
PXED=$1
SRC=$2
. "$SRC/tests/integration/lib.sh"

[[ $(id -u) -eq 0 ]] || skip_all "needs root for network namespaces"
for c in ip busybox python3; do command -v $c >/dev/null || skip_all "$c not installed"; done
ATTACK="python3 $SRC/tests/integration/dhcp_attack.py"

tag=pxd-hd$$
L=$tag-l S=$tag-s X=$tag-x C=$tag-c H=$tag-h
netns_up $L $S $X $C $H
netns_bridge $L
WEB01=52:54:00:66:00:20
for ns in $S $X $C; do netns_plug $L $ns; done
netns_plug $L $H $WEB01
ip -n $S addr add 10.60.0.2/24 dev eth0
ip -n $X addr add 10.60.0.66/24 dev eth0
# The attacker names 10.61.0.1, an address of its own, as a "relay": if
# pxed believed it, its replies would come here.
ip -n $X addr add 10.61.0.1/32 dev lo
ip -n $S route add 10.61.0.0/24 via 10.60.0.66

mkdir -p "$TMP/tftp" "$TMP/state"
echo boot > "$TMP/tftp/pxelinux.0"
cat > "$TMP/site.yaml" <<EOF
server:
  address: 10.60.0.2
  state_dir: $TMP/state
  log: {level: info}
  dhcp:
    relay_agents: [10.60.0.1]
    new_clients_per_second: 5
    new_clients_burst: 20
  tftp: {root: $TMP/tftp, port: 0}
  http: {port: 0}
  ftp: {enabled: false}
subnets:
  - network: 10.60.0.0/24
    ranges: [10.60.0.100-10.60.0.199]
    lease_time: 1h
  - network: 10.61.0.0/24
    ranges: [10.61.0.100-10.61.0.150]
    relay_only: true
profiles:
  c7: {label: CentOS 7, kernel: pxelinux.0, initrd: pxelinux.0}
menu: {default: local}
hosts:
  - {mac: "$WEB01", hostname: web01, ip: 10.60.0.20, profile: c7}
EOF
start_pxed "$TMP/site.yaml" ip netns exec $S
json() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])$1)"; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$PXED_PID/status; }
leases() { "$PXED" leases --config "$TMP/site.yaml"; }
bound_count() { leases | grep -c ' bound ' || true; }

# A real client first: it must keep its lease through everything below.
ip_c=$(netns_lease $C c1)
check "udhcpc gets a lease before the attacks" test -n "$ip_c"
echo "# real client: $ip_c"
rss0=$(rss_kb)

# --- relay trust ------------------------------------------------------------
out=$(ip netns exec $X $ATTACK eth0 relay --server 10.60.0.2 --giaddr 10.61.0.1)
echo "# relay: $out"
check "giaddr from a machine that is not a listed relay agent gets no reply, there or anywhere" \
  test "$(echo "$out" | json '["replies"]')" = 0
check "... and pxed says why" grep -q "not in server.dhcp.relay_agents" "$TMP/pxed.log"
check "... and leased nothing on the relay_only subnet" bash -c "! $PXED leases --config $TMP/site.yaml | grep -q '^10\.61\.'"

# --- leases without a DISCOVER ----------------------------------------------
before=$(bound_count)
out=$(ip netns exec $X $ATTACK eth0 grab --server 10.60.0.2 --first 10.60.0.150 --count 20)
echo "# grab: $out"
check "60 REQUESTs from made-up MACs without a DISCOVER: no ACK" test "$(echo "$out" | json '["acks"]')" = 0
check "... and no lease stored" test "$(bound_count)" = "$before"

# --- a flood of new clients -------------------------------------------------
ip netns exec $X $ATTACK eth0 flood --count 3000 --wait 4 > "$TMP/flood.json" &
flood=$!
sleep 0.5
t0=$(date +%s.%N)
ip_h=$(netns_lease $H h1)
t_h=$(python3 -c "import time; print(round(time.time() - $t0, 2))")
wait $flood
out=$(cat "$TMP/flood.json")
echo "# flood: $out; web01 during the flood: $ip_h in ${t_h}s"
check "during a flood of 3000 DISCOVERs from new MACs, web01 gets its reservation" test "$ip_h" = 10.60.0.20
check "... within 10 s" python3 -c "import sys; sys.exit(0 if $t_h < 10 else 1)"
offers=$(echo "$out" | json '["addresses"]')
check "the flood got the burst and the rate, not the pool (offered $offers of 100)" test "$offers" -le 60
check "pxed says the new-client limit bit" grep -q "new_clients_per_second" "$TMP/pxed.log"
sleep 1
ip_c2=$(netns_lease $C c2)
check "right after the flood the real client gets its address again" test "$ip_c2" = "$ip_c"

# --- renewals again and again ----------------------------------------------
grep -c "DHCPACK" "$TMP/pxed.log" > "$TMP/acks.before" || true
out=$(ip netns exec $X $ATTACK eth0 renew --server 10.60.0.2 --count 5000 --wait 2)
echo "# renew: $out"
sent_acks=$(echo "$out" | json '["acks"]')
logged=$(( $(grep -c "DHCPACK" "$TMP/pxed.log") - $(cat "$TMP/acks.before") ))
check "5000 renewals are answered (${sent_acks} ACKs)" test "$sent_acks" -ge 4500
check "... from memory: $logged leases written and logged, not 5000" test "$logged" -le 3

# --- RELEASE in someone else's name -----------------------------------------
mac_c=$(ip -n $C link show eth0 | awk '/ether/ {print $2}')
ip netns exec $X $ATTACK eth0 release --server 10.60.0.2 --mac "$mac_c" --ip "$ip_c" > /dev/null
sleep 0.5
check "a RELEASE forged in the real client's name does not free its lease" \
  bash -c "$PXED leases --config $TMP/site.yaml | grep -E '^$ip_c +$mac_c .*bound'"
check "... and pxed says why" grep -q "DHCPRELEASE of $ip_c from $mac_c .* not from that address" "$TMP/pxed.log"

# --- DECLINE of a reservation -----------------------------------------------
out=$(ip netns exec $X $ATTACK eth0 decline --mac $WEB01)
echo "# decline: $out"
check "the attacker spoofing web01's MAC took its address" test "$(echo "$out" | json '["took"]')" = 10.60.0.20
check "... its DECLINE kept the reservation" grep -q "DHCPDECLINE of reserved address 10.60.0.20 .*the reservation stays" "$TMP/pxed.log"
ip_h2=$(netns_lease $H h2)
check "web01 boots and gets its reserved address all the same" test "$ip_h2" = 10.60.0.20

# --- memory ------------------------------------------------------------------
rss1=$(rss_kb)
echo "# pxed RSS: ${rss0} kB before the attacks, ${rss1} kB after"
check "pxed's memory stayed within 8 MB of where it was" test $((rss1 - rss0)) -lt 8192

finish
