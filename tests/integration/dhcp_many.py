#!/usr/bin/env python3
"""Many DHCP clients at once on one segment, each doing what a real client
does: DISCOVER, take the first OFFER (from whichever server), REQUEST it
naming that server, and start over on a NAK or silence. With two pxed
instances sharing one database, both OFFER; the REQUEST picks one.

  dhcp_many.py IFACE --count N [--seconds S] [--seed K]

Prints one JSON object: {"acks": [[mac, ip, server_id], ...], "naks": n,
"offers_from": {server: n}, "unanswered": [mac, ...]}.
"""
import argparse
import json
import random
import select
import socket
import sys
import time
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dhcp_probe  # noqa: E402

DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first", type=int, default=0, help="number of the first client (its MAC)")
    ap.add_argument("--reboot", help="JSON of a previous run: each of its clients asks for its address again "
                    "(INIT-REBOOT, no server identifier), as after a reboot")
    a = ap.parse_args()
    if a.reboot:
        return reboot(a)
    rnd = random.Random(a.seed)
    s = dhcp_probe.client_socket(a.iface)
    macs = [bytes([0x52, 0x54, 0x03, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]) for n in range(a.first, a.first + a.count)]
    # Per client: state, xid, when to retry.
    st = {}
    by_xid = {}
    now = time.monotonic()
    for m in macs:
        st[m] = {"state": "init", "retry": now, "tries": 0}
    acks, naks, offers_from = {}, 0, {}
    deadline = now + a.seconds

    def send(m, kind, extra=()):
        xid = rnd.getrandbits(32)
        c = st[m]
        if c.get("xid") is not None:
            by_xid.pop(c["xid"], None)
        c["xid"] = xid
        by_xid[xid] = m
        s.sendto(dhcp_probe.build(kind, m, xid, extra=list(extra)), ("255.255.255.255", 67))

    while time.monotonic() < deadline and len(acks) < a.count:
        now = time.monotonic()
        for m, c in st.items():
            if c["state"] == "selecting" and c.get("offers") and c["pick_at"] <= now:
                # The offers heard within 50 ms: one at random, so that
                # both servers get REQUESTs whichever answers faster.
                o = rnd.choice(c["offers"])
                c["offers"] = []
                c["state"] = "requesting"
                c["retry"] = now + 3
                send(m, REQUEST, [(50, socket.inet_aton(o["yiaddr"])), (54, socket.inet_aton(o["server_id"]))])
                continue
            if c["state"] == "bound" or c["retry"] > now:
                continue
            # A DISCOVER (again); clients back off 2-4 s as dhclient does.
            c["state"] = "selecting"
            c["offers"] = []
            c["tries"] += 1
            c["retry"] = now + 2 + rnd.random() * 2
            send(m, DISCOVER)
        r, _, _ = select.select([s], [], [], 0.05)
        while r:
            data, peer = s.recvfrom(65535)
            msg = dhcp_probe.parse(data)
            if msg and msg["op"] == 2 and msg["xid"] in by_xid:
                m = by_xid[msg["xid"]]
                c = st[m]
                t = msg.get("type")
                if t == OFFER and c["state"] == "selecting" and "server_id" in msg:
                    sid = msg["server_id"]
                    offers_from[sid] = offers_from.get(sid, 0) + 1
                    if not c.get("offers"):
                        c["offers"] = []
                        c["pick_at"] = time.monotonic() + 0.05
                    c["offers"].append(msg)
                elif t == ACK and c["state"] == "requesting":
                    c["state"] = "bound"
                    acks[m] = (msg["yiaddr"], msg.get("server_id", "?"))
                elif t == NAK and c["state"] == "requesting":
                    naks += 1
                    c["state"] = "init"
                    c["retry"] = time.monotonic()
            r, _, _ = select.select([s], [], [], 0)
    print(json.dumps({
        "acks": [[m.hex(":"), ip, sid] for m, (ip, sid) in sorted(acks.items())],
        "naks": naks,
        "offers_from": offers_from,
        "unanswered": [m.hex(":") for m in macs if m not in acks],
    }))


def reboot(a):
    s = dhcp_probe.client_socket(a.iface)
    rnd = random.Random(a.seed)
    wanted = json.load(open(a.reboot))["acks"]
    xids = {}
    for mac, ip, _ in wanted:
        xid = rnd.getrandbits(32)
        xids[xid] = (mac, ip)
        s.sendto(dhcp_probe.build(REQUEST, bytes.fromhex(mac.replace(":", "")), xid,
                                  extra=[(50, socket.inet_aton(ip))]), ("255.255.255.255", 67))
    got = dhcp_probe.collect(s, set(xids), a.seconds)
    same, other, nak = [], [], 0
    for m in got:
        mac, ip = xids[m["xid"]]
        if m.get("type") == ACK:
            (same if m["yiaddr"] == ip else other).append([mac, m["yiaddr"], m.get("server_id", "?")])
        elif m.get("type") == NAK:
            nak += 1
    print(json.dumps({"asked": len(wanted), "same": same, "other": other, "naks": nak}))


if __name__ == "__main__":
    main()
