# Shared by the integration tests: TAP-style checks, a temporary directory,
# starting pxed and finding the ports it bound. Source it; set PXED first.
set -euo pipefail

PASS=0
FAIL=0
TMP=$(mktemp -d /tmp/pxed-it-XXXXXX)
PXED_PID=
CLEANUPS=()

ok()  { echo "ok - $*"; PASS=$((PASS + 1)); }
bad() { echo "not ok - $*"; FAIL=$((FAIL + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
check_not() { local what=$1; shift; if "$@"; then bad "$what"; else ok "$what"; fi; }

on_exit() { CLEANUPS+=("$*"); }
_cleanup() {
  local i
  [[ -n $PXED_PID ]] && kill -9 "$PXED_PID" 2>/dev/null || true
  for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[i]}" || true; done
  if ((FAIL)) && [[ -f $TMP/pxed.log ]]; then
    echo "--- pxed log (last 40 lines) ---"
    tail -n 40 "$TMP/pxed.log"
  fi
  rm -rf "$TMP"
}
trap _cleanup EXIT

finish() {
  echo "$PASS passed, $FAIL failed"
  ((FAIL == 0))
}

# A test that cannot run here says so and exits 77, which ctest shows as
# Skipped (SKIP_RETURN_CODE), never Passed; in CI, where everything can
# run, scripts/dev fails the run on any skip.
skip_all() {  # reason
  echo "SKIP: $*"
  exit 77
}

wait_for_log() {  # pattern timeout-seconds [file]
  local file=${3:-$TMP/pxed.log} deadline=$((SECONDS + $2))
  until grep -q -- "$1" "$file" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# start_pxed CONFIG [COMMAND PREFIX...]: runs pxed in the background, logging
# to $TMP/pxed.log, and waits for it to say it is serving.
start_pxed() {
  local cfg=$1
  shift
  "$@" "$PXED" --config "$cfg" > "$TMP/pxed.log" 2>&1 &
  PXED_PID=$!
  if ! wait_for_log "serving " 15; then
    echo "pxed did not start:"
    cat "$TMP/pxed.log"
    exit 1
  fi
}

stop_pxed() {
  [[ -n $PXED_PID ]] || return 0
  kill -TERM "$PXED_PID" 2>/dev/null || true
  wait "$PXED_PID" 2>/dev/null || true
  PXED_PID=
}

# The port a service bound, from its "listening on ADDR:PORT" line.
bound_port() {  # service
  # Anchored at a word start: "ftp" must not find the "tftp: listening" line.
  sed -n "s/.*\(^\|[^a-z]\)$1: listening on [0-9.]*:\([0-9]*\).*/\2/p" "$TMP/pxed.log" | head -n 1
}

same_file() { cmp -s "$1" "$2"; }
