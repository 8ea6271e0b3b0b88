"""The class report of a class of 300: how long it takes.

    python benchmarks/bench_class_report.py                 # grade a small class of 01, copy it to 300, report
    python benchmarks/bench_class_report.py --students 1000
    python benchmarks/bench_class_report.py --course DIR    # a graded course of your own (01 graded there)

Grades a small simulated class of 01_normalization once with plain ``nbgrader autograde``
(our solution, the blank notebook and four typical mistakes), copies it to ``--students``
students (``benchmarks/scaled_class.py``: gradebook rows and results files, nothing graded
again), then prints the seconds the report takes: reading, analysing, pictures and pages.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ASSIGNMENT = "01_normalization"
CASES = ("solution", "blank", "unbiased_std", "no_clamp", "per_image_stats", "normalize_swapped")


def graded_small_class(out: Path) -> Path:
    from autograder.simulated_class import load_cases
    from instructor import nbgrader_cli

    course = nbgrader_cli.make_course(out / "course")
    nbgrader_cli.generate(course, ASSIGNMENT)
    cases = [c for c in load_cases(ASSIGNMENT) if c.name in CASES]
    nbgrader_cli.submit_class(course, ASSIGNMENT, cases)
    nbgrader_cli.autograde(course, ASSIGNMENT, [c.name for c in cases])
    return course


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--course", type=Path, help="a course folder where 01_normalization is graded already "
                        "(copied first: it is left as it is)")
    args = parser.parse_args(argv)
    from benchmarks.scaled_class import scale_class
    from instructor import nbgrader_cli
    from instructor.class_report import write_reports

    with tempfile.TemporaryDirectory(prefix="bench-class-report-") as tmp:
        started = time.monotonic()
        course = (nbgrader_cli.copy_course(args.course.resolve(), Path(tmp) / "course") if args.course
                  else graded_small_class(Path(tmp)))
        graded = time.monotonic()
        db_url = f"sqlite:///{course / 'gradebook.db'}"
        scale_class(db_url, course, ASSIGNMENT, args.students)
        copied = time.monotonic()
        index = write_reports(course, [ASSIGNMENT], out=Path(tmp) / "reports")
        reported = time.monotonic()
        size = sum(p.stat().st_size for p in index.parent.iterdir())
    if not args.course:
        print(f"graded the small class ({len(CASES)} submissions): {graded - started:.0f} s")
    print(f"copied to {args.students} more students: {copied - graded:.1f} s")
    print(f"class report of {args.students}+ submissions: {reported - copied:.1f} s ({size / 1e6:.1f} MB of pages and CSVs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
