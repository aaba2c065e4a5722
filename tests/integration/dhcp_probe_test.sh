#!/usr/bin/env bash
# pxed check's DHCP probe (pxed::doctor::probe_dhcp, driven by
# dhcp_probe_driver) against a real rogue server, in a pair of network
# namespaces this test creates (nothing touches the machine's interfaces):
#
#   ns R: dnsmasq, 10.67.0.1/24, range .50-.60  ── veth ──  ns P: the probe, 10.67.0.2/24
#
# With dnsmasq answering, the probe on P's eth0 names it and the address it
# offered; told that 10.67.0.1 is its own pxed, it stays quiet; in proxy
# mode dnsmasq is the network's server it needs (no finding), and a
# dnsmasq in proxyDHCP mode is a competing one. With no server at all: no
# finding in server mode, "no DHCP server offered an address" in proxy
# mode. A probe on an interface that does not exist says it could not run.
# Then the same through the CLI: `pxed check --probe-dhcp` in ns P names
# dnsmasq at server.interfaces' line; without --probe-dhcp nothing is
# sent.
# Usage: dhcp_probe_test.sh DRIVER SOURCE_DIR PXED
DRIVER=$1
SRC=$2
PXED=$3
source "$SRC/tests/integration/lib.sh"
trap 'exit 1' INT TERM HUP

[[ $(id -u) -eq 0 ]] || skip_all "needs root to create network namespaces and bind port 68"
for c in ip dnsmasq; do
  command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"
done

id=$$
R=pxp-r-$id P=pxp-p-$id
netns_up $R $P
ip link add eth0 netns $R type veth peer name eth0 netns $P
ip -n $R addr add 10.67.0.1/24 dev eth0
ip -n $P addr add 10.67.0.2/24 dev eth0
ip -n $R link set eth0 up
ip -n $P link set eth0 up

DNSMASQ_PID=
start_dnsmasq() {  # extra dnsmasq options...
  # Emptied here, not by the background job's redirection, which may come
  # after wait_for_log has read the previous dnsmasq's "DHCP, " line.
  : > "$TMP/dnsmasq.log"
  ip netns exec $R dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=eth0 --bind-interfaces \
    --dhcp-leasefile="$TMP/leases" --pid-file= --log-dhcp --log-facility=- "$@" >> "$TMP/dnsmasq.log" 2>&1 &
  DNSMASQ_PID=$!
  on_exit "kill $DNSMASQ_PID 2>/dev/null"
  wait_for_log "DHCP, " 10 "$TMP/dnsmasq.log" || { cat "$TMP/dnsmasq.log"; bad "dnsmasq started"; }
}
stop_dnsmasq() { kill "$DNSMASQ_PID" 2>/dev/null || true; wait "$DNSMASQ_PID" 2>/dev/null || true; }
probe() {  # server-address mode [iface]
  # 4 s: dnsmasq pings an address before it offers it (3 s), ISC dhcpd too (1 s).
  ip netns exec $P "$DRIVER" "${3:-eth0}" "$1" "$2" 4000 > "$TMP/out" 2>&1
  cat "$TMP/out"
}

start_dnsmasq --dhcp-range=10.67.0.50,10.67.0.60,1h
probe 10.67.0.2 server
check "finds dnsmasq and the address it offered" \
  grep -q '^dhcp-probe: another DHCP server (10.67.0.1, offering 10.67.0.\(5[0-9]\|60\)) answers on eth0: two servers on one segment hand out conflicting addresses and boot files | stop it (systemctl disable --now dhcpd dnsmasq on 10.67.0.1) or set server.dhcp.mode: proxy$' "$TMP/out"
check "one finding for one server" test "$(wc -l < "$TMP/out")" -eq 1
check "dnsmasq saw the DISCOVER from a locally administered MAC" \
  grep -Eq 'DHCPDISCOVER\(eth0\) [0-9a-f][26ae]:' "$TMP/dnsmasq.log"
probe 10.67.0.1 server
check "this machine's own server is not reported" test ! -s "$TMP/out"
probe 10.67.0.2 proxy
check "in proxy mode the network's DHCP server is expected" test ! -s "$TMP/out"
stop_dnsmasq

start_dnsmasq --dhcp-range=10.67.0.0,proxy --pxe-service=x86PC,"boot",pxelinux
probe 10.67.0.2 proxy
check "a competing proxyDHCP server is reported" \
  grep -q '^dhcp-probe: another proxyDHCP server (10.67.0.1) answers PXE clients on eth0' "$TMP/out"
stop_dnsmasq

# The CLI: pxed check runs every check; only the probe's lines matter here.
mkdir -p "$TMP/tftp"
cat > "$TMP/site.yaml" <<YAML
server:
  address: 10.67.0.2
  interfaces: [eth0]
  tftp: {root: tftp}
  http: {enabled: false}
  ftp: {enabled: false}
subnets:
  - network: 10.67.0.0/24
    ranges: [10.67.0.100-10.67.0.150]
YAML
start_dnsmasq --dhcp-range=10.67.0.50,10.67.0.60,1h
discovers() { grep -c 'DHCPDISCOVER' "$TMP/dnsmasq.log" || true; }
before=$(discovers)
ip netns exec $P "$PXED" check --config "$TMP/site.yaml" > "$TMP/cli" 2>&1 || true
check "the site is valid (pxed check --config-only)" "$PXED" check --config-only --config "$TMP/site.yaml"
check "pxed check without --probe-dhcp sends nothing" test "$(discovers)" -eq "$before"
check "... and reports no other server" bash -c "! grep -q 'another DHCP server' '$TMP/cli'"
ip netns exec $P "$PXED" check --config "$TMP/site.yaml" --probe-dhcp > "$TMP/cli" 2>&1 || true
check "pxed check --probe-dhcp names dnsmasq at server.interfaces (line 3)" \
  grep -q "^$TMP/site.yaml:3:[0-9]*: warning: another DHCP server (10.67.0.1, offering 10.67.0.\(5[0-9]\|60\)) answers on eth0" "$TMP/cli"
check "... with the fix" grep -q "^  fix: stop it (systemctl disable --now dhcpd dnsmasq on 10.67.0.1) or set server.dhcp.mode: proxy$" "$TMP/cli"
grep -q "another DHCP server" "$TMP/cli" || cat "$TMP/cli"
stop_dnsmasq

probe 10.67.0.2 server
check "no server, no finding" test ! -s "$TMP/out"
probe 10.67.0.2 proxy
check "proxy mode with no server says nobody hands out addresses" \
  grep -q '^dhcp-probe: no DHCP server offered an address on eth0, and pxed in proxy mode hands out none' "$TMP/out"
probe 10.67.0.2 server eth9
check "an interface that does not exist: the probe says it could not run" \
  grep -q '^dhcp-probe: the DHCP probe could not run on eth9 (bind to interface eth9: No such device)' "$TMP/out"

finish
