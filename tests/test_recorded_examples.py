"""Examples recorded once per release (``instructor.record_examples``): every grading process
replays them from its first notebook, with exactly the grades of drawing them; a stale or
missing recording is drawn afresh, with the same grades again."""
from __future__ import annotations

import lzma
import pickle
from pathlib import Path

import nbformat
import pytest

from autograder.engine.judge.example_replay import RECORDING_NAME, read_recording
from autograder.engine.nbgrader_side.judge_client import stop_all
from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, program_cells
from autograder.simulated_class import build_submission, load_cases
from instructor.nbgrader_cli import make_course
from instructor.paths import ROOT, assignments, notebook_of
from instructor.record_examples import staleness

ASSIGNMENT = "01_normalization"
MISTAKES = ("unbiased_std", "per_image_stats")  # each fails properties, so hypothesis shrinks


@pytest.mark.parametrize("assignment", assignments())
def test_the_committed_recording_is_fresh(assignment):
    """Regenerate with ``python -m instructor.record_examples <id>`` (release does it)."""
    assert staleness(assignment) is None


def _hypothesis_tests(path: Path) -> set[str]:
    """The test functions of a hidden test file that hypothesis runs (decorated with @given)."""
    import ast

    def given(decorator) -> bool:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        return (func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")) == "given"

    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test")
            and any(given(d) for d in node.decorator_list)}


@pytest.mark.parametrize("assignment", assignments())
def test_every_hypothesis_test_is_in_the_committed_recording(assignment):
    """A test left out of the recording (its examples could not be written) is drawn afresh by
    the first notebook of every grading process."""
    folder = ROOT / "autograder" / "hidden" / assignment
    recorded = {nodeid.split("::", 1)[1].split("[", 1)[0]
                for nodeid, _, _ in read_recording(folder / RECORDING_NAME)["kept"]}
    expected = set().union(*(_hypothesis_tests(path) for path in folder.glob("test_*.py")))
    assert expected and expected - recorded == set()


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The course's grading files, copied: this test changes the recording of its copy only."""
    return make_course(tmp_path_factory.mktemp("recorded") / "course")


def grade(course: Path, case_name: str, *, replay: bool = True) -> dict:
    """One notebook graded by a fresh grading process (a new judge: nothing kept in memory)."""
    stop_all()
    source_nb = nbformat.read(notebook_of(ASSIGNMENT, course), as_version=4)
    case = next(c for c in load_cases(ASSIGNMENT, course / "autograder" / "simulated_class") if c.name == case_name)
    grader = GradeWithHiddenTests.configured(str(course), replay_examples=replay)
    try:
        return grader.run_hidden_tests(str(course / "autograder" / "hidden" / ASSIGNMENT),
                                       program_cells(source_nb, build_submission(case, source_nb, source_nb)),
                                       grader.sandbox_or_refuse())
    finally:
        stop_all()


def verdicts(results: dict) -> list[dict]:
    return [{k: r.get(k) for k in ("test", "cell", "passed", "message", "example")} for r in results["tests"]]


def test_a_first_notebook_replays_the_recording_and_gets_the_grades_of_a_fresh_draw(course):
    drawn = {name: verdicts(grade(course, name, replay=False)) for name in MISTAKES}
    recording = course / "autograder" / "hidden" / ASSIGNMENT / RECORDING_NAME
    assert recording.exists()
    for name in MISTAKES:
        results = grade(course, name)
        assert results["examples"]["replayed"] >= 10, results["examples"]  # from its first notebook
        assert results["examples"]["recorded"] == 0
        assert verdicts(results) == drawn[name]
        assert any(not v["passed"] for v in drawn[name])

    # Stale (recorded by another judge): ignored, every example drawn, the same grades.
    payload = read_recording(recording)
    payload["stamp"]["hypothesis"] = "0.0.0"
    recording.write_bytes(lzma.compress(pickle.dumps(payload)))
    results = grade(course, MISTAKES[0])
    assert results["examples"]["replayed"] == 0
    assert verdicts(results) == drawn[MISTAKES[0]]


def test_an_unreadable_or_missing_recording_is_no_recording(tmp_path):
    from autograder.engine.judge import example_replay

    assert example_replay.load_recording(tmp_path, ROOT) == "no recording"
    (tmp_path / RECORDING_NAME).write_bytes(b"not a pickle")
    assert "unreadable" in example_replay.load_recording(tmp_path, ROOT)
