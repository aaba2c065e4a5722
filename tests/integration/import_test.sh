#!/usr/bin/env bash
# pxed import on synthetic install trees with the real layout and metadata
# (CentOS 7 mirror, CentOS 6 DVD, Debian 12 netboot tarball, Ubuntu 24.04
# live-server ISO): the entries it prints, a directory that is not a tree,
# --append into a commented site.yaml (every other byte kept, names taken,
# results that would not load refused), then pxed itself serving the
# imported profile's kernel and initrd from the tree over TFTP and HTTP
# (curl), with the boot config naming them.
# Usage: import_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v curl >/dev/null || skip_all "curl is not installed (scripts/dev deps)"

# ---------------------------------------------------------------- trees
el7=$TMP/mirror/centos/7.9.2009/os/x86_64
mkdir -p "$el7/images/pxeboot" "$el7/repodata" "$el7/Packages"
printf 'kernel of centos7\n' > "$el7/images/pxeboot/vmlinuz"
printf 'initrd of centos7\n' > "$el7/images/pxeboot/initrd.img"
printf '<repomd/>\n' > "$el7/repodata/repomd.xml"
printf '1603733435.495302\n7.9\nx86_64\n' > "$el7/.discinfo"
# CentOS-7-x86_64-DVD-2009's .treeinfo, abridged: productmd with the
# [general] kept for pre-productmd tools.
cat > "$el7/.treeinfo" <<'INI'
[checksums]
images/pxeboot/initrd.img = sha256:bc106255e0c7e384e3aea18836f5672bf1c78c2ee5704c9c3f6d39d114aa7e91
images/pxeboot/vmlinuz = sha256:4b30b9a0504df6f979fddec2c722af805596184e5e3c78ee7cb91ac3a796d39d

[general]
; WARNING.0 = This section provides compatibility with pre-productmd treeinfos.
arch = x86_64
family = CentOS
name = CentOS 7
version = 7

[header]
type = productmd.treeinfo
version = 1.2

[images-x86_64]
initrd = images/pxeboot/initrd.img
kernel = images/pxeboot/vmlinuz

[release]
name = CentOS
short = CentOS
version = 7

[tree]
arch = x86_64
INI

el6=$TMP/dvd/centos6
mkdir -p "$el6/images/pxeboot"
printf 'kernel of centos6\n' > "$el6/images/pxeboot/vmlinuz"
printf 'initrd of centos6\n' > "$el6/images/pxeboot/initrd.img"
printf '[general]\nfamily = CentOS\nversion = 6.10\narch = x86_64\n\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n' > "$el6/.treeinfo"

deb=$TMP/netboot/debian12
mkdir -p "$deb/debian-installer/amd64"
printf 'Debian version:  12 (bookworm)\nInstaller build: 20230607+deb12u5\n' > "$deb/version.info"
printf 'linux\n' > "$deb/debian-installer/amd64/linux"
printf 'initrd\n' > "$deb/debian-installer/amd64/initrd.gz"

ubu=$TMP/iso/ubuntu
mkdir -p "$ubu/casper" "$ubu/.disk" "$ubu/dists/noble"
printf 'Ubuntu-Server 24.04 LTS "Noble Numbat" - Release amd64 (20240423)' > "$ubu/.disk/info"
printf 'Origin: Ubuntu\nVersion: 24.04\nCodename: noble\nArchitectures: amd64\n' > "$ubu/dists/noble/Release"
printf 'vmlinuz\n' > "$ubu/casper/vmlinuz"
printf 'initrd\n' > "$ubu/casper/initrd"

# ---------------------------------------------------------------- printing
"$PXED" import "$el7" > "$TMP/el7.out" 2> "$TMP/el7.err"
check "import of a CentOS 7 mirror exits 0" test $? -eq 0
cat > "$TMP/el7.want" <<YAML
# CentOS 7.9.2009 x86_64, from .treeinfo
trees:
  centos7:
    path: $el7
    url: /pub/centos/7.9.2009/x86_64
    protocol: http
profiles:
  centos7:
    label: CentOS 7.9.2009 x86_64
    tree: centos7
    # kernel and initrd: the tree's images/pxeboot/vmlinuz and images/pxeboot/initrd.img
    append: 'inst.repo={{tree_url}} inst.ks={{kickstart_url}}'
    kickstart: centos7.ks
YAML
check "CentOS 7: the release from the mirror's path, EL7 arguments, kernel from the tree" diff -u "$TMP/el7.want" "$TMP/el7.out"

"$PXED" import "$el6" --name c6 --url /pub/c6/ > "$TMP/el6.out"
check "CentOS 6: --name and --url" grep -q "^  c6:\$" "$TMP/el6.out"
check "CentOS 6: url without its trailing slash" grep -qx "    url: /pub/c6" "$TMP/el6.out"
check "CentOS 6: ks= ksdevice=bootif and centos6.ks" grep -qx "    append: 'ks={{kickstart_url}} ksdevice=bootif'" "$TMP/el6.out"
check "CentOS 6: centos6.ks" grep -qx "    kickstart: centos6.ks" "$TMP/el6.out"

"$PXED" import "$deb" > "$TMP/deb.out"
check "Debian netboot: named debian12" grep -qx "  debian12:" "$TMP/deb.out"
check "Debian netboot: preseed arguments" grep -qx "    append: 'auto=true priority=critical url={{kickstart_url}}'" "$TMP/deb.out"
check "Debian netboot: debian12.preseed" grep -qx "    kickstart: debian12.preseed" "$TMP/deb.out"
check "Debian netboot: debian-installer/amd64/linux" grep -q "the tree's debian-installer/amd64/linux and debian-installer/amd64/initrd.gz" "$TMP/deb.out"

"$PXED" import "$ubu" > "$TMP/ubu.out"
check "Ubuntu live server: named ubuntu2404" grep -qx "  ubuntu2404:" "$TMP/ubu.out"
check "Ubuntu live server: autoinstall from NoCloud" grep -qx "    append: 'autoinstall ds=nocloud-net;s={{nocloud_url}}'" "$TMP/ubu.out"
check "Ubuntu live server: ubuntu-autoinstall.yaml" grep -qx "    kickstart: ubuntu-autoinstall.yaml" "$TMP/ubu.out"
check "Ubuntu live server: casper's kernel" grep -q "the tree's casper/vmlinuz and casper/initrd" "$TMP/ubu.out"

mkdir -p "$TMP/notatree/Packages"
set +e
"$PXED" import "$TMP/notatree" > "$TMP/nt.out" 2> "$TMP/nt.err"
rc=$?
set -e
check "a directory that is not a tree: exit 1" test $rc -eq 1
check "a directory that is not a tree: says what was expected" grep -qxF "$TMP/notatree is not an install tree: no .treeinfo, no .discinfo, no repodata/repomd.xml, no dists/*/Release, no casper/, no debian-installer/; give the tree's top directory (where .treeinfo, dists/ or casper/ is)" "$TMP/nt.err"
check "a directory that is not a tree: nothing on stdout" test ! -s "$TMP/nt.out"

# ---------------------------------------------------------------- --append
root=$TMP/tftp
mkdir -p "$root/c6" "$TMP/state"
printf 'pxe' > "$root/pxelinux.0"
printf 'kernel of centos6\n' > "$root/c6/vmlinuz"
printf 'initrd of centos6\n' > "$root/c6/initrd.img"
cat > "$TMP/site.yaml" <<YAML
# The lab's provisioning server.
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: 0, root: $root}   # pxelinux.0 and friends
  http: {port: 0}

trees:
    # The CentOS 6 DVD, loop-mounted.
    c6:
        path: $el6
        url: /pub/c6   # keep: old kickstarts point here

# Profiles below: one per release.
profiles:
    c6:
        tree: c6
        kernel: c6/vmlinuz
        initrd: c6/initrd.img
        kickstart: centos6.ks
        append: ks={{kickstart_url}}
    # more to come

hosts: []
access: {host_documents: open}  # every client here is 127.0.0.1
YAML
cp "$TMP/site.yaml" "$TMP/site.before"
chmod 640 "$TMP/site.yaml"
"$PXED" import "$el7" --append "$TMP/site.yaml" > "$TMP/append.out" 2>&1
check "--append exits 0" test $? -eq 0
check "--append says what it added" grep -q "added trees.centos7 and profiles.centos7 (CentOS 7.9.2009 x86_64) to $TMP/site.yaml" "$TMP/append.out"
cat > "$TMP/site.want" <<YAML
# The lab's provisioning server.
server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: $TMP/state
  dhcp: {enabled: false}
  ftp: {enabled: false}
  tftp: {port: 0, root: $root}   # pxelinux.0 and friends
  http: {port: 0}

trees:
    # The CentOS 6 DVD, loop-mounted.
    c6:
        path: $el6
        url: /pub/c6   # keep: old kickstarts point here
    centos7:
        path: $el7
        url: /pub/centos/7.9.2009/x86_64
        protocol: http

# Profiles below: one per release.
profiles:
    c6:
        tree: c6
        kernel: c6/vmlinuz
        initrd: c6/initrd.img
        kickstart: centos6.ks
        append: ks={{kickstart_url}}
    # more to come
    centos7:
        label: CentOS 7.9.2009 x86_64
        tree: centos7
        # kernel and initrd: the tree's images/pxeboot/vmlinuz and images/pxeboot/initrd.img
        append: 'inst.repo={{tree_url}} inst.ks={{kickstart_url}}'
        kickstart: centos7.ks

hosts: []
access: {host_documents: open}  # every client here is 127.0.0.1
YAML
check "--append inserts at the end of each block, in the file's indentation, every comment kept" diff -u "$TMP/site.want" "$TMP/site.yaml"
check "--append keeps the file's mode" test "$(stat -c %a "$TMP/site.yaml")" = 640
check "--append leaves no temporary file" test -z "$(ls "$TMP" | grep 'site.yaml.import-' || true)"

cp "$TMP/site.yaml" "$TMP/site.after"
set +e
"$PXED" import "$el7" --append "$TMP/site.yaml" > /dev/null 2> "$TMP/taken.err"
rc=$?
set -e
check "a name already taken: exit 1" test $rc -eq 1
check "a name already taken: says where and what to do" grep -qxF "$TMP/site.yaml:16: trees.centos7 is already there; choose another name with --name" "$TMP/taken.err"
check "a name already taken: file unchanged" same_file "$TMP/site.after" "$TMP/site.yaml"

set +e
"$PXED" import "$el7" --name again --url /pub/c6 --append "$TMP/site.yaml" > /dev/null 2> "$TMP/clash.err"
rc=$?
set -e
check "a result that would not load: exit 1" test $rc -eq 1
check "a result that would not load: the loader's error, on the real file" grep -q "would not load with the import, so it is unchanged" "$TMP/clash.err"
check "a result that would not load: names the clash" grep -q "^  $TMP/site.yaml:[0-9]*:[0-9]*: error: tree url /pub/c6 is already used by tree" "$TMP/clash.err"
check "a result that would not load: file unchanged" same_file "$TMP/site.after" "$TMP/site.yaml"

# A site without trees: or profiles: gets both sections at its end.
head -n 9 "$TMP/site.before" > "$TMP/bare.yaml"
printf 'hosts: []\naccess: {host_documents: open}' >> "$TMP/bare.yaml"   # no final newline
"$PXED" import "$el7" --append "$TMP/bare.yaml" > /dev/null
check "sections created at the end when absent, after a last line with no newline" \
  test "$(grep -A1 '^access:' "$TMP/bare.yaml")" = "access: {host_documents: open}
trees:"
check "each section once" test "$(grep -c '^trees:$\|^profiles:$' "$TMP/bare.yaml")" = 2
check "and the site loads" "$PXED" check --config-only --config "$TMP/bare.yaml"

# ---------------------------------------------------------------- served from the tree
start_pxed "$TMP/site.yaml"
tport=$(bound_port tftp)
hport=$(bound_port http)
k=pub/centos/7.9.2009/x86_64/images/pxeboot/vmlinuz
i=pub/centos/7.9.2009/x86_64/images/pxeboot/initrd.img
curl -s -o "$TMP/k.tftp" "tftp://127.0.0.1:$tport/$k"
check "TFTP serves the tree's kernel at the path the profile names" same_file "$el7/images/pxeboot/vmlinuz" "$TMP/k.tftp"
curl -s -o "$TMP/i.tftp" "tftp://127.0.0.1:$tport/$i"
check "TFTP serves the tree's initrd" same_file "$el7/images/pxeboot/initrd.img" "$TMP/i.tftp"
curl -s -o "$TMP/k.http" "http://127.0.0.1:$hport/$k"
check "HTTP serves the tree's kernel" same_file "$el7/images/pxeboot/vmlinuz" "$TMP/k.http"
curl -s -o "$TMP/menu" "tftp://127.0.0.1:$tport/pxelinux.cfg/default"
check "the pxelinux menu boots the tree's kernel" grep -qx "  kernel $k" "$TMP/menu"
# (URLs carry the configured port, 0 here.)
check "and its initrd" grep -q "^  append initrd=$i inst.repo=http://127.0.0.1:0/pub/centos/7.9.2009/x86_64 " "$TMP/menu"
check "the copied CentOS 6 kernel stays in the TFTP root" grep -qx "  kernel c6/vmlinuz" "$TMP/menu"
stop_pxed

finish
