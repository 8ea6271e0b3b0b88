"""Every assignment is wired up: its notebook, its hidden tests and its simulated
class agree on which graded cells exist and what each is worth."""
import ast
import re

import nbformat
import pytest

from autograder import cell_conventions
from autograder.simulated_class import load_cases, solution_answers
from instructor.paths import HIDDEN_TESTS, assignments, notebook_of

ASSIGNMENTS = assignments()


def check_cells(nb):
    """Every graded code cell (an answer marked graded too would be one, and fail the conventions)."""
    return {cell_conventions.grade_id(c): c for c in nb.cells if c.cell_type == "code" and cell_conventions.is_graded(c)}


def graded_tests(assignment):
    """(cell id, test name, docstring) of every hidden test, read from the source text."""
    found = []
    for path in sorted((HIDDEN_TESTS / assignment).glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                cells = [d.args[0].value for d in node.decorator_list
                         if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "graded"]
                found.append((cells, node.name, ast.get_docstring(node)))
    return found


def test_the_course_has_assignments():
    assert "01_normalization" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_check_cell_has_hidden_tests_and_every_test_a_cell(assignment):
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    cells = check_cells(nb)
    tests = graded_tests(assignment)
    assert tests, f"no hidden tests for {assignment}"
    for graded, name, _ in tests:
        assert len(graded) == 1, f"{name} must be marked @graded(<one check cell>)"
        assert graded[0] in cells, f"{name} scores {graded[0]!r}, which is not a check cell"
    tested = {g[0] for g, _, _ in tests}
    assert set(cells) <= tested, f"check cells without hidden tests: {sorted(set(cells) - tested)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_hidden_test_states_its_property(assignment):
    for _, name, doc in graded_tests(assignment):
        assert doc and len(doc) > 20, f"{name} needs a docstring: it is the property students read"
        # Students read it in their feedback: it may name the notebook, never a file they do not have.
        named = re.findall(r"[\w./-]+\.(?:md|py|json|pickle\.xz)\b|\bautograder/|\bsource/|\bsolutions/", doc)
        assert not named, f"{name}'s docstring names {named}, which students do not have"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_follows_the_cell_conventions(assignment):
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    setup = [c for c in nb.cells if cell_conventions.is_setup_id(cell_conventions.grade_id(c))]
    assert setup and all(cell_conventions.is_locked(c) for c in setup)
    for cell_id, cell in check_cells(nb).items():
        assert cell_conventions.is_check(cell) and cell_conventions.is_locked(cell) \
            and cell_conventions.points(cell) > 0, cell_id
        assert "### BEGIN HIDDEN TESTS" not in cell.source, "hidden tests live in autograder/, not in the notebook"
    answers = solution_answers(nb)
    assert answers, "no answer cells"
    for cell in nb.cells:
        assert not cell.get("outputs"), "source notebooks are committed without outputs"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercise_functions_match_the_course_api(assignment):
    """Each answer cell defines at least one public function or class of COURSE.md."""
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    defined = set()
    for source in solution_answers(nb).values():
        defined |= set(re.findall(r"^(?:def|class) (\w+)", source, re.M))
    assert defined, "answer cells define nothing"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_simulated_class_covers_the_required_kinds(assignment):
    cases = load_cases(assignment)
    kinds = [c.kind for c in cases]
    assert kinds.count("solution") == 1 and kinds.count("blank") == 1
    assert kinds.count("variant") >= 3, "at least 3 correct solutions written differently"
    assert kinds.count("mistake") >= 8, "at least 8 typical mistakes"
    cells = set(check_cells(nbformat.read(notebook_of(assignment), as_version=4)))
    for case in cases:
        assert case.fails <= cells, f"{case.name} names unknown cells {sorted(case.fails - cells)}"
        if case.kind == "mistake":
            assert case.fails, f"mistake {case.name} must say which cell it loses"
