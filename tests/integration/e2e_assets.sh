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
# With --arm64, the same for ARM64 plus its GRUB, from Debian's arm64
# packages (linux-image-V-arm64, busybox-static, grub-efi-arm64-bin), in
# CACHE_DIR/arm64/:
#   KERNEL_ROOT, BUSYBOX_ROOT (an aarch64 busybox), GRUB_ROOT (holds
#   usr/lib/grub/arm64-efi, with its monolithic/grubnetaa64.efi)
# The machine's dpkg architectures are not touched: apt runs on a private
# state (its own lists and archive cache under CACHE_DIR/arm64/apt, the
# machine's sources.list.d, APT::Architecture=arm64) and only downloads.
#
# Usage: e2e_assets.sh [--arm64] [CACHE_DIR]   (default $PXED_E2E_CACHE or /var/cache/pxed-e2e)
set -euo pipefail

arch=amd64
if [[ ${1:-} == --arm64 ]]; then arch=arm64; shift; fi
cache=${1:-${PXED_E2E_CACHE:-/var/cache/pxed-e2e}}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "e2e_assets: cannot lock $cache" >&2; exit 1; }

# apt as this machine has it, or (arm64) on the private state.
apt_opts=()
if [[ $arch == arm64 ]]; then
  cache=$cache/arm64
  a=$cache/apt
  mkdir -p "$a/state/lists/partial" "$a/cache/archives/partial" "$a/sources.list.d" "$a/preferences.d"
  cp /etc/apt/sources.list.d/*.sources "$a/sources.list.d/" 2>/dev/null || true
  cp /etc/apt/sources.list "$a/sources.list.d/machine.list" 2>/dev/null || true
  apt_opts=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
            -o Dir::State="$a/state" -o Dir::State::status=/dev/null -o Dir::Cache="$a/cache"
            -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$a/sources.list.d"
            -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts="$a/preferences.d"
            -o Debug::NoLocking=1)
  # The lists are read again once a day (a point release moves the kernel).
  if [[ -z $(find "$a/state/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null | head -n 1) ]]; then
    apt-get -q "${apt_opts[@]}" update >&2 || echo "e2e_assets: apt-get update (arm64) failed; using what is cached" >&2
  fi
fi

# The kernel package linux-image-$arch points at today (fixed per Debian point
# release). With no apt metadata at all, fall back to whatever is cached.
kernel_pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-$arch 2>/dev/null |
             sed -n "s/^ *Depends: \(linux-image-[0-9].*-$arch\)\$/\1/p" | head -n 1)

# Modules kept from the kernel package: virtio-net and e1000 with what they need.
keep_modules='/(virtio|virtio_ring|virtio_pci|virtio_pci_legacy_dev|virtio_pci_modern_dev|virtio_net|failover|net_failover|e1000)\.ko'

fetch() {  # package: downloads and unpacks it into $cache/root-PACKAGE, prints that dir
  local pkg=$1 dir=$cache/root-$1
  if [[ ! -f $dir/.complete ]]; then
    local tmp
    tmp=$(mktemp -d "$cache/.dl-XXXXXX")
    # apt-get download writes to the current directory; _apt cannot write to
    # a root-owned cache, which only costs a warning.
    if ! (cd "$tmp" && apt-get download -q "${apt_opts[@]}" "$pkg" >&2); then
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
  kroot=$(ls -d "$cache"/root-linux-image-*-$arch 2>/dev/null | sort -V | tail -n 1)
  [[ -n $kroot && -f $kroot/.complete ]] || { echo "e2e_assets: no kernel package known and none cached" >&2; exit 1; }
fi
bbroot=$(fetch busybox-static)
[[ $arch == arm64 ]] && groot=$(fetch grub-efi-arm64-bin)
# Older kernels in the cache are left behind after a Debian point release.
for old in "$cache"/root-linux-image-*-$arch; do
  [[ -d $old && $old != "$kroot" ]] && rm -rf "$old"
done
# The .debs apt kept in the private archive cache: unpacked already.
[[ $arch == arm64 ]] && rm -f "$cache"/apt/cache/archives/*.deb "$cache"/apt/cache/*.bin
echo "$kroot"
echo "$bbroot"
[[ $arch == arm64 ]] && echo "$groot"
exit 0
