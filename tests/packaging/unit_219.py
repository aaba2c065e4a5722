#!/usr/bin/env python3
"""A model of how systemd 219 (CentOS 7) reads packaging/systemd/pxed.service,
since no systemd 219 is at hand: every directive must be one 219 knows, or
one it ignores with a warning (and then must not be needed for pxed to
work), and the values 219 does parse must parse there.

The tables come from systemd's NEWS (the version that introduced each
directive or value). A directive in neither table fails the test: whoever
adds it decides which table it belongs in.

Usage: unit_219.py UNIT_FILE   (prints what 219 would ignore; exit 1 on a problem)"""
import re
import sys

KNOWN_219 = {
    "Unit": {"Description", "Documentation", "After", "Before", "Wants", "Requires", "Conflicts"},
    "Service": {
        "Type", "NotifyAccess", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop",
        "Restart", "RestartSec", "TimeoutStartSec", "TimeoutStopSec", "UMask", "CapabilityBoundingSet",
        "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateNetwork",
        "RestrictAddressFamilies", "SystemCallArchitectures", "SystemCallErrorNumber", "SystemCallFilter",
        "DevicePolicy", "ReadWriteDirectories", "ReadOnlyDirectories", "InaccessibleDirectories",
        "LimitNOFILE", "Environment", "User", "Group",
    },
    "Install": {"WantedBy", "RequiredBy", "Alias"},
}
# Ignored by 219 ("Unknown lvalue ... ignoring"), with the version that added them.
NEWER = {
    "ReadWritePaths": 231, "ProtectKernelTunables": 232, "ProtectKernelModules": 232,
    "ProtectControlGroups": 232, "RestrictNamespaces": 233, "RestrictRealtime": 231,
    "MemoryDenyWriteExecute": 231, "LockPersonality": 235, "KeyringMode": 235, "PrivateMounts": 239,
    "RestrictSUIDSGID": 242, "ProtectHostname": 242, "ProtectKernelLogs": 244, "ProtectClock": 245,
    "ProtectProc": 247, "ProcSubset": 247, "AmbientCapabilities": 229, "StateDirectory": 235,
}
# Capabilities Linux 3.10 has (CAP_AUDIT_READ, 37, came in 3.16).
CAPS_3_10 = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
}
# What pxed needs while it is root: bind <1024, open the lease database in
# the pxed-owned state directory, chown that directory, drop.
NEEDED_CAPS = {"CAP_NET_BIND_SERVICE", "CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"}

problems = []
ignored = []
section = None
seen = {}
for n, raw in enumerate(open(sys.argv[1]), 1):
    line = raw.strip()
    if not line or line.startswith(("#", ";")):
        continue
    m = re.fullmatch(r"\[(\w+)\]", line)
    if m:
        section = m.group(1)
        continue
    key, _, value = line.partition("=")
    key, value = key.strip(), value.strip()
    seen.setdefault(key, []).append((n, value))
    if key in KNOWN_219.get(section, set()):
        pass
    elif key in NEWER:
        ignored.append("line %d: %s= (systemd %d+) is ignored by 219" % (n, key, NEWER[key]))
    else:
        problems.append("line %d: %s= in [%s] is in neither table: is it known to systemd 219?" % (n, key, section))

def values(key):
    return [v for _, v in seen.get(key, [])]

# An allow-list SystemCallFilter whose @groups 219 drops would allow almost nothing.
for v in values("SystemCallFilter"):
    if not v.startswith("~"):
        problems.append("SystemCallFilter=%s is an allow list: systemd 219 drops @groups and kills pxed" % v)
# ProtectSystem: the first value must be one 219 parses ("strict" is 232+).
ps = values("ProtectSystem")
if ps and ps[0] not in ("yes", "true", "full", "no", "false"):
    problems.append("the first ProtectSystem= (%s) is not one systemd 219 parses" % ps[0])
if "strict" in ps and ps[-1] != "strict":
    problems.append("ProtectSystem=strict must come last to win on newer systemd")
# With 219 ignoring ReadWritePaths=, the state directory must be writable under ProtectSystem=full (/var is).
for v in values("ReadWritePaths"):
    for path in v.split():
        if not path.lstrip("-").startswith("/var/"):
            problems.append("ReadWritePaths=%s is not under /var: read-only on systemd 219 with ProtectSystem=full" % path)
if values("AmbientCapabilities") or values("User"):
    problems.append("User=/AmbientCapabilities=: pxed drops privileges itself (219 has no AmbientCapabilities=)")
caps = set(" ".join(values("CapabilityBoundingSet")).split())
for c in sorted(caps - CAPS_3_10):
    problems.append("CapabilityBoundingSet names %s, unknown to Linux 3.10 / systemd 219" % c)
for c in sorted(NEEDED_CAPS - caps):
    problems.append("CapabilityBoundingSet lacks %s, which pxed needs before it drops root" % c)
if values("Type") != ["notify"]:
    problems.append("Type= must be notify")

for i in ignored:
    print("# 219 ignores " + i)
for p in problems:
    print("not ok - " + p)
print("systemd 219 model: %d directive(s) ignored there, %d problem(s)" % (len(ignored), len(problems)))
sys.exit(1 if problems else 0)
