#!/usr/bin/env bash
# The host lifecycle as an admin and the hosts' installers meet it, over
# loopback with real clients (tftp-hpa, curl, lftp): a host installs once and
# then boots its disk; the install-done callback with its token and nothing
# else ends an install; the one-shot ends it when the kickstart is fetched;
# pxed hosts / reinstall / mark-installed over the control socket; the state
# survives kill -9; reloads add and remove hosts without losing history.
# Usage: lifecycle_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in curl tftp lftp python3 stat; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done
export HOME=$TMP/home

root=$TMP/root
mkdir -p "$root/k" "$HOME"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
pasv_first=$((20000 + RANDOM % 20000))
# A fixed HTTP port: the install-done URL pxed renders names it.
http_port=$((pasv_first + 100))

write_config() {  # extra host lines
  cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  tftp: {port: 0, root: $root}
  http: {port: $http_port}
  ftp: {port: 0, passive_ports: $pasv_first-$((pasv_first + 20))}
profiles:
  c7: {kernel: k/vmlinuz, initrd: k/initrd.img, kickstart: centos7.ks, append: "inst.ks={{kickstart_url}}"}
  c7-oneshot: {inherits: c7, lifecycle: {install_done: kickstart}}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: c7}
  - {mac: 52:54:00:00:00:02, hostname: old2, profile: c7, lifecycle: {new_hosts: installed}}
  - {mac: 52:54:00:00:00:03, hostname: one3, profile: c7-oneshot}
  - {mac: 52:54:00:00:00:05, hostname: slow5, profile: c7, lifecycle: {install_timeout: 1m, on_timeout: install}}
$1
# Every client here is 127.0.0.1, no host's address: this test is about the
# protocol (access_test.sh covers who gets a host's documents).
access: {host_documents: open}
YAML
}
write_config ""

P() { "$PXED" "$@" --config "$TMP/site.yaml"; }
state_of() {  # host -> its state as `pxed hosts` prints it
  P hosts | awk -v h="$1" '$2 == h { print $3 }'
}
gen_of() { P hosts | awk -v h="$1" '$2 == h { print $4 }'; }

# --- without a daemon
out=$(P hosts 2>&1) && rc=0 || rc=$?
check "pxed hosts without a running daemon exits 3" test "$rc" -eq 3
check "... and says so" grep -q "pxed is not running" <<<"$out"

start_pxed "$TMP/site.yaml"
tport=$(bound_port tftp) hport=$(bound_port http) fport=$(bound_port ftp)
u=http://127.0.0.1:$hport
check "the control socket is announced" grep -q "control: listening on $TMP/state/control.sock" "$TMP/pxed.log"
check "the control socket is mode 0660" test "$(stat -c %a "$TMP/state/control.sock")" = 660
check "new hosts start pending (n1)" test "$(state_of n1)" = pending
check "lifecycle.new_hosts: installed adopts a host (old2)" test "$(state_of old2)" = installed

# A second daemon on the same state directory would corrupt it.
"$PXED" --config "$TMP/site.yaml" > "$TMP/second.log" 2>&1 && rc=0 || rc=$?
check "a second pxed with the same state_dir refuses to start" test "$rc" -ne 0
check "... naming the reason" grep -q "another pxed answers on" "$TMP/second.log"
check "... and the first one still answers" test "$(state_of n1)" = pending

tget() { tftp 127.0.0.1 "$tport" -c get "$1" "$2" 2>&1; }
header() {  # NAME URL
  curl -s -o /dev/null -D - "$2" | tr -d '\r' | sed -n "s/^$1: //Ip" | head -n 1
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# slow5 starts an install that never ends: it fails after its minute, while
# the rest of the test runs (and survives the kill -9 below on the way).
tget pxelinux.cfg/01-52-54-00-00-00-05 "$TMP/slow5.cfg" >/dev/null
check "slow5 is installing" test "$(state_of slow5)" = installing

# --- n1: the callback way
tget pxelinux.cfg/01-52-54-00-00-00-01 "$TMP/n1.cfg" >/dev/null
check "pending: TFTP serves n1 its install config" grep -q "^default c7" "$TMP/n1.cfg"
check "fetching it moved n1 to installing" test "$(state_of n1)" = installing
check "... and the log says so" grep -q "lifecycle: 52:54:00:00:00:01 (n1) pending -> installing (generation 1): fetched its pxelinux config" "$TMP/pxed.log"
etag1=$(header ETag "$u/pxelinux.cfg/01-52-54-00-00-00-01")
curl -s -o "$TMP/n1.ks" "$u/ks/n1.ks"
url=$(sed -n "s/^url='\(.*\)'$/\1/p" "$TMP/n1.ks")
token=${url##*token=}
check "n1's kickstart names its install-done URL" \
  grep -Eq "^http://127.0.0.1:$hport/api/v1/hosts/52-54-00-00-00-01/install-done\?token=[0-9a-f]{32}$" <<<"$url"
check "the menu kickstart carries no install-done URL" bash -c "! curl -s '$u/ks/profiles/c7.ks' | grep -q install-done"
curl -s -o "$TMP/n2.ks" "$u/ks/old2.ks"
token2=$(sed -n "s/.*token=\([0-9a-f]*\)'$/\1/p" "$TMP/n2.ks")
check "hosts have tokens of their own" test -n "$token2" -a "$token2" != "$token"

check "a wrong token is refused (403)" test "$(code -X POST "${url%token=*}token=0000$token")" = 403
check "another host's token is refused (403)" test "$(code -X POST "${url%token=*}token=$token2")" = 403
check "a callback by GET is refused (405)" test "$(code "$url")" = 405
check "a callback for an unknown MAC reads like a wrong token (403): it tells no MACs" \
  test "$(code -X POST "$u/api/v1/hosts/52-54-00-99-99-99/install-done?token=$token")" = 403
check "a callback without a token is refused (403)" \
  test "$(code -X POST "$u/api/v1/hosts/52-54-00-00-00-01/install-done")" = 403
check "none of that changed n1" test "$(state_of n1)" = installing
check "reinstall over HTTP is refused without an API key (403)" \
  test "$(code -X POST "$u/api/v1/hosts/n1/reinstall")" = 403
check "the refusal is logged with its reason" wait_for_log "reinstall\" 403 .*no API key is configured" 5

body=$(curl -s -X POST -d '' "$url")
check "the installer's callback (curl -X POST) answers 200 installed" grep -q '"state": "installed"' <<<"$body"
check "n1 is installed" test "$(state_of n1)" = installed
check "a replayed callback is 409" test "$(code -X POST "$url")" = 409
check "the access log cuts the token short" wait_for_log "install-done?token=${token:0:6}\.\.\.\" 200" 5
check "no log line holds a whole token" bash -c "! grep -q -e '$token' -e '$token2' '$TMP/pxed.log'"

tget pxelinux.cfg/01-52-54-00-00-00-01 "$TMP/n1-local.cfg" >/dev/null
check "installed: TFTP serves n1 the local-boot config" grep -q "^default local" "$TMP/n1-local.cfg"
curl -s -o "$TMP/n1-local-http.cfg" "$u/pxelinux.cfg/01-52-54-00-00-00-01"
check "HTTP serves the same bytes as TFTP" cmp -s "$TMP/n1-local.cfg" "$TMP/n1-local-http.cfg"
etag2=$(header ETag "$u/pxelinux.cfg/01-52-54-00-00-00-01")
check "the ETag changed with the variant ($etag1 -> $etag2)" test -n "$etag2" -a "$etag1" != "$etag2"
check "a conditional GET with the old ETag gets the new config (200)" \
  test "$(code -H "If-None-Match: $etag1" "$u/pxelinux.cfg/01-52-54-00-00-00-01")" = 200
check "grub.cfg boots n1's disk too" bash -c "curl -s '$u/grub.cfg-01-52-54-00-00-00-01' | grep -q '^set default=local'"
lftp -e "set net:max-retries 1; set net:timeout 5; cls -1 pxelinux.cfg/; bye" -p "$fport" 127.0.0.1 > "$TMP/ftp.ls" 2>&1 || true
check "the FTP listing names the menu" grep -q "default" "$TMP/ftp.ls"
check_not "... and never a host's own config" grep -q "01-52-54-00-00-00-01" "$TMP/ftp.ls"

# --- one3: the one-shot, its kickstart fetched over FTP
check "one3 is pending" test "$(state_of one3)" = pending
check "a HEAD of one3's kickstart answers 200" test "$(code -I "$u/ks/one3.ks")" = 200
check "... and is no fetch: one3 is still pending" test "$(state_of one3)" = pending
curl -s -o "$TMP/one3.ks" "ftp://127.0.0.1:$fport/ks/one3.ks"
check "the one-shot kickstart came over FTP" grep -q "^%packages" "$TMP/one3.ks"
check "... and names no install-done URL" bash -c "! grep -q install-done '$TMP/one3.ks'"
check "fetching it installed one3 (one-shot)" test "$(state_of one3)" = installed
tget pxelinux.cfg/01-52-54-00-00-00-03 "$TMP/one3.cfg" >/dev/null
check "one3 now boots its disk" grep -q "^default local" "$TMP/one3.cfg"

# --- kill -9, then the next boot
kill -9 "$PXED_PID"; wait "$PXED_PID" 2>/dev/null || true; PXED_PID=
mv "$TMP/pxed.log" "$TMP/pxed.log.1"
start_pxed "$TMP/site.yaml"
tport=$(bound_port tftp) hport=$(bound_port http) fport=$(bound_port ftp)
u=http://127.0.0.1:$hport
check "after kill -9 pxed starts over its old socket file" grep -q "control: listening" "$TMP/pxed.log"
check "n1 is still installed" test "$(state_of n1)" = installed
check "one3 is still installed" test "$(state_of one3)" = installed
tget pxelinux.cfg/01-52-54-00-00-00-01 "$TMP/n1-after.cfg" >/dev/null
check "n1's next boot after the restart is from disk" grep -q "^default local" "$TMP/n1-after.cfg"

# --- the admin's commands
out=$(P reinstall n1 nosuchhost 2>&1) && rc=0 || rc=$?
check "reinstall of a host not in site.yaml exits 1" test "$rc" -eq 1
check "... naming it" grep -q "not in the inventory: nosuchhost; nothing changed" <<<"$out"
check "... and changes nothing, not even n1" test "$(state_of n1)" = installed
check "... and the log names the refusal and who asked" \
  grep -q "control: refused \"reinstall n1 nosuchhost\" from uid $(id -u) pid [0-9]*: not in the inventory" "$TMP/pxed.log"
out=$(P reinstall --all < /dev/null 2>&1) && rc=0 || rc=$?
check "reinstall --all without a terminal or --yes exits 2" test "$rc" -eq 2
out=$(P reinstall 2>&1) && rc=0 || rc=$?
check "reinstall without hosts exits 2" test "$rc" -eq 2
out=$(P reinstall 52-54-00-00-00-01 2>&1)
check "pxed reinstall n1 (by MAC) says what happens" grep -q "will install at its next network boot (generation 2)" <<<"$out"
check "n1 is pending, generation 2" test "$(state_of n1)/$(gen_of n1)" = pending/2
check "the log names who asked" grep -q "installed -> pending (generation 2): reinstall requested, by pxed reinstall (uid $(id -u) pid" "$TMP/pxed.log"
check "the first install's callback no longer counts (403)" test "$(code -X POST "$url")" = 403
tget pxelinux.cfg/01-52-54-00-00-00-01 "$TMP/n1-again.cfg" >/dev/null
check "n1 installs again" grep -q "^default c7" "$TMP/n1-again.cfg"
url2=$(curl -s "$u/ks/n1.ks" | sed -n "s/^url='\(.*\)'$/\1/p")
check "with a new token" test -n "$url2" -a "$url2" != "${url/127.0.0.1:*\/api/127.0.0.1:$hport/api}"

# A reinstall and a callback for the same host at once: one wins, cleanly.
curl -s -o /dev/null -w '%{http_code}' -X POST "$url2" > "$TMP/race.code" &
racer=$!
P reinstall n1 > /dev/null
wait "$racer"
rcode=$(cat "$TMP/race.code")
check "racing callback: 200 (it came first) or 403 (the reinstall did): $rcode" grep -Eq '^(200|403)$' <<<"$rcode"
check "either way n1 ends pending in generation 3" test "$(state_of n1)/$(gen_of n1)" = pending/3

out=$(P mark-installed n1 old2 2>&1)
check "mark-installed n1 old2" test "$(state_of n1)" = installed
check "... says old2 was installed already" grep -q "old2) is installed already" <<<"$out"
check "pxed hosts --json is JSON with every host" \
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and len(d["hosts"]) == 4' < <(P hosts --json)
check "the API shows n1's state" bash -c "curl -s '$u/api/v1/hosts/n1' | grep -q '\"state\": \"installed\"'"
check "and never a token" bash -c "! curl -s '$u/api/v1/hosts' | grep -q token"

# --- reloads: a new host, a removed host keeps its history
write_config "  - {mac: 52:54:00:00:00:04, hostname: new4, profile: c7}"
sed -i '/hostname: old2/d' "$TMP/site.yaml"
kill -HUP "$PXED_PID"
check "reload" wait_for_log "reloaded" 10
check "a host added to site.yaml starts pending" test "$(state_of new4)" = pending
check "a host removed from site.yaml keeps its record" bash -c "'$PXED' hosts --config '$TMP/site.yaml' | grep -q 'old2 .*(not in site.yaml)'"
out=$(P reinstall old2 2>&1) && rc=0 || rc=$?
check "... but is not pxed's to reinstall" test "$rc" -eq 1

# --- the timeout
check "slow5's install failed after its install_timeout (1m)" \
  wait_for_log "lifecycle: 52:54:00:00:00:05 (slow5) installing -> failed (generation 1): not done 1 min after it started" 90
check "... logged at warn" grep -q "^[0-9-]* [0-9:.]* warn.*slow5) installing -> failed" "$TMP/pxed.log"
check "pxed hosts says failed" test "$(state_of slow5)" = failed
tget pxelinux.cfg/01-52-54-00-00-00-05 "$TMP/slow5-again.cfg" >/dev/null
check "on_timeout: install boots the installer again" grep -q "^default c7" "$TMP/slow5-again.cfg"
check "... which makes it installing again" test "$(state_of slow5)" = installing

stop_pxed
finish
