#!/usr/bin/env bash
# DHCP benchmark: pxed against kea-dhcp4 (memfile) and dnsmasq (Debian's
# packages), same client (Kea's perfdhcp), one run, inside two network
# namespaces this script creates; and pxed and kea-dhcp4 with their leases
# in PostgreSQL (one local server the script starts, a Unix socket only);
# and two pxed instances sharing that database (row "pxed-pg2", below):
#
#   ns pxd-bench-c-PID: perfdhcp, a simulated relay agent ── veth ── ns pxd-bench-s-PID: the server
#        veth0 10.88.0.2/24 + 10.89.0.1/16 (giaddr)                  veth0 10.88.0.1/24, port 67
#        veth1 10.88.1.2/24 + 10.89.0.2/32 ── veth ── ns pxd-bench-s2-PID: the 2nd pxed of pxed-pg2
#                                                                    veth0 10.88.1.1/24, port 67
#
#   bench/dhcp_bench.sh [--quick] [--profile] [--keep] [--rate N [--rounds K]]
#
# perfdhcp sends every DISCOVER from 10.89.0.1:67 with giaddr 10.89.0.1
# (what it does when the server is a unicast address: it plays the relay)
# for 60,000 different clients (-R 60000, MACs handed out in turn); each
# server has the relayed subnet 10.89.0.0/16 with 65,024 addresses and
# starts with an empty lease store for every run. perfdhcp is Debian's,
# unmodified, with the socket buffers the system gives it. Two phases:
#   - unthrottled (no -r): perfdhcp floods; DORA exchanges completed per
#     second (perfdhcp's "Rate"), 3 rounds x 20 s, servers in turn. The
#     headline table: each round's figure, the ratio to Kea round by round,
#     and the replies lost at perfdhcp's socket (its default 208 KiB buffer
#     overflowing). Each round also runs every server against perfdhcp with
#     an 8 MiB receive buffer (an LD_PRELOAD shim): the secondary table;
#   - a ladder of fixed rates (-r 250 ... 12000, 10 s each, until two steps
#     in a row finish under 99% of their exchanges): "sustained" is the
#     highest rate with >= 99% done, "peak" the most DORA/s of any step, and
#     the latency at 1,000/s compares servers at the same load.
# Latencies are perfdhcp's per-exchange timestamps (-x t): avg and p99 of
# DISCOVER->OFFER and of REQUEST->ACK (perfdhcp cannot pair the two halves
# of one client's DORA, so there is no DORA-total figure). Every server
# persists its leases: pxed to SQLite (committed before each batch of ACKs
# leaves), kea to its memfile CSV (persist: true), dnsmasq to its lease file
# (--no-ping; its default, which pings every address first, gets one
# unthrottled run only). After each run the server gets SIGKILL and its
# store is read back: every lease perfdhcp saw ACKed must be in it, bound to
# the same client. pxed logs at info to a file (as operators run it) and is
# run again at warn; kea logs at its default (INFO) to a file; dnsmasq its
# DHCP lines to a file. Servers on CPU 0, perfdhcp on CPU 1 (two CPUs or
# more); the server's CPU time per DORA at 1,000/s is printed too, a figure
# less at the mercy of whatever else the machine runs. --quick: 8 s
# unthrottled once, 5 s steps on a shorter ladder (about 5 minutes; the full
# run takes about 13). --rate N: latency only, K rounds (default 3) of 10 s
# at N/s, pxed (log info) and kea in turn, p50 and p99 of both halves per
# run and their medians (about 1 minute per round). --profile: `perf record --call-graph dwarf` of pxed
# (log info) in its last unthrottled run, and the top of the report.
#
# Two instances, one database ("pxed PostgreSQL, 2 instances", kind
# pxed-pg2): pxed A in the server namespace and pxed B in a second one
# (pxed listens on 0.0.0.0:67, so two in one namespace would not each get
# their own traffic), instance names bench-a and bench-b, the same subnet
# and pool, one PostgreSQL database. Two perfdhcp processes at once, each
# the relay in front of one instance (giaddr 10.89.0.1 -> A, 10.89.0.2 ->
# B) with half the clients each (-R 30000) and disjoint MACs
# (-b mac=00:0c:01:00:00:00 and 00:0c:02:00:00:00), and at fixed rates half
# the rate each. Both instances share CPU 0 and both perfdhcp CPU 1, as one
# server and one perfdhcp do in the other rows: the row shows what sharing
# the database costs, not what a second machine adds. DORA/s is the sum of
# both, server CPU and RSS the sum of both; latencies are over both, with
# each instance's p99 beside them. After kill -9 of both: every lease
# either perfdhcp saw ACKed must be in pxed_leases, no address ACKed to two
# clients, none bound twice and no client with two bound addresses in the
# table. NAKs (a change another instance's commit refused first becomes a
# NAK) come from each instance's /metrics, read just before the kill.
#
# Every run also prints the CPU time the hypervisor took from this VM
# (/proc/stat steal): on the project's VM it comes in slices of 100 ms,
# and a run that caught a few has p99s of about 100 ms whatever the server.
#
# Needs root: it installs kea-admin (perfdhcp), kea-dhcp4-server and
# dnsmasq-base with a policy-rc.d that keeps their services from starting,
# and creates network namespaces. All traffic stays inside those namespaces.
# Everything (namespaces, processes, temporary files) goes away on exit.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=${PXED:-$build/src/app/pxed}
quick=0 profile=0 keep=0 latency_rate=0 latency_rounds=3
usage() { echo "usage: $0 [--quick] [--profile] [--keep] [--rate N [--rounds K]]"; exit 2; }
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --profile) profile=1 ;;
    --keep) keep=1 ;;   # leave the work directory (logs, perfdhcp output) behind
    --rate) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; latency_rate=$2; shift ;;
    --rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; latency_rounds=$2; shift ;;
    *) usage ;;
  esac
  shift
done
# Knobs for experiments: DHCP_BENCH_PIN=0 (no taskset), DHCP_BENCH_NICE=-10 (servers
# and perfdhcp alike at that nice level, the PostgreSQL server too), DHCP_BENCH_TMPFS=1 (every server's state on
# a tmpfs), DHCP_BENCH_SHIM=0 (no shimmed rows), DHCP_BENCH_NS_PREFIX=name, DHCP_BENCH_ONLY="pxed kea"
# (server kinds to run, of pxed kea dnsmasq pxed-pg pxed-pg2 kea-pg: the
# default is all of them), DHCP_BENCH_PERFDHCP="-g single" (extra perfdhcp
# args), DHCP_BENCH_WRAP="env LD_PRELOAD=..." (a command perfdhcp runs
# under), DHCP_BENCH_RUNS=N (unthrottled rounds; 0 = none),
# DHCP_BENCH_LADDER="2000 4000" (the fixed rates), DHCP_BENCH_BASELINE=/path/to/old/pxed
# (also runs that binary, log info, as "pxed baseline", in turn with the
# others: before/after figures from one run on a machine whose load varies).
pin=${DHCP_BENCH_PIN:-1}
only=${DHCP_BENCH_ONLY:-pxed kea dnsmasq pxed-pg pxed-pg2 kea-pg}
baseline=${DHCP_BENCH_BASELINE:-}
read -r -a perfdhcp_extra <<<"${DHCP_BENCH_PERFDHCP:-}"
read -r -a client_wrap <<<"${DHCP_BENCH_WRAP:-}"
if ((quick)); then
  max_secs=8 runs=1 step_secs=5 ladder=(250 500 1000 2000 4000 6000 8000)
else
  max_secs=20 runs=3 step_secs=10 ladder=(250 500 1000 2000 3000 4000 5000 6000 8000 10000 12000)
fi
[[ -n ${DHCP_BENCH_RUNS:-} ]] && runs=$DHCP_BENCH_RUNS
[[ -v DHCP_BENCH_LADDER ]] && read -r -a ladder <<<"$DHCP_BENCH_LADDER"
clients=60000
fixed_rate=1000
if ((latency_rate)); then
  # The same rate K times, every server in turn each round, nobody leaves.
  runs=0 step_secs=10 fixed_rate=$latency_rate ladder=()
  for ((i = 0; i < latency_rounds; i++)); do ladder+=("$latency_rate"); done
  only=${DHCP_BENCH_ONLY:-pxed kea}
fi
if [[ -n $baseline ]]; then
  [[ -x $baseline ]] || { echo "DHCP_BENCH_BASELINE: $baseline is not an executable"; exit 1; }
  only+=" pxed-baseline"
fi

[[ $(id -u) -eq 0 ]] || { echo "run as root (installs kea and dnsmasq, creates network namespaces)"; exit 1; }
[[ -x $pxed ]] || { echo "build first: scripts/dev build (or set PXED_BUILD_DIR / PXED)"; exit 1; }
for c in ip python3 ss; do command -v $c >/dev/null || { echo "$c is missing"; exit 1; }; done
((profile)) && ! command -v perf >/dev/null && { echo "--profile needs perf (linux-perf)"; exit 1; }

# The peers' packages would start system-wide DHCP servers; keep
# invoke-rc.d from starting anything while installing. Should a service
# start anyway, stop exactly that one: a kea or dnsmasq process that was not
# running before the install, lives in the root network namespace and runs
# the package's own configuration (other people's dnsmasq in their own
# namespaces are none of ours).
peer_procs() {
  local p
  for p in $(pgrep -x 'kea-dhcp4|kea-dhcp6|kea-ctrl-agent|kea-dhcp-ddns|dnsmasq' || true); do
    [[ $(readlink "/proc/$p/ns/net" 2>/dev/null) == "$(readlink /proc/1/ns/net)" ]] || continue
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qE '/etc/kea/|/run/dnsmasq/|/etc/dnsmasq.conf' || continue
    echo "$p"
  done
}
source "$top/bench/lib.sh"
install_peers() {
  local before p
  before=" $(peer_procs | tr '\n' ' ') "
  bench_install kea-admin kea-dhcp4-server dnsmasq-base postgresql || exit 1
  for p in $(peer_procs); do
    [[ $before == *" $p "* ]] && continue
    echo "note: the package install started $(tr '\0' ' ' < "/proc/$p/cmdline"); stopping it"
    kill "$p" 2>/dev/null || true
  done
}
install_peers
for c in perfdhcp kea-dhcp4 dnsmasq; do command -v $c >/dev/null || { echo "$c is missing after the install"; exit 1; }; done

work=$(mktemp -d /tmp/pxd-bench-dhcp-XXXXXX)
chmod 755 "$work"
ns_prefix=${DHCP_BENCH_NS_PREFIX:-pxd-bench}   # namespaces: PREFIX-s-PID, PREFIX-c-PID
S=$ns_prefix-s-$$ C=$ns_prefix-c-$$ S2=$ns_prefix-s2-$$
made_ns=()
server_pid='' server2_pid='' perf_pid='' pg_dir=''
cleanup() {
  set +e
  [[ -n $perf_pid ]] && kill -INT "$perf_pid" 2>/dev/null
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
  [[ -n $server2_pid ]] && kill -9 "$server2_pid" 2>/dev/null
  # Only our own namespaces: whatever runs in them was started here.
  for ns in "${made_ns[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
  wait 2>/dev/null
  for ns in "${made_ns[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [[ -n $pg_dir ]] && "$top/tests/pg_server.sh" stop "$pg_dir" >/dev/null 2>&1
  if ((tmpfs_mounted)) && ! ((keep)); then umount "$work" 2>/dev/null; fi
  if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
# DHCP_BENCH_TMPFS=1: the servers' state (lease stores, logs) on a tmpfs of
# its own, for every server alike: on a machine whose disk others keep busy
# an fsync or a dirty-page throttle can stall any server for seconds. A
# commit is still a commit (it survives kill -9), not a disk write.
tmpfs_mounted=0
if [[ ${DHCP_BENCH_TMPFS:-0} == 1 ]]; then
  mount -t tmpfs -o size=1g,mode=755 pxd-bench-dhcp "$work" && tmpfs_mounted=1
fi
trap 'exit 130' INT TERM

for ns in $S $C; do
  ip netns add $ns
  made_ns+=("$ns")
  ip -n $ns link set lo up
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add veth0 netns $S type veth peer name veth0 netns $C
ip -n $S addr add 10.88.0.1/24 dev veth0
ip -n $C addr add 10.88.0.2/24 dev veth0
# The relay's (giaddr's) network lives on the client side; replies to the
# relay go back through the veth.
ip -n $C addr add 10.89.0.1/16 dev veth0
ip -n $S link set veth0 up
ip -n $C link set veth0 up
ip -n $S route add 10.89.0.0/16 via 10.88.0.2
server=10.88.0.1 relay=10.89.0.1
pool_first=10.89.1.0 pool_last=10.89.254.255   # 65,024 addresses
# The second instance of pxed-pg2: a namespace of its own on a second veth
# from the client side, and a second relay address there.
server2=10.88.1.1 relay2=10.89.0.2
if [[ " $only " == *" pxed-pg2 "* ]]; then
  ip netns add $S2
  made_ns+=("$S2")
  ip -n $S2 link set lo up
  ip netns exec $S2 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add veth1 netns $C type veth peer name veth0 netns $S2
  ip -n $S2 addr add $server2/24 dev veth0
  ip -n $C addr add 10.88.1.2/24 dev veth1
  # on veth1: perfdhcp sends through the interface its -l address is on
  ip -n $C addr add $relay2/32 dev veth1
  ip -n $S2 link set veth0 up
  ip -n $C link set veth1 up
  ip -n $S2 route add 10.89.0.0/16 via 10.88.1.2
fi

# perfdhcp runs as it is (stock): its socket's receive buffer is what the
# system gives it (net.core.rmem_default, 208 KiB here), which holds 150-odd
# answers, as a relay agent's or a client's would. That is the headline. A
# server that sends a burst of replies overflows it, and the replies lost
# there are counted (the client namespace's UDP RcvbufErrors). A second,
# secondary row per round runs perfdhcp with an 8 MiB receive buffer
# (SO_RCVBUFFORCE through a tiny LD_PRELOAD shim): what the server does
# when the client's buffer is out of the picture. DHCP_BENCH_SHIM=0: no
# shimmed runs.
stock_note="stock perfdhcp (socket receive buffer: net.core.rmem_default = $(cat /proc/sys/net/core/rmem_default))"
client_note=$stock_note
shim_wrap=()
[[ ${DHCP_BENCH_STOCK_CLIENT:-0} == 1 ]] && DHCP_BENCH_SHIM=0   # the old name of the same knob
if [[ ${DHCP_BENCH_SHIM:-1} != 0 ]] && command -v cc >/dev/null; then
  cat > "$work/rcvbuf.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
int bind(int fd, const struct sockaddr* a, socklen_t len) {
    static int (*real)(int, const struct sockaddr*, socklen_t);
    if (!real) real = (int (*)(int, const struct sockaddr*, socklen_t))dlsym(RTLD_NEXT, "bind");
    int type = 0, want = 8 << 20;
    socklen_t tl = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want);
    return real(fd, a, len);
}
C
  cc -O2 -shared -fPIC -o "$work/rcvbuf.so" "$work/rcvbuf.c" -ldl
  shim_wrap=(env LD_PRELOAD="$work/rcvbuf.so")
fi

# The PostgreSQL rows: pxed with server.store.backend: postgresql and
# kea-dhcp4 with its PostgreSQL lease backend, against one local server
# (tests/pg_server.sh: initdb as nobody, a Unix socket only, fsync off for
# both alike), each run starting from empty tables. The server's own CPU is
# not pinned: it is the database's, shared by both.
pg_conninfo='' kea_pg_ok=0
if [[ " $only " == *" pxed-pg "* || " $only " == *" pxed-pg2 "* || " $only " == *" kea-pg "* ]]; then
  pg_dir=$work/pg
  pg_conninfo=$("$top/tests/pg_server.sh" start "$pg_dir") || { echo "cannot start PostgreSQL for the PostgreSQL rows"; exit 1; }
  pg_sql() { psql "host=$pg_dir dbname=${2:-pxed} user=pxed" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
  if [[ " $only " == *" kea-pg "* ]]; then
    pg_sql "CREATE DATABASE kea" postgres >/dev/null
    if kea-admin db-init pgsql -n kea -u pxed -h "$pg_dir" > "$work/kea-admin.out" 2>&1; then
      kea_pg_ok=1
    else
      echo "note: kea-admin db-init pgsql failed; no kea PostgreSQL row:" >&2
      tail -5 "$work/kea-admin.out" >&2
    fi
  fi
fi

pin_server=() pin_client=()
if ((pin)) && command -v taskset >/dev/null && (($(nproc) >= 2)); then pin_server=(taskset -c 0); pin_client=(taskset -c 1); fi
# DHCP_BENCH_NICE=-10: every server and perfdhcp alike run at that nice
# level, so that a machine busy with other work (builds at nice 15, other
# benchmarks) takes less of their CPU; the same for all, so ratios hold.
if [[ -n ${DHCP_BENCH_NICE:-} ]]; then
  [[ $DHCP_BENCH_NICE =~ ^-?[0-9]+$ ]] || { echo "DHCP_BENCH_NICE: a number, please"; exit 1; }
  pin_server=(nice -n "$DHCP_BENCH_NICE" "${pin_server[@]}") pin_client=(nice -n "$DHCP_BENCH_NICE" "${pin_client[@]}")
  # The PostgreSQL rows' database is part of the server under test: the
  # postmaster and what it has started so far (its backends, forked
  # later, inherit the level).
  if [[ -n $pg_dir && -s $pg_dir/data/postmaster.pid ]]; then
    pg_master=$(head -n 1 "$pg_dir/data/postmaster.pid")
    renice -n "$DHCP_BENCH_NICE" -p "$pg_master" $(pgrep -P "$pg_master") >/dev/null || true
  fi
fi

# --- the servers: start_NAME DIR [level] starts one in ns S and sets server_pid ---
start_pxed() {  # DIR LEVEL [BINARY [STORE [NS ADDRESS NETWORK]]]
  local dir=$1 level=$2 binary=${3:-$pxed} store=${4:-} ns=${5:-$S} address=${6:-$server} network=${7:-10.88.0.0/24}
  local relays=$relay metrics=''
  [[ $ns == "$S" ]] || relays="$relay, $relay2"
  # /metrics on the namespace's loopback, read once before kill -9 (NAKs,
  # replies shed or expired in the relay window, changes a shared database
  # refused); not for a baseline binary, which may not know the setting.
  [[ $binary == "$pxed" ]] && metrics='metrics: {listen: "127.0.0.1:9172"}'

  mkdir -p "$dir/state" "$dir/root"
  touch "$dir/root/pxelinux.0"
  cat > "$dir/site.yaml" <<YAML
server:
  address: $address
  state_dir: $dir/state
  $store
  $metrics
  log: {level: $level, file: $dir/server.log}
  # perfdhcp plays the relay, and brings 60,000 new clients through it:
  # the new-client budget (meant for a hostile network) is lifted, as kea
  # and dnsmasq have none.
  dhcp: {relay_agents: [$relays], new_clients_per_second: 100000, new_clients_burst: 100000}
  tftp: {enabled: false, root: $dir/root}
  http: {enabled: false}
  ftp: {enabled: false}
subnets:
  - network: $network
  - network: 10.89.0.0/16
    ranges: [$pool_first-$pool_last]
    routers: [$relay]
    relay_only: true
    lease_time: 12h
YAML
  ip netns exec $ns "${pin_server[@]}" "$binary" --config "$dir/site.yaml" > "$dir/server.out" 2>&1 &
  server_pid=$!
}
start_kea() {  # DIR [pg]
  local dir=$1 db="\"type\": \"memfile\", \"persist\": true, \"name\": \"$1/leases4.csv\""
  [[ ${2:-} == pg ]] && db="\"type\": \"postgresql\", \"name\": \"kea\", \"host\": \"$pg_dir\", \"user\": \"pxed\""
  cat > "$dir/kea.json" <<JSON
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "veth0" ], "dhcp-socket-type": "udp" },
    "lease-database": { $db },
    "valid-lifetime": 43200,
    "subnet4": [ { "id": 1, "subnet": "10.89.0.0/16",
                   "pools": [ { "pool": "$pool_first - $pool_last" } ],
                   "relay": { "ip-addresses": [ "$relay" ] },
                   "option-data": [ { "name": "routers", "data": "$relay" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO",
                   "output_options": [ { "output": "$dir/server.log" } ] } ]
} }
JSON
  KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir \
    ip netns exec $S "${pin_server[@]}" kea-dhcp4 -c "$dir/kea.json" > "$dir/server.out" 2>&1 &
  server_pid=$!
}
start_dnsmasq() {  # DIR ping|no-ping
  local dir=$1 extra=()
  [[ $2 == no-ping ]] && extra=(--no-ping)
  chmod 777 "$dir"  # dnsmasq drops to nobody, then rewrites its lease file
  ip netns exec $S "${pin_server[@]}" dnsmasq --keep-in-foreground --port=0 --interface=veth0 --bind-interfaces \
    --dhcp-range=$pool_first,$pool_last,255.255.0.0,12h --dhcp-lease-max=70000 \
    --dhcp-leasefile="$dir/leases" --pid-file="$dir/dnsmasq.pid" --log-facility="$dir/server.log" \
    "${extra[@]}" > "$dir/server.out" 2>&1 &
  server_pid=$!
}

wait_port67() {  # [NS PID]
  local i ns=${1:-$S} pid=${2:-$server_pid}
  for ((i = 0; i < 100; i++)); do
    ip netns exec $ns ss -Huln 'sport = :67' | grep -q . && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# The lease store a server left behind, as "client_id ip" lines (client_id as
# perfdhcp prints it: 01 + the MAC in hex) of the leases it holds as bound.
store_leases() {  # KIND DIR
  case $1 in
    pxed|pxed-baseline) "$pxed" leases --config "$2/site.yaml" --json |
            python3 -c 'import json,sys
for l in json.load(sys.stdin):
    if l["state"] == "bound" and l["mac"]: print("01" + l["mac"].replace(":", ""), l["ip"])' ;;
    # memfile: appended rows, the last one per address wins; state 0 = assigned.
    kea) python3 -c 'import csv,sys
rows = {}
for r in csv.DictReader(open(sys.argv[1])): rows[r["address"]] = r
for a, r in rows.items():
    if r["state"] == "0" and int(r["valid_lifetime"]) > 0: print("01" + r["hwaddr"].replace(":", ""), a)' "$2/leases4.csv" ;;
    dnsmasq) awk '{ m = $2; gsub(":", "", m); print "01" m, $3 }' "$2/leases" ;;
    pxed-pg|pxed-pg2) pg_sql "SELECT '01' || encode(client_key, 'hex') || ' ' || ((ip >> 24) & 255) || '.' || ((ip >> 16) & 255)
                     || '.' || ((ip >> 8) & 255) || '.' || (ip & 255) FROM pxed_leases WHERE state = 'bound'" ;;
    kea-pg) pg_sql "SELECT '01' || encode(hwaddr, 'hex') || ' ' || ((address >> 24) & 255) || '.' ||
                    ((address >> 16) & 255) || '.' || ((address >> 8) & 255) || '.' || (address & 255)
                    FROM lease4 WHERE state = 0 AND valid_lifetime > 0" kea ;;
  esac
}

# UDP datagrams a namespace's sockets dropped because their receive buffer
# was full (the server's: requests never seen; perfdhcp's: answers lost).
rcvbuf_errors() {
  ip netns exec "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp
}

# Time the hypervisor ran something else on this VM's CPUs (steal), all
# CPUs, in clock ticks. On the project's VM it comes as 100 ms at once,
# and a run that caught some has a p99 of about 100 ms whatever the server.
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }

# User + system time a process has used, in clock ticks.
cpu_ticks_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }

# One run: run KIND LABEL OPT PHASE RATE SECONDS [profile] starts a fresh
# server (empty lease store), runs perfdhcp, kills the server with SIGKILL,
# reads its store back and appends one JSON line to $work/results.
#   PHASE max: no -r, and no diagnostics either: archiving every packet for
#     -x l/-x t halves how fast perfdhcp can send. perfdhcp's own "Rate".
#   PHASE ladder: -r RATE, -x lt (latencies, and the ACKed leases to look
#     for in the store), -W 1 s so that the exchanges in flight when the
#     period ends are completed rather than counted as drops; DORA/s is
#     ACKs / SECONDS.
# Sets last_ok to 1 when the run kept up: ACKs for >= 99% of the DISCOVERs
# sent, and (ladder) >= 99% of the offered rate.
round=0
run() {
  local kind=$1 label=$2 opt=$3 phase=$4 rate=$5 period=$6 prof=${7:-0} client=${8:-stock} dir pargs=() wrap=()
  [[ $client == shim ]] && wrap=("${shim_wrap[@]}")
  round=$((round + 1))
  dir=$work/run-$round-$kind
  mkdir -p "$dir"
  case $kind in
    pxed) start_pxed "$dir" "$opt" ;;
    pxed-baseline) start_pxed "$dir" "$opt" "$baseline" ;;
    kea) start_kea "$dir" ;;
    pxed-pg|pxed-pg2)
      pg_sql "DO \$\$ BEGIN IF to_regclass('pxed_leases') IS NOT NULL THEN TRUNCATE pxed_leases; END IF; END \$\$"
      if [[ $kind == pxed-pg ]]; then
        start_pxed "$dir" "$opt" "$pxed" "store: {backend: postgresql, conninfo: \"$pg_conninfo\", instance: bench}"
      else
        # B first, in its own namespace; A (ns S) last, so that server_pid
        # is A's as the rest of run() expects.
        start_pxed "$dir/b" "$opt" "$pxed" "store: {backend: postgresql, conninfo: \"$pg_conninfo\", instance: bench-b}" \
          "$S2" "$server2" 10.88.1.0/24
        server2_pid=$server_pid
        start_pxed "$dir" "$opt" "$pxed" "store: {backend: postgresql, conninfo: \"$pg_conninfo\", instance: bench-a}"
        if ! wait_port67 "$S2" "$server2_pid"; then
          echo "$label (instance B) did not start:" >&2
          cat "$dir/b/server.out" "$dir/b/server.log" 2>/dev/null | tail -20 >&2
          exit 1
        fi
      fi ;;
    kea-pg) pg_sql "TRUNCATE lease4" kea; start_kea "$dir" pg ;;
    dnsmasq) start_dnsmasq "$dir" "$opt" ;;
  esac
  if ! wait_port67; then
    echo "$label did not start:" >&2
    cat "$dir/server.out" "$dir/server.log" 2>/dev/null | tail -20 >&2
    exit 1
  fi
  sleep 0.5
  [[ $phase == ladder ]] && pargs=(-r "$rate" -x lt -W 1000000)
  if ((prof)); then
    perf record -F 499 --call-graph dwarf,8192 -o "$work/perf.data" -p "$server_pid" -- sleep "$period" \
      > "$work/perf.out" 2>&1 &
    perf_pid=$!
  fi
  local s_drops c_drops cpu_ticks outs=$dir/perfdhcp.out steal
  s_drops=$(rcvbuf_errors $S) c_drops=$(rcvbuf_errors $C) steal=$(steal_ticks)
  cpu_ticks=$(cpu_ticks_of "$server_pid")
  if [[ -n $server2_pid ]]; then
    s_drops=$((s_drops + $(rcvbuf_errors $S2))) cpu_ticks=$((cpu_ticks + $(cpu_ticks_of "$server2_pid")))
  fi
  # In the background and waited for: perfdhcp catches SIGINT itself, and
  # bash skips its own INT trap for a foreground child that did; `wait`
  # runs the trap (and so the cleanup) at once. perfdhcp exits with 3
  # whenever a single exchange was not completed.
  if [[ $kind == pxed-pg2 ]]; then
    # Two relays at once, half the clients and half the rate each, MACs
    # 00:0c:01:... for A and 00:0c:02:... for B.
    local half=() p1 p2
    [[ $phase == ladder ]] && half=(-r $(((rate + 1) / 2)) -x lt -W 1000000)
    outs+=",$dir/perfdhcp-b.out"
    ip netns exec $C "${pin_client[@]}" "${wrap[@]}" "${client_wrap[@]}" perfdhcp -4 -l $relay -R $((clients / 2)) \
      -b mac=00:0c:01:00:00:00 -p "$period" "${half[@]}" "${perfdhcp_extra[@]}" $server > "$dir/perfdhcp.out" 2>&1 &
    p1=$!
    ip netns exec $C "${pin_client[@]}" "${wrap[@]}" "${client_wrap[@]}" perfdhcp -4 -l $relay2 -R $((clients / 2)) \
      -b mac=00:0c:02:00:00:00 -p "$period" "${half[@]}" "${perfdhcp_extra[@]}" $server2 > "$dir/perfdhcp-b.out" 2>&1 &
    p2=$!
    wait $p1 || true
    wait $p2 || true
  else
    ip netns exec $C "${pin_client[@]}" "${wrap[@]}" "${client_wrap[@]}" perfdhcp -4 -l $relay -R $clients -p "$period" \
      "${pargs[@]}" "${perfdhcp_extra[@]}" $server > "$dir/perfdhcp.out" 2>&1 &
    wait $! || true
  fi
  if [[ -n $perf_pid ]]; then wait "$perf_pid" 2>/dev/null || true; perf_pid=; fi
  s_drops=$(($(rcvbuf_errors $S) - s_drops)) c_drops=$(($(rcvbuf_errors $C) - c_drops))
  cpu_ticks=$(($(cpu_ticks_of "$server_pid") - cpu_ticks)) steal=$(($(steal_ticks) - steal))
  local rss
  rss=$(awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0)
  if [[ -n $server2_pid ]]; then
    s_drops=$((s_drops + $(rcvbuf_errors $S2))) cpu_ticks=$((cpu_ticks + $(cpu_ticks_of "$server2_pid")))
    rss=$((rss + $(awk '/VmHWM/ { print $2 }' "/proc/$server2_pid/status" 2>/dev/null || echo 0)))
  fi
  local naks=-1 refused=-1 shed=-1 expired=-1
  if [[ $kind == pxed || $kind == pxed-pg* ]]; then
    local ns metrics=''
    for ns in $S $([[ -n $server2_pid ]] && echo $S2); do
      metrics+=$(ip netns exec $ns python3 -c 'import urllib.request as u
print(u.urlopen("http://127.0.0.1:9172/metrics", timeout=5).read().decode())' 2>/dev/null || true)$'\n'
    done
    ((keep)) && printf '%s\n' "$metrics" > "$dir/metrics.txt"
    naks=$(awk '/^pxed_dhcp_messages_sent_total\{/ && /type="nak"/ && /outcome="sent"/ { n += $NF } END { print n + 0 }' <<<"$metrics")
    refused=$(awk '/^pxed_lease_store_refusals_total/ { n += $NF } END { print n + 0 }' <<<"$metrics")
    shed=$(awk '/^pxed_dhcp_messages_received_total\{/ && /outcome="shed"/ { n += $NF } END { print n + 0 }' <<<"$metrics")
    expired=$(awk '/^pxed_dhcp_messages_sent_total\{/ && /outcome="expired"/ { n += $NF } END { print n + 0 }' <<<"$metrics")
  fi
  # As a crash would: whatever was ACKed must already be in the store.
  kill -9 "$server_pid" $server2_pid 2>/dev/null || true
  wait "$server_pid" $server2_pid 2>/dev/null || true
  server_pid='' server2_pid=''
  store_leases "$kind" "$dir" > "$dir/store.txt" || true
  # Addresses bound twice and clients bound to two addresses, as the
  # database itself counts them (the former cannot happen in pxed_leases,
  # whose key is the address; asked all the same); -1: not a SQL store.
  local twice=-1
  if [[ $kind == pxed-pg* ]]; then
    twice=$(pg_sql "SELECT (SELECT count(*) FROM (SELECT ip FROM pxed_leases WHERE state = 'bound' GROUP BY ip
                            HAVING count(*) > 1) d) || ',' ||
                           (SELECT count(*) FROM (SELECT client_key FROM pxed_leases WHERE state = 'bound'
                            GROUP BY client_key HAVING count(*) > 1) d)")
  fi
  local acks_logged=-1 refusals_logged=-1 logs=("$dir/server.log")
  [[ $kind == pxed-pg2 ]] && logs+=("$dir/b/server.log")
  if [[ $kind == pxed* && $opt == info ]]; then
    acks_logged=$(cat "${logs[@]}" | grep -c "DHCPACK" || true)
    refusals_logged=$(cat "${logs[@]}" | grep -c "taken by another instance first" || true)
  fi
  python3 - "$outs" "$dir/store.txt" "$label" "$phase" "$rate" "$period" "$rss" "$acks_logged" \
    "$s_drops" "$c_drops" "$cpu_ticks" "$(getconf CLK_TCK)" "$client" "$twice" "$refusals_logged" "$naks" "$refused" "$steal" "$shed" "$expired" >> "$work/results" <<'PY'
import json, math, sys
outs, store, label, phase, rate, period, rss, acks_logged, s_drops, c_drops, ticks, hz, client, twice, refusals, naks, refused, steal, shed, expired = sys.argv[1:]
def parse(out):
    stats, times, leases = {}, {"DISCOVER-OFFER": [], "REQUEST-ACK": []}, []
    section = kind = None
    for line in open(out, errors="replace"):
        line = line.strip()
        if line.startswith("Rate:"):
            stats["rate"] = float(line.split()[1])
        elif line.startswith("***"):
            name = line.strip("*")
            for ex in times:
                if ex in name:
                    section, kind = ex, name.split(":")[0].split(" ")[0]
                    break
            else:
                section = kind = None
        elif section and kind == "Statistics" and ":" in line:
            k, v = line.split(":", 1)
            stats[(section, k.strip())] = v.strip()
        elif section and kind == "Timestamps" and line.startswith("sent / received:"):
            s, r = line.split(":", 1)[1].split("/")
            times[section].append((float(r) - float(s)) * 1000)
        elif section == "REQUEST-ACK" and kind == "Leases" and "," in line and not line.startswith("client_id"):
            # client_id is the server's echo of option 61 (RFC 6842); dnsmasq
            # sends none, so then only the address can be checked.
            cid, ip = line.split(",")[:2]
            leases.append((ip, cid))
    return stats, times, leases
# One perfdhcp, or (two instances) one per instance run at the same time:
# counts and rates summed, latencies pooled, and each one's own as well.
parts = [parse(o) for o in outs.split(",")]
stats, times, leases = {}, {"DISCOVER-OFFER": [], "REQUEST-ACK": []}, {}
by_ip, by_cid = {}, {}
for st, tm, ls in parts:
    for k, v in st.items():
        if k == "rate": stats["rate"] = stats.get("rate", 0.0) + v
        elif k not in stats: stats[k] = v
        else:
            try: stats[k] = str(int(float(stats[k].split()[0])) + int(float(v.split()[0])))
            except (ValueError, OverflowError): pass
    for ex in times: times[ex] += tm[ex]
    for ip, cid in ls:
        leases[ip] = cid
        by_ip.setdefault(ip, set()).add(cid)
        if cid: by_cid.setdefault(cid, set()).add(ip)
def pct(v, p):
    if not v: return None
    v = sorted(v)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]  # nearest rank
def avg(v):
    return sum(v) / len(v) if v else None
def num(key):
    try: return int(float(stats.get(key, "0").split()[0]))
    except ValueError: return 0
held, store_ips, store_cids = {}, {}, {}
for line in open(store):
    cid, ip = line.split()
    held[ip] = cid
    store_ips[ip] = store_ips.get(ip, 0) + 1
    store_cids[cid] = store_cids.get(cid, 0) + 1
twice_ip, two_ips = [int(x) for x in twice.split(",")] if twice != "-1" else (
    sum(1 for n in store_ips.values() if n > 1), sum(1 for n in store_cids.values() if n > 1))
instances = []
if len(parts) > 1:
    for st, tm, ls in parts:
        s_, a_ = (int(float(st.get(k, "0").split()[0])) for k in (("DISCOVER-OFFER", "sent packets"), ("REQUEST-ACK", "received packets")))
        instances.append({"dora_s": st.get("rate", 0.0) if phase == "max" else a_ / float(period), "discovers": s_, "acks": a_,
                          "do_p99": pct(tm["DISCOVER-OFFER"], 99), "ra_p99": pct(tm["REQUEST-ACK"], 99)})
rate, period = int(rate), float(period)
sent, acks = num(("DISCOVER-OFFER", "sent packets")), num(("REQUEST-ACK", "received packets"))
cpu_s = int(ticks or 0) / int(hz)
dora_s = stats.get("rate", 0.0) if phase == "max" else acks / period
done = acks / sent if sent else 0.0
print(json.dumps({
    "label": label, "client": client, "phase": phase, "rate": rate,
    "replies_received": num(("DISCOVER-OFFER", "received packets")) + acks,
    "requests_sent": sent + num(("REQUEST-ACK", "sent packets")), "dora_s": dora_s, "discovers": sent, "acks": acks, "done": done,
    "ok": done >= 0.99 and (phase == "max" or dora_s >= 0.99 * rate),
    # perfdhcp itself could not send at the rate asked for
    "client_bound": phase == "ladder" and sent < 0.97 * rate * period,
    "drops_do": num(("DISCOVER-OFFER", "drops")), "drops_ra": num(("REQUEST-ACK", "drops")),
    "do_avg": avg(times["DISCOVER-OFFER"]), "do_p50": pct(times["DISCOVER-OFFER"], 50),
    "do_p99": pct(times["DISCOVER-OFFER"], 99),
    "ra_avg": avg(times["REQUEST-ACK"]), "ra_p50": pct(times["REQUEST-ACK"], 50),
    "ra_p99": pct(times["REQUEST-ACK"], 99),
    "acked": len(leases), "stored": len(held),
    "missing": sum(1 for ip, cid in leases.items() if ip not in held or (cid and held[ip] != cid)),
    # what the clients saw: an address ACKed to two clients, a client ACKed two addresses
    "acked_to_two": sum(1 for v in by_ip.values() if len(v) > 1), "acked_two": sum(1 for v in by_cid.values() if len(v) > 1),
    # what the store holds after kill -9
    "bound_twice": twice_ip, "bound_two": two_ips, "refusals_logged": int(refusals), "instances": instances,
    # PostgreSQL rows, from /metrics: NAKs sent, changes the database refused (another instance held the address)
    "naks": int(naks), "refused": int(refused), "steal_ms": int(steal) * 1000 // int(hz),
    # pxed, from /metrics: DISCOVERs shed and replies expired in the relay window (docs/dhcp.md, "Bursts")
    "shed": int(shed), "expired": int(expired),
    "rss_kib": int(rss or 0), "acks_logged": int(acks_logged), "server_socket_drops": int(s_drops),
    "client_socket_drops": int(c_drops), "cpu_s": cpu_s, "cpu_pct": 100 * cpu_s / period,
    "cpu_us_per_dora": cpu_s * 1e6 / acks if acks else None}))
PY
  ((keep)) || rm -f "$dir/perfdhcp.out" "$dir/perfdhcp-b.out"
  last_ok=$(tail -n 1 "$work/results" | python3 -c 'import json,sys
r = json.loads(sys.stdin.read())
f = lambda v: "-" if v is None else "%.2f" % v
line = "  %-20s %4s %7s: %5.0f DORA/s, %3.0f%% of %6d DISCOVERs answered; drops %d D-O + %d R-A (server socket %d, " \
       "perfdhcp socket %d); server CPU %.0f%%" % (r["label"], r["client"], "max" if r["rate"] == 0 else "%d/s" % r["rate"],
       r["dora_s"], 100 * r["done"], r["discovers"], r["drops_do"], r["drops_ra"], r["server_socket_drops"],
       r["client_socket_drops"], r["cpu_pct"])
if r["phase"] == "ladder":
    line += "; p50/p99 %s/%s, %s/%s ms; ACKed %d, stored %d, missing %d%s" % (f(r["do_p50"]), f(r["do_p99"]),
            f(r["ra_p50"]), f(r["ra_p99"]), r["acked"],
            r["stored"], r["missing"], "; perfdhcp could not send faster" if r["client_bound"] else "")
else:
    line += "; perfdhcp got %d ACKs, store has %d bound" % (r["acks"], r["stored"])
for n, i in zip("AB", r.get("instances", [])):
    line += "; %s: %.0f DORA/s%s" % (n, i["dora_s"],
            "" if r["phase"] == "max" else ", p99 %s/%s ms" % (f(i["do_p99"]), f(i["ra_p99"])))
line += "; CPU stolen by the hypervisor %d ms" % r["steal_ms"]
if r.get("naks", -1) >= 0:
    line += "; NAKs sent %d, DISCOVERs shed %d, replies expired %d" % (r["naks"], r["shed"], r["expired"])
    if "PostgreSQL" in r["label"]: line += ", refused by the database %d" % r["refused"]
if r.get("instances"):
    line += "; ACKed to two clients %d, client ACKed two addresses %d; bound twice %d, client bound twice %d" % (
            r["acked_to_two"], r["acked_two"], r["bound_twice"], r["bound_two"])
print(line, file=sys.stderr)
print(1 if r["ok"] else 0)')
}

# Who runs: pxed at info (how operators run it) and at warn, kea memfile,
# dnsmasq --no-ping. dnsmasq with its defaults pings every address before
# offering it (a few exchanges per second): one unthrottled run only.
configs=("pxed|pxed (log info)|info" "pxed-baseline|pxed baseline (log info)|info" "kea|kea-dhcp4 memfile|" "dnsmasq|dnsmasq --no-ping|no-ping" "pxed|pxed (log warn)|warn"
         "pxed-pg|pxed PostgreSQL (log info)|info" "pxed-pg2|pxed PostgreSQL, 2 instances (log info)|info"
         "kea-pg|kea-dhcp4 PostgreSQL|")
((kea_pg_ok)) || only=${only//kea-pg/}
selected=()
for c in "${configs[@]}"; do [[ " $only " == *" ${c%%|*} "* ]] && selected+=("$c"); done
# Latency mode compares pxed as operators run it (log info) with the others.
if ((latency_rate)); then
  s=(); for c in "${selected[@]}"; do [[ $c == *"|warn" ]] || s+=("$c"); done; selected=("${s[@]}")
fi

echo "DHCP benchmark: perfdhcp $(perfdhcp -v 2>&1 | sed -n 's/VERSION: //p' | head -n 1), kea-dhcp4 $(kea-dhcp4 -v 2>&1 | head -n 1)," \
     "$(dnsmasq --version | head -n 1 | awk '{ print $1, $3 }'), $clients clients through a relay, $client_note;" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "unthrottled, ${max_secs} s per run, $runs round(s):" >&2
for ((r = 1; r <= runs; r++)); do
  for c in "${selected[@]}"; do
    IFS='|' read -r kind label opt <<<"$c"
    prof=0
    ((profile && r == runs)) && [[ $opt == info ]] && prof=1
    run "$kind" "$label" "$opt" max 0 "$max_secs" "$prof" stock
    ((${#shim_wrap[@]})) && run "$kind" "$label" "$opt" max 0 "$max_secs" 0 shim
  done
done
if ((runs > 0)) && [[ " $only " == *" dnsmasq "* ]]; then run dnsmasq "dnsmasq (defaults)" ping max 0 "$max_secs"; fi
# Step by step, every server in turn (so that they share whatever else the
# machine is doing); a server leaves after two steps in a row it did not
# keep up with.
echo "fixed rates, ${step_secs} s per step, until two steps in a row are not kept up with:" >&2
declare -A misses=()
for rate in "${ladder[@]}"; do
  for c in "${selected[@]}"; do
    IFS='|' read -r kind label opt <<<"$c"
    ((${misses[$label]:-0} < 2)) || continue
    run "$kind" "$label" "$opt" ladder "$rate" "$step_secs"
    if ((last_ok)); then misses[$label]=0; else misses[$label]=$((${misses[$label]:-0} + 1)); fi
  done
done

# --- the tables ---
# What both tables print of the two-instance row.
cat > "$work/tables_common.py" <<'PY'
def conflicts(mine):
    # Two instances: an address ACKed to (or bound in the table to) two clients, or a client to two addresses.
    n = sum(r["acked_to_two"] + r["acked_two"] + max(0, r["bound_twice"]) + max(0, r["bound_two"]) for r in mine if r.get("instances"))
    return "" if not n else " (%d CONFLICTS)" % n
def two_instances(rows):
    mine = [r for r in rows if r.get("instances")]
    if not mine: return
    f = lambda v: "-" if v is None else ("%.1f" % v if v >= 10 else "%.2f" % v)
    print()
    print("%s: each run, instance A + B (DORA/s; at fixed rates REQUEST-ACK p99 of each, ms):" % mine[0]["label"])
    for r in mine:
        a, b = r["instances"]
        what = "%s unthrottled" % r["client"] if r["phase"] == "max" else "%d/s" % r["rate"]
        print("  %s: %.0f = %.0f + %.0f DORA/s%s, %.0f%% done; NAKs %s (refused by the database: %s); %s;"
              " address ACKed to two clients %d, client ACKed two addresses %d; in pxed_leases: address bound twice"
              " %d, client with two bound addresses %d" % (
              what, r["dora_s"], a["dora_s"], b["dora_s"],
              "" if r["phase"] == "max" else ", p99 %s / %s" % (f(a["ra_p99"]), f(b["ra_p99"])), 100 * r["done"],
              r.get("naks", "-"), r.get("refused", "-"),
              "bound after kill -9 %d" % r["stored"] if r["phase"] == "max" else
              "ACKed %d, missing after kill -9 %d" % (r["acked"], r["missing"]),
              r["acked_to_two"], r["acked_two"], r["bound_twice"], r["bound_two"]))
PY
if ((latency_rate)); then
  python3 - "$work/results" "$latency_rate" "$client_note" <<'PY'
import json, os, statistics, sys
path, rate, client_note = sys.argv[1:]
rows = [json.loads(l) for l in open(path)]
sys.path.insert(0, os.path.dirname(path))
from tables_common import conflicts, two_instances
labels = []
for r in rows:
    if r["label"] not in labels: labels.append(r["label"])
print()
print("DHCPv4 DORA through a relay at %s/s, 10 s per run, servers in turn each round; %s." % (rate, client_note))
print("ms, median over the runs (each run's figure in brackets), perfdhcp's per-exchange timestamps.")
print()
print("| server | D-O p50 | D-O p99 | R-A p50 | R-A p99 | DORA/s | exchanges done | CPU per DORA | CPU stolen by the hypervisor | ACKed leases found after kill -9 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for l in labels:
    mine = [r for r in rows if r["label"] == l]
    def col(k, fmt="%.2f"):
        v = [r[k] for r in mine if r[k] is not None]
        return "-" if not v else (fmt % statistics.median(v)) + " (" + ", ".join(fmt % x for x in v) + ")"
    acked, missing = sum(r["acked"] for r in mine), sum(r["missing"] for r in mine)
    for r in mine: r["done_pct"] = 100 * r["done"]
    for r in mine: r.setdefault("steal_ms", None)
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d of %d%s |" % (l, col("do_p50"), col("do_p99"), col("ra_p50"),
          col("ra_p99"), col("dora_s", "%.0f"), col("done_pct", "%.0f%%"), col("cpu_us_per_dora", "%.0f us"),
          col("steal_ms", "%.0f ms"), acked - missing, acked, conflicts(mine)))
two_instances(rows)
PY
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
python3 - "$work/results" "$max_secs" "$runs" "$step_secs" "$clients" "$fixed_rate" "$client_note" "$stock_note" <<'PY'
import json, os, sys
path, max_secs, runs, step_secs, clients, fixed, client_note, stock_note = sys.argv[1:]
rows = [json.loads(l) for l in open(path)]
sys.path.insert(0, os.path.dirname(path))
from tables_common import conflicts, two_instances
labels = []
for r in rows:
    if r["label"] not in labels: labels.append(r["label"])
def pick(label, phase, ok=lambda r: True, client="stock"):
    return [r for r in rows if r["label"] == label and r["phase"] == phase and r.get("client", "stock") == client and ok(r)]
def best_max(label, client="stock"):
    c = pick(label, "max", client=client)
    return max(c, key=lambda r: r["dora_s"]) if c else None
def sustained(label):
    c = pick(label, "ladder", lambda r: r["ok"])
    return max(c, key=lambda r: r["rate"]) if c else None
def peak(label):
    c = pick(label, "ladder")
    return max(c, key=lambda r: r["dora_s"]) if c else None
def at(label, rate):
    c = pick(label, "ladder", lambda r: r["rate"] == rate)
    return c[0] if c else None
def ms(v): return "-" if v is None else ("%.1f" % v if v >= 10 else "%.2f" % v)
def lat(r): return "-" if r is None else "%s / %s, %s / %s" % (ms(r["do_avg"]), ms(r["do_p99"]), ms(r["ra_avg"]), ms(r["ra_p99"]))
import statistics
def unthrottled_table(client, title):
    # Every round's figure, servers in turn within a round; the ratio to
    # Kea is taken round by round (same minute of the machine's load) and
    # its median printed; "lost at perfdhcp" is replies dropped at the
    # client's socket (its receive buffer full), summed over the rounds, of
    # all that reached it (lost + received).
    have = [l for l in labels if pick(l, "max", client=client)]
    if not have: return
    kea = pick("kea-dhcp4 memfile", "max", client=client)
    print()
    print(title)
    print()
    print("| server | DORA/s, median (each round) | / kea-dhcp4, median (each round) | replies lost at perfdhcp's socket | perfdhcp: requests sent / replies received / exchanges dropped |")
    print("|---|---|---|---|---|")
    for l in have:
        mine = pick(l, "max", client=client)
        v = [r["dora_s"] for r in mine]
        ratios = [a["dora_s"] / b["dora_s"] for a, b in zip(mine, kea) if b["dora_s"] > 0] if l != "kea-dhcp4 memfile" else []
        lost, got = sum(r["client_socket_drops"] for r in mine), sum(r["replies_received"] for r in mine)
        print("| %s | %.0f (%s) | %s | %d of %d (%.1f%%) | %d / %d / %d |" % (
            l, statistics.median(v), ", ".join("%.0f" % x for x in v),
            "-" if not ratios else "%.2fx (%s)" % (statistics.median(ratios), ", ".join("%.2fx" % x for x in ratios)),
            lost, lost + got, 100.0 * lost / (lost + got) if lost + got else 0.0, sum(r["requests_sent"] for r in mine),
            got, sum(r["drops_do"] + r["drops_ra"] for r in mine)))
print()
print("DHCPv4 DORA through a relay, perfdhcp -R %s, unthrottled, %s round(s) of %s s, servers in turn." % (clients, runs, max_secs))
unthrottled_table("stock", "Headline: " + stock_note + ".")
unthrottled_table("shim", "Secondary: perfdhcp with an 8 MiB socket receive buffer (LD_PRELOAD shim), same rounds.")
print()
print("DHCPv4 DORA through a relay: perfdhcp -R %s, %s." % (clients, client_note))
print("Unthrottled: best of %s x %s s. Fixed rates: %s s per step; \"sustained\" is the highest rate kept up with" % (runs, max_secs, step_secs))
print("(>= 99% of it completed); \"peak\" the most DORA/s of any step. Latency: avg / p99 in ms of DISCOVER-OFFER,")
print("REQUEST-ACK. CPU: the server's user+system time per completed DORA at %s/s." % fixed)
print()
print("| server | unthrottled DORA/s | sustained rate | latency there | peak DORA/s (server CPU) | latency at %s/s | CPU per DORA | ACKed leases found after kill -9 |" % fixed)
print("|---|---|---|---|---|---|---|---|")
client_bound = False
for l in labels:
    m, s, p, f = best_max(l), sustained(l), peak(l), at(l, int(fixed))
    mine = pick(l, "ladder")
    acked, missing = sum(r["acked"] for r in mine), sum(r["missing"] for r in mine)
    mark = "†" if p and p["client_bound"] else ""
    client_bound |= bool(mark)
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        l, "%.0f" % m["dora_s"] if m else "-", "%d/s" % s["rate"] if s else "-", lat(s),
        "%.0f%s (%.0f%%)" % (p["dora_s"], mark, p["cpu_pct"]) if p else "-", lat(f),
        "%.0f us" % f["cpu_us_per_dora"] if f and f["cpu_us_per_dora"] else "-",
        "-" if not mine else "%d of %d%s%s" % (acked - missing, acked, "" if missing == 0 else " (%d LOST)" % missing,
                                               conflicts(mine))))
if client_bound:
    print()
    print("† perfdhcp sent fewer DISCOVERs than the rate asked for: the client, not the server, was the limit.")
two_instances(rows)
print()
def ratio(a, b, f):
    return "%.2fx" % (f(a) / f(b)) if a and b and f(b) > 0 else "-"
for who in ("pxed (log info)", "pxed baseline (log info)", "pxed (log warn)"):
    if who not in labels: continue
    parts = []
    for other in ("kea-dhcp4 memfile", "dnsmasq --no-ping"):
        if other not in labels: continue
        parts.append("/ %s: unthrottled %s, sustained %s, peak %s, CPU per DORA %s" % (other,
            ratio(best_max(who), best_max(other), lambda r: r["dora_s"]),
            ratio(sustained(who), sustained(other), lambda r: r["rate"]),
            ratio(peak(who), peak(other), lambda r: r["dora_s"]),
            ratio(at(who, int(fixed)), at(other, int(fixed)), lambda r: r["cpu_us_per_dora"] or 0)))
    if parts: print(who, "; ".join(parts))
p = best_max("pxed (log info)")
if p:
    print()
    print("pxed (log info), best unthrottled run: perfdhcp got %d ACKs; after kill -9, `pxed leases` lists %d bound"
          " leases; pxed's log has %d DHCPACK lines; peak RSS %.1f MiB." % (
          p["acks"], p["stored"], p["acks_logged"], p["rss_kib"] / 1024))
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((profile)) && [[ -s $work/perf.data ]]; then
  echo
  cp "$work/perf.data" /tmp/pxd-bench-dhcp-perf.data
  echo "perf profile of pxed (log info), last unthrottled run (kept in /tmp/pxd-bench-dhcp-perf.data);"
  echo "% of samples with callees, then self:"
  { perf report -i "$work/perf.data" --children --stdio -g none --sort symbol --percent-limit 2 2>/dev/null || true; } |
    grep -E '^ +[0-9]' | cut -c1-160 | head -60 || true
fi
