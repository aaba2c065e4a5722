#!/usr/bin/env bash
# Boot-storm benchmark: N simulated hosts booting over PXE at once, against
# pxed and against reference stacks built from Debian's packages, in one run.
#
#   bench/storm_bench.sh [--hosts N] [--rounds R] [--quick] [--only "pxed dnsmasq ..."]
#
#   ns pxh3-c-PID: N macvlan interfaces h0..hN-1 ── veth ── ns pxh3-s-PID: the servers
#     (one MAC each) on the client end veth0,                veth0 10.77.0.1/16,
#     no address of its own                                  ports 67, 69, 80
#
# Every host does, in order, what a BIOS PXE boot with pxelinux does:
#   1. DHCP DORA with busybox udhcpc: vendor class PXEClient:Arch:00000:UNDI:002001,
#      option 93 (arch 0), asking for options 66 and 67; the answer must carry
#      next-server 10.77.0.1 and the boot file pxelinux.0;
#   2. TFTP from its leased address (curl --interface, lock-step, blksize 1468,
#      tsize, as pxelinux asks): pxelinux.0, ldlinux.c32, pxelinux.cfg/01-<mac>
#      (which must be its own: it names its kickstart), an 8 MiB kernel and a
#      32 MiB initrd (random test files made here; --quick: 2 and 8 MiB);
#   3. its kickstart over HTTP (ks/<mac>.ks, status 200, its own hostname in it).
# All hosts wait on one barrier and start together; each has a deadline
# (--host-timeout, default 600 s) and retries a failed step twice (a retry is
# counted; so is every DHCP DISCOVER or REQUEST udhcpc had to send again).
#
# Stacks, each started fresh (new lease state) for every run:
#   pxed                    pxed alone: DHCP, TFTP and HTTP, every host in
#                           site.yaml (MAC -> hostname, profile; addresses from
#                           a pool), configs and kickstarts rendered per host;
#   dnsmasq                 dnsmasq DHCP + TFTP, nginx for the kickstarts;
#   dnsmasq+atftpd+nginx    dnsmasq DHCP only, atftpd TFTP, nginx HTTP.
# The reference stacks serve static copies of exactly what pxed renders
# (`pxed render --out`). Rounds are interleaved: each round runs every stack
# once, the order rotating from round to round.
#
# Per stack: time until the last host was done (median of the rounds), the
# slowest and the median host, hosts failed, retries, the completion rate
# (hosts done per second), pxed's completion rate over each reference's
# (median of the per-round ratios), the server CPU time (every process in
# the server namespace) and, per phase, the median host's time: which part of
# the boot dominates. pxed's peak RSS (VmHWM) is printed for each of its runs.
#
# Needs root (namespaces, port 67/69/80 inside them, installs the peers). Only
# namespaces this script creates carry any traffic; every process and
# namespace is removed on exit or Ctrl-C.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$top/bench/storm_bench.sh

# ---------------------------------------------------------------------------
# Client side, run inside the client namespace by the main script below:
#   storm_bench.sh --_clients WORK N SERVER TIMEOUT
# forks the N hosts, lets them all pass the barrier at once, waits for them.
if [[ ${1:-} == --_clients ]]; then
  work=$2 n=$3 srv=$4 host_timeout=$5
  out=$work/run
  now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

  host() {  # I: one host, from the barrier to its result line
    local i=$1 ifc=h$1 mac dash siaddr='' boot_file='' retries=0 t0 t1 t2 t3 t4 t5 deadline
    local -a ph=()
    mac=$(< "/sys/class/net/$ifc/address")
    dash=${mac//:/-}
    # The barrier: open the FIFO (blocks until the driver holds it open for
    # writing), say so, and read until the driver closes it: every host
    # leaves the read at the same moment.
    { : > "$out/ready.$i"; read -r _ || true; } < "$work/go"
    t0=$(now_ms)
    deadline=$((t0 + host_timeout * 1000))
    result() {  # STATUS NOTE
      local end; end=$(now_ms)
      echo "$i $1 $t0 $end ${ph[0]:--} ${ph[1]:--} ${ph[2]:--} ${ph[3]:--} ${ph[4]:--} $retries ${2:--}" > "$out/result.$i"
      exit 0
    }
    left_s() { local l=$((deadline - $(now_ms))); ((l >= 1000)) || l=1000; echo "$((l / 1000)).$((l % 1000 / 100))"; }

    # 1. DHCP: three udhcpc runs at most, each sending up to 4 DISCOVERs 2 s
    # apart (a PXE ROM sends 4, at 4, 8, 16 and 32 s).
    local lines
    for _ in 1 2 3; do
      (($(now_ms) < deadline)) || result fail dhcp-timeout
      rm -f "$out/lease.$i"
      UDH_OUT=$out/lease.$i timeout "$(left_s)" busybox udhcpc -f -q -n -C -i "$ifc" -s "$work/udhcpc-script" \
        -V "PXEClient:Arch:00000:UNDI:002001" -x 0x5d:0000 -O 66 -O 67 -t 4 -T 2 > "$out/udhcpc.$i" 2>&1 || true
      lines=$(grep -c "discover\|select for" "$out/udhcpc.$i" || true)
      [[ -s $out/lease.$i ]] && { retries=$((retries + lines - 2)); break; }
      retries=$((retries + lines))
    done
    [[ -s $out/lease.$i ]] || result fail dhcp
    # shellcheck source=/dev/null  # written by udhcpc-script: ip, siaddr, boot_file
    source "$out/lease.$i"
    [[ $siaddr == "$srv" ]] || result fail "dhcp-next-server=${siaddr:-none}"
    [[ $boot_file == pxelinux.0 ]] || result fail "dhcp-filename=${boot_file:-none}"
    t1=$(now_ms); ph[0]=$((t1 - t0))

    # fetch URL EXPECT DEST: EXPECT a size in bytes, or a string the file
    # must contain; two retries.
    fetch() {
      local url=$1 expect=$2 dest=$3 a got
      for a in 1 2 3; do
        (($(now_ms) < deadline)) || return 1
        got=$(curl -sS --interface "$ifc" --tftp-blksize 1468 --max-time "$(left_s)" -o "$dest" \
              -w '%{http_code} %{size_download}' "$url" 2>> "$out/curl.$i") || got="err -1"
        if [[ $expect =~ ^[0-9]+$ ]]; then
          [[ ${got#* } == "$expect" ]] && return 0
        elif [[ ${got% *} =~ ^(0|000|200)$ ]] && grep -qF -- "$expect" "$dest" 2>/dev/null; then
          return 0
        fi
        echo "attempt $a of $url: $got" >> "$out/curl.$i"
        retries=$((retries + 1))
      done
      return 1
    }
    local tftp=tftp://$srv
    fetch "$tftp/pxelinux.0" "$(< "$work/size.pxelinux")" /dev/null || result fail tftp-pxelinux.0
    fetch "$tftp/ldlinux.c32" "$(< "$work/size.ldlinux")" /dev/null || result fail tftp-ldlinux.c32
    # A host's own config names its own kickstart (ks/<its mac>.ks).
    fetch "$tftp/pxelinux.cfg/01-$dash" "ks/$dash.ks" "$out/cfg.$i" || result fail tftp-config
    t2=$(now_ms); ph[1]=$((t2 - t1))
    fetch "$tftp/k/vmlinuz" "$(< "$work/size.kernel")" /dev/null || result fail tftp-kernel
    t3=$(now_ms); ph[2]=$((t3 - t2))
    fetch "$tftp/k/initrd.img" "$(< "$work/size.initrd")" /dev/null || result fail tftp-initrd
    t4=$(now_ms); ph[3]=$((t4 - t3))
    fetch "http://$srv/ks/$dash.ks" "$(< "$work/hostname.$i")" "$out/ks.$i" || result fail http-kickstart
    t5=$(now_ms); ph[4]=$((t5 - t4))
    result ok
  }

  rm -f "$work/go"; mkfifo "$work/go"
  hpids=()
  for ((i = 0; i < n; i++)); do host "$i" & hpids+=($!); done
  # Hold the FIFO open until every host has opened it, then close it: all
  # reads end at once. The release time is what the totals count from.
  exec 7> "$work/go"
  for ((w = 0; w < 600; w++)); do
    c=$(find "$out" -maxdepth 1 -name 'ready.*' | wc -l)
    ((c >= n)) && break
    sleep 0.1
  done
  now_ms > "$out/release"
  exec 7>&-
  # A host stuck past its deadline (one that missed the barrier, a client
  # that ignores its timeout) is ended, and counts as failed.
  { sleep $((host_timeout + 30)); kill "${hpids[@]}" 2>/dev/null; } &
  watchdog=$!
  for p in "${hpids[@]}"; do wait "$p" || true; done
  kill "$watchdog" 2>/dev/null || true
  # The clients' CPU time (every host's udhcpc and curl, reaped): "user sys".
  times > "$out/times"; tail -n 1 "$out/times" > "$out/client-cpu"
  exit 0
fi

# ---------------------------------------------------------------------------
# The main script.
build=${PXED_BUILD_DIR:-$top/build}
pxed=$build/src/app/pxed
hosts=200 hosts_set=0 rounds=2 quick=0 host_timeout=600 keep=0 only="pxed dnsmasq dnsmasq+atftpd+nginx"
while (($#)); do
  case $1 in
    --hosts) hosts=$2; hosts_set=1; shift ;;
    --rounds) rounds=$2; shift ;;
    --quick) quick=1 ;;
    --host-timeout) host_timeout=$2; shift ;;
    --only) only=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--hosts N] [--rounds R] [--quick] [--host-timeout S] [--keep] [--only \"pxed dnsmasq dnsmasq+atftpd+nginx\"]"; exit 2 ;;
  esac
  shift
done
if ((quick)); then
  ((hosts_set)) || hosts=30
  kernel_mib=2 initrd_mib=8
else
  kernel_mib=8 initrd_mib=32
fi
((hosts >= 1 && hosts <= 1000)) || { echo "--hosts: 1 to 1000"; exit 2; }

[[ $(id -u) -eq 0 ]] || { echo "run as root (network namespaces, installs the peers)"; exit 1; }
[[ -x $pxed ]] || { echo "build first: scripts/dev build (or PXED_BUILD_DIR=...)"; exit 1; }
for c in ip ss curl busybox; do command -v $c >/dev/null || { echo "$c is missing"; exit 1; }; done
curl -V | grep -q '^Protocols:.* tftp' || { echo "this curl has no TFTP"; exit 1; }

source "$top/bench/lib.sh"
peer_dir=/var/cache/pxed-bench
bench_install dnsmasq-base nginx libwrap0 libpcre2-8-0 || exit 1
bench_unpack "$peer_dir" atftpd || exit 1
atftpd=$peer_dir/usr/sbin/atftpd

id=$$
S=pxh3-s-$id C=pxh3-c-$id
srv=10.77.0.1
work=$(mktemp -d /tmp/pxh3-storm-XXXXXX)
chmod 755 "$work"
made_ns=() spids=() driver_pid=
stop_servers() {
  local p
  for p in "${spids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${spids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  spids=()
  # nginx's workers and anything else left in the server namespace.
  ip netns pids "$S" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  [[ -z $driver_pid ]] || kill "$driver_pid" 2>/dev/null || true
  stop_servers
  local ns
  for ns in "${made_ns[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; done
  for ns in "${made_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((keep)); then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

# --- the network --------------------------------------------------------------
for ns in $S $C; do
  ip netns add $ns
  made_ns+=("$ns")
  ip -n $ns link set lo up
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  # 200+ hosts in one subnet: room in the neighbour tables.
  ip netns exec $ns sysctl -qw net.ipv4.neigh.default.gc_thresh1=4096 net.ipv4.neigh.default.gc_thresh2=8192 \
    net.ipv4.neigh.default.gc_thresh3=16384 2>/dev/null || true
done
# Many interfaces of one subnet in one namespace: each answers ARP only for
# its own address, and no reverse-path check drops a reply that arrives on
# the interface a socket is bound to.
ip netns exec $C sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.default.arp_ignore=1 \
  net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.default.arp_announce=2 \
  net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ip link add veth0 netns $S type veth peer name veth0 netns $C
ip -n $S addr add $srv/16 dev veth0
ip -n $S link set veth0 up
ip -n $C link set veth0 up
macs=()
for ((i = 0; i < hosts; i++)); do
  mac=$(printf '52:54:00:77:%02x:%02x' $((i >> 8)) $((i & 255)))
  macs+=("$mac")
  ip -n $C link add link veth0 name h$i address "$mac" type macvlan mode bridge
  ip -n $C link set h$i up
done

# --- the files ------------------------------------------------------------------
root=$work/tftp tree=$work/tree ref=$work/ref
mkdir -p "$root/k" "$tree/repodata" "$work/run"
head -c 46909 /dev/urandom > "$root/pxelinux.0"
head -c 122308 /dev/urandom > "$root/ldlinux.c32"
head -c $((kernel_mib << 20)) /dev/urandom > "$root/k/vmlinuz"
head -c $((initrd_mib << 20)) /dev/urandom > "$root/k/initrd.img"
printf '<repomd/>\n' > "$tree/repodata/repomd.xml"
stat -c %s "$root/pxelinux.0" > "$work/size.pxelinux"
stat -c %s "$root/ldlinux.c32" > "$work/size.ldlinux"
stat -c %s "$root/k/vmlinuz" > "$work/size.kernel"
stat -c %s "$root/k/initrd.img" > "$work/size.initrd"

cat > "$work/udhcpc-script" <<'SH'
#!/bin/sh
# busybox udhcpc's event script: the lease for the host, and its address.
case $1 in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    # next-server and file from the header, or options 66 and 67.
    printf 'ip=%s\nsiaddr=%s\nboot_file=%s\n' "$ip" "${siaddr:-$tftp}" "${boot_file:-$bootfile}" > "$UDH_OUT.part"
    mv "$UDH_OUT.part" "$UDH_OUT" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
SH
chmod 755 "$work/udhcpc-script"

# pxed's site: every host by MAC, hostname and profile; addresses from a pool.
site_hosts() {
  local i
  echo "hosts:"
  for ((i = 0; i < hosts; i++)); do
    echo "  - {mac: \"${macs[$i]}\", hostname: storm$i, profile: c7}"
    echo "storm$i" > "$work/hostname.$i"
  done
}
site_yaml() {  # STATE_DIR
  cat <<YAML
server:
  address: $srv
  state_dir: $1
  log: {level: info, file: $1/pxed.log}
  tftp: {root: $root}
  http: {port: 80}
  ftp: {enabled: false}
subnets:
  - network: 10.77.0.0/16
    ranges: [10.77.1.1-10.77.4.254]
    lease_time: 1h
boot:
  bios: pxelinux.0
trees:
  c7: {path: $tree, url: /pub/centos/7/x86_64}
profiles:
  c7:
    label: Install CentOS 7
    kernel: k/vmlinuz
    initrd: k/initrd.img
    tree: c7
    kickstart: centos7.ks
    append: "inst.repo={{tree_url}} inst.ks={{kickstart_url}}"
$(site_hosts)
YAML
}
mkdir -p "$work/render-state"
site_yaml "$work/render-state" > "$work/site.yaml"
ip netns exec $S "$pxed" check --config "$work/site.yaml" > "$work/check.out" 2>&1 || { echo "pxed check failed:"; cat "$work/check.out"; exit 1; }

# The reference stacks serve what pxed would: every host's pxelinux config
# and kickstart rendered once to static files, beside the same boot files.
ip netns exec $S "$pxed" render --config "$work/site.yaml" --out "$work/rendered" > /dev/null
mkdir -p "$ref/tftp/k" "$ref/http/ks"
ln "$root/pxelinux.0" "$root/ldlinux.c32" "$ref/tftp/"
ln "$root/k/vmlinuz" "$root/k/initrd.img" "$ref/tftp/k/"
cp -r "$work/rendered/pxelinux.cfg" "$ref/tftp/"
for ((i = 0; i < hosts; i++)); do
  d=${macs[$i]//:/-}
  [[ -s $ref/tftp/pxelinux.cfg/01-$d ]] || { echo "pxed render wrote no pxelinux.cfg/01-$d"; exit 1; }
  cp "$work/rendered/ks/$d.ks" "$ref/http/ks/" || { echo "pxed render wrote no ks/$d.ks"; exit 1; }
done
chmod -R a+rX "$work"

# --- the stacks -----------------------------------------------------------------
# nsenter, not ip netns exec (which forks and waits): the pid started is the
# server's own, for its RSS and a clean SIGTERM.
# (An array, not a function: a function put in the background runs in a
# subshell of its own, whose pid $! would be.)
in_s=(nsenter "--net=/run/netns/$S")
start_nginx() {
  mkdir -p "$1/nginx/logs"
  cat > "$1/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $1/nginx/nginx.pid;
error_log $1/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  access_log $1/nginx/logs/access.log;
  server { listen $srv:80; root $ref/http; }
}
CONF
  "${in_s[@]}" nginx -p "$1/nginx" -c "$1/nginx/nginx.conf" -g 'daemon off;' > "$1/nginx.out" 2>&1 &
  spids+=($!)
}
start_dnsmasq() {  # DIR with-tftp|no-tftp
  local tftp=()
  [[ $2 == with-tftp ]] && tftp=(--enable-tftp --tftp-root="$ref/tftp" --tftp-max=4096)
  chmod 777 "$1"  # dnsmasq drops to nobody, then writes its lease file
  "${in_s[@]}" dnsmasq --keep-in-foreground --port=0 --interface=veth0 --bind-interfaces --no-ping \
    --dhcp-range=10.77.1.1,10.77.4.254,255.255.0.0,1h --dhcp-lease-max=4096 \
    --dhcp-boot=pxelinux.0,,$srv "${tftp[@]}" --dhcp-leasefile="$1/leases" --pid-file="$1/dnsmasq.pid" \
    --log-facility="$1/dnsmasq.log" --user=nobody > "$1/dnsmasq.out" 2>&1 &
  spids+=($!)
}
start_stack() {  # STACK DIR; sets main_pid (whose RSS is reported)
  local s=$1 dir=$2
  mkdir -p "$dir/state"
  case $s in
    pxed)
      site_yaml "$dir/state" > "$dir/site.yaml"
      "${in_s[@]}" "$pxed" --config "$dir/site.yaml" > "$dir/pxed.out" 2>&1 &
      spids+=($!) ;;
    dnsmasq)
      start_dnsmasq "$dir" with-tftp
      start_nginx "$dir" ;;
    dnsmasq+atftpd+nginx)
      start_dnsmasq "$dir" no-tftp
      "${in_s[@]}" "$atftpd" --daemon --no-fork --port 69 --bind-address $srv --maxthread 4096 \
        --logfile "$dir/atftpd.log" --user nobody.nogroup "$ref/tftp" > "$dir/atftpd.out" 2>&1 &
      spids+=($!)
      start_nginx "$dir" ;;
    *) echo "unknown stack $s"; exit 2 ;;
  esac
  main_pid=${spids[0]}
}
# Ready: ports 67 and 69 (UDP) and 80 (TCP) bound in the server namespace,
# the kickstart of host 0 served, and pxed's DHCP answering.
wait_ready() {  # STACK DIR
  local w
  for ((w = 0; w < 100; w++)); do
    if "${in_s[@]}" ss -Hlun 'sport = :67' | grep -q . && "${in_s[@]}" ss -Hlun 'sport = :69' | grep -q . &&
       "${in_s[@]}" ss -Hltn 'sport = :80' | grep -q . &&
       { [[ $1 != pxed ]] || grep -q "dhcp: answering on" "$2/state/pxed.log" 2>/dev/null; }; then
      return 0
    fi
    sleep 0.1
  done
  echo "$1 did not get ready in 10 s:"; tail -n 20 "$2"/*.out "$2"/state/*.log 2>/dev/null || true
  return 1
}
ns_cpu_ms() {  # CPU time (user + system, children reaped included) of every process in ns S
  local p sum=0 t
  for p in $(ip netns pids $S 2>/dev/null); do
    t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null) || continue
    sum=$((sum + t))
  done
  echo $((sum * 1000 / $(getconf CLK_TCK)))
}

# run_stack STACK ROUND: one storm; prints its summary line
#   STACK ROUND done_s slowest_s median_s failed retries cpu_s rss_kib rate p_dhcp p_boot p_kernel p_initrd p_ks client_cpu_s
run_stack() {
  local s=$1 r=$2 dir=$work/$1-$2 c0 c1 rss=- release
  mkdir -p "$dir"
  rm -rf "$work/run"; mkdir -p "$work/run"
  # The hosts come fresh: no address, no neighbour entries left from the last storm.
  for ((i = 0; i < hosts; i++)); do ip -n $C addr flush dev h$i; done
  ip -n $C neigh flush all 2>/dev/null || true
  ip -n $S neigh flush all 2>/dev/null || true
  start_stack "$s" "$dir"
  wait_ready "$s" "$dir" || { stop_servers; echo "$s $r - - - $hosts - - - - - - - - -"; return; }
  c0=$(ns_cpu_ms)
  ip netns exec $C "$self" --_clients "$work" "$hosts" "$srv" "$host_timeout" > "$dir/clients.out" 2>&1 &
  driver_pid=$!
  wait "$driver_pid" || true
  driver_pid=
  c1=$(ns_cpu_ms)
  [[ $s == pxed ]] && rss=$(awk '/VmHWM/ { print $2 }' "/proc/$main_pid/status" 2>/dev/null || echo -)
  stop_servers
  cp -r "$work/run" "$dir/hosts"
  release=$(cat "$work/run/release" 2>/dev/null || echo 0)
  ccpu=$(awk '{ for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] } } END { printf "%.1f", t }' \
         "$work/run/client-cpu" 2>/dev/null || echo -)
  # Hosts with no result line (killed, stuck past the deadline) count as failed.
  for ((i = 0; i < hosts; i++)); do
    [[ -s $work/run/result.$i ]] || echo "$i fail $release $release - - - - - 0 no-result" > "$work/run/result.$i"
  done
  cat "$work/run"/result.* | awk -v s="$s" -v r="$r" -v rel="$release" -v cpu=$((c1 - c0)) -v rss="$rss" -v ccpu="$ccpu" '
    function med(str,   m, i, j, t, b) {  # median of the numbers in str
      m = split(str, b, " ")
      for (i = 2; i <= m; i++) { t = b[i] + 0; for (j = i - 1; j >= 1 && b[j] + 0 > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
      return (m == 0) ? "-" : (m % 2) ? b[(m + 1) / 2] : (b[m / 2] + b[m / 2 + 1]) / 2
    }
    { if ($2 == "ok") {
        ok++; d = d " " ($4 - rel) / 1000
        if ($4 > last) last = $4
        if ($4 - $3 > slow) slow = $4 - $3
        for (k = 5; k <= 9; k++) ph[k] = ph[k] " " $k / 1000
      } else failed++
      retries += $10 }
    END {
      done_s = ok ? (last - rel) / 1000 : "-"
      line = sprintf("%s %s %s %s %s %d %d %.1f %s %s", s, r, done_s, ok ? slow / 1000 : "-", med(d), failed, retries, cpu / 1000, rss,
                     ok ? sprintf("%.2f", ok / done_s) : "-")
      for (k = 5; k <= 9; k++) line = line " " (ok ? med(ph[k]) : "-")
      print line " " ccpu
    }'
}

fmt() { [[ $1 == - ]] && echo - || awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }
read -r -a order <<<"$only"
printf 'Boot storm: %d hosts, kernel %d MiB, initrd %d MiB, %d rounds, %s; machine: %d CPUs\n' \
  "$hosts" "$kernel_mib" "$initrd_mib" "$rounds" "$(uname -r)" "$(nproc)"
: > "$work/summary"
for ((r = 1; r <= rounds; r++)); do
  for ((k = 0; k < ${#order[@]}; k++)); do
    s=${order[$(((k + r - 1) % ${#order[@]}))]}
    line=$(run_stack "$s" "$r")
    echo "$line" >> "$work/summary"
    read -r _ _ d _ m f rt cpu rss _ _ _ _ _ _ ccpu <<<"$line"
    printf '  round %d %-22s all done %6s s, median host %6s s, failed %s, retries %s, CPU: server %s s, clients %s s%s\n' \
      "$r" "$s" "$(fmt "$d" %.1f)" "$(fmt "$m" %.1f)" "$f" "$rt" "$cpu" "$ccpu" \
      "$([[ $rss == - ]] || echo ", pxed peak RSS $(fmt "$rss" %.0f) KiB")"
    # One failed host's story, when there is one.
    bad=$(grep -l " fail " "$work/$s-$r/hosts"/result.* 2>/dev/null | head -n 1 || true)
    [[ -z $bad ]] || echo "    first failure: $(cat "$bad")"
  done
done

# --- the table ------------------------------------------------------------------
col() {  # STACK FIELD(1-based): the values of the rounds
  awk -v s="$1" -v f="$2" '$1 == s { printf "%s ", $f }' "$work/summary"
}
echo
echo "| stack | all hosts done, s | slowest host, s | median host, s | failed | retries | hosts/s | pxed rate / this | server CPU, s | clients' CPU, s | pxed peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for s in "${order[@]}"; do
  ratios=""
  if [[ $s != pxed ]]; then
    for ((r = 1; r <= rounds; r++)); do
      a=$(awk -v r="$r" '$1 == "pxed" && $2 == r { print $10 }' "$work/summary")
      b=$(awk -v s="$s" -v r="$r" '$1 == s && $2 == r { print $10 }' "$work/summary")
      [[ -z $a || -z $b || $a == - || $b == - ]] || ratios+="$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }') "
    done
  fi
  rat=$(bench_median <<<"$ratios")
  rssm=$(bench_median <<<"$(col "$s" 9)")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" \
    "$(fmt "$(bench_median <<<"$(col "$s" 3)")" %.1f)" \
    "$(fmt "$(bench_median <<<"$(col "$s" 4)")" %.1f)" \
    "$(fmt "$(bench_median <<<"$(col "$s" 5)")" %.1f)" \
    "$(col "$s" 6 | awk '{ for (i = 1; i <= NF; i++) t += $i; print t + 0 }')" \
    "$(col "$s" 7 | awk '{ for (i = 1; i <= NF; i++) t += $i; print t + 0 }')" \
    "$(fmt "$(bench_median <<<"$(col "$s" 10)")" %.2f)" \
    "$([[ $s == pxed ]] && echo - || fmt "$rat" %.2fx)" \
    "$(fmt "$(bench_median <<<"$(col "$s" 8)")" %.1f)" \
    "$(fmt "$(bench_median <<<"$(col "$s" 16)")" %.1f)" \
    "$([[ $rssm == - ]] && echo - || fmt "$rssm" "%.0f KiB")"
done
echo
echo "Median host's time per phase, s (median of the rounds): where a boot spends its time"
echo "| stack | DHCP | pxelinux.0 + ldlinux.c32 + config | kernel | initrd | kickstart (HTTP) |"
echo "|---|---|---|---|---|---|"
for s in "${order[@]}"; do
  printf '| %s |' "$s"
  for f in 11 12 13 14 15; do printf ' %s |' "$(fmt "$(bench_median <<<"$(col "$s" $f)")" %.2f)"; done
  echo
done
echo "(failed and retries: summed over the rounds; all other figures: medians of the rounds)"
