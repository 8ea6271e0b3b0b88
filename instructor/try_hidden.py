"""Run an assignment's hidden tests directly against our solution or one simulated
case, without nbgrader: the quick loop for writing hidden tests.

    python -m instructor.try_hidden 01_normalization            # our solution
    python -m instructor.try_hidden 01_normalization unbiased_std
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import nbformat

from autograder.engine.preprocessor import SETUP_PREFIX, feedback_output
from autograder.engine.student import Limits
from autograder.simulated_class import Case, build_submission, load_cases
from instructor.paths import HIDDEN_TESTS, ROOT, notebook_of


def program_cells(source_nb, submission_nb) -> list[dict]:
    """Setup cells from the source, answer cells from the submission (as grading does)."""
    setup = [{"id": c.metadata["nbgrader"]["grade_id"], "source": c.source} for c in source_nb.cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade_id", "").startswith(SETUP_PREFIX)]
    answers = [{"id": c.metadata["nbgrader"]["grade_id"], "source": c.source} for c in submission_nb.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    return setup + answers


def run(assignment: str, case_name: str = "solution", max_examples: int = 40, pytest_args=(),
        quiet: bool = False) -> dict:
    source_nb = nbformat.read(notebook_of(assignment), as_version=4)
    cases = {c.name: c for c in load_cases(assignment)}
    case = cases.get(case_name) or Case(case_name, "our solution")
    submission = build_submission(case, source_nb, source_nb)
    with tempfile.TemporaryDirectory() as tmp:
        sub, res = Path(tmp) / "submission.json", Path(tmp) / "results.json"
        sub.write_text(json.dumps({"cells": program_cells(source_nb, submission), "limits": asdict(Limits())}))
        subprocess.run([sys.executable, "-m", "pytest", str(HIDDEN_TESTS / assignment), "-p", "autograder.engine.judge",
                        f"--submission={sub}", f"--results={res}", "--assert=plain", "-p", "no:cacheprovider",
                        "-q", "-c", "/dev/null", f"--rootdir={ROOT}", "--import-mode=importlib", *pytest_args],
                       cwd=ROOT, env={**__import__("os").environ, "GRADING_MAX_EXAMPLES": str(max_examples),
                                      "PYTHONHASHSEED": "0"},
                       capture_output=quiet)
        return json.loads(res.read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("case", nargs="?", default="solution")
    parser.add_argument("--max-examples", type=int, default=40)
    args, rest = parser.parse_known_args(argv)
    results = run(args.assignment, args.case, args.max_examples, rest)
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
