# A link that loses packets, shared by tests/integration/tftp_loss_test.sh
# and bench/tftp_loss_bench.sh: two network namespaces joined by a veth pair
# with TEST-NET addresses that exist only inside them (192.0.2.1 on the
# server side, 192.0.2.2 on the client side), nftables dropping a share of
# UDP packets at random, and the TFTP clients fetching across it. Source
# it; deleting the namespaces is the caller's.

# lossy_link_up SERVER_NS CLIENT_NS: fails if the namespaces cannot be made.
lossy_link_up() {
  local s=$1 c=$2 ns
  ip netns add "$s" || return 1
  ip netns add "$c" || return 1
  ip link add veth-s netns "$s" type veth peer name veth-c netns "$c"
  ip -n "$s" addr add 192.0.2.1/24 dev veth-s
  ip -n "$c" addr add 192.0.2.2/24 dev veth-c
  for ns in "$s" "$c"; do ip -n "$ns" link set lo up; done
  ip -n "$s" link set veth-s up
  ip -n "$c" link set veth-c up
}

# lossy_link_set PERCENT NS...: drops on the input hook of each namespace,
# so both directions lose packets and no sender sees an error (a drop on
# the output hook makes sendto() fail with EPERM, which curl treats as
# fatal: not what a lossy wire does). 0 removes the drops.
lossy_link_set() {
  local pct=$1 ns
  shift
  for ns in "$@"; do
    ip netns exec "$ns" nft delete table inet pxedloss 2>/dev/null || true
    ((pct > 0)) || continue
    ip netns exec "$ns" nft -f - <<NFT
table inet pxedloss {
  chain in { type filter hook input priority 0; meta l4proto udp numgen random mod 100 < $pct drop; }
}
NFT
  done
}

# lossy_fetch CLIENT_NS CLIENT FILE ORIGINAL CAP_SECONDS: fetches FILE from
# 192.0.2.1:69 into a temporary file with CLIENT (curl, atftp, atftp-w16,
# tftp-hpa), timed inside the client namespace. Prints milliseconds, or
# "fail" when the bytes differ from ORIGINAL or the cap ran out.
lossy_fetch() {
  local ns=$1 client=$2 file=$3 original=$4 cap=$5 out ms cmd
  out=$(mktemp /tmp/pxed-lossy-XXXXXX)
  case $client in
    curl) cmd=(curl -s --tftp-blksize 1468 -o "$out" "tftp://192.0.2.1/$file") ;;
    atftp) cmd=(atftp --option "blksize 1468" -g -r "$file" -l "$out" 192.0.2.1 69) ;;
    atftp-w16) cmd=(atftp --option "blksize 1468" --option "windowsize 16" -g -r "$file" -l "$out" 192.0.2.1 69) ;;
    tftp-hpa) cmd=(tftp -m binary 192.0.2.1 -c get "$file" "$out") ;;
    *) echo "lossy_fetch: unknown client $client" >&2; rm -f "$out"; return 2 ;;
  esac
  ms=$(ip netns exec "$ns" bash -c 's=$(date +%s%N); timeout "$0" "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000))' \
         "$cap" "${cmd[@]}" || true)
  if cmp -s "$out" "$original"; then echo "$ms"; else echo fail; fi
  rm -f "$out"
}
