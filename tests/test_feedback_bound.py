"""The feedback's size is bounded whatever the submission does (issue 23, part 4; DESIGN.md 8):
what the worker sends is bounded where it is received (cell errors only for the cells the judge
sent, one per cell), and each check cell's feedback and the notebook's in all are bounded when
written (repeats folded, long messages cut, a note saying what was cut); an honest submission's
feedback is as before."""
import json

import nbformat
import pytest

from autograder import cell_conventions
from autograder.engine.nbgrader_side.judge_client import stop_all
from autograder.engine.shared.limits import Limits
from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, feedback_output, output_bytes, program_cells
from autograder.simulated_class import build_submission
from instructor.paths import HIDDEN_TESTS, ROOT, notebook_of
from tests.catalog import A01, CATALOG, FAKE_CELL_ERRORS, RENAMED_FAILS

LIMITS = Limits()


def failing(prop: str, message: str, example: str | None = None) -> dict:
    return {"property": prop, "passed": False, "message": message, "example": example}


def test_feedback_within_its_bounds_is_as_written():
    records = [failing("mean is right", "expected 1.0, got 2.0\n  (a second line)", "x=tensor([1., 3.])"),
               {"property": "empty input raises", "passed": True}]
    output = feedback_output(records)
    assert output.output_type == "error" and output.evalue == "mean is right"
    assert output.traceback == ["✗ mean is right", "    expected 1.0, got 2.0", "      (a second line)",
                                "    Smallest failing input:", "        x=tensor([1., 3.])", "✓ empty input raises"]
    passed = feedback_output([{"property": "a", "passed": True}, {"property": "b", "passed": True}])
    assert passed.text == "✓ a\n✓ b\n"


def test_a_long_message_is_cut_with_a_note():
    output = feedback_output([failing("p", "y" * 100_000)])
    kept = LIMITS.feedback_message_chars
    assert output.traceback[1] == "    " + "y" * kept + f" [... {100_000 - kept:,} characters cut]"


def test_a_check_cell_over_its_bound_is_folded_then_cut_with_a_note():
    many_lines = "\n".join(["the same line"] * 3000)
    records = [failing(f"property {i}", f"message {i % 2}\n" + many_lines) for i in range(4)]
    records += [failing(f"property {i}", f"message {i}: " + "z" * 4000) for i in range(4, 40)]
    records.append({"property": "a passing one", "passed": True})
    output = feedback_output(records)
    text = "\n".join(output.traceback)
    assert output_bytes(output) <= LIMITS.feedback_cell_bytes
    assert "    [the line above repeated" in text  # a run of one line, folded
    assert "    [the same message as for 'property 0']" in text  # a repeated message, folded
    assert all(f"✗ property {i}" in output.traceback for i in range(40))  # every failed property is named
    assert output.traceback[-2] == "✓ a passing one"
    assert output.traceback[-1].startswith("[... ") and output.traceback[-1].endswith(
        f"of details cut: the feedback of one check cell is limited to {LIMITS.feedback_cell_bytes:,} bytes]")


def test_the_notebook_feedback_is_bounded_in_all():
    source = nbformat.read(notebook_of(A01), as_version=4)
    checks = [c for c in source.cells if cell_conventions.is_check(c)]
    results = {"tests": [failing(f"{cell_conventions.grade_id(c)} {i}", f"{i}: " + "w" * 30_000)
                         | {"cell": cell_conventions.grade_id(c)} for c in checks for i in range(10)]}
    GradeWithHiddenTests.configured(str(ROOT)).write_outputs(source, results)
    outputs = [c.outputs[0] for c in checks]
    headers = sum(len(line.encode()) + 1 for o in outputs for line in o.traceback if line.startswith("✗"))
    total = sum(map(output_bytes, outputs))
    assert len(checks) * 10 * LIMITS.feedback_message_chars > 2 * LIMITS.feedback_bytes  # unbounded, far over
    assert total <= LIMITS.feedback_bytes + headers + 200 * len(checks), total
    last = outputs[-1].traceback
    assert last[-1].endswith(f"this notebook's feedback is limited to {LIMITS.feedback_bytes:,} bytes in all]")
    assert [line for line in last if line.startswith("✗")] == [f"✗ {cell_conventions.grade_id(checks[-1])} {i}"
                                                               for i in range(10)]


@pytest.fixture(scope="module")
def flooded():
    """The catalog's flood of forged cell errors, graded through the engine; its notebook with feedback."""
    case = next(e.case for e in CATALOG if e.case.name == "cat_flood_of_cell_errors")
    source = nbformat.read(notebook_of(A01), as_version=4)
    submission = build_submission(case, source, source)
    grader = GradeWithHiddenTests.configured(str(ROOT))
    cells = program_cells(source, submission)
    try:
        results = grader.run_hidden_tests(str(HIDDEN_TESTS / A01), cells, grader.sandbox_or_refuse())
    finally:
        stop_all()
    grader.write_outputs(submission, results)
    return cells, results, submission


def test_forged_cell_errors_are_accepted_only_for_cells_the_judge_sent(flooded):
    cells, results, _ = flooded
    assert set(results["cell_errors"]) <= {c.id for c in cells}, list(results["cell_errors"])[:5]
    assert len(json.dumps(results)) < 1 << 20


def test_a_flood_of_cell_errors_gets_bounded_feedback_and_its_own_score(flooded):
    _, results, submission = flooded
    by_cell = {}
    for record in results["tests"]:
        by_cell.setdefault(record["cell"], []).append(record["passed"])
    assert {cell for cell, passed in by_cell.items() if not all(passed)} == RENAMED_FAILS
    feedback = sum(output_bytes(c.outputs[0]) for c in submission.cells
                   if cell_conventions.is_check(c))
    # The 5000 forged errors held ~10 MB of text, listed once per failed property.
    assert FAKE_CELL_ERRORS * 2000 > 30 * LIMITS.feedback_bytes
    assert feedback <= LIMITS.feedback_bytes, feedback
    assert len(nbformat.writes(submission)) < 2 * LIMITS.feedback_bytes + len(nbformat.writes(
        nbformat.read(notebook_of(A01), as_version=4)))
    undefined = next(r for r in results["tests"] if r["cell"] == "mean_std_mean")
    assert undefined["message"].startswith("mean_std is not defined by your answer cells"), undefined["message"]
