"""Mutants of our solution (instructor/mutants.py): each is one small change of one answer cell,
never of a docstring or a message, and the hidden tests grade it as they grade any submission."""
import ast
import difflib

import nbformat
import pytest

from autograder.simulated_class import solution_answers
from instructor import mutants
from instructor.paths import assignments, notebook_of

SOLUTIONS = {a: solution_answers(nbformat.read(notebook_of(a), as_version=4)) for a in assignments()}
CELLS = [(a, cell) for a, answers in SOLUTIONS.items() for cell in answers]


def _docstrings(tree: ast.AST) -> list:
    return [ast.get_docstring(node) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module))]


def _messages(tree: ast.AST) -> list:
    return [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]


@pytest.mark.parametrize("assignment,cell", CELLS, ids=[f"{a}-{c}" for a, c in CELLS])
def test_each_mutant_is_one_line_changed_and_compiles(assignment, cell):
    source = SOLUTIONS[assignment][cell]
    original = ast.unparse(ast.parse(source))
    found = mutants.mutants_of(cell, source)
    assert len({m.source for m in found}) == len(found), "two mutants are the same code"
    assert len({m.name for m in found}) == len(found), "two mutants of one name"
    for mutant in found:
        compile(mutant.source, mutant.name, "exec")
        changed = [line for line in difflib.ndiff(original.splitlines(), mutant.source.splitlines())
                   if line[:1] in "+-" and line[1:2] == " "]
        # One line out, one line in (a statement's replacement, e.g. a raise by pass).
        assert len(changed) == 2, f"{mutant.name} changes more than one line: {changed}"
        tree = ast.parse(mutant.source)
        assert _docstrings(tree) == _docstrings(ast.parse(source)), f"{mutant.name} changes a docstring"
        if mutant.change != "raise removed":  # a message goes with its raise
            assert _messages(tree) == _messages(ast.parse(source)), f"{mutant.name} changes a message"


def test_every_kind_of_change_is_made_where_it_can_be():
    source = (
        "def f(x, y, dim=-1):\n"
        "    '''doc: 1 + 2'''\n"
        "    if x.dim() != 2 or not y:\n"
        "        raise ValueError(f'got {x.dim() + 1}')\n"
        "    return torch.maximum(x, y).sum(dim=dim, keepdim=True) * 2\n")
    changes = {m.change for m in mutants.mutants_of("cell", source)}
    expected = {"USub dropped", "1 -> 2", "1 -> 0", "NotEq -> Eq", "Or -> And", "Not dropped", "raise removed",
                "arguments swapped", "dim= left out", "keepdim= left out", "True -> False", ".sum -> .mean",
                "Mult -> Div", "2 -> 3"}
    assert expected <= changes, f"missing: {expected - changes}"
    assert not any("doc" in m.source and "1 + 2" not in m.source for m in mutants.mutants_of("cell", source))


def test_a_mutant_is_caught_and_our_solution_is_not():
    """Through the judge and the sandbox: the course's examples catch a sign turned in 01's
    normalisation, and keep every point of our solution."""
    cell = "normalize_answer"
    source = SOLUTIONS["01_normalization"][cell]
    turned = [m for m in mutants.mutants_of(cell, source) if m.change == "Sub -> Add"]
    assert turned, f"no subtraction to turn in {cell}"
    from autograder.engine.nbgrader_side.judge_client import stop_all
    try:
        assert not mutants.caught("01_normalization", None, None)
        assert mutants.caught("01_normalization", turned[0], None)
    finally:
        stop_all()
