#!/usr/bin/env bash
# Root binds TFTP's port 69 and DHCP's 67 and opens the lease database, then
# pxed drops to server.user before it reads a packet. Inside network
# namespaces this test creates (so nothing clashes): pxed started as root
# with server.user: nobody must end with every uid and gid nobody's, nobody's
# groups, no capabilities (/proc/PID/status), its state directory and the
# database root created handed over, READY=1 sent, port 69 still serving, and
# a DHCP lease (udhcpc) written to the database as nobody. Also: a missing user and a drop that cannot happen
# are fatal; a non-root start with server.user set warns and serves.
# Usage: privileges_test.sh PXED SOURCE_DIR [WRAPPER...]
#   WRAPPER runs pxed (the RPM test passes kernel_3_10.py to run it on a 3.10 syscall table).
PXED=$1
SRC=$2
shift 2
WRAP=("$@")
source "$SRC/tests/integration/lib.sh"

[[ $(id -u) -eq 0 ]] || skip_all "needs root to bind port 69 and to drop privileges"
for c in ip tftp python3 setpriv busybox; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done
id nobody >/dev/null 2>&1 || skip_all "no 'nobody' user on this machine"

ns=pxed-priv-$$
ns_c=pxed-privc-$$
ip netns add "$ns" || skip_all "cannot create network namespaces here"
on_exit ip netns del "$ns"
ip netns add "$ns_c"
on_exit ip netns del "$ns_c"
on_exit "ip netns pids $ns_c 2>/dev/null | xargs -r kill -9"
ip -n "$ns" link set lo up
ip link add eth0 netns "$ns" type veth peer name eth0 netns "$ns_c"
ip -n "$ns" addr add 192.0.2.1/24 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns_c" link set eth0 up

# nobody must be able to read what it serves and its config (for SIGHUP).
chmod 755 "$TMP"
root=$TMP/root
mkdir -p "$root/k" "$TMP/state"
printf 'served after the drop\n' > "$root/small.txt"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
: > "$TMP/state/hosts.sqlite3"   # an (empty) database left by an earlier run as root
chmod 600 "$TMP/state/hosts.sqlite3"
chmod 700 "$TMP/state"

site() {  # user tftp-port state_dir dhcp-enabled
  cat <<YAML
server:
  address: 192.0.2.1
  listen: 127.0.0.1
  state_dir: $3
  user: "$1"
  dhcp: {enabled: ${4:-false}}
  http: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: $2, root: $root}
boot: {bios: small.txt}
profiles:
  p: {kernel: k/vmlinuz, initrd: k/initrd.img, append: "console=ttyS0"}
subnets:
  - {network: 192.0.2.0/24, ranges: [192.0.2.100-192.0.2.110]}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: p}
YAML
}
site nobody 69 "$TMP/state" true > "$TMP/site.yaml"

# systemd's end of sd_notify, bound by root with the default mode: nobody
# could not connect to it, so READY=1 arriving proves pxed connected before the drop.
# In the namespace too, so that its probe reaches port 69 there.
LISTENER_PID=
ip netns exec "$ns" python3 "$SRC/tests/integration/notify_listener.py" "$TMP/notify" "$TMP/notify.out" "$TMP/pxed.log" small.txt &
LISTENER_PID=$!
on_exit "kill $LISTENER_PID"
wait_for_log LISTENING 10 "$TMP/notify.out"

start_pxed "$TMP/site.yaml" ip netns exec "$ns" env NOTIFY_SOCKET="$TMP/notify" "${WRAP[@]}"
check "the pid is pxed itself" test "$(cat /proc/$PXED_PID/comm)" = pxed
check "pxed logs the drop" wait_for_log "dropped root: running as nobody (uid $(id -u nobody), gid $(id -g nobody)" 5
check_not "the drop left no warning" grep -q "^[0-9-]* [0-9:.]* warn" "$TMP/pxed.log"

status=/proc/$PXED_PID/status
field() { sed -n "s/^$1:[[:space:]]*//p" "$status" | tr -s '[:space:]' ' ' | sed 's/ $//'; }
u=$(id -u nobody) g=$(id -g nobody)
check "Uid: real, effective, saved, fs all nobody's ($(field Uid))" test "$(field Uid)" = "$u $u $u $u"
check "Gid: all nobody's group ($(field Gid))" test "$(field Gid)" = "$g $g $g $g"
want_groups=$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
got_groups=$(field Groups | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
check "Groups: nobody's own ($got_groups), root's are gone" test "$got_groups" = "$want_groups"
if ((${#WRAP[@]})); then
  check "pxed runs under the wrapper's seccomp filter (Seccomp: $(field Seccomp))" test "$(field Seccomp)" = 2
fi
for cap in CapEff CapPrm CapInh CapAmb; do
  v=$(field $cap)
  [[ -z $v && $cap == CapAmb ]] && v=0   # no CapAmb line before Linux 4.3
  check "$cap is zero ($v)" test "$((16#$v))" -eq 0
done

check "READY=1 reached systemd's socket after the drop" wait_for_log "^MSG READY=1" 10 "$TMP/notify.out"
wait_for_log "^PROBE" 10 "$TMP/notify.out" || true
check "at READY=1, port 69 already served a file" grep -q "^PROBE ok tftp 127.0.0.1:69" "$TMP/notify.out"

nsx() { ip netns exec "$ns" "$@"; }
nsx tftp 127.0.0.1 69 -c get small.txt "$TMP/got.txt" >/dev/null 2>&1 || true
check "tftp-hpa gets a file from port 69 after the drop" same_file "$root/small.txt" "$TMP/got.txt"
check "TFTP serves a rendered menu too" bash -c "ip netns exec $ns tftp 127.0.0.1 69 -c get pxelinux.cfg/default /dev/stdout 2>/dev/null | grep -qi label"
check "the state directory now belongs to nobody" test "$(stat -c %u:%g "$TMP/state")" = "$u:$g"
check "and so does the database root left in it" test "$(stat -c %u:%g "$TMP/state/hosts.sqlite3")" = "$u:$g"
db=$TMP/state/leases.sqlite3
check "the lease database root opened before the drop belongs to nobody" test "$(stat -c %u:%g "$db" 2>/dev/null)" = "$u:$g"
check "so does the host database" test "$(stat -c %u:%g "$TMP/state/hosts.sqlite3" 2>/dev/null)" = "$u:$g"
check "the control socket is root's and nobody's group's, mode 0660" \
  test "$(stat -c %u:%g:%a "$TMP/state/control.sock" 2>/dev/null)" = "0:$g:660"
check "root's pxed hosts reaches the daemon that runs as nobody" bash -c "'$PXED' hosts --config '$TMP/site.yaml' > /dev/null"
ip netns exec "$ns_c" busybox udhcpc -i eth0 -n -q -f -t 5 -T 1 -s /bin/true > "$TMP/udhcpc.out" 2>&1 || true
check "DHCP on port 67 after the drop: udhcpc gets a lease" grep -q "lease of 192.0.2.1[01][0-9] obtained" "$TMP/udhcpc.out"
leases=$(python3 - "$db" <<'PY' 2>&1 || true
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("select count(*) from leases").fetchone()[0])
PY
)
check "the lease was written to the database by nobody ($leases lease(s))" test "${leases:-0}" -ge 1 2>/dev/null
check_not "no database write error logged" grep -qi "readonly\|read-only\|cannot write\|sqlite.*error" "$TMP/pxed.log"
check "the served files stay root's" test "$(stat -c %u "$root/small.txt")" = 0

kill -HUP "$PXED_PID"
check "SIGHUP reload works as nobody" wait_for_log "reloaded " 10
nsx tftp 127.0.0.1 69 -c get small.txt "$TMP/got2.txt" >/dev/null 2>&1 || true
check "and port 69 still serves after it" same_file "$root/small.txt" "$TMP/got2.txt"
stop_pxed

# --- a user that does not exist: refuse to start, never serve as root
site no-such-user-pxed 69 "$TMP/state" > "$TMP/missing.yaml"
set +e
ip netns exec "$ns" "${WRAP[@]}" "$PXED" --config "$TMP/missing.yaml" > "$TMP/missing.log" 2>&1
rc=$?
set -e
check "missing server.user: exit 1 (got $rc)" test "$rc" -eq 1
check "missing server.user: says why" grep -q "server.user 'no-such-user-pxed': no user 'no-such-user-pxed' in /etc/passwd" "$TMP/missing.log"

# --- root without CAP_SETUID (a bounding set that forgot it): the drop fails, pxed stops
set +e
ip netns exec "$ns" setpriv --bounding-set=-setuid "${WRAP[@]}" "$PXED" --config "$TMP/site.yaml" > "$TMP/nocap.log" 2>&1
rc=$?
set -e
check "drop impossible: exit 1 rather than serving as root (got $rc)" test "$rc" -eq 1
check "drop impossible: setresuid named" grep -q "setresuid: Operation not permitted" "$TMP/nocap.log"

# --- a state directory or log file that is not what pxed left: refused
# before anything is opened as root, nothing followed, nothing chowned.
refused() {  # what config pattern
  set +e
  ip netns exec "$ns" timeout 20 "${WRAP[@]}" "$PXED" --config "$2" > "$TMP/refused.log" 2>&1
  local rc=$?
  set -e
  check "$1: exit 1 (got $rc)" test "$rc" -eq 1
  check "$1: says why" grep -q "$3" "$TMP/refused.log"
  grep -q "$3" "$TMP/refused.log" || sed "s/^/# /" "$TMP/refused.log"
}
mkdir -m 755 "$TMP/roots"
ln -s "$TMP/roots" "$TMP/state-link"
site nobody 0 "$TMP/state-link" > "$TMP/link.yaml"
refused "state_dir is a symlink" "$TMP/link.yaml" "state directory $TMP/state-link is a symbolic link"
check "the directory it points to stays root's" test "$(stat -c %u "$TMP/roots")" = 0
check "and nothing was created in it" test -z "$(ls -A "$TMP/roots")"

mkdir -m 700 "$TMP/state-hl"
chown nobody "$TMP/state-hl"
printf 'root only\n' > "$TMP/root-file"
ln "$TMP/root-file" "$TMP/state-hl/hosts.sqlite3"
site nobody 0 "$TMP/state-hl" > "$TMP/hl.yaml"
refused "a hard-linked hosts.sqlite3" "$TMP/hl.yaml" "hosts.sqlite3 has 2 links"
check "the other link stays root's" test "$(stat -c %u:%g "$TMP/root-file")" = 0:0
check "and unchanged" grep -qx "root only" "$TMP/root-file"

mkdir -m 700 "$TMP/state-other"
chown 4242:4242 "$TMP/state-other"
site nobody 0 "$TMP/state-other" > "$TMP/other.yaml"
refused "state_dir owned by another user" "$TMP/other.yaml" "state directory $TMP/state-other belongs to uid 4242, not uid $u"
check "its owner is left as it was" test "$(stat -c %u "$TMP/state-other")" = 4242

printf 'keep me\n' > "$TMP/log-target"
ln -s "$TMP/log-target" "$TMP/state/pxed.log"
site nobody 0 "$TMP/state" | sed "s#^  user: .*#&\n  log: {file: $TMP/state/pxed.log}#" > "$TMP/log.yaml"
refused "log file is a symlink" "$TMP/log.yaml" "$TMP/state/pxed.log is a symbolic link"
check "the link's target is untouched" test "$(cat "$TMP/log-target")" = "keep me"
check "and still root's" test "$(stat -c %u "$TMP/log-target")" = 0

# root's `pxed hosts` does not follow a link left in the control socket's place.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)' "$TMP/elsewhere.sock" &
sleep 0.2
ln -sf "$TMP/elsewhere.sock" "$TMP/state/control.sock"
set +e
"$PXED" hosts --config "$TMP/site.yaml" > "$TMP/hosts.out" 2>&1
rc=$?
set -e
check "pxed hosts refuses a symlinked control socket (exit $rc)" test "$rc" -eq 1
check "and says why" grep -q "control.sock is a symbolic link" "$TMP/hosts.out"
rm -f "$TMP/state/control.sock"

# --- not root, server.user set: a warning, then it serves as the current user
mkdir -p "$TMP/state-nobody"
chown nobody "$TMP/state-nobody"
site pxed 0 "$TMP/state-nobody" > "$TMP/unpriv.yaml"
start_pxed "$TMP/unpriv.yaml" setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "${WRAP[@]}"
check "not root: warns that it cannot switch users" grep -q "warn.*server.user is 'pxed' but pxed is not root (uid $u): cannot switch users, continuing as the current one" "$TMP/pxed.log"
port=$(bound_port tftp)
tftp 127.0.0.1 "$port" -c get small.txt "$TMP/got3.txt" >/dev/null 2>&1 || true
check "not root: serves all the same" same_file "$root/small.txt" "$TMP/got3.txt"
stop_pxed

finish
