#!/usr/bin/env bash
# TFTP under packet loss, between two network namespaces this test creates
# (veth, 192.0.2.0/24 TEST-NET addresses that exist only inside them), with
# nftables dropping a share of UDP packets in both directions at random.
# PXE ROMs rarely negotiate a timeout, so pxed's retransmission timer follows
# the measured round trip: a lost packet should cost milliseconds, not the
# seconds a fixed timer costs. Prints the slowdown against no loss; the
# speed target itself lives in bench/. Usage: tftp_loss_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

[[ $(id -u) -eq 0 ]] || skip_all "needs root to create network namespaces"
for c in ip nft atftp curl; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done

ns_s=pxed-loss-s-$$
ns_c=pxed-loss-c-$$
ip netns add "$ns_s" || skip_all "cannot create network namespaces here"
on_exit ip netns del "$ns_s"
ip netns add "$ns_c"
on_exit ip netns del "$ns_c"
ip link add veth-s netns "$ns_s" type veth peer name veth-c netns "$ns_c"
ip -n "$ns_s" addr add 192.0.2.1/24 dev veth-s
ip -n "$ns_c" addr add 192.0.2.2/24 dev veth-c
for ns in "$ns_s" "$ns_c"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_s" link set veth-s up
ip -n "$ns_c" link set veth-c up

root=$TMP/root
mkdir -p "$root"
head -c $((16 << 20)) /dev/urandom > "$root/initrd.img"
cat > "$TMP/site.yaml" <<YAML
server:
  address: 192.0.2.1
  listen: 192.0.2.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: 69, root: $root}
YAML
start_pxed "$TMP/site.yaml" ip netns exec "$ns_s"

# Drops on the input hook of each namespace: both directions lose packets,
# and no sender sees an error (a drop on the output hook makes sendto()
# fail with EPERM, which curl treats as fatal: not what a lossy wire does).
set_loss() {  # percent
  local ns
  for ns in "$ns_s" "$ns_c"; do
    ip netns exec "$ns" nft delete table inet pxedloss 2>/dev/null || true
    (($1 > 0)) || continue
    ip netns exec "$ns" nft -f - <<NFT
table inet pxedloss {
  chain in { type filter hook input priority 0; meta l4proto udp numgen random mod 100 < $1 drop; }
}
NFT
  done
}

# fetch CLIENT: prints milliseconds, or "fail"
fetch() {
  local out=$TMP/got t0 t1
  rm -f "$out"
  t0=$(date +%s%N)
  case $1 in
    atftp) timeout 120 ip netns exec "$ns_c" atftp --option "blksize 1468" -g -r initrd.img -l "$out" 192.0.2.1 69 >/dev/null 2>&1 || true ;;
    atftp-w16) timeout 120 ip netns exec "$ns_c" atftp --option "blksize 1468" --option "windowsize 16" -g -r initrd.img -l "$out" 192.0.2.1 69 >/dev/null 2>&1 || true ;;
    curl)  timeout 120 ip netns exec "$ns_c" curl -s --tftp-blksize 1468 -o "$out" tftp://192.0.2.1/initrd.img || true ;;
  esac
  t1=$(date +%s%N)
  if cmp -s "$out" "$root/initrd.img"; then echo $(((t1 - t0) / 1000000)); else echo fail; fi
}

# atftp 0.8 answers only the first duplicate of a block and then waits for
# its own 5 s timer; it gets through quickly only because pxed sends the
# blocks after the unanswered ones (the look-ahead in tftp_transfer.hpp).
# Medians over several runs and the peers' figures: bench/tftp_loss_bench.sh.
for client in atftp atftp-w16 curl; do
  set_loss 0
  base=$(fetch $client)
  check "$client: 16 MiB over veth without loss (${base} ms)" test "$base" != fail
  for pct in 5 10; do
    set_loss $pct
    t=$(fetch $client)
    if [[ $t != fail && $base != fail ]]; then
      ratio=$(awk -v a="$t" -v b="$base" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }')
      ok "$client: 16 MiB with ${pct}% loss each way arrives intact in ${t} ms (${ratio}x the loss-free time)"
    else
      bad "$client: 16 MiB with ${pct}% loss each way did not arrive intact"
    fi
  done
done
set_loss 0
grep -o '"initrd.img" completed: .*' "$TMP/pxed.log" | sed 's/^/# /'
stop_pxed
finish
