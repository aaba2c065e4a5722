#!/usr/bin/env bash
# TFTP under packet loss: how long a 16 MiB file takes when 5% or 10% of UDP
# packets are dropped in each direction, against the loss-free time, with
# clients nobody here wrote (curl, atftp lock-step and windowed, tftp-hpa).
#
#   bench/tftp_loss_bench.sh [--runs N] [--no-peers]
#
# Two network namespaces made here, joined by a veth pair with TEST-NET
# addresses (192.0.2.0/24) that exist only inside them; nftables drops
# packets at random on the input hook of both (this kernel has no netem).
# Prints the median time of N runs per cell (default 5) and its ratio to the
# loss-free median. Then, for context, the peers (tftpd-hpa, dnsmasq,
# atftpd) once each at 5% with curl and a 45 s cap. Needs root. Namespaces,
# processes and files go away on exit.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=${PXED:-$build/src/app/pxed}
runs=5 peers=1
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --no-peers) peers=0 ;;
    *) echo "usage: $0 [--runs N] [--no-peers]"; exit 2 ;;
  esac
  shift
done
[[ $(id -u) -eq 0 ]] || { echo "run as root (creates network namespaces)"; exit 1; }
[[ -x $pxed ]] || { echo "build first: scripts/dev build"; exit 1; }
for c in ip nft atftp curl tftp; do command -v $c >/dev/null || { echo "$c is missing (scripts/dev deps)"; exit 1; }; done

source "$top/bench/lib.sh"
peer_dir=/var/cache/pxed-bench
if ((peers)); then
  bench_install tftpd-hpa dnsmasq-base libwrap0 libpcre2-8-0
  bench_unpack "$peer_dir" atftpd
fi

work=$(mktemp -d /tmp/pxed-lossbench-XXXXXX)
chmod 755 "$work"
ns_s=pxd-lb-s-$$ ns_c=pxd-lb-c-$$
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$ns_s" 2>/dev/null || true
  ip netns del "$ns_c" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source "$top/tests/integration/lossy_link.sh"
lossy_link_up "$ns_s" "$ns_c"

root=$work/root
mkdir -p "$root"
head -c $((16 << 20)) /dev/urandom > "$root/initrd.img"
chmod -R a+rX "$root"

start_server() {  # name
  case $1 in
    pxed)
      cat > "$work/site.yaml" <<YAML
server:
  address: 192.0.2.1
  listen: 192.0.2.1
  state_dir: $work/state
  log: {level: warn}
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: 69, root: $root}
YAML
      ip netns exec "$ns_s" "$pxed" --config "$work/site.yaml" > "$work/pxed.log" 2>&1 & ;;
    tftpd-hpa)
      ip netns exec "$ns_s" in.tftpd --foreground --listen --address 192.0.2.1:69 --secure "$root" \
        > "$work/hpa.log" 2>&1 & ;;
    dnsmasq)
      ip netns exec "$ns_s" dnsmasq --keep-in-foreground --port=0 --listen-address=192.0.2.1 --bind-interfaces \
        --enable-tftp --tftp-root="$root" --log-facility="$work/dnsmasq.log" --pid-file= --user=nobody \
        > /dev/null 2>&1 & ;;
    atftpd)
      ip netns exec "$ns_s" "$peer_dir/usr/sbin/atftpd" --daemon --no-fork --port 69 --bind-address 192.0.2.1 \
        --logfile "$work/atftpd.log" --user nobody.nogroup "$root" > /dev/null 2>&1 & ;;
  esac
  server_pid=$!
  sleep 1
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

set_loss() { lossy_link_set "$1" "$ns_s" "$ns_c"; }
# fetch CLIENT CAP_SECONDS: milliseconds, or "fail"
fetch() { lossy_fetch "$ns_c" "$1" initrd.img "$root/initrd.img" "$2"; }

fmt_s() { [[ $1 == fail ]] && echo "fail" || awk -v m="$1" 'BEGIN { printf(m < 10000 ? "%.0f ms" : "%.1f s", m < 10000 ? m : m / 1000) }'; }
ratio() { [[ $1 == fail || $2 == fail ]] && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / (b > 0 ? b : 1) }'; }

clients=(curl atftp atftp-w16 tftp-hpa)
declare -A med fails
start_server pxed
for pct in 0 5 10; do
  set_loss "$pct"
  declare -A times=()
  for ((r = 0; r < runs; r++)); do
    for c in "${clients[@]}"; do  # interleaved: load from elsewhere hits every client alike
      t=$(fetch "$c" 120)
      if [[ $t == fail ]]; then fails[$c,$pct]=$((${fails[$c,$pct]:-0} + 1)); else times[$c]+=" $t"; fi
    done
  done
  for c in "${clients[@]}"; do med[$c,$pct]=$(bench_median fail <<<"${times[$c]:-}"); done
  unset times
done
set_loss 0
stop_server

printf '\nTFTP, 16 MiB over veth, UDP loss each way, pxed, median of %d runs\n\n' "$runs"
echo "| client | no loss | 5% loss | 5% / no loss | 10% loss | 10% / no loss | failed runs |"
echo "|---|---|---|---|---|---|---|"
declare -A label=([curl]="curl 7.88, blksize 1468 (lock-step)" [atftp]="atftp 0.8, blksize 1468 (lock-step)"
                  [atftp-w16]="atftp 0.8, blksize 1468, windowsize 16" [tftp-hpa]="tftp-hpa 5.2, no options (512-byte blocks)")
for c in "${clients[@]}"; do
  f=0
  for pct in 0 5 10; do f=$((f + ${fails[$c,$pct]:-0})); done
  echo "| ${label[$c]} | $(fmt_s "${med[$c,0]}") | $(fmt_s "${med[$c,5]}") | $(ratio "${med[$c,5]}" "${med[$c,0]}") |" \
       "$(fmt_s "${med[$c,10]}") | $(ratio "${med[$c,10]}" "${med[$c,0]}") | $f of $((3 * runs)) |"
done

if ((peers)); then
  printf '\nPeers, curl, once each (cap 45 s)\n\n'
  echo "| server | no loss | 5% loss |"
  echo "|---|---|---|"
  for s in tftpd-hpa dnsmasq atftpd; do
    start_server "$s"
    set_loss 0
    a=$(fetch curl 45)
    set_loss 5
    b=$(fetch curl 45)
    set_loss 0
    stop_server
    [[ $b == fail ]] && b="not within 45 s" || b=$(fmt_s "$b")
    echo "| $s | $(fmt_s "$a") | $b |"
  done
fi
