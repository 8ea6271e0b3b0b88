"""A simulated class: submissions with known outcomes, for the main job and the tests.

Each assignment has a file ``<assignment_id>.py`` here with a list ``CASES``. A case
starts from the released notebook and fills its answer cells with our solution,
except where ``answers`` gives other code for a cell; ``blank`` leaves the stubs.
What it must score is stated, never hard-coded in the tests:
- ``full``: every point; ``zero``: no point;
- ``fails``: these graded cells must score 0 (the property the mistake breaks),
  and with ``rest_full`` every other cell keeps its points (a crash costs one exercise);
- ``same_as``: the same total as another case (an attack must gain nothing);
- ``breaks``: the one rule of the notebook this mistake breaks (its id, ``autograder/rules.py``):
  it must lose exactly the check cells of the properties that grade that rule, and keep every
  other point. ``fails`` adds the cells the broken rule costs beyond its own: those of a
  function that uses the broken one (``fit_line`` calls the student's ``sgd_step``), or of
  properties whose calls cannot run at all once it is broken (a refused built-in; autograd
  through a function computed with numpy).
"""
from __future__ import annotations

import copy
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import cell_conventions
from autograder.cell_conventions import solution_source

HERE = Path(__file__).resolve().parent


@dataclass
class Case:
    name: str
    description: str
    answers: dict = field(default_factory=dict)
    blank: bool = False
    full: bool = False
    zero: bool = False
    fails: set = field(default_factory=set)
    same_as: str | None = None
    rest_full: bool = False  # every graded cell not in ``fails`` keeps its points
    recorded: bool = True  # False: nbgrader records no grade (nothing to grade was handed in)
    mutate: object = None  # optional callable(notebook) -> notebook, bytes (a broken file) or None (no file)
    extra_files: dict = field(default_factory=dict)  # other files handed in beside the notebook
    kind: str = "mistake"  # solution | blank | variant | mistake | attack | broken
    # A mistake no visible check can catch names the words of the notebook that warn about it
    # (e.g. "the grader refuses them" for a built-in the exercise does not allow); the
    # fairness suite checks that the notebook says them.
    hidden_only: str = ""
    breaks: str = ""  # a rule id: the one stated rule this mistake breaks (fills ``fails``, sets ``rest_full``)


def drop_cells(*grade_ids):
    """A tampering: these cells deleted from the notebook."""
    def mutate(nb):
        nb.cells = [c for c in nb.cells if cell_conventions.grade_id(c) not in grade_ids]
        return nb
    return mutate


def edit_cells(new_source: str):
    """A tampering: every check cell's code replaced (e.g. by a forged score)."""
    def mutate(nb):
        for cell in nb.cells:
            if cell_conventions.is_check(cell):
                cell.source = new_source
        return nb
    return mutate


def with_checks(checks: str, body: str) -> str:
    """An answer that starts with the stated ``ValueError`` checks (``checks``: the ``def`` line
    and its checks, shared by the cases of one function) and goes on with ``body``."""
    return checks + body


def load_cases(assignment: str, folder: Path = HERE) -> list[Case]:
    """The simulated class of ``assignment``: ``CASES`` of ``folder/<assignment>.py`` (by default
    this course's; a course folder's copy where one is graded elsewhere); [] when it has none."""
    path = Path(folder) / f"{assignment}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"simulated_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = [case.name for case in module.CASES]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate case names in {path}")
    if any(case.breaks for case in module.CASES):
        _expect_rule_cells(module.CASES, Path(folder).resolve().parent.parent, assignment)
    return module.CASES


def _expect_rule_cells(cases: list[Case], course: Path, assignment: str) -> None:
    """A case that breaks one rule loses the cells of the properties grading it, and only those
    (with the cells its ``fails`` adds, which depend on the broken function)."""
    from autograder import rules

    properties, _, _ = rules.hidden_properties(sorted((course / "autograder" / "hidden" / assignment).glob("test_*.py")))
    for case in cases:
        if not case.breaks:
            continue
        losing = rules.cells_losing(case.breaks, properties)
        if not losing and not case.breaks.endswith("." + rules.NOT_ALLOWED):
            raise ValueError(f"case {case.name!r} breaks rule {case.breaks!r}, which no hidden property grades")
        if not (losing or case.fails):
            raise ValueError(f"case {case.name!r} breaks {case.breaks!r}: say in fails which cells the "
                             f"forbidden call loses")
        case.fails = set(case.fails) | losing
        case.rest_full = True


def solution_answers(source_nb) -> dict:
    """grade_id -> our solution, for every (code) answer cell of a source notebook."""
    return {cell_conventions.grade_id(cell): solution_source(cell.source)
            for cell in source_nb.cells if cell_conventions.is_answer(cell)}


def written_answers(source_nb) -> dict:
    """grade_id -> our model answer, for every written answer (a markdown answer cell,
    graded by hand) of a source notebook."""
    return {cell_conventions.grade_id(cell): cell.source for cell in source_nb.cells
            if cell_conventions.is_question(cell)}


def build_submission(case: Case, source_nb, release_nb):
    """The notebook this simulated student hands in; its written answers are ours too
    (unless blank), so they wait for the instructor's manual grading."""
    nb = copy.deepcopy(release_nb)
    ours = {**solution_answers(source_nb), **written_answers(source_nb)}
    answers = {} if case.blank else {**ours, **case.answers}
    unknown = set(case.answers) - set(ours)
    if unknown:
        raise KeyError(f"case {case.name!r} answers cells that do not exist: {sorted(unknown)}")
    for cell in nb.cells:
        grade_id = cell_conventions.grade_id(cell)
        if grade_id in answers:
            cell.source = answers[grade_id].strip("\n")
    if case.mutate is not None:
        nb = case.mutate(nb)
    return nb


def write_submission(case: Case, source_nb, release_nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, content in case.extra_files.items():
        (path.parent / name).write_bytes(content)
    nb = build_submission(case, source_nb, release_nb)
    if nb is None:  # the notebook was never handed in
        return
    if isinstance(nb, (bytes, str)):  # a broken file, as some students hand in
        path.write_bytes(nb if isinstance(nb, bytes) else nb.encode())
    else:
        nbformat.write(nb, str(path))
