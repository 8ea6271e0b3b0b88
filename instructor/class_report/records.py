"""What grading recorded for one assignment, read into plain values.

Two sources, both written by grading itself, never parsed out of feedback text:
- nbgrader's gradebook (SQLite or PostgreSQL), read through nbgrader's own ORM in a few
  queries (not object by object: a class of 300 has ~6,000 grades);
- the engine's per-property results beside each autograded notebook
  (``autograded/<student>/<assignment>/<notebook>.results.json``, written by
  ``GradeWithHiddenTests``): each hidden test's verdict, message, smallest failing input,
  expected and got, and the grading's cost.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.nbgrader_side.preprocessor import RESULTS_SUFFIX

# Words our own engine writes (student_proxy.py, budget.py) that say why a call ended.
TIMEOUT_WORDS = ("did not finish within", "ran longer than the time limit")
BUDGET_WORDS = "grading budget"


@dataclass(frozen=True)
class PropertyResult:
    """One hidden test's verdict on one submission."""
    test: str
    cell: str
    sentence: str  # the property as the student reads it (the test's docstring)
    passed: bool
    message: str = ""
    example: str = ""  # the smallest failing input hypothesis found, as text
    expected: str = ""
    got: str = ""
    failure: str = ""  # the kind of failure: PropertyFailed, StudentRaised, StudentCrashed, ...

    @classmethod
    def from_record(cls, record: dict) -> "PropertyResult":
        text = lambda key: str(record.get(key) or "")  # noqa: E731  (records hold what the worker sent)
        return cls(text("test"), text("cell"), text("property") or text("test"), bool(record.get("passed")),
                   text("message"), text("example"), text("expected"), text("got"), text("failure"))

    @property
    def timed_out(self) -> bool:
        return not self.passed and any(words in self.message for words in TIMEOUT_WORDS)

    @property
    def budget_spent(self) -> bool:
        return not self.passed and BUDGET_WORDS in self.message


@dataclass
class CellGrade:
    score: float
    max_score: float
    written: bool  # a written answer (markdown), graded by hand
    needs_manual_grade: bool


@dataclass
class Submission:
    """One student's graded submission of one assignment."""
    student: str
    cells: dict[str, CellGrade] = field(default_factory=dict)
    flagged: bool = False  # nbgrader's flag on the submitted notebook (FlagInternals sets it)
    flag_reasons: list[str] = field(default_factory=list)  # the automatic comments naming the lines
    notebook_ids: dict[str, str] = field(default_factory=dict)  # notebook name -> submitted notebook id
    timestamp: str = ""
    results: list[PropertyResult] | None = None  # None: no results file (graded before it existed, or not at all)
    judge_failed: str = ""
    cell_errors: dict[str, str] = field(default_factory=dict)  # answer cell -> why running it failed
    cpu_seconds: float | None = None
    wall_seconds: float | None = None
    budget_spent: bool = False

    @property
    def auto_score(self) -> float:
        return sum(c.score for c in self.cells.values() if not c.written)

    @property
    def auto_max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values() if not c.written)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def written_pending(self) -> int:
        return sum(c.written and c.needs_manual_grade for c in self.cells.values())

    @property
    def held_cells(self) -> list[str]:
        """Check cells held for a human (source flags): code cells that need manual grading."""
        return sorted(name for name, c in self.cells.items() if not c.written and c.needs_manual_grade)


@dataclass
class AssignmentRecords:
    assignment: str
    notebooks: list[str]
    submissions: dict[str, Submission]
    ungradeable: dict[str, str]  # student -> why there is no grade (handed in, never graded)
    max_score: float = 0.0
    written_max_score: float = 0.0


def read_gradebook(db_url: str, assignment: str) -> tuple[dict[str, Submission], list[str], float, float]:
    """(student -> Submission with its grades and flags, notebook names, max score, written max score)."""
    from nbgrader.api import (Assignment, Comment, Gradebook, GradeCell, Grade, MissingEntry, Notebook,
                              SubmittedAssignment, SubmittedNotebook)

    submissions: dict[str, Submission] = {}
    with Gradebook(db_url) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            return {}, [], 0.0, 0.0
        notebooks = sorted(nb.name for nb in found.notebooks)
        max_score = float(found.max_score or 0.0)
        written_max = float(found.max_written_score or 0.0)
        rows = (gb.db.query(SubmittedAssignment.student_id, SubmittedAssignment.timestamp)
                .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                .filter(Assignment.name == assignment))
        for student, timestamp in rows:
            submissions[student] = Submission(student, timestamp=str(timestamp or ""))
        notebook_rows = (gb.db.query(SubmittedAssignment.student_id, Notebook.name, SubmittedNotebook.id,
                                     SubmittedNotebook.flagged)
                         .select_from(SubmittedNotebook)
                         .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                         .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
                         .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                         .filter(Assignment.name == assignment))
        for student, notebook, notebook_id, flagged in notebook_rows:
            submissions[student].notebook_ids[notebook] = notebook_id
            submissions[student].flagged |= bool(flagged)
        # One query for every grade of the class: the ORM's lazy loading would make one per object.
        grade_rows = (gb.db.query(SubmittedAssignment.student_id, GradeCell.name, GradeCell.cell_type, Grade.score,
                                  GradeCell.max_score, Grade.needs_manual_grade)
                      .select_from(Grade)
                      .join(GradeCell, Grade.cell_id == GradeCell.id)
                      .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                      .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                      .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                      .filter(Assignment.name == assignment))
        for student, cell, cell_type, score, max_points, manual in grade_rows:
            submissions[student].cells[cell] = CellGrade(float(score or 0.0), float(max_points or 0.0),
                                                         cell_type == "markdown", bool(manual))
        comment_rows = (gb.db.query(SubmittedAssignment.student_id, Comment.auto_comment)
                        .select_from(Comment)
                        .join(SubmittedNotebook, Comment.notebook_id == SubmittedNotebook.id)
                        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                        .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                        .filter(Assignment.name == assignment, SubmittedNotebook.flagged.is_(True),
                                Comment.auto_comment.isnot(None)))
        for student, comment in comment_rows:
            submissions[student].flag_reasons.append(str(comment))
    return submissions, notebooks, max_score, written_max


def read_results(path: Path) -> dict | None:
    """One notebook's results file; None when there is none or it cannot be read."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def attach_results(submission: Submission, results: list[dict]) -> None:
    """The engine's results of the submission's notebooks, merged into it."""
    submission.results = []
    cpu = wall = 0.0
    for found in results:
        submission.results += [PropertyResult.from_record(r) for r in found.get("tests", []) if isinstance(r, dict)]
        if found.get("judge_failed"):
            submission.judge_failed = str(found["judge_failed"])
        for cell, error in (found.get("cell_errors") or {}).items():
            error = error if isinstance(error, dict) else {}
            submission.cell_errors[str(cell)] = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
        cost = found.get("cost") or {}
        cpu += float(cost.get("cpu_seconds") or 0.0)
        wall += float(cost.get("wall_seconds") or 0.0)
        submission.budget_spent |= bool((found.get("budget") or {}).get("spent"))
    submission.cpu_seconds, submission.wall_seconds = cpu, wall


def handed_in(coursedir, assignment: str) -> set[str]:
    """Students whose submission folder exists (``submitted/<student>/<assignment>``), as nbgrader's
    configured directory structure places it."""
    pattern = Path(coursedir.format_path(coursedir.submitted_directory, "*", assignment))
    root = Path(coursedir.root)
    try:
        relative = pattern.relative_to(root)
    except ValueError:
        return set()
    parts = relative.parts
    if parts.count("*") != 1:
        return set()
    index = parts.index("*")
    return {path.relative_to(root).parts[index] for path in root.glob(str(relative)) if path.is_dir()}


def read_assignment(coursedir, db_url: str, assignment: str, progress=None) -> AssignmentRecords:
    """Everything grading recorded for ``assignment`` in the course ``coursedir`` (nbgrader's
    CourseDirectory: where its folders are); ``progress`` wraps the loop over submissions."""
    submissions, notebooks, max_score, written_max = read_gradebook(db_url, assignment)
    students = sorted(submissions)
    for student in (progress(students) if progress else students):
        submission = submissions[student]
        folder = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
        found = [read_results(folder / f"{nb}{RESULTS_SUFFIX}") for nb in notebooks]
        if all(f is not None for f in found) and found:
            attach_results(submission, found)
    ungradeable = {}
    for student in sorted(handed_in(coursedir, assignment)):
        submission = submissions.get(student)
        if submission is None or not submission.notebook_ids:
            ungradeable[student] = ("handed in, but nbgrader recorded no grade: the notebook could not be graded "
                                    "(nbgrader's log, or grade_class.log, says why)")
        elif submission.results is None and not os.path.isdir(
                coursedir.format_path(coursedir.autograded_directory, student, assignment)):
            ungradeable[student] = "in the gradebook, but no autograded notebook: not graded (yet)"
    return AssignmentRecords(assignment, notebooks, submissions, ungradeable, max_score, written_max)
