"""A judge that grades many notebooks, one after another, in one clean process.

The judge side of grading (pytest, hypothesis, torch, the references) costs about a
CPU-second and a half to start; a class pays it once per grading process instead of
once per notebook. Nothing else changes: each notebook is one ``pytest.main`` run of the
hidden tests with the ``autograder.engine.judge.plugin`` plugin, its student's code runs in its
own fresh sandboxed worker, and no student code ever runs here.

Between notebooks the hidden tests' modules (and their caches of the student's objects)
are dropped, so each run imports them afresh; hypothesis is derandomised, so examples do
not depend on what ran before. The server is replaced after ``judge_notebooks`` notebooks
(``EngineSettings``), when a run fails, or when it does not answer in time (``judge_client``'s choice).

Run by ``JudgeServer`` (``nbgrader_side/judge_client.py``, in nbgrader's process) as
``python -m autograder.engine.judge.server REQUEST_FD REPLY_FD``; each request and reply
is one line of JSON.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import os
import sys
import time

from autograder.engine.shared.long_lived import imported_for_life
from autograder.engine.shared.protocol import JUDGE_READY, GradeReply, GradeRequest

# Set to a file path (by the benchmark), each notebook's run is profiled in CPU time and its
# statistics written there: where the judge's CPU goes, without changing what it does.
PROFILE_ENV = "GRADING_JUDGE_PROFILE"
YOUNG_OBJECTS_PER_COLLECTION = 20_000


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


_GRADED_FOLDERS: set = set()  # the tests folders this judge has graded a notebook with


def _predict_first_calls(request: GradeRequest) -> None:
    """Before a notebook, where this judge has graded one with these tests already and its kept
    examples changed since it last did: a session that grades nothing and finds the calls to send
    ahead (``example_replay.prediction_args``). Not before the first: a grading process that grades
    one notebook (one student's, a first submission after the feedback service starts) pays
    nothing for what only later notebooks use. Its output is dropped; if it fails, notebooks
    find their first calls themselves, as before."""
    import pytest

    from autograder.engine.judge import example_replay

    if request.tests_dir not in _GRADED_FOLDERS:
        _GRADED_FOLDERS.add(request.tests_dir)
        return
    args = example_replay.prediction_args(request.tests_dir, request.args)
    if args is None:
        return
    _forget_modules_under(request.tests_dir)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            pytest.main(args, plugins=[])
        except Exception:
            pass
    example_replay.predicted_now(request.tests_dir)  # grade_one forgets the session's modules next


def grade_one(request: GradeRequest) -> GradeReply:
    import pytest

    _predict_first_calls(request)
    _forget_modules_under(request.tests_dir)
    output = io.StringIO()
    profile_path = os.environ.get(PROFILE_ENV)
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        if profile_path:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            code = profiler.runcall(pytest.main, [*request.args], plugins=[])
            profiler.dump_stats(profile_path)
        else:
            code = pytest.main([*request.args], plugins=[])
    _forget_modules_under(request.tests_dir)
    return GradeReply(int(code), output.getvalue()[-6000:])


def serve(requests_fd: int, replies_fd: int) -> None:
    # What the judge imports (torch, hypothesis, pytest: some 280,000 objects) lives as long as
    # it does: imported with the collector off and frozen, the collector never walks it
    # (long_lived.py). And the young generation is collected after 20,000 new objects, not
    # 700: hypothesis and the wire make and drop many, and collecting them was 0.15 CPU-s of an
    # average notebook of a class (0.04 now; no object here has a __del__ whose timing matters:
    # collection changes when memory is freed, never a verdict).
    with imported_for_life():
        import pytest  # noqa: F401  (imported once, here: what the server exists to amortise)
        import torch  # noqa: F401

        import autograder.engine.judge.plugin  # noqa: F401
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, 10, 10)
    requests = os.fdopen(requests_fd, "r")
    replies = os.fdopen(replies_fd, "w")
    replies.write(json.dumps(JUDGE_READY) + "\n")
    replies.flush()
    for line in requests:
        try:
            reply = grade_one(GradeRequest.parse(json.loads(line)))
        except BaseException as exc:  # reported to the preprocessor, which replaces this server
            reply = GradeReply(-1, f"{type(exc).__name__}: {exc}")
        replies.write(json.dumps(reply.to_message()) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
