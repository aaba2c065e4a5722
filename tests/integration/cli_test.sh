#!/usr/bin/env bash
# Drives the real pxed binary as an operator would: check, render, run in
# the foreground, reload on SIGHUP (a broken config must not replace the
# working one), stop on SIGTERM.
# Usage: cli_test.sh PXED_BINARY SOURCE_DIR
set -euo pipefail
pxed=$1
src=$2
tmp=$(mktemp -d /tmp/pxed-cli-XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

pass=0 fail=0
ok()   { echo "ok - $*"; pass=$((pass + 1)); }
bad()  { echo "not ok - $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

wait_for_log() {  # pattern timeout-seconds
  local deadline=$((SECONDS + $2))
  until grep -q -- "$1" "$tmp/pxed.log"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

mkdir -p "$tmp/config"
cp "$src/config/demo.yaml" "$tmp/config/site.yaml"
"$src/scripts/make-demo-tree" "$tmp/demo" >/dev/null
cfg=$tmp/config/site.yaml

check "--version names the program" bash -c "'$pxed' --version | grep -q '^pxed [0-9]'"
check "check accepts the demo site" "$pxed" check --config "$cfg"
mkdir -p "$tmp/demo/tftpboot/ks"
echo "rootpw --plaintext hunter2" > "$tmp/demo/tftpboot/ks/old-web1.ks"
check "check warns about a hand-written kickstart left in ks/ (never served: ks/ is pxed's)" \
  bash -c "'$pxed' check --config '$cfg' 2>&1 | grep -q \"warning: 'ks/old-web1.ks' in the TFTP root is never served\""
rm -r "$tmp/demo/tftpboot/ks"

# A broken copy: an error in two places, reported together with positions.
sed -e 's/port: 6969/port: 99999/' -e 's/mac: 52:54:00:00:00:02/mac: 52:54:00:00:00:01/' "$cfg" > "$tmp/broken.yaml"
set +e
"$pxed" check --config "$tmp/broken.yaml" > "$tmp/check.out" 2>&1
rc=$?
set -e
check "check exits 1 on errors" test "$rc" -eq 1
check "check names file:line:column of a bad port" grep -q "broken.yaml:13:31: error: 'port' must be a port number" "$tmp/check.out"
check "check reports the duplicate MAC in the same run" grep -q "MAC 52:54:00:00:00:01 is already used" "$tmp/check.out"

"$pxed" render --config "$cfg" --out "$tmp/out" > /dev/null
check "render --out writes the default menu" grep -q "menu title pxed demo menu" "$tmp/out/pxelinux.cfg/default"
check "render --out writes a per-host pxelinux config" grep -q "default centos7" "$tmp/out/pxelinux.cfg/01-52-54-00-00-00-01"
check "render --out writes a kickstart" grep -q "url --url=\"ftp://127.0.0.1:2121/pub/centos/7/x86_64\"" "$tmp/out/ks/52-54-00-00-00-01.ks"
"$pxed" render --config "$cfg" --show-secrets --out "$tmp/secret-out" > /dev/null
check "render --show-secrets --out writes files only their owner can read (0600)" \
  test "$(stat -c %a "$tmp/secret-out/ks/52-54-00-00-00-01.ks")" = 600
check "... in directories only their owner can enter (0700)" test "$(stat -c %a "$tmp/secret-out/ks")" = 700
check "without --show-secrets the preview keeps the usual modes" \
  test "$(stat -c %a "$tmp/out/ks/52-54-00-00-00-01.ks")" != 600
check "render --mac prints one host's kickstart" bash -c "'$pxed' render --config '$cfg' --mac 52-54-00-00-00-01 --what kickstart | grep -q 'hostname=demo01'"
check "render --mac of an unknown host shows the default" bash -c "'$pxed' render --config '$cfg' --mac 52:54:00:99:99:99 2>/dev/null | grep -q 'menu title'"

# The daemon: foreground, reload, stop.
"$pxed" --config "$cfg" > "$tmp/pxed.log" 2>&1 &
pid=$!
check "daemon starts and says what it serves" wait_for_log "serving .*2 host(s)" 10

cp "$cfg" "$tmp/good.yaml"
sed -i 's/hostname: demo01/hostname: demo_01/' "$cfg"
kill -HUP "$pid"
check "a broken config on SIGHUP is reported with its position" wait_for_log "site.yaml:.*not a valid hostname" 10
check "and the old config stays in force" wait_for_log "reload failed; still serving" 10
check "daemon survives the failed reload" kill -0 "$pid"

cp "$tmp/good.yaml" "$cfg"
cat >> "$cfg" <<'HOST'
  - mac: 52:54:00:00:00:03
    hostname: demo03
    profile: centos7
HOST
kill -HUP "$pid"
check "a good config on SIGHUP is taken" wait_for_log "reloaded .*3 host(s)" 10

kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=
check "SIGTERM stops the daemon with exit 0" test "$rc" -eq 0
check "and it says so" grep -q "received SIGTERM, shutting down" "$tmp/pxed.log"

set +e
"$pxed" --config "$tmp/broken.yaml" > "$tmp/start.log" 2>&1
rc=$?
set -e
check "the daemon refuses to start on a broken config" test "$rc" -eq 1
check "naming the problem" grep -q "must be a port number" "$tmp/start.log"

echo "$pass passed, $fail failed"
((fail == 0))
