#!/usr/bin/env bash
# TFTP under packet loss: how long a 16 MiB file takes when 5% or 10% of UDP
# packets are dropped in each direction, against the loss-free time, with
# clients nobody here wrote (curl, atftp lock-step and windowed, tftp-hpa).
#
#   bench/tftp_loss_bench.sh [--runs N] [--no-peers] [--loss "0 5 10"]
#
# Two network namespaces made here, joined by a veth pair with TEST-NET
# addresses (192.0.2.0/24) that exist only inside them; nftables drops
# packets at random on the input hook of both (this kernel has no netem).
# Prints the median time of N runs per cell (default 5) and its ratio to the
# median at the first loss rate. --loss takes the rates in percent, first
# the reference (0); decimals down to 0.01 ("0 0.2 1": a loss every few
# hundred blocks, mostly isolated timeouts). PXED_BASELINE=/path/to/old/pxed
# runs that binary too, restarted in turn with pxed for every run, so
# before/after figures come from one run on a machine whose load varies.
# Then, for context, the peers (tftpd-hpa, dnsmasq, atftpd) once each at 5%
# with curl and a 45 s cap. Needs root. Namespaces, processes and files go
# away on exit.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=${PXED:-$build/src/app/pxed}
baseline=${PXED_BASELINE:-}
runs=5 peers=1 losses=(0 5 10)
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --no-peers) peers=0 ;;
    --loss) read -r -a losses <<<"$2"; shift ;;
    *) echo "usage: $0 [--runs N] [--no-peers] [--loss \"0 5 10\"]"; exit 2 ;;
  esac
  shift
done
[[ $(id -u) -eq 0 ]] || { echo "run as root (creates network namespaces)"; exit 1; }
[[ -x $pxed ]] || { echo "build first: scripts/dev build"; exit 1; }
[[ -z $baseline || -x $baseline ]] || { echo "PXED_BASELINE: $baseline is not an executable"; exit 1; }
for pct in "${losses[@]}"; do
  [[ $pct =~ ^[0-9]+(\.[0-9]{1,2})?$ ]] && awk -v p="$pct" 'BEGIN { exit !(p < 100) }' ||
    { echo "--loss: $pct is not a percentage below 100 with at most two decimals"; exit 2; }
done
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

start_server() {  # name [binary, for pxed]
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
      ip netns exec "$ns_s" "${2:-$pxed}" --config "$work/site.yaml" >> "$work/pxed.log" 2>&1 & ;;
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
  bench_wait_udp "$ns_s" 69 || { echo "$1 did not start" >&2; return 1; }
}
stop_server() {
  bench_stop "$server_pid"
  server_pid=
}

# set_loss PERCENT: lossy_link_set's drop on the input hook of both
# namespaces, in hundredths of a percent so that rates below 1% (isolated
# losses) can be set too.
set_loss() {
  local per10k ns
  per10k=$(awk -v p="$1" 'BEGIN { printf "%d", p * 100 + 0.5 }')
  for ns in "$ns_s" "$ns_c"; do
    ip netns exec "$ns" nft delete table inet pxedloss 2>/dev/null || true
    ((per10k > 0)) || continue
    ip netns exec "$ns" nft -f - <<NFT
table inet pxedloss {
  chain in { type filter hook input priority 0; meta l4proto udp numgen random mod 10000 < $per10k drop; }
}
NFT
  done
}
# fetch CLIENT CAP_SECONDS: milliseconds, or "fail"
fetch() { lossy_fetch "$ns_c" "$1" initrd.img "$root/initrd.img" "$2"; }

fmt_s() { [[ $1 == fail ]] && echo "fail" || awk -v m="$1" 'BEGIN { printf(m < 10000 ? "%.0f ms" : "%.1f s", m < 10000 ? m : m / 1000) }'; }
ratio() { [[ $1 == fail || $2 == fail ]] && echo "-" || awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { printf "%.*fx", d, a / (b > 0 ? b : 1) }'; }

clients=(curl atftp atftp-w16 tftp-hpa)
builds=(pxed)
declare -A binary=([pxed]=$pxed)
[[ -n $baseline ]] && builds+=(baseline) && binary[baseline]=$baseline
declare -A med fails
((${#builds[@]} > 1)) || start_server pxed
for pct in "${losses[@]}"; do
  set_loss "$pct"
  declare -A times=()
  for ((r = 0; r < runs; r++)); do
    for b in "${builds[@]}"; do
      ((${#builds[@]} == 1)) || start_server pxed "${binary[$b]}"
      for c in "${clients[@]}"; do  # interleaved: load from elsewhere hits every client alike
        t=$(fetch "$c" 120)
        if [[ $t == fail ]]; then fails[$b,$c,$pct]=$((${fails[$b,$c,$pct]:-0} + 1)); else times[$b,$c]+=" $t"; fi
      done
      ((${#builds[@]} == 1)) || stop_server
    done
  done
  for b in "${builds[@]}"; do
    for c in "${clients[@]}"; do med[$b,$c,$pct]=$(bench_median fail <<<"${times[$b,$c]:-}"); done
  done
  unset times
done
set_loss 0
[[ -z $server_pid ]] || stop_server

ref=${losses[0]}
declare -A label=([curl]="curl 7.88, blksize 1468 (lock-step)" [atftp]="atftp 0.8, blksize 1468 (lock-step)"
                  [atftp-w16]="atftp 0.8, blksize 1468, windowsize 16" [tftp-hpa]="tftp-hpa 5.2, no options (512-byte blocks)")
for b in "${builds[@]}"; do
  [[ $b == pxed ]] && name="pxed ($pxed)" || name="baseline ($baseline)"
  printf '\nTFTP, 16 MiB over veth, UDP loss each way, %s, median of %d runs\n\n' "$name" "$runs"
  head="| client | $ref% loss |" rule="|---|---|"
  for pct in "${losses[@]:1}"; do head+=" $pct% loss | $pct% / $ref% |"; rule+="---|---|"; done
  echo "$head failed runs |"
  echo "$rule---|"
  for c in "${clients[@]}"; do
    f=0 row="| ${label[$c]} | $(fmt_s "${med[$b,$c,$ref]}") |"
    for pct in "${losses[@]}"; do f=$((f + ${fails[$b,$c,$pct]:-0})); done
    for pct in "${losses[@]:1}"; do
      row+=" $(fmt_s "${med[$b,$c,$pct]}") | $(ratio "${med[$b,$c,$pct]}" "${med[$b,$c,$ref]}") |"
    done
    echo "$row $f of $((${#losses[@]} * runs)) |"
  done
done
if [[ -n $baseline ]]; then
  printf '\npxed / baseline, medians of the same runs\n\n'
  head="| client |" rule="|---|"
  for pct in "${losses[@]}"; do head+=" $pct% loss |"; rule+="---|"; done
  echo "$head"
  echo "$rule"
  for c in "${clients[@]}"; do
    row="| ${label[$c]} |"
    for pct in "${losses[@]}"; do row+=" $(ratio "${med[pxed,$c,$pct]}" "${med[baseline,$c,$pct]}" 2) |"; done
    echo "$row"
  done
fi

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
