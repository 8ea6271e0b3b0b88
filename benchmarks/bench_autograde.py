"""Seconds to autograde one submission of 01_normalization with the grading engine
(hidden tests out of the kernel) and with plain nbgrader (the notebook executed in
the student's kernel, its visible check cells as the tests), and their ratio; then
what the sandbox costs: starting a worker and running a notebook's answer cells in
bubblewrap against the same without it, measured in the same run; and, with
``--profile``, where one notebook's grading spends its CPU time, for every assignment.

    python benchmarks/bench_autograde.py [--repeats 3] [--assignment 01_normalization]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.simulated_class import Case  # noqa: E402
from instructor import nbgrader_cli  # noqa: E402

PLAIN_CONFIG = '''
c = get_config()
load_subconfig("course_config.py")
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)
# nbgrader 0.9.6's own pipeline: execute the notebook in the student's kernel.
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
'''


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_autograde(course: Path, assignment: str, repeats: int) -> tuple[float, float, float]:
    seconds, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), children_cpu()
        nbgrader_cli.nbgrader(course, "autograde", assignment, "--student=solution", "--force")
        seconds.append(time.perf_counter() - start)
        cpu.append(children_cpu() - start_cpu)
    score = nbgrader_cli.read_grades(course, assignment)["solution"]
    return statistics.median(seconds), statistics.median(cpu), score.score / score.max_score


def time_worker_start(assignment: str, sandboxed: bool, repeats: int) -> float:
    """Seconds from nothing to a worker that has run the solution's cells and answered a call."""
    import nbformat

    from autograder.engine.judge.student_proxy import Limits, Student, StudentProcess
    from autograder.simulated_class import build_submission
    from instructor.paths import notebook_of
    from autograder.engine.nbgrader_side.preprocessor import program_cells

    source = nbformat.read(notebook_of(assignment), as_version=4)
    cells = program_cells(source, build_submission(Case("s", ""), source, source))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        process = StudentProcess(cells, Limits(sandbox=sandboxed))
        Student(process).eval("1 + 1", label="probe")
        seconds.append(time.perf_counter() - start)
        process.stop()
    return statistics.median(seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="01_normalization")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="only the CPU profile, for every assignment")
    args = parser.parse_args(argv)
    if args.profile:  # the table benchmarks/grading_profile.py prints
        import grading_profile

        grading_profile.main([])
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for label in ("grading engine", "plain nbgrader"):
            course = nbgrader_cli.make_course(Path(tmp) / label.replace(" ", "_"))
            if label == "plain nbgrader":
                (course / "nbgrader_config.py").write_text(PLAIN_CONFIG)
            nbgrader_cli.generate(course, args.assignment)
            nbgrader_cli.submit_class(course, args.assignment, [Case("solution", "our solution")])
            results[label] = time_autograde(course, args.assignment, args.repeats)
    engine, plain = results["grading engine"], results["plain nbgrader"]
    print(f"autograde one submission of {args.assignment} (median of {args.repeats}):")
    for label, (seconds, cpu, fraction) in results.items():
        print(f"  {label:<15} {seconds:6.2f} s wall  {cpu:6.2f} s CPU   score {fraction:.0%}")
    print(f"  ratio engine / plain: {engine[0] / plain[0]:.2f} wall, {engine[1] / plain[1]:.2f} CPU")
    boxed = time_worker_start(args.assignment, True, args.repeats)
    bare = time_worker_start(args.assignment, False, args.repeats)
    print(f"a worker started and its answer cells run (median of {args.repeats}):")
    print(f"  in bubblewrap     {boxed:6.2f} s")
    print(f"  without sandbox   {bare:6.2f} s")
    print(f"  sandbox overhead: {boxed - bare:+.2f} s per worker (ratio {boxed / bare:.2f})")


if __name__ == "__main__":
    main()
