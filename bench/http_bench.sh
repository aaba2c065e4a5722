#!/usr/bin/env bash
# HTTP benchmark: pxed against nginx (Debian's package, one worker), same
# files, same client (wrk), one run, loopback.
#
#   bench/http_bench.sh [--quick]
#
# Rows: requests/s for a 4 KiB file over 32 keep-alive connections, and
# MB/s for a 64 MiB file over 4 connections. nginx runs with Debian's
# defaults (no open_file_cache); a second nginx server block with
# open_file_cache on is measured for reference. Both servers log every request
# to a file (as they would in production), both are pinned to CPU 0 and wrk
# to CPU 1 when there are two CPUs. Best of 3 runs per cell (--quick: 1 run,
# 3 s each). Prints pxed / nginx. Needs root (installs nginx and wrk); nginx
# runs on a private config on 127.0.0.1 only and is stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=$build/src/app/pxed
runs=3 secs=10
[[ ${1:-} == --quick ]] && { runs=1; secs=3; }

[[ $(id -u) -eq 0 ]] || { echo "run as root (installs nginx and wrk, binds 127.0.0.1 only)"; exit 1; }
[[ -x $pxed ]] || { echo "build first: scripts/dev build"; exit 1; }

# nginx's package would start a system-wide server on port 80 of every
# interface: bench_install keeps it from starting.
source "$top/bench/lib.sh"
bench_install nginx wrk

work=$(mktemp -d /tmp/pxed-httpbench-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

root=$work/root
mkdir -p "$root" "$work/nginx/logs"
head -c 4096 /dev/urandom > "$root/small.bin"
head -c $((64 << 20)) /dev/urandom > "$root/big.bin"
chmod -R a+rX "$root"

addr=127.0.0.1
port_pxed=18801 port_nginx=18802 port_nginx_cache=18803
pin_server=() pin_client=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then pin_server=(taskset -c 0); pin_client=(taskset -c 1); fi

cat > "$work/site.yaml" <<YAML
server:
  address: $addr
  listen: $addr
  state_dir: $work/state
  log: {level: info, file: $work/pxed.log}
  dhcp: {enabled: false}
  tftp: {enabled: false, root: $root}
  ftp: {enabled: false}
  http: {port: $port_pxed}
YAML
"${pin_server[@]}" "$pxed" --config "$work/site.yaml" > "$work/pxed.out" 2>&1 &
pxed_pid=$!
pids+=("$pxed_pid")

# Debian's defaults where they matter (sendfile, tcp_nopush, one access
# log line per request), one worker, and no cap on requests per kept-alive
# connection (pxed has none either).
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  access_log $work/nginx/logs/access.log;
  server {
    listen $addr:$port_nginx;
    root $root;
  }
  # For reference: nginx keeping open files for a second, as pxed does.
  server {
    listen $addr:$port_nginx_cache;
    root $root;
    open_file_cache max=1000 inactive=20s;
    open_file_cache_valid 1s;
  }
}
CONF
"${pin_server[@]}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' > "$work/nginx.out" 2>&1 &
pids+=($!)
sleep 1

for s in "$port_pxed" "$port_nginx" "$port_nginx_cache"; do
  if ! cmp -s <(curl -s "http://$addr:$s/small.bin") "$root/small.bin" ||
     ! cmp -s <(curl -s "http://$addr:$s/big.bin") "$root/big.bin"; then
    echo "the server on port $s does not serve the files right:"
    cat "$work/pxed.out" "$work/nginx.out" "$work/nginx/logs/error.log" 2>/dev/null || true
    exit 1
  fi
done

# wrk's figures in plain numbers: requests/s, and bytes/s -> MB/s (10^6).
to_mbps() {
  awk '{ v = $1; u = $1; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
         m = (u == "GB") ? 1073741824 : (u == "MB") ? 1048576 : (u == "KB") ? 1024 : 1
         printf "%.1f", v * m / 1e6 }'
}

# run_wrk PORT FILE CONNECTIONS what(rps|mbps): one run's figure
run_wrk() {
  local port=$1 file=$2 conns=$3 what=$4 out
  out=$("${pin_client[@]}" wrk -t1 -c"$conns" -d"${secs}s" --timeout 30s "http://$addr:$port/$file" 2>&1) || true
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "warning: errors from wrk against port $port:" >&2
    grep "Non-2xx\|Socket errors" <<<"$out" >&2
  fi
  if [[ $what == rps ]]; then
    sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out"
  else
    sed -n 's/^Transfer\/sec: *\([0-9.]*[KMG]*B\).*/\1/p' <<<"$out" | to_mbps
  fi
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }

# measure FILE CONNECTIONS what: "pxed nginx nginx-with-cache", each the
# best of $runs, the runs interleaved so that load from elsewhere hits all
# alike.
measure() {
  local file=$1 conns=$2 what=$3 p=0 n=0 c=0
  for ((i = 0; i < runs; i++)); do
    n=$(max "$n" "$(run_wrk "$port_nginx" "$file" "$conns" "$what")")
    p=$(max "$p" "$(run_wrk "$port_pxed" "$file" "$conns" "$what")")
    c=$(max "$c" "$(run_wrk "$port_nginx_cache" "$file" "$conns" "$what")")
  done
  echo "$p $n $c"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

printf '\nHTTP on loopback, wrk -t1, best of %d interleaved runs of %d s; servers on CPU 0, wrk on CPU 1%s\n\n' "$runs" "$secs" \
  "$( ((${#pin_server[@]})) || echo ' (not pinned: taskset or a second CPU missing)')"
echo "| row | pxed | nginx | pxed / nginx | target | nginx + open_file_cache | pxed / that |"
echo "|---|---|---|---|---|---|---|"
read -r p n c <<<"$(measure small.bin 32 rps)"
echo "| 4 KiB file, 32 connections, requests/s | $p | $n | $(ratio "$p" "$n") | >= 0.90x | $c | $(ratio "$p" "$c") |"
read -r p n c <<<"$(measure big.bin 4 mbps)"
echo "| 64 MiB file, 4 connections, MB/s | $p | $n | $(ratio "$p" "$n") | >= 1.00x | $c | $(ratio "$p" "$c") |"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pxed_pid/status")
printf '\npxed peak RSS: %.1f MiB; access log lines: pxed %s, nginx (both server blocks) %s\n' "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
  "$(grep -c '"GET ' "$work/pxed.log" || true)" "$(wc -l < "$work/nginx/logs/access.log")"
