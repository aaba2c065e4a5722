#!/usr/bin/env bash
# FTP benchmark: one 1 GiB download over loopback from pxed and from vsftpd
# (Debian's package), same client (curl, to /dev/null), same generated file,
# passive mode. Prints MB/s per server (best and median of N runs, the
# servers taking turns) and pxed's ratio. Then a storm: 128 and 256
# concurrent sessions (curl --parallel, one process) fetching install-tree
# packages of 1-4 MiB, 4 per session; aggregate MB/s, the servers taking
# turns in each run.
#
#   bench/ftp_bench.sh [--runs N] [--size-mib M]
#
# Needs root: it installs vsftpd (without letting the package start its
# system-wide service) and runs it with a private config, anonymous and
# read-only, on 127.0.0.1 and an unprivileged port. Everything it starts
# is stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=$build/src/app/pxed
runs=5
size_mib=1024
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --size-mib) size_mib=$2; shift 2 ;;
    *) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

[[ $(id -u) -eq 0 ]] || { echo "run as root (installs vsftpd and starts it on 127.0.0.1)"; exit 1; }
[[ -x $pxed ]] || { echo "build first: scripts/dev build (or set PXED_BUILD_DIR)"; exit 1; }
command -v curl >/dev/null || { echo "curl is needed (scripts/dev deps)"; exit 1; }

# The package would start vsftpd on port 21 of every interface:
# bench_install keeps it from starting.
source "$top/bench/lib.sh"
bench_install vsftpd
vsftpd_bin=/usr/sbin/vsftpd

work=$(mktemp -d /tmp/pxed-ftp-bench-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# vsftpd chroots anonymous users into anon_root and refuses a root the ftp
# user can write to: root-owned, 755.
root=$work/root
mkdir -p "$root/pub" "$work/tftp" "$work/empty"
head -c $((size_mib << 20)) /dev/urandom > "$root/pub/big.img"
# The storm's packages: 64 files of 1-4 MiB.
mkdir -p "$root/pub/Packages"
pkg_bytes=0
for ((i = 0; i < 64; i++)); do
  head -c $(((1 << 20) + (i * 49152))) /dev/urandom > "$root/pub/Packages/pkg-$i.rpm"
  pkg_bytes=$((pkg_bytes + (1 << 20) + i * 49152))
done
chmod -R a+rX,go-w "$root"
sum=$(sha256sum < "$root/pub/big.img" | cut -d' ' -f1)

port_pxed=$((21000 + RANDOM % 1000))
port_vsftpd=$((port_pxed + 1))
pasv_pxed=$((40000 + RANDOM % 5000))
pasv_vsftpd=$((pasv_pxed + 1000))

cat > "$work/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $work/state
  log: {level: warn}
  dhcp: {enabled: false}
  http: {enabled: false}
  tftp: {enabled: false, root: $work/tftp}
  # Every session comes from 127.0.0.1: lift the per-address cap (8 by
  # default) above the storm's 256; passive ports for 256 at once.
  ftp: {port: $port_pxed, passive_ports: $pasv_pxed-$((pasv_pxed + 600)), max_sessions_per_client: 1024}
trees:
  bench: {path: $root/pub, url: /pub, protocol: ftp}
YAML

# vsftpd's own defaults otherwise (sendfile on, ASCII mangling off).
cat > "$work/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port_vsftpd
anonymous_enable=YES
local_enable=NO
write_enable=NO
anon_upload_enable=NO
anon_mkdir_write_enable=NO
anon_root=$root
no_anon_password=YES
pasv_enable=YES
pasv_min_port=$pasv_vsftpd
pasv_max_port=$((pasv_vsftpd + 600))
pasv_address=127.0.0.1
port_enable=NO
seccomp_sandbox=NO
secure_chroot_dir=$work/empty
background=NO
xferlog_enable=NO
vsftpd_log_file=$work/vsftpd.log
CONF

"$pxed" --config "$work/site.yaml" > "$work/pxed.log" 2>&1 &
pxed_pid=$!
pids+=("$pxed_pid")
"$vsftpd_bin" "$work/vsftpd.conf" > "$work/vsftpd.out" 2>&1 &
pids+=($!)
sleep 1
kill -0 "$pxed_pid" 2>/dev/null || { echo "pxed did not start:"; cat "$work/pxed.log"; exit 1; }
kill -0 "${pids[1]}" 2>/dev/null || { echo "vsftpd did not start:"; cat "$work/vsftpd.out"; exit 1; }

# One download's MB/s from PORT ("-" if it failed).
once() {
  local bytes_per_s
  bytes_per_s=$(curl -sS --max-time 120 -o /dev/null -w '%{speed_download}' "ftp://127.0.0.1:$1/pub/big.img") || { echo "-"; return; }
  awk -v b="$bytes_per_s" 'BEGIN { printf "%.1f", b / 1e6 }'
}
# Best and median of a list of figures ("-" entries ignored).
stats() {
  tr ' ' '\n' <<<"$*" | grep -v '^-$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- -"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f %.1f\n", v[NR], m }'
}
ratio() { [[ $1 == - || $2 == - ]] && echo "-" || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

# Each server's bytes are checked once (hashing 1 GiB takes longer than
# sending it); the timed runs then alternate between the servers, so a
# burst of load on this machine hits both alike.
for p in "$port_pxed" "$port_vsftpd"; do
  got=$(curl -sS --max-time 120 "ftp://127.0.0.1:$p/pub/big.img" | sha256sum | cut -d' ' -f1)
  [[ $got == "$sum" ]] || { echo "the download from port $p does not match the file"; exit 1; }
done
px_runs=() vs_runs=()
for ((i = 0; i < runs; i++)); do
  px_runs+=("$(once "$port_pxed")")
  vs_runs+=("$(once "$port_vsftpd")")
done
read -r px_best px_median <<<"$(stats "${px_runs[@]}")"
read -r vs_best vs_median <<<"$(stats "${vs_runs[@]}")"

echo "FTP on loopback: 1 x ${size_mib} MiB RETR, passive (EPSV), curl to /dev/null, MB/s over $runs alternating runs"
echo "pxed runs:   ${px_runs[*]}"
echo "vsftpd runs: ${vs_runs[*]}"
echo
echo "| row | pxed | vsftpd $(dpkg-query -W -f='${Version}' vsftpd 2>/dev/null) | pxed / vsftpd |"
echo "|---|---|---|---|"
echo "| 1 x ${size_mib} MiB, best | $px_best | $vs_best | $(ratio "$px_best" "$vs_best") |"
echo "| 1 x ${size_mib} MiB, median | $px_median | $vs_median | $(ratio "$px_median" "$vs_median") |"

# storm PORT SESSIONS: "MB/s FAILED" for SESSIONS curl processes at once,
# each one session fetching 4 packages (the 64 in turn), as many installers
# would; MB/s counts the bytes of the transfers that succeeded, FAILED the
# transfers that did not (curl's exit code, or a short file).
storm() {
  local port=$1 n=$2 i k t0 t1 args
  rm -rf "$work/storm"; mkdir -p "$work/storm"
  t0=${EPOCHREALTIME/./}
  for ((i = 0; i < n; i++)); do
    args=()
    for ((k = 0; k < 4; k++)); do args+=(-o /dev/null "ftp://127.0.0.1:$port/pub/Packages/pkg-$(((i * 4 + k) % 64)).rpm"); done
    curl -sS --max-time 300 -w '%{exitcode} %{size_download}\n' "${args[@]}" > "$work/storm/$i" 2> "$work/storm/$i.err" &
  done
  wait
  t1=${EPOCHREALTIME/./}
  for ((i = 0; i < n; i++)); do
    for ((k = 0; k < 4; k++)); do echo $(((1 << 20) + ((i * 4 + k) % 64) * 49152)); done
  done > "$work/storm.want"
  cat "$work/storm"/*.err | sort | uniq -c | sort -rn | head -n 2 | sed "s/^/  port $port, $n sessions: /" >&2
  # Results in each process's URL order, against the sizes wanted.
  for ((i = 0; i < n; i++)); do cat "$work/storm/$i"; done |
    paste -d' ' - "$work/storm.want" |
    awk -v us=$((t1 - t0)) -v n=$((n * 4)) '$1 == 0 && $2 == $3 { ok++; b += $2 }
      END { printf "%.1f %d\n", b / us, n - ok }'
}
echo
echo "Storm: N curl processes at once (one session each, 4 packages of 1-4 MiB), MB/s of the transfers"
echo "that succeeded over $runs alternating runs (median), failed transfers summed over the runs"
echo "| row | pxed | failed | vsftpd | failed | pxed / vsftpd |"
echo "|---|---|---|---|---|---|"
for n in 128 256; do
  px_runs=() vs_runs=() px_fail=0 vs_fail=0
  for ((i = 0; i < runs; i++)); do
    read -r m f <<<"$(storm "$port_vsftpd" "$n")"; vs_runs+=("$m"); vs_fail=$((vs_fail + f))
    read -r m f <<<"$(storm "$port_pxed" "$n")"; px_runs+=("$m"); px_fail=$((px_fail + f))
  done
  read -r _ px_median <<<"$(stats "${px_runs[@]}")"
  read -r _ vs_median <<<"$(stats "${vs_runs[@]}")"
  echo "| $n sessions x 4 packages | $px_median | $px_fail | $vs_median | $vs_fail | $(ratio "$px_median" "$vs_median") |"
done
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pxed_pid/status" 2>/dev/null || echo "? (pxed is gone)")
printf '\npxed peak RSS: %s KiB\n' "$rss"
