"""Run an assignment's hidden tests directly against our solution or one simulated
case, without nbgrader: the quick loop for writing hidden tests.

    python -m instructor.try_hidden 01_normalization            # our solution
    python -m instructor.try_hidden 01_normalization unbiased_std
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import nbformat

from autograder.engine.judge_server import stop_all
from autograder.engine.preprocessor import GradeWithHiddenTests, feedback_output, program_cells
from autograder.engine.student_proxy import MAX_EXAMPLES
from autograder.simulated_class import Case, build_submission, load_cases
from instructor.paths import HIDDEN_TESTS, ROOT, notebook_of


def run(assignment: str, case_name: str = "solution", max_examples: int = MAX_EXAMPLES,
        limits: dict | None = None, replay_examples: bool = True, case: Case | None = None) -> dict:
    """The judge's results for one simulated case, graded as nbgrader's autograde step
    grades (same preprocessor, judge, sandbox and limits), without nbgrader; ``limits``
    overrides some of the course's limits (e.g. ``{"forked_workers": False}``); with
    ``replay_examples`` False, hypothesis draws every example afresh; ``case``: a case of
    the caller's instead of the simulated class's ``case_name``."""
    source_nb = nbformat.read(notebook_of(assignment), as_version=4)
    if case is None:
        cases = {c.name: c for c in load_cases(assignment)}
        case = cases.get(case_name) or Case(case_name, "our solution")
    submission = build_submission(case, source_nb, source_nb)
    grader = GradeWithHiddenTests.configured(str(ROOT), max_examples=max_examples,
                                            replay_examples=replay_examples)
    if limits:
        grader.limits = {**grader.limits, **limits}
    return grader.run_hidden_tests(str(HIDDEN_TESTS / assignment), program_cells(source_nb, submission),
                                   grader.sandbox_or_refuse())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("case", nargs="?", default="solution")
    parser.add_argument("--max-examples", type=int, default=MAX_EXAMPLES)
    args = parser.parse_args(argv)
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
