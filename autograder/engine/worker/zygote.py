"""Workers forked from a sandboxed zygote: a worker's fixed cost (``import torch`` and the
rest, 1.5-3 CPU-s) is paid once per judge process, not once per notebook or restart.

Two sides, named for where they run (this module is the first; ``judge/zygotes.py`` the second):

- The zygote (``serve``, ``python -m autograder.engine.worker.zygote FD``) runs inside one
  sandbox built exactly as a fresh worker's (``sandbox.worker_command``: the same binds,
  namespaces, seccomp filter and uid), keeping ``sandbox.ZYGOTE_CAPS`` in the sandbox's
  own user namespace. It imports what a worker imports and then never runs student code.
  Nothing a worker can observe depends on the workers before it: each is built as the
  first worker of a fresh sandbox would be. For each worker the judge asks for, the zygote
  kills every process of the last one, then forks the worker's init, PID 1 of a new PID
  namespace, which makes new mount, UTS, IPC and network namespaces, builds a new root and
  ``/dev`` as bwrap built the sandbox's (fresh folders and files; the read-only binds
  carried over), a fresh ``/proc``, devpts, ``/tmp`` and ``/dev/shm``, sets the hostname,
  brings up the loopback, ``pivot_root``s into it (the zygote's mounts are then gone from
  the worker's namespace) and drops every capability, the bounding set included. It then
  forks the worker (PID 2, as under bwrap's own init), reaps what the worker leaves and
  ends with it, which ends its namespace. The worker closes every file of the zygote's,
  keeps only the two pipes to the judge (received over the control socket with
  SCM_RIGHTS, numbered 3 and 4) and its log, applies ``confine_worker``'s limits and
  becomes ``worker.Worker``. A worker sees neither the zygote nor any earlier worker's
  processes, files, folders' metadata, packets, sockets or SysV objects, nor counters
  they moved (the next PID, inode numbers, SysV ids): they were never in its namespaces.
  The zygote is not dumpable, and nothing writable is on its ``sys.path`` (``-P``: the
  working folder, /tmp, is not). The sandbox's init (bwrap ``--as-pid-1``) only makes a
  PID namespace that the zygote's own user namespace owns (bwrap's ``--disable-userns``
  nests that one below the one owning the sandbox's), forks the zygote into it as its
  PID 1 and waits for it: there the zygote may set its next children's PID namespace
  back after each worker's, and its ``kill(-1, SIGKILL)`` reaches every worker's
  process. Should it die all the same (the OOM killer), the sandbox dies with it, the
  judge starts a fresh zygote in a fresh sandbox, and only the notebook it was serving
  loses anything.
- ``Zygote`` (judge side, ``judge/zygotes.py``) starts one, asks it for workers (``fork``) and to end them
  (``end``), and kills its sandbox when it does not answer within the course's
  ``zygote_answer_seconds`` (``EngineSettings``).
  ``lease``/``give_back`` keep one idle zygote per kind of sandbox and list of worker imports for the judge process's
  next notebook; a worker has a zygote to itself while it lives.
"""
from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback

from autograder.engine.shared.limits import Limits
from autograder.engine.shared.long_lived import imported_for_life
from autograder.engine.shared import protocol
from autograder.engine.shared.protocol import MAX_MESSAGE

WRITABLE = ("/tmp", "/dev/shm")  # the only writable places in the sandbox (fresh for each worker)
PR_SET_DUMPABLE = 4


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# Linux's numbers (the same on x86_64 and aarch64, the machines seccomp_filter knows).
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWNET, CLONE_NEWPID = 0x40000000, 0x20000000
MS_FLAGS = {"ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048,
            "relatime": 1 << 21, "strictatime": 1 << 24}
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH, AT_FDCWD, AT_RECURSIVE = 2, -100, 0x8000
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 428, 429, 430, 431, 432
OPEN_TREE_CLONE, MOVE_MOUNT_F_EMPTY_PATH, FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 1, 4, 1, 6
MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC = 2, 4, 8
PR_CAPBSET_DROP, PR_GET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 39, 47, 4
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
NEW_ROOT = "/tmp"  # where each worker's root is built, over the zygote's /tmp, before pivot_root
FRESH = ("/proc", "/dev", "/dev/pts", "/tmp", "/dev/shm")  # made anew, not carried over
HOSTNAME = b"sandbox"  # as bwrap's --hostname


def _mountinfo() -> list[dict]:
    """This mount namespace's mounts, in order: mount point (octal escapes undone), the mount's
    own options, the filesystem type and its options."""
    mounts = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            if not line.strip():
                continue
            fields, _, rest = line.partition(" - ")
            fields, rest = fields.split(), rest.split()
            mounts.append({"id": fields[0], "parent": fields[1], "point": fields[4].encode().decode("unicode_escape"),
                           "options": fields[5].split(","),
                           "type": rest[0], "super": rest[2].split(",") if len(rest) > 2 else []})
    return mounts


def _flags(options: list[str]) -> int:
    flags = 0
    for option in options:
        flags |= MS_FLAGS.get(option, 0)
    return flags


class _ZygoteLoop:
    def __init__(self, control: socket.socket):
        self.control = control
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long
        self.pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.me = os.readlink("/proc/self")  # as the sandbox's /proc numbers it (the outer init's namespace)
        # What the sandbox built, to build again for each worker: its /tmp and /dev/shm (size, mode,
        # mount flags), the read-only binds lying under them (Python or the course cloned in /tmp)
        # and the folders bwrap made to hold those, and the read-only covers over /proc/sys & co.
        mounts = _mountinfo()
        self.tmpfs = {}
        for top in WRITABLE:
            mount = next(m for m in reversed(mounts) if m["point"] == top)
            size = os.statvfs(top)
            self.tmpfs[top] = (_flags(mount["options"]) & ~MS_FLAGS["ro"],
                               f"size={size.f_blocks * size.f_frsize},mode={os.stat(top).st_mode & 0o7777:o}")
        under = sorted({m["point"] for m in mounts if any(_inside(m["point"], top) and m["point"] != top
                                                          for top in WRITABLE)})
        self.binds = [b for b in under if not any(_inside(b, o) and b != o for o in under)]  # the outer ones
        self.skeleton = {}
        for bind in self.binds:
            folder = os.path.dirname(bind)
            while folder not in WRITABLE and folder not in self.skeleton:
                self.skeleton[folder] = os.stat(folder).st_mode & 0o7777
                folder = os.path.dirname(folder)
        self.covers = [(m["point"], _flags(m["options"])) for m in mounts
                       if _inside(m["point"], "/proc") and m["point"] != "/proc"]
        # The root and /dev, both bwrap's tmpfs: what they hold besides mounts (folders, links,
        # the engine's copied files), the mounts on them to carry over, and their flags.
        points = {m["point"] for m in mounts}
        root = next(m for m in mounts if m["point"] == "/")
        dev = next(m for m in reversed(mounts) if m["point"] == "/dev")
        self.carried = [m["point"] for m in mounts if m["parent"] in (root["id"], dev["id"]) and m["point"] not in FRESH]
        self.devpts = next(((_flags(m["options"]), ",".join(["newinstance"] + m["super"][1:])) for m in mounts
                            if m["point"] == "/dev/pts"), None)
        self.root_flags = {top: (_flags(m["options"]), f"mode={os.stat(top).st_mode & 0o7777:o}")
                           for top, m in (("/", root), ("/dev", dev))}
        self.layout = {"/": [], "/dev": []}
        for top in self.layout:
            self._walk(top, points, self.layout[top])
        self.child: int | None = None
        self.child_status: int | None = None
        self.child_cpu = 0.0

    def _walk(self, folder: str, points: set[str], into: list) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.path in points:
                into.append((entry.path, "mount", entry.is_dir(follow_symlinks=False), None))
            elif entry.is_symlink():
                into.append((entry.path, "link", None, os.readlink(entry.path)))
            elif entry.is_dir():
                into.append((entry.path, "dir", entry.stat().st_mode & 0o7777, None))
                self._walk(entry.path, points, into)
            else:
                with open(entry.path, "rb") as file:
                    into.append((entry.path, "file", entry.stat().st_mode & 0o7777, file.read()))

    def _build(self, top: str) -> None:
        """Make under NEW_ROOT what the sandbox's ``top`` (/ or /dev) holds besides mounts."""
        for path, kind, mode, content in self.layout[top]:
            here = NEW_ROOT + path
            if kind == "link":
                os.symlink(content, here)
            elif kind == "dir" or (kind == "mount" and mode):
                os.mkdir(here)
                if kind == "dir":
                    os.chmod(here, mode)
            else:
                with open(here, "wb") as file:
                    if content:
                        file.write(content)
                if kind == "file":
                    os.chmod(here, mode)

    def _reap(self) -> None:
        """Collect every dead child (as the namespace's init, orphans of the worker are ours too)."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.child_cpu += _cpu(usage)  # the worker's init: the worker's and all it started
            if pid == self.child:
                self.child_status = status

    def _others(self) -> list[int]:
        """Every process of its PID namespace and those below but itself (the sandbox's /proc
        numbers them as the outer init's namespace sees them; the outer init is 1 there)."""
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and p not in (self.me, "1")]

    def end_all(self) -> None:
        """Kill every other process of this PID namespace and those nested in it (kill(-1) from
        its init reaches all of them and is atomic against a fork bomb) and wait until /proc
        shows none."""
        give_up = time.monotonic() + 10
        while True:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
            if not self._others():
                return
            if time.monotonic() > give_up:
                raise SystemExit(f"zygote: processes {self._others()} would not end")
            time.sleep(0.002)

    def _check(self, result: int, what: str) -> int:
        if result < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"{what}: {os.strerror(errno)}")
        return result

    def _mount(self, source, target, kind, flags: int, data=None) -> None:
        enc = lambda value: value.encode() if isinstance(value, str) else value
        self._check(self.libc.mount(enc(source), enc(target), enc(kind), ctypes.c_ulong(flags), enc(data)),
                    f"mount {target}")

    def _move_mount(self, tree: int, target: str) -> None:
        self._check(self.libc.syscall(SYS_MOVE_MOUNT, tree, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH),
                    f"move_mount {target}")
        os.close(tree)

    def _own_namespaces(self) -> None:
        """In the worker's init (PID 1 of a PID namespace made for it): new mount, UTS, IPC and
        network namespaces; a new root and /dev, a fresh /proc, devpts, /tmp and /dev/shm, built
        as bwrap built the sandbox's (its read-only binds carried over, also those under /tmp),
        entered with pivot_root; the hostname, the loopback up; then every capability dropped.
        What an earlier worker did to the zygote's namespaces, folders or counters is out of its
        sight: it never had them."""
        libc = self.libc
        self._check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET), "unshare")
        self._mount(None, "/", None, MS_REC | MS_PRIVATE)
        clone = lambda path: self._check(libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE
                                                      | os.O_CLOEXEC | AT_RECURSIVE), f"open_tree {path}")
        trees = {path: clone(path) for path in self.carried}
        binds = {bind: clone(bind) for bind in self.binds}
        # A proc of this PID namespace, made while the sandbox's is still there to show that it
        # reveals nothing new (the kernel refuses a proc mount otherwise).
        proc = self._check(libc.syscall(SYS_FSOPEN, b"proc", 1), "fsopen proc")
        self._check(libc.syscall(SYS_FSCONFIG, proc, FSCONFIG_SET_STRING, b"source", b"proc", 0), "fsconfig proc")
        self._check(libc.syscall(SYS_FSCONFIG, proc, FSCONFIG_CMD_CREATE, None, None, 0), "fsconfig proc")
        trees["/proc"] = self._check(libc.syscall(SYS_FSMOUNT, proc, 1, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
                                                  | MOUNT_ATTR_NOEXEC), "fsmount proc")
        os.close(proc)
        # A new root and /dev, as bwrap made the sandbox's (fresh folders, times and inodes), with
        # the sandbox's read-only binds carried over, a fresh proc, devpts, /tmp and /dev/shm.
        flags, data = self.root_flags["/"]
        self._mount("tmpfs", NEW_ROOT, "tmpfs", flags & ~MS_FLAGS["ro"], data)
        self._build("/")
        flags, data = self.root_flags["/dev"]
        self._mount("tmpfs", NEW_ROOT + "/dev", "tmpfs", flags & ~MS_FLAGS["ro"], data)
        self._build("/dev")
        for path in sorted(trees):
            self._move_mount(trees[path], NEW_ROOT + path)
        for cover, flags in self.covers:  # as bwrap's --proc, where it covered any: read-only binds
            self._mount(NEW_ROOT + cover, NEW_ROOT + cover, None, MS_BIND | MS_REC)
            self._mount(None, NEW_ROOT + cover, None, MS_REMOUNT | MS_BIND | MS_FLAGS["ro"] | flags)
        if self.devpts:
            self._mount("devpts", NEW_ROOT + "/dev/pts", "devpts", self.devpts[0], self.devpts[1])
        for top, (flags, data) in self.tmpfs.items():
            self._mount("tmpfs", NEW_ROOT + top, "tmpfs", flags, data)
        for folder in sorted(self.skeleton, key=len):
            os.mkdir(NEW_ROOT + folder)
            os.chmod(NEW_ROOT + folder, self.skeleton[folder])
        for bind, tree in binds.items():
            if os.path.isdir(f"/proc/self/fd/{tree}"):
                os.mkdir(NEW_ROOT + bind, 0o755)
            else:
                os.close(os.open(NEW_ROOT + bind, os.O_WRONLY | os.O_CREAT, 0o644))
            self._move_mount(tree, NEW_ROOT + bind)
        for top in ("/dev", "/"):  # bwrap's --remount-ro
            self._mount(None, NEW_ROOT + top, None, MS_REMOUNT | MS_BIND | MS_FLAGS["ro"] | self.root_flags[top][0])
        os.chdir(NEW_ROOT)
        import platform
        self._check(libc.syscall(SYS_PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
        self._check(libc.umount2(b".", MNT_DETACH), "umount the sandbox's root")  # with all the zygote's mounts
        os.chdir("/")
        for bind in self.binds:
            if not os.statvfs(bind).f_flag & os.ST_RDONLY:
                raise SystemExit(f"zygote: the bind {bind} is writable")
        self._check(libc.sethostname(HOSTNAME, len(HOSTNAME)), "sethostname")
        import struct
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            request = bytearray(struct.pack("16sH14x", b"lo", 0))
            fcntl.ioctl(probe, SIOCGIFFLAGS, request)
            flags = struct.unpack_from("H", request, 16)[0] | IFF_UP
            fcntl.ioctl(probe, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags))
        os.chdir("/tmp")  # not the zygote's /tmp, which the working folder was
        with open("/proc/sys/kernel/cap_last_cap") as last:
            for cap in range(int(last.read()) + 1):
                self._check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop the bounding set")
        self._check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        self._check(libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")
        with open("/proc/self/status") as status:
            held = dict(line.split(":", 1) for line in status if ":" in line)
        if {held[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} != {"0000000000000000"}:
            raise SystemExit("zygote: the worker's init kept a capability")
        if libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
            raise SystemExit("zygote: no_new_privs is not set")

    def _become_init(self, fds: list[int], limits_json: str, started: int) -> None:
        """In the forked child, PID 1 of a new PID namespace: namespaces of its own, then fork
        the worker (PID 2, as under bwrap's own init), reap what it leaves and end with it (the
        kernel then kills the rest of the namespace), passing on its status as bwrap's init does
        (128 + the signal that killed it). Never returns to the zygote's loop."""
        code = 1
        try:
            self.control.detach()
            _close_all_but({0, 1, 2, started, *fds})
            self._own_namespaces()
            worker = os.fork()
            if worker == 0:
                os.close(started)
                _become_worker(*fds, limits_json)
            for fd in fds:
                os.close(fd)
            os.write(started, b"w")
            os.close(started)
            while True:
                pid, status = os.waitpid(-1, 0)
                if pid == worker:
                    code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                    break
        except BaseException:
            traceback.print_exc()
        finally:
            _exit_flushed(code)

    def fork(self, fds: list[int], limits_json: str, init_seconds: float) -> int:
        """Fork the worker's init, PID 1 of a new PID namespace; returns the worker's pid as
        this zygote numbers it, once the init has forked it (or ``init_seconds`` have passed)."""
        read, write = os.pipe()
        gc.collect()  # what the zygote's own work left to collect is not the worker's to see
        self._check(self.libc.unshare(CLONE_NEWPID), "unshare the PID namespace")  # its next child's
        try:
            pid = os.fork()
        except BaseException:
            self._check(self.libc.setns(self.pid_namespace, CLONE_NEWPID), "setns")
            raise
        if pid == 0:
            os.close(read)
            self._become_init(fds, limits_json, write)
        self._check(self.libc.setns(self.pid_namespace, CLONE_NEWPID), "setns")  # its later children: its own
        self.child = pid
        os.close(write)
        for fd in fds:
            os.close(fd)
        try:
            if select.select([read], [], [], init_seconds)[0]:
                os.read(read, 1)  # or nothing: the init failed, and its error is in the log
        finally:
            os.close(read)
        for name in os.listdir("/proc"):  # the worker: PID 2 of its namespace, one below this one
            try:
                with open(f"/proc/{name}/status") as status:
                    nspid = next(line.split()[1:] for line in status if line.startswith("NSpid:"))
            except (OSError, StopIteration):
                continue
            if len(nspid) == 3 and nspid[2] == "2":
                return int(nspid[1])
        return pid

    def reply(self, message) -> None:
        self.control.send(json.dumps(message.to_message()).encode())

    def serve(self) -> None:
        while True:
            data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, 3)
            if not data:
                return  # the judge is done with this zygote
            try:
                request = protocol.parse_zygote_request(json.loads(data), len(fds))
            except protocol.ProtocolError as exc:
                raise SystemExit(f"zygote: {exc}") from None
            if isinstance(request, protocol.ForkRequest):
                self.end_all()
                self.child, self.child_status, self.child_cpu = None, None, 0.0
                self.reply(protocol.Forked(self.fork(fds, request.limits_json, request.init_seconds)))
            else:
                for fd in fds:
                    os.close(fd)
                until = time.monotonic() + request.wait
                while self.child is not None and self.child_status is None:
                    self._reap()
                    if self.child_status is not None or time.monotonic() >= until:
                        break
                    time.sleep(0.01)
                status = self.child_status
                self.end_all()
                code = None
                if status is not None:
                    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                    if code > 128:
                        code = 128 - code  # the worker's signal, passed on by its init: as Popen's
                self.reply(protocol.Ended(code, self.child_cpu))
                self.child = None


def _become_worker(to_judge: int, from_judge: int, log: int, limits_json: str) -> None:
    """In the worker, forked by its init: keep only the worker's own files, then serve the
    judge. Never returns."""
    code = 1
    try:
        os.setsid()
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        pipes = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (to_judge, from_judge)]
        to_judge, from_judge = 3, 4  # as a fresh sandbox's worker numbers them
        for fd, number in zip(pipes, (to_judge, from_judge)):
            os.dup2(fd, number)
        _close_all_but({0, 1, 2, to_judge, from_judge})
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as a fresh worker is; the zygote stays not
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from autograder.engine.worker import serve as worker
        sys.argv = [worker.__file__, str(to_judge), str(from_judge), limits_json]  # as a fresh worker's
        worker.serve_judge(to_judge, from_judge, Limits.from_json(limits_json))
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        _exit_flushed(code)


def _close_all_but(keep: set) -> None:
    """Close every file of this process but ``keep``: a forked child holds none of the zygote's."""
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            try:
                os.close(int(name))
            except OSError:
                pass


def _exit_flushed(code: int) -> None:
    """End a forked child of the zygote: its output flushed, never the zygote's exit handlers."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _writable(path: str) -> bool:
    """Whether a worker could put a module at ``path``: relative, missing, or on a writable
    filesystem (a read-only bind under /tmp, a course cloned there, is not)."""
    if not os.path.isabs(path) or not os.path.exists(path):
        return True
    return not os.statvfs(path).f_flag & os.ST_RDONLY


def _nest(libc, control_fd: int) -> None:
    """Returns in a child that is PID 1 of a PID namespace that the sandbox's innermost user
    namespace owns (bwrap's --disable-userns nests one below that of bwrap's PID namespace):
    there the zygote may set its own children's PID namespace back after each worker's. This
    process, the sandbox's init, waits for it and ends with it (and the sandbox with it)."""
    if libc.unshare(CLONE_NEWPID) != 0:
        raise SystemExit(f"zygote: cannot make a PID namespace: {os.strerror(ctypes.get_errno())}")
    zygote = os.fork()
    if zygote == 0:
        return
    os.close(control_fd)  # the judge sees the zygote's end at once
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == zygote:
            os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def import_worker_modules(worker_imports=()) -> None:
    """What a zygote imports before its first fork: what every worker imports at its start
    (torch, numpy, the guard, IPython's transformer), then the assignment's ``worker_imports``."""
    from autograder.engine.worker import serve as worker
    import IPython.core.inputtransformer2  # noqa: F401
    worker.import_ahead(worker_imports)


def serve(control_fd: int, worker_imports=()) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace, no /proc/<zygote>/mem or environ for a child
    if os.getpid() != 1:
        raise SystemExit("zygote: must be its PID namespace's init (bwrap --as-pid-1)")
    # As init it is sent no signal from inside its namespace that it does not handle: a child can
    # neither kill nor stop it. Python handles SIGINT; nothing here does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _nest(libc, control_fd)
    sys.path[:] = [path for path in sys.path if not _writable(path)]  # never import from /tmp, even lazily
    control = socket.socket(fileno=control_fd)
    # What it imports, out of the collector's way (long_lived.py); its workers start with the
    # collector on, as a fresh worker does.
    with imported_for_life():
        import_worker_modules(worker_imports)
        loop = _ZygoteLoop(control)
    loop.reply(protocol.ZygoteReady(_cpu(resource.getrusage(resource.RUSAGE_SELF))))
    loop.serve()


if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]) if len(sys.argv) > 2 else ())
