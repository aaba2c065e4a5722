# What both access tests (access_test.sh, access_proxy_test.sh) serve: a
# boot tree, an install tree, and two root password hashes in secret files
# (one for host A alone, one for the profile). Source after lib.sh.
#
# access_site_files: makes them; sets root, tree, sec, HASH_A, HASH_P and
# ACCESS_TREES_PROFILES (the site.yaml sections that name them; host A
# takes `secrets: {rootpw_hash: {file: $sec/rootpw-a}}`).
access_site_files() {
  root=$TMP/tftp tree=$TMP/tree sec=$TMP/secrets
  mkdir -p "$root/k" "$tree/repodata" "$sec" "$TMP/got"
  printf 'kernel' > "$root/k/vmlinuz"
  printf 'initrd' > "$root/k/initrd.img"
  head -c 20000 /dev/urandom > "$root/pxelinux.0"
  printf '<repomd/>\n' > "$tree/repodata/repomd.xml"
  HASH_A=$(openssl passwd -6 -salt "$(openssl rand -hex 8)" "alpha-$RANDOM-$RANDOM")
  HASH_P=$(openssl passwd -6 -salt "$(openssl rand -hex 8)" "profile-$RANDOM-$RANDOM")
  printf '%s\n' "$HASH_A" > "$sec/rootpw-a"
  printf '%s\n' "$HASH_P" > "$sec/rootpw-profile"
  chmod 640 "$sec"/*
  ACCESS_TREES_PROFILES="trees:
  c7: {path: $tree, url: /pub/centos/7/x86_64}
profiles:
  c7:
    kernel: k/vmlinuz
    initrd: k/initrd.img
    tree: c7
    kickstart: centos7.ks
    append: \"inst.ks={{kickstart_url}}\"
    secrets: {rootpw_hash: {file: $sec/rootpw-profile}}"
}
