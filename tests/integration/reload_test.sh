#!/usr/bin/env bash
# `pxed reload` (the unit's ExecReload) and journald-native logging, against
# the real daemon on 127.0.0.1:
# - reload asks the running daemon over its control socket and waits: exit
#   0 and a one-line summary once a good edit is in force; exit 1 with the
#   errors at file:line:column when the daemon rejects an edit, and the
#   old config keeps serving (curl and tftp-hpa fetch the menu); exit 3
#   when no pxed runs; the daemon logs who asked.
# - stderr is the journal only when $JOURNAL_STREAM names it: then lines
#   start with their sd-daemon(3) priority and carry no timestamp; an
#   inherited variable naming another stream changes nothing.
# Usage: reload_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v curl >/dev/null || skip_all "curl is not installed (scripts/dev deps)"
command -v tftp >/dev/null || skip_all "tftp-hpa is not installed (scripts/dev deps)"

root=$TMP/root
mkdir -p "$root/k"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
printf 'pxelinux' > "$root/pxelinux.0"
site() {  # menu-title [kernel]
  cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  tftp: {port: 0, root: $root}
  http: {port: 0}
  ftp: {enabled: false}
boot: {bios: pxelinux.0}
menu: {title: "$1"}
profiles:
  p: {kernel: ${2:-k/vmlinuz}, initrd: k/initrd.img, append: "console=ttyS0"}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: p}
YAML
}
add_host() { echo "  - {mac: 52:54:00:00:00:02, hostname: n2, profile: p}" >> "$TMP/site.yaml"; }
reload() { "$PXED" reload --config "$TMP/site.yaml" > "$TMP/reload.out" 2> "$TMP/reload.err"; }
menu_over_http() { curl -s -m 10 "http://127.0.0.1:$(bound_port http)/pxelinux.cfg/default"; }
menu_over_tftp() {
  rm -f "$TMP/menu.tftp"
  timeout 20 tftp -m binary 127.0.0.1 "$(bound_port tftp)" -c get pxelinux.cfg/default "$TMP/menu.tftp" >/dev/null 2>&1 || true
  cat "$TMP/menu.tftp" 2>/dev/null || true
}
serves_title() { menu_over_http | grep -q "$1" && menu_over_tftp | grep -q "$1"; }
TS='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} '

site "Menu One"
set +e
reload
rc=$?
set -e
check "reload with no pxed running exits 3 (rc $rc)" test "$rc" -eq 3
check "... and says pxed is not running" grep -q "pxed is not running" "$TMP/reload.err"

# --- run 1: JOURNAL_STREAM inherited, naming another file: not the journal
: > "$TMP/elsewhere"
start_pxed "$TMP/site.yaml" env JOURNAL_STREAM="$(stat -c %d:%i "$TMP/elsewhere")"
check "stderr not the journal: lines start with a timestamp" grep -qE "${TS}info +serving " "$TMP/pxed.log"
check_not "... and carry no priority prefix" grep -q '^<[0-7]>' "$TMP/pxed.log"
check "the first menu is served" serves_title "Menu One"

site "Menu Two"
add_host
set +e
reload
rc=$?
set -e
check "reload of a good edit exits 0 (rc $rc)" test "$rc" -eq 0
check "... and says what changed" grep -q "^reloaded $TMP/site.yaml: hosts +n2$" "$TMP/reload.out"
check "... at once: the new menu is served over HTTP and TFTP" serves_title "Menu Two"
check "the daemon logs who asked for it" grep -qE "reloading $TMP/site.yaml \(control: uid $(id -u) pid [0-9]+\)" "$TMP/pxed.log"

# Broken for the daemon (a kernel that does not exist), though it parses:
# `pxed reload` gets the daemon's verdict.
site "Menu Three" k/missing
add_host
set +e
reload
rc=$?
set -e
check "reload of an edit the daemon rejects exits 1 (rc $rc)" test "$rc" -eq 1
check "... printing the error at file:line:column" grep -qE "^$TMP/site.yaml:[0-9]+:[0-9]+: error: .*k/missing" "$TMP/reload.err"
check "... and that the old config keeps serving" grep -q "reload failed; still serving the configuration loaded before" "$TMP/reload.err"
check_not "... nothing on stdout" test -s "$TMP/reload.out"
check "the old config is still served over HTTP and TFTP" serves_title "Menu Two"
check_not "... not the rejected one" serves_title "Menu Three"
check "pxed is still running" kill -0 "$PXED_PID"

# A template typo (strict variables, docs/templates.md): rejected the same
# way, at the profile's line, and the old config keeps serving.
site "Menu Typo"
sed -i 's/append: "console=ttyS0"/append: "console=ttyS0 inst.ks={{kickstat_url}}"/' "$TMP/site.yaml"
set +e
reload
rc=$?
set -e
check "reload of a template typo exits 1 (rc $rc)" test "$rc" -eq 1
check "... naming the profile's line and the name" \
  grep -qE "^$TMP/site.yaml:[0-9]+(:[0-9]+)?: error: profile 'p' append: \{\{kickstat_url\}\} is not defined" "$TMP/reload.err"
check "the old config still serves" serves_title "Menu Two"
check_not "... not the one with the typo" serves_title "Menu Typo"

# Broken before any daemon could see it (it does not even parse): the
# command says so itself and fails.
printf 'server: [\n' > "$TMP/site.yaml"
set +e
reload
rc=$?
set -e
check "reload of an unparsable file exits 1 (rc $rc)" test "$rc" -eq 1
check "... with the error's position" grep -qE "^$TMP/site.yaml:[0-9]+:[0-9]+: error" "$TMP/reload.err"
check "... and says pxed was not asked" grep -q "pxed was not asked to reload" "$TMP/reload.err"
check "the good config still serves" serves_title "Menu Two"

# SIGHUP keeps working beside it.
site "Menu Four"
before=$(grep -c "reloaded $TMP/site.yaml: " "$TMP/pxed.log" || true)
kill -HUP "$PXED_PID"
deadline=$((SECONDS + 10))
until (($(grep -c "reloaded $TMP/site.yaml: " "$TMP/pxed.log" || true) > before)) || ((SECONDS > deadline)); do sleep 0.1; done
check "SIGHUP still reloads" test "$(grep -c "reloaded $TMP/site.yaml: " "$TMP/pxed.log")" -gt "$before"
deadline=$((SECONDS + 10))
until serves_title "Menu Four" || ((SECONDS > deadline)); do sleep 0.1; done
check "... and the SIGHUP'd menu is served" serves_title "Menu Four"
stop_pxed

# --- run 2: stderr is the stream JOURNAL_STREAM names: the journal
site "Menu Five"
: > "$TMP/pxed.log"
start_pxed "$TMP/site.yaml" env JOURNAL_STREAM="$(stat -c %d:%i "$TMP/pxed.log")"
check "on the journal, info lines start with <6> and no timestamp" grep -qE '^<6>info +serving ' "$TMP/pxed.log"
check_not "... no line carries a timestamp" grep -qE "^(<[0-7]>)?${TS#^}" "$TMP/pxed.log"
check_not "... every line has its priority" grep -qv '^<[0-7]>' "$TMP/pxed.log"
site "Menu Six" k/missing
set +e
reload
set -e
check "a rejected reload logs its errors at <3>" grep -qE '^<3>error +.*k/missing' "$TMP/pxed.log"
check "... and the verdict at <3>" grep -qE '^<3>error +.*reload failed; still serving' "$TMP/pxed.log"
stop_pxed
# As `journalctl -p warning` would select: priorities 0-4 only.
check "journalctl -p warning would select the errors" grep -qE '^<[0-4]>error ' "$TMP/pxed.log"
check_not "... and no info line" grep -qE '^<[0-4]>info ' "$TMP/pxed.log"

finish
