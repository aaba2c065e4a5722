#!/usr/bin/env python3
"""Relay agents for dhcp_slow_relay_test.sh, each printing one JSON object.

  dhcp_slow_relay.py slow --server S --giaddr G --clients N --stall SECONDS
      A relay agent for N clients at once whose reader is late: it forwards
      a DISCOVER for every client without an offer, does not read for
      SECONDS, then reads everything queued and forwards a REQUEST for each
      OFFER, and so on until every client is ACKed (or 60 s). Its socket
      buffer is the default one, set explicitly (212,992 bytes, whatever
      net.core.rmem_default says). Reports the replies lost at its own
      socket (the namespace's UDP RcvbufErrors), which must stay 0.
  dhcp_slow_relay.py fast --server S --giaddr G --clients N
      A relay agent that reads at once, one DORA at a time, each allowed
      1 s per reply: how long the slowest took.

Both bind G:67 (the relay port pxed answers to) and send from it, so G is
the relay agent's address as pxed sees it. Run only inside a namespace a
test made (dhcp_probe.in_test_namespace).
"""
import argparse
import json
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dhcp_probe  # noqa: E402

DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6
DEFAULT_RCVBUF = 212992


def rcvbuf_errors():
    # /proc/self/net is this process's namespace: only the relay's socket.
    with open("/proc/self/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def relay_socket(giaddr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # The kernel doubles what it is given (socket(7)).
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, DEFAULT_RCVBUF // 2)
    s.bind((giaddr, 67))
    return s


def packet(op_type, mac, xid, giaddr, extra=()):
    pkt = bytearray(dhcp_probe.build(op_type, mac, xid, broadcast=False, extra=extra))
    pkt[3] = 1  # hops
    pkt[24:28] = socket.inet_aton(giaddr)
    return bytes(pkt)


def mac_of(prefix, n):
    return bytes([0x52, 0x54, prefix, 0, n >> 8 & 0xff, n & 0xff])


def request_for(offer, mac, giaddr):
    return packet(REQUEST, mac, offer["xid"], giaddr,
                  extra=[(50, socket.inet_aton(offer["yiaddr"])), (54, socket.inet_aton(offer["server_id"]))])


def drain(s):
    out = []
    while True:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return out
        data, _ = s.recvfrom(65535)
        msg = dhcp_probe.parse(data)
        if msg and msg["op"] == 2:
            out.append(msg)


def slow(a):
    s = relay_socket(a.giaddr)
    assert s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == DEFAULT_RCVBUF
    errors0 = rcvbuf_errors()
    macs = {n: mac_of(0x0a, n) for n in range(a.clients)}
    xid_of = {n: 0x51000000 + n for n in macs}
    client_of = {x: n for n, x in xid_of.items()}
    acked, offered = set(), set()
    replies = rounds = discovers = 0
    deadline = time.monotonic() + 60
    while len(acked) < a.clients and time.monotonic() < deadline:
        rounds += 1
        for n in macs:
            if n not in acked and n not in offered:
                s.sendto(packet(DISCOVER, macs[n], xid_of[n], a.giaddr), (a.server, 67))
                discovers += 1
        time.sleep(a.stall)  # late: the replies pile up in the buffer
        for m in drain(s):
            replies += 1
            n = client_of.get(m["xid"])
            if n is None:
                continue
            if m.get("type") == OFFER and n not in acked:
                offered.add(n)
                s.sendto(request_for(m, macs[n], a.giaddr), (a.server, 67))
            elif m.get("type") == ACK:
                acked.add(n)
            elif m.get("type") == NAK:
                offered.discard(n)
        # An offer whose ACK never came: ask again from the start.
        if rounds % 10 == 0:
            offered.clear()
    print(json.dumps({"clients": a.clients, "acked": len(acked), "replies": replies, "rounds": rounds,
                      "discovers": discovers, "lost_at_socket": rcvbuf_errors() - errors0}))


def first_reply(s, xid, want, wait):
    """The first reply of type `want` to `xid` within `wait` seconds, or None."""
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return None
        msg = dhcp_probe.parse(s.recvfrom(65535)[0])
        if msg and msg["op"] == 2 and msg["xid"] == xid and msg.get("type") == want:
            return msg


def fast(a):
    s = relay_socket(a.giaddr)
    slowest = 0.0
    acked = 0
    for n in range(a.clients):
        mac = mac_of(0x0b, n)
        xid = 0x52000000 + n
        t = time.monotonic()
        s.sendto(packet(DISCOVER, mac, xid, a.giaddr), (a.server, 67))
        offer = first_reply(s, xid, OFFER, 1.0)
        if not offer:
            continue
        s.sendto(request_for(offer, mac, a.giaddr), (a.server, 67))
        if first_reply(s, xid, ACK, 1.0):
            acked += 1
            slowest = max(slowest, time.monotonic() - t)
        time.sleep(0.05)
    print(json.dumps({"clients": a.clients, "acked": acked, "slowest_ms": round(slowest * 1000)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["slow", "fast"])
    ap.add_argument("--server", required=True)
    ap.add_argument("--giaddr", required=True)
    ap.add_argument("--clients", type=int, default=600)
    ap.add_argument("--stall", type=float, default=0.2)
    a = ap.parse_args()
    if not dhcp_probe.in_test_namespace():
        sys.exit("dhcp_slow_relay.py runs only inside a namespace a test made")
    (slow if a.what == "slow" else fast)(a)


if __name__ == "__main__":
    main()
