"""Where one notebook's grading CPU goes, per assignment (our solution).

    python benchmarks/grading_profile.py [ASSIGNMENT ...]

For each assignment, seven gradings of our solution through the engine (the
judge, its sandboxed worker, the configured limits; without nbgrader around them): the first
pays the judge's and the zygote's start; then one with examples drawn by hypothesis (what a
grading process's first notebook costs), one that records them and one that replays them
(what every later notebook costs, example_replay.py); one with a fresh sandbox per worker and
drawn examples (the engine's path before workers were forked from a zygote); then, by a new
judge, drawn and replayed under cProfile (in CPU time) to share the judge's CPU out among what
it does.
The profiler slows Python code more than C code, so the shares are indicative; the totals
come from the unprofiled runs.

Columns: the judge's start (once per grading process), its collection (importing the hidden tests) and its tests, split into
hypothesis's engine (drawing, shrinking), the tests' own code (hidden tests, strategies,
checks), torch (references and comparisons), the wire (encoding requests, decoding
replies) and pytest; the worker's start (interpreter, torch, limits) and its calls (count,
CPU per call, cells included); and the built-in guard's cost per guarded call (measured
in a process set up as a worker is).
"""
from __future__ import annotations

import argparse
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.engine.judge.server import PROFILE_ENV  # noqa: E402
from autograder.engine.nbgrader_side.judge_client import stop_all  # noqa: E402
from instructor import try_hidden  # noqa: E402
from instructor.paths import assignments  # noqa: E402

JUDGE_PARTS = ("hypothesis", "tests", "torch", "wire", "pytest", "other")
PART_OF_PATH = (  # the first match wins
    ("/hypothesis/", "hypothesis"), ("/autograder/engine/shared/wire.py", "wire"),
    ("/autograder/engine/judge/student_proxy.py", "wire"), ("/autograder/hidden/", "tests"),
    ("/autograder/", "tests"), ("/mnist_course/", "tests"), ("/torch/", "torch"),
    ("/_pytest/", "pytest"), ("/pluggy/", "pytest"), ("/pytest/", "pytest"),
)


def _part(func: tuple) -> str | None:
    """The part a profiled function belongs to; None for a built-in (its caller decides)."""
    filename, _, name = func
    if filename == "~":
        return "torch" if "torch" in name else None
    return next((part for marker, part in PART_OF_PATH if marker in filename), "other")


def judge_shares(profile: Path) -> dict[str, float]:
    """Each part's share of the profiled judge CPU; a built-in's time goes to its callers' parts."""
    stats = pstats.Stats(str(profile)).stats
    seconds: dict[str, float] = defaultdict(float)
    for func, (_, _, own, _, callers) in stats.items():
        part = _part(func)
        if part is not None:
            seconds[part] += own
            continue
        by_caller = {caller: timing[2] for caller, timing in callers.items()}
        total = sum(by_caller.values())
        for caller, share in by_caller.items():
            seconds[_part(caller) or "other"] += own * (share / total if total else 1 / len(by_caller))
    total = sum(seconds.values()) or 1.0
    return {part: seconds[part] / total for part in JUDGE_PARTS}


GUARD_COST = """
import gc, statistics, sys, time
import torch
from autograder.engine.worker import guard, sealed

sealed.refuse_audit_hooks()  # as a worker does: Python then calls this hook for every audited event
# As a worker's zygote leaves what it imported: frozen, never walked by the collector again. Else
# a full collection of torch's 280,000 objects (50 ms) falls in one round and is read as the guard's.
gc.collect()
gc.freeze()
x, namespace, calls = torch.randn(4, 5), {}, CALLS

def timed(guarded):
    start = time.process_time()
    for _ in range(calls):
        if guarded:
            with guard.forbidden(["torch.matmul", "torch.softmax"], namespace):
                (x - x.max()).exp().sum()
        else:
            (x - x.max()).exp().sum()
    return time.process_time() - start

timed(True)  # the guard's tables are built once per process
print(statistics.median((timed(True) - timed(False)) / calls * 1e6 for _ in range(5)))
"""


def guard_cost_us(calls: int = 1000) -> float:
    """Microseconds the guard adds to one call that forbids matmul and softmax (set-up, hooks,
    tear-down), in a fresh process set up as a worker is (its audit hook added: measured in this
    process, without one, the guard's audited events would cost nothing)."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", GUARD_COST.replace("CALLS", str(calls))], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return float(out.stdout)


def round_trip_us(calls: int = 2000) -> tuple[float, float]:
    """CPU (µs) of the judge and of the worker for one call that does nothing (a function that
    returns its argument, a small tensor, unguarded), through the judge's proxy and a worker as
    grading makes them (sandboxed, forked from a zygote): the least a call costs, before any
    test code, reference, check or guard runs. Measured in this process, as the judge."""
    import torch

    from autograder.engine.judge.student_proxy import Student, StudentProcess
    from autograder.engine.shared.cells import Cell
    from autograder.engine.shared.limits import Limits

    process = StudentProcess([Cell("identity", "def identity(x):\n    return x\n")], Limits())
    student, x = Student(process), torch.randn(4, 5)
    try:
        for _ in range(200):  # the worker's start and its first calls
            student.identity(x)
        worker_before, judge_before = process._worker_cpu, time.process_time()
        for _ in range(calls):
            student.identity(x)
        judge, worker = time.process_time() - judge_before, process._worker_cpu - worker_before
    finally:
        process.stop()
    return judge / calls * 1e6, worker / calls * 1e6


def notebook_cpu(cost: dict) -> float:
    """A notebook's CPU: the judge's collection and tests, and its worker (not a start paid
    once per grading process: the judge's, a zygote's)."""
    return cost["judge_collect_cpu"] + cost["judge_tests_cpu"] + cost["worker_cpu"]


def _profiles(assignment: str, where: Path) -> tuple[Path, Path]:
    """CPU profiles of a grading with drawn examples and of one with replayed examples, by one
    judge started with profiling on (the judge reads the profile's path when it starts)."""
    path, drawn, replayed = (where / f"{assignment}.{kind}.prof" for kind in ("last", "drawn", "replayed"))
    stop_all()
    os.environ[PROFILE_ENV] = str(path)
    try:
        try_hidden.run(assignment)  # draws, and keeps what it drew
        shutil.copy(path, drawn)
        try_hidden.run(assignment)
        shutil.copy(path, replayed)
    finally:
        del os.environ[PROFILE_ENV]
        stop_all()
    return drawn, replayed


def profile_assignment(assignment: str, where: Path) -> dict:
    """Our solution graded by one judge: its start; examples drawn by hypothesis (as for a grading
    process's first notebook); recorded, then replayed (every later notebook); a fresh sandbox per
    worker (the path before the zygote); then, by a new judge, drawn and replayed under cProfile."""
    stop_all()
    try:
        first = try_hidden.run(assignment, replay_examples=False)["cost"]  # pays the judge's start
        drawn = try_hidden.run(assignment, replay_examples=False)["cost"]
        try_hidden.run(assignment)  # records what hypothesis draws
        replayed = try_hidden.run(assignment)["cost"]
        fresh = try_hidden.run(assignment, replay_examples=False, limits={"forked_workers": False})["cost"]
    finally:
        stop_all()
    drawn_profile, replayed_profile = _profiles(assignment, where)
    return {"drawn": drawn, "replayed": replayed, "fresh": fresh, "judge_start": first["judge_process_cpu"],
            "zygote_start": first.get("zygote_cpu", 0.0),
            "drawn_shares": judge_shares(drawn_profile), "replayed_shares": judge_shares(replayed_profile)}


def print_table(rows: dict[str, dict], guard_us: float, round_trip: tuple[float, float]) -> None:
    head = " ".join(f"{p:>10}" for p in JUDGE_PARTS)
    print(f"   {'':<26} {'judge (CPU-s)':^36} {'of the tests (share)':^65} {'worker':^32}")
    print(f"   {'assignment':<26} {'start':>8} {'collect':>8} {'tests':>8} {'total':>8}  {head} {'start':>8} {'calls':>6} "
          f"{'ms/call':>8} {'total':>8}  {'notebook':>8}")
    for examples in ("drawn", "replayed"):
        print(f"   examples {examples}:" + (" by hypothesis (a grading process's first notebook)" if examples == "drawn"
                                            else " as hypothesis drew them for an earlier notebook (every later one)"))
        for assignment, row in rows.items():
            cost, shares = row[examples], row[f"{examples}_shares"]
            calls = cost.get("calls", 0)
            start = cost.get("worker_ready_cpu", 0.0)
            per_call = (cost["worker_cpu"] - start) / calls * 1e3 if calls else 0.0
            judge = cost["judge_collect_cpu"] + cost["judge_tests_cpu"]
            parts = " ".join(f"{shares[p] * cost['judge_tests_cpu']:5.2f} {shares[p]:3.0%}" for p in JUDGE_PARTS)
            print(f"   {assignment:<26} {row['judge_start']:8.2f} {cost['judge_collect_cpu']:8.2f} {cost['judge_tests_cpu']:8.2f} "
                  f"{judge:8.2f}  {parts} {start:8.2f} {calls:6d} {per_call:8.2f} {cost['worker_cpu']:8.2f}  "
                  f"{notebook_cpu(cost):8.2f}")
    print("   judge start: its interpreter and imports, once per grading process (not in a notebook's total);\n"
          "   worker start: forked from the zygote, until it is ready; ms/call: its CPU per call")
    print(f"   CPU-s per notebook: a fresh sandbox per worker and examples drawn (before) -> workers forked from a "
          f"zygote (its start, {max(r['zygote_start'] for r in rows.values()):.1f} CPU-s, once per grading process) "
          f"-> and examples replayed (now):")
    for assignment, row in rows.items():
        before, forked, now = (notebook_cpu(row[k]) for k in ("fresh", "drawn", "replayed"))
        print(f"   {assignment:<26} {before:6.2f} -> {forked:6.2f} -> {now:6.2f}   ({now / before:.0%} of before)")
    print(f"   the built-in guard: {guard_us:.0f} µs of worker CPU per guarded call (matmul and softmax refused; "
          f"in one process, caches warm: the median of five rounds)")
    judge_us, worker_us = round_trip
    print(f"   the least a call costs (a function that returns its argument, unguarded): {judge_us:.0f} µs of "
          f"the judge's CPU and {worker_us:.0f} µs of the worker's;\n"
          f"   a notebook's calls at that cost (replayed), before any test code, reference, check or guard runs:")
    for assignment, row in rows.items():
        calls = row["replayed"].get("calls", 0)
        floor = calls * (judge_us + worker_us) / 1e6
        print(f"   {assignment:<26} {calls:6d} calls: {floor:5.2f} CPU-s of {notebook_cpu(row['replayed']):5.2f}")


def main(argv=None) -> int:
    known = assignments()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="*", metavar="ASSIGNMENT",
                        help=f"assignments to profile (default: all of {', '.join(known)})")
    chosen = parser.parse_args(argv).assignment or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:  # not argparse's choices=: Python 3.11 checks an empty nargs="*" against them
        parser.error(f"unknown assignment {', '.join(unknown)}; expected one of {', '.join(known)}")
    with tempfile.TemporaryDirectory(prefix="grading-profile-") as tmp:
        rows = {a: profile_assignment(a, Path(tmp)) for a in chosen}
    print("Where one notebook's grading CPU goes (our solution; judge start excluded):")
    print_table(rows, guard_cost_us(), round_trip_us())
    return 0


if __name__ == "__main__":
    sys.exit(main())
