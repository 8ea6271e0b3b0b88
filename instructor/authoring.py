"""Cells with the nbgrader metadata this course relies on, for writing ``source/`` notebooks.

The conventions the grading engine reads:
- ``setup`` cells (grade_id starting with "setup"): locked imports, run before the
  answers when grading, exactly as the instructor wrote them;
- ``answer`` cells: the student's code (``### BEGIN SOLUTION`` ... ``### END SOLUTION``);
  only these and the setup cells run when grading;
- ``check`` cells: locked, worth points, one property each; they hold a small visible
  test the student can run, and are scored by the hidden tests whose
  ``@graded("<grade_id>")`` names them;
- ``question`` cells: markdown answer cells the student answers in words, graded by
  hand in the formgrader (nbgrader's manually graded answers); our model answer is
  the cell's text, which the release replaces by "YOUR ANSWER HERE";
- everything else (prose, pictures, experiments) is for reading and never graded.

``autograder.cell_conventions`` reads them back (which cell is which, its grade_id, its
points): everything that reads a notebook's cells reads them there.
"""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import cell_conventions


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict:
    nbgrader = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
                "schema_version": 3}
    if points is not None:
        nbgrader["points"] = points
    meta = {"nbgrader": nbgrader}
    if locked:
        meta.update(deletable=False, editable=False)
    return meta


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(source: str):
    """An ordinary cell: run by the student, never by the grader."""
    return new_code_cell(source.strip("\n"))


def setup(source: str, grade_id: str = "setup"):
    return new_code_cell(source.strip("\n"), metadata=_meta(grade_id, grade=False, solution=False, locked=True))


def answer(source: str, grade_id: str):
    """An answer cell. ``source`` holds the signature and docstring the student
    keeps, and the solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
    (indented like the body), which the release replaces by a stub."""
    if "### BEGIN SOLUTION" not in source:
        raise ValueError(f"answer cell {grade_id!r} has no ### BEGIN SOLUTION marker")
    return new_code_cell(source.strip("\n"), metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def check(source: str, grade_id: str, points: float = 1):
    return new_code_cell(source.strip("\n"),
                         metadata=_meta(grade_id, grade=True, solution=False, locked=True, points=points))


def question(model_answer: str, grade_id: str, points: float = 1):
    """A written answer, graded by hand: put the question in the markdown cell above it."""
    return new_markdown_cell(model_answer.strip("\n"),
                             metadata=_meta(grade_id, grade=True, solution=True, locked=False, points=points))


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):  # stable ids, so regenerated files do not churn
        cell["id"] = cell_conventions.grade_id(cell) or f"cell-{index:03d}"
    return nb


def write(nb, path) -> None:
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
