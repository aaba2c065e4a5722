#!/usr/bin/env bash
# Builds the pxed RPM (and source RPM) from this work tree into OUT_DIR with
# rpmbuild: `scripts/dev rpm` and the packaging tests call it.
# Usage: packaging/rpm/build-rpm.sh OUT_DIR
# Prints the path of the binary RPM as its last line.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?usage: build-rpm.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^project(pxed VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
[[ -n $version ]] || { echo "cannot read the version from CMakeLists.txt" >&2; exit 1; }
topdir=$out/rpmbuild
rm -rf "$topdir"
mkdir -p "$topdir"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}

# The source tarball: the files git knows of or would add (so uncommitted
# work is packaged as it is), without build trees; a plain copy otherwise.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/pxed-$version"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$top" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$stage/pxed-$version"
else
  tar -C "$top" --exclude='./build*' --exclude=./demo --exclude=./.git -cf - . | tar -xf - -C "$stage/pxed-$version"
fi
tar -C "$stage" -czf "$topdir/SOURCES/pxed-$version.tar.gz" "pxed-$version"
cp "$top/packaging/rpm/pxed.spec" "$topdir/SPECS/"

args=(--define "_topdir $topdir" --define "pxed_version $version")
# Debian's rpm has an empty RPM database: BuildRequires name RPM packages
# that dpkg installed under other names (scripts/dev installs them).
rpm -q rpm >/dev/null 2>&1 || args+=(--nodeps)
# ccache (used by CMake when installed) across rpmbuild's fresh build trees.
export CCACHE_BASEDIR=$topdir/BUILD CCACHE_NOHASHDIR=1

rpmbuild -ba "${args[@]}" "$topdir/SPECS/pxed.spec" > "$out/rpmbuild.log" 2>&1 || {
  tail -n 60 "$out/rpmbuild.log" >&2
  echo "rpmbuild failed; the whole log is $out/rpmbuild.log" >&2
  exit 1
}
# rpmbuild's own complaints (a file listed twice, an unowned directory).
sed -n '/^RPM build warnings:/,$p' "$out/rpmbuild.log" >&2
rpm_file=$(find "$topdir/RPMS" -name "pxed-$version-*.rpm" | head -n 1)
srpm_file=$(find "$topdir/SRPMS" -name "pxed-$version-*.src.rpm" | head -n 1)
cp "$rpm_file" "$srpm_file" "$out/"
echo "source RPM: $out/$(basename "$srpm_file")" >&2
echo "$out/$(basename "$rpm_file")"
