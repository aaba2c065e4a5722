#!/usr/bin/env bash
# Issue 16, "a hostile provisioning network", for HTTP and FTP: each attack
# runs from loopback addresses of its own while real clients (curl, wget,
# lftp) fetch from 127.0.0.2, which no per-client cap counts against.
#   1. 1,100 connections (28 from each of 40 addresses, so the global cap
#      is reached without any one address passing its own) that send one
#      byte and trickle: curl and wget still fetch within 3 s; the eviction
#      and header-timeout warnings are logged; one address past its cap
#      gets 503.
#   2. Slow readers of a 50 MB file are cut after the min_rate window.
#   3. Transfer-Encoding: gzip without Content-Length: 400, then closed.
#   4. 112 FTP sessions (8 from each of 14 addresses) PASV and never
#      connect: the passive range is held, lftp still downloads once the
#      passive timeout returns the ports; a 9th session from one address
#      gets 421.
#   5. An FTP session that sends commands and never reads the replies is
#      closed after the idle timeout.
#   6. pxed's VmRSS comes back within 16 MiB of its baseline (allocator
#      caches keep a few MiB after 1,100 connections have come and gone).
# Timeouts are shortened through site.yaml. Traffic stays on 127.0.0.0/8.
# Usage: hostile_http_ftp_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in curl wget lftp python3; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done
# 127.0.0.2 and friends must be usable as source addresses (Linux routes
# all of 127.0.0.0/8 to lo).
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
  skip_all "cannot bind 127.0.0.2 (loopback is not 127.0.0.0/8 here)"
[[ $(ulimit -Hn) -ge 4096 ]] || skip_all "the open-file hard limit ($(ulimit -Hn)) is below 4096: 1,100 connections do not fit"
ulimit -n "$(ulimit -Hn)"

root=$TMP/tftpboot
mkdir -p "$root/k" "$TMP/get" "$TMP/home"
export HOME=$TMP/home  # lftp keeps its history there
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
head -c $((2 << 20)) /dev/urandom > "$root/payload.bin"
truncate -s 50M "$root/big.img"  # sparse: the page cache serves zeros
printf 'hello\n' > "$root/hello.txt"

pasv_first=$((20000 + RANDOM % 20000))
pasv_last=$((pasv_first + 100))  # 101 ports, as in the issue
cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  log: {level: info}
  dhcp: {enabled: false}
  tftp: {port: 0, root: $root}
  http: {port: 0, max_connections: 1024, max_connections_per_client: 32, header_timeout: 4s,
         min_rate: 1024, min_rate_window: 4s}
  ftp: {port: 0, passive_ports: $pasv_first-$pasv_last, max_sessions_per_client: 8,
        passive_timeout: 3s, idle_timeout: 4s}
profiles:
  c7: {kernel: k/vmlinuz, initrd: k/initrd.img}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: c7}
access: {host_documents: open}
YAML
start_pxed "$TMP/site.yaml"
hport=$(bound_port http)
fport=$(bound_port ftp)
[[ -n $hport && -n $fport ]] || { echo "no ports in the log"; cat "$TMP/pxed.log"; exit 1; }
u=http://127.0.0.1:$hport

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PXED_PID/status"; }
# Warm up (open-file cache, first connections), then the baseline.
curl -s -o /dev/null "$u/payload.bin"
rss_base=$(rss)
echo "# VmRSS baseline: $rss_base kB"

# seconds.milliseconds a command took
timed() { local t0=$EPOCHREALTIME; "$@"; local rc=$?; echo "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}')" > "$TMP/took"; return $rc; }
under() { awk -v t="$(cat "$TMP/took")" -v lim="$1" 'BEGIN{exit !(t < lim)}'; }

# --- 1. 1,100 trickling connections
cat > "$TMP/trickle.py" <<'PY'
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, seconds = int(sys.argv[1]), float(sys.argv[2])
addrs = ["127.0.1.%d" % i for i in range(1, 41)]
def dial(a):
    s = socket.socket()
    s.bind((a, 0))
    s.setblocking(False)
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    return s
socks = [(a, dial(a)) for a in addrs for _ in range(28)]  # 1,120
time.sleep(0.5)
reconnects = 0
end = time.time() + seconds
while time.time() < end:
    # One byte each, every 0.5 s: each is mid-header, none ever finishes.
    for i, (a, s) in enumerate(socks):
        try:
            s.send(b"G")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            s.close()
            socks[i] = (a, dial(a))
            reconnects += 1
    time.sleep(0.5)
print("trickle: %d connections held, %d reconnects after being closed" % (len(socks), reconnects), flush=True)
PY
python3 "$TMP/trickle.py" "$hport" 12 > "$TMP/trickle.out" 2>&1 &
trickle_pid=$!
on_exit "kill $trickle_pid 2>/dev/null"
sleep 3  # the cap is reached; 408s start at 4 s
for i in 1 2 3; do
  timed curl -s --interface 127.0.0.2 -m 10 -o "$TMP/get/c$i" "$u/payload.bin" || true
  echo "# curl during the trickle attack: $(cat "$TMP/took") s"
  check "curl fetches the file within 3 s during the trickle attack (try $i)" under 3
  check "and it is whole" cmp -s "$TMP/get/c$i" "$root/payload.bin"
  timed wget -q --bind-address=127.0.0.2 -T 10 -t 1 -O "$TMP/get/w$i" "$u/payload.bin" || true
  echo "# wget during the trickle attack: $(cat "$TMP/took") s"
  check "wget fetches the file within 3 s during the trickle attack (try $i)" under 3
  check "and it is whole" cmp -s "$TMP/get/w$i" "$root/payload.bin"
  sleep 1
done
echo "# VmRSS with 1,120 trickling connections open: $(rss) kB"
# One address past its own cap: 40 connections from 127.0.0.3, 32 fit.
python3 - "$hport" > "$TMP/percap.out" <<'PY' || true
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(40):
    s = socket.socket(); s.bind(("127.0.0.3", 0)); s.settimeout(5)
    s.connect(("127.0.0.1", port)); s.send(b"G"); socks.append(s)
time.sleep(0.5)
refused = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(100).startswith(b"HTTP/1.1 503"): refused += 1
    except OSError: pass
print(refused)
PY
echo "# 503s to 40 connections from one address (cap 32): $(cat "$TMP/percap.out")"
check "one address past max_connections_per_client gets 503 for the rest" test "$(cat "$TMP/percap.out")" -ge 8
wait "$trickle_pid" || true
cat "$TMP/trickle.out"
check "the eviction at the connection cap is logged at warn" \
  grep -q 'warning.*server.http.max_connections).*to make room' "$TMP/pxed.log"
check "the per-client cap is logged at warn" grep -q 'warning.*server.http.max_connections_per_client' "$TMP/pxed.log"
check "the header timeout is logged at warn" grep -q 'warning.*server.http.header_timeout' "$TMP/pxed.log"
evicted=$(grep -c 'to make room' "$TMP/pxed.log" || true)
echo "# eviction warnings logged (rate-limited to 20 per 10 s): $evicted"
check "the warnings are rate-limited" test "$evicted" -le 60

# --- 2. slow readers
python3 - "$hport" > "$TMP/slow.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(10):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.4", 0))
    s.connect(("127.0.0.1", port))
    s.send(b"GET /big.img HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
time.sleep(30)  # never reads
PY
slow_pid=$!
on_exit "kill $slow_pid 2>/dev/null"
t0=$SECONDS
cut=0
until (( cut >= 10 || SECONDS - t0 > 25 )); do
  sleep 0.5
  cut=$(grep -c '127.0.0.4:.*"GET /big.img" 200 aborted after .*slower than the minimum rate' "$TMP/pxed.log" || true)
done
echo "# slow readers cut: $cut of 10 after $((SECONDS - t0)) s (min_rate 1024 B/s over 4 s)"
check "every slow reader is cut after the min_rate window (within 15 s)" test "$cut" -ge 10 -a $((SECONDS - t0)) -le 15
check "the minimum rate is logged at warn" grep -q 'warning.*127.0.0.4.*server.http.min_rate' "$TMP/pxed.log"
kill "$slow_pid" 2>/dev/null || true
timed curl -s --interface 127.0.0.2 -m 10 -o "$TMP/get/after-slow" "$u/payload.bin" || true
check "a real client is served afterwards" cmp -s "$TMP/get/after-slow" "$root/payload.bin"

# --- 3. Transfer-Encoding that is not chunked
python3 - "$hport" > "$TMP/te.out" <<'PY' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
          b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    try: chunk = s.recv(65536)
    except socket.timeout: print("timeout"); break
    except ConnectionResetError: break
    if not chunk: print("closed"); break
    data += chunk
print(data.count(b"HTTP/1.1 "), data.split(b"\r\n")[0].decode())
PY
check "TE gzip without Content-Length: one 400, then closed" grep -qx "1 HTTP/1.1 400 Bad Request" "$TMP/te.out"
check "the connection was closed, not kept" grep -qx "closed" "$TMP/te.out"

# --- 4. FTP: PASV and never connect
cat > "$TMP/pasv.py" <<'PY'
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
def line(f):
    l = f.readline()
    while len(l) >= 4 and l[3:4] == "-":  # multi-line
        l = f.readline()
    return l
sessions, codes = [], {}
for a in range(1, 15):
    for _ in range(9):  # one past max_sessions_per_client
        s = socket.socket(); s.bind(("127.0.2.%d" % a, 0)); s.settimeout(5)
        s.connect(("127.0.0.1", port))
        f = s.makefile("r", encoding="latin-1", newline="\r\n")
        greet = line(f)[:3]
        codes[greet] = codes.get(greet, 0) + 1
        if greet != "220": continue
        s.sendall(b"USER anonymous\r\n"); line(f)
        s.sendall(b"PASS x\r\n"); line(f)
        s.sendall(b"PASV\r\n"); r = line(f)[:3]
        codes["PASV " + r] = codes.get("PASV " + r, 0) + 1
        sessions.append((s, f))
print(" ".join("%s:%d" % kv for kv in sorted(codes.items())), flush=True)
end = time.time() + seconds
while time.time() < end:  # NOOP keeps each session alive
    time.sleep(1)
    for s, f in sessions:
        try: s.sendall(b"NOOP\r\n"); line(f)
        except OSError: pass
PY
python3 "$TMP/pasv.py" "$fport" 12 > "$TMP/pasv.out" 2>&1 &
pasv_pid=$!
on_exit "kill $pasv_pid 2>/dev/null"
until [[ -s $TMP/pasv.out ]] || ! kill -0 $pasv_pid 2>/dev/null; do sleep 0.2; done
echo "# FTP attack replies: $(head -n1 "$TMP/pasv.out")"
check "the 9th session from one address gets 421" grep -q '421:14' "$TMP/pasv.out"
check "the attack held the whole passive range (some PASV got 425)" grep -q 'PASV 425' "$TMP/pasv.out"
cat > "$TMP/lftp.rc" <<LFTP
set net:socket-bind-ipv4 127.0.0.2
set net:timeout 5
set net:max-retries 20
set net:reconnect-interval-base 1
set net:reconnect-interval-max 1
set ftp:passive-mode yes
set ftp:prefer-epsv no
set cmd:fail-exit yes
open -p $fport ftp://127.0.0.1
get /payload.bin -o $TMP/get/lftp.bin
LFTP
timed timeout 30 lftp -f "$TMP/lftp.rc" > "$TMP/lftp.out" 2>&1 || true
echo "# lftp download during the PASV attack: $(cat "$TMP/took") s (passive_timeout 3 s)"
check "lftp downloads during the PASV attack" cmp -s "$TMP/get/lftp.bin" "$root/payload.bin"
check "within the passive timeout plus 5 s" under 8
check "the passive timeout is logged at warn" grep -q 'warning.*server.ftp.passive_timeout' "$TMP/pxed.log"
check "the per-client session cap is logged at warn" grep -q 'warning.*server.ftp.max_sessions_per_client' "$TMP/pxed.log"
sleep 4  # every attacker's listener has timed out by now
python3 - "$fport" > "$TMP/pasv-after.out" <<'PY' || true
import socket, sys
port = int(sys.argv[1])
got = 0
socks = []
# One PASV per session (a new PASV replaces a session's listener): 104
# sessions from 13 addresses ask for the 101 ports.
for a in range(1, 14):
    for _ in range(8):
        s = socket.socket(); s.bind(("127.0.3.%d" % a, 0)); s.settimeout(5)
        s.connect(("127.0.0.1", port)); f = s.makefile("r", encoding="latin-1", newline="\r\n")
        f.readline()
        s.sendall(b"USER ftp\r\n"); f.readline(); s.sendall(b"PASS x\r\n"); f.readline()
        s.sendall(b"PASV\r\n")
        if f.readline().startswith("227"): got += 1
        socks.append(s)
print(got)
PY
echo "# passive ports obtainable after the attackers' listeners timed out: $(cat "$TMP/pasv-after.out") of 101"
check "every passive port came back to the pool" test "$(cat "$TMP/pasv-after.out")" -ge 101
wait "$pasv_pid" || true

# --- 5. an FTP session that never reads its replies
python3 - "$fport" > "$TMP/noread.out" <<'PY' || true
import socket, sys, time, errno
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.5", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.setblocking(False)
flood = b"USER ftp\r\nPASS x\r\n" + b"HELP\r\nSTAT\r\n" * 64
t0 = time.time()
while time.time() - t0 < 40:
    try:
        s.send(flood)
    except BlockingIOError:
        pass
    except OSError as e:
        print("closed after %.1f s (%s)" % (time.time() - t0, errno.errorcode.get(e.errno, e.errno)))
        break
    time.sleep(0.02)
else:
    print("still open after 40 s")
PY
echo "# session that never reads its replies: $(cat "$TMP/noread.out") (idle_timeout 4 s)"
check "it is closed within 20 s" awk '/^closed after/ { exit !($3 < 20) } /still open/ { exit 1 }' "$TMP/noread.out"
check "and the log says why" grep -q 'warning.*127.0.0.5.*replies unread.*server.ftp.idle_timeout' "$TMP/pxed.log"
ftp_ok=$(curl -s --interface 127.0.0.2 -m 10 "ftp://127.0.0.1:$fport/hello.txt" || true)
check "FTP still serves a real client afterwards" test "$ftp_ok" = hello

# --- 6. memory after the attacks
sleep 5  # lingering closes and timers run out
rss_after=$(rss)
echo "# VmRSS: baseline $rss_base kB, after the attacks $rss_after kB"
check "VmRSS is back within 16 MiB of its baseline" test "$rss_after" -le $((rss_base + 16384))
check "pxed is still running" kill -0 "$PXED_PID"

finish
