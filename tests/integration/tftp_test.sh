#!/usr/bin/env bash
# TFTP against real clients nobody here wrote: tftp-hpa, atftp and curl, over
# loopback. Checksums compared; hostile paths and bad options refused as the
# RFCs say; many clients at once. Usage: tftp_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in tftp atftp curl python3; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done

root=$TMP/root
mkdir -p "$root/k" "$root/sub/dir" "$TMP/get"
printf 'hello\n' > "$root/small.txt"
: > "$root/empty"
head -c 512 /dev/urandom > "$root/exact512"
head -c $((1468 * 10)) /dev/urandom > "$root/exact1468x10"
head -c $((16 << 20)) /dev/urandom > "$root/mid.img"
# Over 64 MiB: at 512-byte blocks the block number wraps past 65535 twice.
head -c $((70 << 20)) /dev/urandom > "$root/big.img"
printf 'line one\nline two\r\nbare\rcr\n' > "$root/text.cfg"
printf 'nested\n' > "$root/sub/dir/file"
head -c 700 /dev/urandom > "$root/two-blocks"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
ln -s small.txt "$root/link-inside"
ln -s /etc/passwd "$root/link-outside"
ln -s /etc "$root/dirlink-outside"
ln -s ../../../../../../../../../../etc/passwd "$root/sub/dir/relative-outside"

cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  # The boot storm and the 30 concurrent atftp runs below stand for as many
  # machines, but all come from 127.0.0.1: lift the per-client share
  # (hostile_tftp_test.sh tests it).
  tftp: {port: 0, root: $root, max_transfers_per_client: 512}
boot: {bios: small.txt}
profiles:
  p: {kernel: k/vmlinuz, initrd: k/initrd.img, append: "console=ttyS0"}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: p}
# Every client here is 127.0.0.1, no host's address: this test is about the
# protocol (access_test.sh covers who gets a host's documents).
access: {host_documents: open}
YAML
start_pxed "$TMP/site.yaml"
port=$(bound_port tftp)
check "pxed reports the TFTP port it bound" test -n "$port"

hpa() { tftp 127.0.0.1 "$port" "$@" 2>&1; }
g=$TMP/get

# --- plain RFC 1350 with tftp-hpa (lock-step, 512-byte blocks)
hpa -m octet -c get small.txt "$g/small" >/dev/null
check "tftp-hpa: small file" same_file "$root/small.txt" "$g/small"
hpa -c get empty "$g/empty" >/dev/null
check "tftp-hpa: empty file (a single empty DATA block)" test -f "$g/empty" -a ! -s "$g/empty"
hpa -c get exact512 "$g/exact512" >/dev/null
check "tftp-hpa: size an exact multiple of 512 (final empty block)" same_file "$root/exact512" "$g/exact512"
hpa -m netascii -c get text.cfg "$g/text" >/dev/null
check "tftp-hpa: netascii round-trips line ends" same_file "$root/text.cfg" "$g/text"
hpa -c get sub/dir/file "$g/nested" >/dev/null
check "tftp-hpa: file in a subdirectory" same_file "$root/sub/dir/file" "$g/nested"
hpa -c get link-inside "$g/link" >/dev/null
check "tftp-hpa: symlink inside the root is followed" same_file "$root/small.txt" "$g/link"
start=$SECONDS
hpa -c get big.img "$g/big" >/dev/null
check "tftp-hpa: 70 MiB at 512-byte blocks (block numbers roll over) in $((SECONDS - start)) s" same_file "$root/big.img" "$g/big"
rm -f "$g/big"

# --- options with atftp: blksize, tsize, windowsize (RFC 2348, 2349, 7440)
atftp --option "blksize 1468" --option "tsize 0" --option "windowsize 16" -g -r mid.img -l "$g/mid" 127.0.0.1 "$port" >/dev/null 2>&1
check "atftp: 16 MiB with blksize 1468, tsize, windowsize 16" same_file "$root/mid.img" "$g/mid"
check "the transfer log names the negotiated options" wait_for_log '"mid.img" completed: 16777216 bytes .*blksize 1468, windowsize 16' 5
rm -f "$g/mid"
atftp --option "blksize 1468" --option "windowsize 16" -g -r big.img -l "$g/big" 127.0.0.1 "$port" >/dev/null 2>&1
check "atftp: 70 MiB with windowsize 16 across block rollover" same_file "$root/big.img" "$g/big"
rm -f "$g/big"
atftp --option "blksize 1468" -g -r exact1468x10 -l "$g/x" 127.0.0.1 "$port" >/dev/null 2>&1
check "atftp: exact multiple of the negotiated blksize" same_file "$root/exact1468x10" "$g/x"
atftp --option "blksize 70000" -g -r mid.img -l "$g/mid" 127.0.0.1 "$port" >/dev/null 2>&1
check "atftp: blksize 70000 is clamped, not refused" same_file "$root/mid.img" "$g/mid"
check "to the largest that fits loopback" wait_for_log '"mid.img" completed: .*blksize 65464' 5
rm -f "$g/mid"
for opt in "blksize abc" "timeout 0" "timeout 300" "windowsize 0" "frobnicate 1"; do
  rm -f "$g/s"
  atftp --option "$opt" -g -r small.txt -l "$g/s" 127.0.0.1 "$port" >/dev/null 2>&1 || true
  check "atftp: option '$opt' is ignored and the file still arrives" same_file "$root/small.txt" "$g/s"
done
for opt in "blksize 0" "blksize 7"; do
  out=$(atftp --option "$opt" -g -r small.txt -l "$g/refused" 127.0.0.1 "$port" 2>&1 || true)
  check "atftp: option '$opt' is refused with ERROR 8" grep -q "blksize must be at least 8" <<<"$out"
done

# --- curl's TFTP client
curl -s --tftp-blksize 1468 -o "$g/curl" "tftp://127.0.0.1:$port/mid.img"
check "curl: 16 MiB with blksize 1468" same_file "$root/mid.img" "$g/curl"
rm -f "$g/curl"

# --- rendered files, pxelinux's lookup order
hpa -c get pxelinux.cfg/01-52-54-00-00-00-01 "$g/host.cfg" >/dev/null
check "a known host's pxelinux.cfg is rendered on the fly" grep -q "kernel k/vmlinuz" "$g/host.cfg"
out=$(hpa -c get pxelinux.cfg/01-52-54-00-00-00-99 "$g/unknown.cfg")
check "an unknown MAC's file is 'not found' (pxelinux moves on)" grep -q "Error code 1" <<<"$out"
out=$(hpa -c get pxelinux.cfg/7F000001 "$g/hex.cfg")
check "a hex-IP name is 'not found' too" grep -q "Error code 1" <<<"$out"
check_not "pxelinux's routine config-file misses stay out of the info log" grep -q 'pxelinux.cfg/7F000001" refused' "$TMP/pxed.log"
hpa -c get pxelinux.cfg/default "$g/default.cfg" >/dev/null
check "pxelinux.cfg/default is the menu" grep -q "^label local" "$g/default.cfg"
atftp --option "tsize 0" -g -r pxelinux.cfg/default -l "$g/default2.cfg" 127.0.0.1 "$port" >/dev/null 2>&1
check "tsize works for rendered files" same_file "$g/default.cfg" "$g/default2.cfg"

# --- hostile paths: refused, and nothing is revealed
for p in ../etc/passwd ../../../../etc/passwd 'sub/../../etc/passwd' '..\..\etc\passwd'; do
  out=$(hpa -c get "$p" "$g/stolen")
  check "refused with an access violation: $p" grep -q "Error code 2" <<<"$out"
done
# Past a symlink out of the root, nothing exists (the fs namespace answers
# alike for what is there outside and what is not: issue 16).
for p in link-outside dirlink-outside/passwd sub/dir/relative-outside; do
  out=$(hpa -c get "$p" "$g/stolen")
  check "a name past a link out of the root is not found: $p" grep -q "Error code 1" <<<"$out"
done
out=$(hpa -c get /etc/passwd "$g/stolen")
check "an absolute path is taken inside the root: /etc/passwd is not found" grep -q "Error code 1" <<<"$out"
check "nothing was written for any of them" test ! -s "$g/stolen"
check_not "no error message names a server-side path" grep -q "$root" <(hpa -c get link-outside "$g/stolen"; hpa -c get nope "$g/stolen")
check "a missing file elsewhere is logged with its reason" wait_for_log '"nope" refused: "nope": not found' 5
out=$(hpa -c get sub "$g/dir")
check "a directory is 'not found'" grep -q "Error code 1" <<<"$out"
out=$(hpa -c put "$root/small.txt" uploaded)
check "a write request is refused: pxed is read-only" grep -q "Error code 2" <<<"$out"
check "and nothing was written" test ! -e "$root/uploaded"

# --- protocol edge cases from a scripted client
python3 - "$port" > "$TMP/py.out" 2>&1 <<'PY' || true
import socket, struct, sys
port = int(sys.argv[1])
def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.bind(("127.0.0.1", 0)); return s
# Wrong TID: a stranger ACKs to the transfer's port; it gets ERROR 5 and the
# transfer goes on.
c = sock()
c.sendto(b"\x00\x01small.txt\x00octet\x00", ("127.0.0.1", port))
data, tid = c.recvfrom(1024)
assert data[:4] == b"\x00\x03\x00\x01", data
stranger = sock()
stranger.sendto(b"\x00\x04\x00\x01", tid)
err, _ = stranger.recvfrom(1024)
print("stranger got", err[:4].hex())
c.sendto(b"\x00\x04\x00\x01", tid)
c.settimeout(1)
try:
    more, _ = c.recvfrom(1024)
    print("after final ack got", more[:4].hex())
except socket.timeout:
    print("transfer finished cleanly")
# Garbage to port 69: no answer, and the server keeps serving.
g = sock(); g.settimeout(0.5)
for junk in (b"", b"\x00", b"\x00\x09xx", b"\x00\x03\x00\x01data", b"\x00\x04\x00\x01", b"\xff" * 600):
    g.sendto(junk, ("127.0.0.1", port))
try:
    print("garbage answered", g.recvfrom(1024)[0][:4].hex())
except socket.timeout:
    print("garbage ignored")
# A request cut short is answered with ERROR 4 naming the problem.
t = sock()
t.sendto(b"\x00\x01noterminator", ("127.0.0.1", port))
print("truncated got", t.recvfrom(1024)[0][:4].hex())
# Mode "mail" is refused with ERROR 4.
m = sock()
m.sendto(b"\x00\x01small.txt\x00mail\x00", ("127.0.0.1", port))
print("mail got", m.recvfrom(1024)[0][:4].hex())
PY
# A boot storm: 400 requests queued at once, more than one wake-up reads.
python3 - "$port" > "$TMP/storm.out" 2>&1 <<'PY' || true
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(400):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.setblocking(False)
    socks.append(s)
for s in socks:
    s.sendto(b"\x00\x01small.txt\x00octet\x00", ("127.0.0.1", port))
answered, deadline = set(), time.time() + 5
while len(answered) < len(socks) and time.time() < deadline:
    for i, s in enumerate(socks):
        if i in answered: continue
        try:
            data, tid = s.recvfrom(1024)
        except BlockingIOError:
            continue
        if data[:4] == b"\x00\x03\x00\x01":
            answered.add(i)
            s.sendto(b"\x00\x04\x00\x01", tid)
    time.sleep(0.01)
print("answered", len(answered))
PY
check "a burst of 400 requests is answered in full ($(cat "$TMP/storm.out"))" grep -q "answered 400" "$TMP/storm.out"
check "a packet from a wrong TID gets ERROR 5" grep -q "stranger got 00050005" "$TMP/py.out"
check "and the transfer it poked at completes" grep -q "transfer finished cleanly" "$TMP/py.out"
check "garbage on port 69 gets no answer" grep -q "garbage ignored" "$TMP/py.out"
check "a truncated request gets ERROR 4" grep -q "truncated got 00050004" "$TMP/py.out"
check "mode mail is refused with ERROR 4" grep -q "mail got 00050004" "$TMP/py.out"
hpa -c get small.txt "$g/after" >/dev/null
check "the server still serves after all that" same_file "$root/small.txt" "$g/after"

# --- a client that exits without its final ACK getting through, then
# fetches again from the same port (ephemeral ports get reused): the new
# request starts a new transfer at once instead of going unanswered.
same_port=$(python3 - "$port" <<'PY'
import socket, struct, sys, time
server = ("127.0.0.1", int(sys.argv[1]))
def rrq(s):
    s.sendto(b"\0\1" + b"two-blocks\0octet\0", server)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
me = s.getsockname()
s.settimeout(3)
rrq(s)
d, tid = s.recvfrom(600)             # DATA 1
s.sendto(b"\0\4\0\1", tid)         # ACK 1
d, tid = s.recvfrom(600)             # DATA 2, the last; its ACK never goes
s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(me)
s.settimeout(3)
t0 = time.monotonic()
rrq(s)
try:
    while True:
        d, tid2 = s.recvfrom(600)
        if d[:4] == b"\0\3\0\1" and tid2 != tid:
            print("new-transfer %.0f ms" % ((time.monotonic() - t0) * 1000))
            break
except socket.timeout:
    print("no-answer")
PY
)
check "a new request from the port of a finished client starts a new transfer ($same_port)" grep -q "^new-transfer" <<<"$same_port"

# --- many clients at once
pids=()
for i in $(seq 1 30); do
  atftp --option "blksize 1468" --option "windowsize 8" -g -r mid.img -l "$g/c$i" 127.0.0.1 "$port" >/dev/null 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
good=0
for i in $(seq 1 30); do same_file "$root/mid.img" "$g/c$i" && good=$((good + 1)); rm -f "$g/c$i"; done
check "30 concurrent 16 MiB transfers all arrive intact ($good/30)" test "$good" -eq 30

completed=$(grep -c '"mid.img" completed' "$TMP/pxed.log" || true)
check "every finished transfer is logged once (mid.img: $completed of 33)" test "$completed" -eq 33

# Lock-step, as firmware fetches: one DATA per ACK, the path where the
# io_uring rounds batch every transfer's send (tftp_server.cpp, drain_round).
# The ctest case tftp.real_clients_epoll runs this script on the epoll path.
head -c $((2 << 20)) /dev/urandom > "$root/lock.img"
pids=()
for i in $(seq 1 30); do
  atftp --option "blksize 1468" -g -r lock.img -l "$g/l$i" 127.0.0.1 "$port" >/dev/null 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
good=0
for i in $(seq 1 30); do same_file "$root/lock.img" "$g/l$i" && good=$((good + 1)); rm -f "$g/l$i"; done
check "30 concurrent lock-step 2 MiB transfers all arrive intact ($good/30)" test "$good" -eq 30
if [[ ${PXED_TFTP_IO:-} == epoll ]]; then
  check "the log names the data path: epoll, as PXED_TFTP_IO asks" grep -q "transfer data path: epoll.*PXED_TFTP_IO=epoll" "$TMP/pxed.log"
elif grep -q "transfer data path: epoll, .*no io_uring here" "$TMP/pxed.log"; then
  echo "note: this kernel or build has no io_uring: the epoll path was tested"
else
  check "the log names the data path: io_uring" grep -q "transfer data path: io_uring" "$TMP/pxed.log"
fi
if [[ ${PXED_TFTP_DATA_THREADS:-} =~ ^[2-9]$ ]]; then
  check "the log says the transfers ran on $PXED_TFTP_DATA_THREADS data threads" grep -q "transfer data path: .*; on $PXED_TFTP_DATA_THREADS data threads" "$TMP/pxed.log"
elif [[ ${PXED_TFTP_DATA_THREADS:-} == 1 ]]; then
  check "the log says the transfers ran on the event loop" grep -q "transfer data path: .*; on the event loop" "$TMP/pxed.log"
fi
check "a transfer's line in the log counts its spurious timeouts" grep -q "lock.img\" completed: .* retransmissions, [0-9][0-9]* spurious timeouts" "$TMP/pxed.log"
stop_pxed
check "pxed stops cleanly" grep -q "stopped" "$TMP/pxed.log"

# --- the open-file limit: two descriptors per transfer. A soft limit below
# the hard one is raised; a hard limit too low for a boot storm is reported,
# and pxed still serves.
start_pxed "$TMP/site.yaml" bash -c 'ulimit -S -n 256; exec "$@"' _
check "a soft open-file limit below the hard one is raised at start" grep -q "open-file limit raised from 256 to" "$TMP/pxed.log"
stop_pxed
start_pxed "$TMP/site.yaml" bash -c 'ulimit -n 200; exec "$@"' _
check "a hard open-file limit too low for 4096 transfers is reported" grep -q "open-file limit is 200: about 68 TFTP transfers fit" "$TMP/pxed.log"
port=$(bound_port tftp)
hpa -m octet -c get small.txt "$g/small2" >/dev/null
check "pxed serves under that limit" same_file "$root/small.txt" "$g/small2"
stop_pxed
finish
