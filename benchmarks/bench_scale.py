"""Grading a class at scale: plain serial `nbgrader autograde` against the parallel path.

    python benchmarks/bench_scale.py            # a class of 60 submissions of 01_normalization
    python benchmarks/bench_scale.py --quick    # a class of 6, one submission per task mode

Prints, in one run:
1. the cost of one Dask task's way of grading a submission: nbgrader's Autograde in the
   worker process (what ``instructor.grade_class`` does) against ``nbgrader autograde
   --student`` started per submission;
2. CPU-seconds per notebook of each assignment (our solution, graded on the parallel path):
   a worker's first notebook of an assignment (its judge's start, examples drawn) and every
   later one (examples replayed); and where they go: the judge's parts and the worker's
   start and calls, profiled (``benchmarks/grading_profile.py``; with --quick only the
   class's assignment);
3. the wall time of grading the same class (the assignment's representative cases, cycled
   to ``--students`` students) serially with plain ``nbgrader autograde`` and in parallel
   on ``--workers`` Dask workers, their ratio, CPU-seconds per notebook, and whether the
   two grade tables are identical;
4. a projection for 300 students x every notebook of the course on 2, 16 and 64 cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.simulated_class import Case, load_cases  # noqa: E402
from autograder.simulated_class.representative import representative_cases  # noqa: E402
from instructor import nbgrader_cli  # noqa: E402
from instructor.grade_class import (course_api, grade_assignments, process_tree_cpu_seconds,  # noqa: E402
                                    usable_cores)
from instructor.paths import assignments  # noqa: E402

import grading_profile  # noqa: E402  (beside this file)

PROJECTED_STUDENTS = 300
PROJECTED_CORES = (2, 16, 64)


def solution_copies(workers: int) -> int:
    """Copies of our solution per assignment in step 2: at least two beyond each worker's first."""
    return 3 * workers


def first_and_later(graded: list) -> tuple[list[float], list[float]]:
    """CPU-seconds of each worker's first notebook and of every later one (outcomes in the
    order they finished: a Dask worker of one thread grades one notebook after another)."""
    first, later, seen = [], [], set()
    for outcome in graded:
        (later if outcome.worker in seen else first).append(outcome.cpu_seconds)
        seen.add(outcome.worker)
    return first, later or first


def adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (Linux's child subreaper).

    An `nbgrader` command leaves the engine's persistent judge to finish on its own after it
    exits; adopted and waited for here, its CPU time counts in :func:`children_cpu`.
    """
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def children_cpu() -> float:
    """CPU-seconds of the finished processes this one started (a whole `nbgrader` command)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_command(run) -> tuple[float, float]:
    """(wall seconds, CPU-seconds) of ``run()``, which runs commands, and of all they started."""
    import psutil

    before_children = {child.pid for child in psutil.Process().children()}
    before_cpu, start = children_cpu(), time.monotonic()
    run()
    for orphan in psutil.Process().children():  # adopted: what the commands left running
        if orphan.pid not in before_children:
            os.waitpid(orphan.pid, 0)
    return time.monotonic() - start, children_cpu() - before_cpu


def cycled_class(assignment: str, students: int) -> list[Case]:
    """``students`` submissions: the representative cases, again and again, each a student of its own."""
    cases = representative_cases(assignment) or load_cases(assignment)
    return [dataclasses.replace(cases[i % len(cases)], name=f"s{i:03d}_{cases[i % len(cases)].name}")
            for i in range(students)]


def course_with(where: Path, classes: dict[str, list[Case]]) -> Path:
    course = nbgrader_cli.make_course(where)
    for assignment, cases in classes.items():
        nbgrader_cli.generate(course, assignment)
        nbgrader_cli.submit_class(course, assignment, cases)
    return course


def task_modes(where: Path, assignment: str, count: int) -> dict[str, list[float]]:
    """CPU-seconds per submission of each way a Dask task can grade one, on the same submissions."""
    cases = cycled_class(assignment, count)
    course = course_with(where, {assignment: cases})
    costs = {"command": [], "in-process": []}
    for case in cases:  # `nbgrader autograde --student`: a new process per submission
        costs["command"].append(timed_command(lambda: nbgrader_cli.nbgrader(
            course, "autograde", assignment, "--student", case.name, "--force"))[1])
    before = process_tree_cpu_seconds()
    api = course_api(str(course))  # nbgrader, its configuration and the engine's imports: once per worker
    costs["imports"] = [process_tree_cpu_seconds() - before]
    for case in cases:
        before = process_tree_cpu_seconds()
        result = api.autograde(assignment, case.name, force=True, create=True)
        assert result["success"], result.get("error")
        costs["in-process"].append(process_tree_cpu_seconds() - before)
    return costs


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="01_normalization", help="the class's assignment")
    parser.add_argument("--students", type=int, default=60, help="submissions in the class (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers of the parallel run (default 2)")
    parser.add_argument("--quick", action="store_true", help="a class of 6, one submission per task mode")
    parser.add_argument("--no-profile", action="store_true",
                        help="step 2 without the profile table (benchmarks/grading_profile.py prints it alone)")
    args = parser.parse_args(argv)
    students = 6 if args.quick else args.students
    mode_sample = 1 if args.quick else 3
    started = time.monotonic()
    adopt_orphans()
    print(f"bench_scale: {os.cpu_count()} CPUs here, {usable_cores()} usable; "
          f"load average at start {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)",
          flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tmp = Path(tmp)
        # 1. One task's way of grading one submission.
        modes = task_modes(tmp / "modes", args.assignment, mode_sample)
        print(f"\n1. One Dask task, one submission of {args.assignment} (CPU-s, mean of {mode_sample}):")
        print(f"   `nbgrader autograde --student` per submission : {mean(modes['command']):6.1f}")
        print(f"   nbgrader's Autograde in the worker process     : {mean(modes['in-process']):6.1f}"
              f"   (+ {modes['imports'][0]:.1f} once per worker for imports and configuration)")

        # 2. CPU-seconds per notebook of each assignment: our solution, on the parallel path.
        # A Dask worker's first notebook of an assignment pays for its judge and for drawing the
        # examples; every later one replays them. Enough copies that each worker grades some later.
        copies = solution_copies(args.workers)
        solution = {a: [dataclasses.replace(c, name=f"solution{i}") for c in load_cases(a) if c.name == "solution"
                        for i in range(copies)] for a in assignments()}
        solution = {a: cases for a, cases in solution.items() if cases}
        course = course_with(tmp / "per_assignment", solution)
        reports = grade_assignments(course, list(solution), workers=args.workers, log=tmp / "per_assignment.log")
        failed = [f"{a}: {o.error}" for a, r in reports.items() for o in r.of("failed")]
        assert not failed, failed
        split = {a: first_and_later(r.of("graded")) for a, r in reports.items()}
        per_notebook = {a: statistics.median(later) for a, (_, later) in split.items()}
        first_extra = {a: max(0.0, statistics.median(first) - per_notebook[a]) for a, (first, _) in split.items()}
        print(f"\n2. CPU-s to grade one notebook (our solution, {copies} copies on {args.workers} workers), per assignment:")
        print(f"   {'':<26} {'later':>6}  {'first on a worker':>17}")
        for assignment, later in per_notebook.items():
            print(f"   {assignment:<26} {later:6.1f}  {later + first_extra[assignment]:17.1f}")
        per_student = sum(per_notebook.values())
        per_worker = sum(first_extra.values())
        print(f"   {'one student, every notebook':<26} {per_student:6.1f}  "
              f"(+ {per_worker:.1f} once per worker: judges' starts and drawn examples)")
        profiled = [] if args.no_profile else [args.assignment] if args.quick else list(solution)
        if profiled:
            print("   Where it goes (the engine alone, without nbgrader's pipeline; judge start excluded):", flush=True)
            grading_profile.print_table({a: grading_profile.profile_assignment(a, tmp) for a in profiled},
                                        grading_profile.guard_cost_us())

        # 3. The same class, serially with plain nbgrader and in parallel.
        cases = cycled_class(args.assignment, students)
        serial_course = course_with(tmp / "serial", {args.assignment: cases})
        parallel_course = course_with(tmp / "parallel", {args.assignment: cases})
        serial_s, serial_cpu = timed_command(
            lambda: nbgrader_cli.autograde(serial_course, args.assignment, [c.name for c in cases]))
        start = time.monotonic()
        report = grade_assignments(parallel_course, [args.assignment], workers=args.workers,
                                   log=tmp / "parallel.log")[args.assignment]
        parallel_s = time.monotonic() - start  # the cluster's start and the gradebook's preparation included
        task_cpu = sum(o.cpu_seconds for o in report.outcomes)
        serial_grades = nbgrader_cli.read_grades(serial_course, args.assignment)
        parallel_grades = nbgrader_cli.read_grades(parallel_course, args.assignment)
        differ = sorted(s for s in serial_grades.keys() | parallel_grades.keys()
                        if serial_grades.get(s) != parallel_grades.get(s))
        same = not differ
        print(f"\n3. A class of {students} submissions of {args.assignment}:")
        print(f"   serial, plain `nbgrader autograde`      : {serial_s:7.1f} s wall, "
              f"{serial_cpu / students:5.1f} CPU-s per notebook")
        print(f"   parallel, {report.workers} Dask workers (grade_class) : {parallel_s:7.1f} s wall, "
              f"{task_cpu / students:5.1f} CPU-s per notebook")
        print(f"   speed-up: {serial_s / parallel_s:.2f}x   failed: {len(report.of('failed'))}   "
              f"grade tables identical: {'yes' if same else 'NO'}")
        for student in differ:
            print(f"   differs: {student}: serial {serial_grades.get(student)}, parallel {parallel_grades.get(student)}")

    # 4. Projection: every core as busy as the workers were in the parallel run, one worker per
    # core, each paying its first notebook of every assignment once.
    busy = task_cpu / (report.workers * parallel_s)
    notebooks = PROJECTED_STUDENTS * len(per_notebook)
    print(f"\n4. Projection: {PROJECTED_STUDENTS} students x {len(per_notebook)} notebooks = {notebooks} notebooks, "
          f"{per_student:.1f} CPU-s per student and {per_worker:.1f} per worker (step 2), "
          f"cores {busy:.0%} busy as in step 3:")
    print(f"   {'cores':>5}  {'wall time':>10}  {'per notebook':>12}")
    for cores in PROJECTED_CORES:
        wall = (PROJECTED_STUDENTS * per_student + cores * per_worker) / (cores * busy)
        print(f"   {cores:>5}  {wall / 60:8.1f} min  {wall / notebooks:10.2f} s")
    print(f"\nbench_scale took {time.monotonic() - started:.0f} s")
    return 0 if same and report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
