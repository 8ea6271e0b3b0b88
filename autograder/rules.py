"""Each exercise's rules, traced from the notebook the student reads to the hidden tests
that grade them.

The rules are written once, in the spec the student reads before the answer cell: one
bullet each, ending in an id the notebook does not show (an HTML comment)::

    - Raise `ValueError` when `x` or `y` is not 1-d, ... <!-- rule: fit_line.errors -->

An id is ``<function>.<name>``: the function (or class) the answer cell below defines, and
a short name for the rule. Each hidden property names the rules it grades::

    @graded("fit_line_errors", rules=["fit_line.errors"])

and the built-ins an exercise may not call are one rule per function, ``<function>.not_allowed``,
graded by the guard in every call (``not_allowed(...)`` in the test file declares it).

``untraced(...)`` lists what does not hold: an answer cell with no spec before it, a rule
no property grades, a property that grades a rule the notebook does not state (or names
none). ``tests/test_rules_traceable.py`` runs it over every assignment.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import cell_conventions

RULE_MARK = re.compile(r"<!--\s*rule:\s*([^\s>]*)\s*-->")
RULE_ID = re.compile(r"^[A-Za-z_]\w*\.[a-z_][a-z0-9_]*$")
NOT_ALLOWED = "not_allowed"  # the rule name the guard grades, for each function a test file lists
DEFINED = re.compile(r"^(?:def|class) (\w+)", re.M)


@dataclass(frozen=True)
class Rule:
    id: str
    text: str            # the bullet as the student reads it, the mark left out
    answer_cell: str     # the grade_id of the answer cell the spec stands before

    @property
    def function(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class Property:
    test: str            # the hidden test's name
    cell: str            # the check cell it scores
    rules: tuple[str, ...]


def rule_mark(rule_id: str) -> str:
    """What an author writes at the end of a spec bullet."""
    return f"<!-- rule: {rule_id} -->"


def without_marks(text: str) -> str:
    return RULE_MARK.sub("", text).rstrip()


def _bullets(markdown: str) -> list[str]:
    """The bullets of a markdown text, each with its continuation lines."""
    bullets: list[list[str]] = []
    for line in markdown.splitlines():
        if re.match(r"^\s*[-*] ", line):
            bullets.append([line])
        elif bullets and line.startswith((" ", "\t")) and line.strip():
            bullets[-1].append(line)
        elif not line.strip() and bullets:
            bullets.append([])  # a blank line ends the bullet
    return ["\n".join(b) for b in bullets if b]


def notebook_rules(nb) -> tuple[list[Rule], list[str]]:
    """The rules stated before each answer cell, and what is wrong with how they are stated."""
    rules: list[Rule] = []
    problems: list[str] = []
    spec: list[str] = []  # the markdown since the last answer or check cell
    for cell in nb.cells:
        role = cell_conventions.role(cell)
        if cell.cell_type == "markdown":
            if role != cell_conventions.QUESTION:  # a written answer is not a spec
                spec.append(cell.source)
            continue
        if role not in (cell_conventions.ANSWER, cell_conventions.CHECK):
            continue
        if role == cell_conventions.ANSWER:
            answer = cell_conventions.grade_id(cell)
            defined = set(DEFINED.findall(cell.source))
            stated = [(m, b) for b in _bullets("\n\n".join(spec)) for m in RULE_MARK.findall(b)]
            stray = [m for text in spec for m in RULE_MARK.findall(text)
                     if not any(m in RULE_MARK.findall(b) for b in _bullets(text))]
            for mark in stray:
                problems.append(f"rule {mark} (before {answer}) is not in a spec bullet (a line starting '- ')")
            if not stated:
                problems.append(f"answer cell {answer} has no spec before it: no bullet with a rule id "
                                f"({rule_mark('<function>.<name>')}) in the markdown since the last exercise")
            for mark, bullet in stated:
                if not RULE_ID.match(mark):
                    problems.append(f"rule id {mark!r} (before {answer}) is not <function>.<name>")
                    continue
                rule = Rule(mark, without_marks(re.sub(r"^\s*[-*] ", "", bullet)), answer)
                if rule.function not in defined:
                    problems.append(f"rule {mark} stands before answer cell {answer}, which defines "
                                    f"{sorted(defined) or 'nothing'}, not {rule.function}")
                rules.append(rule)
        spec = []
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            problems.append(f"rule {rule.id} is stated twice")
        seen.add(rule.id)
    return rules, problems


def _literal_strings(node) -> list[str] | None:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def hidden_properties(paths) -> tuple[list[Property], dict[str, list[str]], list[str]]:
    """From hidden test files: each test's check cell and rules; the functions whose
    built-ins are refused (``not_allowed``: None for every function); and what could
    not be read."""
    properties: list[Property] = []
    guarded: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in paths:
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                for deco in node.decorator_list:
                    if not (isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "graded"):
                        continue
                    cell = deco.args[0].value if deco.args and isinstance(deco.args[0], ast.Constant) else None
                    rules_kw = next((k.value for k in deco.keywords if k.arg == "rules"), None)
                    rules = [] if rules_kw is None else _literal_strings(rules_kw)
                    if rules is None:
                        problems.append(f"{node.name}: graded(..., rules=...) must be a literal list of rule ids")
                        rules = []
                    properties.append(Property(node.name, cell, tuple(rules)))
            elif (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "not_allowed"):
                only = next((k.value for k in node.keywords if k.arg == "only"), None)
                names = None if only is None else _literal_strings(only)
                guarded[str(path)] = names  # None: every function of the notebook
    return properties, guarded, problems


def untraced(nb, hidden_test_paths) -> list[str]:
    """Everything that breaks the tie between the notebook's rules and the hidden tests,
    in words that name the rule, the property or the cell."""
    rules, problems = notebook_rules(nb)
    properties, guarded, read_problems = hidden_properties(hidden_test_paths)
    problems += read_problems
    stated = {r.id: r for r in rules}
    graded_rules: set[str] = set()
    for prop in properties:
        if not prop.rules:
            problems.append(f"hidden test {prop.test} names no rule it grades (graded({prop.cell!r}, rules=[...]))")
        for rule_id in prop.rules:
            if rule_id not in stated:
                problems.append(f"hidden test {prop.test} grades rule {rule_id}, which the notebook does not state")
            graded_rules.add(rule_id)
    functions = {r.function for r in rules}
    for names in guarded.values():
        for function in (functions if names is None else {n.split(".")[0] for n in names}):
            graded_rules.add(f"{function}.{NOT_ALLOWED}")
            if f"{function}.{NOT_ALLOWED}" not in stated:
                problems.append(f"the hidden tests refuse built-ins in {function} (rule {function}.{NOT_ALLOWED}), "
                                f"which the notebook does not state")
    for rule in rules:
        if rule.id not in graded_rules:
            problems.append(f"rule {rule.id} (\"{_short(rule.text)}\") is graded by no hidden property")
    return problems


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def cells_losing(rule_id: str, properties: list[Property]) -> set[str]:
    """The check cells a submission that breaks only ``rule_id`` must lose: those of the
    properties that grade it. A function's ``not_allowed`` rule is graded by the guard in
    every call, so which cells a forbidden call loses depends on where the call sits (a
    check that raises first still passes): none can be derived."""
    if rule_id.endswith("." + NOT_ALLOWED):
        return set()
    return {p.cell for p in properties if rule_id in p.rules}


def assignment_rules(notebook_path, hidden_dir) -> tuple[list[Rule], list[Property], list[str]]:
    """The rules, the properties and the problems of one assignment, from its files."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    paths = sorted(Path(hidden_dir).glob("test_*.py"))
    rules, _ = notebook_rules(nb)
    properties, _, _ = hidden_properties(paths)
    return rules, properties, untraced(nb, paths)
