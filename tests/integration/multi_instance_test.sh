#!/usr/bin/env bash
# Two pxed instances, one PostgreSQL lease database, one segment, in network
# namespaces this test creates (nothing touches the machine's interfaces;
# PostgreSQL listens on a Unix socket only):
#
#   ns A (pxed "a", 10.99.0.1) ──┐
#   ns B (pxed "b", 10.99.0.2) ── br0 in ns L ── ns C (300 scripted clients)
#
# Both answer every DISCOVER; each client REQUESTs the first OFFER it hears.
# Then: every address distinct, every ACK in the database; instance a
# killed with kill -9 and its clients, rebooting, get their addresses from
# b; the database stopped (no new lease is ACKed, the log says why) and
# started again (b catches up and ACKs again).
# Usage: multi_instance_test.sh PXED SOURCE_DIR
PXED=$1
SRC=$2
source "$SRC/tests/integration/lib.sh"

[[ $(id -u) -eq 0 ]] || skip_all "needs root to create network namespaces"
for c in ip python3 psql; do command -v $c >/dev/null || skip_all "$c is not installed (scripts/dev deps)"; done
"$PXED" --version >/dev/null
MANY="python3 $SRC/tests/integration/dhcp_many.py"

pg=/tmp/pxed-pg-multi-$$
conninfo=$("$SRC/tests/pg_server.sh" start "$pg") || { rc=$?; [[ $rc -eq 77 ]] && skip_all "PostgreSQL is not installed"; echo "$conninfo"; exit 1; }
on_exit "$SRC/tests/pg_server.sh" stop "$pg"
sql() { psql "$conninfo" -qAtX -c "$1"; }

id=$$
L=pxm-l-$id A=pxm-a-$id B=pxm-b-$id C=pxm-c-$id
netns_up $L $A $B $C
netns_bridge $L
netns_plug $L $A
netns_plug $L $B
netns_plug $L $C
ip -n $A addr add 10.99.0.1/22 dev eth0
ip -n $B addr add 10.99.0.2/22 dev eth0

site() {  # NAME ADDRESS
  mkdir -p "$TMP/$1"
  cat > "$TMP/$1/site.yaml" <<YAML
server:
  address: $2
  state_dir: $TMP/$1/state
  log: {level: info}
  store: {backend: postgresql, conninfo: "$conninfo", instance: $1}
  tftp: {root: $TMP/root}
  http: {port: 8080}
  ftp: {enabled: false}
subnets:
  - network: 10.99.0.0/22
    ranges: [10.99.0.10-10.99.3.200]
    lease_time: 1h
profiles:
  c7: {kernel: k/vmlinuz, initrd: k/initrd.img, kickstart: centos7.ks, append: "inst.ks={{kickstart_url}}"}
hosts:
  - {mac: 52:54:00:99:00:01, hostname: n1, profile: c7}
# The client namespace is no host's address: this test is about the state.
access: {host_documents: open}
YAML
}
mkdir -p "$TMP/root/k"
printf 'kernel' > "$TMP/root/k/vmlinuz"
printf 'initrd' > "$TMP/root/k/initrd.img"
site a 10.99.0.1
site b 10.99.0.2
start_one() {  # NAME NS
  : > "$TMP/$1/pxed.log"
  ip netns exec "$2" "$PXED" --config "$TMP/$1/site.yaml" >> "$TMP/$1/pxed.log" 2>&1 &
  eval "PID_$1=$!"
  on_exit "kill -9 $! 2>/dev/null"
  wait_for_log "serving " 20 "$TMP/$1/pxed.log" || { echo "pxed $1 did not start:"; cat "$TMP/$1/pxed.log"; exit 1; }
}
start_one a $A
start_one b $B
check "a says where its leases are" grep -q "leases in PostgreSQL .*this one is a" "$TMP/a/pxed.log"
check "... and its hosts" grep -q "lifecycle: hosts in PostgreSQL" "$TMP/a/pxed.log"

# --- 300 clients at once through both
ip netns exec $C $MANY eth0 --count 300 --seconds 90 > "$TMP/many.json"
python3 - "$TMP/many.json" > "$TMP/many.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ips = [ip for _, ip, _ in r["acks"]]
by = {}
for _, _, sid in r["acks"]:
    by[sid] = by.get(sid, 0) + 1
print("acked %d distinct %d unanswered %d naks %d by_server %s offers_from %s" % (
    len(ips), len(set(ips)), len(r["unanswered"]), r["naks"], json.dumps(by, sort_keys=True),
    json.dumps(r["offers_from"], sort_keys=True)))
PY
summary=$(cat "$TMP/many.txt")
echo "# $summary"
check "every one of 300 clients got an address ($summary)" grep -q "^acked 300 " "$TMP/many.txt"
check "no address went to two clients" grep -q "^acked 300 distinct 300 " "$TMP/many.txt"
check "both instances granted leases" grep -q '"10.99.0.1": [1-9].*"10.99.0.2": [1-9]' "$TMP/many.txt"

# Every ACK is in the database, bound to the client it was given to.
sql "SELECT encode(client_key, 'hex') || ' ' || ((ip >> 24) & 255) || '.' || ((ip >> 16) & 255) || '.' ||
            ((ip >> 8) & 255) || '.' || (ip & 255) FROM pxed_leases WHERE state = 'bound'" | sort > "$TMP/db.txt"
python3 - "$TMP/many.json" "$TMP/db.txt" > "$TMP/missing.txt" <<'PY'
import json, sys
db = set(open(sys.argv[2]).read().split("\n"))
for mac, ip, _ in json.load(open(sys.argv[1]))["acks"]:
    if "%s %s" % (mac.replace(":", ""), ip) not in db:
        print(mac, ip)
PY
check "every ACKed lease is in the database ($(wc -l < "$TMP/missing.txt") missing)" test ! -s "$TMP/missing.txt"
check "the rows say which instance wrote them" test "$(sql "SELECT count(DISTINCT written_by) FROM pxed_leases")" = 2

# --- the host lifecycle through both: reinstall on a, boot from b, the
# callback to a, the next boot from b gets its disk.
P() { "$PXED" "$@" --config "$TMP/$1/site.yaml"; }
Pa() { "$PXED" "$@" --config "$TMP/a/site.yaml"; }
state_on() {  # INSTANCE HOST -> state as that instance's `pxed hosts` prints it
  "$PXED" hosts --config "$TMP/$1/site.yaml" | awk -v h="$2" '$2 == h { print $3 " " $4 }'
}
ip -n $C addr add 10.99.3.250/22 dev eth0
cfg=pxelinux.cfg/01-52-54-00-99-00-01
fetch() { ip netns exec $C curl -s --max-time 5 "http://$1:8080/$2"; }
check "both instances see n1 pending, generation 1 ($(state_on a n1) / $(state_on b n1))" \
  test "$(state_on a n1)" = "pending 1" -a "$(state_on b n1)" = "pending 1"
Pa reinstall n1 > "$TMP/reinstall.out" 2>&1 || true
check "reinstall on a: generation 2" grep -q "generation 2" "$TMP/reinstall.out"
seen_on_b() { [[ $(state_on b n1) == "pending 2" ]]; }
for _ in $(seq 50); do seen_on_b && break; sleep 0.1; done
check "b sees the reinstall within 5 s ($(state_on b n1))" seen_on_b
fetch 10.99.0.2 "$cfg" > "$TMP/n1-b.cfg"
check "b serves n1 its install config" grep -q "^default c7" "$TMP/n1-b.cfg"
fetch 10.99.0.2 ks/n1.ks > "$TMP/n1.ks"
url=$(sed -n "s/^url='\(.*\)'$/\1/p" "$TMP/n1.ks")
token=${url##*token=}
check "b's kickstart names the install-done URL with a token" test -n "$token"
installing_on_a() { [[ $(state_on a n1) == "installing 2" ]]; }
for _ in $(seq 50); do installing_on_a && break; sleep 0.1; done
check "a sees n1 installing ($(state_on a n1))" installing_on_a
body=$(ip netns exec $C curl -s --max-time 5 -X POST -d '' "http://10.99.0.1:8080/api/v1/hosts/52-54-00-99-00-01/install-done?token=$token")
check "the callback to a, with the token b handed out, answers installed" grep -q '"state": "installed"' <<<"$body"
installed_on_b() { [[ $(state_on b n1) == "installed 2" ]]; }
for _ in $(seq 50); do installed_on_b && break; sleep 0.1; done
check "b sees n1 installed ($(state_on b n1))" installed_on_b
fetch 10.99.0.2 "$cfg" > "$TMP/n1-local.cfg"
check "the next boot from b gets the local disk" grep -q "^default local" "$TMP/n1-local.cfg"
check "a replayed callback to b is refused (409)" \
  test "$(ip netns exec $C curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "http://10.99.0.2:8080/api/v1/hosts/52-54-00-99-00-01/install-done?token=$token")" = 409

# The boot trace is shared too: a tells n1's whole install, b's steps
# named as b's.
trace_a() { Pa trace n1 > "$TMP/trace-a.txt" 2>&1; grep -q "kickstart.* via b$" "$TMP/trace-a.txt" &&
  grep -q "callback.* via a$" "$TMP/trace-a.txt"; }
# Each instance writes its events a second or so behind, and the other
# reads them as they commit: waited for, as an admin would (sanitizer
# builds are slower).
for _ in $(seq 150); do trace_a && break; sleep 0.1; done
check "a's trace of n1 has b's kickstart and a's callback" trace_a
trace_b() { "$PXED" trace n1 --config "$TMP/b/site.yaml" > "$TMP/trace-b.txt" 2>&1; grep -q "callback.* via a$" "$TMP/trace-b.txt"; }
for _ in $(seq 150); do trace_b && break; sleep 0.1; done
check "... and b's has a's callback" trace_b
sed 's/^/# trace on a: /' "$TMP/trace-a.txt" | tail -n 8

# --- kill -9 instance a; its clients reboot and ask b for their address
python3 - "$TMP/many.json" > "$TMP/of_a.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"acks": [x for x in r["acks"] if x[2] == "10.99.0.1"][:40]}))
PY
kill -9 "$PID_a"
ip netns exec $C $MANY eth0 --reboot "$TMP/of_a.json" --seconds 5 > "$TMP/reboot.json"
r=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["asked"], len(r["same"]), len(r["other"]), r["naks"], len({s for _,_,s in r["same"]}))' "$TMP/reboot.json")
echo "# after kill -9 of a: asked, same address, other address, NAKs, servers: $r"
read -r asked same other naks servers <<<"$r"
check "a's clients rebooting get their own addresses from b ($same of $asked)" test "$asked" -gt 0 -a "$same" = "$asked"
check "no NAK, no other address" test "$other" = 0 -a "$naks" = 0

# An instance that cannot reach the database at start does not start: it
# would not know which hosts are installed.
sed "s|conninfo: \"host=[^ ]*|conninfo: \"host=$TMP/no-such-db|" "$TMP/a/site.yaml" > "$TMP/a/nodb.yaml"
rc=0
ip netns exec $A timeout 20 "$PXED" --config "$TMP/a/nodb.yaml" > "$TMP/a/nodb.log" 2>&1 || rc=$?
check "without its database a does not start (exit $rc), and says why" \
  test "$rc" = 1 -a -n "$(grep 'does not start without its shared store' "$TMP/a/nodb.log")"

# --- the database stops: b renews the leases it knows, grants no new one,
# and says why
python3 - "$TMP/many.json" > "$TMP/of_b.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"acks": [x for x in r["acks"] if x[2] == "10.99.0.2"][:20]}))
PY
"$SRC/tests/pg_server.sh" halt "$pg"
check "b notices the database is gone" wait_for_log "shared lease database is unreachable" 10 "$TMP/b/pxed.log"
ip netns exec $C $MANY eth0 --reboot "$TMP/of_b.json" --seconds 3 --seed 9 > "$TMP/renew-down.json"
r=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["asked"], len(r["same"]))' "$TMP/renew-down.json")
read -r asked same <<<"$r"
check "with the database down, b still renews the leases it holds ($same of $asked)" test "$asked" -gt 0 -a "$same" = "$asked"
ip netns exec $C $MANY eth0 --count 3 --seconds 4 --seed 7 --first 1000 > "$TMP/down.json" 2>/dev/null || true
down=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["acks"]))' "$TMP/down.json" 2>/dev/null || echo "?")
check "... and grants no new lease ($down)" test "$down" = 0
check "b says why it does not answer new clients" grep -q "DHCPDISCOVER from .* not answered: the lease database is unreachable" "$TMP/b/pxed.log"
"$SRC/tests/pg_server.sh" start "$pg" >/dev/null
ip netns exec $C $MANY eth0 --count 3 --seconds 20 --seed 8 --first 2000 > "$TMP/up.json"
up=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["acks"]))' "$TMP/up.json")
check "once it is back, new clients get leases from b ($up of 3)" test "$up" = 3
check "b's watcher says the database is back" wait_for_log "shared lease database is reachable again" 10 "$TMP/b/pxed.log"
check "b's trace waited for the database and is written again" wait_for_log "trace: writing to PostgreSQL" 10 "$TMP/b/pxed.log"
check "still no address bound twice" test "$(sql "SELECT count(*) FROM pxed_leases WHERE state = 'bound' GROUP BY client_key HAVING count(*) > 1" | wc -l)" = 0

kill -TERM "$PID_b" 2>/dev/null || true
wait "$PID_b" 2>/dev/null || true
grep -E "warn|error|critical" "$TMP/b/pxed.log" | head -n 20 | sed 's/^/# b: /'
finish
