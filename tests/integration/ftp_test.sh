#!/usr/bin/env bash
# FTP against real clients nobody here wrote: curl and lftp, over loopback,
# through an install tree mounted at pub/centos/7/x86_64 as in the classic
# vsftpd recipe. Checksums compared (one file over 100 MiB); passive and
# extended passive; resume; MLSD; hostile paths and writes refused; garbage
# answered while another download goes on; a data connection from a
# stranger's address refused; a reload seen by new sessions only.
# Usage: ftp_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in curl lftp python3 sha256sum; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done

root=$TMP/tftpboot
tree=$TMP/tree
mkdir -p "$root/k" "$tree/Packages" "$tree/repodata" "$TMP/get" "$TMP/home"
export HOME=$TMP/home  # lftp keeps its history and cache there
printf 'hello\n' > "$root/hello.txt"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
printf 'line one\nline two\n' > "$root/text.cfg"
printf 'odd\n' > "$root/we\"ird name.txt"
printf '[general]\nfamily = CentOS\nversion = 7\n' > "$tree/.treeinfo"
head -c $((120 << 20)) /dev/urandom > "$tree/big.img"
head -c $((16 << 20)) /dev/urandom > "$tree/mid.img"
for i in 1 2 3; do head -c $((i * 100000)) /dev/urandom > "$tree/Packages/pkg$i.rpm"; done
printf '<repomd/>\n' > "$tree/repodata/repomd.xml"
ln -s /etc/passwd "$tree/link-outside"
ln -s ../../../../../../etc "$tree/Packages/dir-outside"
printf 'secret\n' > "$TMP/secret.txt"
sum() { sha256sum < "$1" | cut -d' ' -f1; }

pasv_first=$((20000 + RANDOM % 20000))
write_config() {  # extra-trees
  cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  log: {level: debug}
  dhcp: {enabled: false}
  http: {enabled: false}
  tftp: {port: 0, root: $root}
  ftp: {port: 0, passive_ports: $pasv_first-$((pasv_first + 60))}
trees:
  c7: {path: $tree, url: /pub/centos/7/x86_64, protocol: ftp}
$1
profiles:
  c7: {tree: c7, kernel: k/vmlinuz, initrd: k/initrd.img, append: "inst.repo={{tree_url}}", kickstart: centos7.ks}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: c7}
# Every client here is 127.0.0.1, no host's address: this test is about the
# protocol (access_test.sh covers who gets a host's documents).
access: {host_documents: open}
YAML
}
write_config ""
start_pxed "$TMP/site.yaml"
# " ftp": not the tftp line, which also ends in "ftp: listening on".
port=$(bound_port " ftp")
check "pxed reports the FTP port it bound" test -n "$port"
check "and its passive range" grep -q "ftp: listening on 127.0.0.1:$port, passive ports $pasv_first-" "$TMP/pxed.log"
url=ftp://127.0.0.1:$port
g=$TMP/get
cs() { curl -sS --max-time 60 "$@"; }

# A scripted client for what curl and lftp cannot be told to do.
cat > "$TMP/probe.py" <<'PY'
import os, re, socket, sys, time

class Ftp:
    def __init__(self, port, src="127.0.0.1", host="127.0.0.1"):
        self.port, self.host, self.src = port, host, src
        self.s = socket.create_connection((host, port), timeout=10, source_address=(src, 0))
        self.f = self.s.makefile("rb")
        self.greeting = self.reply()
    def reply(self):
        first = self.f.readline().decode("latin-1").rstrip("\r\n")
        lines = [first]
        if first[3:4] == "-":
            while True:
                l = self.f.readline().decode("latin-1").rstrip("\r\n")
                lines.append(l)
                if l[:3] == first[:3] and l[3:4] == " ":
                    break
        return int(first[:3]), "\n".join(lines)
    def send(self, raw):
        self.s.sendall(raw if isinstance(raw, bytes) else raw.encode("latin-1") + b"\r\n")
    def cmd(self, line):
        self.send(line)
        return self.reply()
    def login(self):
        self.cmd("USER anonymous")
        return self.cmd("PASS probe@example.com")
    def pasv(self):
        code, text = self.cmd("PASV")
        n = [int(x) for x in re.search(r"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", text).groups()]
        return "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]
    def epsv(self):
        code, text = self.cmd("EPSV")
        return int(re.search(r"\(\|\|\|(\d+)\|\)", text).group(1))
    def data(self, port, src="127.0.0.1"):
        return socket.create_connection((self.host, port), timeout=10, source_address=(src, 0))

def read_all(sock):
    out = bytearray()
    while True:
        b = sock.recv(1 << 20)
        if not b:
            return bytes(out)
        out += b

def show(label, r):
    print("%s -> %d" % (label, r[0]), flush=True)

port = int(sys.argv[2])
what = sys.argv[1]

if what == "hostile":
    c = Ftp(port); c.login()
    for p in ["../secret.txt", "../../../../etc/passwd", "/../secret.txt", "pub/../../secret.txt",
              "..\\..\\etc\\passwd", "/etc/passwd", "pub/centos/7/x86_64/link-outside",
              "pub/centos/7/x86_64/Packages/dir-outside/passwd"]:
        c.pasv()
        show("RETR " + p, c.cmd("RETR " + p))
    show("CWD ..", c.cmd("CWD .."))
    show("CWD /pub/centos/7/x86_64/Packages/dir-outside", c.cmd("CWD /pub/centos/7/x86_64/Packages/dir-outside"))
    show("SIZE ../secret.txt", c.cmd("SIZE ../secret.txt"))
    for w in ["STOR up.txt", "APPE hello.txt", "STOU", "DELE hello.txt", "MKD newdir", "XMKD newdir", "RMD k",
              "RNFR hello.txt", "RNTO x.txt", "SITE CHMOD 777 hello.txt", "MDTM 20200101000000 hello.txt"]:
        show(w, c.cmd(w))
    show("PORT 127,0,0,1,200,1", c.cmd("PORT 127,0,0,1,200,1"))
    show("EPRT |1|127.0.0.1|51201|", c.cmd("EPRT |1|127.0.0.1|51201|"))
    show("final NOOP", c.cmd("NOOP"))

elif what == "garbage":
    c = Ftp(port)
    show("before login PWD", c.cmd("PWD"))
    show("USER root", c.cmd("USER root"))
    c.login()
    show("long line", c.cmd("A" * 5000))
    show("longer line", c.cmd("RETR " + "x" * 100000))
    show("unknown", c.cmd("FROBNICATE now"))
    show("empty", c.cmd(""))
    show("binary", c.cmd(b"\x00\x01\x02\x80\xfe junk\r\n"))
    show("REST abc", c.cmd("REST abc"))
    show("TYPE Z", c.cmd("TYPE Z"))
    show("MODE Z", c.cmd("MODE Z"))
    show("CWD no arg", c.cmd("CWD"))
    show("EPSV 7", c.cmd("EPSV 7"))
    show("telnet", c.cmd(b"\xff\xfb\x01\xff\xfd\x03NO\xff\xf1OP\r\n"))
    show("bare LF", c.cmd(b"NOOP\n"))
    show("after all that NOOP", c.cmd("NOOP"))

elif what == "stranger":
    # The control connection comes from 127.0.0.1; a connection to its
    # passive port from 127.0.0.2 must not get the file.
    c = Ftp(port); c.login()
    addr, dport = c.pasv()
    print("pasv address", addr, flush=True)
    rogue = c.data(dport, src="127.0.0.2")
    rogue.settimeout(3)
    time.sleep(0.3)
    show("RETR", c.cmd("RETR /pub/centos/7/x86_64/Packages/pkg1.rpm"))
    try:
        got = read_all(rogue)
        print("stranger got", len(got), "bytes", flush=True)
    except (ConnectionResetError, socket.timeout) as e:
        print("stranger got 0 bytes (%s)" % type(e).__name__, flush=True)
    legit = c.data(dport)
    body = read_all(legit)
    print("client got", len(body), "bytes", flush=True)
    show("after transfer", c.reply())

elif what == "abort":
    # ABOR the way RFC 959 section 4.1.3 describes it: Telnet IP, Synch
    # (IAC DM as urgent data), then the command.
    c = Ftp(port); c.login()
    dport = c.epsv()
    d = c.data(dport)
    show("RETR", c.cmd("RETR /pub/centos/7/x86_64/big.img"))
    first = d.recv(1 << 16)
    print("received some", len(first) > 0, flush=True)
    c.send(b"\xff\xf4\xff")
    c.s.send(b"\xf2", socket.MSG_OOB)
    c.send("ABOR")
    codes = [c.reply()[0]]
    if codes[0] == 426:
        codes.append(c.reply()[0])
    print("abort replies", " ".join(map(str, codes)), flush=True)
    d.close()
    show("after abort NOOP", c.cmd("NOOP"))
    show("SIZE", c.cmd("SIZE /pub/centos/7/x86_64/big.img"))

elif what == "pipeline":
    # Commands sent behind a transfer are answered after it, in order.
    c = Ftp(port); c.login()
    dport = c.epsv()
    d = c.data(dport)
    c.send(b"RETR hello.txt\r\nNOOP\r\nSIZE hello.txt\r\nPWD\r\n")
    body = read_all(d)
    codes = [c.reply()[0] for _ in range(5)]
    print("pipelined replies", " ".join(map(str, codes)), "body", repr(body), flush=True)

elif what == "ascii":
    # TYPE A is served as binary, as vsftpd does by default.
    c = Ftp(port); c.login()
    show("TYPE A", c.cmd("TYPE A"))
    dport = c.epsv()
    d = c.data(dport)
    show("RETR", c.cmd("RETR text.cfg"))
    body = read_all(d)
    c.reply()
    print("ascii body", repr(body), flush=True)

elif what == "hold":
    # A session opened before a reload: it keeps the namespace it began with.
    c = Ftp(port); c.login()
    go = sys.argv[3]
    print("ready", flush=True)
    deadline = time.time() + 20
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    show("old session CWD new tree", c.cmd("CWD /pub/centos/6/x86_64"))
    show("old session CWD old tree", c.cmd("CWD /pub/centos/7/x86_64"))

elif what == "pasvaddr":
    c = Ftp(port, src=sys.argv[3], host=sys.argv[3]); c.login()
    code, text = c.cmd("PASV")
    print("pasv reply", text, flush=True)
PY
probe() { timeout 60 python3 "$TMP/probe.py" "$@" 2>&1 || true; }

# --- curl: listings, the tree mount, passive and extended passive
cs "$url/" > "$g/root.list"
check "curl: LIST of / shows the TFTP root and the tree's top" grep -q " pub$" "$g/root.list"
check "and real files" grep -q " hello.txt$" "$g/root.list"
check "and rendered documents (ks/)" grep -q " ks$" "$g/root.list"
cs "$url/pub/centos/7/x86_64/" > "$g/tree.list"
check "curl: LIST through the tree mount (ftp://server/pub/centos/7/x86_64)" grep -q " big.img$" "$g/tree.list"
check "ls -l style, with the size" grep -q "^-r--r--r-- .* $((120 << 20)) .* big.img$" "$g/tree.list"
cs -l "$url/pub/centos/7/x86_64/" > "$g/tree.nlst"
check "curl: NLST names" grep -qx "big.img" <(tr -d '\r' < "$g/tree.nlst")
cs -X MLSD "$url/pub/centos/7/x86_64/" > "$g/tree.mlsd"
check "curl: MLSD facts (RFC 3659)" grep -q "^type=file;size=$((16 << 20));modify=[0-9]\{14\};perm=r; mid.img" "$g/tree.mlsd"
check "MLSD marks directories" grep -q "^type=dir;.*perm=el; Packages" "$g/tree.mlsd"
cs -I "$url/pub/centos/7/x86_64/mid.img" > "$g/head"
check "curl -I: SIZE" grep -q "Content-Length: $((16 << 20))" "$g/head"
check "curl -I: MDTM" grep -q "Last-Modified: " "$g/head"

start=$SECONDS
cs -o "$g/big" "$url/pub/centos/7/x86_64/big.img"
check "curl: 120 MiB over EPSV arrives intact ($((SECONDS - start)) s)" test "$(sum "$g/big")" = "$(sum "$tree/big.img")"
check "the transfer is logged with path, bytes and client" \
  wait_for_log "ftp: 127.0.0.1:[0-9]* RETR \"/pub/centos/7/x86_64/big.img\" completed: $((120 << 20)) bytes" 5
rm -f "$g/big"
before=$(grep -c 'sent "PASV"' "$TMP/pxed.log" || true)
cs --disable-epsv -o "$g/mid" "$url/pub/centos/7/x86_64/mid.img"
check "curl --disable-epsv: 16 MiB over PASV" test "$(sum "$g/mid")" = "$(sum "$tree/mid.img")"
after=$(grep -c 'sent "PASV"' "$TMP/pxed.log" || true)
check "and it really used PASV" test "$after" -gt "$before"
rm -f "$g/mid"
cs --ftp-method singlecwd -o "$g/pkg" "$url/pub/centos/7/x86_64/Packages/pkg2.rpm"
check "curl: singlecwd through the mount" cmp -s "$g/pkg" "$tree/Packages/pkg2.rpm"
cs --ftp-method nocwd -o "$g/pkg" "$url/pub/centos/7/x86_64/Packages/pkg3.rpm"
check "curl: nocwd (RETR with the whole path)" cmp -s "$g/pkg" "$tree/Packages/pkg3.rpm"

# --- resume (REST)
head -c $((37 << 20)) "$tree/big.img" > "$g/part"
cs -C - -o "$g/part" "$url/pub/centos/7/x86_64/big.img"
check "curl -C -: resumed with REST, checksum of the whole" test "$(sum "$g/part")" = "$(sum "$tree/big.img")"
check "the transfer log names the offset" wait_for_log "big.img\" completed: $((83 << 20)) bytes from offset $((37 << 20))" 5
rm -f "$g/part"

# --- rendered documents, hostile names
cs -o "$g/ks" "$url/ks/52-54-00-00-00-01.ks"
check "curl: a rendered kickstart (ks/<mac>.ks)" grep -q "ftp://127.0.0.1" "$g/ks"
cs -o "$g/odd" "$url/we%22ird%20name.txt"
check "curl: a name with a quote and a space" cmp -s "$g/odd" "$root/we\"ird name.txt"
check "its log line is escaped" wait_for_log 'RETR "/we\\x22ird name.txt" completed' 5
check_not "curl: /etc/passwd is not in the namespace" cs -o "$g/passwd" "$url/etc/passwd"
check_not "curl: a symlink out of the tree is refused" cs -o "$g/passwd" "$url/pub/centos/7/x86_64/link-outside"
check_not "curl: --path-as-is ../ is refused" cs --path-as-is -o "$g/secret" "$url/../secret.txt"
check "nothing stolen" test ! -e "$g/passwd" -a ! -e "$g/secret"
check_not "curl -T: an upload is refused" cs -T "$root/hello.txt" "$url/uploaded.txt"
check "and nothing was written" test ! -e "$root/uploaded.txt"

probe hostile "$port" > "$TMP/hostile.out"
for p in ../secret.txt ../../../../etc/passwd /../secret.txt pub/../../secret.txt '..\..\etc\passwd' /etc/passwd \
         pub/centos/7/x86_64/link-outside pub/centos/7/x86_64/Packages/dir-outside/passwd; do
  check "RETR $p is refused with 550" grep -qxF "RETR $p -> 550" "$TMP/hostile.out"
done
check "CWD .. at the top is refused" grep -qxF "CWD .. -> 550" "$TMP/hostile.out"
check "CWD into a symlink out of the tree is refused" grep -qxF "CWD /pub/centos/7/x86_64/Packages/dir-outside -> 550" "$TMP/hostile.out"
for w in "STOR up.txt" "APPE hello.txt" "STOU" "DELE hello.txt" "MKD newdir" "XMKD newdir" "RMD k" "RNFR hello.txt" \
         "RNTO x.txt" "MDTM 20200101000000 hello.txt"; do
  check "write command refused with 550: $w" grep -qxF "$w -> 550" "$TMP/hostile.out"
done
check "SITE refused with 502" grep -qxF "SITE CHMOD 777 hello.txt -> 502" "$TMP/hostile.out"
check "active mode is off: PORT gets 502" grep -qxF "PORT 127,0,0,1,200,1 -> 502" "$TMP/hostile.out"
check "and EPRT" grep -qxF "EPRT |1|127.0.0.1|51201| -> 502" "$TMP/hostile.out"
check "the session survives all of it" grep -qxF "final NOOP -> 200" "$TMP/hostile.out"
check "nothing was created" test ! -e "$root/newdir" -a ! -e "$root/up.txt"
check "refusals are logged at debug with the reason" wait_for_log 'RETR refused: ".*": ".." climbs above the top' 5

# --- garbage on one session while another downloads
cs --limit-rate 25M -o "$g/slow" "$url/pub/centos/7/x86_64/big.img" &
slow=$!
sleep 0.5
probe garbage "$port" > "$TMP/garbage.out"
check "the download was still running during the garbage" kill -0 "$slow"
check "before login: 530" grep -qxF "before login PWD -> 530" "$TMP/garbage.out"
check "a user other than anonymous: 530" grep -qxF "USER root -> 530" "$TMP/garbage.out"
check "a 5000-byte line: 500" grep -qxF "long line -> 500" "$TMP/garbage.out"
check "a 100000-byte line: 500" grep -qxF "longer line -> 500" "$TMP/garbage.out"
check "an unknown command: 500" grep -qxF "unknown -> 500" "$TMP/garbage.out"
check "an empty line: 500" grep -qxF "empty -> 500" "$TMP/garbage.out"
check "binary junk: 500" grep -qxF "binary -> 500" "$TMP/garbage.out"
check "REST abc: 501" grep -qxF "REST abc -> 501" "$TMP/garbage.out"
check "TYPE Z: 504" grep -qxF "TYPE Z -> 504" "$TMP/garbage.out"
check "MODE Z: 504" grep -qxF "MODE Z -> 504" "$TMP/garbage.out"
check "CWD without an argument: 501" grep -qxF "CWD no arg -> 501" "$TMP/garbage.out"
check "EPSV 7: 501" grep -qxF "EPSV 7 -> 501" "$TMP/garbage.out"
check "Telnet IAC sequences are stripped" grep -qxF "telnet -> 200" "$TMP/garbage.out"
check "a bare LF ends a line" grep -qxF "bare LF -> 200" "$TMP/garbage.out"
check "the session still works after all that" grep -qxF "after all that NOOP -> 200" "$TMP/garbage.out"
wait "$slow" || true
check "and the download finished intact" test "$(sum "$g/slow")" = "$(sum "$tree/big.img")"
rm -f "$g/slow"

# --- data connections, ABOR, pipelining, TYPE A
probe stranger "$port" > "$TMP/stranger.out"
check "PASV answers with the address the client connected to" grep -qx "pasv address 127.0.0.1" "$TMP/stranger.out"
check "a data connection from 127.0.0.2 gets nothing" grep -q "^stranger got 0 bytes" "$TMP/stranger.out"
check "the client's own connection gets the file" grep -qx "client got 100000 bytes" "$TMP/stranger.out"
check "and 226" grep -qx "after transfer -> 226" "$TMP/stranger.out"
check "the stranger is logged" wait_for_log "refused a data connection from 127.0.0.2:" 5
probe abort "$port" > "$TMP/abort.out"
check "ABOR with Telnet IP and Synch (urgent): 426 then 226" grep -qx "abort replies 426 226" "$TMP/abort.out"
check "the session goes on after ABOR" grep -qx "after abort NOOP -> 200" "$TMP/abort.out"
check "the aborted transfer is logged" wait_for_log 'RETR "/pub/centos/7/x86_64/big.img" aborted' 5
probe pipeline "$port" > "$TMP/pipeline.out"
check "commands pipelined behind RETR are answered after it, in order" \
  grep -qx "pipelined replies 150 226 200 213 257 body b'hello\\\\n'" "$TMP/pipeline.out"
probe ascii "$port" > "$TMP/ascii.out"
check "TYPE A is accepted" grep -qx "TYPE A -> 200" "$TMP/ascii.out"
check "and served unchanged, as vsftpd does by default" grep -qx "ascii body b'line one\\\\nline two\\\\n'" "$TMP/ascii.out"

# --- lftp
lf() { timeout 120 lftp -e "set net:max-retries 1; set net:timeout 10; set xfer:clobber on; set cmd:fail-exit yes; $1; quit" -p "$port" 127.0.0.1 2>&1; }
out=$(lf "cd pub/centos/7/x86_64; ls")
check "lftp: ls through the mount" grep -q " mid.img$" <<<"$out"
before=$(grep -c 'sent "EPSV"' "$TMP/pxed.log" || true)
lf "set ftp:prefer-epsv yes; get /pub/centos/7/x86_64/mid.img -o $g/lftp-epsv" >/dev/null
check "lftp (prefer-epsv yes): get" test "$(sum "$g/lftp-epsv")" = "$(sum "$tree/mid.img")"
check "over EPSV" test "$(grep -c 'sent "EPSV"' "$TMP/pxed.log")" -gt "$before"
before=$(grep -c 'sent "PASV"' "$TMP/pxed.log" || true)
lf "set ftp:prefer-epsv no; get /pub/centos/7/x86_64/big.img -o $g/lftp-pasv" >/dev/null
check "lftp (prefer-epsv no): 120 MiB get" test "$(sum "$g/lftp-pasv")" = "$(sum "$tree/big.img")"
check "over PASV" test "$(grep -c 'sent "PASV"' "$TMP/pxed.log")" -gt "$before"
rm -f "$g/lftp-pasv"
head -c $((5 << 20)) "$tree/mid.img" > "$g/lftp-part"
lf "get -c /pub/centos/7/x86_64/mid.img -o $g/lftp-part" >/dev/null
check "lftp get -c: resumed" test "$(sum "$g/lftp-part")" = "$(sum "$tree/mid.img")"
check "from where it stopped" wait_for_log "mid.img\" completed: $((11 << 20)) bytes from offset $((5 << 20))" 5
out=$(lf "set ftp:use-mlsd yes; cls -l /pub/centos/7/x86_64/Packages/")
check "lftp with MLSD: cls -l" grep -q "pkg3.rpm" <<<"$out"
check "and it used MLSD" grep -q 'sent "MLSD' "$TMP/pxed.log"
lf "mirror /pub/centos/7/x86_64/Packages $g/mirror" >/dev/null
check "lftp mirror: the directory arrives whole (listing parsed)" \
  diff -r <(cd "$tree/Packages" && find . -type f -name '*.rpm' | sort | xargs sha256sum) \
          <(cd "$g/mirror" && find . -type f -name '*.rpm' | sort | xargs sha256sum)
out=$(lf "get /pub/centos/7/x86_64/../../../../../../etc/passwd -o $g/lftp-passwd" || true)
check "lftp: ../ escapes fail" test ! -s "$g/lftp-passwd"

# --- wget (passive; its HTML index is built from LIST)
if command -v wget >/dev/null; then
  timeout 60 wget -q -O "$g/wget" "$url/pub/centos/7/x86_64/mid.img" || true
  check "wget: get through the mount" test "$(sum "$g/wget")" = "$(sum "$tree/mid.img")"
  timeout 60 wget -q -O "$g/wget.html" "$url/pub/centos/7/x86_64/Packages/" || true
  check "wget: its index parses our LIST" grep -q 'pkg2.rpm</a>' "$g/wget.html"
else
  echo "# wget is not installed: its checks are skipped"
fi

# --- many clients at once: twenty machines, each from an address of its
# own (one address may hold server.ftp.max_sessions_per_client, 8, sessions)
pids=()
for i in $(seq 1 20); do
  cs --interface "127.0.0.$((100 + i))" -o "$g/c$i" "$url/pub/centos/7/x86_64/mid.img" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
good=0
want=$(sum "$tree/mid.img")
for i in $(seq 1 20); do [[ $(sum "$g/c$i") == "$want" ]] && good=$((good + 1)); rm -f "$g/c$i"; done
check "20 concurrent 16 MiB downloads all arrive intact ($good/20)" test "$good" -eq 20

# --- reload: new sessions see the new site, a running one keeps its own
mkdir -p "$TMP/tree6"
printf 'six\n' > "$TMP/tree6/.treeinfo"
rm -f "$TMP/go"
probe hold "$port" "$TMP/go" > "$TMP/hold.out" &
holder=$!
for _ in $(seq 1 100); do grep -q ready "$TMP/hold.out" 2>/dev/null && break; sleep 0.05; done
write_config "  c6: {path: $TMP/tree6, url: /pub/centos/6/x86_64, protocol: ftp}"
kill -HUP "$PXED_PID"
check "SIGHUP reload with a second tree" wait_for_log "reloaded .*2 tree(s)" 10
cs -o "$g/six" "$url/pub/centos/6/x86_64/.treeinfo"
check "a new session sees the new tree" cmp -s "$g/six" "$TMP/tree6/.treeinfo"
touch "$TMP/go"
wait "$holder" || true
check "a session opened before the reload keeps the old view" grep -qx "old session CWD new tree -> 550" "$TMP/hold.out"
check "and still works" grep -qx "old session CWD old tree -> 250" "$TMP/hold.out"

# --- session logging
check "session start is logged" grep -q "ftp: 127.0.0.1:[0-9]* connected" "$TMP/pxed.log"
check "session end is logged with totals" grep -q "ftp: 127.0.0.1:[0-9]* disconnected (QUIT) after [0-9.]* s: 1 transfer(s), $((120 << 20)) bytes" "$TMP/pxed.log"
check_not "passwords stay out of the log" grep -q "probe@example.com" "$TMP/pxed.log"

# --- PASV behind a wildcard listener: the reply names the address the
# client reached, never 0.0.0.0. Inside a private network namespace (only
# its own loopback), so binding 0.0.0.0 exposes nothing.
ns=pxed-ftp-$$
if ip netns add "$ns" 2>/dev/null; then
  on_exit "ip netns del $ns"
  ip netns exec "$ns" ip link set lo up
  # This instance also allows active mode (server.ftp.active_mode).
  sed -e 's/listen: 127.0.0.1/listen: 0.0.0.0/' -e "s|state_dir: .*|state_dir: $TMP/state-ns|" \
      -e 's/^  ftp: {port: 0,/  ftp: {port: 0, active_mode: true,/' "$TMP/site.yaml" > "$TMP/site-ns.yaml"
  ip netns exec "$ns" "$PXED" --config "$TMP/site-ns.yaml" > "$TMP/pxed-ns.log" 2>&1 &
  ns_pid=$!
  on_exit "kill $ns_pid 2>/dev/null"
  wait_for_log "serving " 15 "$TMP/pxed-ns.log" || { echo "# pxed in the namespace did not start:"; sed 's/^/# /' "$TMP/pxed-ns.log"; }
  ns_port=$(sed -n 's/.* ftp: listening on [0-9.]*:\([0-9]*\).*/\1/p' "$TMP/pxed-ns.log" | head -n 1)
  ip netns exec "$ns" timeout 30 python3 "$TMP/probe.py" pasvaddr "$ns_port" 127.0.0.5 > "$TMP/ns.out" 2>&1 || true
  check "listening on 0.0.0.0, PASV answers with the address connected to (127.0.0.5)" \
    grep -q "^pasv reply 227 Entering Passive Mode (127,0,0,5," "$TMP/ns.out"
  # Active mode, when enabled: the server connects to the client's own
  # address only (no FTP bounce, RFC 2577).
  ip netns exec "$ns" curl -sS --max-time 20 --interface 127.0.0.5 -P - -o "$g/active" \
    "ftp://127.0.0.5:$ns_port/pub/centos/7/x86_64/mid.img" 2>/dev/null || true
  check "active_mode: true: curl -P (EPRT) gets the file" cmp -s "$g/active" "$tree/mid.img"
  check "over EPRT" grep -q 'sent "EPRT |1|127.0.0.5|' "$TMP/pxed-ns.log"
  check_not "active mode towards another address (FTP bounce) fails" ip netns exec "$ns" curl -sS --max-time 20 \
    --interface 127.0.0.5 -P 127.0.0.9 -o "$g/bounce" "ftp://127.0.0.5:$ns_port/hello.txt"
  check "refused as a bounce" grep -q "EPRT refused: the address is not the client's own" "$TMP/pxed-ns.log"
  kill "$ns_pid" 2>/dev/null || true
  wait "$ns_pid" 2>/dev/null || true
else
  echo "# skipped the wildcard-listener PASV check: cannot create a network namespace (needs root)"
fi

stop_pxed
check "pxed stops cleanly" grep -q "stopped" "$TMP/pxed.log"
finish
