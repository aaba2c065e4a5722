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
  # Emptied here, not by the background job's redirection: that may happen
  # after wait_for_log has read a previous pxed's "serving" line.
  : > "$TMP/pxed.log"
  "$@" "$PXED" --config "$cfg" >> "$TMP/pxed.log" 2>&1 &
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

# netns_up NS...: new network namespaces with lo up and IPv6 off; at the end
# of the test whatever runs in them is killed and they are removed.
netns_up() {
  local ns
  for ns in "$@"; do
    ip netns add "$ns" || skip_all "cannot create network namespaces here"
    on_exit ip netns del "$ns"
    on_exit "ip netns pids $ns 2>/dev/null | xargs -r kill -9"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
}

# netns_bridge L: a bridge br0 in namespace L, for netns_plug.
netns_bridge() { ip -n "$1" link add br0 type bridge && ip -n "$1" link set br0 up; }

# netns_plug L NS [MAC]: a veth eth0 in NS (with that MAC) plugged into L's br0.
netns_plug() {
  ip link add eth0 netns "$2" type veth peer name "p-$2" netns "$1"
  ip -n "$1" link set "p-$2" master br0 up
  [[ -z ${3:-} ]] || ip -n "$2" link set eth0 address "$3"
  ip -n "$2" link set eth0 up
}

# udhcpc_script: $TMP/udhcpc-script for busybox udhcpc. Each event writes
# the lease's variables to $UDH_OUT.<event> (written aside, then renamed:
# tests poll for the file) and puts the address on the interface.
udhcpc_script() {
  cat > "$TMP/udhcpc-script" <<'SH'
#!/bin/sh
env | grep -E '^(ip|siaddr|boot_file|serverid|subnet|router|lease|hostname|interface)=' | sort > "$UDH_OUT.$1.part"
mv "$UDH_OUT.$1.part" "$UDH_OUT.$1"
case $1 in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
SH
  chmod +x "$TMP/udhcpc-script"
}

# netns_lease NS NAME: one DHCP exchange by busybox udhcpc on NS's eth0;
# prints the leased address ("" without one). The record: $TMP/udh-NAME.bound.
netns_lease() {
  [[ -x $TMP/udhcpc-script ]] || udhcpc_script
  ip netns exec "$1" env UDH_OUT="$TMP/udh-$2" timeout 30 busybox udhcpc -n -q -f -i eth0 \
    -s "$TMP/udhcpc-script" -t 5 -T 2 > "$TMP/udhcpc-$2.out" 2>&1 || true
  sed -n 's/^ip=//p' "$TMP/udh-$2.bound" 2>/dev/null || true
}

# Clients run from inside a namespace against pxed at $SRV.
# http NS curl-args...: prints the status; the body is in $TMP/body.
http() {
  ip netns exec "$1" curl -s --path-as-is -m 10 -o "$TMP/body" -w '%{http_code}' "${@:2}" || true
}
# tget NS REMOTE LOCAL: tftp-hpa, binary; prints what tftp said.
tget() {
  rm -f "$3"
  ip netns exec "$1" timeout 20 tftp -m binary "$SRV" -c get "$2" "$3" 2>&1 || true
}
# ftp_get NS PATH LOCAL: curl over FTP; prints the server's final reply line.
ftp_get() {
  rm -f "$3"
  ip netns exec "$1" curl -s -v -m 15 -o "$3" "ftp://$SRV/$2" 2>&1 | tr -d '\r' | sed -n 's/^< //p' | tail -n 1 || true
}
# token_in FILE: the install token in the first kickstart URL of a boot config.
token_in() { sed -n 's/.*\.ks?token=\([0-9a-f]*\).*/\1/p' "$1" | head -n 1; }

# A dhclient-script of the test's own (namespaces share /etc: the stock
# script would rewrite the machine's resolv.conf). It records each event's
# variables in OUT.<reason> and sets or clears the address. dhclient runs
# it with a clean environment, so OUT is written into it.
write_dhclient_script() {  # FILE OUT
  printf '#!/bin/sh\nOUT=%s\n' "$2" > "$1"
  cat >> "$1" <<'SH'
env | grep -E '^(reason|new_|interface)' | sort > "$OUT.$reason"
case $reason in
  BOUND|RENEW|REBIND|REBOOT)
    ip addr flush dev "$interface"
    ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  RELEASE|EXPIRE|STOP) ip addr flush dev "$interface" ;;
esac
SH
  chmod +x "$1"
}
