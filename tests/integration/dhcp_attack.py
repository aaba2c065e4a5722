#!/usr/bin/env python3
"""The DHCP attacks of docs/security.md ("Limits and hostile clients"), run
from a test namespace against pxed, each printing one JSON object with what
came back, for hostile_dhcp_test.sh to judge.

  dhcp_attack.py IFACE relay   --server S --giaddr G     # giaddr from a non-relay
  dhcp_attack.py IFACE grab    --server S --first A --count N   # REQUESTs, no DISCOVER
  dhcp_attack.py IFACE flood   --count N                 # DISCOVERs, new MACs
  dhcp_attack.py IFACE renew   --server S --count N      # lease, then N renewals
  dhcp_attack.py IFACE release --server S --mac M --ip A # RELEASE in M's name
  dhcp_attack.py IFACE decline --mac M                   # take M's address, DECLINE it
"""
import argparse
import ipaddress
import json
import os
import random
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dhcp_probe  # noqa: E402  (build, parse, collect, client_socket, in_test_namespace)

DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE = 1, 2, 3, 4, 5, 6, 7


def opt_ip(code, addr):
    return (code, socket.inet_aton(addr))


def random_mac():
    return bytes([0x52, 0x54, 0x02] + [random.getrandbits(8) for _ in range(3)])


def replies_of(s, xids, wait):
    return dhcp_probe.collect(s, set(xids), wait)


def dora(s, mac, wait=3.0):
    """DISCOVER and REQUEST as a client does; returns (address, server id) or (None, None)."""
    xid = random.getrandbits(32)
    s.sendto(dhcp_probe.build(DISCOVER, mac, xid), ("255.255.255.255", 67))
    offers = [m for m in replies_of(s, [xid], wait) if m.get("type") == OFFER]
    if not offers:
        return None, None
    o = offers[0]
    xid = random.getrandbits(32)
    s.sendto(dhcp_probe.build(REQUEST, mac, xid, extra=[opt_ip(50, o["yiaddr"]), opt_ip(54, o["server_id"])]),
             ("255.255.255.255", 67))
    acks = [m for m in replies_of(s, [xid], wait) if m.get("type") == ACK]
    return (acks[0]["yiaddr"], acks[0]["server_id"]) if acks else (None, None)


def relay(a):
    # A client pretending to be a relay agent for the relay_only subnet,
    # with giaddr naming an address of its own: pxed would send its reply
    # there (port 67). Broadcast from the client port, then unicast from 67.
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listen.bind((a.giaddr, 67))
    s = dhcp_probe.client_socket(a.iface)
    xids = []
    for n in range(5):
        xid = random.getrandbits(32)
        xids.append(xid)
        pkt = bytearray(dhcp_probe.build(DISCOVER, random_mac(), xid))
        pkt[24:28] = socket.inet_aton(a.giaddr)
        # RFC 3527 link selection naming the relay_only subnet too.
        pkt = bytes(pkt)
        s.sendto(pkt, ("255.255.255.255", 67))
        listen.sendto(pkt, (a.server, 67))
    got = replies_of(listen, xids, a.wait) + replies_of(s, xids, 0.2)
    print(json.dumps({"sent": 10, "replies": len(got)}))


def grab(a):
    # One REQUEST per address, each from a made-up MAC, no DISCOVER before:
    # INIT-REBOOT (option 50 only), SELECTING (with pxed's server id) and
    # RENEWING (ciaddr), as a pool-emptying attack sends them.
    s = dhcp_probe.client_socket(a.iface)
    first = ipaddress.IPv4Address(a.first)
    xids = []
    for n in range(a.count):
        want = str(first + n)
        for style in ("init-reboot", "selecting", "renewing"):
            xid = random.getrandbits(32)
            xids.append(xid)
            if style == "init-reboot":
                pkt = dhcp_probe.build(REQUEST, random_mac(), xid, extra=[opt_ip(50, want)])
            elif style == "selecting":
                pkt = dhcp_probe.build(REQUEST, random_mac(), xid, extra=[opt_ip(50, want), opt_ip(54, a.server)])
            else:
                pkt = dhcp_probe.build(REQUEST, random_mac(), xid, ciaddr=want)
            s.sendto(pkt, ("255.255.255.255", 67))
    got = replies_of(s, xids, a.wait)
    print(json.dumps({"sent": len(xids), "acks": sum(1 for m in got if m.get("type") == ACK),
                      "naks": sum(1 for m in got if m.get("type") == NAK)}))


def flood(a):
    # DISCOVERs from new MACs as fast as the socket takes them.
    s = dhcp_probe.client_socket(a.iface)
    xids = set()
    t0 = time.monotonic()
    for n in range(a.count):
        xid = random.getrandbits(32)
        xids.add(xid)
        s.sendto(dhcp_probe.build(DISCOVER, random_mac(), xid), ("255.255.255.255", 67))
    took = time.monotonic() - t0
    got = replies_of(s, xids, a.wait)
    offered = {m["yiaddr"] for m in got if m.get("type") == OFFER}
    print(json.dumps({"sent": a.count, "seconds": round(took, 2), "offers": len(got), "addresses": len(offered)}))


def renew(a):
    # A client with a real lease asks again and again (RENEWING, unicast).
    s = dhcp_probe.client_socket(a.iface)
    mac = random_mac()
    ip, sid = dora(s, mac)
    if not ip:
        print(json.dumps({"lease": None}))
        return
    subprocess.run(["ip", "addr", "add", ip + "/32", "dev", a.iface], check=True)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
    u.bind((ip, 68))
    acks = 0
    xids = []
    for n in range(a.count):
        xid = random.getrandbits(32)
        xids.append(xid)
        # Other lease times now and then, as a client trying to defeat a cache would.
        extra = [(51, (60 + n % 7).to_bytes(4, "big"))] if n % 2 else []
        u.sendto(dhcp_probe.build(REQUEST, mac, xid, ciaddr=ip, broadcast=False, extra=extra), (sid, 67))
        if n % 200 == 199:  # keep within the socket buffers
            acks += sum(1 for m in replies_of(u, xids, 0.3) if m.get("type") == ACK)
            xids = []
    acks += sum(1 for m in replies_of(u, xids, a.wait) if m.get("type") == ACK)
    print(json.dumps({"lease": ip, "mac": mac.hex(":"), "sent": a.count, "acks": acks}))


def release(a):
    # RELEASE in a victim's name: its MAC and address, both public, sent
    # from the attacker's own address.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind(("0.0.0.0", 68))
    mac = dhcp_probe.mac_bytes(a.mac)
    for n in range(3):
        u.sendto(dhcp_probe.build(RELEASE, mac, random.getrandbits(32), ciaddr=a.ip, broadcast=False,
                                  extra=[opt_ip(54, a.server)]), (a.server, 67))
    print(json.dumps({"sent": 3}))


def decline(a):
    # Spoof an inventory host's MAC, take its reserved address, DECLINE it.
    s = dhcp_probe.client_socket(a.iface)
    mac = dhcp_probe.mac_bytes(a.mac)
    ip, sid = dora(s, mac)
    if ip:
        s.sendto(dhcp_probe.build(DECLINE, mac, random.getrandbits(32), extra=[opt_ip(50, ip), opt_ip(54, sid)]),
                 ("255.255.255.255", 67))
        time.sleep(0.3)
    print(json.dumps({"took": ip}))


def main():
    if not dhcp_probe.in_test_namespace():
        print("dhcp_attack: refusing to run in the machine's own network namespace", file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("what", choices=["relay", "grab", "flood", "renew", "release", "decline"])
    ap.add_argument("--server")
    ap.add_argument("--giaddr")
    ap.add_argument("--first")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--mac")
    ap.add_argument("--ip")
    ap.add_argument("--wait", type=float, default=2.0)
    a = ap.parse_args()
    globals()[a.what](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
