#!/usr/bin/env bash
# Ubuntu autoinstall's cloud-init NoCloud seed over pxed's HTTP, with curl,
# all on loopback (Linux answers for the whole of 127.0.0.0/8, so curl
# --interface 127.0.0.5 is the host's own reserved address and 127.0.0.1
# anyone else's):
# - the host's boot config names its seed, ds=nocloud-net;s=<url>/ with the
#   install token as a path segment (token=<hex>, which logs redact);
# - cloud-init's three fetches (<url>meta-data, user-data, vendor-data) work
#   from anywhere with that URL, and from the host's address without a token;
# - without the token, with a wrong one, or over TFTP they are refused, and
#   the log never holds the whole token.
# Usage: nocloud_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v curl >/dev/null || skip_all "curl is not installed (scripts/dev deps)"
command -v tftp >/dev/null || skip_all "tftp-hpa is not installed (scripts/dev deps)"

root=$TMP/root
mkdir -p "$root/k"
printf 'kernel' > "$root/k/vmlinuz"
printf 'initrd' > "$root/k/initrd"
cat > "$TMP/site.yaml" <<YAML
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  log: {level: debug}
  dhcp: {enabled: false}
  tftp: {port: 0, root: $root}
  http: {port: 0}
  ftp: {enabled: false}
subnets:
  - {network: 127.0.0.0/8, routers: [127.0.0.1]}
profiles:
  u: {kernel: k/vmlinuz, initrd: k/initrd, kickstart: ubuntu-autoinstall.yaml,
      append: "autoinstall ds=nocloud-net;s={{nocloud_url}}"}
lifecycle: {install_done: callback}
access: {host_documents: address-or-token}
hosts:
  - {mac: "52:54:00:00:24:01", hostname: u1, ip: 127.0.0.5, profile: u}
YAML
start_pxed "$TMP/site.yaml"
U=http://127.0.0.1:$(bound_port http)
D=52-54-00-00-24-01
get() {  # URL [curl-args...]: prints the status; body in $TMP/body
  curl -s --path-as-is -m 10 -o "$TMP/body" -w '%{http_code}' "${@:2}" "$1" || true
}

check "the host's boot config, from its address (200)" test "$(get "$U/pxelinux.cfg/01-$D" --interface 127.0.0.5)" = 200
seed=$(sed -n 's/.* ds=nocloud-net;s=\([^ ]*\).*/\1/p' "$TMP/body" | head -n 1)
# Rendered with the configured port, 0 here: the one bound instead.
seed=${seed/127.0.0.1:0\//${U#http://}/}
token=$(sed -n "s|.*/ks/nocloud/$D/token=\([0-9a-f]*\)/\$|\1|p" <<<"$seed")
check "... names its seed with a 32-hex token as a path segment: ${seed%token=*}token=..." grep -Eq '^[0-9a-f]{32}$' <<<"$token"
check "the GRUB config has the ; escaped" \
  bash -c "curl -s --interface 127.0.0.5 '$U/grub.cfg-01-$D' | grep -qF 'ds=nocloud-net\;s=http://127.0.0.1:0/ks/nocloud/$D/token=$token/'"

# What cloud-init does with s=: append the file names.
check "meta-data with the seed URL, from anywhere (200)" test "$(get "${seed}meta-data")" = 200
check "... a new instance-id per install generation, and the hostname" \
  test "$(cat "$TMP/body")" = "$(printf 'instance-id: pxed-%s-1\nlocal-hostname: u1' $D)"
check "user-data (200)" test "$(get "${seed}user-data")" = 200
check "... is the autoinstall cloud-config" bash -c "head -n 1 $TMP/body | grep -qx '#cloud-config' && grep -q '^autoinstall:' $TMP/body"
check "... with the install-done call" grep -qF "/api/v1/hosts/$D/install-done?token=" "$TMP/body"
check "vendor-data (200, empty)" test "$(get "${seed}vendor-data")/$(wc -c < "$TMP/body")" = 200/0
check "the seed from the host's own address, without a token (200)" \
  test "$(get "$U/ks/nocloud/$D/user-data" --interface 127.0.0.5)" = 200

for f in user-data meta-data vendor-data; do
  code=$(get "$U/ks/nocloud/$D/$f")
  check "$f without a token from another address is refused ($code)" test "$code" != 200
  code=$(get "$U/ks/nocloud/$D/token=0123456789abcdef0123456789abcdef/$f")
  check "$f with a wrong token is refused ($code)" test "$code" != 200
done
check_not "... and the refusal shows no seed" grep -q "cloud-config" "$TMP/body"
rm -f "$TMP/ud.tftp"
timeout 20 tftp -m binary 127.0.0.1 "$(bound_port tftp)" -c get "ks/nocloud/$D/token=$token/user-data" "$TMP/ud.tftp" >/dev/null 2>&1 || true
check_not "never over TFTP, even with the token" grep -q "cloud-config" "$TMP/ud.tftp"
check "pxed logged the refusals" grep -q "ks/nocloud/$D/" "$TMP/pxed.log"
check_not "... never with the whole token" grep -qF "$token" "$TMP/pxed.log"

stop_pxed
finish
