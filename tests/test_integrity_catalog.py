"""The integrity catalog graded as one class with plain ``nbgrader autograde``, twice:
once as root (CI, a grading host) and once as an unprivileged grading user (the
formgrader on a Hub grades as the instructor). Every attack gains nothing and touches
nothing, every broken submission gets what it earned and a clear message, nothing a
submission started is alive afterwards, and the two grade tables are identical."""
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from autograder.simulated_class import load_cases
from instructor import nbgrader_cli
from tests.catalog import DETACH_MARKER, catalog
from tests.hub_support import UnixUsers
from instructor.paths import ROOT
from tests.sandbox_probe import surviving

README = ROOT / "README.md"

ENTRIES = catalog()
GRADING_USER = "course-catalog-grader"
MODES = ["root", "plain user"]


def snapshot(course: Path) -> dict:
    watched = [course / "course_config.py", *(course / "autograder").rglob("*"), *(course / "source").rglob("*"),
               *(course / "submitted").rglob("*")]
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in watched
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def graded():
    if os.geteuid() != 0:
        pytest.fail("the catalog is graded as root and as a plain user: run the tests as root (CI does)")
    users = UnixUsers([GRADING_USER]).create()
    workdir = Path(tempfile.mkdtemp(prefix="catalog-", dir="/tmp"))
    os.chmod(workdir, 0o755)  # the plain grading user must reach the course
    try:
        course = nbgrader_cli.make_course(workdir / "course")
        by_assignment = defaultdict(list)
        for entry in ENTRIES:
            by_assignment[entry.assignment].append(entry.case)
        for assignment, cases in by_assignment.items():  # the plain cases the attacks are compared with
            names = {c.name for c in cases}
            cases += [c for c in load_cases(assignment) if c.name not in names
                      and any(other.same_as == c.name for other in cases)]
            nbgrader_cli.generate(course, assignment)
            nbgrader_cli.submit_class(course, assignment, cases)
        before = snapshot(course)
        runs, logs, alive = {}, {}, {}
        for mode in MODES:
            run_as = None
            if mode == "plain user":
                subprocess.run(["chown", "-R", f"{GRADING_USER}:{GRADING_USER}", str(course)], check=True)
                run_as = GRADING_USER
            table, logs[mode] = {}, {}
            for assignment, cases in by_assignment.items():
                logs[mode][assignment] = nbgrader_cli.autograde(course, assignment, [c.name for c in cases], run_as=run_as)
                table[assignment] = nbgrader_cli.read_grades(course, assignment)
            runs[mode] = table
            alive[mode] = surviving(DETACH_MARKER)
        # Feedback of the first assignment, and of every assignment whose feedback is checked below.
        for assignment in {next(iter(by_assignment))} | {e.assignment for e in ENTRIES if e.feedback_lacks}:
            nbgrader_cli.generate_feedback(course, assignment)
        yield course, runs, logs, before, alive
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        users.remove()


def test_the_catalog_is_large_enough():
    kinds = defaultdict(int)
    for entry in ENTRIES:
        kinds[entry.case.kind] += 1
    assert kinds["attack"] >= 30 and kinds["broken"] >= 15, dict(kinds)
    assert len(ENTRIES) >= 45


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.assignment}:{e.case.name}" for e in ENTRIES])
def test_entry_scores_as_expected(graded, entry, mode):
    _, runs, logs, _, _ = graded
    grades = runs[mode][entry.assignment]
    problems = nbgrader_cli.check_case(entry.case, grades)
    if problems and entry.known_limit:
        assert entry.known_limit in README.read_text(), f"README must name the known limit {entry.known_limit!r}"
        pytest.xfail(f"known limit, stated in README: {entry.known_limit}: {problems}")
    assert not problems, f"{entry.case.name}: {problems}"
    if entry.log_says:
        assert entry.log_says in logs[mode][entry.assignment], f"the grading log does not say {entry.log_says!r}"


LEAK_CHECKED = [e for e in ENTRIES if e.feedback_lacks]


@pytest.mark.parametrize("entry", LEAK_CHECKED, ids=[f"{e.assignment}:{e.case.name}" for e in LEAK_CHECKED])
def test_feedback_never_shows_hidden_test_source(graded, entry):
    """What a submission makes its own code raise must not carry the grader's code into its feedback."""
    course = graded[0]
    notebook_text = "".join(p.read_text() for p in (ROOT / "source" / entry.assignment).glob("*.ipynb"))
    assert entry.feedback_lacks not in notebook_text, "the marker must be hidden-test source only"
    feedback = nbgrader_cli.feedback_path(course, entry.assignment, entry.case.name)
    assert feedback.exists(), f"no feedback was written for {entry.case.name}"
    assert entry.feedback_lacks not in feedback.read_text(), (
        f"{entry.case.name}'s feedback shows hidden-test source ({entry.feedback_lacks!r})")


def test_grading_twice_gives_identical_tables(graded):
    _, runs, _, _, _ = graded
    timed = {(e.assignment, e.case.name) for e in ENTRIES if e.timed}
    flat = [{(a, s): (g.score, g.cells) for a, grades in run.items() for s, g in grades.items() if (a, s) not in timed}
            for run in runs.values()]
    differing = {key: (flat[0].get(key), flat[1].get(key)) for key in flat[0].keys() | flat[1].keys()
                 if flat[0].get(key) != flat[1].get(key)}
    assert not differing, f"graded as {' and as '.join(runs)}, these differ: {differing}"
    assert len(flat[0]) >= 45


def test_nothing_a_submission_started_is_alive_after_grading(graded):
    _, _, _, _, alive = graded
    assert alive == {mode: [] for mode in MODES}


def test_no_file_of_the_course_or_of_another_student_changed(graded):
    course, _, _, before, _ = graded
    after = snapshot(course)
    changed = sorted(str(p.relative_to(course)) for p in before if after.get(p) != before[p])
    assert not changed, changed


def test_every_run_is_sandboxed(graded):
    _, _, logs, _, _ = graded
    for mode, by_assignment in logs.items():
        for assignment, log in by_assignment.items():
            assert "UNSANDBOXED" not in log and "grading refused" not in log, (mode, assignment)
