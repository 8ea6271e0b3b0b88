"""The one reader of the course's notebook cell conventions: which cell is what, read from
the nbgrader metadata ``instructor/authoring.py`` writes (and nbgrader keeps in every
release and submission).

The conventions (``instructor/authoring.py`` says what each is for):

- a **setup** cell: code, grade_id starting with ``SETUP_PREFIX``, locked; run before the
  answers when grading;
- an **answer** cell: code, ``solution``; the student's code, our solution between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in the source notebook;
- a **check** cell: code, ``grade`` (not ``solution``), locked, worth ``points``; scored by the
  hidden tests that name its grade_id;
- a **question**: markdown, ``solution`` (and ``grade``), worth ``points``; answered in words,
  graded by hand;
- anything else is read and never graded.

A cell is a notebook cell as nbformat reads it, or the plain dict of a notebook's JSON: every
function here takes either, and reads whatever a notebook holds (metadata that is missing or
not a dict reads as none), so it is safe on a student's file before nbgrader has checked it.
The rules a spec states (``<!-- rule: fn.id -->``) are read by ``autograder.rules``.

Imports nothing, so the nbgrader side of grading may use it at no cost.
"""
from __future__ import annotations

import re

SETUP_PREFIX = "setup"  # a code cell whose grade_id starts so is run before the answers

SETUP, ANSWER, CHECK, QUESTION = "setup", "answer", "check", "question"

_SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def nbgrader_metadata(cell) -> dict:
    """The cell's nbgrader metadata: the cell's own dict (so a change to it changes the
    cell), or a new empty one where the cell has none."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def has_nbgrader_metadata(cell) -> bool:
    """Whether the cell has nbgrader metadata at all (an empty dict counts: nbgrader's
    ``DeduplicateIds`` leaves one on a duplicated cell)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    return isinstance(metadata, dict) and isinstance(metadata.get("nbgrader"), dict)


def grade_id(cell) -> str | None:
    """The cell's grade_id (nbgrader's name for it); None where it has none."""
    value = nbgrader_metadata(cell).get("grade_id")
    return value if isinstance(value, str) else None


def _type(cell) -> str | None:
    return cell.get("cell_type") if isinstance(cell, dict) else None


def is_solution(cell) -> bool:
    """Marked ``solution``: the student writes it (an answer cell or a question)."""
    return bool(nbgrader_metadata(cell).get("solution"))


def is_graded(cell) -> bool:
    """Marked ``grade``: worth points (a check cell or a question)."""
    return bool(nbgrader_metadata(cell).get("grade"))


def is_locked(cell) -> bool:
    """Marked ``locked``: nbgrader restores it as the instructor wrote it."""
    return bool(nbgrader_metadata(cell).get("locked"))


def points(cell) -> float:
    """What a graded cell is worth; 0 where it says nothing (or nothing that is a number)."""
    value = nbgrader_metadata(cell).get("points")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def is_setup_id(name: str | None) -> bool:
    """Whether a grade_id names a setup cell (for nbgrader's gradebook cells, which have a
    name but no metadata)."""
    return isinstance(name, str) and name.startswith(SETUP_PREFIX)


def is_setup(cell) -> bool:
    """A code cell whose grade_id says setup; grading runs it before the answers."""
    return _type(cell) == "code" and is_setup_id(grade_id(cell))


def is_answer(cell) -> bool:
    """A code cell the student writes: grading runs it."""
    return _type(cell) == "code" and is_solution(cell)


def is_check(cell) -> bool:
    """A code cell worth points that is not the student's: the hidden tests score it."""
    return _type(cell) == "code" and is_graded(cell) and not is_solution(cell)


def is_question(cell) -> bool:
    """A markdown cell the student writes: a written answer, graded by hand."""
    return _type(cell) == "markdown" and is_solution(cell)


def role(cell) -> str | None:
    """``ANSWER``, ``CHECK``, ``SETUP`` or ``QUESTION``; None for a cell that is only read.
    A code cell is first an answer, then a check, then setup."""
    if is_answer(cell):
        return ANSWER
    if is_check(cell):
        return CHECK
    if is_setup(cell):
        return SETUP
    if is_question(cell):
        return QUESTION
    return None


def solution_source(cell_source: str) -> str:
    """An answer cell's source with nbgrader's solution markers removed: our solution."""
    return _SOLUTION_MARKER.sub("", cell_source)
