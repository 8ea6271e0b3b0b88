"""The worker's sandbox: bubblewrap, an audited tool, not namespace code of our own.

Two sides, named for where they run (this module is the first; ``worker/confine.py`` the
second):

- ``worker_command`` (judge side) wraps the worker's command line in ``bwrap``:
  a new mount namespace entered with ``pivot_root`` whose root is an empty tmpfs
  holding only read-only binds of the system's libraries, Python, its packages, the
  course's helper package and the grading engine's worker code; new user, PID,
  network, IPC, UTS and cgroup namespaces; every capability dropped and
  ``no_new_privs`` set; no further user namespaces; a private ``/dev``, and a
  private, size-capped ``/tmp`` and ``/dev/shm`` (gone when the worker ends); a new
  session; death with its parent. The course, the gradebook, the hidden tests and
  other submissions are not there, wherever they live. As root and as a plain user
  (the formgrader on a Hub) the command is the same: bwrap builds a user namespace
  in both cases, and inside it the student's code is uid 65534 with no capability.
- ``confine_worker`` (worker side, ``worker/confine.py``) sets the resource limits before any student
  code runs: address space, CPU time, file size, open files and processes. The
  process count is per user namespace (Linux >= 5.14), so it is the worker's own,
  not shared with other workers or with the grading user's other processes.

Killing the worker's outer ``bwrap`` kills its PID namespace's init, and with it
every process the student started, detached or not: nothing outlives the worker.
Workers forked from a zygote (``autograder.engine.worker.zygote``, the default) come one after
another from one such sandbox, each in namespaces of its own made inside it (PID, mount with
a new root, /dev, /proc, /tmp and /dev/shm, network, IPC, UTS), so that nothing it observes
depends on the workers before it; the zygote ends all a worker started before it forks the
next. That is the only namespace code of our own, and it only narrows what bwrap built: the
user namespace, seccomp filter, no_new_privs and the binds stay bwrap's.

``probe()`` says whether the sandbox can be built here; grading refuses to run
student code when it cannot, unless the course allows unsandboxed grading.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys

from autograder.engine.shared.limits import EngineSettings

# Which part of the grading engine the worker may read: its own code, nothing else.
ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE_PACKAGES = ("shared", "worker")  # the engine's packages the worker imports: never judge/
ENGINE_MOUNT = "/grader"  # where the worker finds it inside: autograder/engine under this folder
SANDBOX_UID = 65534  # what the student's code sees as its uid (nobody)
# What a zygote keeps inside the sandbox's user namespace (never outside it) to give each worker
# it forks new mount, UTS, IPC, network and PID namespaces, a fresh /tmp, /dev/shm and /proc, its
# loopback up, and to drop every capability, the bounding set included, before the worker starts.
ZYGOTE_CAPS = ("CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETPCAP")
# System folders whose contents Python and its compiled packages need; /etc only in part.
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
             "/etc/alternatives")
HOW_TO_INSTALL = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: "
                  "`dnf install bubblewrap`) and make sure unprivileged user namespaces are "
                  "enabled (`sysctl kernel.unprivileged_userns_clone=1` on older Debian kernels, "
                  "`user.max_user_namespaces` > 0, and on Ubuntu 24.04+ an AppArmor profile "
                  "allowing bwrap to create them)")


# System calls the worker is refused (EPERM) by a seccomp filter bwrap installs: the kernel
# keyrings are kept per user, not per namespace, so a key added by one worker would be read
# by the next one and by a regrade; POSIX message queues outlive their processes in the IPC
# namespace, which successive workers forked from one zygote share; the others are attack
# surface no exercise needs.
REFUSED_SYSCALLS = {  # audit arch -> {name: number}
    0xC000003E: {"add_key": 248, "request_key": 249, "keyctl": 250, "perf_event_open": 298, "bpf": 321,
                 "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
                 "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243,
                 "mq_notify": 244, "mq_getsetattr": 245},
    0xC00000B7: {"add_key": 217, "request_key": 218, "keyctl": 219, "perf_event_open": 241, "bpf": 280,
                 "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
                 "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182, "mq_timedreceive": 183,
                 "mq_notify": 184, "mq_getsetattr": 185},
}
_MACHINE_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


def seccomp_filter() -> bytes:
    """A classic BPF program for bwrap's --seccomp: refuse REFUSED_SYSCALLS with EPERM,
    kill a process that uses another ABI (x32, a foreign arch), allow the rest."""
    import platform
    import struct

    arch = _MACHINE_ARCH.get(platform.machine())
    if arch is None:
        raise SandboxUnavailable(f"no seccomp filter for this machine ({platform.machine()})")
    numbers = sorted(REFUSED_SYSCALLS[arch].values())
    allow, deny, kill = 0x7FFF0000, 0x00050000 | 1, 0x80000000  # RET_ALLOW, RET_ERRNO|EPERM, RET_KILL_PROCESS
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    program = [(load, 0, 0, 4),                       # seccomp_data.arch
               (jeq, 1, 0, arch), (ret, 0, 0, kill),
               (load, 0, 0, 0),                       # seccomp_data.nr
               (jge, 0, 1, 0x40000000), (ret, 0, 0, kill)]  # the x32 ABI
    for index, number in enumerate(numbers):
        remaining = len(numbers) - index - 1
        program.append((jeq, remaining + 1, 0, number))  # to the deny at the end
    program += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    return b"".join(struct.pack("<HBBI", *instruction) for instruction in program)


class SandboxUnavailable(RuntimeError):
    """No sandbox can be built on this machine; the message says what is missing."""


def readable_paths(extra=()) -> list[str]:
    """What the worker may read besides the system and the copied-in code (see
    ``copied_packages``): Python and its packages."""
    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sys.path if p and "site-packages" in p)
    paths.update(extra)
    return sorted({os.path.abspath(p) for p in paths if os.path.exists(p)})


def copied_packages() -> dict[str, str]:
    """Folders of Python code copied into the sandbox, under ENGINE_MOUNT: the engine's
    worker code and the course's helper package. Copied, not bound, because the course
    folder they lie in may be closed to the unprivileged user bwrap runs as (bwrap reads
    them from files the judge opens)."""
    packages = {ENGINE_DIR: f"{ENGINE_MOUNT}/autograder/engine"}
    for name in ENGINE_PACKAGES:
        packages[os.path.join(ENGINE_DIR, name)] = f"{ENGINE_MOUNT}/autograder/engine/{name}"
    spec = importlib.util.find_spec("mnist_course")
    if spec and spec.origin:
        packages[os.path.dirname(spec.origin)] = f"{ENGINE_MOUNT}/mnist_course"
    return packages


def _bind_args(path: str) -> list[str]:
    """Bind ``path`` read-only at the same place; a symlink (e.g. /lib -> usr/lib on a
    merged-/usr system) is recreated as the same symlink."""
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    return ["--ro-bind", path, path]


class WorkerCommand:
    """The sandboxed command line, and the files it reads from (to pass to Popen and close)."""

    def __init__(self, argv: list[str], pass_fds: list[int]):
        self.argv = argv
        self.pass_fds = pass_fds

    def close(self) -> None:
        for fd in self.pass_fds:
            os.close(fd)


def worker_command(argv: list[str], *, tmp_bytes: int, shm_bytes: int, env: dict,
                   readable: list[str], protected: list[str] = (), as_pid_1: bool = False,
                   caps: tuple[str, ...] = ()) -> WorkerCommand:
    """``argv`` (the worker's command line) run inside the sandbox. ``as_pid_1``: ``argv``
    is the PID namespace's init itself, not bwrap's (a zygote: the kernel then delivers no
    signal from inside the namespace to it, SIGKILL and SIGSTOP included, unless it handles it).
    ``caps``: capabilities ``argv`` keeps, in the sandbox's own user namespace only (a zygote's
    ZYGOTE_CAPS, to give each worker namespaces of its own; it drops them all in the worker)."""
    for secret in protected:
        for path in readable:
            if _inside(os.path.realpath(secret), os.path.realpath(path)):
                raise SandboxUnavailable(f"{secret} lies inside {path}, which student code must read "
                                         f"(Python or its packages): move the course elsewhere")
    command = [bwrap_path(), "--unshare-all", "--unshare-user", "--disable-userns",
               "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
               "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for cap in caps:
        command += ["--cap-add", cap]  # one option each: bwrap keeps only the first of a comma list
    if as_pid_1:
        command.append("--as-pid-1")
    for path in SYSTEM_PATHS + ETC_FILES:
        if os.path.lexists(path):
            command += _bind_args(path)
    # Before the binds: a course cloned under /tmp must not be hidden by the private /tmp.
    command += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp",
                "--size", str(shm_bytes), "--tmpfs", "/dev/shm"]
    for path in readable:
        if not any(_inside(path, system) for system in SYSTEM_PATHS if not os.path.islink(system)):
            command += ["--ro-bind", path, path]
    fds = [os.memfd_create("seccomp", 0)]
    os.write(fds[0], seccomp_filter())
    os.lseek(fds[0], 0, os.SEEK_SET)
    command += ["--seccomp", str(fds[0])]
    for folder, mount in copied_packages().items():
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                fds.append(os.open(os.path.join(folder, name), os.O_RDONLY))
                command += ["--file", str(fds[-1]), f"{mount}/{name}"]
    command += [# Only /tmp and /dev/shm, both size-capped, stay writable.
                "--remount-ro", "/dev", "--remount-ro", "/",
                "--chdir", "/tmp", "--clearenv"]
    for key, value in env.items():
        command += ["--setenv", key, value]
    return WorkerCommand(command + ["--", *argv], fds)


def launch_user() -> dict:
    """Popen's arguments for who runs bwrap: as root, an unprivileged user, so that even
    outside its namespaces the student's code is nobody and its process limit holds
    (the kernel does not count root's processes against RLIMIT_NPROC)."""
    if os.geteuid() != 0:
        return {}
    return {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []}


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def bwrap_path() -> str:
    found = shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.path.exists(p)), None)
    if not found:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {HOW_TO_INSTALL}")
    return found


@functools.lru_cache(maxsize=1)
def probe(seconds: float = EngineSettings.sandbox_probe_seconds) -> str | None:
    """None when the sandbox can be built here (a probe that starts within ``seconds``), else
    what is missing and how to fix it."""
    try:
        check = ("import os, importlib.util, autograder.engine.worker.confine; "
                 "assert importlib.util.find_spec('mnist_course'); print(os.getuid())")
        command = worker_command([sys.executable, "-c", check], tmp_bytes=1 << 20, shm_bytes=1 << 20,
                                 env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ENGINE_MOUNT},
                                 readable=readable_paths())
    except SandboxUnavailable as exc:
        return str(exc)
    try:
        run = subprocess.run(command.argv, capture_output=True, text=True, timeout=seconds,
                             pass_fds=command.pass_fds, **launch_user())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not be started ({exc}): {HOW_TO_INSTALL}"
    finally:
        command.close()
    if run.returncode != 0 or run.stdout.strip() != str(SANDBOX_UID):
        hint = HOW_TO_INSTALL
        if os.geteuid() == 0 and "ermission denied" in run.stderr:
            hint = (f"grading runs as root, so the sandbox is built as uid {SANDBOX_UID}, which must be "
                    f"able to read the Python that runs student code ({os.path.realpath(sys.executable)}) "
                    f"and its packages; scripts/env.sh makes such an environment")
        return (f"bubblewrap could not build the sandbox (exit {run.returncode}: "
                f"{(run.stderr or run.stdout).strip()[-300:]}): {hint}")
    return None


def main() -> None:
    """``python -m autograder.engine.judge.sandbox``: can grading build its sandbox here?"""
    problem = probe()
    if problem:
        print(f"no sandbox: {problem}")
        sys.exit(1)
    print(f"sandbox OK: bubblewrap at {bwrap_path()}, grading as uid {os.geteuid()}")


if __name__ == "__main__":
    main()
