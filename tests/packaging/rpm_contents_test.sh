#!/usr/bin/env bash
# The built RPM, read back with rpm itself: the paths it installs, their
# owners, modes and config flags, the scriptlets (syntax, and what they do
# with stand-ins for useradd and systemctl), dependencies CentOS 7's rpm 4.11
# can satisfy, and rpmlint without errors.
# Usage: rpm_contents_test.sh RPM_DIR SOURCE_DIR
RPM_DIR=$(realpath "$1")
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v rpm >/dev/null || skip_all "rpm is not installed (scripts/dev deps)"
rpm_file=$(find "$RPM_DIR" -maxdepth 1 -name 'pxed-*.x86_64.rpm' | head -n 1)
srpm_file=$(find "$RPM_DIR" -maxdepth 1 -name 'pxed-*.src.rpm' | head -n 1)
[[ -f $rpm_file ]] || { echo "no binary RPM in $RPM_DIR (the packaging.rpm_build test makes it)"; exit 1; }
check "a source RPM was built too" test -f "$srpm_file"
q() { rpm -qp --nosignature "$@" "$rpm_file" 2>/dev/null; }

# --- paths
q -l > "$TMP/list"
sed 's/^/# /' "$TMP/list" | head -n 60
for p in /usr/sbin/pxed /etc/pxed /etc/pxed/site.yaml /usr/lib/systemd/system/pxed.service \
         /var/lib/pxed /usr/share/pxed/templates /usr/share/pxed/templates/kickstart/centos7.ks \
         /usr/share/pxed/templates/pxelinux/menu.cfg /usr/share/licenses/pxed/LICENSE \
         /usr/share/doc/pxed/README.md /usr/share/doc/pxed/site-yaml.md; do
  check "installs $p" grep -qx "$p" "$TMP/list"
done
n_src=$(cd "$SRC/templates" && find . -type f | wc -l)
n_rpm=$(grep '^/usr/share/pxed/templates/' "$TMP/list" | while read -r f; do [[ -f $SRC/templates/${f#/usr/share/pxed/templates/} ]] && echo "$f"; done | wc -l)
check "every shipped template is in the package ($n_rpm of $n_src)" test "$n_rpm" -eq "$n_src"
check_not "nothing outside the expected trees" grep -v -E '^(/usr/sbin/pxed|/etc/pxed(/site\.yaml)?|/usr/lib/systemd/system/pxed\.service|/var/lib/pxed|/usr/share/pxed(/.*)?|/usr/share/doc/pxed(/.*)?|/usr/share/licenses/pxed(/.*)?)$' "$TMP/list"
check_not "no /usr/lib/.build-id links" grep -q "build-id" "$TMP/list"

# --- owners, modes, flags: "flags mode user group path"
q --qf '[%{FILEFLAGS:fflags}|%{FILEMODES:perms}|%{FILEUSERNAME}|%{FILEGROUPNAME}|%{FILENAMES}\n]' > "$TMP/attrs"
attr() { awk -F'|' -v p="$1" '$5 == p { print $1, $2, $3, $4 }' "$TMP/attrs"; }
check "site.yaml: %config(noreplace), 0640 root:pxed ($(attr /etc/pxed/site.yaml))" test "$(attr /etc/pxed/site.yaml)" = "cn -rw-r----- root pxed"
check "/etc/pxed: 0755 root:root ($(attr /etc/pxed))" test "$(attr /etc/pxed | cut -d' ' -f2-)" = "drwxr-xr-x root root"
check "/var/lib/pxed: owned by pxed ($(attr /var/lib/pxed))" test "$(attr /var/lib/pxed | cut -d' ' -f2-)" = "drwxr-xr-x pxed pxed"
check "/usr/sbin/pxed: 0755 root:root ($(attr /usr/sbin/pxed))" test "$(attr /usr/sbin/pxed | cut -d' ' -f2-)" = "-rwxr-xr-x root root"
check "the unit: 0644, not config ($(attr /usr/lib/systemd/system/pxed.service))" test "$(attr /usr/lib/systemd/system/pxed.service)" = " -rw-r--r-- root root"
check "LICENSE is marked %license" test "$(attr /usr/share/licenses/pxed/LICENSE | cut -d' ' -f1)" = "l"
check "README.md is marked %doc" test "$(attr /usr/share/doc/pxed/README.md | cut -d' ' -f1)" = "d"
# The package's site.yaml is the example, byte for byte.
mkdir -p "$TMP/x"
(cd "$TMP/x" && rpm2cpio "$rpm_file" | cpio -idm --quiet)
check "/etc/pxed/site.yaml is config/site.example.yaml" same_file "$SRC/config/site.example.yaml" "$TMP/x/etc/pxed/site.yaml"
# Unset, pxed would keep root and every capability: the shipped config drops
# to the user %pre creates (checked below).
pkg_user=$(awk '/^[^ #]/ { in_server = ($1 == "server:") } in_server && /^  user:/ { gsub(/["'"'"']/, "", $2); print $2 }' "$TMP/x/etc/pxed/site.yaml")
check "the packaged site.yaml sets server.user to pxed (got '$pkg_user')" test "$pkg_user" = pxed
check "the unit is packaging/systemd/pxed.service" same_file "$SRC/packaging/systemd/pxed.service" "$TMP/x/usr/lib/systemd/system/pxed.service"

# --- scriptlets
q --qf '%{PREIN}' > "$TMP/pre"
q --qf '%{POSTIN}' > "$TMP/post"
q --qf '%{PREUN}' > "$TMP/preun"
q --qf '%{POSTUN}' > "$TMP/postun"
for s in pre post preun postun; do
  echo "# %$s:"; sed 's/^/#   /' "$TMP/$s"
  check "%$s is valid sh" sh -n "$TMP/$s"
done
check "%pre creates the pxed system user" grep -q "useradd -r -g pxed -d /var/lib/pxed -s /sbin/nologin" "$TMP/pre"
check "%post presets the unit (systemd_post)" grep -q "systemctl preset pxed.service" "$TMP/post"
check "%preun disables and stops on removal (systemd_preun)" grep -q "systemctl stop pxed.service" "$TMP/preun"
check "%postun restarts on upgrade (systemd_postun_with_restart)" grep -q "systemctl try-restart pxed.service" "$TMP/postun"

# Run them against stand-ins that log their arguments: $1 is the number
# of package instances left, as rpm passes it.
stubs=$TMP/stubs
mkdir -p "$stubs"
for c in getent groupadd useradd systemctl; do
  printf '#!/bin/sh\necho "%s $*" >> %s/calls\n[ "%s" != getent ] || [ -n "$GETENT_FINDS" ]\n' "$c" "$TMP" "$c" > "$stubs/$c"
  chmod +x "$stubs/$c"
done
run() {  # script arg [env...]
  : > "$TMP/calls"
  env PATH="$stubs:/usr/bin:/bin" "${@:3}" sh "$TMP/$1" "$2" >/dev/null 2>&1
}
run pre 1
check "%pre on a fresh system: groupadd -r pxed, then useradd" grep -qx "groupadd -r pxed" "$TMP/calls"
check "%pre on a fresh system: useradd ... pxed" grep -q "^useradd -r -g pxed .* pxed$" "$TMP/calls"
run pre 2 GETENT_FINDS=1
check_not "%pre on upgrade: the user exists, no useradd" grep -q "useradd\|groupadd" "$TMP/calls"
run post 1
check "%post on install: systemctl preset pxed.service" grep -qx "systemctl preset pxed.service" "$TMP/calls"
run post 2
check_not "%post on upgrade: no preset (keeps the admin's enable/disable)" grep -q preset "$TMP/calls"
run preun 0
check "%preun on removal: disable and stop" bash -c "grep -q 'disable pxed.service' '$TMP/calls' && grep -q 'stop pxed.service' '$TMP/calls'"
run preun 1
check_not "%preun on upgrade: does not stop it" grep -q "stop" "$TMP/calls"
run postun 1
check "%postun on upgrade: try-restart" grep -qx "systemctl try-restart pxed.service" "$TMP/calls"
run postun 0
check_not "%postun on removal: no restart" grep -q "try-restart" "$TMP/calls"

# --- dependencies and format CentOS 7's rpm 4.11 understands
q --requires > "$TMP/requires"
sed 's/^/# requires: /' "$TMP/requires"
check_not "no shared-library dependency (a static binary)" grep -q '\.so' "$TMP/requires"
# rpmlib features rpm 4.11.3 (CentOS 7) provides: `rpm --showrc` there.
el7_rpmlib='BuiltinLuaScripts|CompressedFileNames|ConcurrentAccess|ExplicitPackageProvide|FileCaps|FileDigests|HeaderLoadSortsTags|LargeFiles|PartialHardlinkSets|PayloadFilesHavePrefix|PayloadIsBzip2|PayloadIsLzma|PayloadIsXz|ScriptletExpansion|ScriptletInterpreterArgs|TildeInVersions|VersionedDependencies'
check_not "every rpmlib() feature is one rpm 4.11 has" grep -v -E "^rpmlib\\(($el7_rpmlib)\\)" <(grep '^rpmlib(' "$TMP/requires")
check "payload is xz (rpm 4.11 cannot read zstd): $(q --qf '%{PAYLOADCOMPRESSOR}')" test "$(q --qf '%{PAYLOADCOMPRESSOR}')" = xz
check "architecture x86_64" test "$(q --qf '%{ARCH}')" = x86_64
check "license MIT" test "$(q --qf '%{LICENSE}')" = MIT

# --- rpmlint
if command -v rpmlint >/dev/null; then
  set +e
  rpmlint -r "$SRC/packaging/rpm/pxed.rpmlintrc" "$rpm_file" "$srpm_file" "$SRC/packaging/rpm/pxed.spec" > "$TMP/rpmlint.out" 2>&1
  rc=$?
  set -e
  sed 's/^/# rpmlint: /' "$TMP/rpmlint.out"
  summary=$(grep -E '[0-9]+ errors?, [0-9]+ warnings?' "$TMP/rpmlint.out" | tail -n 1)
  check "rpmlint: no errors ($summary)" bash -c "echo '$summary' | grep -qE '(^| )0 errors'"
  check "rpmlint exit status 0 (got $rc)" test "$rc" -eq 0
else
  bad "rpmlint is not installed (scripts/dev deps)"
fi

finish
