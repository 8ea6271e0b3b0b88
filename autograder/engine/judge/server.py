"""A judge that grades many notebooks, one after another, in one clean process.

The judge side of grading (pytest, hypothesis, torch, the references) costs about a
CPU-second and a half to start; a class pays it once per grading process instead of
once per notebook. Nothing else changes: each notebook is one ``pytest.main`` run of the
hidden tests with the ``autograder.engine.judge.plugin`` plugin, its student's code runs in its
own fresh sandboxed worker, and no student code ever runs here.

Between notebooks the hidden tests' modules (and their caches of the student's objects)
are dropped, so each run imports them afresh; hypothesis is derandomised, so examples do
not depend on what ran before. The server is replaced after ``judge_notebooks`` notebooks
(``EngineSettings``), when a run fails, or when it does not answer in time.

Run by ``JudgeServer`` (judge side of nbgrader's preprocessor) as
``python -m autograder.engine.judge.server REQUEST_FD REPLY_FD``; each request and reply
is one line of JSON.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import io
import json
import os
import select
import subprocess
import sys
import time

from autograder.engine.shared.limits import EngineSettings

# Set to a file path (by the benchmark), each notebook's run is profiled in CPU time and its
# statistics written there: where the judge's CPU goes, without changing what it does.
PROFILE_ENV = "GRADING_JUDGE_PROFILE"


class JudgeServerFailed(RuntimeError):
    pass


# ------------------------------------------------------------------ in the judge process

@functools.lru_cache(maxsize=None)
def _real_path(path: str) -> str:
    """A module file's resolved path: the same for the judge's life (thousands of modules,
    twice a notebook: resolving them anew cost 0.2 CPU-s per notebook)."""
    return os.path.realpath(path)


def _forget_modules_under(folder: str) -> None:
    folder = os.path.realpath(folder) + os.sep
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if path and _real_path(path).startswith(folder):
            del sys.modules[name]


def grade_one(request: dict) -> dict:
    import pytest

    _forget_modules_under(request["tests_dir"])
    output = io.StringIO()
    profile_path = os.environ.get(PROFILE_ENV)
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        if profile_path:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            code = profiler.runcall(pytest.main, [*request["args"]], plugins=[])
            profiler.dump_stats(profile_path)
        else:
            code = pytest.main([*request["args"]], plugins=[])
    _forget_modules_under(request["tests_dir"])
    return {"exit": int(code), "output": output.getvalue()[-6000:]}


def serve(requests_fd: int, replies_fd: int) -> None:
    import pytest  # noqa: F401  (imported once, here: what the server exists to amortise)
    import torch  # noqa: F401

    import autograder.engine.judge.plugin  # noqa: F401

    requests = os.fdopen(requests_fd, "r")
    replies = os.fdopen(replies_fd, "w")
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in requests:
        try:
            reply = grade_one(json.loads(line))
        except BaseException as exc:  # reported to the preprocessor, which replaces this server
            reply = {"exit": -1, "output": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


# ------------------------------------------------------------------ in nbgrader's process

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
        if not self._read_line(time.monotonic() + start_seconds).get("ready"):
            self.stop()
            raise JudgeServerFailed("the judge did not start")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def grade(self, tests_dir: str, args: list[str], timeout: float) -> dict:
        """Run the hidden tests in ``tests_dir`` with pytest ``args``; {"exit", "output"}."""
        self.graded += 1
        try:
            self.requests.write(json.dumps({"tests_dir": tests_dir, "args": args}) + "\n")
            self.requests.flush()
            reply = self._read_line(time.monotonic() + timeout)
        except (OSError, ValueError, EOFError, TimeoutError) as exc:
            try:
                code = self.proc.wait(timeout=0 if isinstance(exc, TimeoutError) else 5)
            except subprocess.TimeoutExpired:
                code = f"none, after {type(exc).__name__}: {exc}"
            self.stop()
            if isinstance(exc, TimeoutError):
                raise JudgeServerFailed(f"the hidden tests took longer than {timeout:g} s") from None
            raise JudgeServerFailed(f"the judge stopped (exit {code})") from None
        if reply.get("exit", -1) < 0:
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


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
