#!/usr/bin/env bash
# What the boot trace (server.trace, docs/troubleshooting.md) costs on the
# hot paths: the same pxed binary with the trace on (the default) and off,
# rounds interleaved, medians and the median of the per-round ratios on/off.
#
#   bench/trace_bench.sh [--rounds N] [--dhcp-rounds K] [--no-dhcp] [--no-tftp]
#
# DHCP: bench/dhcp_bench.sh, run twice with DHCP_BENCH_BASELINE set to a
#   small generated wrapper that execs the same pxed on a copy of its
#   --config with `trace: {enabled: false}` under `server:` (the copy keeps
#   the state_dir, so dhcp_bench's `pxed leases` check still reads the
#   run's leases). So "pxed (log info)" is trace on, "pxed baseline (log
#   info)" trace off, in turn every round:
#   - latency at 1,000/s (--rate 1000 --rounds K): p50/p99 of both halves
#     and the server's CPU per DORA;
#   - unthrottled (DHCP_BENCH_RUNS=K, no ladder, 8 s runs): DORA/s, and
#     the server's CPU per DORA from its CPU share (perfdhcp, not pxed, is
#     usually the limit there: see bench/README.md).
#   perfdhcp's 60,000 clients are no host of site.yaml: each request is a
#   stranger's event (the bounded pool of unknown MACs, LRU).
# TFTP: two pxed processes on 127.0.0.1 from the same binary and the same
#   root, one per setting, both running all along; site.yaml reserves
#   127.0.0.1 for a host, so every transfer is attributed to it, recorded
#   in its trace and written to trace.sqlite3 (the full cost, not the
#   cheaper "unattributed" count). A boot storm, the case a per-transfer
#   cost shows in:
#   - 1,000 concurrent transfers of a 40 KiB pxelinux.0 (bench/tftp_load,
#     lock-step, blksize 1468, as PXE ROMs ask): transfers/s;
#   - 200 concurrent transfers of a 4 MiB file (lock-step): MB/s;
#   - 200 curl processes at once, each fetching pxelinux.0 5 times in a
#     row (curl 7.88, --tftp-blksize 1468): transfers/s. A real client,
#     whose own start-up is part of the figure.
#   Each round runs both settings once per row, the first of the two
#   alternating from round to round (on, off / off, on ...). Beside the
#   rate, the server's CPU time (user + system, all threads, the trace's
#   writer thread included) per transfer. Then each pxed's peak RSS
#   (VmHWM) and the size of the trace database.
# The verdict: a median ratio within 5% of 1 (on/off >= 0.95 for a rate,
# <= 1.05 for a time or CPU figure). This 2-core VM spreads single rounds
# by 10% and more: read a ratio within the rounds' spread as level.
#
# Needs root (dhcp_bench creates network namespaces and installs perfdhcp).
# Everything it starts (pxed processes, curl, temporary files) goes away on
# exit; dhcp_bench cleans up its own.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PXED_BUILD_DIR:-$top/build}
pxed=${PXED:-$build/src/app/pxed}
load=$build/bench/tftp_load
rounds=7 dhcp_rounds=5 do_dhcp=1 do_tftp=1
usage() { echo "usage: $0 [--rounds N] [--dhcp-rounds K] [--no-dhcp] [--no-tftp]"; exit 2; }
while (($#)); do
  case $1 in
    --rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; rounds=$2; shift ;;
    --dhcp-rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; dhcp_rounds=$2; shift ;;
    --no-dhcp) do_dhcp=0 ;;
    --no-tftp) do_tftp=0 ;;
    *) usage ;;
  esac
  shift
done
[[ $(id -u) -eq 0 ]] || { echo "run as root (dhcp_bench creates network namespaces)"; exit 1; }
[[ -x $pxed && -x $load ]] || { echo "build first: scripts/dev build (or cmake --build build --target tftp_load)"; exit 1; }
for c in curl python3 ss; do command -v $c >/dev/null || { echo "$c is missing"; exit 1; }; done
pxed=$(readlink -f "$pxed")
source "$top/bench/lib.sh"

work=$(mktemp -d /tmp/pxed-trace-bench-XXXXXX)
chmod 755 "$work"
# A copy: a build finishing during the run (others share this tree) must
# not swap the binary between two rounds.
cp "$pxed" "$work/pxed"
echo "binary: $pxed, $(stat -c '%y' "$pxed" | cut -d. -f1), sha256 $(sha256sum "$pxed" | cut -c1-12)" >&2
pxed=$work/pxed
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  # curl storms still running after an interrupt
  [[ -s $work/curl.pids ]] && xargs -r kill 2>/dev/null < "$work/curl.pids"
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "trace benchmark: $pxed ($(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')); $(nproc) CPUs;" \
     "uptime before: $(uptime)" >&2
summary=$work/summary   # table rows: name|on|off|ratio|sense (rate: higher is better; time: lower)

# --- DHCP -----------------------------------------------------------------
if ((do_dhcp)); then
  # The "baseline binary": the same pxed with the trace off.
  cat > "$work/pxed-trace-off" <<SH
#!/usr/bin/env bash
# pxed with server.trace off: its --config copied with "trace: {enabled: false}" under "server:".
set -euo pipefail
args=()
while ((\$#)); do
  if [[ \$1 == --config || \$1 == -c ]]; then
    off=\${2%.yaml}-trace-off.yaml
    awk '{ print } /^server:[[:space:]]*\$/ { print "  trace: {enabled: false}" }' "\$2" > "\$off"
    grep -qx '  trace: {enabled: false}' "\$off" || { echo "pxed-trace-off: no server: in \$2" >&2; exit 1; }
    args+=(--config "\$off"); shift 2; continue
  fi
  args+=("\$1"); shift
done
echo "\$(date +%T) \${args[*]}" >> "$work/pxed-trace-off.log"
exec "$pxed" "\${args[@]}"
SH
  chmod 755 "$work/pxed-trace-off"
  # The wrapper's config must parse, and must turn the trace off.
  mkdir -p "$work/check"
  printf 'server:\n  address: 127.0.0.1\n  state_dir: %s/check\n  tftp: {root: %s/check}\nsubnets:\n  - network: 127.0.0.0/8\n' "$work" "$work" > "$work/check/site.yaml"
  "$work/pxed-trace-off" check --config "$work/check/site.yaml" > /dev/null
  [[ $(cat "$work/check/site-trace-off.yaml") == *"trace: {enabled: false}"* ]]
  : > "$work/pxed-trace-off.log"

  echo "DHCP latency at 1,000/s, $dhcp_rounds rounds (trace on = \"pxed (log info)\", off = \"pxed baseline (log info)\"), load $(loadavg):" >&2
  PXED=$pxed DHCP_BENCH_ONLY=pxed DHCP_BENCH_BASELINE=$work/pxed-trace-off \
    "$top/bench/dhcp_bench.sh" --rate 1000 --rounds "$dhcp_rounds" > "$work/dhcp-rate.out" 2> "$work/dhcp-rate.err" ||
    { cat "$work/dhcp-rate.err" "$work/dhcp-rate.out" >&2; exit 1; }
  cat "$work/dhcp-rate.err" "$work/dhcp-rate.out" >&2
  echo "DHCP unthrottled, $dhcp_rounds rounds of 8 s, load $(loadavg):" >&2
  # --quick: 8 s unthrottled runs; a blank ladder: no fixed-rate steps.
  PXED=$pxed DHCP_BENCH_ONLY=pxed DHCP_BENCH_BASELINE=$work/pxed-trace-off DHCP_BENCH_RUNS=$dhcp_rounds DHCP_BENCH_LADDER=" " \
    "$top/bench/dhcp_bench.sh" --quick > "$work/dhcp-max.out" 2> "$work/dhcp-max.err" ||
    { cat "$work/dhcp-max.err" "$work/dhcp-max.out" >&2; exit 1; }
  cat "$work/dhcp-max.err" >&2
  starts=$(wc -l < "$work/pxed-trace-off.log")
  ((starts == 2 * dhcp_rounds)) || { echo "the trace-off wrapper ran $starts times, not $((2 * dhcp_rounds))" >&2; exit 1; }
  python3 - "$work/dhcp-rate.out" "$work/dhcp-max.err" >> "$summary" <<'PY'
import re, statistics, sys
rate_out, max_err = sys.argv[1:]
ON, OFF = "pxed (log info)", "pxed baseline (log info)"
# Latency mode's table: each cell "median (run1, run2, ...)", runs in round order.
cols = ["D-O p50", "D-O p99", "R-A p50", "R-A p99", "DORA/s", "CPU per DORA"]
runs = {}
for line in open(rate_out):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cells[0] in (ON, OFF) and len(cells) >= 8:
        runs[cells[0]] = {c: [float(x) for x in re.findall(r"[\d.]+", cells[i + 1].split("(", 1)[1])]
                          for i, c in enumerate(cols)}
        runs[cells[0]]["found"] = cells[7]
def row(name, on, off, sense, fmt):
    n = min(len(on), len(off))
    ratios = [a / b for a, b in zip(on[:n], off[:n]) if b > 0]
    print("%s|%s|%s|%.3f|%s|%s" % (name, fmt % statistics.median(on), fmt % statistics.median(off),
          statistics.median(ratios), sense, ", ".join("%.2f" % r for r in ratios)))
if ON in runs and OFF in runs:
    for c, unit in (("D-O p99", "ms"), ("R-A p99", "ms"), ("D-O p50", "ms"), ("R-A p50", "ms")):
        row("DHCP 1,000/s, %s (%s)" % (c, unit), runs[ON][c], runs[OFF][c], "time", "%.2f")
    row("DHCP 1,000/s, server CPU per DORA (us)", runs[ON]["CPU per DORA"], runs[OFF]["CPU per DORA"], "time", "%.0f")
    print("#note|DHCP 1,000/s: ACKed leases found after kill -9: trace on %s, off %s" % (runs[ON]["found"], runs[OFF]["found"]))
# Unthrottled: dhcp_bench's per-run lines ("  LABEL   max: N DORA/s, ...; server CPU P%; ...").
mx = {ON: [], OFF: []}
for line in open(max_err):
    m = re.match(r"\s+(.+?)\s+max:\s+(\d+) DORA/s,.*server CPU (\d+)%", line)
    if m and m.group(1) in mx:
        mx[m.group(1)].append((float(m.group(2)), float(m.group(3))))
if mx[ON] and mx[OFF]:
    row("DHCP unthrottled, DORA/s", [d for d, _ in mx[ON]], [d for d, _ in mx[OFF]], "rate", "%.0f")
    cpu = lambda v: [c / 100 / d * 1e6 for d, c in v if d > 0]
    row("DHCP unthrottled, server CPU per DORA (us)", cpu(mx[ON]), cpu(mx[OFF]), "time", "%.0f")
PY
fi

# --- TFTP -----------------------------------------------------------------
if ((do_tftp)); then
  root=$work/root
  mkdir -p "$root"
  small=40960 big=$((4 << 20))
  head -c $small /dev/urandom > "$root/pxelinux.0"
  head -c $big /dev/urandom > "$root/vmlinuz"
  chmod -R a+rX "$root"
  addr=127.0.0.1
  declare -A port=([on]=16941 [off]=16942) spid=()
  for t in on off; do
    mkdir -p "$work/state-$t"
    enabled=true
    [[ $t == off ]] && enabled=false
    cat > "$work/site-$t.yaml" <<YAML
server:
  address: $addr
  listen: $addr
  state_dir: $work/state-$t
  log: {level: warn}
  dhcp: {enabled: false}
  http: {enabled: false}
  ftp: {enabled: false}
  # Every client here is 127.0.0.1: lift the per-address cap (16).
  tftp: {port: ${port[$t]}, root: $root, max_transfers_per_client: 65536}
  trace: {enabled: $enabled}
subnets:
  - network: 127.0.0.0/8
hosts:
  # The storm's machine: its reservation attributes every transfer to it.
  - {mac: "52:54:00:7e:00:01", hostname: storm, ip: $addr, netboot: false}
YAML
    "$pxed" --config "$work/site-$t.yaml" > "$work/pxed-$t.log" 2>&1 &
    spid[$t]=$!
    pids+=("$!")
  done
  for t in on off; do
    for ((i = 0; i < 50; i++)); do ss -Huln "sport = :${port[$t]}" | grep -q . && break; sleep 0.1; done
    ss -Huln "sport = :${port[$t]}" | grep -q . || { echo "pxed (trace $t) did not start:"; cat "$work/pxed-$t.log"; exit 1; } >&2
  done
  tick_hz=$(getconf CLK_TCK)
  cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

  # storm KIND SETTING: "RATE CPU_MS_PER_1000" (RATE: transfers/s, or MB/s
  # for the 4 MiB row), "-" when a transfer failed.
  storm() {
    local kind=$1 t=$2 p=${port[$2]} c0 c1 out t0 t1 n bytes
    c0=$(cpu_ticks "${spid[$t]}")
    case $kind in
      small|big)
        local file=pxelinux.0 size=$small
        n=1000
        [[ $kind == big ]] && file=vmlinuz size=$big n=200
        out=$("$load" --server $addr --port "$p" --file $file --clients $n --blksize 1468 --windowsize 1 \
              --expect-size $size --timeout-ms 1000 2>&1) || { echo "tftp_load ($kind, trace $t): $out" >&2; echo "-"; return; }
        t1=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out") t0=0
        bytes=$((n * size)) ;;
      curl)
        # 200 curl processes at once, each fetching pxelinux.0 5 times.
        local url=tftp://$addr:$p/pxelinux.0 i args=()
        for ((i = 0; i < 5; i++)); do args+=(-o /dev/null "$url"); done
        n=1000 bytes=$((1000 * small))
        : > "$work/curl.pids"
        t0=$(date +%s.%N)
        for ((i = 0; i < 200; i++)); do
          curl -s --tftp-blksize 1468 --max-time 60 -w '%{size_download}\n' "${args[@]}" > "$work/curl-$i.out" 2>&1 &
          echo $! >> "$work/curl.pids"
        done
        local failed=0
        while read -r cp; do wait "$cp" || failed=$((failed + 1)); done < "$work/curl.pids"
        t1=$(date +%s.%N)
        : > "$work/curl.pids"
        got=$(cat "$work"/curl-*.out | awk -v s=$small '$1 == s { n++ } END { print n + 0 }')
        if ((failed || got != 1000)); then echo "curl (trace $t): $failed processes failed, $got of 1000 files whole" >&2; echo "-"; return; fi ;;
    esac
    c1=$(cpu_ticks "${spid[$t]}")
    awk -v k=$kind -v n=$n -v b=$bytes -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        -v c=$((c1 - c0)) -v hz="$tick_hz" \
      'BEGIN { r = (k == "big") ? b / s / 1e6 : n / s; printf "%.1f %.1f\n", r, c * 1000 / hz / n * 1000 }'
  }

  rows=("small|TFTP 1,000 x 40 KiB at once (tftp_load)|transfers/s"
        "big|TFTP 200 x 4 MiB at once (tftp_load)|MB/s"
        "curl|TFTP 200 curl processes x 5 x 40 KiB|transfers/s")
  echo "TFTP on loopback, $rounds rounds, load $(loadavg):" >&2
  for row in "${rows[@]}"; do
    IFS='|' read -r kind name unit <<<"$row"
    declare -A rate=() cpu=()
    ratios='' cratios=''
    for ((r = 0; r < rounds; r++)); do
      order=(on off)
      ((r % 2)) && order=(off on)
      declare -A this=() thisc=()
      for t in "${order[@]}"; do
        read -r m c <<<"$(storm "$kind" "$t")"
        this[$t]=$m thisc[$t]=${c:--}
        rate[$t]+="$m " cpu[$t]+="${c:--} "
      done
      echo "  round $((r + 1)) ($name): on ${this[on]} (${thisc[on]} CPU ms/1000), off ${this[off]} (${thisc[off]}); load $(loadavg)" >&2
      [[ ${this[on]} == - || ${this[off]} == - ]] && continue
      ratios+="$(awk -v a="${this[on]}" -v b="${this[off]}" 'BEGIN { print a / b }') "
      cratios+="$(awk -v a="${thisc[on]}" -v b="${thisc[off]}" 'BEGIN { print (b > 0) ? a / b : "-" }') "
      unset this thisc
    done
    list() { tr ' ' '\n' | awk 'NF { printf "%s%.2f", (n++ ? ", " : ""), $1 }'; }
    echo "$name, $unit|$(bench_median <<<"${rate[on]}")|$(bench_median <<<"${rate[off]}")|$(bench_median <<<"$ratios")|rate|$(list <<<"$ratios")" >> "$summary"
    echo "$name, server CPU ms per 1,000 transfers|$(bench_median <<<"${cpu[on]}")|$(bench_median <<<"${cpu[off]}")|$(bench_median <<<"$cratios")|time|$(list <<<"$cratios")" >> "$summary"
    unset rate cpu
  done
  # The trace did its work: events recorded and written (the writer runs
  # every 5 s), none for the trace-off process.
  sleep 6
  for t in on off; do
    hwm=$(awk '/VmHWM/ { print $2 }' "/proc/${spid[$t]}/status")
    db=$(cat "$work/state-$t"/trace.sqlite3* 2>/dev/null | wc -c || true)
    echo "#note|pxed trace $t: peak RSS (VmHWM) $hwm KiB ($(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }') MiB) after the storms; trace database ${db:-0} bytes" >> "$summary"
  done
  events=$("$pxed" trace storm --config "$work/site-on.yaml" --json 2>/dev/null | python3 -c 'import json,sys
d = json.load(sys.stdin); e = d.get("events", d) if isinstance(d, dict) else d; print(len(e))' 2>/dev/null || echo "?")
  echo "#note|the trace-on pxed's book holds $events events for the storm's host (per_host bound: 1000)" >> "$summary"
  grep -i "trace" "$work/pxed-on.log" "$work/pxed-off.log" | grep -iv "server.user" | head -5 >&2 || true
fi

# --- the table ---------------------------------------------------------------
echo
echo "Boot trace on against off, same binary, rounds interleaved; medians, and the median of the per-round ratios"
echo "on/off (each round's ratio in the last column). Verdict: within 5% = on/off >= 0.95 for a rate, <= 1.05 for a time."
echo
echo "| row | trace on | trace off | on / off | verdict | per-round on / off |"
echo "|---|---|---|---|---|---|"
grep -v '^#note' "$summary" | while IFS='|' read -r name on off ratio sense each; do
  verdict=$(awk -v r="$ratio" -v s="$sense" 'BEGIN {
    if (r == "-") { print "-"; exit }
    if (s == "rate") print (r >= 0.95) ? "within 5%" : sprintf("%.0f%% slower", (1 - r) * 100)
    else print (r <= 1.05) ? "within 5%" : sprintf("%.0f%% more", (r - 1) * 100) }')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$on" "$off" \
    "$(awk -v r="$ratio" 'BEGIN { if (r == "-") print "-"; else printf "%.2fx", r }')" "$verdict" "$each"
done
echo
grep '^#note' "$summary" | cut -d'|' -f2- | sed 's/^/- /' || true
echo
echo "uptime after: $(uptime)"
