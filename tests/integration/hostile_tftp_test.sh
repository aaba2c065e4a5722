#!/usr/bin/env bash
# TFTP on a hostile provisioning network (issue 16), over loopback only:
#  1. one address flooding RRQs from ever new source ports, with junk from
#     another, while real clients (tftp-hpa, atftp) fetch a file;
#  2. one RRQ from a socket that never ACKs (a forged source): how much
#     comes back;
#  3. every transfer slot filled from 256 addresses: pxed's memory after
#     those transfers are given up;
#  4. the per-client limit's warning is in the log although the junk used
#     up the junk log budget first;
#  5. a boot storm from 1000 addresses is answered in full.
# Prints what it measured. Usage: hostile_tftp_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in tftp atftp python3; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done
# The flood and the forged clients send from other 127.0.0.0/8 addresses,
# which the kernel's loopback route accepts as sources.
python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.1.7", 0))' 2>/dev/null ||
  skip_all "cannot send from 127.0.1.7 (loopback is not all of 127.0.0.0/8 here)"

root=$TMP/root
mkdir -p "$root" "$TMP/get"
head -c $((256 << 10)) /dev/urandom > "$root/boot.img"
head -c $((16 << 20)) /dev/urandom > "$root/big.img"
cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: 0, root: $root}
access: {host_documents: open}
YAML
start_pxed "$TMP/site.yaml"
port=$(bound_port tftp)
check "pxed reports the TFTP port it bound" test -n "$port"
pid=$PXED_PID
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }

# --- 1 and 4: a flood from one address, junk from another, real clients
cat > "$TMP/flood.py" <<'PY'
import resource, socket, sys, time
port, seconds, rate = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
server = ("127.0.0.1", port)
junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
junk.bind(("127.0.0.5", 0))
junk.setblocking(False)
def send_junk(n):
    for i in range(n):
        # A write request (refused, logged at info) and a stray ACK
        # (dropped, logged at debug).
        junk.sendto(b"\0\2x\0octet\0" if i % 2 else b"\0\4\0\1", server)
        try:
            while True: junk.recv(1024)
        except BlockingIOError:
            pass
# Junk first, so that its log budget is spent before the first refusal.
send_junk(100)
time.sleep(0.3)
socks, started, refused, tids = [], 0, 0, set()
t0 = time.monotonic()
sent = 0
while time.monotonic() - t0 < seconds:
    due = int((time.monotonic() - t0) * rate)
    while sent < due:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.3", 0))
        s.setblocking(False)
        s.sendto(b"\0\1big.img\0octet\0", server)
        socks.append(s)
        sent += 1
        if len(socks) > 2000:          # keep within the descriptor limit
            socks.pop(0).close()
    send_junk(10)
    time.sleep(0.005)
    for s in socks:
        try:
            while True:
                d, tid = s.recvfrom(2048)
                if d[:2] == b"\0\3": tids.add(tid)
                elif d[:2] == b"\0\5": refused += 1
        except BlockingIOError:
            pass
print("sent %d requests in %.1f s, %d transfers started, %d ERRORs back" % (sent, seconds, len(tids), refused))
PY
baseline=$(rss_kib)
python3 "$TMP/flood.py" "$port" 10 1000 > "$TMP/flood.out" 2>&1 &
flood=$!
on_exit "kill $flood 2>/dev/null"
# By now one address could have taken every slot (about 137 requests a
# second held all 4096 when each lasted 30 s).
sleep 5.5
fetch_ms() {  # NAME COMMAND...: runs a fetch of boot.img, prints how long it took or "fail"
  local name=$1 start end
  shift
  rm -f "$TMP/get/$name"
  start=$(date +%s%N)
  timeout 10 "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  if same_file "$root/boot.img" "$TMP/get/$name"; then echo $(((end - start) / 1000000)); else echo fail; fi
}
hpa_ms=$(fetch_ms hpa tftp 127.0.0.1 "$port" -m binary -c get boot.img "$TMP/get/hpa")
atftp_ms=$(fetch_ms atftp atftp --option "blksize 1468" --option "tsize 0" -g -r boot.img -l "$TMP/get/atftp" 127.0.0.1 "$port")
atftp_w_ms=$(fetch_ms atftpw atftp --option "windowsize 8" -g -r boot.img -l "$TMP/get/atftpw" 127.0.0.1 "$port")
wait $flood || true
echo "# flood from 127.0.0.3: $(cat "$TMP/flood.out")"
echo "# during it, 256 KiB from 127.0.0.1: tftp-hpa ${hpa_ms} ms, atftp ${atftp_ms} ms, atftp windowsize 8 ${atftp_w_ms} ms"
for t in "$hpa_ms" "$atftp_ms" "$atftp_w_ms"; do
  check "a real client fetches 256 KiB during the flood within 5 s (${t} ms)" test "$t" != fail -a "${t/fail/99999}" -lt 5000
done
started=$(sed -n 's/.* \([0-9]*\) transfers started.*/\1/p' "$TMP/flood.out")
refused=$(sed -n 's/.* \([0-9]*\) ERRORs back$/\1/p' "$TMP/flood.out")
# 16 at once; each given up 7 s after its request, so 10 s of flood can
# start two rounds of them.
check "the flooding address got at most two rounds of 16 transfers ($started)" test "${started:-999}" -le 32
# Each ERROR goes to whoever owns the (possibly forged) address: one a
# second, not one per request.
check "the rest were refused, with at most one ERROR a second ($refused in 10 s)" test "${refused:-0}" -ge 1 -a "${refused:-99}" -le 12

warn_line=$(grep -n 'refused: 16 transfers from 127.0.0.3 already running (server.tftp.max_transfers_per_client)' "$TMP/pxed.log" | head -n 1 | cut -d: -f1 || true)
junk_first=$(grep -n 'refused: pxed is read-only' "$TMP/pxed.log" | head -n 1 | cut -d: -f1 || true)
junk_lines=$(grep -c 'refused: pxed is read-only' "$TMP/pxed.log" || true)
limit_lines=$(grep -c '(server.tftp.max_transfers_per_client)' "$TMP/pxed.log" || true)
echo "# log: $junk_lines junk lines, $limit_lines per-client limit lines"
check "the per-client limit is logged at warn" test -n "$warn_line"
check "after junk had used up its own budget" test -n "$junk_first" -a "${junk_first:-0}" -lt "${warn_line:-0}"
check "once per ten seconds, not once per refusal ($limit_lines lines)" test "$limit_lines" -ge 1 -a "$limit_lines" -le 2
# The flood's junk spans at most three 10 s windows.
check "junk lines are limited (20 per 10 s: $junk_lines)" test "$junk_lines" -le 60

# --- 2: one forged request, nobody ever answers
cat > "$TMP/forged.py" <<'PY'
import socket, sys, time
port, seconds, ready = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
def listen(addr, rrq):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    s.settimeout(0.2)
    s.sendto(rrq, ("127.0.0.1", port))
    return s
plain = listen("127.0.0.4", b"\0\1big.img\0octet\0")
opts = listen("127.0.0.6", b"\0\1big.img\0octet\0blksize\0001468\0tsize\0000\0windowsize\00016\0")
got = {plain: [], opts: []}
open(ready, "w").write("sent\n")
t0 = time.monotonic()
while time.monotonic() - t0 < seconds:
    for s in got:
        try:
            d, _ = s.recvfrom(70000)
            got[s].append((time.monotonic() - t0, d))
        except socket.timeout:
            pass
def summary(name, packets):
    blocks = sorted({int.from_bytes(d[2:4], "big") for _, d in packets if d[:2] == b"\0\3"})
    kinds = sorted({int.from_bytes(d[:2], "big") for _, d in packets})
    print("%s: %d datagrams, %d bytes, opcodes %s, DATA blocks %s, last at %.1f s" % (
        name, len(packets), sum(len(d) for _, d in packets), kinds, blocks,
        packets[-1][0] if packets else 0))
summary("plain", got[plain])
summary("options", got[opts])
PY
python3 "$TMP/forged.py" "$port" 17 "$TMP/forged.ready" > "$TMP/forged.out" 2>&1 &
forged=$!
on_exit "kill $forged 2>/dev/null"
# Its requests must be in before the slots fill up.
wait_for_log sent 10 "$TMP/forged.ready"
sleep 0.2

# --- 3: every slot filled from 256 addresses (16 each), then let go
wait_rss() { sleep "$1"; rss_kib; }
python3 - "$port" <<'PY'
import socket, sys
server = ("127.0.0.1", int(sys.argv[1]))
for a in range(256):
    for _ in range(16):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.2.%d" % a, 0))
        s.sendto(b"\0\1big.img\0octet\0", server)
        s.close()
PY
peak=$(wait_rss 2)
busy=$(grep -c "transfers already running (server busy)" "$TMP/pxed.log" || true)
after=$(wait_rss 12)
echo "# VmRSS: ${baseline} KiB at start, ${peak} KiB with 4096 transfers running, ${after} KiB after they were given up ($busy 'server busy' lines)"
check "memory is given back: ${after} KiB, start ${baseline} KiB + 20 MiB at most" test "$after" -le $((baseline + 20480))

wait $forged || true
sed 's/^/# forged request, /' "$TMP/forged.out"
plain=$(grep '^plain:' "$TMP/forged.out" || true)
n=$(sed -n 's/^plain: \([0-9]*\) datagrams.*/\1/p' <<<"$plain")
check "a forged RRQ without options brings at most 5 datagrams ($n)" test "${n:-99}" -le 5
check "all of them DATA 1: never a block past the first without an ACK" grep -q 'DATA blocks \[1\],' <<<"$plain"
o=$(sed -n 's/^options: \([0-9]*\) datagrams.*/\1/p' "$TMP/forged.out")
check "a forged RRQ with options brings at most 3 OACKs and no DATA ($o)" grep -q '^options: [1-3] datagrams.*opcodes \[6\], DATA blocks \[\],' "$TMP/forged.out"

# A boot storm of distinct machines: 1000 addresses, one request each at
# once, each answered with DATA 1 (the per-address share never gets in the
# way of many machines).
python3 - "$port" > "$TMP/storm.out" 2>&1 <<'PY' || true
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
server = ("127.0.0.1", int(sys.argv[1]))
socks = []
for i in range(1000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.%d.%d" % (10 + i // 250, 1 + i % 250), 0))
    s.setblocking(False)
    socks.append(s)
t0 = time.monotonic()
for s in socks:
    s.sendto(b"\0\1boot.img\0octet\0", server)
answered, deadline = set(), t0 + 5
while len(answered) < len(socks) and time.monotonic() < deadline:
    for i, s in enumerate(socks):
        if i in answered: continue
        try:
            data, tid = s.recvfrom(1024)
        except BlockingIOError:
            continue
        if data[:4] == b"\0\3\0\1":
            answered.add(i)
            s.sendto(b"\0\5\0\0done\0", tid)  # ends the transfer, as a tsize probe does
    time.sleep(0.01)
print("answered %d of 1000 in %.2f s" % (len(answered), time.monotonic() - t0))
PY
echo "# boot storm: $(cat "$TMP/storm.out")"
check "a storm of 1000 distinct addresses is answered in full ($(cat "$TMP/storm.out"))" grep -q "answered 1000 of 1000" "$TMP/storm.out"

# The real clients still get through after all that.
ms=$(fetch_ms after tftp 127.0.0.1 "$port" -m binary -c get boot.img "$TMP/get/after")
check "tftp-hpa fetches after the flood ($ms ms)" test "$ms" != fail
stop_pxed
finish
