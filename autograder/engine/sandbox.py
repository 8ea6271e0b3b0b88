"""Confine the student worker: an empty filesystem but for what Python needs, no
network, an unprivileged user, capped resources. Runs inside the worker, after
its own modules are imported and before any student code.

The view is built by allowing, not by hiding: a fresh tmpfs becomes the root and
only the system folders, the Python installation, the virtual environment, the
course's helper package and the scratch folder are bind-mounted into it, read-only
but for the scratch. The course tree, the gradebook, other students' files and
the hidden tests are simply not there, wherever they live.

What holds depends on the platform, and the worker reports what did not:
- as root (CI, a JupyterHub grading host): all of the above, then the worker
  becomes an unprivileged user (nobody by default);
- as a plain user where the kernel allows user namespaces: the same view and
  network cut, without the change of user;
- otherwise: only the resource limits and the scratch folder.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
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
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/dev", "/proc")

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def readable_paths(extra=()) -> list[str]:
    """What student code may read: the system, Python, and the course's helper package."""
    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sys.path if p and "site-packages" in p)
    spec = importlib.util.find_spec("mnist_course")
    if spec and spec.origin:
        paths.add(os.path.dirname(spec.origin))
    paths.update(extra)
    return sorted(p for p in paths if os.path.exists(p))


def _bind(new_root: str, path: str, writable: bool = False) -> None:
    real = os.path.realpath(path)
    target = new_root + os.path.abspath(path)
    if os.path.isdir(real):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    _mount(real, target, None, MS_BIND | MS_REC)
    if not writable:
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)


def _enter_namespaces(as_root: bool) -> None:
    flags = CLONE_NEWNS | CLONE_NEWNET
    if as_root:
        _check(_libc.unshare(flags), "unshare")
        return
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | flags), "unshare")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def _change_root(scratch: str, readable) -> None:
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    new_root = tempfile.mkdtemp(prefix="sandbox-root-")
    _mount("none", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    for path in SYSTEM_PATHS:
        if os.path.exists(path):
            _bind(new_root, path)
    for path in readable:
        _bind(new_root, path)
    _bind(new_root, scratch, writable=True)
    os.makedirs(new_root + "/tmp", mode=0o1777, exist_ok=True)
    os.chmod(new_root + "/tmp", 0o1777)
    os.chroot(new_root)


def apply(policy: dict) -> list[str]:
    """Apply ``policy`` to this process; returns what could not be applied."""
    gaps = []
    as_root = os.geteuid() == 0
    scratch = policy["scratch"]
    try:
        readable = readable_paths(policy.get("readable_paths", []))
        _enter_namespaces(as_root)
        _change_root(scratch, readable)
    except OSError as exc:
        gaps.append(f"no private filesystem view or network namespace ({exc}): student code can "
                    f"read whatever the grading user can, and reach the network")
    os.chdir(scratch)
    os.environ.update(HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch)

    limits = {
        resource.RLIMIT_AS: policy["memory_bytes"],
        resource.RLIMIT_FSIZE: policy["file_bytes"],
        resource.RLIMIT_NOFILE: policy["open_files"],
        resource.RLIMIT_CORE: 0,
    }
    uid = policy.get("run_as_uid")
    if as_root and uid is not None:
        # Counted per user, so only meaningful for the dedicated grading user.
        limits[resource.RLIMIT_NPROC] = policy["processes"]
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))

    if as_root and uid is not None:
        gid = policy.get("run_as_gid", uid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    elif as_root:
        gaps.append("grading runs as root and no unprivileged user is configured for student code")
    else:
        gaps.append("grading does not run as root, so student code keeps the grading user's "
                    "identity and has no process-count limit")
    return gaps


def limit_cpu_seconds(seconds: float) -> None:
    """Allow this process ``seconds`` more CPU time from now (SIGXCPU after)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(used + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
