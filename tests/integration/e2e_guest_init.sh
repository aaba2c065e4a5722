#!/bin/sh
# /init of the initramfs that e2e_netboot_test.sh builds (busybox-static only).
# It does what an installer's first minute does with the kernel arguments
# pxed rendered: bring the NIC up with DHCP, fetch the kickstart named by
# inst.ks= over HTTP and the install tree's .treeinfo from inst.repo= over FTP,
# print both between markers on the console (ttyS0), call the kickstart's
# install-done URL if it has one, and power off.
# Every line it prints for the test starts with "PXED-E2E".
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

say() { echo "PXED-E2E: $*"; }
bye() { say "$@"; sync; poweroff -f; sleep 5; echo o > /proc/sysrq-trigger; }

say "init started, uptime $(cut -d' ' -f1 /proc/uptime)"
# From here on the console carries what the test reads: kernel messages
# (link up, ...) would land in the middle of it.
echo 1 > /proc/sys/kernel/printk
say "cmdline $(cat /proc/cmdline)"
# The accelerator probe only needs to get this far.
grep -q 'pxed_e2e=probe' /proc/cmdline && bye "probe ok"
# The NIC drivers are modules in Debian's kernel; /modules lists them in
# dependency order.
while read -r m; do insmod "/lib/modules/$m" || say "insmod $m failed"; done < /modules
ip link set lo up

nic=
for i in 1 2 3 4 5 6 7 8 9 10; do
  for d in /sys/class/net/*; do
    [ "${d##*/}" = lo ] || { nic=${d##*/}; break; }
  done
  [ -n "$nic" ] && break
  sleep 0.5
done
[ -n "$nic" ] || bye "FAIL no network interface"
say "nic $nic mac $(cat /sys/class/net/$nic/address)"

# udhcpc runs this script with the lease in its environment.
cat > /udhcpc.script <<'EOF'
#!/bin/sh
case $1 in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$hostname" ] && echo "$hostname" > /hostname
    echo "PXED-E2E: dhcp $ip/${mask:-24} server ${serverid:-?} siaddr ${siaddr:-?} boot_file ${boot_file:-?} hostname ${hostname:--}" ;;
esac
EOF
chmod +x /udhcpc.script
udhcpc -i "$nic" -n -q -f -t 10 -T 2 -s /udhcpc.script -O bootfile || bye "FAIL no DHCP lease"

arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | head -n 1; }
ks=$(arg inst.ks)
repo=$(arg inst.repo)
# The Debian installer's preseed/url, by its short name on the command line.
[ -n "$ks" ] || ks=$(arg url)
[ -n "$ks" ] || bye "FAIL no inst.ks= (nor url=) on the kernel command line"
say "kickstart $ks"
# The file itself is kept so its size and checksum can be printed: the test
# compares them, and the text between the markers, with what pxed rendered.
# (No -T: busybox-static 1.35's wget segfaults with it. The VM has a hard
# timeout anyway.)
wget -q -O /ks "$ks"
rc=$?
say "kickstart rc $rc bytes $(wc -c < /ks) md5 $(md5sum < /ks | cut -d' ' -f1)"
echo "PXED-E2E-BEGIN-KICKSTART"
cat /ks
[ -z "$(tail -c 1 /ks)" ] || echo
echo "PXED-E2E-END-KICKSTART"
# The same kickstart by the host name DHCP gave (option 12), as a site's
# %pre or a human would ask for it.
if [ -s /hostname ]; then
  name=$(cat /hostname)
  wget -q -O /ks-by-name "${ks%/ks/*}/ks/$name.ks"
  rc=$?
  say "kickstart-by-name $name rc $rc bytes $(wc -c < /ks-by-name) md5 $(md5sum < /ks-by-name | cut -d' ' -f1)"
fi

# A preseed names its mirror inside (mirror/http/hostname and directory):
# the installer takes the tree over HTTP from there.
if [ -z "$repo" ]; then
  mhost=$(sed -n 's|^d-i mirror/http/hostname string ||p' /ks | head -n 1)
  mdir=$(sed -n 's|^d-i mirror/http/directory string ||p' /ks | head -n 1)
  [ -n "$mhost" ] && repo=http://$mhost$mdir
fi
case $repo in
  http://*)
    say "treeinfo http $repo/.treeinfo"
    wget -q -O /treeinfo "$repo/.treeinfo"
    rc=$?
    say "treeinfo rc $rc bytes $(wc -c < /treeinfo) md5 $(md5sum < /treeinfo | cut -d' ' -f1)"
    echo "PXED-E2E-BEGIN-TREEINFO"
    cat /treeinfo
    [ -z "$(tail -c 1 /treeinfo)" ] || echo
    echo "PXED-E2E-END-TREEINFO"
    ;;
  ftp://*)
    hostport=${repo#ftp://}; path=/${hostport#*/}; hostport=${hostport%%/*}
    host=${hostport%%:*}; port=21
    [ "$hostport" != "$host" ] && port=${hostport#*:}
    say "treeinfo ftp $host port $port $path/.treeinfo"
    ftpget -P "$port" "$host" /treeinfo "$path/.treeinfo"
    rc=$?
    say "treeinfo rc $rc bytes $(wc -c < /treeinfo) md5 $(md5sum < /treeinfo | cut -d' ' -f1)"
    echo "PXED-E2E-BEGIN-TREEINFO"
    cat /treeinfo
    [ -z "$(tail -c 1 /treeinfo)" ] || echo
    echo "PXED-E2E-END-TREEINFO"
    ;;
  *) say "FAIL inst.repo is not an ftp:// or http:// URL: $repo" ;;
esac

# The kickstart's %post, as the installer would run it last: a host's own
# kickstart carries the install-done URL pxed rendered for this install
# (POST only); a profile's kickstart (the menu's) carries none.
url=$(sed -n 's|.*\(http://[^ "'"'"']*/install-done?token=[0-9A-Za-z]*\).*|\1|p' /ks | head -n 1)
if [ -n "$url" ]; then
  say "install-done url $url"
  answer=$(wget -q -O - --post-data= "$url" 2>&1)
  rc=$?
  say "install-done rc $rc $(echo "$answer" | head -n 1)"
else
  say "install-done none"
fi
bye "done, uptime $(cut -d' ' -f1 /proc/uptime)"
