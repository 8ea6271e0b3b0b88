"""nbgrader's side of the judge server (``judge/server.py``): starts the persistent judge
process, sends it one notebook's hidden-test run at a time and reads the reply, replacing the
judge after ``judge_notebooks`` notebooks, when a run fails, or when it does not answer in time.
A process that grades several courses keeps at most ``live_judges`` judges alive (``EngineSettings``).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import subprocess
import sys
import time

from autograder.engine.shared.limits import EngineSettings
from autograder.engine.shared.protocol import JUDGE_READY, GradeReply, GradeRequest


class JudgeServerFailed(RuntimeError):
    pass


class JudgeServer:
    """One persistent judge process for this grading process (the preprocessor's side)."""

    _servers: dict = {}

    @classmethod
    def for_course(cls, course_root: str, env: dict, settings: EngineSettings = EngineSettings(),
                   preexec_fn=None) -> "JudgeServer":
        key = (course_root, tuple(sorted(env.items())))
        server = cls._servers.pop(key, None)
        if server is None or not server.alive() or server.graded >= settings.judge_notebooks:
            if server is not None:
                server.stop()
            # A process that grades several courses (a Dask worker, the tests) keeps the judges
            # it used last (each holds a judge, a zygote and their imports); the others, and
            # their zygotes, are stopped rather than left idle.
            while len(cls._servers) >= settings.live_judges:
                next(iter(cls._servers.values())).stop()
            server = cls(course_root, env, preexec_fn, settings.judge_start_seconds)
        cls._servers[key] = server  # the most recently used last
        return server

    def __init__(self, course_root: str, env: dict, preexec_fn=None,
                 start_seconds: float = EngineSettings.judge_start_seconds):
        self.graded = 0
        to_server_r, to_server_w = os.pipe()
        from_server_r, from_server_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.engine.judge.server", str(to_server_r), str(from_server_w)],
            pass_fds=(to_server_r, from_server_w), cwd=course_root, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=preexec_fn)
        os.close(to_server_r)
        os.close(from_server_w)
        self.requests = os.fdopen(to_server_w, "w")
        self.replies = os.fdopen(from_server_r, "r")
        self._buffer = b""
        if self._read_line(time.monotonic() + start_seconds) != JUDGE_READY:
            self.stop()
            raise JudgeServerFailed("the judge did not start")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def grade(self, tests_dir: str, args: list[str], timeout: float) -> GradeReply:
        """Run the hidden tests in ``tests_dir`` with pytest ``args``: pytest's exit and output."""
        self.graded += 1
        try:
            self.requests.write(json.dumps(GradeRequest(tests_dir, args).to_message()) + "\n")
            self.requests.flush()
            reply = GradeReply.parse(self._read_line(time.monotonic() + timeout))  # ProtocolError: a ValueError
        except (OSError, ValueError, EOFError, TimeoutError) as exc:
            try:
                code = self.proc.wait(timeout=0 if isinstance(exc, TimeoutError) else 5)
            except subprocess.TimeoutExpired:
                code = f"none, after {type(exc).__name__}: {exc}"
            self.stop()
            if isinstance(exc, TimeoutError):
                raise JudgeServerFailed(f"the hidden tests took longer than {timeout:g} s") from None
            raise JudgeServerFailed(f"the judge stopped (exit {code})") from None
        if reply.exit < 0:
            self.stop()
        return reply

    def _read_line(self, deadline: float) -> dict:
        fd = self.replies.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)  # bytes: a character may span two reads
        return json.loads(line.decode())

    def stop(self) -> None:
        for stream in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                stream.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for key, server in list(self._servers.items()):
            if server is self:
                del self._servers[key]


def stop_all() -> None:
    for server in list(JudgeServer._servers.values()):
        server.stop()


atexit.register(stop_all)  # the judge ends with the grading process that started it
