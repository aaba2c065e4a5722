#!/usr/bin/env python3
"""Runs a command as if on CentOS 7's Linux 3.10, as far as system calls go:
a seccomp filter answers ENOSYS to every x86_64 system call numbered above
313 (finit_module, the last one before 3.10; sched_setattr, 314, came in
3.14, getrandom in 3.17, statx, rseq, clone3 and the rest later). A binary
that needs a newer call without a fallback fails here as it would there.
Flags and ioctls newer than 3.10 are not caught; syscalls are.

Usage: kernel_3_10.py COMMAND [ARGS...]  (execs COMMAND under the filter)"""
import ctypes
import os
import platform
import struct
import sys

if platform.machine() != "x86_64":
    sys.exit("kernel_3_10.py: the syscall table here is x86_64's")

LAST_3_10_SYSCALL = 313
AUDIT_ARCH_X86_64 = 0xC000003E
ENOSYS = 38
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGT_K, BPF_RET_K = 0x20, 0x15, 0x25, 0x06
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


prog = b"".join([
    insn(BPF_LD_W_ABS, 0, 0, 4),                  # seccomp_data.arch
    insn(BPF_JEQ_K, 0, 2, AUDIT_ARCH_X86_64),     # another ABI: not ours to judge
    insn(BPF_LD_W_ABS, 0, 0, 0),                  # seccomp_data.nr
    insn(BPF_JGT_K, 1, 0, LAST_3_10_SYSCALL),
    insn(BPF_RET_K, 0, 0, RET_ALLOW),
    insn(BPF_RET_K, 0, 0, RET_ERRNO | ENOSYS),
])
buf = ctypes.create_string_buffer(prog, len(prog))


class sock_fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


fprog = sock_fprog(len(prog) // 8, ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
# NoNewPrivileges=yes, as in pxed.service; it does not stop setuid() to a lesser user.
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit("prctl(NO_NEW_PRIVS): " + os.strerror(ctypes.get_errno()))
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit("prctl(SECCOMP): " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
