#!/usr/bin/env bash
# The sd_notify readiness protocol against a stand-in for systemd: a python
# datagram socket as NOTIFY_SOCKET. READY=1 must come only once every port
# answers (the listener probes them the moment READY=1 arrives), RELOADING=1
# then READY=1 around a SIGHUP reload and a `pxed reload`, STOPPING=1 at SIGTERM; both a socket
# path and an abstract @name. Usage: sd_notify_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed (scripts/dev deps)"

root=$TMP/root
mkdir -p "$root/k"
printf 'probe\n' > "$root/probe.txt"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
# Demo-like: loopback, every service but DHCP, any free port.
cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  tftp: {port: 0, root: $root}
  http: {port: 0}
  ftp: {port: 0, passive_ports: 30000-30100}
boot: {bios: probe.txt}
profiles:
  p: {kernel: k/vmlinuz, initrd: k/initrd.img, append: "console=ttyS0"}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: p}
YAML

LISTENER_PID=
stop_listener() {
  [[ -n $LISTENER_PID ]] && kill "$LISTENER_PID" 2>/dev/null && wait "$LISTENER_PID" 2>/dev/null || true
  LISTENER_PID=
  return 0
}
on_exit stop_listener

start_listener() {  # socket-name out-file
  rm -f "$2"
  python3 "$SRC/tests/integration/notify_listener.py" "$1" "$2" "$TMP/pxed.log" probe.txt &
  LISTENER_PID=$!
  wait_for_log LISTENING 10 "$2"
}

wait_for_count() {  # pattern count timeout-seconds file
  local deadline=$((SECONDS + $3))
  until (($(grep -c -- "$1" "$4" 2>/dev/null || true) >= $2)); do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}
# Line number of the first message matching a pattern (0 if none).
first_at() { grep -n -- "$2" "$1" | head -n 1 | cut -d: -f1 | grep . || echo 0; }

# --- a socket path
out=$TMP/notify-path.out
start_listener "$TMP/notify" "$out"
start_pxed "$TMP/site.yaml" env NOTIFY_SOCKET=$TMP/notify
check "READY=1 arrives" wait_for_log "^MSG .*READY=1" 10 "$out"
wait_for_log "^PROBE" 10 "$out" || true
check "READY=1 comes with a STATUS= line naming what is served" grep -q "^MSG READY=1|STATUS=serving 1 host(s)" "$out"
sed -n "s/^PROBE /# probed at READY=1: /p" "$out"
check "when READY=1 arrived, the TFTP port already served a file" grep -q "^PROBE ok tftp" "$out"
check_not "no port failed to answer at READY=1" grep -q "^PROBE \(fail\|none\)" "$out"
check "tftp-hpa agrees: the port serves" bash -c "tftp 127.0.0.1 $(bound_port tftp) -c get probe.txt /dev/stdout 2>/dev/null | grep -q probe"

kill -HUP "$PXED_PID"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" wait_for_log "^MSG RELOADING=1|MONOTONIC_USEC=[0-9][0-9]*|STATUS=reloading" 10 "$out"
check "SIGHUP: READY=1 again after the reload" wait_for_count "^MSG READY=1" 2 10 "$out"
check "the reload itself happened" wait_for_log "reloaded " 5
ready_lines=$(grep -c "^MSG READY=1" "$out")
check "two READY=1 in all (start, reload), got $ready_lines" test "$ready_lines" -eq 2
reloading=$(first_at "$out" "^MSG RELOADING=1")
second_ready=$(grep -n "^MSG READY=1" "$out" | sed -n 2p | cut -d: -f1)
check "RELOADING=1 comes before the second READY=1" test "$reloading" -gt 0 -a "${second_ready:-0}" -gt "$reloading"

# `pxed reload` (ExecReload): the same RELOADING=1 then READY=1, both sent
# before the command gets its answer, so systemd has the service ready
# again when ExecReload exits; a rejected config says so in STATUS=.
check "pxed reload of the same config exits 0" "$PXED" reload --config "$TMP/site.yaml"
check "pxed reload: RELOADING=1 and a third READY=1" wait_for_count "^MSG RELOADING=1" 2 5 "$out"
check "... READY=1 follows" wait_for_count "^MSG READY=1" 3 5 "$out"
cp "$TMP/site.yaml" "$TMP/site.good"
sed -i 's#kernel: k/vmlinuz#kernel: k/missing#' "$TMP/site.yaml"
check_not "pxed reload of a config with a missing kernel fails" "$PXED" reload --config "$TMP/site.yaml"
check "... and READY=1 comes back, STATUS= saying the reload was rejected" \
  wait_for_log "^MSG READY=1|STATUS=serving 1 host(s).*(last reload rejected: .*error(s)" 5 "$out"
cp "$TMP/site.good" "$TMP/site.yaml"

kill -TERM "$PXED_PID"
wait "$PXED_PID" 2>/dev/null
rc=$?
PXED_PID=
check "SIGTERM: exits 0" test "$rc" -eq 0
check "SIGTERM: STOPPING=1 was sent" grep -q "^MSG STOPPING=1" "$out"
check_not "no notification failure logged" grep -q "systemd notification failed" "$TMP/pxed.log"
stop_listener

# --- an abstract name, as systemd uses inside containers
out=$TMP/notify-abstract.out
name="@pxed-test-notify-$$"
start_listener "$name" "$out"
start_pxed "$TMP/site.yaml" env NOTIFY_SOCKET=$name
check "abstract socket: READY=1 arrives" wait_for_log "^MSG READY=1" 10 "$out"
wait_for_log "^PROBE" 10 "$out" || true
check "abstract socket: the TFTP port answered at READY=1" grep -q "^PROBE ok tftp" "$out"
stop_pxed
stop_listener

# --- a NOTIFY_SOCKET nobody listens on: pxed says so and keeps serving
start_pxed "$TMP/site.yaml" env NOTIFY_SOCKET=$TMP/nobody-listens
check "an absent notification socket is logged" wait_for_log "systemd notification failed: cannot connect to NOTIFY_SOCKET" 5
check "and pxed serves all the same" bash -c "tftp 127.0.0.1 $(bound_port tftp) -c get probe.txt /dev/stdout 2>/dev/null | grep -q probe"
stop_pxed

# --- without NOTIFY_SOCKET (a foreground run): nothing about systemd at all
start_pxed "$TMP/site.yaml" env -u NOTIFY_SOCKET
check_not "no NOTIFY_SOCKET, no notification noise" grep -q "notification" "$TMP/pxed.log"
stop_pxed

finish
