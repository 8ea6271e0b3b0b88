"""Every stated rule is graded, every graded rule is stated (``autograder/rules.py``).

Over every assignment: each answer cell has a spec with rule ids before it, each rule is
graded by a hidden property, each property names the rules it grades and only stated ones,
and each rule has a simulated mistake that breaks it alone (graded with the rest of the
simulated class by ``tests/test_grading.py``, which checks it loses exactly that rule's
cells). The mutation checks take a copy of the course, delete one spec bullet, one
property or one spec, and ask the check to name what is now missing.
"""
import ast
import copy
import re
import shutil

import nbformat
import pytest

from autograder import cell_conventions, rules
from autograder.simulated_class import load_cases
from instructor.paths import HIDDEN_TESTS, ROOT, assignments, notebook_of

ASSIGNMENTS = assignments()


def hidden_paths(assignment, root=ROOT):
    return sorted((root / "autograder" / "hidden" / assignment).glob("test_*.py"))


def traced(assignment, root=ROOT):
    nb = nbformat.read(notebook_of(assignment, root), as_version=4)
    return rules.untraced(nb, hidden_paths(assignment, root))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_rule_is_graded_and_every_graded_rule_stated(assignment):
    problems = traced(assignment)
    assert not problems, f"{assignment}:\n" + "\n".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_rule_has_a_mistake_that_breaks_it_alone(assignment):
    stated, _, _ = rules.assignment_rules(notebook_of(assignment), HIDDEN_TESTS / assignment)
    broken = {case.breaks for case in load_cases(assignment)}
    missing = [r.id for r in stated if r.id not in broken]
    assert not missing, f"{assignment}: no simulated mistake (Case(breaks=...)) breaks {missing}"
    unknown = broken - {r.id for r in stated} - {""}
    assert not unknown, f"{assignment}: simulated mistakes break rules the notebook does not state: {unknown}"


def test_the_rules_are_out_of_the_students_way():
    """The ids are HTML comments: the rendered notebook shows none of them."""
    from nbconvert import HTMLExporter

    (path,) = (ROOT / "release" / "04b_gradient_descent").glob("*.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert any(rules.RULE_MARK.search(c.source) for c in nb.cells if c.cell_type == "markdown")
    html, _ = HTMLExporter().from_notebook_node(nb)
    visible = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    assert "rule: fit_line" not in visible


# ---------------------------------------------------------------- mutation checks
@pytest.fixture
def course_copy(tmp_path):
    for folder in ("source", "autograder/hidden"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _edit_notebook(root, assignment, edit):
    path = notebook_of(assignment, root)
    nb = nbformat.read(path, as_version=4)
    edit(nb)
    nbformat.write(nb, path)


def _every_rule():
    for assignment in ASSIGNMENTS:
        stated, properties, _ = rules.assignment_rules(notebook_of(assignment), HIDDEN_TESTS / assignment)
        for rule in stated:
            yield assignment, rule, [p for p in properties if rule.id in p.rules]


def test_deleting_any_spec_bullet_names_the_rule_it_stated():
    """For every rule of the course: its bullet's id deleted (in a copy of the notebook), the
    check names the rule (a property now grades a rule the notebook does not state)."""
    checked = 0
    notebooks = {a: nbformat.read(notebook_of(a), as_version=4) for a in ASSIGNMENTS}
    for assignment, rule, graders in _every_rule():
        nb = copy.deepcopy(notebooks[assignment])
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace(rules.rule_mark(rule.id), "")
        problems = rules.untraced(nb, hidden_paths(assignment))
        if graders or rule.id.endswith(".not_allowed"):
            assert any(rule.id in p and "does not state" in p for p in problems), (rule.id, problems)
        checked += 1
    assert checked >= len(ASSIGNMENTS)


def test_deleting_a_rules_only_property_names_the_rule(tmp_path):
    """For every rule graded by one property alone: that test deleted from a copy of its file,
    the check says the rule is graded by no property."""
    checked = 0
    notebooks = {a: nbformat.read(notebook_of(a), as_version=4) for a in ASSIGNMENTS}
    for assignment, rule, graders in _every_rule():
        if len(graders) != 1:
            continue
        test = graders[0].test
        paths = hidden_paths(assignment)
        (path,) = [p for p in paths if f"def {test}(" in p.read_text()]
        mutated = tmp_path / path.name
        mutated.write_text(_without_test(path.read_text(), test))
        problems = rules.untraced(notebooks[assignment], [mutated if p == path else p for p in paths])
        assert any(rule.id in p and "graded by no hidden property" in p for p in problems), (rule.id, problems)
        checked += 1
    assert checked > 0


def _without_test(source: str, test: str) -> str:
    """The hidden test file without one test (its decorators included)."""
    (node,) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == test]
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    lines = source.splitlines(keepends=True)
    return "".join(lines[:start] + lines[node.end_lineno:])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_answer_cell_without_its_spec_is_named(course_copy, assignment):
    """Every rule mark before the first answer cell removed: the check names that cell."""
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    answer = next(cell_conventions.grade_id(c) for c in nb.cells if cell_conventions.is_answer(c))

    def drop_spec(nb):
        for cell in nb.cells:
            if cell_conventions.grade_id(cell) == answer:
                break
            if cell.cell_type == "markdown":
                cell.source = rules.RULE_MARK.sub("", cell.source)

    _edit_notebook(course_copy, assignment, drop_spec)
    assert any(answer in p and "has no spec" in p for p in traced(assignment, course_copy))


def test_a_property_naming_no_rule_is_named(course_copy):
    path = hidden_paths("04b_gradient_descent", course_copy)[0]
    text = path.read_text()
    changed = re.sub(r'@graded\("fit_line_pure", rules=\[[^\]]*\]\)', '@graded("fit_line_pure")', text)
    assert changed != text
    path.write_text(changed)
    problems = traced("04b_gradient_descent", course_copy)
    assert any("test_fit_line_leaves_inputs_unchanged names no rule" in p for p in problems), problems
