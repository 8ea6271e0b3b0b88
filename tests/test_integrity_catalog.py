"""The integrity catalog graded as one class with plain ``nbgrader autograde``,
twice: every attack gains nothing and touches nothing, every broken submission
gets what it earned and a clear message, and the two grade tables are identical."""
import hashlib
from collections import defaultdict
from pathlib import Path

import pytest

from autograder.simulated_class import load_cases
from instructor import grading
from tests.catalog import catalog

ENTRIES = catalog()


def snapshot(course: Path) -> dict:
    watched = [course / "course_config.py", *(course / "autograder").rglob("*"), *(course / "source").rglob("*"),
               *(course / "submitted").rglob("*")]
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in watched
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = grading.make_course(tmp_path_factory.mktemp("catalog") / "course")
    by_assignment = defaultdict(list)
    for entry in ENTRIES:
        by_assignment[entry.assignment].append(entry.case)
    for assignment, cases in by_assignment.items():  # the plain cases the attacks are compared with
        names = {c.name for c in cases}
        cases += [c for c in load_cases(assignment) if c.name not in names
                  and any(other.same_as == c.name for other in cases)]
        grading.generate(course, assignment)
        grading.submit_class(course, assignment, cases)
    before = snapshot(course)
    runs, logs = [], {}
    for _ in range(2):
        table = {}
        for assignment, cases in by_assignment.items():
            logs[assignment] = grading.autograde(course, assignment, [c.name for c in cases])
            table[assignment] = grading.read_grades(course, assignment)
        runs.append(table)
    grading.generate_feedback(course, next(iter(by_assignment)))
    return course, runs, logs, before


def test_the_catalog_is_large_enough():
    kinds = defaultdict(int)
    for entry in ENTRIES:
        kinds[entry.case.kind] += 1
    assert kinds["attack"] >= 20 and kinds["broken"] >= 15, dict(kinds)
    assert len(ENTRIES) >= 30


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.assignment}:{e.case.name}" for e in ENTRIES])
def test_entry_scores_as_expected(graded, entry):
    _, runs, logs, _ = graded
    grades = runs[0][entry.assignment]
    problems = grading.check_case(entry.case, grades)
    assert not problems, f"{entry.case.name}: {problems}"
    if entry.log_says:
        assert entry.log_says in logs[entry.assignment], f"the grading log does not say {entry.log_says!r}"


def test_grading_twice_gives_identical_tables(graded):
    _, runs, _, _ = graded
    flat = [{(a, s): (g.score, g.cells) for a, grades in run.items() for s, g in grades.items()} for run in runs]
    assert flat[0] == flat[1]
    assert len(flat[0]) >= 30


def test_no_file_of_the_course_or_of_another_student_changed(graded):
    course, _, _, before = graded
    after = snapshot(course)
    changed = sorted(str(p.relative_to(course)) for p in before if after.get(p) != before[p])
    assert not changed, changed
