"""Seconds to autograde one submission of 01_normalization with the grading engine
(hidden tests out of the kernel) and with plain nbgrader (the notebook executed in
the student's kernel, its visible check cells as the tests), and their ratio.

    python benchmarks/bench_autograde.py [--repeats 3] [--assignment 01_normalization]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.simulated_class import Case  # noqa: E402
from instructor import grading  # noqa: E402

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


def time_autograde(course: Path, assignment: str, repeats: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        grading.nbgrader(course, "autograde", assignment, "--student=solution", "--force")
        seconds.append(time.perf_counter() - start)
    score = grading.read_grades(course, assignment)["solution"]
    return statistics.median(seconds), score.score / score.max_score


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="01_normalization")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for label in ("grading engine", "plain nbgrader"):
            course = grading.make_course(Path(tmp) / label.replace(" ", "_"))
            if label == "plain nbgrader":
                (course / "nbgrader_config.py").write_text(PLAIN_CONFIG)
            grading.generate(course, args.assignment)
            grading.submit_class(course, args.assignment, [Case("solution", "our solution")])
            results[label] = time_autograde(course, args.assignment, args.repeats)
    engine, plain = results["grading engine"], results["plain nbgrader"]
    print(f"autograde one submission of {args.assignment} (median of {args.repeats}):")
    for label, (seconds, fraction) in results.items():
        print(f"  {label:<15} {seconds:6.2f} s   score {fraction:.0%}")
    print(f"  ratio engine / plain: {engine[0] / plain[0]:.2f}")


if __name__ == "__main__":
    main()
