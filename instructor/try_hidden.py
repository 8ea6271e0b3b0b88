"""Run an assignment's hidden tests directly against our solution or one simulated
case, without nbgrader: the quick loop for writing hidden tests.

    python -m instructor.try_hidden 01_normalization            # our solution
    python -m instructor.try_hidden 01_normalization unbiased_std
    python -m instructor.try_hidden 01_normalization --check [CASE ...]   # cases against what they must score

``--check`` grades the named cases of the simulated class (every case but attacks and broken
files when none is named) in one judge, and says of each whether the cells it lost are those
it must lose (``fails``, ``breaks``, ``rest_full``, ``full``, ``zero``): what tests/test_grading.py
checks through nbgrader, in a fraction of the time. ``--max-examples N`` overrides the course's
examples per property for either: whether fewer would still catch every mistake of the class.
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import nbformat

from autograder.engine.nbgrader_side.judge_client import stop_all
from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, feedback_output, program_cells
from autograder.simulated_class import Case, build_submission, load_cases
from instructor.paths import HIDDEN_TESTS, ROOT, notebook_of


def run(assignment: str, case_name: str = "solution", max_examples: int | None = None,
        limits: dict | None = None, replay_examples: bool = True, case: Case | None = None,
        settings: dict | None = None) -> dict:
    """The judge's results for one simulated case, graded as nbgrader's autograde step
    grades (same preprocessor, judge, sandbox, limits and settings), without nbgrader;
    ``max_examples`` overrides the course's setting, ``limits`` some of the course's limits
    (e.g. ``{"forked_workers": False}``), ``settings`` some of its engine settings (e.g.
    ``{"calls_ahead": 1}``); with
    ``replay_examples`` False, hypothesis draws every example afresh; ``case``: a case of
    the caller's instead of the simulated class's ``case_name``."""
    source_nb = nbformat.read(notebook_of(assignment), as_version=4)
    if case is None:
        cases = {c.name: c for c in load_cases(assignment)}
        case = cases.get(case_name) or Case(case_name, "our solution")
    released = ROOT / "release" / assignment / notebook_of(assignment).name
    # The student's notebook: the committed release (its stubs, for the blank case), or the
    # source where the release is not generated yet.
    release_nb = nbformat.read(released, as_version=4) if released.exists() else source_nb
    submission = build_submission(case, source_nb, release_nb)
    grader = GradeWithHiddenTests.configured(str(ROOT), replay_examples=replay_examples)
    if max_examples is not None:
        grader.settings = {**grader.settings, "max_examples": max_examples}
    if limits:
        grader.limits = {**grader.limits, **limits}
    if settings:
        grader.settings = {**grader.settings, **settings}
    return grader.run_hidden_tests(str(HIDDEN_TESTS / assignment), program_cells(source_nb, submission),
                                   grader.sandbox_or_refuse())


def cells_lost(results: dict) -> set[str]:
    by_cell = defaultdict(list)
    for record in results["tests"]:
        by_cell[record["cell"]].append(record["passed"])
    return {cell for cell, passed in by_cell.items() if not all(passed)}


def check(assignment: str, names: list[str], max_examples: int | None = None) -> int:
    """Grade these cases (default: every solution, blank, variant and mistake); print one line
    each, OK or BAD, with the cells lost and those it must lose; the number that are BAD.
    ``max_examples``: the course's setting overridden, to see whether fewer examples per
    property still catch every mistake of the simulated class."""
    cases = load_cases(assignment)
    chosen = [c for c in cases if c.name in names] if names else \
        [c for c in cases if c.kind in ("solution", "blank", "variant", "mistake")]
    unknown = set(names) - {c.name for c in chosen}
    if unknown:
        raise SystemExit(f"no case named {sorted(unknown)} in {assignment}'s simulated class")
    bad = 0
    for case in chosen:
        results = run(assignment, case=case, max_examples=max_examples)
        lost = cells_lost(results)
        every = {r["cell"] for r in results["tests"]}
        wrong = [f"kept {sorted(set(case.fails) - lost)}"] if set(case.fails) - lost else []
        if case.rest_full and lost - set(case.fails):
            wrong.append(f"also lost {sorted(lost - set(case.fails))}")
        if case.full and lost:
            wrong.append(f"lost {sorted(lost)} (full marks expected)")
        if case.zero and lost != every:
            wrong.append(f"kept {sorted(every - lost)} (zero expected)")
        bad += bool(wrong)
        rule = f" [breaks {case.breaks}]" if case.breaks else ""
        cost = results.get("cost", {})
        cpu = sum(cost.get(key, 0.0) for key in ("judge_collect_cpu", "judge_tests_cpu", "worker_cpu"))
        print(f"{'BAD' if wrong else 'OK '} {case.name}{rule} ({cpu:.1f} CPU-s): lost {sorted(lost)}"
              + (f"; {'; '.join(wrong)}" if wrong else ""), flush=True)
    return bad


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("case", nargs="*", default=[])
    parser.add_argument("--max-examples", type=int, default=None,
                        help="hypothesis examples per property (default: the course's setting)")
    parser.add_argument("--check", action="store_true", help="grade the cases and compare with what they must score")
    args = parser.parse_intermixed_args(argv)
    if args.check:
        try:
            raise SystemExit(1 if check(args.assignment, args.case, args.max_examples) else 0)
        finally:
            stop_all()
    if len(args.case) > 1:
        parser.error("name one case, or use --check for several")
    args.case = args.case[0] if args.case else "solution"
    try:
        results = run(args.assignment, args.case, args.max_examples)
    finally:
        stop_all()
    by_cell = defaultdict(list)
    for record in results["tests"]:
        by_cell[record["cell"]].append(record)
    for cell, records in by_cell.items():
        output = feedback_output(records)
        print(f"\n[{cell}] {'PASS' if output.output_type == 'stream' else 'FAIL'}")
        print(output.text if output.output_type == "stream" else "\n".join(output.traceback))
    for problem in results["collection_errors"] + results["sandbox_gaps"]:
        print("!!", problem)


if __name__ == "__main__":
    main()
