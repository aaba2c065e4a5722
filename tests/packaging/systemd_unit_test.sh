#!/usr/bin/env bash
# packaging/systemd/pxed.service: `systemd-analyze verify` (Debian 12's
# systemd 252) must have nothing to say about it, `systemd-analyze security`
# is printed and its exposure kept low, and a model of systemd 219 (CentOS 7,
# unit_219.py) finds every directive either known there or harmless to drop.
# Usage: systemd_unit_test.sh PXED SOURCE_DIR
PXED=$(realpath "$1")
SRC=$2
source "$SRC/tests/integration/lib.sh"

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze is not installed (Debian package systemd; scripts/dev deps)"
unit=$SRC/packaging/systemd/pxed.service
max_exposure=3.0

# verify checks that ExecStart's program exists: /usr/sbin/pxed is not
# installed on a build machine, so the copy under test runs the built one.
sed "s#/usr/sbin/pxed#$PXED#g" "$unit" > "$TMP/pxed.service"
set +e
systemd-analyze verify "$TMP/pxed.service" > "$TMP/verify.out" 2>&1
rc=$?
set -e
sed 's/^/# verify: /' "$TMP/verify.out"
# verify exits 0 on unknown keys and unparsable values, so its words count too.
if ((rc != 0)) && ! grep -q "pxed.service" "$TMP/verify.out"; then
  # Not about the unit: this environment's systemd cannot run verify at all
  # (seen in some containers). Say so rather than pass or fail on it.
  echo "# SKIP: systemd-analyze verify cannot run here (exit $rc), see above"
else
  check "systemd-analyze verify accepts the unit (exit $rc)" test "$rc" -eq 0
  check_not "systemd-analyze verify has no complaint about it" grep -q "pxed.service" "$TMP/verify.out"
fi

# And verify does catch a broken unit (so the check above can fail).
sed 's/^Type=notify/Type=notifyy/' "$TMP/pxed.service" > "$TMP/broken.service"
systemd-analyze verify "$TMP/broken.service" > "$TMP/broken.out" 2>&1 || true
check "verify names a bad value in a broken copy" grep -q "Failed to parse service type" "$TMP/broken.out"

systemd-analyze security --offline=true "$TMP/pxed.service" > "$TMP/security.out" 2>&1 || true
cat "$TMP/security.out" | sed 's/^/# /'
exposure=$(sed -n 's/.*Overall exposure level for pxed.service: \([0-9.]*\).*/\1/p' "$TMP/security.out")
check "systemd-analyze security reports an exposure level ($exposure)" test -n "$exposure"
check "exposure $exposure is at most $max_exposure" awk -v e="${exposure:-99}" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'

python3 "$SRC/tests/packaging/unit_219.py" "$unit" > "$TMP/219.out" 2>&1 && rc=0 || rc=$?
cat "$TMP/219.out"
check "systemd 219 model: every directive known there or harmless to ignore" test "$rc" -eq 0

# What the unit runs is what the package installs.
check "ExecStart runs /usr/sbin/pxed with /etc/pxed/site.yaml" grep -qx "ExecStart=/usr/sbin/pxed --config /etc/pxed/site.yaml" "$unit"
check "ExecStartPre checks the same config (the file only, not the doctor's findings)" grep -qx "ExecStartPre=/usr/sbin/pxed check --config-only --config /etc/pxed/site.yaml" "$unit"
check "ExecReload asks the daemon and waits for its verdict" grep -qx "ExecReload=/usr/sbin/pxed reload --config /etc/pxed/site.yaml" "$unit"
check "Restart=on-failure" grep -qx "Restart=on-failure" "$unit"
check "the state directory is the package's" grep -qx "ReadWritePaths=/var/lib/pxed" "$unit"
check "the spec installs the state directory there" grep -q "^%global pxed_statedir /var/lib/pxed" "$SRC/packaging/rpm/pxed.spec"

finish
