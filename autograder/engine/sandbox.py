"""Confine the student worker: hide the course's secrets, cut the network, drop
privileges, cap resources. Runs inside the worker, before any student code.

What holds depends on the platform, and the worker reports it back so the
grading log can say it once:
- as root (CI, a JupyterHub grading host): a private mount namespace in which
  the hidden paths are covered by empty read-only mounts, a network namespace
  with only a downed loopback, then the worker becomes an unprivileged user;
- as a plain user where the kernel allows user namespaces: the same mounts and
  network cut, without the change of user;
- otherwise: only the resource limits and the scratch directory.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys
import tempfile

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_MOVE = 0x2000

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _hide(path: str) -> None:
    if os.path.isdir(path):
        _mount("none", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=000")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND)
        _mount("/dev/null", path, None, MS_BIND | MS_RDONLY | 0x20)  # 0x20 = MS_REMOUNT


def _blocked_ancestor(path: str):
    """The outermost folder on the way to ``path`` that other users cannot enter."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    for depth in range(1, len(parts)):
        ancestor = os.sep + os.sep.join(parts[:depth])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor, os.sep + os.sep.join(parts[:depth + 1])
    return None


def _reach(path: str) -> None:
    """Let an unprivileged user reach ``path`` (e.g. Python's own library under a
    private /root): cover the blocking folder with an empty tmpfs and put back only
    the branch that leads to ``path``. The rest of that folder stays invisible."""
    for _ in range(8):
        blocked = _blocked_ancestor(path)
        if blocked is None:
            return
        top, branch = blocked
        stash = tempfile.mkdtemp(prefix="reach-")
        _mount(branch, stash, None, MS_BIND | MS_REC)
        _mount("none", top, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        if os.path.isdir(stash):
            os.makedirs(branch)
        else:
            open(branch, "w").close()
        _mount(stash, branch, None, MS_MOVE)


def _enter_namespaces(hide_paths, as_root: bool, reach_paths=()) -> None:
    flags = CLONE_NEWNS | CLONE_NEWNET
    if not as_root:
        uid, gid = os.getuid(), os.getgid()
        _check(_libc.unshare(CLONE_NEWUSER | flags), "unshare")
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    else:
        _check(_libc.unshare(flags), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    for path in hide_paths:
        _hide(path)
    if as_root:
        for path in reach_paths:
            _reach(path)


def apply(policy: dict) -> list[str]:
    """Apply ``policy`` to this process; returns what could not be applied."""
    gaps = []
    as_root = os.geteuid() == 0
    try:
        reach = {sys.base_prefix, sys.prefix, os.path.realpath(sys.executable), *sys.path[1:]}
        _enter_namespaces(policy.get("hide_paths", []), as_root, sorted(p for p in reach if os.path.exists(p)))
    except OSError as exc:
        gaps.append(f"no private mount/network namespace ({exc}): the course files are "
                    f"protected only by their permissions, and the network is open")

    scratch = policy["scratch"]
    os.chdir(scratch)
    os.environ.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch)

    limits = {
        resource.RLIMIT_AS: policy["memory_bytes"],
        resource.RLIMIT_FSIZE: policy["file_bytes"],
        resource.RLIMIT_NOFILE: policy["open_files"],
        resource.RLIMIT_CORE: 0,
    }
    if as_root and policy.get("run_as_uid") is not None:
        # Counted per user, so only meaningful for the dedicated grading user.
        limits[resource.RLIMIT_NPROC] = policy["processes"]
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))

    uid = policy.get("run_as_uid")
    if as_root and uid is not None:
        gid = policy.get("run_as_gid", uid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    elif as_root:
        gaps.append("grading runs as root and no unprivileged user was configured")
    if not as_root:
        gaps.append("not running as root, so the worker keeps the grader's own user "
                    "and has no process-count limit")
    return gaps


def limit_cpu_seconds(seconds: float) -> None:
    """Allow this process ``seconds`` more CPU time from now (SIGXCPU after)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(used + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
