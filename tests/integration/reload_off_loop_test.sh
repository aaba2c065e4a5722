#!/usr/bin/env bash
# A reload of a large site is prepared off the event loop (docs/site-yaml.md,
# "Large inventories"), against the real daemon on 127.0.0.1 with curl:
# - while a SIGHUP'd reload of 30,000 hosts is being prepared, HTTP requests
#   are answered, by the old site; then by the new one, never the old again;
# - a reload that fails (a duplicate MAC at the end of the hosts) keeps the
#   old site serving, during and after, and the log says why;
# - `pxed reload` waits for the verdict of a reload run on the worker.
# Usage: reload_off_loop_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v curl >/dev/null || skip_all "curl is not installed (scripts/dev deps)"
command -v python3 >/dev/null || skip_all "python3 is not installed"

N=30000
root=$TMP/root
mkdir -p "$root/k"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
printf 'pxelinux' > "$root/pxelinux.0"
site() {  # menu-title [extra host line]
  python3 - "$TMP/site.yaml" "$1" "$N" "$TMP" "$root" "${2:-}" <<'PY'
import sys
out, title, n, tmp, root, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
with open(out, "w") as f:
    f.write(f"""server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: {tmp}/state
  dhcp: {{enabled: false}}
  tftp: {{port: 0, root: {root}}}
  http: {{port: 0}}
  ftp: {{enabled: false}}
subnets:
  - {{network: 10.0.0.0/8}}
boot: {{bios: pxelinux.0}}
menu: {{title: "{title}"}}
profiles:
  p: {{kernel: k/vmlinuz, initrd: k/initrd.img, append: "console=ttyS0{{{{#hostname}}}} host={{{{hostname}}}}{{{{/hostname}}}}"}}
hosts:
""")
    for a in range(1, n + 1):
        f.write(f"  - {{mac: 52:54:00:{a >> 16 & 255:02x}:{a >> 8 & 255:02x}:{a & 255:02x}, "
                f"hostname: n{a}, ip: 10.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}, profile: p}}\n")
    if extra:
        f.write(extra + "\n")
PY
}
menu() { curl -s -m 10 "http://127.0.0.1:$(bound_port http)/pxelinux.cfg/default" | sed -n 's/^menu title //p'; }

# menu_during_reload OLD NEW: sends SIGHUP and fetches the menu until the
# reload's verdict is in the log; writes one line per answer to
# $TMP/answers ("during" while the log shows the reload under way).
menu_during_reload() {
  local start t phase
  start=$(wc -l < "$TMP/pxed.log")
  since() { tail -n +"$((start + 1))" "$TMP/pxed.log"; }
  : > "$TMP/answers"
  kill -HUP "$PXED_PID"
  local deadline=$((SECONDS + 240))
  while ((SECONDS < deadline)); do
    phase=before
    since | grep -q "reloading .*SIGHUP" && phase=during
    since | grep -qE "reloaded |reload failed" && phase=after
    t=$(menu) || t=
    echo "$phase ${t:-NO-ANSWER}" >> "$TMP/answers"
    [[ $phase == after ]] && break
  done
  for _ in 1 2 3; do echo "after $(menu || echo NO-ANSWER)" >> "$TMP/answers"; done
}

site "Menu Old"
# start_pxed's 15 s are for small sites; a busy machine needs longer here.
: > "$TMP/pxed.log"
"$PXED" --config "$TMP/site.yaml" >> "$TMP/pxed.log" 2>&1 &
PXED_PID=$!
wait_for_log "serving " 180 || { echo "pxed did not start:"; tail -n 20 "$TMP/pxed.log"; exit 1; }
check "the big site serves its menu" test "$(menu)" = "Menu Old"

site "Menu New"
menu_during_reload
check "every request during the reload was answered" bash -c "! grep -q NO-ANSWER '$TMP/answers'"
check "requests while the reload was prepared got the old site ($(grep -c '^during Menu Old' "$TMP/answers") of them)" \
  grep -q "^during Menu Old" "$TMP/answers"
check "after the swap, the new site" test "$(tail -n 1 "$TMP/answers")" = "after Menu New"
check "... and never the old one again once the new one was seen" \
  bash -c "awk '{t=\$2\" \"\$3} t==\"Menu New\"{seen=1} seen && t==\"Menu Old\"{bad=1} END{exit bad}' '$TMP/answers'"

# A failing reload: the last host repeats the first one's MAC.
site "Menu Broken" "  - {mac: 52:54:00:00:00:01, hostname: again, profile: p}"
menu_during_reload
check "a failing reload is logged with its reason" grep -qE "error: .*52:54:00:00:00:01" "$TMP/pxed.log"
check "... and the verdict: still serving the old configuration" grep -q "reload failed; still serving the configuration loaded before" "$TMP/pxed.log"
check "every request around it was answered" bash -c "! grep -q NO-ANSWER '$TMP/answers'"
check_not "... never by the broken site" grep -q "Menu Broken" "$TMP/answers"
check "... the old site still serves" test "$(menu)" = "Menu New"

# `pxed reload` gets the worker's verdict over the control socket.
site "Menu Control"
set +e
"$PXED" reload --config "$TMP/site.yaml" > "$TMP/reload.out" 2> "$TMP/reload.err"
rc=$?
set -e
check "pxed reload waits for the verdict and exits 0 (rc $rc)" test "$rc" -eq 0
check "... and the new menu is served once it returns" test "$(menu)" = "Menu Control"
check "pxed is still running" kill -0 "$PXED_PID"
stop_pxed
finish
