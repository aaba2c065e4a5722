#!/usr/bin/env python3
"""A host's kickstart under a flood of guessed tokens (docs/security.md).

Starts pxed on loopback (HTTP only, demo01 reserved at 127.0.0.1), then:
  1. idle: the host fetches its own kickstart by address, N times;
  2. flood: W workers on 127.0.0.2 send keep-alive GETs of the same kickstart
     with random tokens as fast as they can, while the host fetches again;
  3. spread: S requests, each from a different source address (127.1.x.y),
     as forged-source floods would look to the lockout table.
Prints the host's latency (median, p99) idle and under the flood, the flood's
refused requests per second, what the refusals were answered, and pxed's
RSS after each phase. Figures, not a pass/fail test.

Usage: bench/access_flood.py PXED [--seconds 10] [--workers 4] [--spread 20000]
"""
import argparse
import multiprocessing as mp
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PORT = 18080


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(sock, path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        body += sock.recv(65536)
    return status


def connect(source):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", PORT))
    return s


def host_latencies(n):
    out = []
    s = connect("127.0.0.1")
    for _ in range(n):
        t = time.perf_counter()
        status = request(s, "/ks/demo01.ks")
        out.append((time.perf_counter() - t) * 1000)
        assert status == 200, status
    s.close()
    return out


def flood(seconds, q):
    end = time.time() + seconds
    counts = {}
    s = connect("127.0.0.2")
    while time.time() < end:
        try:
            st = request(s, "/ks/demo01.ks?token=" + secrets.token_hex(16))
        except (ConnectionError, OSError):
            s.close()
            s = connect("127.0.0.2")
            continue
        counts[st] = counts.get(st, 0) + 1
    q.put(counts)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pxed")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--spread", type=int, default=20000)
    ap.add_argument("--fetches", type=int, default=2000)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="pxed-flood-")
    try:
        os.makedirs(f"{tmp}/tftp/k")
        os.makedirs(f"{tmp}/tree")
        for f in ("vmlinuz", "initrd.img"):
            open(f"{tmp}/tftp/k/{f}", "w").write("x")
        with open(f"{tmp}/site.yaml", "w") as f:
            f.write(f"""server:
  address: 127.0.0.1
  listen: 127.0.0.1
  state_dir: {tmp}/state
  log: {{level: warn}}
  dhcp: {{enabled: false}}
  tftp: {{enabled: false, root: {tmp}/tftp}}
  ftp: {{enabled: false}}
  http: {{port: {PORT}}}
trees:
  c7: {{path: {tmp}/tree, url: /pub/c7}}
profiles:
  c7: {{kernel: k/vmlinuz, initrd: k/initrd.img, tree: c7, kickstart: centos7.ks}}
hosts:
  - {{mac: "52:54:00:00:00:01", hostname: demo01, ip: 127.0.0.1, profile: c7}}
""")
        log = open(f"{tmp}/pxed.log", "w")
        p = subprocess.Popen([a.pxed, "--config", f"{tmp}/site.yaml"], stdout=log, stderr=log)
        for _ in range(100):
            try:
                connect("127.0.0.1").close()
                break
            except OSError:
                time.sleep(0.05)
        idle = host_latencies(a.fetches)
        rss_idle = rss_kib(p.pid)

        q = mp.Queue()
        workers = [mp.Process(target=flood, args=(a.seconds, q)) for _ in range(a.workers)]
        for w in workers:
            w.start()
        time.sleep(1)
        loaded = []
        t_end = time.time() + a.seconds - 2
        while time.time() < t_end:
            loaded += host_latencies(100)
        counts = {}
        for _ in workers:
            for k, v in q.get().items():
                counts[k] = counts.get(k, 0) + v
        for w in workers:
            w.join()
        rss_flood = rss_kib(p.pid)

        t = time.time()
        for i in range(a.spread):
            src = f"127.1.{(i >> 8) & 255}.{i & 255}" if i < 65536 else "127.2.0.1"
            s = connect(src)
            request(s, "/ks/demo01.ks?token=" + secrets.token_hex(16))
            s.close()
        spread_s = time.time() - t
        rss_spread = rss_kib(p.pid)
        after = host_latencies(200)
        p.terminate()
        p.wait()
        log.close()
        lines = sum(1 for _ in open(f"{tmp}/pxed.log"))

        total = sum(counts.values())
        print(f"host's own kickstart, idle:      median {statistics.median(idle):.3f} ms, p99 {pct(idle, .99):.3f} ms ({len(idle)} fetches)")
        print(f"host's own kickstart, flooded:   median {statistics.median(loaded):.3f} ms, p99 {pct(loaded, .99):.3f} ms ({len(loaded)} fetches, all 200)")
        print(f"flood: {a.workers} workers, {total / a.seconds:.0f} refused requests/s; answers {dict(sorted(counts.items()))}")
        print(f"spread: {a.spread} requests from {min(a.spread, 65536)} source addresses in {spread_s:.1f} s")
        print(f"host's own kickstart, after:     median {statistics.median(after):.3f} ms")
        print(f"pxed RSS: idle {rss_idle / 1024:.1f} MiB, after the flood {rss_flood / 1024:.1f} MiB, after the spread {rss_spread / 1024:.1f} MiB")
        print(f"pxed log: {lines} lines for {total + a.spread} refused requests")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
