#!/usr/bin/env bash
# Booting a QEMU machine on the e2e network, shared by the network-boot test
# (e2e_netboot_test.sh) and the firmware TFTP benchmark
# (bench/tftp_firmware_bench.sh). Sourced; the caller sets:
#   TMP          where NAME.serial, NAME.qemu, NAME.pid, NAME.t0/.t1/.rc go
#   C            the client namespace, holding the bridge with tap0
#   ACCEL        tcg or kvm;  VM_TIMEOUT  seconds per machine
#   OVMF, AAVMF  firmware images (for the uefi/httpboot and aavmf kinds)

# Every line of pxed's log and of each serial console is stamped with the
# wall clock in microseconds, so the stages can be timed from both.
now_us() { echo "${EPOCHREALTIME/./}"; }
stamp() {
  local l
  while IFS= read -r l || [[ -n $l ]]; do printf '%s %s\n' "${EPOCHREALTIME/./}" "${l%$'\r'}"; done
}

# boot_vm NAME MAC FIRMWARE ROM(ipxe|none) [BOOT]: boots it and waits
# for it to power off (or for the timeout). Its console goes to $TMP/NAME.serial.
# BOOT is QEMU's -boot (default n). A machine sent to its local disk has none
# and would sit at SeaBIOS's "No bootable device" for ever: BIOS_LOCAL makes
# SeaBIOS reboot a second later, which -no-reboot turns into QEMU's exit.
# QEMU's pid goes to $TMP/NAME.pid, for a machine that never ends by itself.
BIOS_LOCAL=order=n,reboot-timeout=1000
boot_vm() {
  local name=$1 mac=$2 fw=$3 rom=$4 boot=${5:-n} nic fwargs=() qemu=qemu-system-x86_64 machine=pc mem=512 accel=$ACCEL
  nic="virtio-net-pci,netdev=n0,mac=$mac"
  [[ $rom == none ]] && nic+=",romfile="
  # FIRMWARE: what the machine is (QEMU binary, machine type, firmware).
  case $fw in
    bios) ;;
    uefi) fwargs=(-bios "$OVMF") ;;
    secureboot)
      local OVMF_SB_CODE=/usr/share/OVMF/OVMF_CODE_4M.ms.fd OVMF_SB_VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
      # OVMF with Secure Boot enforced: the Microsoft keys enrolled (the .ms
      # variables), its SMM-protected variable store on q35.
      machine=q35,smm=on
      cp "$OVMF_SB_VARS" "$TMP/$name.vars"
      fwargs=(-global driver=cfi.pflash01,property=secure,value=on
              -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_SB_CODE"
              -drive "if=pflash,format=raw,unit=1,file=$TMP/$name.vars") ;;
    httpboot)
      # OVMF makes four network boot options per NIC: PXE and HTTP, over
      # IPv4 and IPv6, PXE first. Its fw_cfg knobs (OvmfPkg RUNTIME_CONFIG.md)
      # switch both PXE ones off: UEFI HTTPv4 is then the first.
      fwargs=(-bios "$OVMF" -fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n
              -fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n) ;;
    aavmf)
      # QEMU's ARM64 virt machine with AAVMF (qemu-efi-aarch64), always TCG
      # (no KVM for another CPU); cortex-a57 is cheaper to emulate than max.
      qemu=qemu-system-aarch64 machine=virt mem=768 accel=tcg
      fwargs=(-cpu cortex-a57 -bios "$AAVMF") ;;
    *) echo "boot_vm: no firmware kind $fw" >&2; return 1 ;;
  esac
  local t0
  t0=$(now_us)
  echo "$t0" > "$TMP/$name.t0"
  # -nographic puts SeaBIOS, iPXE, OVMF, GRUB and the kernel on the serial line.
  # (set +e: a machine that times out is a result to report, not a reason to stop.)
  set +e
  timeout -k 5 "$VM_TIMEOUT" ip netns exec $C "$qemu" \
    -machine "$machine,accel=$accel" -m "$mem" -smp 1 -nographic -no-reboot -boot "$boot" "${fwargs[@]}" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device "$nic" -pidfile "$TMP/$name.pid" \
    < /dev/null 2> "$TMP/$name.qemu" | stamp > "$TMP/$name.serial"
  local rc=${PIPESTATUS[0]}
  set -e
  now_us > "$TMP/$name.t1"
  echo "$rc" > "$TMP/$name.rc"
  return 0
}
