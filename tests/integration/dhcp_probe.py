#!/usr/bin/env python3
"""A scripted DHCP client for what dhclient and udhcpc cannot do on demand:
a PXE ROM's DISCOVER (vendor class PXEClient, option 93), hundreds of clients
at once, and the proxyDHCP boot server request on port 4011.

Runs inside a test namespace, bound to one interface. Prints one JSON object
per reply received, so the shell test can check fields with python3 -c.

  dhcp_probe.py IFACE discover --mac M [--pxe ARCH] [--ipxe] [--wait S]
  dhcp_probe.py IFACE burst --count N [--wait S]       # N DISCOVERs, distinct MACs
  dhcp_probe.py IFACE request4011 --mac M --ciaddr A --server S [--pxe ARCH]
"""
import argparse
import json
import random
import select
import socket
import struct
import sys
import time

MAGIC = b"\x63\x82\x53\x63"


def build(op_type, mac, xid, ciaddr="0.0.0.0", pxe_arch=None, ipxe=False, broadcast=True, extra=()):
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000 if broadcast else 0,
                      socket.inet_aton(ciaddr), b"\0" * 4, b"\0" * 4, b"\0" * 4,
                      mac + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    opts = bytes([53, 1, op_type])
    if pxe_arch is not None:
        vc = ("PXEClient:Arch:%05d:UNDI:002001" % pxe_arch).encode()
        opts += bytes([60, len(vc)]) + vc
        opts += bytes([93, 2]) + struct.pack("!H", pxe_arch)
        opts += bytes([94, 3, 1, 2, 1])
        opts += bytes([97, 17, 0]) + bytes(range(16))
    if ipxe:
        opts += bytes([77, 4]) + b"iPXE"
    for code, value in extra:
        opts += bytes([code, len(value)]) + value
    opts += bytes([55, 6, 1, 3, 6, 15, 66, 67])
    opts += b"\xff"
    pkt = hdr + MAGIC + opts
    return pkt + b"\0" * max(0, 300 - len(pkt))


def parse(data):
    if len(data) < 240 or data[236:240] != MAGIC:
        return None
    (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname,
     file_) = struct.unpack("!BBBBIHH4s4s4s4s16s64s128s", data[:236])
    out = {"op": op, "xid": xid, "yiaddr": socket.inet_ntoa(yiaddr), "siaddr": socket.inet_ntoa(siaddr),
           "ciaddr": socket.inet_ntoa(ciaddr), "mac": chaddr[:6].hex(":"),
           "file": file_.split(b"\0")[0].decode("latin-1"), "options": {}}
    i = 240
    seen = []
    while i < len(data):
        code = data[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            break
        ln = data[i + 1]
        val = data[i + 2:i + 2 + ln]
        seen.append(code)
        i += 2 + ln
        if code == 53:
            out["type"] = val[0]
        elif code == 54:
            out["server_id"] = socket.inet_ntoa(val)
        elif code in (60, 67, 66, 12, 15):
            out["options"][str(code)] = val.decode("latin-1")
        else:
            out["options"][str(code)] = val.hex()
    out["duplicate_options"] = sorted({c for c in seen if seen.count(c) > 1})
    return out


def client_socket(iface, port=68):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    # Room for hundreds of replies at once (SO_RCVBUFFORCE: we are root).
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
    s.bind(("0.0.0.0", port))
    return s


def collect(s, xids, wait):
    deadline = time.monotonic() + wait
    replies = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        data, peer = s.recvfrom(65535)
        msg = parse(data)
        if msg and msg["op"] == 2 and msg["xid"] in xids:
            msg["from"] = peer[0]
            msg["from_port"] = peer[1]
            replies.append(msg)
    return replies


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def in_test_namespace():
    # True when this process runs in a namespace a test made with
    # `ip netns add pxd-...`: its /run/netns file is our namespace.
    import os
    me = os.stat("/proc/self/ns/net")
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return False
    for name in names:
        if not name.startswith("pxd-"):
            continue
        try:
            st = os.stat("/run/netns/" + name)
        except OSError:
            continue  # another test removed it meanwhile
        if (st.st_dev, st.st_ino) == (me.st_dev, me.st_ino):
            return True
    return False


def main():
    # Broadcast DHCP only ever goes out inside a namespace a test made.
    if not in_test_namespace():
        print("dhcp_probe: refusing to run in the machine's own network namespace", file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("what", choices=["discover", "burst", "request4011"])
    ap.add_argument("--mac", default="52:54:00:aa:00:01")
    ap.add_argument("--pxe", type=int)
    ap.add_argument("--ipxe", action="store_true")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--wait", type=float, default=2.0)
    ap.add_argument("--ciaddr", default="0.0.0.0")
    ap.add_argument("--server")
    a = ap.parse_args()

    if a.what == "request4011":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.ciaddr, 4011))
        xid = random.getrandbits(32)
        s.sendto(build(3, mac_bytes(a.mac), xid, ciaddr=a.ciaddr, pxe_arch=a.pxe, broadcast=False), (a.server, 4011))
        for m in collect(s, {xid}, a.wait):
            print(json.dumps(m))
        return

    s = client_socket(a.iface)
    if a.what == "discover":
        xid = random.getrandbits(32)
        s.sendto(build(1, mac_bytes(a.mac), xid, pxe_arch=a.pxe, ipxe=a.ipxe), ("255.255.255.255", 67))
        for m in collect(s, {xid}, a.wait):
            print(json.dumps(m))
        return

    # burst: every DISCOVER sent before any reply is read, as a rack
    # powering on at once does.
    xids = set()
    base = random.getrandbits(24)
    for n in range(a.count):
        xid = (base << 8 ^ n) & 0xffffffff
        xids.add(xid)
        mac = bytes([0x52, 0x54, 0x01, (n >> 16) & 255, (n >> 8) & 255, n & 255])
        s.sendto(build(1, mac, xid), ("255.255.255.255", 67))
    for m in collect(s, xids, a.wait):
        print(json.dumps(m))


if __name__ == "__main__":
    sys.exit(main())
