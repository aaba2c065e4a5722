#!/usr/bin/env python3
"""Plays systemd's side of sd_notify(3) for the tests: binds a datagram socket
(a path, or @name for the abstract namespace), and appends each message it
receives to OUT as one line, newlines shown as '|'.

When a message holds READY=1, it probes at once, before anything else can
happen, every port that pxed's log (LOG) says is listening: TFTP with a real
read request for PROBE_FILE, TCP services with a connect. The result goes to
OUT as 'PROBE ok <what>' or 'PROBE fail <what>'. A READY=1 that comes before a
service is listening shows up as a failed probe or as 'PROBE none'.

Usage: notify_listener.py SOCKET OUT LOG PROBE_FILE
Writes 'LISTENING' to OUT once bound; runs until killed."""
import os
import re
import socket
import struct
import sys

sock_name, out_path, log_path, probe_file = sys.argv[1:5]


def emit(line):
    with open(out_path, "a") as f:
        f.write(line + "\n")


def probe_tftp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(b"\x00\x01" + probe_file.encode() + b"\x00octet\x00", (host, port))
        data, peer = s.recvfrom(4096)
        opcode, block = struct.unpack("!HH", data[:4])
        if opcode != 3 or block != 1:
            return False
        # Finish the transfer politely: ACK the (single, short) block.
        s.sendto(struct.pack("!HH", 4, 1), peer)
        return True
    except OSError:
        return False
    finally:
        s.close()


def probe_tcp(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def probe_all():
    try:
        log = open(log_path, errors="replace").read()
    except OSError:
        log = ""
    found = re.findall(r"\b(tftp|http|ftp|dhcp): listening on ([0-9.]+):([0-9]+)", log)
    if not found:
        emit("PROBE none")
    for service, host, port in found:
        if service == "dhcp":
            continue  # a DHCP probe would need a client in a namespace; not here
        host = "127.0.0.1" if host == "0.0.0.0" else host
        ok = probe_tftp(host, int(port)) if service == "tftp" else probe_tcp(host, int(port))
        emit("PROBE %s %s %s:%s" % ("ok" if ok else "fail", service, host, port))


s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if sock_name.startswith("@"):
    s.bind("\0" + sock_name[1:])
else:
    s.bind(sock_name)
emit("LISTENING")
while True:
    msg = s.recv(4096).decode(errors="replace")
    emit("MSG " + msg.replace("\n", "|"))
    if "READY=1" in msg.split("\n"):
        probe_all()
