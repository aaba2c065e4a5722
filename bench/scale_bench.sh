#!/usr/bin/env bash
# Large inventories: a generated site.yaml of one profile and N hosts (MAC,
# hostname, reserved IP each), for N = 1,000, 10,000 and 100,000:
#
#   bench/scale_bench.sh [--quick] [--dhcp] [SIZES...]   (--quick: 1000 10000)
#
# Per size: `pxed check` wall time and peak RSS; the daemon's RSS once it
# serves (VmRSS) and its peak (VmHWM); a SIGHUP reload: the time from the
# signal to the "reloaded" line, and the worst and 99th-percentile latency
# of HTTP requests for a host's kickstart (ks/<mac>.ks, rendered on demand,
# new connection each) sent back to back from before the signal until
# after the swap, against the worst latency of the same loop with no
# reload. Everything on 127.0.0.1; nothing is installed. PXED=path/to/pxed
# measures another build (a "before" binary, say).
#
# The machine's own floor: where nginx is installed, the same probe runs for
# as long against nginx (one worker, Debian's defaults, a static copy of the
# same kickstart) right after pxed's idle run, and its worst and p99 are
# printed beside pxed's. On a VM, a request can wait 30-100 ms for a vCPU
# with any server (measured: nginx and an idle pxed alike); a reload's worst
# is only pxed's when it stands above that floor.
#
# --dhcp (root): the daemon and the client run in a network namespace of
# their own (loopback only) with the DHCP server on, so that the swap
# includes the DHCP server's update; the log is at debug level and a last
# column gives the swap's time on the event loop ("reload: the swap took").
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pxed=${PXED:-${PXED_BUILD_DIR:-$top/build}/src/app/pxed}
sizes=(1000 10000 100000)
dhcp=false
while [[ ${1:-} == --* ]]; do
  case $1 in
    --quick) sizes=(1000 10000) ;;
    --dhcp) dhcp=true ;;
    *) echo "unknown option $1"; exit 1 ;;
  esac
  shift
done
(($#)) && sizes=("$@")
[[ -x $pxed ]] || { echo "build first: scripts/dev build (or PXED=...)"; exit 1; }
command -v python3 >/dev/null || { echo "needs python3"; exit 1; }

work=$(mktemp -d /tmp/pxed-scalebench-XXXXXX)
daemon=
nginx_pid=
ns=() netns=
cleanup() {
  [[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  [[ -n $netns ]] && ip netns del "$netns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
if $dhcp; then
  ((EUID == 0)) || { echo "--dhcp needs root (a network namespace of its own)"; exit 1; }
  netns=pxed-scale-$$
  ip netns add "$netns" && ip netns exec "$netns" ip link set lo up
  ns=(ip netns exec "$netns")
fi
mkdir -p "$work/tftp/c7" "$work/tree" "$work/state"
: > "$work/tftp/pxelinux.0"; : > "$work/tftp/ldlinux.c32"
: > "$work/tftp/c7/vmlinuz"; : > "$work/tftp/c7/initrd.img"
printf '[general]\nfamily = CentOS\nversion = 7\narch = x86_64\n' > "$work/tree/.treeinfo"

gen() {  # N FILE TITLE
  python3 - "$@" "$work" "$dhcp" <<'PY'
import sys
n, out, title, w = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
dhcp = sys.argv[5] == "true"
level, enabled = ("debug", "true") if dhcp else ("info", "false")
with open(out, "w") as f:
    f.write(f"""server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: {w}/state
  log: {{level: {level}}}
  dhcp: {{enabled: {enabled}}}
  tftp: {{port: 0, root: {w}/tftp}}
  http: {{port: 0}}
  ftp: {{enabled: false}}
subnets:
  - {{network: 10.0.0.0/8, routers: [10.0.0.1], domain: example.com}}
boot: {{bios: pxelinux.0}}
trees:
  c7: {{path: {w}/tree, url: /pub/c7}}
profiles:
  c7:
    label: Install CentOS 7
    tree: c7
    kernel: c7/vmlinuz
    initrd: c7/initrd.img
    append: "inst.repo={{{{tree_url}}}} inst.ks={{{{kickstart_url}}}}"
    kickstart: centos7.ks
menu: {{title: "{title}", default: local}}
access: {{host_documents: open}}
hosts:
""")
    for a in range(1, n + 1):
        f.write(f"  - {{mac: 52:54:{a >> 24 & 255:02x}:{a >> 16 & 255:02x}:{a >> 8 & 255:02x}:{a & 255:02x}, "
                f"hostname: node{a:06d}, ip: 10.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}, profile: c7}}\n")
PY
}

# latency URL SECONDS|untilfile: GETs URL back to back, one connection
# each; prints "count worst_ms p99_ms failures".
latency() {
  "${ns[@]}" python3 - "$@" <<'PY'
import http.client, os, sys, time, urllib.parse
url, until = sys.argv[1], sys.argv[2]
u = urllib.parse.urlsplit(url)
lat, fails = [], 0
stop = time.monotonic() + float(until) if until.replace('.', '').isdigit() else None
while True:
    if stop is not None and time.monotonic() > stop: break
    if stop is None and os.path.exists(until): break
    t = time.monotonic()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        c.request("GET", u.path); r = c.getresponse(); r.read(); c.close()
        if r.status != 200: fails += 1
    except Exception:
        fails += 1
    lat.append((time.monotonic() - t) * 1000)
lat.sort()
print(len(lat), f"{lat[-1]:.1f}", f"{lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0]:.1f}", fails)
PY
}

kb_of() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# nginx_start FILE: nginx on a free port of 127.0.0.1 serving FILE as /ks.ks
# (in the bench's namespace with --dhcp); sets nginx_pid and nginx_port, or
# leaves them empty.
nginx_port=
nginx_start() {
  command -v nginx >/dev/null || return 0
  mkdir -p "$work/nginx/www" "$work/nginx/logs" "$work/nginx/tmp"
  cp "$1" "$work/nginx/www/ks.ks"
  chmod a+rx "$work"; chmod -R a+rX "$work/nginx"  # its worker runs as nobody
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events {}
http {
  sendfile on; tcp_nopush on;
  access_log $work/nginx/logs/access.log;
  client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp; fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp; scgi_temp_path $work/nginx/tmp;
  server { listen 127.0.0.1:$port; root $work/nginx/www; }
}
CONF
  "${ns[@]}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>> "$work/nginx/logs/error.log" &
  nginx_pid=$!
  for _ in $(seq 50); do "${ns[@]}" curl -fs -o /dev/null "http://127.0.0.1:$port/ks.ks" && { nginx_port=$port; return 0; }; sleep 0.1; done
  echo "warning: nginx did not start; no floor column (see $work/nginx/logs/error.log)" >&2
  kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null; nginx_pid=
}

printf '%-8s %9s %9s %10s %10s %9s %12s %12s %12s %10s %10s%s\n' hosts check_s check_MiB daemon_MiB peak_MiB reload_s worst_ms_idle worst_ms_ngx \
  worst_ms_rld p99_ms_idle p99_ms_rld "$($dhcp && echo ' swap_us')"
for n in "${sizes[@]}"; do
  site=$work/site-$n.yaml
  gen "$n" "$site" "Menu A"
  # check: wall time and peak RSS (GNU time's %M, KiB).
  /usr/bin/time -f "%e %M" -o "$work/time" "$pxed" check --offline --config "$site" > "$work/check.out" 2>&1 || {
    echo "pxed check failed for $n hosts:"; tail -n 5 "$work/check.out"; exit 1; }
  read -r check_s check_kb < "$work/time"

  rm -rf "$work/state"; mkdir -p "$work/state"
  : > "$work/pxed.log"
  "${ns[@]}" "$pxed" --config "$site" >> "$work/pxed.log" 2>&1 &
  daemon=$!
  for _ in $(seq 600); do grep -q "serving " "$work/pxed.log" && break; sleep 0.5; done
  port=$(sed -n 's/.*http: listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/pxed.log" | head -n 1)
  mid=$((n / 2))
  mac=$(printf '52-54-%02x-%02x-%02x-%02x' $((mid >> 24 & 255)) $((mid >> 16 & 255)) $((mid >> 8 & 255)) $((mid & 255)))
  url="http://127.0.0.1:$port/ks/$mac.ks"
  "${ns[@]}" curl -fs -o /dev/null "$url" || { echo "cannot fetch $url"; exit 1; }
  sleep 1
  rss_kb=$(kb_of "$daemon" VmRSS)
  read -r _ idle_worst idle_p99 _ < <(latency "$url" 3)
  ngx_worst=-
  if [[ -z $nginx_pid ]]; then
    "${ns[@]}" curl -fs -o "$work/ks.copy" "$url"
    nginx_start "$work/ks.copy"
  fi
  [[ -n $nginx_pid && -n $nginx_port ]] &&
    read -r _ ngx_worst _ _ < <(latency "http://127.0.0.1:$nginx_port/ks.ks" 3)

  # The reload: a new menu title, so the swap is visible.
  gen "$n" "$site" "Menu B"
  rm -f "$work/done"
  latency "$url" "$work/done" > "$work/rl" &
  lat_pid=$!
  sleep 1
  before=$(grep -c "reloaded " "$work/pxed.log" || true)
  t0=$(date +%s.%N)
  kill -HUP "$daemon"
  until (($(grep -c "reloaded \|reload failed" "$work/pxed.log" || true) > before)); do sleep 0.01; done
  t1=$(date +%s.%N)
  sleep 0.5
  touch "$work/done"
  wait "$lat_pid"
  read -r _ rl_worst rl_p99 rl_fail < "$work/rl"
  hwm_kb=$(kb_of "$daemon" VmHWM)
  grep -q "reload failed" "$work/pxed.log" && { echo "reload failed:"; tail -n 5 "$work/pxed.log"; exit 1; }
  kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=
  ((rl_fail == 0)) || echo "warning: $rl_fail request(s) failed during the reload"
  swap=
  $dhcp && swap=" $(sed -n 's/.*reload: the swap took \([0-9]*\) us.*/\1/p' "$work/pxed.log" | tail -n 1)"
  printf '%-8s %9s %9.0f %10.0f %10.0f %9.2f %12s %12s %12s %10s %10s%s\n' "$n" "$check_s" "$((check_kb / 1024))" \
    "$((rss_kb / 1024))" "$((hwm_kb / 1024))" "$(awk -v a="$t0" -v b="$t1" "BEGIN { print b - a }")" "$idle_worst" "$ngx_worst" \
    "$rl_worst" "$idle_p99" "$rl_p99" "$swap"
done
