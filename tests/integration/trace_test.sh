#!/usr/bin/env bash
# The per-host boot trace (docs/troubleshooting.md) with real clients, in
# network namespaces this test creates (nothing here touches the machine's
# own interfaces):
#
#   ns A (alpha: leases from the pool, busybox udhcpc)    ─┐
#   ns B (bravo: reserved 10.66.0.20, ISC dhclient)       ─┼─ br0 in ns L ── ns S (pxed) 10.66.0.2/24
#   ns X (a MAC in no inventory, busybox udhcpc)          ─┘
#
# Each machine gets its address from pxed's DHCP, then fetches boot files
# with tftp-hpa and curl (tftp:// and http://): boot loader, module, its
# own boot config, kernel, kickstart, a missing file; B also asks for A's
# boot config. Then `pxed trace` (text and --json), the API and --unknown:
# each host's trace holds exactly its own events, in order, with outcomes
# and sizes; B's request for A's config is B's event, not A's. The trace
# survives a restart (same sequence numbers, new ones higher), and
# --follow prints a new event as it happens.
# Usage: trace_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"
# Interrupted (Ctrl-C, ctest's timeout): exit, so that lib.sh's EXIT trap
# still removes the namespaces and stops what runs in them.
trap 'exit 1' INT TERM HUP

[[ $(id -u) -eq 0 ]] || skip_all "needs root to create network namespaces"
for c in ip busybox dhclient tftp curl python3; do
  command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"
done

id=$$
L=pxt-l-$id S=pxt-s-$id A=pxt-a-$id B=pxt-b-$id X=pxt-x-$id
netns_up $L $S $A $B $X
netns_bridge $L
MAC_A=52:54:00:66:00:0a MAC_B=52:54:00:66:00:0b MAC_C=52:54:00:66:00:0c MAC_X=52:54:00:66:00:99
dash() { tr : - <<<"$1"; }
DA=$(dash $MAC_A) DB=$(dash $MAC_B)
netns_plug $L $S
netns_plug $L $A $MAC_A
netns_plug $L $B $MAC_B
netns_plug $L $X $MAC_X
ip -n $S addr add 10.66.0.2/24 dev eth0
SRV=10.66.0.2
U=http://$SRV:8080
IP_B=10.66.0.20

root=$TMP/tftp
g=$TMP/got
mkdir -p "$root/k" "$g" "$TMP/state"
# Sizes of their own, so that a size in the trace names its file.
head -c 26000 /dev/urandom > "$root/pxelinux.0"
head -c 120000 /dev/urandom > "$root/ldlinux.c32"
head -c 70000 /dev/urandom > "$root/k/vmlinuz"
head -c 9000 /dev/urandom > "$root/k/initrd.img"
cat > "$TMP/site.yaml" <<YAML
server:
  address: $SRV
  state_dir: $TMP/state
  log: {level: debug}
  tftp: {root: $root}
  http: {port: 8080}
  ftp: {enabled: false}
subnets:
  - network: 10.66.0.0/24
    ranges: [10.66.0.100-10.66.0.150]
    lease_time: 10m
profiles:
  c7: {kernel: k/vmlinuz, initrd: k/initrd.img, kickstart: centos7.ks, append: "inst.ks={{kickstart_url}}"}
hosts:
  - {mac: "$MAC_A", hostname: alpha, profile: c7}
  - {mac: "$MAC_B", hostname: bravo, ip: $IP_B, profile: c7}
  - {mac: "$MAC_C", hostname: charlie, profile: c7}
access:
  host_documents: address-or-token
YAML
start_pxed "$TMP/site.yaml" ip netns exec $S
wait_for_log "dhcp: answering on" 5 || true

P() { "$PXED" "$@" --config "$TMP/site.yaml"; }
# tj KEY NAME: `pxed trace KEY --json` into $TMP/NAME.json (its path printed).
tj() { P trace "$1" --json > "$TMP/$2.json" 2> "$TMP/$2.err" || true; echo "$TMP/$2.json"; }
# api PATH NAME: a GET of the API from the pxed host (access.api.read_from is
# 127.0.0.0/8 by default) into $TMP/NAME.json; prints the status.
api() { ip netns exec $S curl -s -m 10 -o "$TMP/$2.json" -w '%{http_code}' "http://127.0.0.1:8080$1" || true; }

cat > "$TMP/trace_check.py" <<'PY'
import json, sys

def load(path):
    with open(path) as f:
        return json.load(f)

def files(j, after=0):
    """The file events (and refusals) of a trace: kind, what, outcome, bytes."""
    return [(e["kind"], e["what"], e["outcome"], e.get("bytes", 0))
            for e in j["events"] if e["kind"] in ("tftp", "http", "refused") and e["seq"] > after]

def expected(specs):
    out = []
    for s in specs:
        kind, what, outcome, size = s.split("|")
        out.append((kind, what, outcome, None if size == "*" else int(size)))
    return out

def same(got, want):
    return len(got) == len(want) and all(
        g[:3] == w[:3] and (w[3] is None or g[3] == w[3]) for g, w in zip(got, want))

def own(path, mac, ip, *specs):
    """A whole trace: the host's own DHCP exchange first, then exactly these
    file events in this order, every address in it the host's."""
    j = load(path)
    errors = []
    if not j.get("ok") or j.get("mac") != mac:
        errors.append(f"not the trace of {mac}: ok={j.get('ok')} mac={j.get('mac')}")
    ev = j.get("events", [])
    seqs = [e["seq"] for e in ev]
    if seqs != sorted(set(seqs)):
        errors.append(f"sequence numbers not increasing: {seqs}")
    times = [e["time_ms"] for e in ev]
    if times != sorted(times):
        errors.append(f"times go backwards: {times}")
    dhcp = [(e["what"], e["outcome"].split(",")[0]) for e in ev if e["kind"] == "dhcp"]
    if dhcp != [("DISCOVER", f"OFFER {ip}"), ("REQUEST", f"ACK {ip}")]:
        errors.append(f"DHCP events: {dhcp}, wanted DISCOVER -> OFFER {ip}, REQUEST -> ACK {ip}")
    if ev and [e["kind"] for e in ev[:2]] != ["dhcp", "dhcp"]:
        errors.append("the DHCP exchange does not come first")
    others = [(e["seq"], e["kind"], e["what"], e["client"]) for e in ev if e["client"] not in (None, ip)]
    if others:
        errors.append(f"events from other addresses than {ip}: {others}")
    kinds = {e["kind"] for e in ev} - {"dhcp", "tftp", "http", "refused", "document", "lifecycle"}
    if kinds:
        errors.append(f"unexpected kinds: {kinds}")
    if not same(files(j), expected(specs)):
        errors.append("file events:\n    got  " + "\n         ".join(map(str, files(j))) +
                      "\n    want " + "\n         ".join(map(str, expected(specs))))
    for e in errors:
        print("  " + e)
    return not errors

def after(path, seq, *specs):
    """Only these file events after SEQ, and every sequence number after it."""
    j = load(path)
    got = files(j, int(seq))
    if not same(got, expected(specs)):
        print(f"  after {seq}: got {got}")
        return False
    return True

def count(path, what):
    j = load(path)
    print(sum(1 for e in j.get("events", []) if e["kind"] in ("tftp", "http") and e["what"] == what))
    return True

def get(path, expr):
    j = load(path)
    print(eval(expr, {"j": j}))
    return True

cmd, *args = sys.argv[1:]
sys.exit(0 if globals()[cmd](*args) else 1)
PY
# The interpreter itself, not a version manager's shim in front of it:
# the test asks it a few hundred times.
PY=$(python3 -c 'import sys; print(sys.executable)')
TC="$PY $TMP/trace_check.py"
q() { $TC get "$1" "$2" 2>/dev/null || echo "(unreadable: $1)"; }

# wait_event MAC PATH N: until the trace of MAC holds N tftp/http events for
# PATH (tftp-hpa exits on sending its last ACK; pxed records the transfer
# when it has read it). Fetches are made one at a time, each waited for, so
# the order in the trace is the order they were made in.
wait_event() {
  for _ in $(seq 100); do
    (($($TC count "$(tj "$1" wait)" "$2" 2>/dev/null || echo 0) >= $3)) && return 0
    sleep 0.05
  done
  echo "# no event for $2 in the trace of $1 after 5 s"
  return 1
}
# fetch TOOL NS MAC PATH LOCAL: one fetch, then waits for its event.
fetch() {
  local n
  n=$($TC count "$(tj "$3" before)" "$4")
  case $1 in
    tftp) tget "$2" "$4" "$5" > /dev/null ;;
    curl-tftp) rm -f "$5"; ip netns exec "$2" curl -s -m 10 -o "$5" "tftp://$SRV/$4" || true ;;
    http) rm -f "$5"; ip netns exec "$2" curl -s -m 10 -o "$5" "$U/$4" || true ;;
  esac
  wait_event "$3" "$4" $((n + 1))
}
size() { stat -c %s "$1" 2>/dev/null || echo missing; }

# --- addresses from pxed's DHCP, by real clients -----------------------------
ip_a=$(netns_lease $A a)
ip_x=$(netns_lease $X x)
# ISC dhclient for B, with a script of the test's own (lib.sh).
write_dhclient_script "$TMP/dhclient-script" "$TMP/dhc"
on_exit "kill \$(cat $TMP/dhclient.pid 2>/dev/null) 2>/dev/null"
timeout 20 ip netns exec $B dhclient -4 -1 -v -sf "$TMP/dhclient-script" -lf "$TMP/dhclient.leases" \
  -pf "$TMP/dhclient.pid" eth0 > "$TMP/dhclient.out" 2>&1 || true
# It went to the background with its lease: stopped (without a RELEASE),
# so that it sends nothing more while the test reads the traces.
kill "$(cat "$TMP/dhclient.pid" 2>/dev/null)" 2>/dev/null || true
ip_b=$(sed -n "s/^new_ip_address=//p" "$TMP/dhc.BOUND" 2>/dev/null | tr -d "'" || true)
echo "# A leased $ip_a, B $ip_b, X $ip_x"
check "udhcpc in A leases from the pool ($ip_a)" grep -q '^10\.66\.0\.1[0-5][0-9]$' <<<"$ip_a"
check "dhclient in B gets its reservation ($ip_b)" test "$ip_b" = $IP_B
check "udhcpc in X (no inventory host) leases from the pool too ($ip_x)" \
  bash -c "grep -q '^10\.66\.0\.1[0-5][0-9]\$' <<<'$ip_x' && [[ '$ip_x' != '$ip_a' ]]"
[[ -n $ip_a && -n $ip_x && $ip_b == "$IP_B" ]] || { finish; exit 1; }

# --- the boots ---------------------------------------------------------------
# A, with tftp-hpa and curl: everything up to its kickstart, then a file
# that is not there.
check "A: tftp-hpa gets pxelinux.0" fetch tftp $A $MAC_A pxelinux.0 $g/a-pxelinux.0
check "A: ldlinux.c32" fetch tftp $A $MAC_A ldlinux.c32 $g/a-ldlinux.c32
check "A: its own pxelinux config" fetch tftp $A $MAC_A pxelinux.cfg/01-$DA $g/a.cfg
check "A: the kernel" fetch tftp $A $MAC_A k/vmlinuz $g/a-vmlinuz
check "A: the initrd" fetch tftp $A $MAC_A k/initrd.img $g/a-initrd
check "A: curl gets its kickstart over HTTP, by its address" fetch http $A $MAC_A ks/$DA.ks $g/a.ks
check "A: a missing file over HTTP" fetch http $A $MAC_A k/missing.img $g/a-missing
check "A got the files whole" bash -c "cmp -s $root/pxelinux.0 $g/a-pxelinux.0 && cmp -s $root/ldlinux.c32 $g/a-ldlinux.c32 &&
  cmp -s $root/k/vmlinuz $g/a-vmlinuz && cmp -s $root/k/initrd.img $g/a-initrd"
check "A got its own boot config and kickstart" bash -c "grep -q '^default c7' $g/a.cfg && grep -q '^%packages' $g/a.ks"

# B, with curl's tftp://: boot loader, module, its own config; then A's
# config (refused: not B's address) and a kernel that is not there.
check "B: curl tftp:// gets pxelinux.0" fetch curl-tftp $B $MAC_B pxelinux.0 $g/b-pxelinux.0
check "B: ldlinux.c32" fetch curl-tftp $B $MAC_B ldlinux.c32 $g/b-ldlinux.c32
check "B: its own pxelinux config" fetch curl-tftp $B $MAC_B pxelinux.cfg/01-$DB $g/b.cfg
check "B: asks for A's pxelinux config (tftp-hpa)" fetch tftp $B $MAC_B pxelinux.cfg/01-$DA $g/b-a.cfg
check "... and gets nothing" test ! -s $g/b-a.cfg
check "B: a kernel path that is not there" fetch tftp $B $MAC_B k/vmlinuz-missing $g/b-missing
check "B got the files whole" bash -c "cmp -s $root/pxelinux.0 $g/b-pxelinux.0 && cmp -s $root/ldlinux.c32 $g/b-ldlinux.c32 &&
  grep -q '^default c7' $g/b.cfg"

# X, a stranger: the boot loader only.
check "X: tftp-hpa gets pxelinux.0" fetch tftp $X $MAC_X pxelinux.0 $g/x-pxelinux.0

# --- each trace holds exactly its own events, in order -----------------------
ta=$(tj $MAC_A a) tb=$(tj $MAC_B b) tx=$(tj $MAC_X x)
check "A's trace: its DHCP exchange, then its files in order, outcomes and sizes, all from $ip_a" \
  $TC own "$ta" $MAC_A "$ip_a" \
  "tftp|pxelinux.0|completed|26000" \
  "tftp|ldlinux.c32|completed|120000" \
  "tftp|pxelinux.cfg/01-$DA|completed|$(size $g/a.cfg)" \
  "tftp|k/vmlinuz|completed|70000" \
  "tftp|k/initrd.img|completed|9000" \
  "http|ks/$DA.ks|200|$(size $g/a.ks)" \
  "http|k/missing.img|404 not found|*"
check "B's trace: the same, with its request for A's config and the refusal of it, all from $IP_B" \
  $TC own "$tb" $MAC_B $IP_B \
  "tftp|pxelinux.0|completed|26000" \
  "tftp|ldlinux.c32|completed|120000" \
  "tftp|pxelinux.cfg/01-$DB|completed|$(size $g/b.cfg)" \
  "refused|documents|refused|0" \
  "tftp|pxelinux.cfg/01-$DA|not found|0" \
  "tftp|k/vmlinuz-missing|not found|0"
check "X's trace: its DHCP exchange and its boot loader" \
  $TC own "$tx" $MAC_X "$ip_x" "tftp|pxelinux.0|completed|26000"
check "B's refusal names A's config and B's address" \
  test "$(q "$tb" '[e["detail"] for e in j["events"] if e["kind"] == "refused"][0].startswith("pxelinux.cfg/01-'$DA' to '$IP_B':")')" = True
check "A's trace has its config fetch once, its own (B's request for it is not there)" \
  test "$(q "$ta" '[(e["client"], e["outcome"]) for e in j["events"] if "'$DA'" in e["what"] and e["kind"] == "tftp"]')" \
  = "[('$ip_a', 'completed')]"
check "A's trace: its boot config and kickstart released to it, and it went installing" \
  test "$(q "$ta" '[(e["kind"], e["what"]) for e in j["events"] if e["kind"] in ("document", "lifecycle")]')" \
  = "[('document', 'boot config'), ('lifecycle', 'installing'), ('document', 'kickstart')]"
check "the DHCP events carry the ACKed address and say the ACK bound it" \
  test "$(q "$ta" '[e["client"] for e in j["events"] if e["kind"] == "dhcp" and e["flags"] & 8]')" = "['$ip_a']"
check "sequence numbers are unique across hosts" \
  test "$($PY -c "import json,sys; s=[e['seq'] for f in sys.argv[1:] for e in json.load(open(f))['events']]; print(len(s) == len(set(s)))" "$ta" "$tb" "$tx")" = True

# --- stage and hints ---------------------------------------------------------
check "A reached its kickstart" test "$(q "$ta" 'j["stage"]')" = kickstart
check "B stopped at its config (its kernel is missing)" test "$(q "$tb" 'j["stage"]')" = config
check "X reached its boot loader" test "$(q "$tx" 'j["stage"]')" = "boot loader"
check "A's hint names the missing file" \
  test "$(q "$ta" 'j["hints"]')" = "['k/missing.img was asked for over http but is missing (404 not found): put it in place, or correct the path in the profile or boot config']"
check "B's hints name the refused request and the missing kernel" \
  test "$(q "$tb" '[h.split(":")[0] for h in j["hints"]]')" = "['a request from this host was refused', 'k/vmlinuz-missing was asked for over tftp but is missing (not found)']"
tc=$(tj charlie c)
check "charlie, who did nothing, has an empty trace (stage none)" \
  test "$(q "$tc" '(j["mac"], j["events"], j["stage"])')" = "('$MAC_C', [], 'none')"
check "... with the hint that no DHCP request reached pxed" \
  grep -q "no DHCP request from this host has reached pxed" <<<"$(q "$tc" 'j["hints"]')"
check "the inventory says who is in it" \
  test "$(q "$ta" 'j["in_inventory"]') $(q "$tb" 'j["in_inventory"]') $(q "$tx" 'j["in_inventory"]')" = "True True False"

# --- by hostname, by address, by any spelling of the MAC ---------------------
mac_by() { q "$(tj "$1" by)" 'j["mac"]'; }
check "pxed trace alpha is A" test "$(mac_by alpha)" = $MAC_A
check "pxed trace $ip_a (leased) is A" test "$(mac_by "$ip_a")" = $MAC_A
check "pxed trace $DA (dashes, upper case) is A" test "$(mac_by "${DA^^}")" = $MAC_A
check "pxed trace bravo is B" test "$(mac_by bravo)" = $MAC_B
check "pxed trace $IP_B (reserved) is B" test "$(mac_by $IP_B)" = $MAC_B
check "pxed trace $ip_x is X" test "$(mac_by "$ip_x")" = $MAC_X
check "by hostname, the same events as by MAC" \
  test "$(q "$(tj alpha by)" 'j["events"]')" = "$(q "$ta" 'j["events"]')"
out=$(P trace 10.66.0.199 2>&1) && rc=0 || rc=$?
check "an address nobody had is refused (exit $rc)" bash -c "[[ $rc != 0 ]] && grep -q 'no address pxed has seen' <<<'$out'"

# --- the API: the same trace, after=SEQ, the strangers -----------------------
check "GET /api/v1/hosts/$DA/events answers 200" test "$(api /api/v1/hosts/$DA/events api-a)" = 200
check "... with the events pxed trace --json gives" \
  test "$(q "$TMP/api-a.json" 'j["events"]')" = "$(q "$ta" 'j["events"]')"
check "... and the same stage and hints" \
  test "$(q "$TMP/api-a.json" '(j["stage"], j["hints"])')" = "$(q "$ta" '(j["stage"], j["hints"])')"
check "GET .../hosts/bravo/events and .../hosts/$IP_B/events are B's" \
  test "$(api /api/v1/hosts/bravo/events api-b1)/$(api /api/v1/hosts/$IP_B/events api-b2)/$(q "$TMP/api-b1.json" 'j["mac"]')/$(q "$TMP/api-b2.json" 'j["mac"]')" \
  = "200/200/$MAC_B/$MAC_B"
mid=$(q "$ta" '[e["seq"] for e in j["events"] if e["what"] == "k/vmlinuz"][0]')
check "?after=$mid gives only the events after it" test "$(api "/api/v1/hosts/$DA/events?after=$mid" api-after)" = 200
check "... which are A's last ones" \
  $TC after "$TMP/api-after.json" 0 "tftp|k/initrd.img|completed|9000" "http|ks/$DA.ks|200|*" "http|k/missing.img|404 not found|*"
check "... all numbered above $mid" test "$(q "$TMP/api-after.json" 'min(e["seq"] for e in j["events"]) > '$mid)" = True
check "?after=abc is a 400" test "$(api "/api/v1/hosts/$DA/events?after=abc" api-bad)" = 400
check "GET /api/v1/unknown answers 200" test "$(api /api/v1/unknown api-unknown)" = 200
check "... and lists X alone, with its address" \
  test "$(q "$TMP/api-unknown.json" '[(u["mac"], u["client"]) for u in j]')" = "[('$MAC_X', '$ip_x')]"
P trace --unknown --json > "$TMP/unknown.json" 2>&1 || true
check "pxed trace --unknown --json lists X alone too" \
  test "$(q "$TMP/unknown.json" '[u["mac"] for u in j["unknown"]]')" = "['$MAC_X']"
check "... with its three events (DISCOVER, REQUEST, pxelinux.0)" test "$(q "$TMP/unknown.json" 'j["unknown"][0]["events"]')" = 3
P trace --unknown > "$TMP/unknown.txt" 2>&1 || true
check "pxed trace --unknown names X and its address" grep -Eq "^$MAC_X +$ip_x " "$TMP/unknown.txt"
check "... with a hosts: line to paste" grep -qF -- "- {mac: \"$MAC_X\", hostname: CHANGEME, profile: CHANGEME}" "$TMP/unknown.txt"
check_not "... and no inventory host" grep -qiE "$MAC_A|$MAC_B|$MAC_C" "$TMP/unknown.txt"

# --- the text form -------------------------------------------------------------
P trace alpha > "$TMP/a.txt" 2>&1 || true
P trace bravo --utc > "$TMP/b.txt" 2>&1 || true
P trace $MAC_X > "$TMP/x.txt" 2>&1 || true
check "text: the header names host, MAC, profile and state" \
  test "$(head -n 1 "$TMP/a.txt")" = "alpha $MAC_A (profile c7, state installing)"
check "text: the stage line marks kickstart" \
  grep -qxF "stage: dhcp > boot loader > config > kernel > installer > [kickstart] > done" "$TMP/a.txt"
check "text: the hint line" grep -q "^hint: k/missing.img was asked for over http but is missing" "$TMP/a.txt"
check "text: the DHCP line" grep -Eq "  dhcp       REQUEST -> ACK $ip_a, boot file pxelinux.0 from $SRV \[$ip_a\]" "$TMP/a.txt"
check "text: a TFTP line with size and address" \
  grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\.[0-9]{3}  tftp       pxelinux.0: completed, 25 KiB in [0-9]+ ms \[$ip_a\] \(blksize 512" "$TMP/a.txt"
check "text: the failed HTTP request, marked !" grep -qF "  http     ! k/missing.img: 404 not found" "$TMP/a.txt"
check "text: one line per event" \
  test "$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$TMP/a.txt")" = "$(q "$ta" 'len(j["events"])')"
check "text: B's stage line marks config" \
  grep -qxF "stage: dhcp > boot loader > [config] > kernel > installer > kickstart > done" "$TMP/b.txt"
check "text: B's request for A's config is on B's timeline, with B's address" \
  grep -qF "  tftp     ! pxelinux.cfg/01-$DA: not found [$IP_B]" "$TMP/b.txt"
first_utc=$(q "$tb" 'j["events"][0]["time"].replace("T", " ").rstrip("Z")')
check "text --utc: times as the JSON's ($first_utc)" grep -qF "$first_utc  dhcp       DISCOVER" "$TMP/b.txt"
check "text: a stranger says it is not in site.yaml" test "$(head -n 1 "$TMP/x.txt")" = "$MAC_X (not in site.yaml)"

# --- a restart keeps the trace -------------------------------------------------
last_before=$($PY -c "import json,sys; print(max(e['seq'] for f in sys.argv[1:] for e in json.load(open(f))['events']))" "$ta" "$tb" "$tx")
stop_pxed
check "pxed stopped on SIGTERM" bash -c "! ip netns pids $S | grep -q ."
# The neighbour table is empty, as after some minutes of silence.
ip -n $S neigh flush all
start_pxed "$TMP/site.yaml" ip netns exec $S
check "pxed read the trace back (the hosts of site.yaml: strangers are kept in memory only)" \
  grep -q "trace: .* event(s) of 2 MAC(s) read back from $TMP/state/trace.sqlite3" "$TMP/pxed.log"
check "A's trace after the restart: the same events, the same numbers" \
  test "$(q "$(tj $MAC_A a2)" 'j["events"]')" = "$(q "$ta" 'j["events"]')"
check "B's too" test "$(q "$(tj $MAC_B b2)" 'j["events"]')" = "$(q "$tb" 'j["events"]')"
check "X, not in site.yaml, was not written to disk: a restart forgets it" \
  test "$(q "$(tj $MAC_X x2)" 'len(j["events"])')" = 0
check "the stage and hints read the same" test "$(q "$TMP/b2.json" '(j["stage"], j["hints"])')" = "$(q "$tb" '(j["stage"], j["hints"])')"
# docs/troubleshooting.md: an address is resolved by pxed's leases first,
# and the lease store kept A's lease over the restart.
check "after the restart, pxed trace $ip_a (leased, not in the neighbour table) is still A" \
  test "$(mac_by "$ip_a")" = $MAC_A

# --- --follow: a new event shows as it happens ---------------------------------
"$PXED" trace $MAC_A --follow --config "$TMP/site.yaml" > "$TMP/follow.txt" 2>&1 &
FOLLOW=$!
on_exit "kill $FOLLOW 2>/dev/null"
wait_for_log "^stage: " 5 "$TMP/follow.txt" || true
check "--follow prints the trace first" grep -qF "k/missing.img: 404 not found" "$TMP/follow.txt"
sleep 1.2  # two polls that bring nothing new
check "--follow keeps following while nothing happens" kill -0 $FOLLOW

# B goes on after the restart: its kernel over TFTP, its kickstart by
# hostname over HTTP (its reserved address gets it); numbers go on.
check "B: the kernel after the restart" fetch tftp $B $MAC_B k/vmlinuz $g/b-vmlinuz
check "B: curl gets its kickstart as ks/bravo.ks" fetch http $B $MAC_B ks/bravo.ks $g/b.ks
check "... which is B's" grep -q '^%packages' $g/b.ks
tb3=$(tj $MAC_B b3)
check "B's new events are numbered after every earlier one (> $last_before)" \
  $TC after "$tb3" "$last_before" "tftp|k/vmlinuz|completed|70000" "http|ks/bravo.ks|200|$(size $g/b.ks)"
check "... and its earlier ones kept their numbers" \
  test "$(q "$tb3" '[e for e in j["events"] if e["seq"] <= '$last_before']')" = "$(q "$tb" 'j["events"]')"
check "... from its address" test "$(q "$tb3" '{e["client"] for e in j["events"] if e["seq"] > '$last_before' and e["client"]}')" = "{'$IP_B'}"
check "B now reached its kickstart" test "$(q "$tb3" 'j["stage"]')" = kickstart

# A fetches again while --follow watches it.
check "A: curl tftp:// gets the initrd again" fetch curl-tftp $A $MAC_A k/initrd.img $g/a-initrd2
for _ in $(seq 100); do (($(grep -c "  tftp       k/initrd.img: completed" "$TMP/follow.txt") >= 2)) && break; sleep 0.05; done
check "--follow printed the new event within 5 s" \
  test "$(grep -c "  tftp       k/initrd.img: completed, 9000 bytes in [0-9]* ms \[$ip_a\]" "$TMP/follow.txt")" = 2
check "... as its last line" grep -q "k/initrd.img: completed" <<<"$(tail -n 1 "$TMP/follow.txt")"
check_not "... and nothing of B's" grep -qE "bravo|$IP_B" "$TMP/follow.txt"
kill $FOLLOW 2>/dev/null || true
wait $FOLLOW 2>/dev/null && rc=0 || rc=$?
check "--follow ends on SIGTERM with exit 0 ($rc)" test "$rc" = 0
check "A's trace after the restart: the new fetch, from its address" \
  $TC after "$(tj $MAC_A a3)" "$last_before" "tftp|k/initrd.img|completed|9000"
stop_pxed

finish
