#!/usr/bin/env bash
# The pxed binary inside the RPM must run on CentOS 7: glibc 2.17, Linux 3.10.
# No CentOS 7 machine here, so what is checked instead:
# - the ELF itself: static-PIE (no interpreter, no library needed, so no
#   glibc symbol version to miss; type DYN, so loaded at a random address);
#   were it ever dynamic, every GLIBC_ version it needs must be <= 2.17; its
#   ABI tag's minimum kernel <= 3.10;
# - the static link used no NSS function (getpwnam, getaddrinfo, ...), which
#   would load the host's own glibc modules at run time;
# - it runs, check and all, and passes the whole privilege-drop test (root
#   binds port 69, drops to nobody, READY=1, serves) under a seccomp filter
#   that refuses every system call newer than Linux 3.10 (kernel_3_10.py).
# Usage: portable_binary_test.sh RPM_DIR SOURCE_DIR
RPM_DIR=$(realpath "$1")
SRC=$2
source "$SRC/tests/integration/lib.sh"

for c in rpm2cpio cpio file readelf objdump python3; do
  command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"
done
rpm_file=$(find "$RPM_DIR" -maxdepth 1 -name 'pxed-*.x86_64.rpm' | head -n 1)
[[ -f $rpm_file ]] || { echo "no binary RPM in $RPM_DIR (the packaging.rpm_build test makes it)"; exit 1; }

chmod 755 "$TMP"
mkdir -p "$TMP/x"
(cd "$TMP/x" && rpm2cpio "$rpm_file" | cpio -idm --quiet)
bin=$TMP/x/usr/sbin/pxed
check "the RPM holds /usr/sbin/pxed" test -x "$bin"

desc=$(file -b "$bin")
echo "# file: $desc"
check "file: a 64-bit x86-64 position-independent ELF executable" grep -q "ELF 64-bit LSB pie executable, x86-64" <<<"$desc"
check "file: static-pie linked" grep -q "static-pie linked" <<<"$desc"
# Position-independent, so the kernel loads it at a random address (ASLR):
# ELF type DYN, as a classic -static binary (EXEC, a fixed address) is not.
check "readelf: ELF type DYN (position-independent)" bash -c "readelf -h '$bin' | grep -q 'Type:[[:space:]]*DYN'"
check "file: stripped" grep -q ", stripped" <<<"$desc"
kernel=$(sed -n 's/.*for GNU\/Linux \([0-9.]*\).*/\1/p' <<<"$desc")
check "file: the minimum kernel ($kernel) is at most 3.10" bash -c "printf '%s\n3.10.0\n' '$kernel' | sort -V -C"
abi=$(readelf -n "$bin" | sed -n 's/.*OS: Linux, ABI: \([0-9.]*\).*/\1/p')
check "readelf: NT_GNU_ABI_TAG says Linux $abi, at most 3.10" bash -c "[ -n '$abi' ] && printf '%s\n3.10.0\n' '$abi' | sort -V -C"
check "readelf: no program interpreter (no ld-linux to load)" bash -c "! readelf -l '$bin' | grep -q 'Requesting program interpreter'"
# A static-PIE has a dynamic section, for relocating itself; it names no library.
check "readelf: no shared library needed (no DT_NEEDED)" bash -c "! readelf -d '$bin' | grep -q '(NEEDED)'"
ldd_out=$(ldd "$bin" 2>&1 || true)
echo "# ldd: $ldd_out"
check "ldd: statically linked, no library to load" grep -Eq "statically linked|not a dynamic executable" <<<"$ldd_out"
# The general rule, for the day the binary is linked dynamically: no
# symbol version newer than CentOS 7's glibc 2.17 (GLIBCXX/CXXABI neither:
# CentOS 7's libstdc++ is GCC 4.8's, GLIBCXX_3.4.19 and CXXABI_1.3.7).
versions=$( (objdump -T "$bin" 2>/dev/null; readelf -V "$bin" 2>/dev/null) | grep -oE '(GLIBC|GLIBCXX|CXXABI)_[0-9.]+' | sort -u -V || true)
echo "# symbol versions needed: ${versions:-none}"
too_new=$(for v in $versions; do
  case $v in
    GLIBC_*)   printf '%s\n2.17\n' "${v#GLIBC_}" | sort -V -C || echo "$v" ;;
    GLIBCXX_*) printf '%s\n3.4.19\n' "${v#GLIBCXX_}" | sort -V -C || echo "$v" ;;
    CXXABI_*)  printf '%s\n1.3.7\n' "${v#CXXABI_}" | sort -V -C || echo "$v" ;;
  esac
done)
check "no symbol version newer than CentOS 7 has (${too_new:-none})" test -z "$too_new"

# glibc's linker warning "Using 'getpwnam' in statically linked applications
# requires at runtime the shared libraries from the glibc version used for
# linking" would mean NSS, i.e. the host's libnss_*.so built for glibc 2.17.
log=$RPM_DIR/rpmbuild.log
if [[ -f $log ]]; then
  nss=$(grep -oE "Using '[a-z_0-9]+' in statically linked" "$log" | sort -u | grep -v "'dlopen'" || true)
  echo "# static-link warnings: $(grep -oE "Using '[a-z_0-9]+' in statically linked" "$log" | sort -u | tr '\n' ' ')"
  check "the static link pulled in no NSS function (${nss:-none})" test -z "$nss"
fi

# --- on a Linux 3.10 system call table
# The system python, not a per-user shim in /root: part of the test runs it as nobody.
py=$( [[ -x /usr/bin/python3 ]] && echo /usr/bin/python3 || command -v python3)
k310=("$py" "$SRC/tests/integration/kernel_3_10.py")
check "the 3.10 filter really refuses newer calls (getrandom, 3.17)" \
  bash -c "! ${k310[*]} python3 -c 'import os; os.getrandom(1)' 2>/dev/null"
check "3.10: pxed --version" bash -c "${k310[*]} '$bin' --version | grep -q '^pxed [0-9]'"
mkdir -p "$TMP/demo"
cp "$SRC/config/demo.yaml" "$TMP/demo/site.yaml"
"$SRC/scripts/make-demo-tree" "$TMP/demo/demo" >/dev/null
sed -i 's#\.\./demo/#demo/#g' "$TMP/demo/site.yaml"
check "3.10: pxed check on the demo config" "${k310[@]}" "$bin" check --config "$TMP/demo/site.yaml"
check "3.10: pxed render --out" "${k310[@]}" "$bin" render --config "$TMP/demo/site.yaml" --out "$TMP/render"

echo "# --- the privilege-drop test, with the RPM's binary on a 3.10 system call table"
set +e
"$SRC/tests/integration/privileges_test.sh" "$bin" "$SRC" "${k310[@]}" > "$TMP/priv.out" 2>&1
rc=$?
set -e
sed 's/^/    /' "$TMP/priv.out"
if grep -q "^SKIP:" "$TMP/priv.out"; then
  echo "# SKIP: the privilege-drop part did not run here (see above)"
else
  check "3.10: root binds port 69, drops to nobody, no capabilities, READY=1, serves (exit $rc)" test "$rc" -eq 0
fi

finish
