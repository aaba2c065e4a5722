#!/usr/bin/env bash
# TFTP benchmark: pxed against tftpd-hpa, atftpd and dnsmasq (Debian's
# packages), same files, one run. Two parts:
#  - loopback: the load generator bench/tftp_load on 127.0.0.1;
#  - real clients: N separate client processes (atftp, curl, tftp-hpa's
#    tftp) in a network namespace, the servers in another, joined by a veth
#    pair that the script creates (namespaces pxh1-cli-PID / pxh1-srv-PID,
#    198.18.23.0/24, the benchmarking range) and deletes on exit.
#
#   bench/tftp_bench.sh [--quick] [--rounds N] [--only loopback|real] [--pin]
#
# --pin: every server on CPU 0, every client on CPU 1 (taskset), as when
# the clients are other machines: the server's own cost per block decides,
# not how the scheduler shares two cores between one server and 50-200
# client processes.
#
# Real-client rows: atftp with blksize 1468 and 512 (lock-step, as firmware
# and pxelinux fetch), curl (blksize 1468), tftp-hpa (no options: 512),
# N = 50 and 200 clients x 16 MiB (--quick: 50 x 4 MiB); one atftp client
# alone; atftp with windowsize 16 where the server grants it. Aggregate
# MB/s = N x size / wall time from the first client's start to the last
# one's end; a round where any client failed counts as "-".
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
quick=0 rounds=3 only= pin=0
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --rounds) rounds=$2; shift ;;
    --only) only=$2; shift ;;
    --pin) pin=1 ;;
    *) echo "usage: $0 [--quick] [--rounds N] [--only loopback|real] [--pin]"; exit 2 ;;
  esac
  shift
done

[[ $(id -u) -eq 0 ]] || { echo "run as root (installs and starts the peer servers on 127.0.0.1)"; exit 1; }
[[ -x $pxed && -x $load ]] || { echo "build first: scripts/dev build"; exit 1; }

# tftpd-hpa and atftpd conflict as packages, so atftpd is unpacked into a
# private directory instead of installed.
source "$top/bench/lib.sh"
peer_dir=/var/cache/pxed-bench
bench_install tftpd-hpa dnsmasq-base libwrap0 libpcre2-8-0 atftp tftp-hpa curl iproute2
bench_unpack "$peer_dir" atftpd
# In case a package did start its service anyway.
pkill -x in.tftpd 2>/dev/null || true
pkill -x atftpd 2>/dev/null || true

work=$(mktemp -d /tmp/pxed-bench-XXXXXX)
chmod 755 "$work"
pids=()
ns_cli=pxh1-cli-$$ ns_srv=pxh1-srv-$$
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rmdir /sys/fs/cgroup/cpuacct/pxed-bench-*-$$ 2>/dev/null || true
  ip netns pids "$ns_cli" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$ns_srv" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$ns_cli" 2>/dev/null || true
  ip netns del "$ns_srv" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

root=$work/root
mkdir -p "$root"
if ((quick)); then big_mib=16; mid_mib=4; clients=50; else big_mib=64; mid_mib=16; clients=200; fi
head -c $((big_mib << 20)) /dev/urandom > "$root/big.img"
head -c $((mid_mib << 20)) /dev/urandom > "$root/mid.img"
chmod -R a+rX "$root"
port_pxed=16901 port_hpa=16902 port_atftpd=16903 port_dnsmasq=69
declare -A ports=([pxed]=$port_pxed [tftpd-hpa]=$port_hpa [atftpd]=$port_atftpd [dnsmasq]=$port_dnsmasq)
declare -A spid=() cg=()
servers=() part=

# start_servers PART ADDR IFACE [NETNS]: starts every server on ADDR
# (inside NETNS when given), each in a cpuacct cgroup of its own.
start_servers() {
  part=$1
  local addr=$2 iface=$3 ns=${4:-} run=()
  ((pin)) && run=(taskset -c 0)
  [[ -n $ns ]] && run+=(ip netns exec "$ns")
  mkdir -p "$work/$part"
  cat > "$work/$part/site.yaml" <<YAML
server:
  address: $addr
  listen: $addr
  state_dir: $work/$part/state
  log: {level: warn}
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  # Every client comes from one address: lift the per-address cap (16 by
  # default) above the 200 concurrent clients of the full run.
  tftp: {port: $port_pxed, root: $root, max_transfers_per_client: 1000}
YAML
  spid=() servers=(pxed tftpd-hpa atftpd)
  "${run[@]}" "$pxed" --config "$work/$part/site.yaml" > "$work/$part/pxed.log" 2>&1 &
  spid[pxed]=$!
  "${run[@]}" in.tftpd --foreground --listen --address "$addr:$port_hpa" --secure "$root" > "$work/$part/hpa.log" 2>&1 &
  spid[tftpd-hpa]=$!
  "${run[@]}" "$peer_dir/usr/sbin/atftpd" --daemon --no-fork --port "$port_atftpd" --bind-address "$addr" \
    --maxthread 1000 --logfile "$work/$part/atftpd.log" --user nobody.nogroup "$root" > /dev/null 2>&1 &
  spid[atftpd]=$!
  if [[ -z $ns ]] && ss -lun 2>/dev/null | grep -q "$addr:69 \|0.0.0.0:69 "; then
    echo "note: port 69 is taken on this machine; dnsmasq (which cannot use another TFTP port) is left out of the $part rows"
  else
    "${run[@]}" dnsmasq --keep-in-foreground --port=0 --listen-address="$addr" --bind-interfaces --interface="$iface" \
      --enable-tftp --tftp-root="$root" --tftp-max=1000 --log-facility="$work/$part/dnsmasq.log" \
      --pid-file="$work/$part/dnsmasq.pid" --user=nobody > /dev/null 2>&1 &
    spid[dnsmasq]=$!
    servers+=(dnsmasq)
  fi
  local s d
  for s in "${servers[@]}"; do pids+=("${spid[$s]}"); done
  sleep 1
  # Server CPU time: each server runs in a cgroup of its own (v1 cpuacct)
  # when the machine has one, which also counts the children tftpd-hpa
  # forks per transfer; otherwise from /proc, which counts children only
  # once they are reaped.
  cg=()
  for s in "${servers[@]}"; do
    d=/sys/fs/cgroup/cpuacct/pxed-bench-$part-$s-$$
    if mkdir "$d" 2>/dev/null && echo "${spid[$s]}" > "$d/cgroup.procs" 2>/dev/null; then cg[$s]=$d; else rmdir "$d" 2>/dev/null || true; fi
  done
}

stop_servers() {
  local s
  for s in "${servers[@]}"; do kill "${spid[$s]}" 2>/dev/null || true; done
  for s in "${servers[@]}"; do wait "${spid[$s]}" 2>/dev/null || true; done
  for s in "${servers[@]}"; do [[ -n ${cg[$s]:-} ]] && rmdir "${cg[$s]}" 2>/dev/null || true; done
}

client_cpu=()
((pin)) && client_cpu=(taskset -c 1)
tick_hz=$(getconf CLK_TCK)
cpu_ns() {
  if [[ -n ${cg[$1]:-} ]]; then cat "${cg[$1]}/cpuacct.usage"
  else awk -v hz="$tick_hz" '{ printf "%.0f\n", ($14 + $15 + $16 + $17) * 1e9 / hz }' "/proc/${spid[$1]}/stat"; fi
}

# The loopback part's client: "MBPS CPU_MS_PER_GIB", or "-" when the
# transfer failed or the server ignored windowsize (it ran lock-step: not
# this row). Row fields: FILE CLIENTS WINDOW.
run_load() {
  local s=$1 file=$2 n=$3 w=$4 size out neg mbps c0 c1
  size=$(stat -c %s "$root/$file")
  c0=$(cpu_ns "$s")
  out=$("${client_cpu[@]}" "$load" --server "$addr" --port "${ports[$s]}" --file "$file" --clients "$n" --blksize 1468 \
                --windowsize "$w" --expect-size "$size" --timeout-ms 1000 2>&1) || { echo "-"; return; }
  c1=$(cpu_ns "$s")
  neg=$(sed -n 's/.*windowsize=\([0-9]*\).*/\1/p' <<<"$out")
  if ((w > 1 && neg != w)); then echo "-"; return; fi
  mbps=$(sed -n 's/.*mbps=\([0-9.]*\).*/\1/p' <<<"$out")
  awk -v m="$mbps" -v c=$((c1 - c0)) -v b=$((size * n)) 'BEGIN { printf "%s %.0f\n", m, c / 1e6 / (b / 1073741824) }'
}

# The real-client part: N client processes started together in the client
# namespace. Row fields: FILE CLIENTS TOOL BLKSIZE WINDOW. "-" when a
# client failed, or (windowsize rows) the server did not grant windowsize.
run_real() {
  local s=$1 file=$2 n=$3 tool=$4 blk=$5 w=$6 size out c0 c1 secs
  size=$(stat -c %s "$root/$file")
  # The OACK is read from a variable, not piped into `grep -q`: with
  # pipefail, grep leaving at its first match made atftp die of SIGPIPE and
  # the row read "-" for every server.
  if ((w > 1)); then
    out=$(ip netns exec "$ns_cli" atftp --trace --option "blksize $blk" --option "windowsize $w" \
          -g -r small.img -l /dev/null "$srv_addr" "${ports[$s]}" 2>&1 || true)
    grep -q "received OACK.*windowsize: $w" <<<"$out" || { echo "-"; return; }
  fi
  c0=$(cpu_ns "$s")
  out=$("${client_cpu[@]}" ip netns exec "$ns_cli" bash "$work/clients.sh" "$tool" "$srv_addr" "${ports[$s]}" "$file" "$n" "$blk" "$w")
  c1=$(cpu_ns "$s")
  read -r secs failed <<<"$out"
  if [[ $failed != 0 ]]; then echo "-"; return; fi
  awk -v t="$secs" -v c=$((c1 - c0)) -v b=$((size * n)) \
    'BEGIN { printf "%.1f %.0f\n", b / t / 1e6, c / 1e6 / (b / 1073741824) }'
}

# print_rows TITLE RUNNER ROW...: one table, rounds interleaved.
print_rows() {
  local title=$1 runner=$2 row name fields r s m line header sep
  shift 2
  printf '\n%s, %d rounds%s\n' "$title" "$rounds" "$( ((pin)) && echo ", servers pinned to CPU 0 and clients to CPU 1")"
  printf 'MB/s: median of the rounds; pxed / peer: median of the per-round ratios\n'
  printf '(each round runs every server once, back to back, so a slow spell of\n'
  printf 'the machine hits them alike); CPU: server CPU time per GiB served, median.\n\n'
  header="| row |" sep="|---|"
  for s in "${servers[@]}"; do header+=" $s MB/s |"; sep+="---|"; done
  for s in "${servers[@]:1}"; do header+=" pxed / $s |"; sep+="---|"; done
  for s in "${servers[@]}"; do header+=" $s CPU ms/GiB |"; sep+="---|"; done
  echo "$header"
  echo "$sep"
  for row in "$@"; do
    name=${row%%|*} fields=${row#*|}
    declare -A mb=() cpu=() rat=() this=()
    for ((r = 0; r < rounds; r++)); do
      for s in "${servers[@]}"; do
        read -r m c <<<"$("$runner" "$s" ${fields//|/ })"
        this[$s]=$m
        mb[$s]+="$m "
        cpu[$s]+="${c:--} "
      done
      for s in "${servers[@]:1}"; do
        [[ ${this[pxed]} == - || ${this[$s]} == - ]] || rat[$s]+="$(awk -v a="${this[pxed]}" -v b="${this[$s]}" 'BEGIN { print a / b }') "
      done
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
    unset mb cpu rat this
  done
}

report_rss() {
  local rss
  rss=$(awk '/VmHWM/ {print $2}' "/proc/${spid[pxed]}/status")
  printf '\npxed peak RSS: %d KiB (%.1f MiB) after the %s rows\n' "$rss" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$part"
}

if [[ $only != real ]]; then
  addr=127.0.0.1
  start_servers loopback "$addr" lo
  print_rows "TFTP on loopback, blksize 1468, client bench/tftp_load" run_load \
    "1 x ${big_mib} MiB, windowsize 1|big.img|1|1" \
    "1 x ${big_mib} MiB, windowsize 16|big.img|1|16" \
    "$clients x ${mid_mib} MiB, windowsize 1|mid.img|$clients|1" \
    "$clients x ${mid_mib} MiB, windowsize 16|mid.img|$clients|16"
  report_rss
  stop_servers
fi

if [[ $only != loopback ]]; then
  # Two namespaces joined by a veth pair (MTU 1500: blksize 1468 fits).
  srv_addr=198.18.23.1 cli_addr=198.18.23.2
  ip netns add "$ns_srv"
  ip netns add "$ns_cli"
  ip link add pxh1-veth-s netns "$ns_srv" type veth peer name pxh1-veth-c netns "$ns_cli"
  ip -n "$ns_srv" addr add "$srv_addr/24" dev pxh1-veth-s
  ip -n "$ns_cli" addr add "$cli_addr/24" dev pxh1-veth-c
  for n in "$ns_srv" "$ns_cli"; do ip -n "$n" link set lo up; done
  ip -n "$ns_srv" link set pxh1-veth-s up
  ip -n "$ns_cli" link set pxh1-veth-c up
  head -c 65536 /dev/urandom > "$root/small.img"
  chmod a+r "$root/small.img"
  # clients.sh TOOL ADDR PORT FILE N BLKSIZE WINDOW: starts N clients at
  # once, waits for all; prints the wall time in seconds and how many failed.
  cat > "$work/clients.sh" <<'SH'
tool=$1 addr=$2 port=$3 file=$4 n=$5 blk=$6 w=$7
opts=(--option "blksize $blk")
((w > 1)) && opts+=(--option "windowsize $w")
t0=$(date +%s%N)
for ((i = 0; i < n; i++)); do
  case $tool in
    atftp) atftp "${opts[@]}" -g -r "$file" -l /dev/null "$addr" "$port" > /dev/null 2>&1 & ;;
    # curl's TFTP waits for ever on a server that went quiet mid-transfer
    # (atftpd under load did): a bound, so the round counts as failed.
    curl) curl -sf --max-time 600 --tftp-blksize "$blk" -o /dev/null "tftp://$addr:$port/$file" & ;;
    tftp-hpa) tftp -m binary "$addr" "$port" -c get "$file" /dev/null > /dev/null 2>&1 & ;;
  esac
done
failed=0
for p in $(jobs -p); do wait "$p" || failed=$((failed + 1)); done
t1=$(date +%s%N)
echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }') $failed"
SH
  start_servers real "$srv_addr" pxh1-veth-s "$ns_srv"
  # Every client fetches the whole file from every server once (sizes
  # checked), before anything is timed.
  for s in "${servers[@]}"; do
    for tool in atftp curl tftp-hpa; do
      rm -f "$work/check.img"
      case $tool in
        atftp) ip netns exec "$ns_cli" atftp --option "blksize 1468" -g -r small.img -l "$work/check.img" "$srv_addr" "${ports[$s]}" > /dev/null 2>&1 || true ;;
        curl) ip netns exec "$ns_cli" curl -sf --tftp-blksize 1468 -o "$work/check.img" "tftp://$srv_addr:${ports[$s]}/small.img" || true ;;
        tftp-hpa) ip netns exec "$ns_cli" tftp -m binary "$srv_addr" "${ports[$s]}" -c get small.img "$work/check.img" > /dev/null 2>&1 || true ;;
      esac
      cmp -s "$work/check.img" "$root/small.img" || { echo "$tool cannot fetch a file from $s: the real-client rows would measure nothing"; exit 1; }
    done
  done
  if ((quick)); then
    sizes=("$clients|${mid_mib}|mid.img")
  else
    sizes=("50|${mid_mib}|mid.img" "200|${mid_mib}|mid.img")
  fi
  real_rows=("1 atftp x ${mid_mib} MiB, blksize 1468|mid.img|1|atftp|1468|1")
  for sz in "${sizes[@]}"; do
    IFS='|' read -r n mib file <<<"$sz"
    real_rows+=("$n atftp x $mib MiB, blksize 1468|$file|$n|atftp|1468|1"
                "$n atftp x $mib MiB, blksize 512|$file|$n|atftp|512|1"
                "$n curl x $mib MiB, blksize 1468|$file|$n|curl|1468|1"
                "$n tftp-hpa x $mib MiB (blksize 512)|$file|$n|tftp-hpa|512|1")
  done
  real_rows+=("$clients atftp x ${mid_mib} MiB, blksize 1468, windowsize 16|mid.img|$clients|atftp|1468|16")
  # TFTP_BENCH_ROWS=regex: only the real-client rows whose label matches
  # (experiments on one row; a full run for the figures).
  if [[ -n ${TFTP_BENCH_ROWS:-} ]]; then
    kept=()
    for r in "${real_rows[@]}"; do [[ ${r%%|*} =~ $TFTP_BENCH_ROWS ]] && kept+=("$r"); done
    ((${#kept[@]})) || { echo "TFTP_BENCH_ROWS=$TFTP_BENCH_ROWS matches no row"; exit 2; }
    real_rows=("${kept[@]}")
  fi
  print_rows "TFTP with real clients: separate processes in a network namespace, servers in another, veth pair" \
    run_real "${real_rows[@]}"
  report_rss
  stop_servers
fi
