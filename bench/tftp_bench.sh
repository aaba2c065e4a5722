#!/usr/bin/env bash
# TFTP benchmark: pxed against tftpd-hpa, atftpd and dnsmasq (Debian's
# packages), same client (bench/tftp_load), same files, one run, loopback.
#
#   bench/tftp_bench.sh [--quick] [--rounds N]
#
# Rows: one 64 MiB file at blksize 1468 with windowsize 1 and 16 (where the
# server supports it), and N concurrent clients each fetching 16 MiB (N=200;
# --quick uses 50 and smaller files). Every server runs once per round, in
# turn; prints the median MB/s per server, the median of pxed's per-round
# ratio to each peer, each server's CPU time per GiB served, and pxed's peak
# RSS. Needs root (it installs the peers and binds their ports on 127.0.0.1
# only). Every server is stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=$build/src/app/pxed
load=$build/bench/tftp_load
quick=0 rounds=3
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --rounds) rounds=$2; shift ;;
    *) echo "usage: $0 [--quick] [--rounds N]"; exit 2 ;;
  esac
  shift
done

[[ $(id -u) -eq 0 ]] || { echo "run as root (installs and starts the peer servers on 127.0.0.1)"; exit 1; }
[[ -x $pxed && -x $load ]] || { echo "build first: scripts/dev build"; exit 1; }

# tftpd-hpa and atftpd conflict as packages, so atftpd is unpacked into a
# private directory instead of installed.
source "$top/bench/lib.sh"
peer_dir=/var/cache/pxed-bench
bench_install tftpd-hpa dnsmasq-base libwrap0 libpcre2-8-0
bench_unpack "$peer_dir" atftpd
# In case a package did start its service anyway.
pkill -x in.tftpd 2>/dev/null || true
pkill -x atftpd 2>/dev/null || true

work=$(mktemp -d /tmp/pxed-bench-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rmdir /sys/fs/cgroup/cpuacct/pxed-bench-*-$$ 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

root=$work/root
mkdir -p "$root"
if ((quick)); then big_mib=16; mid_mib=4; clients=50; else big_mib=64; mid_mib=16; clients=200; fi
head -c $((big_mib << 20)) /dev/urandom > "$root/big.img"
head -c $((mid_mib << 20)) /dev/urandom > "$root/mid.img"
chmod -R a+rX "$root"

addr=127.0.0.1
port_pxed=16901 port_hpa=16902 port_atftpd=16903 port_dnsmasq=69

cat > "$work/site.yaml" <<YAML
server:
  address: $addr
  listen: $addr
  state_dir: $work/state
  log: {level: warn}
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  # Every client of the load generator is 127.0.0.1: lift the per-address
  # cap (16 by default) above the 200 concurrent clients of the full run.
  tftp: {port: $port_pxed, root: $root, max_transfers_per_client: 1000}
YAML
"$pxed" --config "$work/site.yaml" > "$work/pxed.log" 2>&1 &
pxed_pid=$!
pids+=("$pxed_pid")
in.tftpd --foreground --listen --address "$addr:$port_hpa" --secure "$root" > "$work/hpa.log" 2>&1 &
pids+=($!)
declare -A spid=([pxed]=$pxed_pid [tftpd-hpa]=$!)
"$peer_dir/usr/sbin/atftpd" --daemon --no-fork --port "$port_atftpd" --bind-address "$addr" --maxthread 1000 \
  --logfile "$work/atftpd.log" --user nobody.nogroup "$root" > /dev/null 2>&1 &
pids+=($!)
spid[atftpd]=$!
have_dnsmasq=1
if ss -lun 2>/dev/null | grep -q "$addr:69 \|0.0.0.0:69 "; then
  echo "note: port 69 is taken on this machine; dnsmasq (which cannot use another TFTP port) is left out"
  have_dnsmasq=0
else
  dnsmasq --keep-in-foreground --port=0 --listen-address="$addr" --bind-interfaces --interface=lo \
    --enable-tftp --tftp-root="$root" --tftp-max=1000 --log-facility="$work/dnsmasq.log" \
    --pid-file="$work/dnsmasq.pid" --user=nobody > /dev/null 2>&1 &
  pids+=($!)
  spid[dnsmasq]=$!
fi
sleep 1

# Server CPU time so far, in nanoseconds. Each server runs in a cgroup of
# its own (v1 cpuacct) when the machine has one, which also counts the
# children tftpd-hpa forks per transfer; otherwise from /proc, which counts
# children only once they are reaped.
cg_root=/sys/fs/cgroup/cpuacct
declare -A cg=()
for s in "${!spid[@]}"; do
  d=$cg_root/pxed-bench-$s-$$
  if mkdir "$d" 2>/dev/null && echo "${spid[$s]}" > "$d/cgroup.procs" 2>/dev/null; then cg[$s]=$d; else rmdir "$d" 2>/dev/null || true; fi
done
tick_hz=$(getconf CLK_TCK)
cpu_ns() {
  if [[ -n ${cg[$1]:-} ]]; then cat "${cg[$1]}/cpuacct.usage"
  else awk -v hz="$tick_hz" '{ printf "%.0f\n", ($14 + $15 + $16 + $17) * 1e9 / hz }' "/proc/${spid[$1]}/stat"; fi
}

# run_once SERVER FILE CLIENTS WINDOW: "MBPS CPU_MS_PER_GIB", or "-" when the
# transfer failed or the server ignored windowsize (it ran lock-step: not
# this row).
run_once() {
  local s=$1 file=$2 n=$3 w=$4 size out neg mbps c0 c1
  size=$(stat -c %s "$root/$file")
  c0=$(cpu_ns "$s")
  out=$("$load" --server "$addr" --port "${ports[$s]}" --file "$file" --clients "$n" --blksize 1468 \
                --windowsize "$w" --expect-size "$size" --timeout-ms 1000 2>&1) || { echo "-"; return; }
  c1=$(cpu_ns "$s")
  neg=$(sed -n 's/.*windowsize=\([0-9]*\).*/\1/p' <<<"$out")
  if ((w > 1 && neg != w)); then echo "-"; return; fi
  mbps=$(sed -n 's/.*mbps=\([0-9.]*\).*/\1/p' <<<"$out")
  awk -v m="$mbps" -v c=$((c1 - c0)) -v b=$((size * n)) 'BEGIN { printf "%s %.0f\n", m, c / 1e6 / (b / 1073741824) }'
}

ratio() { [[ $1 == - || $2 == - ]] && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

declare -A ports=([pxed]=$port_pxed [tftpd-hpa]=$port_hpa [atftpd]=$port_atftpd)
servers=(pxed tftpd-hpa atftpd)
if ((have_dnsmasq)); then ports[dnsmasq]=$port_dnsmasq; servers+=(dnsmasq); fi

rows=("1 x ${big_mib} MiB, windowsize 1|big.img|1|1"
      "1 x ${big_mib} MiB, windowsize 16|big.img|1|16"
      "$clients x ${mid_mib} MiB, windowsize 1|mid.img|$clients|1"
      "$clients x ${mid_mib} MiB, windowsize 16|mid.img|$clients|16")

printf '\nTFTP on loopback, blksize 1468, client bench/tftp_load, %d rounds\n' "$rounds"
printf 'MB/s: median of the rounds; pxed / peer: median of the per-round ratios\n'
printf '(each round runs every server once, back to back, so a slow spell of\n'
printf 'the machine hits them alike); CPU: server CPU time per GiB served, median.\n\n'
header="| row |"
sep="|---|"
for s in "${servers[@]}"; do header+=" $s MB/s |"; sep+="---|"; done
for s in "${servers[@]:1}"; do header+=" pxed / $s |"; sep+="---|"; done
for s in "${servers[@]}"; do header+=" $s CPU ms/GiB |"; sep+="---|"; done
echo "$header"
echo "$sep"
for row in "${rows[@]}"; do
  IFS='|' read -r name file n w <<<"$row"
  declare -A mb=() cpu=() rat=()
  for ((r = 0; r < rounds; r++)); do
    declare -A this=()
    for s in "${servers[@]}"; do
      read -r m c <<<"$(run_once "$s" "$file" "$n" "$w")"
      this[$s]=$m
      mb[$s]+="$m "
      cpu[$s]+="${c:--} "
    done
    for s in "${servers[@]:1}"; do
      [[ ${this[pxed]} == - || ${this[$s]} == - ]] || rat[$s]+="$(awk -v a="${this[pxed]}" -v b="${this[$s]}" 'BEGIN { print a / b }') "
    done
    unset this
  done
  line="| $name |"
  for s in "${servers[@]}"; do
    m=$(bench_median <<<"${mb[$s]}")
    [[ $m == - ]] && line+=" - |" || line+=" $(awk -v m="$m" 'BEGIN { printf "%.1f", m }') |"
  done
  for s in "${servers[@]:1}"; do
    m=$(bench_median <<<"${rat[$s]:-}")
    [[ $m == - ]] && line+=" - |" || line+=" $(awk -v m="$m" 'BEGIN { printf "%.2fx", m }') |"
  done
  for s in "${servers[@]}"; do
    m=$(bench_median <<<"${cpu[$s]}")
    [[ $m == - ]] && line+=" - |" || line+=" $(awk -v m="$m" 'BEGIN { printf "%.0f", m }') |"
  done
  echo "$line"
  unset mb cpu rat
done
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pxed_pid/status")
printf '\npxed peak RSS: %d KiB (%.1f MiB) after all rows\n' "$rss" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
