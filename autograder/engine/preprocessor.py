"""nbgrader's way in: a preprocessor that grades a notebook with the hidden tests.

It takes the place of nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``
(see ``course_config.py``), so plain ``nbgrader autograde`` and the formgrader's
button produce the grades. The student's kernel never runs: the answer cells go to
a sandboxed worker, the hidden tests run in a clean judge process, and each graded
cell gets an output that nbgrader's own ``SaveAutoGrades`` scores (an error output
is zero, anything else full marks) and ``generate_feedback`` shows.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Integer, List, Unicode, default

from autograder.engine.student import Cell, Limits

SETUP_PREFIX = "setup"  # locked cells whose grade_id starts so are run before the answers


class GradingError(RuntimeError):
    """The course's side failed (a broken hidden test, a missing folder): never scored."""


class GradeWithHiddenTests(NbGraderPreprocessor):
    """Score each graded test cell from the hidden pytest + hypothesis tests."""

    course_root = Unicode(help="The course's root folder.").tag(config=True)
    hidden_tests = Unicode(help="Folder with one folder of hidden tests per assignment.").tag(config=True)
    timeout = Integer(600, help="Seconds for all hidden tests of one notebook.").tag(config=True)
    max_examples = Integer(40, help="Hypothesis examples per property.").tag(config=True)
    limits = Dict(help="Overrides of the worker's limits (see autograder.engine.student.Limits).").tag(config=True)
    readable_paths = List(Unicode(), help="Absolute paths student code may read, beyond Python, "
                          "its packages and the course's helper package.").tag(config=True)

    _reported_gaps: set = set()

    @default("course_root")
    def _default_course_root(self):
        return os.getcwd()

    @default("hidden_tests")
    def _default_hidden_tests(self):
        return os.path.join(self.course_root, "autograder", "hidden")

    # ------------------------------------------------------------------ steps
    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        tests_dir = os.path.join(self.hidden_tests, info["assignment"])
        if not os.path.isdir(tests_dir):
            raise GradingError(f"no hidden tests for assignment {info['assignment']!r}: expected "
                               f"a folder {tests_dir}")
        cells = self.student_cells(nb, info["db_url"], info["notebook"], info["assignment"])
        results = self.run_hidden_tests(tests_dir, cells)
        self.write_outputs(nb, results)
        return nb, resources

    def student_cells(self, nb, db_url: str, notebook_id: str, assignment_id: str) -> list[Cell]:
        """Setup cells as the instructor wrote them, then the student's answer cells."""
        with Gradebook(db_url) as gb:
            source = gb.find_notebook(notebook_id, assignment_id)
            setup = [Cell(c.name, c.source) for c in source.source_cells
                     if c.cell_type == "code" and c.name.startswith(SETUP_PREFIX)]
            answer_ids = {c.name for c in source.solution_cells}
        answers = []
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and utils.is_solution(cell) and grade_id in answer_ids:
                answers.append(Cell(grade_id, cell.source))
        return setup + answers

    def worker_limits(self) -> Limits:
        return Limits(**self.limits, readable_paths=list(self.readable_paths))

    def run_hidden_tests(self, tests_dir: str, cells: list[Cell]) -> dict:
        with tempfile.TemporaryDirectory(prefix="grading-") as work:
            submission = os.path.join(work, "submission.json")
            results = os.path.join(work, "results.json")
            with open(submission, "w") as f:
                json.dump({"cells": [asdict(c) for c in cells], "limits": asdict(self.worker_limits())}, f)
            command = [sys.executable, "-m", "pytest", tests_dir, "-p", "autograder.engine.judge",
                       f"--submission={submission}", f"--results={results}", "--assert=plain",
                       "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
                       f"--rootdir={self.course_root}", "-c", os.devnull, "--import-mode=importlib"]
            env = dict(os.environ, PYTHONPATH=self.course_root, PYTHONHASHSEED="0",
                       GRADING_MAX_EXAMPLES=str(self.max_examples))
            try:
                run = subprocess.run(command, cwd=self.course_root, env=env, capture_output=True,
                                     text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise GradingError(f"the hidden tests took longer than {self.timeout} s") from None
            if run.returncode not in (0, 1) or not os.path.exists(results):
                raise GradingError(f"the hidden tests in {tests_dir} could not run "
                                   f"(pytest exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
            with open(results) as f:
                outcome = json.load(f)
        if outcome["collection_errors"]:
            raise GradingError("broken hidden tests:\n" + "\n".join(outcome["collection_errors"]))
        for gap in outcome.get("sandbox_gaps", []):
            if gap not in self._reported_gaps:
                self._reported_gaps.add(gap)
                self.log.warning("Sandbox: %s", gap)
        return outcome

    def write_outputs(self, nb, results: dict) -> None:
        by_cell: dict[str, list] = {}
        for record in results["tests"]:
            by_cell.setdefault(record["cell"], []).append(record)
        for cell in nb.cells:
            if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            records = by_cell.get(grade_id)
            if not records:
                raise GradingError(f"graded cell {grade_id!r} has no hidden test")
            cell.outputs = [feedback_output(records)]
            cell.execution_count = None


def feedback_output(records: list[dict]):
    """One output for a graded cell: a pass note, or an error that teaches."""
    failed = [r for r in records if not r["passed"]]
    if not failed:
        lines = [f"✓ {r['property']}" for r in records]
        return new_output("stream", name="stdout", text="\n".join(lines) + "\n")
    lines = []
    for record in failed:
        lines.append(f"✗ {record['property']}")
        lines.extend("    " + line for line in (record.get("message") or "").splitlines())
        if record.get("example"):
            lines.append("    Smallest failing input:")
            lines.extend("        " + line for line in record["example"].splitlines())
    for record in records:
        if record["passed"]:
            lines.append(f"✓ {record['property']}")
    return new_output("error", ename="PropertyFailed", evalue=failed[0]["property"], traceback=lines)
