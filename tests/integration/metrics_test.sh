#!/usr/bin/env bash
# Prometheus metrics (docs/metrics.md) against the real thing: pxed on
# loopback as the README's demo runs it, traffic from clients nobody here
# wrote (tftp-hpa, curl over HTTP and FTP), every scrape checked by
# `promtool check metrics`, and the counters checked to move by exactly what
# the clients did. Then who may scrape (access.api.read_from), reloads, and
# server.metrics.listen.
# Usage: metrics_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v promtool >/dev/null || skip_all "promtool is not installed (Debian package prometheus; scripts/dev deps)"
for c in curl tftp python3; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done

root=$TMP/root
tree=$TMP/tree
g=$TMP/get
mkdir -p "$root/k" "$tree/Packages" "$g"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
head -c 100000 /dev/urandom > "$root/boot.bin"
head -c 12345 /dev/urandom > "$tree/Packages/a.rpm"
pasv_first=$((20000 + RANDOM % 20000))

write_config() {  # extra server lines
  cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  tftp: {port: 0, root: $root}
  http: {port: 0}
  ftp: {port: 0, passive_ports: $pasv_first-$((pasv_first + 20))}
$1
trees:
  c7: {path: $tree, url: /pub/centos/7/x86_64}
profiles:
  c7: {kernel: k/vmlinuz, initrd: k/initrd.img, tree: c7}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: n1, profile: c7}
  - {mac: 52:54:00:00:00:02, hostname: n2, profile: c7}
access:
  api: {read_from: [127.0.0.1/32]}
YAML
}
write_config ""
start_pxed "$TMP/site.yaml"
http_port=$(bound_port http)
tftp_port=$(bound_port tftp)
ftp_port=$(bound_port " ftp")
check "pxed reports its ports" test -n "$http_port" -a -n "$tftp_port" -a -n "$ftp_port"
u=http://127.0.0.1:$http_port

# scrape NAME [URL]: the page into $TMP/NAME.txt (its path printed).
scrape() {
  local f=$TMP/$1.txt
  curl -s -m 10 -o "$f" "${2:-$u/metrics}"
  echo "$f"
}
lint() {  # FILE: promtool's verdict, its complaints shown
  local out
  if out=$(promtool check metrics < "$1" 2>&1); then return 0; fi
  echo "$out" | head -n 20
  return 1
}
# val FILE SAMPLE: the value of one sample, by its exact name and labels; 0 when absent.
val() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }
# moved FILE-BEFORE FILE-AFTER SAMPLE EXPECTED
moved() {
  local a b
  a=$(val "$1" "$3")
  b=$(val "$2" "$3")
  if [[ $(python3 -c "print(float('$b') - float('$a'))") == $(python3 -c "print(float('$4'))") ]]; then return 0; fi
  echo "  $3: $a -> $b, wanted +$4"
  return 1
}

m0=$(scrape m0)
check "GET /metrics answers" test -s "$m0"
check "promtool check metrics passes on a fresh daemon" lint "$m0"
check "Content-Type is the text format 0.0.4" \
  test "$(curl -s -o /dev/null -D - "$u/metrics" | tr -d '\r' | sed -n 's/^Content-Type: //Ip')" = "text/plain; version=0.0.4; charset=utf-8"
check "HELP and TYPE for every family" grep -q '^# TYPE pxed_tftp_transfer_duration_seconds histogram$' "$m0"
check "build info carries the version" grep -q '^pxed_build_info{version="[0-9.]*"} 1$' "$m0"
check "hosts by lifecycle state" test "$(val "$m0" 'pxed_hosts{state="pending"}')" = 2
check "the config's hash" grep -q '^pxed_config_info{hash="[0-9a-f]\{16\}"} 1$' "$m0"
loaded=$(val "$m0" pxed_config_loaded_timestamp_seconds)
check "the config's load time is now-ish ($loaded)" test $(( $(date +%s) - ${loaded%.*} )) -lt 60
check "no MAC or path in any label" bash -c "! grep -Eq '([0-9a-f]{2}:){5}|/' <(grep -v '^#' '$m0')"

# --- traffic
m1=$(scrape m1)
for i in 1 2; do tftp -m binary 127.0.0.1 "$tftp_port" -c get boot.bin "$g/boot$i" >/dev/null 2>&1 || true; done
check "tftp-hpa got the file" same_file "$root/boot.bin" "$g/boot2"
tftp -m binary 127.0.0.1 "$tftp_port" -c get no-such-file "$g/none" >/dev/null 2>&1 || true
for i in 1 2 3; do curl -s -o "$g/a$i" "$u/pub/centos/7/x86_64/Packages/a.rpm"; done
check "curl got the file over HTTP" same_file "$tree/Packages/a.rpm" "$g/a3"
curl -s -o /dev/null "$u/no-such-file"
for i in 1 2; do curl -s -m 30 -o "$g/f$i" "ftp://127.0.0.1:$ftp_port/pub/centos/7/x86_64/Packages/a.rpm"; done
check "curl got the file over FTP" same_file "$tree/Packages/a.rpm" "$g/f2"
# tftp-hpa exits on sending its last ACK: the transfer ends (and is counted,
# and logged) when pxed has read it.
for _ in $(seq 200); do (($(grep -c 'boot.bin" completed' "$TMP/pxed.log") >= 2)) && break; sleep 0.05; done
m2=$(scrape m2)
check "promtool check metrics passes after traffic" lint "$m2"

check "TFTP: two transfers started" moved "$m1" "$m2" pxed_tftp_transfers_started_total 2
check "TFTP: two completed" moved "$m1" "$m2" 'pxed_tftp_transfers_finished_total{outcome="completed"}' 2
check "TFTP: none failed" moved "$m1" "$m2" 'pxed_tftp_transfers_finished_total{outcome="error_sent"}' 0
check "TFTP: the missing file refused as not found" moved "$m1" "$m2" 'pxed_tftp_requests_refused_total{reason="not_found"}' 1
check "TFTP: bytes acknowledged" moved "$m1" "$m2" pxed_tftp_sent_bytes_total 200000
# Loopback loses nothing, but a busy machine can make a timer fire first:
# the metric must say what the transfers' log lines say.
logged=$(sed -n 's/.*tftp: .* \([0-9][0-9]*\) retransmissions.*/\1/p' "$TMP/pxed.log" | awk '{ s += $1 } END { print s + 0 }')
check "TFTP: retransmissions as logged ($logged)" moved "$m1" "$m2" pxed_tftp_retransmissions_total "$logged"
check "TFTP: two durations observed" moved "$m1" "$m2" pxed_tftp_transfer_duration_seconds_count 2
check "TFTP: in the +Inf bucket too" moved "$m1" "$m2" 'pxed_tftp_transfer_duration_seconds_bucket{le="+Inf"}' 2
check "TFTP: none running now" test "$(val "$m2" pxed_tftp_transfers_active)" = 0
# The scrape that wrote m1 is itself a 200 counted once it was sent.
check "HTTP: three files and one scrape answered 200" moved "$m1" "$m2" 'pxed_http_responses_total{code="200"}' 4
check "HTTP: one 404" moved "$m1" "$m2" 'pxed_http_responses_total{code="404"}' 1
nf=$(curl -s -o /dev/null -w '%{size_download}' "$u/no-such-file")  # the 404 page's size
m1_size=$(stat -c %s "$m1")
check "HTTP: body bytes" moved "$m1" "$m2" pxed_http_sent_bytes_total $((3 * 12345 + nf + m1_size))
check "HTTP: nothing aborted" moved "$m1" "$m2" pxed_http_responses_aborted_total 0
active=$(val "$m2" pxed_http_connections_active)
check "HTTP: the scraping connection is open ($active; curls before it may not be closed yet)" test "$active" -ge 1 -a "$active" -le 6
check "FTP: two RETRs completed" moved "$m1" "$m2" 'pxed_ftp_transfers_total{command="RETR",outcome="completed"}' 2
check "FTP: bytes" moved "$m1" "$m2" pxed_ftp_sent_bytes_total $((2 * 12345))
check "FTP: two 226 replies" moved "$m1" "$m2" 'pxed_ftp_replies_total{code="226"}' 2
check "FTP: two sessions" moved "$m1" "$m2" pxed_ftp_sessions_accepted_total 2
check "DHCP is off: no pool" bash -c "! grep -q '^pxed_dhcp_pool_addresses{' '$m2'"

# --- who may scrape: access.api.read_from, like the API's reads
check "from outside access.api.read_from: 403" \
  test "$(curl -s --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$u/metrics")" = 403
check "POST: 405" test "$(curl -s -X POST -o /dev/null -w '%{http_code}' "$u/metrics")" = 405

# --- reloads
hash0=$(grep -o '^pxed_config_info{hash="[0-9a-f]*"}' "$m2")
write_config "  log: {level: info}"
kill -HUP "$PXED_PID"
wait_for_log "reloaded " 10 || true
m3=$(scrape m3)
check "a reload that loaded counts as ok" moved "$m2" "$m3" 'pxed_config_reloads_total{result="ok"}' 1
check "and the hash follows the file" bash -c "! grep -q '^${hash0//\"/\\\"}' '$m3'"
check "last reload successful" test "$(val "$m3" pxed_config_last_reload_successful)" = 1
printf 'server: [\n' > "$TMP/site.yaml"
kill -HUP "$PXED_PID"
wait_for_log "reload failed" 10 || true
m4=$(scrape m4)
check "a rejected reload counts as failed" moved "$m3" "$m4" 'pxed_config_reloads_total{result="failed"}' 1
check "last reload successful is 0" test "$(val "$m4" pxed_config_last_reload_successful)" = 0
check "promtool check metrics passes after reloads" lint "$m4"
stop_pxed

# --- server.metrics.listen: a listener of its own, /metrics off the HTTP port
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_config "  metrics: {listen: \"127.0.0.1:$mport\"}"
start_pxed "$TMP/site.yaml"
http_port=$(bound_port http)
check "the listener is logged" grep -q "metrics: /metrics on 127.0.0.1:$mport" "$TMP/pxed.log"
m5=$(scrape m5 "http://127.0.0.1:$mport/metrics")
check "scraped on its own port" lint "$m5"
check "and only /metrics there" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/k/vmlinuz")" = 404
check "/metrics is gone from the HTTP port" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/metrics")" = 404
check "the listener keeps the access rule" \
  test "$(curl -s --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/metrics")" = 403
stop_pxed

write_config "  metrics: {enabled: false}"
start_pxed "$TMP/site.yaml"
http_port=$(bound_port http)
check "metrics off: 404" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/metrics")" = 404
stop_pxed

# The alert rules docs/metrics.md offers must load in Prometheus.
awk '/^## Example alert rules/ { f = 1 } f && /^```yaml/ { g = 1; next } g && /^```/ { exit } g' \
  "$SRC/docs/metrics.md" > "$TMP/rules.yml"
check "docs/metrics.md's alert rules pass promtool check rules" promtool check rules "$TMP/rules.yml"

finish
