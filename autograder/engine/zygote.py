"""Workers forked from a sandboxed zygote: a worker's fixed cost (``import torch`` and the
rest, 1.5-3 CPU-s) is paid once per judge process, not once per notebook or restart.

Two sides, named for where they run:

- The zygote (``serve``, ``python -m autograder.engine.zygote FD``) runs inside one
  sandbox built exactly as a fresh worker's (``sandbox.worker_command``: the same binds,
  namespaces, seccomp filter and uid). It imports what a worker imports and then never
  runs student code. For each worker the judge asks for it first ends everything the
  previous one left (every other process of its PID namespace, ``/tmp`` and ``/dev/shm``,
  SysV IPC objects), then forks a child that closes every file of the zygote's, keeps
  only the two pipes to the judge (received over the control socket with SCM_RIGHTS) and
  its log, applies ``confine_worker``'s limits and becomes ``worker.Worker``. The zygote
  is not dumpable, so a child can neither ptrace it nor read its memory or environment,
  and nothing writable is on its ``sys.path`` (``-P``: the working folder, /tmp, is not).
  It is its PID namespace's init (bwrap ``--as-pid-1``), so the kernel delivers it no
  signal sent from inside the namespace (SIGKILL, SIGSTOP, ``kill(-1)``) and its own
  ``kill(-1, SIGKILL)`` reaches every other process there. Should it die all the same
  (the OOM killer), the namespace dies with it, the judge starts a fresh zygote in a fresh
  sandbox, and only the notebook it was serving loses anything.
- ``Zygote`` (judge side) starts one, asks it for workers (``fork``) and to end them
  (``end``), and kills its sandbox when it does not answer within ``ANSWER_SECONDS``.
  ``lease``/``give_back`` keep one idle zygote per kind of sandbox for the judge process's
  next notebook; a worker has a zygote to itself while it lives.
"""
from __future__ import annotations

import atexit
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

from autograder.engine import cpu_wait, sandbox
from autograder.engine.limits import Limits

MAX_MESSAGE = 1 << 16
ANSWER_SECONDS = 2.0   # a zygote that takes longer to answer is replaced (costs time, never a verdict)
START_SECONDS = 60.0   # for its imports, on a busy machine
WIPED = ("/tmp", "/dev/shm")  # the only writable places in the sandbox
PR_SET_DUMPABLE = 4
IPC_RMID = 0


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------ zygote side (in the sandbox)

class _ZygoteLoop:
    def __init__(self, control: socket.socket):
        self.control = control
        self.libc = ctypes.CDLL(None, use_errno=True)
        # What the sandbox put under the wiped folders before any worker ran: the binds lying
        # there (mount points) and the folders that hold them, with their modes.
        self.binds = {m for m in _mount_points() if any(sandbox._inside(m, top) and m != top for top in WIPED)}
        self.skeleton = {top: os.stat(top).st_mode & 0o7777 for top in WIPED}
        for bind in self.binds:
            folder = os.path.dirname(bind)
            while folder not in self.skeleton:
                self.skeleton[folder] = os.stat(folder).st_mode & 0o7777
                folder = os.path.dirname(folder)
        self.child: int | None = None
        self.child_status: int | None = None
        self.child_cpu = 0.0

    def _reap(self) -> None:
        """Collect every dead child (as the namespace's init, orphans of the worker are ours too)."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.child_cpu += _cpu(usage)  # the worker's and every process it started
            if pid == self.child:
                self.child_status = status

    def _others(self) -> list[int]:
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]

    def end_all(self) -> None:
        """Kill every other process of this PID namespace (kill(-1) from its init reaches all of
        them and is atomic against a fork bomb) and wait until /proc shows none."""
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

    def wipe(self) -> None:
        """Empty /tmp and /dev/shm, whatever modes the student left on its folders. What the
        sandbox itself put there stays: read-only binds of Python or the course when they lie
        under /tmp (a clone in /tmp, say), and the folders bwrap made to hold them, emptied
        around them and given back their modes."""
        for top in WIPED:
            self._empty(top)
        for path in self.skeleton:
            if not os.path.isdir(path) or os.path.islink(path):
                raise SystemExit(f"zygote: {path}, which the sandbox made, is gone")
        missing = self.binds - _mount_points()
        if missing:
            raise SystemExit(f"zygote: the sandbox's binds {sorted(missing)} are gone")

    def _empty(self, folder: str) -> None:
        if os.path.islink(folder) or not os.path.isdir(folder):
            raise SystemExit(f"zygote: {folder}, which the sandbox made, was replaced")
        try:
            os.chmod(folder, self.skeleton[folder])
        except PermissionError:
            pass  # not the sandbox user's: a worker could not change its mode either
        for entry in os.scandir(folder):
            if entry.path in self.binds:
                continue  # read-only: nothing a worker wrote is in it
            if entry.path in self.skeleton:
                self._empty(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                # Nothing the sandbox made is below (those folders are in the skeleton, and one
                # renamed by a worker makes this fail on its read-only binds: the zygote then ends).
                os.chmod(entry.path, 0o700)  # a mode 000 folder is emptied too
                for below, subfolders, _ in os.walk(entry.path):
                    for name in subfolders:  # before os.walk lists them
                        path = os.path.join(below, name)
                        if not os.path.islink(path):
                            os.chmod(path, 0o700)
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        left = [e.path for e in os.scandir(folder) if e.path not in self.binds and e.path not in self.skeleton]
        if left:
            raise SystemExit(f"zygote: {left[:3]} could not be removed")

    def remove_ipc(self) -> None:
        """Remove the SysV shared memory, message queues and semaphores of this IPC namespace."""
        remove = {"shm": lambda ident: self.libc.shmctl(ident, IPC_RMID, None),
                  "msg": lambda ident: self.libc.msgctl(ident, IPC_RMID, None),
                  "sem": lambda ident: self.libc.semctl(ident, 0, IPC_RMID)}
        for kind, rmid in remove.items():
            for ident in self._ipc_ids(kind):
                rmid(ident)
            if self._ipc_ids(kind):
                raise SystemExit(f"zygote: SysV {kind} objects could not be removed")

    @staticmethod
    def _ipc_ids(kind: str) -> list[int]:
        with open(f"/proc/sysvipc/{kind}") as table:
            return [int(line.split()[1]) for line in table.readlines()[1:] if line.strip()]

    def clean(self) -> None:
        self.end_all()
        self.wipe()
        self.remove_ipc()

    def reply(self, message: dict) -> None:
        self.control.send(json.dumps(message).encode())

    def serve(self) -> None:
        while True:
            data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, 3)
            if not data:
                return  # the judge is done with this zygote
            request = json.loads(data)
            if request.get("op") == "fork" and len(fds) == 3:
                self.clean()
                self.child, self.child_status, self.child_cpu = None, None, 0.0
                pid = os.fork()
                if pid == 0:
                    _become_worker(self.control, *fds, request["limits"])
                self.child = pid
                for fd in fds:
                    os.close(fd)
                self.reply({"pid": pid})
            elif request.get("op") == "end":
                for fd in fds:
                    os.close(fd)
                until = time.monotonic() + min(float(request.get("wait", 0)), 10.0)
                while self.child is not None and self.child_status is None:
                    self._reap()
                    if self.child_status is not None or time.monotonic() >= until:
                        break
                    time.sleep(0.01)
                status = self.child_status
                self.clean()
                code = None
                if status is not None:
                    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                self.reply({"returncode": code, "cpu": self.child_cpu})
                self.child = None
            else:
                raise SystemExit(f"zygote: unknown request {request!r}")


def _become_worker(control: socket.socket, to_judge: int, from_judge: int, log: int, limits_json: str) -> None:
    """In the forked child: keep only the worker's own files, then serve the judge. Never
    returns to the zygote's loop."""
    code = 1
    try:
        control.detach()  # closed below with the rest; the object must not close a reused number later
        os.setsid()
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        keep = {0, 1, 2, to_judge, from_judge}
        for name in os.listdir("/proc/self/fd"):
            if int(name) not in keep:
                try:
                    os.close(int(name))
                except OSError:
                    pass
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as a fresh worker is; the zygote stays not
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from autograder.engine import worker
        sys.argv = [worker.__file__, str(to_judge), str(from_judge), limits_json]  # as a fresh worker's
        worker.serve_judge(to_judge, from_judge, Limits.from_json(limits_json))
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _mount_points() -> set[str]:
    """Every mount point of this mount namespace (the fifth field of /proc/self/mountinfo,
    with its octal escapes undone)."""
    with open("/proc/self/mountinfo") as mountinfo:
        return {line.split()[4].encode().decode("unicode_escape") for line in mountinfo if line.strip()}


def _writable(path: str) -> bool:
    """Whether a worker could put a module at ``path``: relative, missing, or on a writable
    filesystem (a read-only bind under /tmp, a course cloned there, is not)."""
    if not os.path.isabs(path) or not os.path.exists(path):
        return True
    return not os.statvfs(path).f_flag & os.ST_RDONLY


def serve(control_fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace, no /proc/<zygote>/mem or environ for a child
    if os.getpid() != 1:
        raise SystemExit("zygote: must be its PID namespace's init (bwrap --as-pid-1)")
    # As init it is sent no signal from inside its namespace that it does not handle: a child can
    # neither kill nor stop it. Python handles SIGINT; nothing here does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.path[:] = [path for path in sys.path if not _writable(path)]  # never import from /tmp, even lazily
    control = socket.socket(fileno=control_fd)
    from autograder.engine import worker  # noqa: F401  (torch, numpy, the guard, IPython's transformer)
    import IPython.core.inputtransformer2  # noqa: F401
    loop = _ZygoteLoop(control)
    loop.reply({"event": "ready", "cpu": _cpu(resource.getrusage(resource.RUSAGE_SELF))})
    loop.serve()


# ------------------------------------------------------------------ judge side

class ZygoteGone(RuntimeError):
    """The zygote died, or did not answer in time; it has been killed."""


class Zygote:
    """One zygote in its sandbox, and the worker it runs now (at most one)."""

    def __init__(self, key, env: dict, limits: Limits, protected: list[str]):
        self.key = key
        judge_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = judge_end
        self.log = tempfile.NamedTemporaryFile(prefix="grading-zygote-", suffix=".log", delete=False)
        argv = [sys.executable, "-s", "-P", "-m", "autograder.engine.zygote", str(zygote_end.fileno())]
        command = sandbox.worker_command(argv, tmp_bytes=limits.tmp_bytes, shm_bytes=limits.shm_bytes, env=env,
                                         readable=sandbox.readable_paths(limits.readable_paths), protected=protected,
                                         as_pid_1=True)
        try:
            self.proc = subprocess.Popen(command.argv, pass_fds=(zygote_end.fileno(), *command.pass_fds), env=env,
                                         cwd="/", stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                         start_new_session=True, **sandbox.launch_user())
        finally:
            command.close()
            zygote_end.close()
            self.log.close()
        started = time.perf_counter()
        try:
            ready = self._ask(None, seconds=START_SECONDS)
        except ZygoteGone as exc:
            raise ZygoteGone(f"the grading sandbox did not start: {exc}") from None
        if ready.get("event") != "ready":
            self.kill()
            raise ZygoteGone("the grading sandbox did not start")
        self.start_seconds = time.perf_counter() - started
        self.start_cpu = float(ready.get("cpu", 0.0))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _ask(self, message: dict | None, fds=(), seconds: float = ANSWER_SECONDS) -> dict:
        """Send ``message`` (None: only wait) and return the zygote's answer; kills the zygote
        and raises ZygoteGone when it is dead or silent."""
        try:
            self.control.settimeout(seconds)
            if message is not None:
                socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
            data = self.control.recv(MAX_MESSAGE)
            if not data:
                raise EOFError("it ended")
            answer = json.loads(data)
            if not isinstance(answer, dict):
                raise ValueError("not a message")
            return answer
        except (OSError, EOFError, ValueError) as exc:
            why = "it did not answer" if isinstance(exc, TimeoutError) else f"it ended ({exc})"
            tail = self._log_tail()
            self.kill()
            raise ZygoteGone(why + (f"; its log: {tail}" if tail else "")) from None

    def _log_tail(self) -> str:
        try:
            with open(self.log.name, "rb") as log:
                return log.read()[-500:].decode(errors="replace").strip()
        except OSError:
            return ""

    def fork(self, to_judge: int, from_judge: int, log: int, limits: Limits) -> int | None:
        """A new worker reading ``from_judge`` and writing ``to_judge``; returns its pid as the
        judge sees it (None if it ended at once)."""
        answer = self._ask({"op": "fork", "limits": limits.to_json()}, fds=(to_judge, from_judge, log))
        inner = answer.get("pid")
        if type(inner) is not int:
            self.kill()
            raise ZygoteGone(f"it answered {answer!r}")
        for pid in cpu_wait.process_tree(self.proc.pid):
            try:
                with open(f"/proc/{pid}/status") as status:
                    nspid = next((line.split()[1:] for line in status if line.startswith("NSpid:")), [])
            except OSError:
                continue
            if len(nspid) > 1 and int(nspid[-1]) == inner:
                return pid
        return None

    def end(self, wait: float = 0.0) -> dict:
        """End the current worker and all it started, after waiting up to ``wait`` seconds
        for it to end on its own: {"returncode": as Popen's, or None if it was still
        running; "cpu": the CPU seconds of it and all its processes}."""
        answer = self._ask({"op": "end", "wait": wait}, seconds=wait + ANSWER_SECONDS)
        code, cpu = answer.get("returncode"), answer.get("cpu")
        return {"returncode": code if type(code) is int else None,
                "cpu": float(cpu) if type(cpu) in (int, float) else 0.0}

    def kill(self) -> None:
        """Kill the sandbox: the zygote (its PID namespace's init: every process in it ends with
        it) and bwrap, which would kill it too (--die-with-parent)."""
        for pid in reversed(cpu_wait.process_tree(self.proc.pid)[1:]):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for kill in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait()
        self.control.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


_idle: list[Zygote] = []
IDLE_KEPT = 2  # idle zygotes kept for the next notebooks (one per kind of sandbox in use)


def sandbox_key(env: dict, limits: Limits) -> str:
    """What a zygote's sandbox is built from: a worker needs a zygote built the same way."""
    return json.dumps([env, limits.tmp_bytes, limits.shm_bytes, list(limits.readable_paths)], sort_keys=True)


def lease(env: dict, limits: Limits, protected: list[str]) -> Zygote:
    """A zygote for one worker: an idle one built for the same sandbox, or a new one."""
    key = sandbox_key(env, limits)
    for zygote in list(_idle):
        if zygote.key == key:
            _idle.remove(zygote)
            if zygote.alive():
                return zygote
            zygote.kill()
    return Zygote(key, env, limits, protected)


def give_back(zygote: Zygote) -> None:
    """The worker is ended: keep the zygote for the next one."""
    if not zygote.alive():
        zygote.kill()
        return
    _idle.append(zygote)
    while len(_idle) > IDLE_KEPT:
        _idle.pop(0).kill()


def stop_all() -> None:
    while _idle:
        _idle.pop().kill()


atexit.register(stop_all)  # the zygotes end with the judge that started them (bwrap's --die-with-parent too)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
