#!/usr/bin/env bash
# The dashboard (/ui/, docs/dashboard.md) in a real browser: Debian's
# chromium, driven through chromium-driver by python3-selenium
# (dashboard_browser.py), in network namespaces this test creates (nothing
# here touches the machine's own interfaces):
#
#   ns S (pxed)                                     ns C (the client side)
#     eth0 10.77.0.2/24, DHCP here only  ───veth───  eth0 MAC of alpha: udhcpc, tftp-hpa, curl
#     eth1 10.77.1.2/24                  ───veth───  eth1 10.77.1.10/24: the admin's Chromium
#
# One page load for the whole test: the hosts of site.yaml appear; alpha
# boots (udhcpc, then tftp-hpa and curl fetch its boot loader, boot config,
# kernel and kickstart, each fetch waited for in the browser) and its row
# moves dhcp > boot loader > config > kernel > kickstart live, the same row
# node throughout; a slow download shows in the transfers table with its
# progress while it runs; its host view shows the trace, with a failed fetch
# marked and its hint; reinstall without signing in is refused and changes
# nothing; a wrong API key is refused; with the right one a reinstall (after
# its confirmation dialog; a cancel changes nothing) moves alpha to pending,
# the trace and the log name the key, and a bulk mark-installed of two rows
# asks once for both; a reload that adds a host adds its row. Markup a
# client sent (its DHCP vendor class) shows as text and makes no element.
# No console error (a CSP violation would be one), the key nowhere in the
# page. Screenshots (desktop and phone) go to the
# artifact directory.
# Usage: dashboard_test.sh PXED SOURCE_DIR [ARTIFACT_DIR]
PXED=$1
SRC=$2
ART=${3:-}
source "$SRC/tests/integration/lib.sh"
# Interrupted (Ctrl-C, ctest's timeout): exit, so that lib.sh's EXIT trap
# still stops the browser and pxed and removes the namespaces.
trap 'exit 1' INT TERM HUP

# The browser is the one thing this test may go without (it says so, 77);
# everything else is in scripts/dev deps, and missing it is a failure.
for c in chromium chromedriver; do
  command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps: chromium chromium-driver)"
done
PYS=
# Debian's python3-selenium is for Debian's python3, which a version
# manager's python3 earlier in PATH does not see.
for p in python3 /usr/bin/python3; do
  if command -v $p >/dev/null && $p -c 'import selenium.webdriver' 2>/dev/null; then PYS=$(command -v $p); break; fi
done
[[ -n $PYS ]] || skip_all "python3-selenium is not installed (scripts/dev deps)"
[[ $(id -u) -eq 0 ]] || { echo "needs root to create network namespaces"; exit 1; }
for c in ip busybox tftp curl wget openssl; do
  command -v $c >/dev/null || { echo "$c is not installed (scripts/dev deps)"; exit 1; }
done

[[ -n $ART ]] || ART=$TMP/artifacts
mkdir -p "$ART"
rm -f "$ART"/*.png "$ART"/console.log "$ART"/chromedriver.log "$ART"/browser.err "$ART"/pxed.log
export HOME=$TMP/home TMPDIR=$TMP/tmp
mkdir -p "$HOME" "$TMPDIR"

id=$$
S=pxd-s-$id C=pxd-c-$id
netns_up $S $C
MAC_A=52:54:00:77:00:0a MAC_B=52:54:00:77:00:0b MAC_C=52:54:00:77:00:0c
DA=$(tr : - <<<"$MAC_A")
ip link add eth0 netns $S type veth peer name eth0 netns $C
ip link add eth1 netns $S type veth peer name eth1 netns $C
ip -n $C link set eth0 address $MAC_A
ip -n $S addr add 10.77.0.2/24 dev eth0
ip -n $S addr add 10.77.1.2/24 dev eth1
ip -n $C addr add 10.77.1.10/24 dev eth1
for ns in $S $C; do ip -n $ns link set eth0 up; ip -n $ns link set eth1 up; done
SRV=10.77.0.2
IP_A=10.77.0.20
UI=http://10.77.1.2:8080/ui/

root=$TMP/tftp
mkdir -p "$root/k" "$TMP/state" "$TMP/secrets" "$TMP/got"
head -c 26000 /dev/urandom > "$root/pxelinux.0"
head -c 70000 /dev/urandom > "$root/k/vmlinuz"
head -c 9000 /dev/urandom > "$root/k/initrd.img"
head -c 1600000 /dev/urandom > "$root/k/big.img"
KEY_OPS=$(openssl rand -hex 32) KEY_WRONG=$(openssl rand -hex 32)
printf '# name key\nops %s\n' "$KEY_OPS" > "$TMP/secrets/api-keys"
chmod 640 "$TMP/secrets/api-keys"
cat > "$TMP/site.yaml" <<YAML
server:
  address: $SRV
  interfaces: [eth0]
  state_dir: $TMP/state
  log: {level: debug}
  dhcp: {mode: server}
  tftp: {root: $root}
  http: {port: 8080}
  ftp: {enabled: false}
subnets:
  - network: 10.77.0.0/24
    ranges: [10.77.0.100-10.77.0.150]
    lease_time: 10m
profiles:
  c7: {kernel: k/vmlinuz, initrd: k/initrd.img, kickstart: centos7.ks, append: "inst.ks={{kickstart_url}}"}
hosts:
  - {mac: "$MAC_A", hostname: alpha, ip: $IP_A, profile: c7}
  - {mac: "$MAC_B", hostname: bravo, profile: c7}
  - {mac: "$MAC_C", hostname: charlie, profile: c7}
access:
  host_documents: address-or-token
  api:
    # The admin's subnet; the booting machine's is not in it.
    read_from: [127.0.0.0/8, 10.77.1.0/24]
    keys_file: $TMP/secrets/api-keys
YAML
chmod 640 "$TMP/site.yaml"
on_exit "cp $TMP/pxed.log $ART/pxed.log 2>/dev/null"
start_pxed "$TMP/site.yaml" ip netns exec $S
wait_for_log "dhcp: answering on" 5 || true

P() { "$PXED" "$@" --config "$TMP/site.yaml"; }
state_of() { P hosts | awk -v h="$1" '$2 == h { print $3 "/" $4 }'; }

# --- the browser: one Chromium for the whole test, in ns C -------------------
# dashboard_browser.py reads commands (tab-separated) from one FIFO and
# answers each with a line on the other.
mkfifo "$TMP/b.in" "$TMP/b.out"
ip netns exec $C env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u no_proxy \
  "$PYS" "$SRC/tests/integration/dashboard_browser.py" "$ART" "$TMP/profile" \
  < "$TMP/b.in" > "$TMP/b.out" 2> "$ART/browser.err" &
BROWSER=$!
on_exit "kill $BROWSER 2>/dev/null"
exec 3> "$TMP/b.in" 4< "$TMP/b.out"
on_exit "exec 3>&- 4<&-"
LAST=
# b COMMAND ARGS...: one command to the browser; true when it answers ok.
# Its answer is printed (as a TAP comment) and kept in $LAST.
b() {
  local IFS=$'\t'
  LAST=
  if ! kill -0 $BROWSER 2>/dev/null; then
    echo "#   the browser is gone (see $ART/browser.err)"
    return 1
  fi
  printf '%s\n' "$*" >&3
  if ! read -r -t 90 -u 4 LAST; then
    echo "#   no answer from the browser to: $*"
    return 1
  fi
  echo "#   $LAST"
  [[ $LAST == ok* ]]
}
# b_is WANT COMMAND ARGS...: the browser's answer is "ok WANT".
b_is() { local want=$1; shift; b "$@" && [[ $LAST == "ok $want" ]]; }
# said PATTERN...: the browser's last answer holds each (grep -E).
said() { local p; for p in "$@"; do grep -Eq -- "$p" <<<"$LAST" || return 1; done; }

if ! read -r -t 60 -u 4 LAST || [[ $LAST != "ok ready" ]]; then
  echo "Chromium did not start under chromedriver:"
  cat "$ART/browser.err"
  exit 1
fi
row="#hosts tbody tr[data-mac=\"$MAC_A\"]"

check "Chromium loads $UI from pxed and its stream goes live" b open "$UI"
check "the three hosts of site.yaml appear" b rows $MAC_A $MAC_B $MAC_C
names() { b_is alpha cell $MAC_A hostname && b_is bravo cell $MAC_B hostname && b_is charlie cell $MAC_C hostname; }
check "... with their names" names
check "alpha's profile" b_is c7 cell $MAC_A profile
check "alpha is pending" b state $MAC_A pending
check "alpha has reached no stage" b stage $MAC_A none
check "the stage cell of alpha is watched from now on" b watch $MAC_A

# --- alpha boots; its row follows, stage by stage, without a reload ----------
# Its vendor class is markup: text a client chooses, which the trace shows.
XSS='<img src=x id=pxed-xss>'
udhcpc_script
ip netns exec $C env UDH_OUT="$TMP/udh-a" timeout 30 busybox udhcpc -n -q -f -i eth0 -V "$XSS" \
  -s "$TMP/udhcpc-script" -t 5 -T 2 > "$TMP/udhcpc-a.out" 2>&1 || true
ip_a=$(sed -n 's/^ip=//p' "$TMP/udh-a.bound" 2>/dev/null || true)
check "udhcpc in C gets alpha's reservation from pxed ($ip_a)" test "$ip_a" = $IP_A
check "live: the row says dhcp" b stage $MAC_A dhcp 10
check "live: the row shows alpha's address" b text "$row td.ip" "$IP_A" 10
tget $C pxelinux.0 "$TMP/got/pxelinux.0" > /dev/null
check "tftp-hpa gets pxelinux.0" same_file "$root/pxelinux.0" "$TMP/got/pxelinux.0"
check "live: the row says boot loader" b stage $MAC_A "boot loader" 10
tget $C pxelinux.cfg/01-$DA "$TMP/got/a.cfg" > /dev/null
check "tftp-hpa gets alpha's pxelinux.cfg/01-$DA" grep -q "^default c7" "$TMP/got/a.cfg"
check "live: the row says config" b stage $MAC_A config 10
check "live: alpha is installing (its boot config was released to it)" b state $MAC_A installing 10
tget $C k/vmlinuz "$TMP/got/vmlinuz" > /dev/null
check "tftp-hpa gets the kernel" same_file "$root/k/vmlinuz" "$TMP/got/vmlinuz"
check "live: the row says kernel" b stage $MAC_A kernel 10
code=$(http $C "http://$SRV:8080/ks/$DA.ks")
check "curl gets alpha's kickstart ($code)" bash -c "[[ $code == 200 ]] && grep -q '^%packages' $TMP/body"
check "live: the row says kickstart" b stage $MAC_A kickstart 10
check "the row went through every stage in order, one row node throughout" \
  b_is "none,dhcp,boot loader,config,kernel,kickstart" stages $MAC_A
check "... and the page was never reloaded" b same-page
check "its last event is the kickstart" b text "$row td.last-event" "ks/$DA.ks" 10
# A file that is not there: a failed event, and a hint.
code=$(http $C "http://$SRV:8080/k/missing.img")
check "a missing file over HTTP is a 404" test "$code" = 404
check "live: the row's last event is the failed fetch" b text "$row td.last-event" "k/missing.img" 10
check "no transfer runs" b visible "#no-transfers"
# A slow download (wget at 400 KB/s, about 4 s; curl's --limit-rate lets
# the first megabytes through at full speed): the transfers table shows it
# while it runs.
# TCP buffers are kept small meanwhile (the namespaces' own sysctls), so
# that pxed's writes wait for wget instead of filling megabytes of them.
rmem=$(ip netns exec $C sysctl -n net.ipv4.tcp_rmem) wmem=$(ip netns exec $S sysctl -n net.ipv4.tcp_wmem)
ip netns exec $C sysctl -qw net.ipv4.tcp_rmem="4096 32768 65536"
ip netns exec $S sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536"
ip netns exec $C wget -q -T 30 --limit-rate=400k -O "$TMP/got/big.img" "http://$SRV:8080/k/big.img" &
SLOW=$!
on_exit "kill $SLOW 2>/dev/null"
check "live: a transfer row for k/big.img to $IP_A" b text "#transfers tbody tr" "http.*$IP_A.*k/big\.img" 10
check "... with its progress" b_is true js "const p = document.querySelector('#transfers tbody progress'); return !!p && p.max === 1600000 && p.value > 0"
check "screenshot: the list, a transfer running (1280x800)" b shot dashboard-desktop.png 1280x800
wait $SLOW || true
check "wget got the whole file" same_file "$root/k/big.img" "$TMP/got/big.img"
ip netns exec $C sysctl -qw net.ipv4.tcp_rmem="$rmem"
ip netns exec $S sysctl -qw net.ipv4.tcp_wmem="$wmem"
check "live: the transfer is gone, no transfer runs" b visible "#no-transfers" 10

# --- alpha's host view -------------------------------------------------------
check "a click on alpha's name opens its host view" b click "$row td.hostname a"
check "... (#host-view shown)" b visible "#host-view"
check "... whose trace lists its events" b count "#host-trace li" 6 10
check "... its DHCP exchange" b text "#host-trace" "REQUEST -> ACK $IP_A" 5
check "... whose vendor class, markup, shows as text" b text "#host-trace" "vendor $XSS" 5
check "... and made no element" b_is true js "return document.getElementById('pxed-xss') === null && !document.querySelector('#host-view img')"
check "... its boot loader, config, kernel and kickstart" \
  b text "#host-trace" "pxelinux\.0.*pxelinux\.cfg/01-$DA.*k/vmlinuz.*ks/$DA\.ks" 5
check "... the failed fetch marked as failed" b text "#host-trace li.fail" "k/missing.img" 5
check "... and its hint" b text "#host-hints" "k/missing.img" 5
check "... its documents, each in a <details>" b count "#host-documents details pre" 1 5
check "... among them its pxelinux config" b text "#host-documents" "pxelinux.cfg/01-$DA" 5
check "screenshot: the host view" b shot dashboard-host.png 1280x800

# --- actions: refused without a key, then with one ---------------------------
check "reinstall before signing in: a click on it" b click "#action-reinstall"
check "... no confirmation asked (nothing could be done)" b no-dialog
check "... the server's refusal is shown" b text "#action-message" "refused.*(401|not signed in)" 10
check "... and alpha is still installing, generation 1" test "$(state_of alpha)" = installing/1
check "... in the page too" b text "#host-details" "installing" 5
b type "#signin-key" "$KEY_WRONG" || true
b click "#signin-button" || true
check "a wrong API key is refused" b text "#signin-status" "failed" 10
check "... and the page is not signed in" b_is false js "return document.body.classList.contains('signed-in')"
b type "#signin-key" "$KEY_OPS" || true
b click "#signin-button" || true
check "the right key signs in: signed in as ops" b text "#signin-status" "^signed in as ops$" 10
check "... the key input is emptied" b_is "value=" value "#signin-key"
check "... and the key is nowhere in the page (storage, cookies, DOM, console)" b leaks "$KEY_OPS"
check "#signout-button is shown" b visible "#signout-button"

b click "#action-reinstall" || true
check "reinstall asks first, in #confirm-dialog, naming alpha" b dialog
check "... (its text names alpha)" said alpha
check "screenshot: the confirmation" b shot dashboard-confirm.png
b click "#confirm-cancel" || true
check "cancel closes it" b no-dialog
check "... and changes nothing" test "$(state_of alpha)" = installing/1
b click "#action-reinstall" || true
check "reinstall again: the dialog" b dialog
b click "#confirm-ok" || true
check "confirmed: the result is shown" b text "#action-message" "1 of 1 done" 10
check "pxed hosts: alpha is pending, generation 2" test "$(state_of alpha)" = pending/2
check "live: the host view says pending" b text "#host-details" "pending" 10
check "live: the trace in the host view names the key" b text "#host-trace li:last-child" "pending.*ops|ops.*pending" 10
P trace alpha > "$TMP/trace-a.txt" 2>&1 || true
check "pxed trace alpha: the reinstall, by the key ops" grep -Eq "lifecycle .*pending.*\bops\b" "$TMP/trace-a.txt"
check "pxed's log: the reinstall, with the key's name" grep -Eq "reinstall.*\bops\b|\bops\b.*reinstall" "$TMP/pxed.log"

# --- a bulk action: one confirmation for two rows -----------------------------
check "back to the list" b click "#host-back"
check "... alpha's row says pending there too" b state $MAC_A pending 10
check "bravo and charlie selected" b select $MAC_B $MAC_C
check "... (2 selected)" said "^ok 2 selected"
b click "#bulk-mark-installed" || true
check "bulk mark-installed asks once, for 2 hosts" b dialog
check "... naming both" said bravo charlie "2 hosts"
b click "#confirm-ok" || true
check "... done for both" b text "#action-message" "2 of 2 done" 10
check "pxed hosts: bravo and charlie installed" test "$(state_of bravo) $(state_of charlie)" = "installed/1 installed/1"
check "live: bravo's row says installed" b state $MAC_B installed 10
check "live: charlie's row says installed" b state $MAC_C installed 10
check "... and alpha is untouched" test "$(state_of alpha)" = pending/2

# --- a reload adds a host: its row appears without a reload of the page -----
MAC_D=52:54:00:77:00:0d
sed -i "/hostname: charlie/a\\  - {mac: \"$MAC_D\", hostname: delta, profile: c7}" "$TMP/site.yaml"
P reload > "$TMP/reload.out" 2>&1 && rc=0 || rc=$?
check "pxed reload with a fourth host, delta (exit $rc)" test "$rc" = 0
check "live: delta's row appears" b rows $MAC_D
check "... pending" b state $MAC_D pending 10
check "... and the rows of before are still the same nodes" b stages $MAC_A

# --- a phone -----------------------------------------------------------------
check "a 390x844 phone" b size 390x844
check "... the hosts table scrolls sideways there, not the page" b scrolls-sideways "#hosts"
check "screenshot: the list on a phone" b shot dashboard-phone.png
check "the host view on a phone" b hash "#host/$MAC_A"
check "... shown" b count "#host-trace li" 6 10
check "screenshot: the host view on a phone" b shot dashboard-phone-host.png 390x844
check "still the same page load" b same-page
check "no error in the browser's console (no CSP violation)" b console
b click "#signout-button" >/dev/null || true
check "sign out" b text "#signin-status" "signed out" 10
b quit >/dev/null || true
wait $BROWSER 2>/dev/null || true
echo "# screenshots in $ART"
stop_pxed
finish
