#!/usr/bin/env bash
# HTTP against real clients nobody here wrote: curl and wget, over loopback.
# Checksums on a large random file, HEAD, ranges and `wget -c` resumes,
# conditional GETs, listings, keep-alive, rendered documents, the JSON API,
# hostile paths and malformed requests (raw, from python3) refused with the
# right status while a slow download carries on, and a SIGHUP reload.
# Usage: http_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in curl wget python3 sha256sum; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done

root=$TMP/root
tree=$TMP/tree
g=$TMP/get
mkdir -p "$root/k" "$root/sub/dir" "$tree/Packages" "$tree/repodata" "$tree/images" "$g"
printf 'hello\n' > "$root/small.txt"
: > "$root/empty"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
printf 'nested\n' > "$root/sub/dir/file"
printf 'secret\n' > "$TMP/outside.txt"
ln -s small.txt "$root/link-inside"
ln -s "$TMP/outside.txt" "$root/link-outside"
ln -s /etc "$root/dirlink-outside"
head -c 4096 /dev/urandom > "$tree/Packages/a-1.0.rpm"
head -c 12345 /dev/urandom > "$tree/Packages/b-2.0.rpm"
printf '<repomd/>\n' > "$tree/repodata/repomd.xml"
# Over 100 MiB of random bytes: what an install.img or a DVD's worth of RPMs
# looks like to the server, and a checksum that cannot pass by accident.
head -c $((130 << 20)) /dev/urandom > "$tree/images/install.img"
head -c $((8 << 20)) /dev/urandom > "$tree/images/mid.img"
touch -d '2020-01-02 03:04:05 UTC' "$tree/Packages/a-1.0.rpm"

write_config() {  # extra host lines
  cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: 0, root: $root}
  http: {port: 0}
trees:
  c7: {path: $tree, url: /pub/centos/7/x86_64}
profiles:
  c7: {kernel: k/vmlinuz, initrd: k/initrd.img, tree: c7, kickstart: centos7.ks, append: "inst.ks={{kickstart_url}}"}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: c7}
$1
# Every client here is 127.0.0.1, no host's address: this test is about the
# protocol (access_test.sh covers who gets a host's documents).
access: {host_documents: open}
YAML
}
write_config ""
start_pxed "$TMP/site.yaml"
port=$(bound_port http)
check "pxed reports the HTTP port it bound" test -n "$port"
u=http://127.0.0.1:$port

status() { curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@"; }
header() {  # NAME curl-args...: the value of one response header
  local name=$1
  shift
  curl -s -o /dev/null -D - "$@" | tr -d '\r' | sed -n "s/^$name: //Ip" | head -n 1
}

# --- plain GETs and HEAD
curl -s -o "$g/small" "$u/small.txt"
check "GET a small file" same_file "$root/small.txt" "$g/small"
check "Content-Length is the file size" test "$(header Content-Length "$u/small.txt")" = 6
check "Content-Type by extension" test "$(header Content-Type "$u/small.txt")" = "text/plain; charset=utf-8"
check "an RPM is application/x-rpm" test "$(header Content-Type "$u/pub/centos/7/x86_64/Packages/a-1.0.rpm")" = "application/x-rpm"
check "Last-Modified is the file's mtime" \
  test "$(header Last-Modified "$u/pub/centos/7/x86_64/Packages/a-1.0.rpm")" = "Thu, 02 Jan 2020 03:04:05 GMT"
etag=$(header ETag "$u/pub/centos/7/x86_64/images/install.img")
check "an ETag is sent ($etag)" grep -q '^"[0-9a-f]*-[0-9a-f]*"$' <<<"$etag"
curl -s -o "$g/empty" "$u/empty"
check "an empty file" test -f "$g/empty" -a ! -s "$g/empty"
curl -s -o "$g/link" "$u/link-inside"
check "a symlink inside the root is followed" same_file "$root/small.txt" "$g/link"

start=$SECONDS
curl -s -o "$g/big" "$u/pub/centos/7/x86_64/images/install.img"
check "curl: 130 MiB, sha256 matches ($((SECONDS - start)) s)" \
  test "$(sha256sum < "$g/big")" = "$(sha256sum < "$tree/images/install.img")"
rm -f "$g/big"
wget -q -O "$g/big" "$u/pub/centos/7/x86_64/images/install.img"
check "wget: 130 MiB, sha256 matches" test "$(sha256sum < "$g/big")" = "$(sha256sum < "$tree/images/install.img")"
rm -f "$g/big"
check "HEAD: 200 with the full Content-Length" \
  test "$(header Content-Length -I "$u/pub/centos/7/x86_64/images/install.img")" = $((130 << 20))
check "the access log has one line per request with status and bytes" \
  wait_for_log '"GET /pub/centos/7/x86_64/images/install.img" 200 136314880 bytes' 5
check "HEAD is logged with 0 bytes sent" wait_for_log '"HEAD /pub/centos/7/x86_64/images/install.img" 200 0 bytes' 5

# --- ranges and resuming
curl -s -r 1000000-1999999 -o "$g/part" "$u/pub/centos/7/x86_64/images/install.img"
check "Range: the right million bytes" cmp -s "$g/part" <(tail -c +1000001 "$tree/images/install.img" | head -c 1000000)
check "206 with Content-Range" test "$(header Content-Range -r 1000000-1999999 "$u/pub/centos/7/x86_64/images/install.img")" \
  = "bytes 1000000-1999999/136314880"
check "a suffix range gives the last bytes" cmp -s <(curl -s -r -100 "$u/pub/centos/7/x86_64/images/install.img") \
  <(tail -c 100 "$tree/images/install.img")
check "a range past the end is 416" test "$(status -r 200000000- "$u/pub/centos/7/x86_64/images/install.img")" = 416
check "with Content-Range: bytes */size" \
  test "$(header Content-Range -r 200000000- "$u/pub/centos/7/x86_64/images/install.img")" = "bytes */136314880"
check "a malformed range is 416" test "$(status -H 'Range: bytes=9-3' "$u/small.txt")" = 416
check "an unknown range unit is ignored (200)" test "$(status -H 'Range: lines=1-2' "$u/small.txt")" = 200
check "a stale If-Range gives the whole file (200)" \
  test "$(status -r 0-9 -H 'If-Range: "stale"' "$u/pub/centos/7/x86_64/images/install.img")" = 200
check "a matching If-Range gives the range (206)" \
  test "$(status -r 0-9 -H "If-Range: $etag" "$u/pub/centos/7/x86_64/images/install.img")" = 206
head -c 50000000 "$tree/images/install.img" > "$g/resume.img"
wget -q -c -O "$g/resume.img" "$u/pub/centos/7/x86_64/images/install.img"
check "wget -c resumes a partial download to the right bytes" same_file "$tree/images/install.img" "$g/resume.img"
check "with a 206 for the rest" wait_for_log '"GET /pub/centos/7/x86_64/images/install.img" 206 86314880 bytes' 5
out=$(wget -c -O "$g/resume.img" "$u/pub/centos/7/x86_64/images/install.img" 2>&1 || true)
check "wget -c on a complete file: 416, nothing to do" grep -q "already fully retrieved" <<<"$out"
check "and the file is untouched" same_file "$tree/images/install.img" "$g/resume.img"
rm -f "$g/resume.img"
head -c 3000000 "$tree/images/install.img" > "$g/resume2.img"
curl -s -C - -o "$g/resume2.img" "$u/pub/centos/7/x86_64/images/install.img"
check "curl -C - resumes too" same_file "$tree/images/install.img" "$g/resume2.img"
rm -f "$g/resume2.img"

# --- conditional requests
check "If-None-Match with the ETag: 304" \
  test "$(status -H "If-None-Match: $etag" "$u/pub/centos/7/x86_64/images/install.img")" = 304
check "If-None-Match with another ETag: 200" \
  test "$(status -I -H 'If-None-Match: "0-0"' "$u/pub/centos/7/x86_64/images/install.img")" = 200
check "If-Modified-Since the mtime: 304 (curl -z)" \
  test "$(status -z "$tree/Packages/a-1.0.rpm" "$u/pub/centos/7/x86_64/Packages/a-1.0.rpm")" = 304
check "If-Modified-Since an older date: 200" \
  test "$(status -z 'Wed, 01 Jan 2020 00:00:00 GMT' "$u/pub/centos/7/x86_64/Packages/a-1.0.rpm")" = 200
out=$(curl -s -D - -H "If-None-Match: $etag" "$u/pub/centos/7/x86_64/images/install.img" | tr -d '\r')
check "a 304 carries the ETag and no body" grep -q "^ETag: $etag$" <<<"$out"
check "(the 304 body is empty)" test "$(sed -n '/^$/,$p' <<<"$out" | wc -c)" -le 1
wget -q -N -P "$g/mirror" "$u/pub/centos/7/x86_64/Packages/b-2.0.rpm"
wget -N -P "$g/mirror" "$u/pub/centos/7/x86_64/Packages/b-2.0.rpm" > "$g/wgetN.out" 2>&1 || true
check "wget -N (timestamping) does not download an unchanged file twice" grep -qi "not retrieving\|Omitting download" "$g/wgetN.out"

# --- directory listings
curl -s -o "$g/list.html" "$u/pub/centos/7/x86_64/Packages/"
check "a listing links every file" grep -q 'href="./a-1.0.rpm"' "$g/list.html"
check "with its size in bytes" grep -q '<td class="s">12345</td>' "$g/list.html"
check "and its date" grep -q '02-Jan-2020 03:04' "$g/list.html"
check "files sorted by name" test "$(grep -o 'a-1.0.rpm">\|b-2.0.rpm">' "$g/list.html" | tr -d '\n')" = 'a-1.0.rpm">b-2.0.rpm">'
check "the listing is HTML" test "$(header Content-Type "$u/pub/centos/7/x86_64/")" = "text/html; charset=utf-8"
curl -s -o "$g/top.html" "$u/pub/centos/7/x86_64/"
check "directories come first, with a slash" grep -q 'href="./images/">images/</a>' "$g/top.html"
check "a directory without its slash is redirected" test "$(status "$u/pub/centos/7/x86_64")" = 301
check "to the same path with a slash" test "$(header Location "$u/pub/centos/7/x86_64")" = "/pub/centos/7/x86_64/"
check "the top lists the TFTP root and the mount points" grep -q 'href="./pub/"' <(curl -s "$u/")
check "(and rendered document directories)" grep -q 'href="./ks/"' <(curl -s "$u/")
check_not "a listing leaves out links that leave the root" grep -q 'link-outside' <(curl -s "$u/")

# --- keep-alive
curl -sv -o /dev/null -o /dev/null -o /dev/null "$u/small.txt" "$u/pub/centos/7/x86_64/repodata/repomd.xml" \
  "$u/pub/centos/7/x86_64/Packages/" 2> "$g/keepalive.err"
reused=$(grep -c "Re-using existing connection" "$g/keepalive.err" || true)
check "keep-alive: curl re-uses one connection for three URLs ($reused re-uses)" test "$reused" -ge 2
client_ports=$(grep -E '"GET /(small.txt|pub/centos/7/x86_64/repodata/repomd.xml|pub/centos/7/x86_64/Packages/)" 200' "$TMP/pxed.log" |
  tail -n 3 | sed -n 's/.*http: \(127.0.0.1:[0-9]*\) .*/\1/p' | sort -u | wc -l)
check "and the server saw them from one client port" test "$client_ports" -eq 1
curl -sv -0 -o /dev/null -o /dev/null "$u/small.txt" "$u/small.txt" 2> "$g/http10.err"
check "HTTP/1.0 without keep-alive: the answer says Connection: close" grep -q "< Connection: close" "$g/http10.err"
check_not "and curl does not re-use the connection" grep -q "Re-using existing connection" "$g/http10.err"

# --- rendered documents
curl -s -o "$g/ks" "$u/ks/52-54-00-00-00-01.ks"
check "a host's kickstart is rendered" grep -q '^#version=RHEL7' "$g/ks"
check "naming the tree" grep -q "url --url=\"http://127.0.0.1:0/pub/centos/7/x86_64\"" "$g/ks"
check "the same kickstart by hostname" same_file "$g/ks" <(curl -s "$u/ks/n1.ks")
check "and by the colon form of the MAC" same_file "$g/ks" <(curl -s "$u/ks/52:54:00:00:00:01.ks")
check "a kickstart is text/plain" test "$(header Content-Type "$u/ks/n1.ks")" = "text/plain; charset=utf-8"
check "rendered documents have an ETag for conditional GETs" \
  test "$(status -H "If-None-Match: $(header ETag "$u/ks/n1.ks")" "$u/ks/n1.ks")" = 304
check "and ranges" test "$(curl -s -r 0-7 "$u/ks/n1.ks")" = "# Kickst"
check "an iPXE script" grep -q '^#!ipxe' <(curl -s "$u/ipxe/52-54-00-00-00-01")
check "the pxelinux menu" grep -q '^label local' <(curl -s "$u/pxelinux.cfg/default")
check "a host's pxelinux config" grep -q 'kernel k/vmlinuz' <(curl -s "$u/pxelinux.cfg/01-52-54-00-00-00-01")
check "an unknown MAC's kickstart is a 404" test "$(status "$u/ks/52-54-00-00-00-99.ks")" = 404
check "saying why" grep -q "no host with MAC 52:54:00:00:00:99" <(curl -s "$u/ks/52-54-00-00-00-99.ks")
check "logged as a warning with the reason" \
  wait_for_log 'warn.*"GET /ks/52-54-00-00-00-99.ks" 404 .*no host with MAC 52:54:00:00:00:99 in the inventory' 5

# --- the JSON API
python3 - "$u" > "$g/api.out" 2>&1 <<'PY' || true
import json, sys, urllib.request, urllib.error
u = sys.argv[1]
def get(path):
    try:
        with urllib.request.urlopen(u + path) as r:
            return r.status, r.headers.get("Content-Type"), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), json.loads(e.read())
s, ct, hosts = get("/api/v1/hosts")
print("hosts", s, ct, len(hosts), hosts[0]["mac"], hosts[0]["hostname"], hosts[0]["profile"])
print("ksurl", hosts[0]["urls"]["kickstart"])
s, ct, h = get("/api/v1/hosts/52-54-00-00-00-01")
print("one", s, h["mac"])
s, ct, h = get("/api/v1/hosts/n1")
print("byname", s, h["mac"])
s, ct, e = get("/api/v1/hosts/52:54:00:00:00:99")
print("missing", s, "error" in e)
s, ct, leases = get("/api/v1/leases")
print("leases", s, type(leases).__name__)
s, ct, e = get("/api/v1/nope")
print("nope", s)
PY
check "API: /api/v1/hosts lists the host as JSON" grep -q "^hosts 200 application/json 1 52:54:00:00:00:01 n1 c7$" "$g/api.out"
check "API: with its kickstart URL" grep -q "^ksurl http://127.0.0.1:0/ks/52-54-00-00-00-01.ks$" "$g/api.out"
check "API: /api/v1/hosts/<mac>" grep -q "^one 200 52:54:00:00:00:01$" "$g/api.out"
check "API: /api/v1/hosts/<hostname>" grep -q "^byname 200 52:54:00:00:00:01$" "$g/api.out"
check "API: an unknown MAC is a JSON 404" grep -q "^missing 404 True$" "$g/api.out"
check "API: /api/v1/leases is a JSON array" grep -q "^leases 200 list$" "$g/api.out"
check "API: an unknown endpoint is 404" grep -q "^nope 404$" "$g/api.out"
check "API: POST is refused with 405" test "$(status -X POST -d x "$u/api/v1/hosts")" = 405

# --- hostile paths, while a slow download keeps going
curl -s --limit-rate 4M -o "$g/slow" "$u/pub/centos/7/x86_64/images/mid.img" &
slow_pid=$!
for p in /../etc/passwd /../../../../etc/passwd /sub/../../etc/passwd /%2e%2e/etc/passwd /%2E%2E/%2e%2e/etc/passwd \
         /sub/%2e%2e/%2e%2e/etc/passwd; do
  check "refused with 403: $p" test "$(status "$u$p")" = 403
done
# Past a symlink out of the root nothing exists: what is there outside and
# what is not get the same 404 (a 403 for one would map the server's disk).
for p in /link-outside /dirlink-outside/passwd /dirlink-outside/ /dirlink-outside/no-such-file; do
  check "a name past a link out of the root is 404: $p" test "$(status "$u$p")" = 404
done
check "and its answer is exactly a missing name's" test "$(curl -s "$u/dirlink-outside/passwd")" = "$(curl -s "$u/dirlink-outside/no-such-file")"
for p in '/sub%2f..%2f..%2fetc%2fpasswd' '/..%2f..%2fetc%2fpasswd' '/..%5c..%5cetc%5cpasswd' '/small.txt%00.png' \
         '/a%0d%0aSet-Cookie:%20x=1' '/%zz' '/%'; do
  check "refused with 400: $p" test "$(status "$u$p")" = 400
done
check "an absolute path stays inside the root: //etc/passwd is 404" test "$(status "$u//etc/passwd")" = 404
check "so is /etc/passwd" test "$(status "$u/etc/passwd")" = 404
check "a missing file is 404" test "$(status "$u/nope.txt")" = 404
check "a missing file is logged with its reason" wait_for_log '"GET /nope.txt" 404 .*"nope.txt": not found' 5
check_not "no answer contained a line of /etc/passwd" grep -q 'root:' <(for p in /../etc/passwd /%2e%2e/etc/passwd \
  /dirlink-outside/passwd '/..%2f..%2fetc%2fpasswd' //etc/passwd; do curl -s --path-as-is "$u$p"; done)
check_not "no answer named a server-side path" grep -q "$TMP" <(curl -s --path-as-is "$u/link-outside"; curl -s "$u/nope")

python3 - "$port" > "$g/raw.out" 2>&1 <<'PY' || true
import socket, sys, time
port = int(sys.argv[1])
def ask(data, read_all=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            out += b
            if not read_all and b"\r\n\r\n" in out: break
    except socket.timeout:
        out += b"<timeout>"
    s.close()
    return out
def status(resp):
    line = resp.split(b"\r\n", 1)[0]
    return line.decode("latin-1")
print("garbage:", status(ask(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")))
print("nohost:", status(ask(b"GET /small.txt HTTP/1.1\r\n\r\n")))
print("post:", status(ask(b"POST /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")))
print("put:", status(ask(b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")))
print("brew:", status(ask(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")))
print("bigheader:", status(ask(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 70000 + b"\r\n\r\n")))
print("longurl:", status(ask(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")))
print("badversion:", status(ask(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")))
print("rawnul:", status(ask(b"GET /small.txt\x00.png HTTP/1.1\r\nHost: x\r\n\r\n")))
print("rawesc:", status(ask(b"GET /\x1b[31mred HTTP/1.1\r\nHost: x\r\n\r\n")))
print("badfield:", status(ask(b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n")))
print("ctl-in-path:", status(ask(b"GET /%1b[31mred HTTP/1.1\r\nHost: x\r\n\r\n")))
print("absolute-form:", status(ask(b"GET http://elsewhere.example/small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")))
print("asterisk:", status(ask(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")))
# HEAD sends no body: a pipelined GET's answer follows the HEAD's head at once.
r = ask(b"HEAD /pub/centos/7/x86_64/images/mid.img HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
first, rest = r.split(b"\r\n\r\n", 1)
print("pipelined:", status(first), status(rest), rest.endswith(b"\r\n\r\nhello\n"))
# A slow-loris client that never finishes its header ties up nothing:
# a second connection is served meanwhile.
loris = socket.create_connection(("127.0.0.1", port))
loris.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
print("beside a slow client:", status(ask(b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")))
loris.close()
PY
for want in "garbage: HTTP/1.1 400" "nohost: HTTP/1.1 400" "post: HTTP/1.1 405" "put: HTTP/1.1 405" "brew: HTTP/1.1 501" \
            "bigheader: HTTP/1.1 431" "longurl: HTTP/1.1 414" "badversion: HTTP/1.1 505" "rawnul: HTTP/1.1 400" \
            "rawesc: HTTP/1.1 400" "badfield: HTTP/1.1 400" "ctl-in-path: HTTP/1.1 400" \
            "absolute-form: HTTP/1.1 200" "asterisk: HTTP/1.1 405" "pipelined: HTTP/1.1 200 OK HTTP/1.1 200 OK True" \
            "beside a slow client: HTTP/1.1 200"; do
  check "raw request, ${want%%:*}: ${want#*: }" grep -qF "$want" "$g/raw.out"
done
check_not "no raw control character reached the log" grep -q $'\x1b' "$TMP/pxed.log"
wait "$slow_pid" || true
check "the slow download went on meanwhile and arrived intact" same_file "$tree/images/mid.img" "$g/slow"

# --- many clients at once: slow ones do not starve a fast one. 130 MiB at
# 1 MB/s is more than loopback's socket buffers hold, so the server is still
# sending to every slow client while the fast one downloads.
pids=()
for i in $(seq 1 20); do
  curl -s --limit-rate 1M -o "$g/c$i" "$u/pub/centos/7/x86_64/images/install.img" &
  pids+=($!)
done
sleep 1
start_ns=$(date +%s%N)
curl -s -o "$g/fast" "$u/pub/centos/7/x86_64/images/install.img"
fast_ms=$((($(date +%s%N) - start_ns) / 1000000))
check "a fast client gets 130 MiB in ${fast_ms} ms beside 20 slow ones (under 15 s)" test "$fast_ms" -lt 15000
check "intact" same_file "$tree/images/install.img" "$g/fast"
rm -f "$g/fast"
check "the 20 slow downloads are all still open" test "$(bash -c "kill -0 ${pids[*]}" 2>&1 | wc -l)" -eq 0
sleep 1
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
good=0
for i in $(seq 1 20); do
  n=$(stat -c %s "$g/c$i")
  ((n > 0)) && cmp -s "$g/c$i" <(head -c "$n" "$tree/images/install.img") && good=$((good + 1))
  rm -f "$g/c$i"
done
check "each slow client had received a correct prefix ($good/20)" test "$good" -eq 20
check "their ends are logged as aborted" wait_for_log '"GET /pub/centos/7/x86_64/images/install.img" 200 aborted after' 5

# --- a reload takes effect for the next request
write_config "  - {mac: 52:54:00:00:00:02, hostname: n2, profile: c7}"
kill -HUP "$PXED_PID"
wait_for_log "reloaded" 10 || true
check "after SIGHUP a new host's kickstart is served" test "$(status "$u/ks/n2.ks")" = 200
check "and the API lists it" grep -q '"52:54:00:00:00:02"' <(curl -s "$u/api/v1/hosts")

stop_pxed
check "pxed stops cleanly" grep -q "stopped" "$TMP/pxed.log"
finish
