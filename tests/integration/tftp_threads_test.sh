#!/usr/bin/env bash
# TFTP data threads (server.tftp.data_threads, docs/tftp.md "Data threads")
# through a reload and a shutdown, with 50 transfers running on the loop's
# shard and on three data threads: a reload that changes the root, the
# data threads and the log level (which replaces the logger the data
# threads log through) serves new requests from the new root at once,
# says the data threads change at the next restart, and leaves the running
# transfers running; SIGTERM then ends all 50, each with ERROR to its
# client and its line in the log, and pxed exits 0 well within systemd's
# stop timeout (TimeoutStopSec=30s). Strangers poke the transfers' ports
# all along (answered ERROR 5; their debug lines go from the data threads to the loop).
# Usage: tftp_threads_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in tftp python3; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done
unset PXED_TFTP_DATA_THREADS  # the key in site.yaml is what this test is about

transfers=50
root=$TMP/root
root2=$TMP/root2
mkdir -p "$root" "$root2" "$TMP/get"
# 8192 blocks of 512 bytes: at one ACK per 50 ms a client needs minutes.
head -c $((4 << 20)) /dev/urandom > "$root/slow.img"
printf 'old\n' > "$root/only-old.txt"
printf 'new\n' > "$root2/only-new.txt"
for r in "$root" "$root2"; do
  mkdir -p "$r/k"
  printf 'pxelinux' > "$r/pxelinux.0"
  printf 'kernel' > "$r/k/vmlinuz"
  printf 'initrd' > "$r/k/initrd.img"
done

site() {  # ROOT DATA_THREADS LOG_LEVEL
  cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  log: {level: $3}
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: 0, root: $1, data_threads: $2, max_transfers_per_client: 512}
boot: {bios: pxelinux.0}
profiles:
  p: {kernel: k/vmlinuz, initrd: k/initrd.img, append: "console=ttyS0"}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: p}
YAML
}
site "$root" 3 info
start_pxed "$TMP/site.yaml"
port=$(bound_port tftp)
check "the transfers run on 3 data threads" grep -q "transfer data path: .*; on 3 data threads" "$TMP/pxed.log"

# $transfers slow lock-step clients (one ACK per 50 ms each), and a
# stranger sending ACKs to their ports. Writes "running" once every client
# has its first block, and at the end how many got ERROR "server shutting
# down", how many went on receiving after $TMP/mark appeared, and what the
# stranger got.
python3 - "$port" "$transfers" "$TMP/clients.out" "$TMP/mark" > "$TMP/clients.log" 2>&1 <<'PY' &
import os, select, socket, sys, time
port, n, out, mark = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
server = ("127.0.0.1", port)
def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s
clients = [{"s": sock(), "block": 0, "got": 0, "tid": None, "error": None} for _ in range(n)]
for c in clients:
    c["s"].sendto(b"\0\1slow.img\0octet\0", server)
by_fd = {c["s"].fileno(): c for c in clients}
stranger = sock()
stranger_errors = 0
running = False
at_mark = None
deadline = time.time() + 600
def report(text):
    with open(out, "a") as f:
        f.write(text + "\n")
while time.time() < deadline and any(c["error"] is None for c in clients):
    ready, _, _ = select.select([c["s"] for c in clients if c["error"] is None] + [stranger], [], [], 0.5)
    for s in ready:
        while True:
            try:
                data, peer = s.recvfrom(2048)
            except BlockingIOError:
                break
            if s is stranger:
                stranger_errors += data[:4] == b"\0\5\0\5"
                continue
            c = by_fd[s.fileno()]
            if data[:2] == b"\0\3":
                c["tid"] = peer
                if int.from_bytes(data[2:4], "big") == (c["block"] + 1) & 0xFFFF:
                    c["block"] = (c["block"] + 1) & 0xFFFF
                    c["got"] += 1
            elif data[:2] == b"\0\5":
                c["error"] = data[4:].split(b"\0")[0].decode(errors="replace")
    time.sleep(0.05)
    for c in clients:
        if c["error"] is None and c["tid"]:
            c["s"].sendto(b"\0\4" + c["block"].to_bytes(2, "big"), c["tid"])
    for c in clients[::7]:
        if c["tid"]:
            stranger.sendto(b"\0\4\0\1", c["tid"])
    if not running and all(c["got"] > 0 for c in clients):
        running = True
        report("running")
    if at_mark is None and os.path.exists(mark):
        at_mark = [c["got"] for c in clients]
advanced = sum(1 for c, m in zip(clients, at_mark or []) if c["got"] > m)
shut = sum(1 for c in clients if c["error"] == "server shutting down")
report("advanced %d shutting_down %d stranger_errors %d" % (advanced, shut, stranger_errors))
PY
clients_pid=$!
on_exit "kill $clients_pid 2>/dev/null"
check "all $transfers transfers are running" wait_for_log running 120 "$TMP/clients.out"

# The reload: a new root, 2 data threads instead of 3, debug logging.
site "$root2" 2 debug
kill -HUP "$PXED_PID"
reloads() { grep -c "reloaded $TMP/site.yaml" "$TMP/pxed.log" || true; }
wait_for_reloads() {  # count
  local deadline=$((SECONDS + 60))
  until (($(reloads) >= $1)); do ((SECONDS < deadline)) || return 1; sleep 0.1; done
}
check "the reload is applied" wait_for_reloads 1
check "the log says a data_threads change waits for a restart" \
  grep -q "reload: .*data_threads take effect after a restart" "$TMP/pxed.log"
tftp 127.0.0.1 "$port" -m octet -c get only-new.txt "$TMP/get/new" >/dev/null 2>&1 || true
check "a request after the reload is served from the new root" grep -q new "$TMP/get/new"
tftp 127.0.0.1 "$port" -m octet -c get only-old.txt "$TMP/get/old" >/dev/null 2>&1 || true
check_not "and the old root is gone" grep -q old "$TMP/get/old"
touch "$TMP/mark"
check "strangers on the transfers' ports are logged at debug (through the loop)" wait_for_log "answered unknown TID" 30
sleep 2
# Back to info while strangers keep the data threads posting their debug lines.
site "$root2" 2 info
kill -HUP "$PXED_PID"
check "the second reload is applied" wait_for_reloads 2
sleep 1

# SIGTERM with all of them running.
start=$SECONDS
kill -TERM "$PXED_PID"
status=0
for _ in $(seq 1 300); do kill -0 "$PXED_PID" 2>/dev/null || break; sleep 0.1; done
took=$((SECONDS - start))
if kill -0 "$PXED_PID" 2>/dev/null; then
  bad "pxed exits within 30 s of SIGTERM (systemd's TimeoutStopSec)"
  kill -9 "$PXED_PID"
fi
wait "$PXED_PID" || status=$?
PXED_PID=
check "pxed exits 0 after SIGTERM (status $status, in ${took} s)" test "$status" -eq 0
check "and says it stopped" grep -q "stopped" "$TMP/pxed.log"
aborted=$(grep -c '"slow.img" aborted: .*server shutting down' "$TMP/pxed.log" || true)
check "each of the $transfers transfers has its line in the log ($aborted)" test "$aborted" -eq "$transfers"
wait "$clients_pid" || true
summary=$(tail -n 1 "$TMP/clients.out")
check "every client got ERROR \"server shutting down\" ($summary)" grep -q "shutting_down $transfers " <<<"$summary"
check "every transfer went on through the reloads" grep -q "^advanced $transfers " <<<"$summary"
check "strangers on the transfers' ports got ERROR 5" grep -qv "stranger_errors 0$" <<<"$summary"
finish
