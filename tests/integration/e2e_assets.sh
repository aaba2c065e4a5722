#!/usr/bin/env bash
# Fetches and caches what the network-boot test boots that must not be
# installed on the test machine itself:
#   - Debian's kernel (linux-image-*): installing it would run initramfs and
#     boot loader hooks on this machine; we only want /boot/vmlinuz-* and the
#     NIC driver modules;
#   - busybox-static: it conflicts with the dynamically linked busybox that
#     the other integration tests use (dhcp_test.sh runs `busybox udhcpc`).
# Both .debs are downloaded once with `apt-get download` (the ordinary
# client, from the machine's configured mirror) into the cache and unpacked
# there. Prints the unpacked kernel and busybox directories, one per line:
#   KERNEL_ROOT (holds boot/vmlinuz-V and lib/modules/V)
#   BUSYBOX_ROOT (holds bin/busybox)
#
# Usage: e2e_assets.sh [CACHE_DIR]   (default $PXED_E2E_CACHE or /var/cache/pxed-e2e)
set -euo pipefail

cache=${1:-${PXED_E2E_CACHE:-/var/cache/pxed-e2e}}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "e2e_assets: cannot lock $cache" >&2; exit 1; }

# The kernel package linux-image-amd64 points at today (fixed per Debian point
# release). With no apt metadata at all, fall back to whatever is cached.
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)

# Modules kept from the kernel package: virtio-net and e1000 with what they need.
keep_modules='/(virtio|virtio_ring|virtio_pci|virtio_pci_legacy_dev|virtio_pci_modern_dev|virtio_net|failover|net_failover|e1000)\.ko'

fetch() {  # package: downloads and unpacks it into $cache/root-PACKAGE, prints that dir
  local pkg=$1 dir=$cache/root-$1
  if [[ ! -f $dir/.complete ]]; then
    local tmp
    tmp=$(mktemp -d "$cache/.dl-XXXXXX")
    # apt-get download writes to the current directory; _apt cannot write to
    # a root-owned cache, which only costs a warning.
    if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
      rm -rf "$tmp"
      echo "e2e_assets: apt-get download $pkg failed" >&2
      return 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$tmp"/*.deb "$dir"
    rm -rf "$tmp"
    # Of the kernel's 400 MB, the test needs the image and the NIC drivers.
    if [[ -d $dir/lib/modules ]]; then
      find "$dir/lib/modules" -name '*.ko*' -type f | grep -Ev "$keep_modules" | xargs -r rm -f
      rm -rf "$dir/usr"
    fi
    touch "$dir/.complete"
  fi
  echo "$dir"
}

if [[ -n $kernel_pkg ]]; then
  kroot=$(fetch "$kernel_pkg")
else
  kroot=$(ls -d "$cache"/root-linux-image-*-amd64 2>/dev/null | sort -V | tail -n 1)
  [[ -n $kroot && -f $kroot/.complete ]] || { echo "e2e_assets: no kernel package known and none cached" >&2; exit 1; }
fi
bbroot=$(fetch busybox-static)
# Older kernels in the cache are left behind after a Debian point release.
for old in "$cache"/root-linux-image-*; do
  [[ -d $old && $old != "$kroot" ]] && rm -rf "$old"
done
echo "$kroot"
echo "$bbroot"
