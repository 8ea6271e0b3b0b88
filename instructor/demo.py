"""The main job: generate every assignment, grade a simulated class on the parallel path,
print the grade table and the figures, write feedback.

By default each assignment's small representative class is graded (our solution, the blank
notebook, a few typical mistakes, a correct variant, an attack: see
``autograder/simulated_class/representative.py``); ``--full`` grades every case of the
simulated classes (``autograder/simulated_class/``). Grading runs on a Dask LocalCluster
through nbgrader's own Autograde (``instructor.grade_class``); ``--serial`` grades with
plain ``nbgrader autograde`` instead. Each case says what it must score, and the table
says whether it did.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from autograder.simulated_class import load_cases
from autograder.simulated_class.representative import representative_cases
from instructor import nbgrader_cli
from instructor.grade_class import course_api, grade_assignments, print_class_report
from instructor.paths import ROOT, assignments


def logged(log: Path, what: str, result: dict, check: bool = True) -> None:
    """Append an in-process nbgrader step's log to nbgrader's log; a failed step stops the job."""
    with open(log, "a") as f:
        f.write(f"$ nbgrader {what}\n{result.get('log', '')}{result.get('error', '')}\n")
    if check and not result["success"]:
        raise nbgrader_cli.NbgraderFailed(f"nbgrader {what} failed:\n{result.get('error', '')[-4000:]}")


def held_for_review(course: Path, assignment: str) -> dict[str, set]:
    """student -> the check cells FlagInternals holds for manual grading (the source uses internals)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student_id: {g.name for g in nb.grades if g.needs_manual_grade and g.cell_type == "code"}
                for s in gb.assignment_submissions(assignment) for nb in s.notebooks}


def print_table(assignment: str, cases, grades, held: dict | None = None) -> int:
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
        problems = nbgrader_cli.check_case(case, grades)
        cells = (held or {}).get(case.name)
        if cells and case.kind != "attack":  # no honest submission may be flagged
            problems.append(f"flagged for review ({len(cells)} check cells held), but it is a {case.kind}")
        failures += bool(problems)
        verdict = "yes" if not problems else "NO: " + "; ".join(problems)
        flag = f"  [FLAGGED: {len(cells)} check cell(s) held for review]" if cells else ""
        print(f"  {case.name:<28} {case.kind:<9} {score:>11}  {verdict}{flag}")
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "demo",
                        help="where the course folder, feedback and log go (default: build/demo)")
    parser.add_argument("--full", action="store_true",
                        help="grade every case of the simulated classes, not the small representative ones")
    parser.add_argument("--serial", action="store_true",
                        help="grade with plain `nbgrader autograde`, one submission after another")
    parser.add_argument("--workers", type=int, help="Dask worker processes (default: the usable cores)")
    args = parser.parse_args(argv)
    which = args.assignments or assignments()

    course = nbgrader_cli.make_course(args.out / "course")
    log = args.out / "nbgrader.log"
    log.write_text("")
    start = time.monotonic()
    api = course_api(str(course))  # nbgrader in this process: generate and feedback pay its imports once
    classes = {a: load_cases(a) if args.full else representative_cases(a) for a in which}
    for assignment in tqdm(which, desc="generating", unit="assignment", file=sys.stderr):
        logged(log, f"generate_assignment {assignment} --force", api.generate_assignment(assignment, force=True))
        if classes[assignment]:
            nbgrader_cli.submit_class(course, assignment, classes[assignment])
    generated = time.monotonic()

    graded = [a for a in which if classes[a]]
    reports = {}
    if args.serial:
        for assignment in graded:
            nbgrader_cli.autograde(course, assignment, [c.name for c in classes[assignment]], log=log)
    else:
        reports = grade_assignments(course, graded, workers=args.workers, log=log)
    grading_done = time.monotonic()
    for assignment in graded:
        logged(log, f"generate_feedback {assignment} --force", api.generate_feedback(assignment, force=True),
               check=False)
    finished = time.monotonic()

    failures = 0
    summary, held = {}, {}
    for assignment in which:
        grades = nbgrader_cli.read_grades(course, assignment) if classes[assignment] else {}
        held[assignment] = held_for_review(course, assignment) if classes[assignment] else {}
        failures += print_table(assignment, classes[assignment], grades, held[assignment])
        summary[assignment] = grades
    students = sorted({s for grades in summary.values() for s in grades})
    print("\nGrade table (points; blank where the student has no submission; * flagged: the source uses "
          "internals no exercise needs, check cells held for review in the formgrader)")
    print(f"  {'student':<28}" + "".join(f"{a[:10]:>12}" for a in which))
    for student in students:
        row = "".join((f"{summary[a][student].score:g}" + ("*" if held[a].get(student) else "")).rjust(12)
                      if student in summary[a] else " " * 12 for a in which)
        print(f"  {student:<28}{row}")

    notebooks = sum(len(classes[a]) for a in graded)
    grading_s = grading_done - generated
    how = "plain `nbgrader autograde`, serially" if args.serial else \
        f"{next(iter(reports.values())).workers if reports else 0} Dask worker(s)"
    print(f"\nFigures ({'full' if args.full else 'representative'} classes)")
    print(f"  generate {len(which)} assignment(s): {generated - start:6.0f} s")
    print(f"  grade {notebooks} submission(s) on {how}: {grading_s:6.0f} s "
          f"({60 * notebooks / max(grading_s, 1e-9):.1f} per minute)")
    print(f"  generate feedback: {finished - grading_done:6.0f} s")
    slowest = sorted(((o.seconds, o.cpu_seconds, a, o.student) for a, r in reports.items() for o in r.of("graded")),
                     reverse=True)[:3]
    if slowest:  # where a run's wall time goes: a time limit waited out, a training loop
        print("  slowest: " + "; ".join(f"{a} {s} {wall:.0f} s ({cpu:.1f} CPU-s)" for wall, cpu, a, s in slowest))
    for assignment, report in reports.items():
        done = report.of("graded")
        if done:
            print(f"  {assignment:<26} {sum(o.cpu_seconds for o in done) / len(done):5.1f} CPU-s per notebook")
        for outcome in report.of("failed"):
            failures += 1
            print(f"  {assignment}: grading FAILED for {outcome.student}: {outcome.error}")
    print(f"\nFeedback: {course / 'feedback'}/<student>/<assignment>/*.html")
    print_class_report(course, graded)
    print(f"nbgrader's log: {log}")
    print(f"Done in {finished - start:.0f} s; "
          f"{'every case scored as expected' if not failures else f'{failures} case(s) did NOT score as expected'}")
    return 1 if failures else 0


if __name__ == "__main__":
    # As the importable module, so that Dask sends the grading task by reference (see grade_class).
    from instructor.demo import main as module_main
    sys.exit(module_main())
