#!/usr/bin/env bash
# Who gets a host's own documents (site.yaml `access:`), with real clients
# (busybox udhcpc, tftp-hpa, curl, lftp) in network namespaces this test
# creates (nothing here touches the machine's own interfaces):
#
#   ns A (host alpha-a, DHCP) ─┐
#   ns B (host bravo-b, DHCP) ─┤
#   ns R (romeo-r, reserved 10.88.0.20)           ─┼─ br0 in ns L ── ns S (pxed) 10.88.0.2/24
#   ns K (a stranger, 10.88.0.30) ─┤
#   ns M (an admin station in access.api.read_from, 10.88.0.40) ─┘
#
# A's boot config and kickstart (which carries A's root password hash) go
# to A's leased address, R's to its reservation, A's kickstart to anyone
# with A's current install token; B gets nothing of A's whatever it tries,
# and the refusals read like unknown names. API keys, read_from, the
# per-client lockout, `pxed check` on secret files, and at the end a sweep
# of the log and every API answer for the secrets.
# Usage: access_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"
source "$SRC/tests/integration/access_lib.sh"

[[ $(id -u) -eq 0 ]] || skip_all "needs root to create network namespaces"
for c in ip busybox tftp curl lftp openssl; do
  command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"
done
export HOME=$TMP/home  # lftp keeps its history there
mkdir -p "$HOME"

id=$$
L=pxa-l-$id S=pxa-s-$id A=pxa-a-$id B=pxa-b-$id R=pxa-r-$id K=pxa-k-$id M=pxa-m-$id
netns_up $L $S $A $B $R $K $M

netns_bridge $L
plug() { netns_plug $L "$@"; }
MAC_A=52:54:00:88:00:0a MAC_B=52:54:00:88:00:0b MAC_R=52:54:00:88:00:0c
MAC_X=52:54:00:88:00:99  # in no inventory: what an unknown MAC looks like
dash() { tr : - <<<"$1"; }
DA=$(dash $MAC_A) DB=$(dash $MAC_B) DR=$(dash $MAC_R) DX=$(dash $MAC_X)
plug $S
plug $A $MAC_A
plug $B $MAC_B
plug $R $MAC_R
plug $K 52:54:00:77:01:01
plug $M 52:54:00:77:01:02
ip -n $S addr add 10.88.0.2/24 dev eth0
ip -n $R addr add 10.88.0.20/24 dev eth0
ip -n $K addr add 10.88.0.30/24 dev eth0
ip -n $M addr add 10.88.0.40/24 dev eth0

# --- the site: secrets in files, API keys, a tree
access_site_files
KEY_OPS=$(openssl rand -hex 32) KEY_CI=$(openssl rand -hex 32) KEY_WRONG=$(openssl rand -hex 32)
printf '# name key\nops %s\n# ci: the build farm\nci %s\n' "$KEY_OPS" "$KEY_CI" > "$sec/api-keys"
chmod 640 "$sec"/*
cat > "$TMP/site.yaml" <<YAML
server:
  address: 10.88.0.2
  state_dir: $TMP/state
  log: {level: debug}
  tftp: {root: $root}
  http: {port: 8080}
  ftp: {passive_ports: 30000-30030}
subnets:
  - network: 10.88.0.0/24
    ranges: [10.88.0.100-10.88.0.150]
    lease_time: 10m
$ACCESS_TREES_PROFILES
hosts:
  - {mac: "$MAC_A", hostname: alpha-a, profile: c7, secrets: {rootpw_hash: {file: $sec/rootpw-a}}}
  - {mac: "$MAC_B", hostname: bravo-b, profile: c7}
  - {mac: "$MAC_R", hostname: romeo-r, ip: 10.88.0.20, profile: c7}
access:
  host_documents: address-or-token
  api:
    read_from: [127.0.0.0/8, 10.88.0.40]
    keys_file: $sec/api-keys
YAML
chmod 640 "$TMP/site.yaml"
start_pxed "$TMP/site.yaml" ip netns exec $S
wait_for_log "dhcp: answering on" 5 || true
SRV=10.88.0.2
U=http://$SRV:8080

# --- clients
# Every API answer the test gets is kept for the leak sweep at the end.
: > "$TMP/api.bodies"
api() {  # NS METHOD PATH [curl-args...]: prints the status; body in $TMP/body, kept
  local code
  code=$(http "$1" -X "$2" "${@:4}" "$U$3")
  cat "$TMP/body" >> "$TMP/api.bodies"
  echo "$code"
}
lapi() {  # PATH: a GET from 127.0.0.1 on the pxed host; prints the status, body kept
  local code
  code=$(http $S "http://127.0.0.1:8080$1")
  cat "$TMP/body" >> "$TMP/api.bodies"
  echo "$code"
}
hosts_line() {  # HOST: its line of `pxed hosts` (over the control socket)
  "$PXED" hosts --config "$TMP/site.yaml" | tee -a "$TMP/api.bodies" | awk -v h="$1" '$2 == h'
}
state_of() { hosts_line "$1" | awk '{ print $3 "/" $4 }'; }


ip_a=$(netns_lease $A a)
ip_b=$(netns_lease $B b)
echo "# A leased $ip_a, B leased $ip_b"
check "A gets a DHCP lease from pxed (udhcpc): $ip_a" grep -q '^10\.88\.0\.1[0-5][0-9]$' <<<"$ip_a"
check "B gets another one: $ip_b" bash -c "grep -q '^10\.88\.0\.1[0-5][0-9]$' <<<'$ip_b' && [[ '$ip_b' != '$ip_a' ]]"
check "pxed logged both ACKs" bash -c "grep -q 'DHCPACK $ip_a to $MAC_A' $TMP/pxed.log && grep -q 'DHCPACK $ip_b to $MAC_B' $TMP/pxed.log"
check "A and B start pending, generation 1" test "$(state_of alpha-a) $(state_of bravo-b)" = "pending/1 pending/1"

# --- 1. A gets its own documents, by its address ---------------------------
out=$(tget $A pxelinux.cfg/01-$DA "$TMP/got/a-tftp.cfg")
check "A gets its pxelinux config over TFTP" grep -q "^default c7" "$TMP/got/a-tftp.cfg"
T1=$(token_in "$TMP/got/a-tftp.cfg")
check "... whose kernel line names A's kickstart with an install token (32 hex)" \
  grep -Eq "append .*inst.ks=$U/ks/$DA.ks\?token=[0-9a-f]{32}( |$)" "$TMP/got/a-tftp.cfg"
check "A's first fetch made it installing" test "$(state_of alpha-a)" = installing/1
check "A gets the same config over HTTP (200, same bytes as TFTP)" \
  test "$(http $A "$U/pxelinux.cfg/01-$DA")" = 200
cp "$TMP/body" "$TMP/got/a-http.cfg"
check "(same bytes)" same_file "$TMP/got/a-tftp.cfg" "$TMP/got/a-http.cfg"
check "A gets its GRUB config and iPXE script over HTTP" \
  test "$(http $A "$U/grub.cfg-01-$DA")/$(http $A "$U/ipxe/$DA")" = 200/200
check "A's kickstart over HTTP without a token, by its address (200)" test "$(http $A "$U/ks/$DA.ks")" = 200
cp "$TMP/body" "$TMP/got/a.ks"
check "... carries A's root password hash, read from its secret file" grep -qxF "rootpw --iscrypted $HASH_A" "$TMP/got/a.ks"
check "... and not the profile's (the host's secret wins)" bash -c "! grep -qF '$HASH_P' $TMP/got/a.ks"
check "... and its install-done URL has the same token as the boot config" \
  grep -qF "$U/api/v1/hosts/$DA/install-done?token=$T1'" "$TMP/got/a.ks"
reply=$(ftp_get $A ks/$DA.ks "$TMP/got/a-ftp.ks")
check "A's kickstart over FTP (curl): $reply" same_file "$TMP/got/a.ks" "$TMP/got/a-ftp.ks"
check "A's kickstart by hostname (ks/alpha-a.ks) is the same one" \
  bash -c "[[ \$(ip netns exec $A curl -s $U/ks/alpha-a.ks) == \"\$(cat $TMP/got/a.ks)\" ]]"
out=$(tget $A ks/$DA.ks "$TMP/got/a-tftp.ks")
check "A's kickstart never over TFTP, even to A (Error code 2): a UDP source is forged at will" \
  grep -q "Error code 2" <<<"$out"
check "B's own kickstart has the profile's hash, not A's" \
  bash -c "[[ \$(ip netns exec $B curl -s $U/ks/$DB.ks | grep rootpw) == 'rootpw --iscrypted $HASH_P' ]]"
check "the menu's kickstart (ks/profiles/c7.ks, open to all) carries no secret: rootpw --lock" \
  bash -c "ip netns exec $B curl -s $U/ks/profiles/c7.ks > $TMP/got/menu.ks && grep -qx 'rootpw --lock' $TMP/got/menu.ks && ! grep -qF -e '$HASH_A' -e '$HASH_P' $TMP/got/menu.ks"
# R has no lease at all: its reservation alone releases its documents.
# R holds its reserved address by hand, with no lease: as any machine could
# while the real R is off. pxed leases addresses here, so the reservation
# alone proves nothing until R takes its lease.
out=$(tget $R pxelinux.cfg/01-$DR "$TMP/got/r.cfg")
check "R's reserved 10.88.0.20 set by hand, no lease: its config looks unknown (Error code 1)" grep -q "Error code 1" <<<"$out"
check "... and its kickstart is 403" test "$(http $R "$U/ks/romeo-r.ks")" = 403
ip -n $R addr flush dev eth0
ip_r=$(netns_lease $R r)
check "R takes its lease: the reserved 10.88.0.20 ($ip_r)" test "$ip_r" = 10.88.0.20
out=$(tget $R pxelinux.cfg/01-$DR "$TMP/got/r.cfg")
check "now R gets its pxelinux config over TFTP" grep -q "^default c7" "$TMP/got/r.cfg"
check "... and its kickstart over HTTP" test "$(http $R "$U/ks/romeo-r.ks")" = 200

# --- 3. A's install token, used from B -------------------------------------
# B is not locked out yet (fewer than 10 refusals so far): its tokens are
# compared.
check "A's token releases A's kickstart to B (200)" test "$(http $B "$U/ks/$DA.ks?token=$T1")" = 200
check "... the real one, with A's hash" grep -qxF "rootpw --iscrypted $HASH_A" "$TMP/body"
: > "$TMP/b-got"  # every body B gets while it tries for A's documents
battack() {  # curl-args...: B's request; prints the status, keeps the body
  local code
  code=$(http $B "$@")
  cat "$TMP/body" >> "$TMP/b-got"
  echo "$code"
}
check "a 16-char prefix of A's real token is refused (403)" test "$(battack "$U/ks/$DA.ks?token=${T1:0:16}")" = 403
check "A's token with one digit changed is refused (403)" \
  test "$(battack "$U/ks/$DA.ks?token=${T1:0:31}$([[ ${T1:31} == 0 ]] && echo 1 || echo 0)")" = 403
check "a guessed token is refused (403)" test "$(battack "$U/ks/$DA.ks?token=$(openssl rand -hex 16)")" = 403
check "the refusal log cuts a token to 6 characters" grep -qF "(${T1:0:6}...)" "$TMP/pxed.log"
code=$(api $A POST "/api/v1/hosts/$DA/install-done?token=$T1" -d '')
check "A's installer calls back with its token (200)" test "$code" = 200
check "A is installed" test "$(state_of alpha-a)" = installed/1
check "once installed, A's token is refused to B (403)" test "$(battack "$U/ks/$DA.ks?token=$T1")" = 403
out=$("$PXED" reinstall --config "$TMP/site.yaml" alpha-a 2>&1)
echo "$out" >> "$TMP/api.bodies"
check "pxed reinstall alpha-a: pending, generation 2" test "$(state_of alpha-a)" = pending/2
tget $A pxelinux.cfg/01-$DA "$TMP/got/a2.cfg" > /dev/null
T2=$(token_in "$TMP/got/a2.cfg")
check "A's config now shows a new token" bash -c "[[ '$T2' =~ ^[0-9a-f]{32}$ && '$T2' != '$T1' ]]"
check "the old token stays refused (403)" test "$(battack "$U/ks/$DA.ks?token=$T1")" = 403
check "the new one releases A's kickstart to B (200)" test "$(http $B "$U/ks/$DA.ks?token=$T2")" = 200
check "... with A's hash" grep -qxF "rootpw --iscrypted $HASH_A" "$TMP/body"

# --- 4. the API -------------------------------------------------------------
check "GET /api/v1/hosts from K (10.88.0.30, not in read_from) is 403" test "$(api $K GET /api/v1/hosts)" = 403
check "... and from B (a host of the site, not in read_from)" test "$(api $B GET /api/v1/hosts/$DA)" = 403
check "GET /api/v1/hosts from M (10.88.0.40, in read_from) is 200" test "$(api $M GET /api/v1/hosts)" = 200
check "... and from 127.0.0.1 on the pxed host" test "$(lapi /api/v1/hosts)" = 200
check "reinstall without a key is 401" test "$(api $K POST /api/v1/hosts/$DA/reinstall)" = 401
check "reinstall with a wrong key is 401" \
  test "$(api $K POST /api/v1/hosts/$DA/reinstall -H "Authorization: Bearer $KEY_WRONG")" = 401
check "... and names none of the keys that exist" bash -c "! grep -q -e \"'ops'\" -e \"'ci'\" $TMP/body"
codes=""
for i in $(seq 11); do
  codes+="$(api $K POST /api/v1/hosts/$DA/reinstall -H "Authorization: Bearer $(openssl rand -hex 32)") "
done
echo "# 11 more wrong keys from K: $codes"
check "after 10 wrong keys K gets 429" grep -q "429 $" <<<"$codes"
check "the lockout is logged once, naming K" \
  test "$(grep -c 'access: 10.88.0.30 locked out after 10 refused requests within 60 s' "$TMP/pxed.log")" = 1
check "K, locked out, gets 429 even with the right key" \
  test "$(api $K POST /api/v1/hosts/$DA/reinstall -H "Authorization: Bearer $KEY_OPS")" = 429
check "... and changed nothing: A is still installing, generation 2" test "$(state_of alpha-a)" = installing/2
check "K, locked out, is refused A's kickstart even with A's current token (403: not compared)" \
  test "$(http $K "$U/ks/$DA.ks?token=$T2")" = 403
k_last=$SECONDS  # K's last refusal: its lockout runs 60 s from here
check "M with the right key: reinstall A is 200" \
  test "$(api $M POST /api/v1/hosts/$DA/reinstall -H "Authorization: Bearer $KEY_OPS")" = 200
check "the log names the key and who used it" \
  grep -q "api: API key 'ops' from 10.88.0.40 reinstall $MAC_A: " "$TMP/pxed.log"
check "A is pending, generation 3" test "$(state_of alpha-a)" = pending/3
api $M GET /api/v1/hosts/$DA > /dev/null
check "GET /api/v1/hosts/<A> shows changed_by: API key 'ops' from 10.88.0.40" \
  grep -qF '"changed_by": "API key '"'ops'"' from 10.88.0.40"' "$TMP/body"
check "the API host view holds no token and no secret" \
  bash -c "! grep -qi -e token -e rootpw -e '$HASH_A' $TMP/body"
check "mark-installed of an unknown host with a right key is 404 (the key proved who asks)" \
  test "$(api $M POST /api/v1/hosts/52-54-00-88-00-99/mark-installed -H "Authorization: Bearer $KEY_CI")" = 404

# --- 2. B asks for A's documents: refused every time, learns nothing --------
# A is pending (generation 3): a document released to B would move it.
before=$(grep -c "refused: .* to $ip_b:" "$TMP/pxed.log" || true)
out_a=$(tget $B pxelinux.cfg/01-$DA "$TMP/got/b-a.cfg")
out_x=$(tget $B pxelinux.cfg/01-$DX "$TMP/got/b-x.cfg")
echo "# tftp of A's config from B: $out_a"
check "TFTP pxelinux.cfg/01-<A> from B: Error code 1 (file not found)" grep -q "Error code 1" <<<"$out_a"
check "... exactly what an unknown MAC gets" test "${out_a//$DA/MAC}" = "${out_x//$DX/MAC}"
check "... and no file" test ! -s "$TMP/got/b-a.cfg"
check "the TFTP refusal is logged at warn, naming B's address" \
  grep -q "^[0-9-]* [0-9:.]* warn.*tftp: refused: pxelinux.cfg/01-$DA to $ip_b: not the address pxed leased or reserved to $MAC_A" "$TMP/pxed.log"
check "HTTP ks/<A>.ks from B: 403" test "$(battack "$U/ks/$DA.ks")" = 403
cp "$TMP/body" "$TMP/got/b-a.ks.403"
check "the HTTP refusal is logged at warn, naming B's address" \
  wait_for_log "http: refused: ks/$DA.ks to $ip_b: not the address pxed leased or reserved to $MAC_A; no token" 5
check "HTTP ks/nobody.ks from B: 403 too" test "$(battack "$U/ks/nobody.ks")" = 403
check "... with the same body as A's: the refusal gives nothing away" same_file "$TMP/got/b-a.ks.403" "$TMP/body"
check "HTTP ks/<unknown MAC>.ks: the same 403 and body" \
  bash -c "[[ \$(ip netns exec $B curl -s -o $TMP/got/x.ks -w '%{http_code}' $U/ks/$DX.ks) == 403 ]] && cmp -s $TMP/got/x.ks $TMP/got/b-a.ks.403"
check "HTTP ks/alpha-a.ks (A's hostname) from B: 403, the same body" \
  bash -c "[[ \$(ip netns exec $B curl -s -o $TMP/got/h.ks -w '%{http_code}' $U/ks/alpha-a.ks) == 403 ]] && cmp -s $TMP/got/h.ks $TMP/got/b-a.ks.403"
check "A's previous install's token (T2) is refused after the API reinstall (403)" \
  test "$(battack "$U/ks/$DA.ks?token=$T2")" = 403
check "HTTP pxelinux.cfg/01-<A> from B: 404" test "$(battack "$U/pxelinux.cfg/01-$DA")" = 404
cp "$TMP/body" "$TMP/got/b-a.cfg.404"
check "... the same 404 as an unknown MAC's" \
  bash -c "[[ \$(ip netns exec $B curl -s -o $TMP/got/x.cfg -w '%{http_code}' $U/pxelinux.cfg/01-$DX) == 404 ]] && [[ \$(sed 's/$DX/MAC/g' $TMP/got/x.cfg) == \"\$(sed 's/$DA/MAC/g' $TMP/got/b-a.cfg.404)\" ]]"
code_a=$(battack "$U/grub.cfg-01-$DA")
cp "$TMP/body" "$TMP/got/b-a.grub"
code_x=$(http $B "$U/grub.cfg-01-$DX")
check "HTTP grub.cfg-01-<A> from B: $code_a, as an unknown MAC's ($code_x)" \
  bash -c "[[ $code_a == 404 && $code_x == 404 ]] && [[ \$(sed 's/$DX/MAC/g' $TMP/body) == \"\$(sed 's/$DA/MAC/g' $TMP/got/b-a.grub)\" ]]"
code_a=$(battack "$U/ipxe/$DA")
cp "$TMP/body" "$TMP/got/b-a.ipxe"
code_x=$(http $B "$U/ipxe/$DX")
check "HTTP ipxe/<A> from B answers as ipxe/<unknown MAC> does ($code_a vs $code_x)" \
  bash -c "[[ $code_a == $code_x ]] && [[ \$(sed 's/$DX/MAC/g' $TMP/body) == \"\$(sed 's/$DA/MAC/g' $TMP/got/b-a.ipxe)\" ]]"
check "HEAD of A's kickstart from B: 403" test "$(http $B -I "$U/ks/$DA.ks")" = 403
# Paths that name A's kickstart in other spellings: none may return it.
for p in "/ks/./$DA.ks" "//ks//$DA.ks" "/pub/../ks/$DA.ks" "/ks/../ks/$DA.ks" "/ks/%35%32-54-00-88-00-0a.ks" \
         "/ks%2f$DA.ks" "/ks/%2e/$DA.ks" "/pub/%2e%2e/ks/$DA.ks" "/%6b%73/$DA.ks" "/ks/$(tr a-f A-F <<<"$DA").ks" \
         "/ks/$MAC_A.ks" "/ks/52540088000a.ks" "/ks/$DA.ks/" "/ks/$DA.ks?token=" "/ks/$DA.ks?x=1&token=${T2:0:8}" \
         "/ks/ALPHA-A.ks" "/ks/$DA.ks%00" "/ks/$DA.ks;token=$T2" "/ks/$DA.ks%3Ftoken=$T2"; do
  code=$(battack "$U$p")
  check "B: ${p//$T2/<T2>} is no way to A's kickstart ($code)" bash -c "[[ $code != 2* ]] && ! grep -qF -e '$HASH_A' -e rootpw $TMP/body"
done
# A token that reaches pxed in another spelling than ?token= (a template
# or proxy that encodes the '?') is still a token: the log cuts it short.
check_not "a token sent as ;token= or %3Ftoken= is not logged in full either" grep -qF "$T2" "$TMP/pxed.log"
code=$(battack -r 0-99 "$U/ks/$DA.ks")
check "B: a range of A's kickstart is refused too ($code)" test "$code" = 403
check "nothing B got holds A's hash" bash -c "! grep -qF '$HASH_A' $TMP/b-got"
reply_a=$(ftp_get $B ks/$DA.ks "$TMP/got/b-a-ftp.ks")
reply_x=$(ftp_get $B ks/nobody.ks "$TMP/got/b-x-ftp.ks")
check "FTP RETR ks/<A>.ks from B: $reply_a" grep -q "^550 " <<<"$reply_a"
check "... the same reply as ks/nobody.ks" test "$reply_a" = "$reply_x"
check "... and no file" bash -c "! grep -qF '$HASH_A' $TMP/got/b-a-ftp.ks 2>/dev/null"
reply_a=$(ftp_get $B pxelinux.cfg/01-$DA "$TMP/got/b-a-ftp.cfg")
reply_x=$(ftp_get $B pxelinux.cfg/01-$DX "$TMP/got/b-x-ftp.cfg")
check "FTP RETR pxelinux.cfg/01-<A> from B: 550, as an unknown MAC" \
  bash -c "[[ '$reply_a' == 550* && '$reply_a' == '$reply_x' ]]"
out_a=$(tget $B ks/$DA.ks "$TMP/got/b-a-tftp.ks")
out_x=$(tget $B ks/nobody.ks "$TMP/got/b-x-tftp.ks")
check "TFTP ks/<A>.ks from B: Error code 2 (access violation)" grep -q "Error code 2" <<<"$out_a"
check "... as for ks/nobody.ks, and no file" \
  bash -c "[[ '${out_a//$DA.ks/NAME}' == '${out_x//nobody.ks/NAME}' ]] && [[ ! -s $TMP/got/b-a-tftp.ks ]]"
# Listings: the menu is there, no host's own documents.
macs='52[-:]?54[-:]?00[-:]?88|alpha-a|bravo-b|romeo-r'
http $B "$U/ks/" > /dev/null; cp "$TMP/body" "$TMP/got/ks.html"
http $B "$U/pxelinux.cfg/" > /dev/null; cp "$TMP/body" "$TMP/got/pxe.html"
http $B "$U/ipxe/" > /dev/null; cp "$TMP/body" "$TMP/got/ipxe.html"
http $B "$U/" > /dev/null; cp "$TMP/body" "$TMP/got/root.html"
check "the HTTP index of /ks/ lists profiles/" grep -q 'href="./profiles/"' "$TMP/got/ks.html"
check "the HTTP index of /pxelinux.cfg/ lists default" grep -q 'href="./default"' "$TMP/got/pxe.html"
check_not "the HTTP indexes of /, /ks/, /pxelinux.cfg/, /ipxe/ name no host (MAC or hostname)" \
  grep -Eqi "$macs" "$TMP/got/ks.html" "$TMP/got/pxe.html" "$TMP/got/ipxe.html" "$TMP/got/root.html"
ip netns exec $B lftp -e "set net:max-retries 1; set net:timeout 5; set ftp:use-mlsd on; cls -1 ks/; cls -1 pxelinux.cfg/; nlist ks/; nlist pxelinux.cfg/; cls -1; bye" \
  $SRV > "$TMP/got/ftp.ls" 2>&1 || true
ip netns exec $B curl -s -m 10 "ftp://$SRV/ks/" "ftp://$SRV/pxelinux.cfg/" >> "$TMP/got/ftp.ls" 2>&1 || true
ip netns exec $B curl -s -m 10 -l "ftp://$SRV/ks/" >> "$TMP/got/ftp.ls" 2>&1 || true
sed 's/^/# ftp: /' "$TMP/got/ftp.ls"
check "the FTP listings (lftp MLSD and NLST, curl LIST and NLST) show default and profiles" \
  bash -c "grep -q 'default' $TMP/got/ftp.ls && grep -q 'profiles' $TMP/got/ftp.ls"
check_not "... and name no host (MAC or hostname)" grep -Eqi "$macs" "$TMP/got/ftp.ls"
check "B's refused requests did not move A: still pending, generation 3" test "$(state_of alpha-a)" = pending/3
lapi /api/v1/hosts/$DA > /dev/null
check "... the API (from 127.0.0.1) says pending too, last changed by the API key" \
  bash -c "grep -q '\"state\": \"pending\"' $TMP/body && grep -qF \"API key 'ops'\" $TMP/body"
after=$(grep -c "refused: .* to $ip_b:" "$TMP/pxed.log" || true)
check "the log has refusal lines naming B's address ($before before, $after after)" test "$after" -gt "$before"
check "B was locked out once, and the log says so" \
  test "$(grep -c "access: $ip_b locked out after 10 refused requests" "$TMP/pxed.log")" = 1

# --- 5. the lockout does not get in the way of a host's own install --------
out=$(tget $A pxelinux.cfg/01-$DA "$TMP/got/a3.cfg")
T3=$(token_in "$TMP/got/a3.cfg")
check "with B locked out, A still gets its config by address" grep -q "^default c7" "$TMP/got/a3.cfg"
check "... showing the API reinstall's new token" bash -c "[[ '$T3' =~ ^[0-9a-f]{32}$ && '$T3' != '$T2' && '$T3' != '$T1' ]]"
check "... and its kickstart by address (HTTP 200, A's hash)" \
  bash -c "[[ \$(ip netns exec $A curl -s $U/ks/$DA.ks | grep rootpw) == 'rootpw --iscrypted $HASH_A' ]]"
check "B, locked out, is refused A's kickstart even with A's current token (403)" \
  test "$(battack "$U/ks/$DA.ks?token=$T3")" = 403
check "the current token works from a client that is not locked out (M, 200)" \
  test "$(http $M "$U/ks/$DA.ks?token=$T3")" = 200
check "the previous install's token stays refused (M, 403)" test "$(http $M "$U/ks/$DA.ks?token=$T2")" = 403
# A itself locked out: its own address still releases its documents.
for i in $(seq 12); do http $A "$U/ks/$DB.ks" > /dev/null; done
check "A asked for B's kickstart 12 times: refused, and locked out" \
  grep -q "access: $ip_a locked out after 10 refused requests" "$TMP/pxed.log"
check "A, locked out, still gets its own config by address over HTTP" test "$(http $A "$U/pxelinux.cfg/01-$DA")" = 200
http $A "$U/ks/$DA.ks" > /dev/null
check "... and its kickstart over HTTP" grep -qxF "rootpw --iscrypted $HASH_A" "$TMP/body"
check "... and over FTP" bash -c "[[ \$(ip netns exec $A curl -s ftp://$SRV/ks/$DA.ks | grep rootpw) == 'rootpw --iscrypted $HASH_A' ]]"

# --- 6. pxed check on secret files -----------------------------------------
pcheck() { "$PXED" check --config "$1" 2>&1 | tee -a "$TMP/check.out" || true; }
: > "$TMP/check.out"
check "pxed check: no warning about secret files at mode 640" \
  bash -c "! '$PXED' check --config '$TMP/site.yaml' 2>&1 | tee -a '$TMP/check.out' | grep -q 'readable by every user'"
chmod 644 "$sec/rootpw-a"
out=$(pcheck "$TMP/site.yaml")
check "pxed check warns when A's secret file is chmod 644" grep -q "warning: .*$sec/rootpw-a is readable by every user" <<<"$out"
chmod 640 "$sec/rootpw-a"
chmod 644 "$sec/api-keys"
out=$(pcheck "$TMP/site.yaml")
check "... and when the API keys file is" grep -q "warning: .*$sec/api-keys is readable by every user" <<<"$out"
chmod 640 "$sec/api-keys"
sed "s|secrets: {rootpw_hash: {file: $sec/rootpw-a}}|secrets: {rootpw_hash: \"$HASH_A\"}|" "$TMP/site.yaml" > "$TMP/inline.yaml"
chmod 644 "$TMP/inline.yaml"
out=$(pcheck "$TMP/inline.yaml")
check "pxed check warns when site.yaml holds an inline secret and is o+r" grep -q "site.yaml holds secrets" <<<"$out"
chmod 640 "$TMP/inline.yaml"
out=$(pcheck "$TMP/inline.yaml")
check_not "... and not once it is 640" grep -q "site.yaml holds secrets" <<<"$out"

# --- the lockout ends once the client has been quiet for 60 s -------------
wait_s=$((k_last + 62 - SECONDS))
echo "# waiting ${wait_s} s for K's lockout to run out"
((wait_s <= 0)) || sleep "$wait_s"
check "K, quiet for 60 s, is heard again: mark-installed A with the 'ci' key is 200" \
  test "$(api $K POST /api/v1/hosts/$DA/mark-installed -H "Authorization: Bearer $KEY_CI")" = 200
check "... logged with the key's name and K's address" \
  grep -q "api: API key 'ci' from 10.88.0.30 mark-installed $MAC_A: " "$TMP/pxed.log"
api $M GET /api/v1/hosts/$DA > /dev/null
check "the API says A was changed by the 'ci' key from K" \
  grep -qF "\"changed_by\": \"API key 'ci' from 10.88.0.30\"" "$TMP/body"
check "pxed hosts says A is installed (generation 3)" test "$(state_of alpha-a)" = installed/3

# --- 7. the leak sweep: no secret in the log, the API's answers or check's --
# /metrics, `pxed reload`'s answer and the boot trace (API, `pxed trace`,
# trace.sqlite3, which holds every refused request) go into the sweep too.
check "/metrics answers 127.0.0.1 (200)" test "$(lapi /metrics)" = 200
check "pxed reload succeeds" bash -c "'$PXED' reload --config '$TMP/site.yaml' >> '$TMP/api.bodies' 2>&1"
for m in $MAC_A $MAC_B $MAC_R $MAC_X; do
  check "the trace of $m answers 127.0.0.1 (200)" test "$(lapi /api/v1/hosts/$m/events)" = 200
  "$PXED" trace --config "$TMP/site.yaml" "$m" >> "$TMP/api.bodies" 2>&1 || true
done
check "the unknown MACs answer 127.0.0.1 (200)" test "$(lapi /api/v1/unknown)" = 200
check "A's trace has its refused requests" grep -q "refused" "$TMP/api.bodies"
stop_pxed
check "trace.sqlite3 was written" test -s "$TMP/state/trace.sqlite3"
strings "$TMP/state/trace.sqlite3"* >> "$TMP/api.bodies" 2>/dev/null || true
n_tokens=0
for t in "$T1" "$T2" "$T3"; do [[ -n $t ]] && n_tokens=$((n_tokens + 1)); done
check "three install tokens were seen ($n_tokens)" test "$n_tokens" = 3
echo "# sweep: $(wc -l < "$TMP/pxed.log") log lines, $(wc -c < "$TMP/api.bodies") bytes of API answers"
# The names only: the test's own output is no place for the values either.
names=("A's root hash" "the profile's root hash" "API key ops" "API key ci" "token 1" "token 2" "token 3")
values=("$HASH_A" "$HASH_P" "$KEY_OPS" "$KEY_CI" "$T1" "$T2" "$T3")
for i in "${!names[@]}"; do
  check_not "the log, the API's answers and pxed check never show ${names[i]}" \
    grep -qF -e "${values[i]}" "$TMP/pxed.log" "$TMP/api.bodies" "$TMP/check.out"
done
finish
