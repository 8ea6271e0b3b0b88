"""Run by tests/test_zygote.py as root and as a plain grading user: records everything a worker
can read about its environment in the first worker of a fresh zygote (A), lets a hostile
worker change all it can, then records a third worker (B), and prints the records (JSON).
Usage: python -m tests.worker_observation_probe"""
from __future__ import annotations

import dataclasses
import json
import os

from autograder.engine.judge import zygotes
from autograder.engine.judge.student_proxy import Cell, Limits, Student, StudentProcess

STUDENT = r'''
import ctypes, os, re, resource, socket, stat, sys, time

libc = ctypes.CDLL(None, use_errno=True)
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0

def _try(fn):
    try:
        return fn()
    except Exception as exc:
        return type(exc).__name__

def _read(path):
    return _try(lambda: open(path).read())

def _no_kernel_inodes(text):
    """pipe:[123], socket:[123]: numbers from kernel-wide counters, and the judge's log folder,
    named at random for each worker (two fresh sandboxes differ in them too): keep the kind."""
    return re.sub(r"grading-worker-[^/]+", "grading-worker-X", re.sub(r"\[\d+\]", "[n]", text))

def _stat(path, start):
    s = os.lstat(path)
    nlink = s.st_nlink if path != "/proc" else "n"  # proc's root counts every process of the machine
    return {"mode": oct(s.st_mode), "ino": s.st_ino, "nlink": nlink, "uid": s.st_uid, "gid": s.st_gid,
            "size": s.st_size, "blocks": s.st_blocks,
            # times against the worker's own start (a global clock), to the second
            "times": [round(t - start) for t in (s.st_atime, s.st_mtime, s.st_ctime)],
            "xattrs": _try(lambda: sorted(os.listxattr(path, follow_symlinks=False)))}

def _statvfs(path):
    v = os.statvfs(path)
    return [v.f_bsize, v.f_frsize, v.f_blocks, v.f_bfree, v.f_bavail, v.f_files, v.f_ffree, v.f_flag, v.f_namemax]

def _new_inode(folder):
    path = os.path.join(folder, "observation-probe-new-file")
    with open(path, "w"):
        pass
    try:
        return os.stat(path).st_ino
    finally:
        os.unlink(path)

def _sysv_ids():
    ids = {"shm": libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600), "msg": libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600),
           "sem": libc.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600)}
    libc.shmctl(ids["shm"], IPC_RMID, None)
    libc.msgctl(ids["msg"], IPC_RMID, None)
    libc.semctl(ids["sem"], 0, IPC_RMID)
    return ids

def _abstract_sockets():
    names = []
    for line in open("/proc/net/unix").readlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[7].startswith("@"):
            names.append(fields[7])
    return sorted(names)

def _net(path):
    """A /proc/net table, without the kernel-wide figures in sockstat (memory, TCP sockets allocated)."""
    text = _read(path)
    return re.sub(r" (mem|alloc) \d+", r" \1 n", text) if "sockstat" in path else text

def record():
    start = time.time()
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    seen = {
        "stat": {p: _stat(p, start) for p in ("/", "/tmp", "/dev/shm", "/dev", "/proc")},
        "listing": {p: sorted(os.listdir(p)) for p in ("/", "/tmp", "/dev/shm", "/dev")},
        "statvfs": {p: _statvfs(p) for p in ("/", "/tmp", "/dev/shm")},
        "new_inode": {p: _new_inode(p) for p in ("/tmp", "/dev/shm")},
        "pid": os.getpid(), "ppid": os.getppid(), "pgid_sid": [os.getpgrp(), os.getsid(0)],
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "ns_last_pid": _read("/proc/sys/kernel/ns_last_pid"),
        "loadavg_last_pid": _read("/proc/loadavg").split()[-1],
        "init": {"cmdline": _try(lambda: open("/proc/1/cmdline", "rb").read().decode(errors="replace")),
                 "start_ticks_before_ours": _try(lambda: int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
                                                 - int(open("/proc/1/stat").read().rsplit(")", 1)[1].split()[19]) > 100)},
        "net": {p: _net(f"/proc/net/{p}") for p in ("dev", "snmp", "netstat", "unix", "sockstat", "tcp", "udp",
                                                      "raw", "packet", "if_inet6", "route")},
        "sysvipc": {k: _read(f"/proc/sysvipc/{k}").splitlines()[1:] for k in ("shm", "msg", "sem")},
        "sysv_ids": _sysv_ids(),
        "abstract_sockets": _abstract_sockets(),
        "hostname": socket.gethostname(), "uname": list(os.uname()),
        "domainname": _read("/proc/sys/kernel/domainname"),
        # mount ids and the device numbers of anonymous filesystems come from kernel-wide counters
        "mountinfo": [" ".join(["dev" if f[2].startswith("0:") else f[2]] + f[3:])
                      for f in (line.split() for line in open("/proc/self/mountinfo"))],
        "ids": [os.getresuid(), os.getresgid(), os.getgroups()],
        "status": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
                                                   "Seccomp", "Seccomp_filters", "Umask", "Threads", "SigBlk",
                                                   "SigIgn", "SigCgt")},
        "rlimits": {name: resource.getrlimit(getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")},
        "environ": dict(os.environ),
        "fds": {fd: _no_kernel_inodes(_try(lambda: os.readlink(f"/proc/self/fd/{fd}")))
                for fd in sorted(os.listdir("/proc/self/fd"), key=int)},
        "cwd": os.getcwd(), "umask": os.umask(0o22),
        "cgroup": _read("/proc/self/cgroup"),
        "user_namespace_limits": {n: _read(f"/proc/sys/user/{n}") for n in ("max_user_namespaces", "max_ipc_namespaces",
                                                                           "max_net_namespaces", "max_pid_namespaces")},
        "mqueue": _try(lambda: sorted(os.listdir("/dev/mqueue"))),
        "sysctl_ipc": {n: _read(f"/proc/sys/kernel/{n}") for n in ("shmmax", "shmall", "shmmni", "msgmax", "msgmni", "sem")},
        "sysctl_net": {n: _read(f"/proc/sys/net/{n}") for n in ("core/somaxconn", "ipv4/ip_local_port_range",
                                                              "ipv4/ping_group_range")},
    }
    os.umask(int(seen["umask"]))
    return seen

def hostile():
    """Changes everything a worker can: see HOSTILE_ACTIONS in tests/test_zygote.py."""
    import subprocess, random, signal
    done = {}
    for top in ("/tmp", "/dev/shm"):
        done[top + " xattr"] = _try(lambda: os.setxattr(top, "user.bit", b"1") or "set")
        for i in range(200):
            with open(f"{top}/f{i}", "w") as f:
                f.write("x" * i)
        for i in range(0, 200, 2):
            os.unlink(f"{top}/f{i}")
        os.makedirs(f"{top}/left/deeper")
        done[top + " utime"] = _try(lambda: os.utime(top, (1e9, 1e9)) or "set")
        done[top + " chmod"] = _try(lambda: os.chmod(top, 0o1777) or "set")
    # packets on the loopback, TCP, UDP and ICMP-less raw attempts
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
    client = socket.create_connection(server.getsockname()); peer, _ = server.accept()
    for _ in range(50):
        client.sendall(b"y" * 1000); peer.recv(1000)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(50):
        udp.sendto(b"z" * 100, ("127.0.0.1", 9))
    # abstract unix sockets, left bound in a process that outlives this worker's calls
    abstract = socket.socket(socket.AF_UNIX); abstract.bind(b"\0observation-probe-bit")
    # SysV objects made and removed (their ids count on), and some left behind
    for _ in range(20):
        libc.shmctl(libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600), IPC_RMID, None)
        libc.msgctl(libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600), IPC_RMID, None)
        libc.semctl(libc.semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600), 0, IPC_RMID)
    libc.shmget(0xB17, 4096, IPC_CREAT | 0o666); libc.msgget(0xB17, IPC_CREAT | 0o666); libc.semget(0xB17, 1, IPC_CREAT | 0o666)
    # many processes (the next PID counts on), and some left running, detached
    for _ in range(40):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    for _ in range(3):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(120)
            os._exit(0)
        os.wait()
    done["umask"] = os.umask(0o077)
    done["sethostname"] = _try(lambda: socket.sethostname("changed") or "set")
    done["setdomainname"] = "refused" if libc.setdomainname(b"changed", 7) == -1 else "set"
    done["rlimit"] = _try(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)) or "set")
    os.environ["LEFT_BY_AN_EARLIER_WORKER"] = "1"
    return done
'''

LIMITS = Limits(call_seconds=30, cpu_seconds=30, tmp_bytes=32 << 20, shm_bytes=8 << 20)


def worker(limits: Limits = LIMITS) -> tuple[StudentProcess, Student]:
    process = StudentProcess([Cell("student", STUDENT)], limits)
    return process, Student(process)


def main() -> None:
    zygotes.stop_all()  # a fresh zygote: A is its first worker
    report = {"grading_uid": os.geteuid()}
    for name in ("A", "hostile", "B"):
        process, student = worker()
        try:
            report[name] = student.hostile() if name == "hostile" else student.record()
        finally:
            process.stop()
        report.setdefault("zygote_starts", []).append(process.cost["zygote_starts"])
    process, student = worker(dataclasses.replace(LIMITS, forked_workers=False))
    try:
        report["fresh_sandbox"] = student.record()
    finally:
        process.stop()
    zygotes.stop_all()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
