#!/usr/bin/env bash
# pxed check as a doctor, the real binary on broken sites (docs/doctor.md):
# Debian's pxelinux.0 without ldlinux.c32, a GRUB built by grub-mkimage with
# another prefix, Debian's shim and syslinux.efi without their companions, an address that is not this machine's, an interface that
# does not exist, a kernel server.user cannot read; exit codes 0/1/2, the
# `fix:` lines, --json read back with python3, --offline and --config-only.
# Nothing is sent on any network: pxed check only reads.
# Usage: doctor_test.sh PXED_BINARY SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

PXELINUX=/usr/lib/PXELINUX/pxelinux.0
BIOS=/usr/lib/syslinux/modules/bios
[[ -f $PXELINUX && -f $BIOS/ldlinux.c32 && -f $BIOS/menu.c32 ]] ||
  skip_all "Debian's pxelinux and syslinux-common are not installed"
command -v grub-mkimage >/dev/null && [[ -d /usr/lib/grub/x86_64-efi ]] ||
  skip_all "grub-mkimage and grub-efi-amd64-bin are not installed"
command -v python3 >/dev/null || skip_all "python3 is not installed"
SHIM=/usr/lib/shim/shimx64.efi
SYSLINUX_EFI=/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi
[[ -f $SHIM && -f $SYSLINUX_EFI ]] || skip_all "Debian's shim-unsigned and syslinux-efi are not installed"

chmod 755 "$TMP"  # server.user must be able to enter it, as the TFTP root's parent
root=$TMP/tftp
mkdir -p "$root/c7" "$TMP/tree/images/pxeboot"
cp "$PXELINUX" "$root/"
for m in ldlinux.c32 menu.c32 libutil.c32 libcom32.c32; do cp "$BIOS/$m" "$root/"; done
grub-mkimage -O x86_64-efi -o "$root/grubx64.efi" -p /grub efinet tftp normal configfile
echo kernel > "$root/c7/vmlinuz"
echo initrd > "$root/c7/initrd.img"
printf '[general]\nfamily = CentOS\nversion = 7\narch = x86_64\n' > "$TMP/tree/.treeinfo"
chmod -R a+rX "$TMP"

# Line numbers matter: the checks below name them. (write_site starts over.)
write_site() {  # address user
  cat > "$TMP/site.yaml" <<YAML
server:
  address: $1
  listen: 127.0.0.1
  user: $2
  dhcp: {enabled: false}
  tftp: {root: tftp, port: 6969}
  http: {port: 8080}
  ftp: {enabled: false}
boot:
  bios: pxelinux.0
  uefi-x64: grubx64.efi
  grub_dir: grub
trees:
  c7: {path: tree, url: /pub/c7}
profiles:
  c7:
    label: CentOS 7
    tree: c7
    kernel: c7/vmlinuz
    initrd: c7/initrd.img
menu:
  ui: menu.c32
YAML
}
site=$TMP/site.yaml
run() {  # args...: output in $TMP/out, exit status in $rc
  set +e
  "$PXED" check --config "$site" "$@" > "$TMP/out" 2>&1
  rc=$?
  set -e
}

write_site 127.0.0.1 nobody
run
check "a clean site on loopback: exit 0" test "$rc" -eq 0
check "... and the OK line scripts read" grep -q "^$site: OK (0 subnet(s), 1 tree(s), 1 profile(s), 0 host(s))$" "$TMP/out"
check "... with no finding" bash -c "! grep -q -e 'error:' -e 'warning:' '$TMP/out'"
[[ $rc -eq 0 ]] || cat "$TMP/out"

rm "$root/ldlinux.c32"
run
check "Debian's pxelinux.0 without ldlinux.c32: exit 1" test "$rc" -eq 1
check "... named at boot.bios (line 10) with the version read from the binary" \
  grep -q "^$site:10:3: error: pxelinux.0 (syslinux [0-9]\.[0-9][0-9]) needs ldlinux.c32" "$TMP/out"
check "... and the cp that fixes it" grep -q "^  fix: cp /usr/lib/syslinux/modules/bios/ldlinux.c32 $root/" "$TMP/out"
run --json
check "--json: exit 1 too" test "$rc" -eq 1
check "--json: one document with the finding's file, line, topic, fix and the counts" python3 - "$TMP/out" "$site" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
f = [x for x in doc["findings"] if x["topic"] == "bootloader"]
assert len(f) == 1, doc
f = f[0]
assert (f["file"], f["line"], f["column"], f["severity"]) == (sys.argv[2], 10, 3, "error"), f
assert "ldlinux.c32" in f["message"] and f["fix"].startswith("cp "), f
assert doc["summary"] == {"errors": 1, "warnings": 0}, doc["summary"]
assert doc["ok"] is False
PY
run --config-only
check "--config-only (the unit's ExecStartPre) looks at the file alone: exit 0" test "$rc" -eq 0
cp "$BIOS/ldlinux.c32" "$root/"
rm "$root/libutil.c32"
run
check "menu.c32 without the libutil.c32 it loads (DT_NEEDED): named at menu.ui" \
  grep -q "^$site:22:3: error: libutil.c32, which menu.c32 loads, is not in the TFTP root" "$TMP/out"
cp "$BIOS/libutil.c32" "$root/"

# GRUB: the prefix grub-mkimage wrote against boot.grub_dir.
grub-mkimage -O x86_64-efi -o "$root/grubx64.efi" -p /EFI/centos efinet tftp normal configfile
run
check "GRUB built with -p /EFI/centos while pxed serves grub/: exit 1" test "$rc" -eq 1
check "... the prompt failure, at boot.grub_dir (line 12)" \
  grep -q "^$site:12:3: error: GRUB grubx64.efi looks for grub.cfg in /EFI/centos" "$TMP/out"
check "... fixed by boot.grub_dir" grep -q "fix: set boot.grub_dir: EFI/centos" "$TMP/out"
mkdir -p "$root/EFI/centos"
echo 'menuentry old {}' > "$root/EFI/centos/grub.cfg"
run
check "a hand-written grub.cfg where GRUB looks is a warning only: exit 0" test "$rc" -eq 0
check "... counted on the OK line" grep -q "^$site: OK (.*, 1 warning(s))$" "$TMP/out"
run --strict
check "... and exit 2 with --strict" test "$rc" -eq 2
grub-mkimage -O x86_64-efi -o "$root/grubx64.efi" -p /grub efinet tftp normal configfile

# Debian's shim in front: it loads grubx64.efi from its own directory.
mkdir -p "$root/EFI/BOOT"
cp "$SHIM" "$root/EFI/BOOT/bootx64.efi"
sed -i 's|uefi-x64: grubx64.efi|uefi-x64: EFI/BOOT/bootx64.efi|' "$site"
run
check "shim with no grubx64.efi beside it: exit 1, at boot.uefi-x64 (line 11)" \
  bash -c "[[ $rc -eq 1 ]] && grep -q '^$site:11:3: error: shim EFI/BOOT/bootx64.efi loads grubx64.efi from its own directory' '$TMP/out'"
cp "$root/grubx64.efi" "$root/EFI/BOOT/grubx64.efi"
run
check "... with it (prefix /grub): exit 0" test "$rc" -eq 0
# Debian's syslinux.efi: ldlinux.e64 and 64-bit modules beside it.
mkdir -p "$root/efi64"
cp "$SYSLINUX_EFI" "$root/efi64/"
cp "$BIOS/menu.c32" "$BIOS/libutil.c32" "$root/efi64/"
sed -i 's|uefi-x64: EFI/BOOT/bootx64.efi|uefi-x64: efi64/syslinux.efi|' "$site"
run
check "syslinux.efi without ldlinux.e64: named with the efi64 cp" \
  bash -c "grep -q '^$site:11:3: error: efi64/syslinux.efi (syslinux [0-9.]*) needs ldlinux.e64' '$TMP/out' &&
           grep -q 'fix: cp /usr/lib/syslinux/modules/efi64/ldlinux.e64 $root/efi64/' '$TMP/out'"
check "... and its BIOS menu.c32 is the wrong build" \
  grep -q "^$site:22:3: error: menu.c32 beside efi64/syslinux.efi (syslinux [0-9.]*) is built for BIOS or 32-bit EFI" "$TMP/out"
cp /usr/lib/syslinux/modules/efi64/{ldlinux.e64,menu.c32,libutil.c32} "$root/efi64/"
run
check "... with the efi64 modules: exit 0" test "$rc" -eq 0

# Secure Boot (docs/boot-paths.md): Debian's signed shim and GRUB, Debian's
# unsigned shim and grub-mkimage's unsigned GRUB, real files all. Skipped
# where shim-signed and grub-efi-amd64-signed are not installed.
SHIM_SIGNED=/usr/lib/shim/shimx64.efi.signed
GRUB_SIGNED=/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed
if [[ -f $SHIM_SIGNED && -f $GRUB_SIGNED ]]; then
  # By hand, the CentOS 7 way: the signed shim copied, an unsigned GRUB beside it.
  cp "$SHIM_SIGNED" "$root/shimx64.efi"
  sed -i 's|uefi-x64: efi64/syslinux.efi|uefi-x64: shimx64.efi|' "$site"
  run
  check "shim copied by hand, grub-mkimage GRUB beside it: warnings only (exit 0)" test "$rc" -eq 0
  check "... GRUB grubx64.efi beside shim carries no signature, at boot.uefi-x64 (line 11), with the signed GRUB's path" \
    bash -c "grep -q '^$site:11:3: warning: GRUB grubx64.efi beside shim carries no signature' '$TMP/out' &&
             grep -q 'fix: serve the GRUB signed for this shim: .*grubnetx64.efi.signed' '$TMP/out'"
  check_not "... the signed shim is not reported" grep -q "shim shimx64.efi carries no signature" "$TMP/out"
  check "... the profile's kernel (not an EFI image) is: shim/GRUB will refuse it (line 16)" \
    grep -q "^$site:16:3: warning: profiles.c7.kernel c7/vmlinuz is not an EFI image (no PE header, so no signature): under Secure Boot shim/GRUB will refuse it" "$TMP/out"
  rm "$root/grubx64.efi"
  run
  check "... no grubx64.efi beside shim: exit 1, with the cp and secure_boot: on" \
    bash -c "[[ $rc -eq 1 ]] && grep -q '^$site:11:3: error: shim shimx64.efi loads grubx64.efi from its own directory' '$TMP/out' &&
             grep -q 'fix: copy the GRUB signed for this shim .* to $root/grubx64.efi, or set boot.secure_boot: on' '$TMP/out'"
  rm "$root/shimx64.efi"
  grub-mkimage -O x86_64-efi -o "$TMP/unsigned-grubx64.efi" -p /grub efinet tftp normal configfile
  # boot.secure_boot: pxed serves the pair itself; uefi-x64 defaults to shimx64.efi.
  sb_site() {  # the secure_boot value
    sed -i -e '/^  uefi-x64: /d' -e '/^  secure_boot: /d' "$site"
    sed -i "s|^  grub_dir: grub\$|&\n  secure_boot: $1|" "$site"
  }
  sb_site "{shim: $SHIM_SIGNED, grub: $GRUB_SIGNED}"
  run
  check "secure_boot with Debian's signed pair: exit 0 (prefix /grub = grub_dir)" test "$rc" -eq 0
  check_not "... nothing unsigned but the kernel" grep -Eq "beside shim carries no signature|shim .* carries no signature|is not a shim" "$TMP/out"
  check "... the kernel warning, at the profile (line 16)" grep -q "^$site:16:3: warning: profiles.c7.kernel c7/vmlinuz is not an EFI image" "$TMP/out"
  sb_site "{grub: $TMP/unsigned-grubx64.efi}"
  run
  check "secure_boot with an unsigned GRUB: exit 1, an error at boot.secure_boot (line 12)" \
    bash -c "[[ $rc -eq 1 ]] && grep -q \"^$site:12:16: error: GRUB $TMP/unsigned-grubx64.efi (served as grubx64.efi) beside shim carries no signature, so shim refuses it under Secure Boot\" '$TMP/out'"
  sb_site "{shim: $SHIM, grub: $GRUB_SIGNED}"
  run
  check "secure_boot with the unsigned shim: exit 1, the firmware refuses it" \
    bash -c "[[ $rc -eq 1 ]] && grep -q \"^$site:12:16: error: shim $SHIM (served as shimx64.efi) carries no signature\" '$TMP/out'"
  sb_site "{shim: $GRUB_SIGNED, grub: $GRUB_SIGNED}"
  run
  check "secure_boot whose shim is a GRUB: exit 1, not a shim" \
    bash -c "[[ $rc -eq 1 ]] && grep -q \"^$site:12:16: error: boot.secure_boot's shim $GRUB_SIGNED is not a shim\" '$TMP/out'"
  sb_site "{shim: $SHIM_SIGNED, grub: $GRUB_SIGNED}"
  sed -i 's|^  grub_dir: grub$|  grub_dir: boot|' "$site"
  run
  check "secure_boot, grub_dir boot but the signed GRUB's prefix is /grub (its embedded config only runs normal on its memdisk's grub.cfg): exit 1" \
    bash -c "[[ $rc -eq 1 ]] && grep -q \"error: GRUB grubx64.efi looks for grub.cfg in /grub (its prefix is '/grub') but pxed serves it in '/boot'\" '$TMP/out'"
  sed -i 's|^  grub_dir: boot$|  grub_dir: grub|' "$site"
  sb_site "{shim: $TMP/no-such-shim.efi}"
  run
  check "secure_boot naming a missing file: the loader's error at its line" \
    grep -q "^$site:12:23: error: secure_boot: shim '$TMP/no-such-shim.efi' does not exist" "$TMP/out"
  grub-mkimage -O x86_64-efi -o "$root/grubx64.efi" -p /grub efinet tftp normal configfile
else
  echo "# SKIP Secure Boot checks: Debian's shim-signed and grub-efi-amd64-signed are not installed"
fi

# This machine: an address it does not have (TEST-NET-1, never assigned).
write_site 192.0.2.1 nobody
run
check "server.address not on this machine: exit 1" test "$rc" -eq 1
check "... at server.address (line 2), with ip addr and --offline in the fix" \
  bash -c "grep -q '^$site:2:3: error: server.address 192.0.2.1 is not an address of this machine' '$TMP/out' &&
           grep -q 'fix: .*ip addr add 192.0.2.1.*--offline' '$TMP/out'"
run --offline
check "... --offline, for checking the file elsewhere: exit 0" test "$rc" -eq 0

# Permissions after the privilege drop.
write_site 127.0.0.1 nobody
chmod 600 "$root/c7/vmlinuz"
run
check "a kernel only its owner can read: exit 1" test "$rc" -eq 1
check "... named at the profile's kernel (line 19) with chmod" \
  bash -c "grep -q '^$site:19:5: error: File $root/c7/vmlinuz is not readable by server.user nobody (mode 0600' '$TMP/out' &&
           grep -q 'fix: chmod o+r $root/c7/vmlinuz' '$TMP/out'"
chmod 644 "$root/c7/vmlinuz"
write_site 127.0.0.1 pxed-doctor-no-such-user
run
check "server.user that is no account: exit 1, at server.user (line 4)" \
  bash -c "[[ $rc -eq 1 ]] && grep -q \"^$site:4:3: error: server.user 'pxed-doctor-no-such-user' is not an account\" '$TMP/out'"

finish
