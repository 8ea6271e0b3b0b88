"""Fair grades: a correct solution written differently from ours passes every visible
check cell when the notebook runs in a real Jupyter kernel; every typical mistake of the simulated classes fails at least one
visible check, or the notebook says plainly that the grader checks it (``hidden_only``).

The correct solutions are the simulated classes' ``solution`` and ``variant`` cases;
every exercise must be written at least ``MIN_WAYS`` different ways among them. One
kernel per assignment runs, for each case, only the setup cells, the case's answer cells
and the check cells (with the namespace reset between cases, so no case leans on
another's names). That every correct answer gets full hidden marks, and every mistake
loses what it must, ``tests/test_grading.py`` checks, grading the same cases through the
full nbgrader pipeline.
"""
from __future__ import annotations

import os
import re
import time
from collections import defaultdict

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from autograder import cell_conventions
from autograder.simulated_class import Case, build_submission, load_cases, solution_answers
from instructor.paths import ROOT, assignments, notebook_of

MIN_WAYS = 5
FIGURES: dict = defaultdict(dict)


def nbgrader_kind(cell) -> str:
    if cell.cell_type != "code":
        return "markdown"
    return cell_conventions.role(cell) or "code"


def correct_cases(assignment) -> list[Case]:
    return [c for c in load_cases(assignment) if c.kind in ("solution", "variant")]


def mistake_cases(assignment) -> list[Case]:
    return [c for c in load_cases(assignment) if c.kind == "mistake"]


class Layout:
    """The notebook's setup cells, and its check cells grouped by the answer cell above them."""

    def __init__(self, assignment):
        self.source = nbformat.read(notebook_of(assignment), as_version=4)
        self.setup = [c.source for c in self.source.cells if nbgrader_kind(c) == "setup"]
        self.checks_of: dict[str, list[tuple[str, str]]] = {}
        answer = None
        for cell in self.source.cells:
            kind = nbgrader_kind(cell)
            if kind == "answer":
                answer = cell_conventions.grade_id(cell)
                self.checks_of[answer] = []
            elif kind == "check":
                self.checks_of[answer].append((cell_conventions.grade_id(cell), cell.source))
        self.prose = "\n".join(c.source for c in self.source.cells if c.cell_type == "markdown")

    def answers(self, case: Case) -> list[tuple[str, str]]:
        """The case's answer cells, in notebook order, as the student hands them in."""
        nb = build_submission(case, self.source, self.source)
        return [(cell_conventions.grade_id(c), c.source) for c in nb.cells if cell_conventions.is_answer(c)]


class Kernel:
    """One real Jupyter kernel (nbclient) running cells one by one; errors are returned, not raised."""

    def __init__(self, client: NotebookClient):
        self.client = client

    def run(self, source: str) -> str | None:
        cell = new_code_cell(source)
        self.client.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.client.nb.cells) - 1)
        self.client.nb.cells[-1] = new_code_cell("")  # keep the outputs of finished cells from piling up
        errors = [o for o in cell.outputs if o.output_type == "error"]
        return f"{errors[0].ename}: {errors[0].evalue}" if errors else None


# `%reset -f`, less its full garbage collection (half a second with torch loaded, before every
# case): what the previous case left is freed by reference counting and the next collections.
FRESH_NAMESPACE = """
def _fresh_namespace(gc=__import__("gc"), shell=get_ipython()):
    collect, gc.collect = gc.collect, lambda *args: 0
    try:
        shell.reset(new_session=False)
    finally:
        gc.collect = collect
_fresh_namespace()
"""


def run_visible_checks(assignment, mnist_dir, workdir) -> dict:
    """case name -> {check id: error or None}, for every correct case (all checks) and
    every mistake (checks of the exercises it changed first, stopping at the first failure)."""
    layout = Layout(assignment)
    # The kernel imports this checkout's mnist_course, as a student's would import the bundle's.
    env = {**os.environ, "MNIST_DIR": str(mnist_dir), "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    client = NotebookClient(new_notebook(), kernel_name="python3", timeout=600, allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    outcomes = {}
    passed_before = set()  # (check, the answer cells it depends on): a pass, not run again
    with client.setup_kernel(env=env):
        kernel = Kernel(client)
        for case in correct_cases(assignment) + mistake_cases(assignment):
            assert kernel.run(FRESH_NAMESPACE) is None
            for source in layout.setup:
                assert kernel.run(source) is None, f"{assignment}: the setup cell fails"
            answers = layout.answers(case)
            for grade_id, source in answers:
                error = kernel.run(source)
                assert error is None or case.kind == "mistake", f"{assignment}/{case.name}: {grade_id}: {error}"
            changed = [grade_id for grade_id, _ in answers if grade_id in case.answers]
            order = changed + [grade_id for grade_id, _ in answers if grade_id not in changed]
            results = {}
            sources = dict(answers)
            for grade_id in order:
                for check_id, source in layout.checks_of[grade_id]:
                    key = (check_id, depends_on(grade_id, source, sources))
                    if case.kind != "mistake" and key in passed_before:
                        results[check_id] = None  # the same code passed this check for an earlier case
                        continue
                    results[check_id] = kernel.run(source)
                    if results[check_id] is None:
                        passed_before.add(key)
                    if case.kind == "mistake" and results[check_id]:
                        break
                if case.kind == "mistake" and any(results.values()):
                    break
            outcomes[case.name] = results
    return outcomes


def depends_on(grade_id: str, check_source: str, sources: dict) -> tuple:
    """The sources of the answer cells a check can reach: its own, and those defining a
    name the check or that cell uses (a check of fit on an nn.Sequential needs only fit)."""
    words = set(re.findall(r"\w+", check_source + sources[grade_id]))
    needed = {grade_id} | {other for other, text in sources.items()
                           if set(re.findall(r"^(?:def|class)\s+(\w+)", text, re.M)) & words}
    return tuple(sources[g] for g in sorted(needed))


@pytest.fixture(scope="module")
def visible_outcomes(mnist_dir, tmp_path_factory):
    cache = {}

    def get(assignment):
        if assignment not in cache:
            started = time.time()
            cache[assignment] = run_visible_checks(assignment, mnist_dir, tmp_path_factory.mktemp(assignment))
            FIGURES[assignment]["kernel seconds"] = round(time.time() - started)
        return cache[assignment]
    return get


def distinct(sources) -> int:
    return len({re.sub(r"\s+", " ", s).strip() for s in sources})


@pytest.mark.parametrize("assignment", assignments())
def test_every_exercise_is_written_at_least_five_ways(assignment):
    source = nbformat.read(notebook_of(assignment), as_version=4)
    ours = solution_answers(source)
    ways = {grade_id: distinct([ours[grade_id]] + [c.answers[grade_id] for c in correct_cases(assignment)
                                                   if grade_id in c.answers]) for grade_id in ours}
    FIGURES[assignment]["ways per exercise (min)"] = min(ways.values())
    FIGURES[assignment]["correct answer sets"] = len(correct_cases(assignment))
    few = {grade_id: n for grade_id, n in ways.items() if n < MIN_WAYS}
    assert not few, f"{assignment}: exercises written fewer than {MIN_WAYS} ways among solution and variants: {few}"


@pytest.mark.parametrize("assignment", assignments())
def test_every_correct_answer_passes_every_visible_check(assignment, visible_outcomes):
    outcomes = visible_outcomes(assignment)
    layout = Layout(assignment)
    all_checks = {check_id for checks in layout.checks_of.values() for check_id, _ in checks}
    failures = {}
    for case in correct_cases(assignment):
        failed = {check: error for check, error in outcomes[case.name].items() if error}
        missing = all_checks - set(outcomes[case.name])
        if failed or missing:
            failures[case.name] = failed or f"checks not run: {sorted(missing)}"
    FIGURES[assignment]["correct sets passing every visible check"] = (
        f"{len(correct_cases(assignment)) - len(failures)}/{len(correct_cases(assignment))}")
    assert not failures, f"{assignment}: correct answers fail visible checks: {failures}"


@pytest.mark.parametrize("assignment", assignments())
def test_every_mistake_fails_a_visible_check_or_the_notebook_warns(assignment, visible_outcomes):
    outcomes = visible_outcomes(assignment)
    layout = Layout(assignment)
    prose = " ".join(layout.prose.lower().split())
    caught, warned, silent = [], [], []
    for case in mistake_cases(assignment):
        if any(outcomes[case.name].values()):
            caught.append(case.name)
        elif case.hidden_only and " ".join(case.hidden_only.lower().split()) in prose:
            warned.append(case.name)
        else:
            silent.append(case.name)
    FIGURES[assignment]["mistakes caught by a visible check"] = f"{len(caught)}/{len(mistake_cases(assignment))}"
    FIGURES[assignment]["mistakes the notebook warns the grader checks"] = len(warned)
    assert not silent, (f"{assignment}: mistakes that pass every visible check, and no sentence of the notebook "
                        f"warns about them: {silent}")


def test_print_the_figures(capsys):
    """Runs last (file order): the figures of the tests above, one line per assignment."""
    with capsys.disabled():
        print("\nfairness figures")
        for assignment in sorted(FIGURES):
            print(f"  {assignment}: " + "; ".join(f"{k}: {v}" for k, v in FIGURES[assignment].items()))
