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

source "$SRC/tests/integration/lossy_link.sh"
ns_s=pxed-loss-s-$$
ns_c=pxed-loss-c-$$
on_exit ip netns del "$ns_s"
on_exit ip netns del "$ns_c"
lossy_link_up "$ns_s" "$ns_c" || skip_all "cannot create network namespaces here"

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

set_loss() { lossy_link_set "$1" "$ns_s" "$ns_c"; }
fetch() { lossy_fetch "$ns_c" "$1" initrd.img "$root/initrd.img" 120; }

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
