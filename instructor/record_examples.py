"""Record each hidden test's examples once per release, so that every grading process
replays them from its first notebook instead of drawing them (``example_replay.py``).

    python -m instructor.record_examples [ASSIGNMENT ...]     # default: every assignment

``instructor.release`` runs it after regenerating the notebooks. It grades our solution with
the course's own grader (``record_examples``), which writes
``autograder/hidden/<id>/recorded_examples.pickle.xz``, and ``worker_imports.txt``, what our
solution's worker imported beyond a worker's start (``shared/worker_imports.py``): both
instructor-only, like the tests beside them.
A recording that no longer matches (a test edited, hypothesis or torch upgraded) is ignored
by the judge, which draws as if there were none: grades never depend on it, only cost does.
"""
from __future__ import annotations

import argparse
import hashlib
import sys

import nbformat

from autograder.engine.judge.example_replay import RECORDING_NAME, read_recording, recording_stamp
from autograder.engine.nbgrader_side.judge_client import stop_all
from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, program_cells
from instructor.paths import HIDDEN_TESTS, ROOT, assignments, notebook_of


class RecordingFailed(RuntimeError):
    pass


def record(assignment: str) -> int:
    """Grade our solution and write its examples beside the hidden tests; how many tests."""
    source_nb = nbformat.read(notebook_of(assignment), as_version=4)
    grader = GradeWithHiddenTests.configured(str(ROOT), record_examples=True)
    results = grader.run_hidden_tests(str(HIDDEN_TESTS / assignment), program_cells(source_nb, source_nb),
                                      grader.sandbox_or_refuse())
    failed = [r["test"] for r in results["tests"] if not r["passed"]]
    if failed or results["collection_errors"]:
        raise RecordingFailed(f"{assignment}: our solution must pass every hidden test to record its examples; "
                              f"failed {failed}, collection errors {results['collection_errors']}")
    unwritable = results["examples"].get("unwritable", [])
    if unwritable:
        raise RecordingFailed(f"{assignment}: the examples of {', '.join(unwritable)} cannot be written (they hold "
                              f"what pickle cannot write, a lambda say: use autograder.testing.SourceFunction)")
    return len(results["tests"])


def staleness(assignment: str) -> str | None:
    """Why the committed recording of ``assignment`` would not be used, or None when it would."""
    path = HIDDEN_TESTS / assignment / RECORDING_NAME
    if not path.exists():
        return f"{path.relative_to(ROOT)} is missing"
    payload = read_recording(path)
    if payload.get("stamp") != recording_stamp(ROOT):
        return f"{path.relative_to(ROOT)} was recorded by another judge or other shared test code"
    hashes = {file.name: hashlib.sha256(file.read_bytes()).hexdigest()
              for file in (HIDDEN_TESTS / assignment).glob("test_*.py")}
    for nodeid, file_hash, _ in payload.get("kept", {}):
        name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        if hashes.get(name) != file_hash:
            return f"{path.relative_to(ROOT)} holds examples of an older {name}"
    if not payload.get("kept"):
        return f"{path.relative_to(ROOT)} holds no examples"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: all of source/")
    args = parser.parse_args(argv)
    try:
        for assignment in args.assignments or assignments():
            print(f"{assignment}: examples of {record(assignment)} hidden tests recorded", file=sys.stderr)
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
