"""The judge's side of the zygotes (``worker/zygote.py``, which runs inside the sandbox and
says how): ``Zygote`` starts one in its sandbox (``sandbox.worker_command`` with
``sandbox.ZYGOTE_CAPS``), asks it for workers (``fork``) and to end them (``end``), and kills its
sandbox when it does not answer within ``zygote_answer_seconds`` (``EngineSettings``). ``lease``/``give_back`` keep one
idle zygote per kind of sandbox (and list of worker imports: ``shared/worker_imports.py``) for the judge process's next notebook; a worker has a zygote
to itself while it lives.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from autograder.engine.judge import cpu_wait, sandbox
from autograder.engine.shared import protocol
from autograder.engine.shared.limits import EngineSettings, Limits
from autograder.engine.shared.protocol import MAX_MESSAGE



class ZygoteGone(RuntimeError):
    """The zygote died, or did not answer in time; it has been killed."""


class Zygote:
    """One zygote in its sandbox, and the worker it runs now (at most one)."""

    def __init__(self, key, env: dict, limits: Limits, protected: list[str],
                 settings: EngineSettings = EngineSettings()):
        self.key = key
        self.answer_seconds = settings.zygote_answer_seconds
        judge_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = judge_end
        self.log = tempfile.NamedTemporaryFile(prefix="grading-zygote-", suffix=".log", delete=False)
        argv = [sys.executable, "-s", "-P", "-m", "autograder.engine.worker.zygote", str(zygote_end.fileno()),
                json.dumps(list(limits.worker_imports))]
        command = sandbox.worker_command(argv, tmp_bytes=limits.tmp_bytes, shm_bytes=limits.shm_bytes, env=env,
                                         readable=sandbox.readable_paths(limits.readable_paths), protected=protected,
                                         as_pid_1=True, caps=sandbox.ZYGOTE_CAPS)
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
            ready = self._ask(None, seconds=settings.zygote_start_seconds)
        except ZygoteGone as exc:
            raise ZygoteGone(f"the grading sandbox did not start: {exc}") from None
        try:
            self.start_cpu = protocol.ZygoteReady.parse(ready).cpu
        except (protocol.ProtocolError, TypeError, ValueError):
            self.kill()
            raise ZygoteGone("the grading sandbox did not start") from None
        self.start_seconds = time.perf_counter() - started

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _ask(self, message, fds=(), seconds: float | None = None) -> dict:
        """Send ``message`` (None: only wait) and return the zygote's answer within ``seconds``
        (its answer seconds); kills the zygote and raises ZygoteGone when it is dead or silent."""
        try:
            self.control.settimeout(self.answer_seconds if seconds is None else seconds)
            if message is not None:
                socket.send_fds(self.control, [json.dumps(message.to_message()).encode()], list(fds))
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
        # The zygote waits for the worker's init up to 3/4 of the time the judge waits for its answer.
        answer = self._ask(protocol.ForkRequest(limits.to_json(), self.answer_seconds * 0.75),
                           fds=(to_judge, from_judge, log))
        try:
            inner = protocol.Forked.parse(answer).pid
        except protocol.ProtocolError as exc:
            self.kill()
            raise ZygoteGone(str(exc)) from None
        for pid in cpu_wait.process_tree(self.proc.pid):
            try:
                with open(f"/proc/{pid}/status") as status:
                    nspid = next((line.split()[1:] for line in status if line.startswith("NSpid:")), [])
            except OSError:
                continue
            if len(nspid) > 2 and int(nspid[-1]) == 2 and int(nspid[-2]) == inner:  # PID 2 of its own namespace
                return pid
        return None

    def end(self, wait: float = 0.0) -> protocol.Ended:
        """End the current worker and all it started, after waiting up to ``wait`` seconds
        for it to end on its own: how it ended (``returncode`` as Popen's, or None if it was
        still running) and the CPU seconds of it and all its processes."""
        return protocol.Ended.parse(self._ask(protocol.EndRequest(wait), seconds=wait + self.answer_seconds))

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


_idle: list[Zygote] = []  # idle zygotes kept for the next notebooks (EngineSettings.idle_zygotes)


def sandbox_key(env: dict, limits: Limits) -> str:
    """What a zygote's sandbox is built from, and what it imported: a worker needs a zygote built the same way."""
    return json.dumps([env, limits.tmp_bytes, limits.shm_bytes, list(limits.readable_paths),
                       list(limits.worker_imports)], sort_keys=True)


def lease(env: dict, limits: Limits, protected: list[str], settings: EngineSettings = EngineSettings()) -> Zygote:
    """A zygote for one worker: an idle one built for the same sandbox, or a new one."""
    key = sandbox_key(env, limits)
    for zygote in list(_idle):
        if zygote.key == key:
            _idle.remove(zygote)
            if zygote.alive():
                return zygote
            zygote.kill()
    return Zygote(key, env, limits, protected, settings)


def give_back(zygote: Zygote, keep: int = EngineSettings.idle_zygotes) -> None:
    """The worker is ended: keep the zygote for the next one (and at most ``keep`` idle)."""
    if not zygote.alive():
        zygote.kill()
        return
    _idle.append(zygote)
    while len(_idle) > keep:
        _idle.pop(0).kill()


def stop_all() -> None:
    while _idle:
        _idle.pop().kill()


atexit.register(stop_all)  # the zygotes end with the judge that started them (bwrap's --die-with-parent too)
