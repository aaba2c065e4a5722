#!/usr/bin/env bash
# Who gets a host's own documents when pxed runs as a proxyDHCP server
# (server.dhcp.mode: proxy) beside the site's own DHCP server: pxed leases
# nothing, so a request comes from a host when pxed's neighbour (ARP) table
# maps its source address to the host's MAC, or when the address is the
# host's `ip:` reservation. Real clients (busybox udhcpc, tftp-hpa, curl) in
# network namespaces this test creates (nothing here touches the machine's
# own interfaces):
#
#   ns A (alpha-a, in the inventory, udhcpc) ─┐
#   ns B (a stranger, udhcpc) ────────────────┤
#   ns D (dnsmasq 10.89.0.3, the site DHCP) ──┼─ br0 in ns L ── ns S (pxed, proxy) 10.89.0.2/24
#   ns R (router 10.89.0.1, proxy ARP) ───────┘
#     └─ 10.89.1.1, 10.90.0.1 ── ns C (charlie-c, in the inventory,
#                                      10.89.1.10/24 and 10.90.0.10/24)
#
# S reaches 10.89.1.0/24 on-link (R answers ARP for it: pxed's neighbour
# entry for C's 10.89.1.10 is R's MAC) and 10.90.0.0/24 through R (no
# neighbour entry for 10.90.0.10 at all). access.host_documents is left at
# its default, address-or-token.
# Usage: access_proxy_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"
source "$SRC/tests/integration/access_lib.sh"

[[ $(id -u) -eq 0 ]] || skip_all "needs root to create network namespaces"
for c in ip busybox dnsmasq tftp curl openssl; do
  command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"
done

id=$$
L=pxp-l-$id S=pxp-s-$id D=pxp-d-$id A=pxp-a-$id B=pxp-b-$id R=pxp-r-$id C=pxp-c-$id
netns_up $L $S $D $A $B $R $C

netns_bridge $L
plug() { netns_plug $L "$@"; }
MAC_A=52:54:00:89:00:0a MAC_B=52:54:00:89:00:0b MAC_C=52:54:00:89:00:0c
MAC_R=52:54:00:89:00:01  # the router's side on pxed's segment
MAC_X=52:54:00:89:00:99  # in no inventory: what an unknown MAC looks like
dash() { tr : - <<<"$1"; }
DA=$(dash $MAC_A) DC=$(dash $MAC_C) DX=$(dash $MAC_X)
plug $S 52:54:00:89:00:02
plug $D 52:54:00:89:00:03
plug $A $MAC_A
plug $B $MAC_B
plug $R $MAC_R
ip -n $S addr add 10.89.0.2/24 dev eth0
ip -n $D addr add 10.89.0.3/24 dev eth0
ip -n $R addr add 10.89.0.1/24 dev eth0
# The routed segment: R between pxed's segment and C.
ip link add down0 netns $R type veth peer name eth0 netns $C
ip -n $C link set eth0 address $MAC_C
ip -n $R addr add 10.89.1.1/24 dev down0
ip -n $R addr add 10.90.0.1/24 dev down0
ip -n $C addr add 10.89.1.10/24 dev eth0
ip -n $C addr add 10.90.0.10/24 dev eth0
ip -n $R link set down0 up
ip -n $C link set eth0 up
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.eth0.proxy_arp=1 net.ipv4.neigh.eth0.proxy_delay=0
ip -n $S route add 10.89.1.0/24 dev eth0        # on-link: S asks ARP, R answers with its own MAC
ip -n $S route add 10.90.0.0/24 via 10.89.0.1   # routed: S has no neighbour entry for C's address
c_from() {  # ADDRESS: the source C's requests to pxed leave with
  ip -n $C route replace default via 10.89.1.1 src "$1"
}
c_from 10.89.1.10

# --- the site's DHCP server: dnsmasq, addresses only (no PXE options) -----
ip netns exec $D dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=eth0 --bind-interfaces \
  --dhcp-range=10.89.0.100,10.89.0.150,255.255.255.0,10m --dhcp-leasefile="$TMP/dnsmasq.leases" \
  --pid-file="$TMP/dnsmasq.pid" --log-dhcp --no-ping > "$TMP/dnsmasq.out" 2>&1 &
on_exit "kill $! 2>/dev/null"

# --- the site: pxed as proxyDHCP ---------------------------------------------
access_site_files
site() {  # C-RESERVATION: writes site.yaml; C's host entry gets `ip:` if one is given
  cat > "$TMP/site.yaml" <<YAML
server:
  address: 10.89.0.2
  state_dir: $TMP/state
  log: {level: debug}
  dhcp: {mode: proxy}
  tftp: {root: $root}
  http: {port: 8080}
  ftp: {passive_ports: 30000-30030}
subnets:
  - network: 10.89.0.0/24
$ACCESS_TREES_PROFILES
hosts:
  - {mac: "$MAC_A", hostname: alpha-a, profile: c7, secrets: {rootpw_hash: {file: $sec/rootpw-a}}}
  - {mac: "$MAC_C", hostname: charlie-c, profile: c7${1:+, ip: $1}}
YAML
  chmod 640 "$TMP/site.yaml"
}
site ""
start_pxed "$TMP/site.yaml" ip netns exec $S
wait_for_log "dhcp: proxyDHCP on ports" 5 || true
check "pxed runs as proxyDHCP" grep -q "dhcp: proxyDHCP on ports" "$TMP/pxed.log"
SRV=10.89.0.2
U=http://$SRV:8080

# --- clients (http, tget, ftp_get, token_in: lib.sh) ---------------------------
state_of() {  # HOST: state/generation from `pxed hosts`
  "$PXED" hosts --config "$TMP/site.yaml" | awk -v h="$1" '$2 == h { print $3 "/" $4 }'
}
neigh_of() {  # ADDRESS: the lladdr pxed's namespace maps it to, if any
  ip -n $S neigh show "$1" dev eth0 | sed -n 's/.* lladdr \([0-9a-f:]*\).*/\1/p'
}


wait_for_log "DHCP, IP range 10.89.0.100" 10 "$TMP/dnsmasq.out" || true
ip_a=$(netns_lease $A a)
ip_b=$(netns_lease $B b)
echo "# A leased $ip_a, B leased $ip_b (from dnsmasq)"
check "A gets an address from the site's DHCP server (dnsmasq): $ip_a" \
  bash -c "grep -q '^10\.89\.0\.1[0-5][0-9]$' <<<'$ip_a' && grep -qx serverid=10.89.0.3 $TMP/udh-a.bound"
check "B gets another one: $ip_b" \
  bash -c "grep -q '^10\.89\.0\.1[0-5][0-9]$' <<<'$ip_b' && [[ '$ip_b' != '$ip_a' ]] && grep -qx serverid=10.89.0.3 $TMP/udh-b.bound"
check "pxed leased nothing (no lease database, no DHCPACK in its log)" \
  bash -c "[[ ! -e $TMP/state/leases.sqlite3 ]] && ! grep -q DHCPACK $TMP/pxed.log"
check "A and C start pending, generation 1" test "$(state_of alpha-a) $(state_of charlie-c)" = "pending/1 pending/1"

# --- 1. A, on pxed's segment: its address is the one ARP maps to its MAC ----
# A's first packet to pxed is its ARP request for 10.89.0.2, which already
# gives pxed's kernel a (stale, but complete) entry for A; a refusal of the
# very first RRQ would be a race with that entry, so it is retried once (as
# pxelinux retries) and the check says which try it was.
out=$(tget $A pxelinux.cfg/01-$DA "$TMP/got/a-tftp.cfg")
try="first try"
if ! grep -q "^default c7" "$TMP/got/a-tftp.cfg" 2>/dev/null; then
  try="SECOND try (the first was refused: '$out'; neighbour entry then: $(neigh_of "$ip_a"))"
  out=$(tget $A pxelinux.cfg/01-$DA "$TMP/got/a-tftp.cfg")
fi
check "A gets its pxelinux config over TFTP ($try)" grep -q "^default c7" "$TMP/got/a-tftp.cfg"
check "... and the TFTP exchange left pxed's neighbour entry for $ip_a = A's MAC ($(neigh_of "$ip_a"))" \
  test "$(neigh_of "$ip_a")" = $MAC_A
TA=$(token_in "$TMP/got/a-tftp.cfg")
check "... whose kernel line names A's kickstart with an install token (32 hex)" \
  grep -Eq "append .*inst.ks=$U/ks/$DA.ks\?token=[0-9a-f]{32}( |$)" "$TMP/got/a-tftp.cfg"
check "A's config fetch made it installing" test "$(state_of alpha-a)" = installing/1
check "A gets the same config over HTTP (200)" test "$(http $A "$U/pxelinux.cfg/01-$DA")" = 200
check "(same bytes as over TFTP)" same_file "$TMP/got/a-tftp.cfg" "$TMP/body"
check "A gets its GRUB config and iPXE script over HTTP" \
  test "$(http $A "$U/grub.cfg-01-$DA")/$(http $A "$U/ipxe/$DA")" = 200/200
cp "$TMP/body" "$TMP/got/a.ipxe"
check "... the iPXE script is A's own (names A's kickstart)" grep -qF "ks/$DA.ks" "$TMP/got/a.ipxe"
check "A gets its kickstart over HTTP without a token, by its address (200)" test "$(http $A "$U/ks/$DA.ks")" = 200
cp "$TMP/body" "$TMP/got/a.ks"
check "... A's own: its root password hash" grep -qxF "rootpw --iscrypted $HASH_A" "$TMP/got/a.ks"
check "... and by hostname (ks/alpha-a.ks), the same" \
  bash -c "[[ \$(ip netns exec $A curl -s $U/ks/alpha-a.ks) == \"\$(cat $TMP/got/a.ks)\" ]]"
reply=$(ftp_get $A ks/$DA.ks "$TMP/got/a-ftp.ks")
check "A gets its kickstart over FTP (no token there: the address alone): $reply" same_file "$TMP/got/a.ks" "$TMP/got/a-ftp.ks"
check_not "pxed refused A nothing (no refusal line names $ip_a)" grep -q "refused: .* to $ip_a:" "$TMP/pxed.log"
out=$(tget $A ks/$DA.ks "$TMP/got/a-tftp.ks")
check "... but its kickstart never over TFTP (Error code 2)" grep -q "Error code 2" <<<"$out"

# --- 2. B, a stranger on the same segment -------------------------------------
# B's own neighbour entry is complete too, but with B's MAC: not A's.
check "A's token releases A's kickstart to B over HTTP (200: tokens work in proxy mode)" \
  test "$(http $B "$U/ks/$DA.ks?token=$TA")" = 200
check "... A's real one, with A's hash" grep -qxF "rootpw --iscrypted $HASH_A" "$TMP/body"
check "pxed's neighbour entry for B's $ip_b is B's MAC ($(neigh_of "$ip_b"))" test "$(neigh_of "$ip_b")" = $MAC_B
out_a=$(tget $B pxelinux.cfg/01-$DA "$TMP/got/b-a.cfg")
out_x=$(tget $B pxelinux.cfg/01-$DX "$TMP/got/b-x.cfg")
echo "# tftp of A's config from B: $out_a"
check "TFTP pxelinux.cfg/01-<A> from B: Error code 1 (file not found), no file" \
  bash -c "grep -q 'Error code 1' <<<'$out_a' && [[ ! -s $TMP/got/b-a.cfg ]]"
check "... exactly what an unknown MAC gets" test "${out_a//$DA/MAC}" = "${out_x//$DX/MAC}"
check "the TFTP refusal is logged, naming B's address" \
  grep -q "tftp: refused: pxelinux.cfg/01-$DA to $ip_b: not the address" "$TMP/pxed.log"
check "HTTP pxelinux.cfg/01-<A> from B: 404" test "$(http $B "$U/pxelinux.cfg/01-$DA")" = 404
cp "$TMP/body" "$TMP/got/b-a.404"
check "... the same 404 as an unknown MAC's" \
  bash -c "[[ \$(ip netns exec $B curl -s -o $TMP/got/x.404 -w '%{http_code}' $U/pxelinux.cfg/01-$DX) == 404 ]] && [[ \$(sed 's/$DX/MAC/g' $TMP/got/x.404) == \"\$(sed 's/$DA/MAC/g' $TMP/got/b-a.404)\" ]]"
check "HTTP grub.cfg-01-<A> from B: 404" test "$(http $B "$U/grub.cfg-01-$DA")" = 404
code_a=$(http $B "$U/ipxe/$DA")
cp "$TMP/body" "$TMP/got/b-a.ipxe"
code_x=$(http $B "$U/ipxe/$DX")
check "HTTP ipxe/<A> from B is the default script, as ipxe/<unknown MAC> ($code_a vs $code_x)" \
  bash -c "[[ $code_a == 200 && $code_x == 200 ]] && cmp -s $TMP/body $TMP/got/b-a.ipxe && ! grep -qF 'ks/$DA.ks' $TMP/got/b-a.ipxe"
check "HTTP ks/<A>.ks from B without a token: 403" test "$(http $B "$U/ks/$DA.ks")" = 403
check "... logged, naming B's address" \
  wait_for_log "http: refused: ks/$DA.ks to $ip_b: not the address pxed leased or reserved to $MAC_A; no token" 5
check "HTTP ks/<A>.ks from B with a guessed token: 403" \
  test "$(http $B "$U/ks/$DA.ks?token=$(openssl rand -hex 16)")" = 403
reply=$(ftp_get $B ks/$DA.ks "$TMP/got/b-a-ftp.ks")
check "FTP RETR ks/<A>.ks from B: 550 ($reply)" bash -c "[[ '$reply' == 550* ]] && ! grep -qF '$HASH_A' $TMP/got/b-a-ftp.ks 2>/dev/null"
out=$(tget $B ks/$DA.ks "$TMP/got/b-a-tftp.ks")
check "TFTP ks/<A>.ks from B: Error code 2 (access violation), no file" \
  bash -c "grep -q 'Error code 2' <<<'$out' && [[ ! -s $TMP/got/b-a-tftp.ks ]]"
check "B's refused requests did not move A (still installing/1)" test "$(state_of alpha-a)" = installing/1

# --- 3. C, behind the router R ----------------------------------------------
# From 10.89.1.10, which S takes as on-link: S ARPs for it and R answers
# with its own MAC. The HTTP request's handshake makes that entry.
check "HTTP pxelinux.cfg/01-<C> from C (10.89.1.10, behind R): 404" test "$(http $C "$U/pxelinux.cfg/01-$DC")" = 404
check "... pxed's neighbour entry for 10.89.1.10 is the router's MAC, not C's ($(neigh_of 10.89.1.10))" \
  test "$(neigh_of 10.89.1.10)" = $MAC_R
out=$(tget $C pxelinux.cfg/01-$DC "$TMP/got/c-1.cfg")
check "TFTP pxelinux.cfg/01-<C> from C (entry = R's MAC): Error code 1, no file" \
  bash -c "grep -q 'Error code 1' <<<'$out' && [[ ! -s $TMP/got/c-1.cfg ]]"
check "HTTP ks/<C>.ks from C without a token: 403" test "$(http $C "$U/ks/$DC.ks")" = 403
check "the refusals name C's address 10.89.1.10 (TFTP and HTTP)" \
  bash -c "grep -q 'tftp: refused: pxelinux.cfg/01-$DC to 10.89.1.10: ' $TMP/pxed.log && grep -q 'http: refused: ks/$DC.ks to 10.89.1.10: ' $TMP/pxed.log"
# From 10.90.0.10, which S routes through R: no neighbour entry at all.
c_from 10.90.0.10
check "HTTP pxelinux.cfg/01-<C> from C (10.90.0.10, routed through R): 404" test "$(http $C "$U/pxelinux.cfg/01-$DC")" = 404
check "... pxed has no neighbour entry for 10.90.0.10 ('$(neigh_of 10.90.0.10)')" test -z "$(neigh_of 10.90.0.10)"
check "... logged, naming 10.90.0.10" wait_for_log "http: refused: pxelinux.cfg/01-$DC to 10.90.0.10: " 5
check "C's refused requests did not move it (still pending/1)" test "$(state_of charlie-c)" = pending/1

# A reservation (ip: 10.90.0.10 for C, outside pxed's subnets: allowed in
# proxy mode) makes that address C's; the site is reloaded with SIGHUP.
site 10.90.0.10
kill -HUP "$PXED_PID"
check "pxed reloads the site with C's reservation" wait_for_log "reloaded $TMP/site.yaml" 10
out=$(tget $C pxelinux.cfg/01-$DC "$TMP/got/c.cfg")
check "C (from its reserved 10.90.0.10) now gets its pxelinux config over TFTP" grep -q "^default c7" "$TMP/got/c.cfg"
TC=$(token_in "$TMP/got/c.cfg")
check "... with C's install token in its kickstart URL" \
  bash -c "[[ '$TC' =~ ^[0-9a-f]{32}$ && '$TC' != '$TA' ]] && grep -qF 'inst.ks=$U/ks/$DC.ks?token=$TC' $TMP/got/c.cfg"
check "... and over HTTP (200, same bytes)" \
  bash -c "[[ \$(ip netns exec $C curl -s -o $TMP/got/c-http.cfg -w '%{http_code}' $U/pxelinux.cfg/01-$DC) == 200 ]] && cmp -s $TMP/got/c.cfg $TMP/got/c-http.cfg"
check "... and its kickstart without a token (200)" test "$(http $C "$U/ks/$DC.ks")" = 200
check "... the profile's (C has no secret of its own), not A's" \
  bash -c "grep -qxF 'rootpw --iscrypted $HASH_P' $TMP/body && ! grep -qF '$HASH_A' $TMP/body"
check "C is installing" test "$(state_of charlie-c)" = installing/1
# 10.89.1.10 is still not C's: the reservation names one address.
c_from 10.89.1.10
check "C from 10.89.1.10 (not its reservation, neighbour entry = R's MAC) is still refused its config (404)" \
  test "$(http $C "$U/pxelinux.cfg/01-$DC")" = 404
check "... and its kickstart without a token (403)" test "$(http $C "$U/ks/$DC.ks")" = 403
check "... but gets its kickstart with its token (200)" test "$(http $C "$U/ks/$DC.ks?token=$TC")" = 200
check "... C's own" grep -qxF "rootpw --iscrypted $HASH_P" "$TMP/body"
check "C's token is not A's: it does not release A's kickstart (403)" test "$(http $C "$U/ks/$DA.ks?token=$TC")" = 403

# --- 4. the log ---------------------------------------------------------------
check "the log names every refused client's address ($ip_b, 10.89.1.10, 10.90.0.10)" \
  bash -c "grep -q 'refused: .* to $ip_b: ' $TMP/pxed.log && grep -q 'refused: .* to 10.89.1.10: ' $TMP/pxed.log && grep -q 'refused: .* to 10.90.0.10: ' $TMP/pxed.log"
stop_pxed
check "two install tokens were seen (A's and C's)" bash -c "[[ '$TA' =~ ^[0-9a-f]{32}$ && '$TC' =~ ^[0-9a-f]{32}$ ]]"
check "the token did reach the log, cut to 6 characters (B's and C's token requests)" \
  bash -c "grep -qF 'GET /ks/$DA.ks?token=${TA:0:6}...' $TMP/pxed.log && grep -qF 'GET /ks/$DC.ks?token=${TC:0:6}...' $TMP/pxed.log"
not_logged() { [[ -n $1 ]] && ! grep -qF -- "$1" "$TMP/pxed.log"; }  # an empty token proves nothing
check "no full install token of A in pxed's log (B sent it, A's config fetches rendered it)" not_logged "$TA"
check "no full install token of C in pxed's log (C sent it)" not_logged "$TC"
check_not "no root password hash in pxed's log" grep -qF -e "$HASH_A" -e "$HASH_P" "$TMP/pxed.log"
finish
