"""The main job: generate every assignment, grade a simulated class with plain
``nbgrader autograde``, print the grade table, write feedback.

The class (``autograder/simulated_class/``) has our solution, a blank notebook,
correct solutions written differently, typical mistakes and attacks; each says
what it must score, and the table says whether it did.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder.simulated_class import load_cases
from instructor import grading
from instructor.paths import ROOT, assignments


def grade_assignment(course: Path, assignment: str, log: Path) -> tuple[list, dict]:
    cases = load_cases(assignment)
    grading.generate(course, assignment, log=log)
    if not cases:
        return [], {}
    grading.submit_class(course, assignment, cases)
    grading.autograde(course, assignment, [c.name for c in cases], log=log)
    grading.generate_feedback(course, assignment, log=log)
    return cases, grading.read_grades(course, assignment)


def print_table(assignment: str, cases, grades) -> int:
    print(f"\n{assignment}")
    by_hand = max((len(g.by_hand) for g in grades.values()), default=0)
    if by_hand:
        print(f"  (autograded points; {by_hand} written answers per notebook wait for grading by hand "
              f"in the formgrader)")
    print(f"  {'student':<28} {'kind':<9} {'score':>11}  as expected?")
    failures = 0
    for case in cases:
        grade = grades.get(case.name)
        score = f"{grade.auto_score:g} / {grade.auto_max_score:g}" if grade else "not graded"
        problems = grading.check_case(case, grades)
        failures += bool(problems)
        verdict = "yes" if not problems else "NO: " + "; ".join(problems)
        print(f"  {case.name:<28} {case.kind:<9} {score:>11}  {verdict}")
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "demo",
                        help="where the course folder, feedback and log go (default: build/demo)")
    args = parser.parse_args(argv)
    which = args.assignments or assignments()

    course = grading.make_course(args.out / "course")
    log = args.out / "nbgrader.log"
    log.write_text("")
    start = time.monotonic()
    failures = 0
    summary = {}
    for assignment in which:
        cases, grades = grade_assignment(course, assignment, log)
        failures += print_table(assignment, cases, grades)
        summary[assignment] = grades
    students = sorted({s for grades in summary.values() for s in grades})
    print("\nGrade table (points; blank where the student has no submission)")
    print(f"  {'student':<28}" + "".join(f"{a[:10]:>12}" for a in which))
    for student in students:
        row = "".join(f"{summary[a][student].score:>12g}" if student in summary[a] else " " * 12 for a in which)
        print(f"  {student:<28}{row}")
    print(f"\nFeedback: {course / 'feedback'}/<student>/<assignment>/*.html")
    print(f"nbgrader's log: {log}")
    print(f"Graded in {time.monotonic() - start:.0f} s; "
          f"{'every case scored as expected' if not failures else f'{failures} case(s) did NOT score as expected'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
