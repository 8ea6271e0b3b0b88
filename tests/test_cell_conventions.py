"""The reader of the cell conventions (``autograder/cell_conventions.py``) reads back what
``instructor/authoring.py`` writes, reads whatever a notebook's JSON holds without failing,
and is the only place that reads a cell's nbgrader metadata."""
import re
from pathlib import Path

import nbformat
import pytest

from autograder import cell_conventions as cells
from instructor import authoring
from instructor.paths import ROOT, assignments, notebook_of

ANSWER_SOURCE = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"


def test_each_kind_of_cell_the_authoring_module_writes_is_read_back():
    written = {
        "setup": authoring.setup("import torch"),
        "setup_more": authoring.setup("import math", grade_id="setup_more"),
        "f_answer": authoring.answer(ANSWER_SOURCE, "f_answer"),
        "f_values": authoring.check("assert f(1) == 1", "f_values", points=2),
        "why": authoring.question("Because.", "why", points=3),
    }
    nb = authoring.notebook([authoring.md("# Title"), authoring.code("print(1)"), *written.values()])
    assert [cells.role(c) for c in nb.cells] == [None, None, cells.SETUP, cells.SETUP, cells.ANSWER,
                                                 cells.CHECK, cells.QUESTION]
    assert [cells.grade_id(c) for c in nb.cells] == [None, None, *written]
    assert [cells.points(c) for c in nb.cells[-3:]] == [0.0, 2.0, 3.0]
    assert [cells.is_locked(c) for c in nb.cells[2:]] == [True, True, False, True, False]
    assert [cells.is_graded(c) for c in nb.cells[2:]] == [False, False, False, True, True]
    assert [cells.is_solution(c) for c in nb.cells[2:]] == [False, False, True, False, True]
    assert [c["id"] for c in nb.cells[2:]] == list(written)  # authoring names cells by the reader's grade_id


@pytest.mark.parametrize("assignment", assignments())
def test_every_source_notebook_reads_as_the_engine_grades_it(assignment):
    """Each source notebook has setup, answer and check cells, and only ordinary cells have no role."""
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    roles = [cells.role(c) for c in nb.cells]
    assert {cells.SETUP, cells.ANSWER, cells.CHECK} <= set(roles)
    for cell, role in zip(nb.cells, roles):
        assert (role is None) == (cells.grade_id(cell) is None or not cells.has_nbgrader_metadata(cell)), cell.source[:60]


def test_plain_json_cells_read_like_nbformat_ones():
    plain = {"cell_type": "code", "source": "", "metadata": {"nbgrader": {"grade_id": "setup", "locked": True}}}
    assert cells.role(plain) == cells.SETUP == cells.role(nbformat.from_dict(plain))


@pytest.mark.parametrize("cell", [
    None, 3, "cell", [], {}, {"cell_type": "code"}, {"cell_type": "code", "metadata": []},
    {"cell_type": "code", "metadata": {"nbgrader": "x"}}, {"cell_type": "code", "metadata": {"nbgrader": None}},
    {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": 7, "points": "many", "solution": 0}}},
    {"cell_type": ["code"], "metadata": {"nbgrader": {"grade_id": 3}}},
])
def test_what_a_hostile_notebook_holds_reads_as_no_convention(cell):
    assert cells.grade_id(cell) is None and cells.role(cell) is None and cells.points(cell) == 0.0
    assert not (cells.is_answer(cell) or cells.is_check(cell) or cells.is_setup(cell) or cells.is_question(cell))


def test_points_are_numbers_and_booleans_are_not():
    def graded(points):
        return {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "c", "points": points}}}
    assert [cells.points(graded(p)) for p in (1, 0.5, True, None, "2")] == [1.0, 0.5, 0.0, 0.0, 0.0]


def test_the_metadata_read_is_the_cells_own():
    """A change to what the reader returns changes the cell (nbgrader's comments are edited so)."""
    cell = nbformat.from_dict({"cell_type": "code", "source": "", "metadata": {"nbgrader": {"grade_id": "c"}}})
    cells.nbgrader_metadata(cell)["comment"] = "edited"
    assert cell.metadata.nbgrader.comment == "edited"
    cells.nbgrader_metadata({"metadata": {}})["comment"] = "goes nowhere"  # no metadata: a new dict


def test_an_empty_nbgrader_dict_is_metadata_and_says_nothing():
    """What nbgrader's DeduplicateIds leaves on a duplicated cell."""
    cell = {"cell_type": "code", "metadata": {"nbgrader": {}}}
    assert cells.has_nbgrader_metadata(cell) and cells.nbgrader_metadata(cell) == {} and cells.role(cell) is None
    assert not cells.has_nbgrader_metadata({"cell_type": "code", "metadata": {}})


def test_a_code_cell_is_first_an_answer_then_a_check_then_setup():
    def code(**meta):
        return {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "setup_x", **meta}}}
    assert cells.role(code(solution=True, grade=True)) == cells.ANSWER
    assert cells.role(code(grade=True)) == cells.CHECK
    assert cells.role(code()) == cells.SETUP
    assert cells.role({"cell_type": "markdown", "metadata": {"nbgrader": {"grade_id": "setup"}}}) is None
    assert cells.role({"cell_type": ["code"], "metadata": {"nbgrader": {"grade_id": "setup"}}}) is None
    assert cells.is_setup_id("setup_data") and not cells.is_setup_id("data_setup") and not cells.is_setup_id(None)


def test_solution_source_drops_the_markers_and_keeps_the_rest():
    assert cells.solution_source(ANSWER_SOURCE) == "def f(x):\n    return x\n"
    assert cells.solution_source("x = 1  # ### BEGIN SOLUTION is only a marker on a line of its own") == \
        "x = 1  # ### BEGIN SOLUTION is only a marker on a line of its own"


# A read of a cell's nbgrader metadata by hand: cell.metadata["nbgrader"], .get("nbgrader", ...),
# cell.metadata.nbgrader (a deletion, ``del ...``, or an assignment, ``... = {...}``, writes and is allowed).
BY_HAND = re.compile(r"""metadata(?:\.get\(|\[)\s*["']nbgrader(?!["']\]\s*=[^=])|metadata\.nbgrader\b|\.get\(\s*["']nbgrader["']\s*[,)]""")
READERS = {ROOT / "autograder" / "cell_conventions.py", Path(__file__).resolve()}  # and its tests


def test_no_cell_metadata_is_read_outside_the_reader():
    found = []
    for folder in ("autograder", "instructor", "deploy", "benchmarks", "mnist_course", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in READERS:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if BY_HAND.search(line) and not line.lstrip().startswith("del "):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "read the cell conventions with autograder.cell_conventions:\n" + "\n".join(found)
