#!/usr/bin/env bash
# TFTP to firmware: OVMF's own PXE client (QEMU, a virtio NIC without option
# ROM, as uefi-norom in the network-boot test) fetching one big boot file from
# pxed and from dnsmasq, rounds interleaved. Issue 23: pxed resent nearly
# every window to this client (7,211 for 7,507 blocks) before its ACK could
# arrive, and was slower than dnsmasq for it.
#
#   bench/tftp_firmware_bench.sh [--rounds N] [--size MIB]
#
# The boot file is a real EFI image, GRUB (grub-mkimage) with a memdisk of
# random bytes that makes it MIB MiB (default 11: about 7,500 blocks of
# 1468 bytes, the size of the issue's grubx64.efi). OVMF asks for blksize
# 1468 and windowsize 4; pxed grants both, dnsmasq (no RFC 7440) runs
# lock-step. The network and the machine are the e2e test's: namespaces made
# here (server 10.77.0.2 on a veth, client side a bridge with QEMU's tap),
# boot_vm from tests/integration/e2e_vm.sh, TCG. Once the server has logged
# the transfer, the machine is stopped (GRUB would go on looking for its
# config).
#
# Figures come from a capture on the server's interface, the same way for
# both servers: the transfer's time from its first DATA to the last ACK, MB/s
# from that, and its retransmissions (a DATA block sent again); for pxed also
# the count in its own log line. Prints each round, then medians and the
# median of the per-round pxed/dnsmasq ratios. Needs root. Namespaces,
# processes and files go away on exit (PXED_BENCH_KEEP=1 keeps the files:
# captures, logs, serial consoles). Namespace names start with
# $PXED_BENCH_NS (default pxd-fwb).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=${PXED:-$build/src/app/pxed}
rounds=3 size_mib=11
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --size) size_mib=$2; shift ;;
    *) echo "usage: $0 [--rounds N] [--size MIB]"; exit 2 ;;
  esac
  shift
done
[[ $rounds =~ ^[1-9][0-9]*$ && $size_mib =~ ^[1-9][0-9]*$ ]] || { echo "--rounds and --size take positive integers"; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run as root (creates network namespaces and a tap device)"; exit 1; }
[[ -x $pxed ]] || { echo "build first: scripts/dev build"; exit 1; }
for c in ip dnsmasq qemu-system-x86_64 grub-mkimage tcpdump python3 tar; do
  command -v $c >/dev/null || { echo "$c is missing (scripts/dev deps)"; exit 1; }
done
OVMF=/usr/share/ovmf/OVMF.fd
[[ -e $OVMF && -c /dev/net/tun ]] || { echo "needs $OVMF (ovmf) and /dev/net/tun"; exit 1; }

TMP=$(mktemp -d /tmp/pxed-fwbench-XXXXXX)
chmod 755 "$TMP"
prefix=${PXED_BENCH_NS:-pxd-fwb}
S=$prefix-s-$$ C=$prefix-c-$$
ACCEL=tcg VM_TIMEOUT=${PXED_BENCH_VM_TIMEOUT:-180}
server_pid= capture_pid= vm_pid=
cleanup() {
  set +e
  [[ -n $vm_pid ]] && { kill "$(cat "$TMP/vm.pid" 2>/dev/null)" 2>/dev/null; wait "$vm_pid" 2>/dev/null; }
  for p in $server_pid $capture_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for ns in $C $S; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  if [[ -n ${PXED_BENCH_KEEP:-} ]]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
source "$top/tests/integration/e2e_vm.sh"

# --- the boot file ---------------------------------------------------------------
root=$TMP/tftp
mkdir -p "$root/memdisk"
head -c $((size_mib << 20)) /dev/urandom > "$root/memdisk/pad"
tar -C "$root/memdisk" -cf "$TMP/memdisk.tar" pad
rm -rf "$root/memdisk"
grub-mkimage -O x86_64-efi -o "$root/big.efi" -p /grub -m "$TMP/memdisk.tar" efinet tftp net normal memdisk tar
chmod -R a+rX "$root"
bytes=$(stat -c %s "$root/big.efi")

# --- the network (as the e2e test's) -----------------------------------------------
for ns in $S $C; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip netns exec "$C" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add eth0 netns "$S" type veth peer name up0 netns "$C"
ip -n "$C" link add br0 type bridge
ip -n "$C" link set up0 master br0 up
ip -n "$C" tuntap add dev tap0 mode tap
ip -n "$C" link set tap0 master br0 up
ip -n "$C" link set br0 up
ip -n "$S" addr add 10.77.0.2/24 dev eth0
ip -n "$S" link set eth0 up

start_server() {  # pxed | dnsmasq
  : > "$TMP/$1.log"
  case $1 in
    pxed)
      cat > "$TMP/site.yaml" <<YAML
server:
  address: 10.77.0.2
  interfaces: [eth0]
  state_dir: $TMP/state
  log: {level: info}
  tftp: {root: $root}
  http: {enabled: false}
  ftp: {enabled: false}
subnets:
  - network: 10.77.0.0/24
    ranges: [10.77.0.100-10.77.0.150]
    lease_time: 10m
boot:
  uefi-x64: big.efi
YAML
      ip netns exec "$S" "$pxed" --config "$TMP/site.yaml" >> "$TMP/pxed.log" 2>&1 & ;;
    dnsmasq)
      ip netns exec "$S" dnsmasq --keep-in-foreground --port=0 --interface=eth0 --bind-interfaces \
        --dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,10m --dhcp-boot=big.efi \
        --dhcp-leasefile="$TMP/dnsmasq.leases" --enable-tftp --tftp-root="$root" --user=root \
        --conf-file=/dev/null --pid-file= --log-facility="$TMP/dnsmasq.log" > /dev/null 2>&1 & ;;
  esac
  server_pid=$!
  bench_wait_udp "$S" 69 || { echo "$1 did not start" >&2; return 1; }
}
stop_server() {
  bench_stop "$server_pid"
  server_pid=
}
# transfer_logged SERVER: the server has logged the end of big.efi's transfer.
transfer_logged() {
  case $1 in
    pxed) grep -q '"big.efi" completed' "$TMP/pxed.log" ;;
    # dnsmasq says "sent" for the size probe OVMF aborts (error 8) too.
    dnsmasq) (($(grep -c 'sent .*/big.efi to ' "$TMP/dnsmasq.log") > $(grep -c 'error 8 ' "$TMP/dnsmasq.log"))) ;;
  esac
}

# One fetch: prints "SECONDS RESENT [LOGGED]" of the big transfer, or "fail".
ANALYSE=$(cat <<'PY'
import struct, sys
f = open(sys.argv[1], 'rb'); gh = f.read(24)
nano = struct.unpack('<I', gh[:4])[0] == 0xa1b23c4d
flows = {}
while True:
    h = f.read(16)
    if len(h) < 16: break
    ts, tu, caplen, _ = struct.unpack('<IIII', h)
    d = f.read(caplen)
    t = ts + tu / (1e9 if nano else 1e6)
    if len(d) < 46 or d[12:14] != b'\x08\x00' or d[23] != 17: continue
    ihl = (d[14] & 15) * 4
    src = d[26:30]; sp, dp = struct.unpack('>HH', d[14 + ihl:18 + ihl])
    if 69 in (sp, dp) or len(d) < 14 + ihl + 12: continue
    op, blk = struct.unpack('>HH', d[14 + ihl + 8:14 + ihl + 12])
    server = src == bytes([10, 77, 0, 2])
    key = (dp, sp) if server else (sp, dp)
    flows.setdefault(key, []).append((t, server, op, blk))
best = max(flows.values(), key=lambda ev: sum(1 for e in ev if e[1] and e[2] == 3), default=[])
data = [e for e in best if e[1] and e[2] == 3]
acks = [e for e in best if not e[1] and e[2] == 4]
if len(data) < 100 or not acks:
    print("fail"); sys.exit()
sent, resent, epoch, last = set(), 0, 0, 0
for t, _, _, b in data:
    if b < last and last - b > 32768: epoch += 1   # 16-bit block numbers roll over
    last = b
    k = (epoch, b)
    if k in sent: resent += 1
    sent.add(k)
print("%.3f %d" % (acks[-1][0] - data[0][0], resent))
PY
)
fetch() {  # SERVER ROUND
  local srv=$1 name=$1-$2 i
  start_server "$srv" || { stop_server; echo fail; return; }
  ip netns exec "$S" tcpdump -i eth0 -s 96 -U -w "$TMP/$name.pcap" udp > /dev/null 2>&1 &
  capture_pid=$!
  sleep 0.5
  boot_vm vm 52:54:00:f1:0b:01 uefi none > /dev/null 2>&1 &
  vm_pid=$!
  for ((i = 0; i < VM_TIMEOUT * 10; i++)); do
    transfer_logged "$srv" && break
    kill -0 "$vm_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$(cat "$TMP/vm.pid" 2>/dev/null)" 2>/dev/null || true
  wait "$vm_pid" 2>/dev/null || true
  vm_pid=
  sleep 0.3
  kill "$capture_pid" 2>/dev/null || true
  wait "$capture_pid" 2>/dev/null || true
  capture_pid=
  stop_server
  if ! transfer_logged "$srv"; then echo fail; return; fi
  local r logged=
  r=$(python3 -c "$ANALYSE" "$TMP/$name.pcap")
  [[ $srv == pxed ]] && logged=$(sed -n 's/.*"big.efi" completed: .* \([0-9][0-9]*\) retransmissions.*/\1/p' "$TMP/pxed.log" | tail -n 1)
  echo "$r $logged"
}

mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.2f", b / s / 1e6 }'; }
source "$top/bench/lib.sh"
echo "# OVMF's PXE client (QEMU TCG, $(qemu-system-x86_64 --version | head -n 1 | sed 's/.*version \([^ ]*\).*/\1/')) fetching big.efi, $bytes bytes ($(( (bytes + 1467) / 1468 )) blocks of 1468)"
echo "# $rounds rounds, pxed then dnsmasq $(dnsmasq --version | head -n 1 | awk '{ print $3 }') in each; the machine: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-6s %-8s %9s %8s %14s\n' round server seconds MB/s retransmissions
declare -a rates_p=() rates_d=() ratios=() resent_p=() resent_d=()
for ((r = 1; r <= rounds; r++)); do
  p=$(fetch pxed "$r")
  d=$(fetch dnsmasq "$r")
  for pair in "pxed:$p" "dnsmasq:$d"; do
    srv=${pair%%:*} v=${pair#*:}
    if [[ $v == fail* ]]; then printf '%-6s %-8s %9s\n' "$r" "$srv" fail; continue; fi
    read -r secs resent logged <<<"$v"
    printf '%-6s %-8s %9s %8s %14s\n' "$r" "$srv" "$secs" "$(mbps "$secs")" "$resent${logged:+ (log: $logged)}"
  done
  [[ $p == fail* || $d == fail* ]] && continue
  read -r ps pr _ <<<"$p"; read -r ds dr _ <<<"$d"
  rates_p+=("$(mbps "$ps")") rates_d+=("$(mbps "$ds")") resent_p+=("$pr") resent_d+=("$dr")
  ratios+=("$(awk -v a="$ds" -v b="$ps" 'BEGIN { printf "%.3f", a / b }')")
done
echo
echo "median MB/s: pxed $(echo "${rates_p[*]:-}" | bench_median), dnsmasq $(echo "${rates_d[*]:-}" | bench_median)"
echo "median retransmissions: pxed $(echo "${resent_p[*]:-}" | bench_median), dnsmasq $(echo "${resent_d[*]:-}" | bench_median)"
echo "pxed / dnsmasq (median of the per-round ratios): $(echo "${ratios[*]:-}" | bench_median)x"
