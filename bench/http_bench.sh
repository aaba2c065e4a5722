#!/usr/bin/env bash
# HTTP benchmark: pxed against nginx (Debian's package, one worker), same
# files, same client (wrk), one run, loopback.
#
#   bench/http_bench.sh [--quick]
#
# Rows: requests/s for a 4 KiB file over 32 keep-alive connections, and
# MB/s for a 64 MiB file over 4 connections. Then a storm of 128 and 256
# connections (as a rack installing at once): requests/s for the 256 hosts'
# kickstarts (pxed renders each host's, from a site.yaml that lists them;
# nginx serves static copies of `pxed render --out`), and MB/s for 64
# install-tree packages of 1-4 MiB, each connection walking the list. nginx runs with Debian's
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
# The storm's files: 64 packages of 1-4 MiB in an install tree, 256 hosts.
tree=$root/pub/centos/7/x86_64
mkdir -p "$tree/Packages" "$tree/repodata" "$root/k"
for ((i = 0; i < 64; i++)); do
  head -c $(((1 << 20) + (i * 49152))) /dev/urandom > "$tree/Packages/pkg-$i.rpm"
  echo "/pub/centos/7/x86_64/Packages/pkg-$i.rpm" >> "$work/packages.paths"
done
printf '<repomd/>\n' > "$tree/repodata/repomd.xml"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd.img"
storm_hosts=256
site_hosts=$(for ((i = 0; i < storm_hosts; i++)); do
  printf '  - {mac: "52:54:00:66:%02x:%02x", hostname: ks%d, profile: c7}\n' $((i >> 8)) $((i & 255)) "$i"
  printf '/ks/52-54-00-66-%02x-%02x.ks\n' $((i >> 8)) $((i & 255)) >> "$work/ks.paths"
done)
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
  # Every wrk connection comes from 127.0.0.1: lift the per-address cap
  # (32 by default) above the storm's 256.
  http: {port: $port_pxed, max_connections_per_client: 1024}
trees:
  c7: {path: $tree, url: /pub/centos/7/x86_64}
profiles:
  c7:
    kernel: k/vmlinuz
    initrd: k/initrd.img
    tree: c7
    kickstart: centos7.ks
    append: "inst.ks={{kickstart_url}}"
# wrk fetches every host's kickstart from 127.0.0.1, not from each host's
# leased address: documents open to all here (never on a real network).
access: {host_documents: open}
hosts:
$site_hosts
YAML
# nginx serves the same kickstarts, rendered once to static files.
"$pxed" render --config "$work/site.yaml" --out "$work/rendered" > "$work/render.out" 2>&1 ||
  { echo "pxed render failed:"; cat "$work/render.out"; exit 1; }
chmod -R a+rX "$work/rendered"
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
    location /ks/ { root $work/rendered; }
  }
  # For reference: nginx keeping open files for a second, as pxed does.
  server {
    listen $addr:$port_nginx_cache;
    root $root;
    open_file_cache max=1000 inactive=20s;
    open_file_cache_valid 1s;
    location /ks/ { root $work/rendered; }
  }
}
CONF
"${pin_server[@]}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' > "$work/nginx.out" 2>&1 &
pids+=($!)
# Ready when each answers (pxed loads 256 hosts first; the machine may be busy).
for s in "$port_pxed" "$port_nginx" "$port_nginx_cache"; do
  for ((w = 0; w < 200; w++)); do
    curl -sf -o /dev/null "http://$addr:$s/small.bin" && break
    sleep 0.1
  done
done

for s in "$port_pxed" "$port_nginx" "$port_nginx_cache"; do
  if ! cmp -s <(curl -s "http://$addr:$s/small.bin") "$root/small.bin" ||
     ! cmp -s <(curl -s "http://$addr:$s/big.bin") "$root/big.bin" ||
     ! cmp -s <(curl -s "http://$addr:$s/pub/centos/7/x86_64/Packages/pkg-9.rpm") "$tree/Packages/pkg-9.rpm" ||
     ! grep -q "ks255" <<<"$(curl -sf "http://$addr:$s/ks/52-54-00-66-00-ff.ks")"; then
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

# The storm's connections each walk a list of paths (kickstarts, packages),
# starting at different places: wrk -s paths.lua -- LIST.
cat > "$work/paths.lua" <<'LUA'
local paths, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA

# run_wrk PORT FILE CONNECTIONS what(rps|mbps): one run's figure; FILE
# @LIST: the paths in LIST, in turn.
run_wrk() {
  local port=$1 file=$2 conns=$3 what=$4 out target
  target=("http://$addr:$port/$file")
  [[ $file == @* ]] && target=(-s "$work/paths.lua" "http://$addr:$port" -- "${file#@}")
  out=$("${pin_client[@]}" wrk -t1 -c"$conns" -d"${secs}s" --timeout 30s "${target[@]}" 2>&1) || true
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "warning: errors from wrk against port $port:" >&2
    grep "Non-2xx\|Socket errors" <<<"$out" >&2
  fi
  local fig
  if [[ $what == rps ]]; then
    fig=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
  else
    fig=$(sed -n 's/^Transfer\/sec: *\([0-9.]*[KMG]*B\).*/\1/p' <<<"$out" | to_mbps)
  fi
  if [[ -z $fig ]]; then
    echo "warning: no figure from wrk against port $port (is the server still up?):" >&2
    head -n 5 <<<"$out" >&2
    fig=-
  fi
  echo "$fig"
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "-") print a; else print (a + 0 > b + 0) ? a : b }'; }

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
for conns in 128 256; do
  read -r p n c <<<"$(measure "@$work/ks.paths" "$conns" rps)"
  echo "| storm: kickstarts of $storm_hosts hosts, $conns connections, requests/s | $p | $n | $(ratio "$p" "$n") | >= 1.00x | $c | $(ratio "$p" "$c") |"
  read -r p n c <<<"$(measure "@$work/packages.paths" "$conns" mbps)"
  echo "| storm: 1-4 MiB packages, $conns connections, MB/s | $p | $n | $(ratio "$p" "$n") | >= 1.00x | $c | $(ratio "$p" "$c") |"
done
kill -0 "$pxed_pid" 2>/dev/null || { echo "pxed is gone (killed by another process? its log: $work/pxed.out)"; tail -n 3 "$work/pxed.out"; }
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pxed_pid/status" 2>/dev/null || echo 0)
printf '\npxed peak RSS: %.1f MiB; access log lines: pxed %s, nginx (both server blocks) %s\n' "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
  "$(grep -c '"GET ' "$work/pxed.log" || true)" "$(wc -l < "$work/nginx/logs/access.log")"
