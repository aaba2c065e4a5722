# Shared by the benchmark scripts: installing the peer servers from Debian's
# packages without letting them start as system services. Source it.

# bench_install PACKAGE...: installs the packages that are missing. Their
# maintainer scripts would start system-wide services listening on every
# interface; a policy-rc.d that says "no" keeps invoke-rc.d from starting
# anything, and is removed again so the machine is left as it was.
bench_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local had_policy=0 ok=1
  [[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
  if ((!had_policy)); then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || ok=0
  # Never leave the machine with services barred from starting.
  ((had_policy)) || rm -f /usr/sbin/policy-rc.d
  ((ok)) || { echo "cannot install ${missing[*]}"; return 1; }
}

# bench_median [EMPTY]: the median of the numbers on stdin, whitespace
# separated ("-" entries skipped); EMPTY (default "-") when there are none.
bench_median() {
  tr ' ' '\n' | sort -g | awk -v empty="${1:--}" 'NF && $1 != "-" { a[++n] = $1 }
    END { if (!n) print empty; else if (n % 2) print a[(n + 1) / 2]; else print (a[n / 2] + a[n / 2 + 1]) / 2 }'
}

# bench_unpack DIR PACKAGE: unpacks a package's files under DIR without
# installing it (atftpd conflicts with tftpd-hpa as a package).
bench_unpack() {
  local dir=$1 pkg=$2
  mkdir -p "$dir"
  if ! compgen -G "$dir/${pkg}_*.deb" >/dev/null; then
    (cd "$dir" && apt-get download -qq "$pkg" >/dev/null 2>&1) || { echo "cannot download $pkg"; return 1; }
  fi
  dpkg-deb -x "$(compgen -G "$dir/${pkg}_*.deb" | head -n 1)" "$dir"
}

# bench_wait_udp NETNS PORT [SECONDS]: waits until something in NETNS
# listens on UDP PORT (a server started in the background is ready), at
# most SECONDS (default 10). Returns 1 if nothing came up.
bench_wait_udp() {
  local ns=$1 port=$2 tries=$((${3:-10} * 10)) out
  while ((tries-- > 0)); do
    out=$(ip netns exec "$ns" ss -Huln "sport = :$port" 2>/dev/null) || true
    [[ -n $out ]] && return 0
    sleep 0.1
  done
  return 1
}

# bench_stop PID: stops a server started in the background and reaps it.
bench_stop() {
  [[ -n ${1:-} ]] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
