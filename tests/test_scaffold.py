"""A new assignment from the template: ``instructor.scaffold`` writes three files (notebook,
hidden tests, simulated class), and as written they already pass what the suite asks of
every assignment.

- Plain ``nbgrader`` generates and grades it in a copy of the course: our solution gets every
  point, the blank notebook none, and a mistake that breaks one rule of the spec loses exactly
  that rule's cell.
- In a second copy of the course (its files, ``instructor/``, ``tests/``, the pytest
  configuration), ``python -m instructor.release <id>`` writes its release, solutions and
  recorded examples; every case of its simulated class scores as stated there
  (``instructor.try_hidden --check``); and the course-wide tests run there (a pytest subprocess whose
  ``instructor.paths.ROOT`` is the copy), selected for the new id: traceability, consistency,
  fairness (visible checks in a real kernel, hidden marks of every correct answer), written
  questions, fresh release, recorded examples, source flags. They pass, and they did run for the
  new id (counted from pytest's JUnit report).
"""
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from autograder.simulated_class import load_cases
from instructor import nbgrader_cli
from instructor.paths import ROOT
from instructor.scaffold import scaffold

ASSIGNMENT, NOTEBOOK = "07_scaling", "scaling"
RULES = {"scale.values": "scale_values", "scale.dtype": "scale_dtype", "scale.errors": "scale_errors",
         "scale.pure": "scale_pure"}
# The cases plain nbgrader grades here; the whole class is graded in the judge below
# (``instructor.try_hidden --check``), as tests/test_grading.py grades it through nbgrader.
GRADED = ["solution", "blank", "float32_always"]

# The course-wide tests, each file with how many of its tests take the assignment as a parameter:
# all of them run for the new id (``-k``), with the tests that go over every assignment at once
# and are cheap. Not here: tests/test_grading.py (the nbgrader grading above, for the whole class),
# tests/test_notebooks_execute.py (the release below executes the notebook).
PER_ASSIGNMENT = {
    "tests/test_rules_traceable.py": 3,
    "tests/test_course_consistency.py": 5,
    "tests/test_fairness.py": 3,
    "tests/test_prose_figures.py": 2,
    "tests/test_written_answers.py": 0,
    "tests/test_release_fresh.py": 3,
    "tests/test_recorded_examples.py": 2,
    "tests/test_source_flags.py": 0,
    "tests/test_parallel_grading.py": 1,
    "tests/test_worker_imports.py": 1,
}
OVER_EVERY_ASSIGNMENT = ["test_every_notebook_ends_with_written_questions",
                         "test_solutions_have_no_markers_and_release_no_solutions", "test_no_honest_submission_is_flagged"]
SUITE_COPY = ("course_config.py", "nbgrader_config.py", "pyproject.toml", "source", "autograder", "mnist_course",
              "instructor", "tests", "release", "solutions")


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    course = nbgrader_cli.make_course(tmp_path_factory.mktemp("scaffold") / "course")
    written = scaffold(ASSIGNMENT, NOTEBOOK, root=course)
    return course, written


@pytest.fixture(scope="module")
def graded(scaffolded):
    course, _ = scaffolded
    cases = [c for c in load_cases(ASSIGNMENT, course / "autograder" / "simulated_class") if c.name in GRADED]
    nbgrader_cli.generate(course, ASSIGNMENT)
    nbgrader_cli.submit_class(course, ASSIGNMENT, cases)
    output = nbgrader_cli.autograde(course, ASSIGNMENT, [c.name for c in cases])
    return cases, nbgrader_cli.read_grades(course, ASSIGNMENT), output


def test_the_scaffold_writes_three_files_a_human_edits(scaffolded):
    course, written = scaffolded
    assert [p.relative_to(course).as_posix() for p in written] == [
        f"source/{ASSIGNMENT}/{NOTEBOOK}.ipynb",
        f"autograder/hidden/{ASSIGNMENT}/test_{NOTEBOOK}.py",
        f"autograder/simulated_class/{ASSIGNMENT}.py",
    ]
    hidden = (course / "autograder" / "hidden" / ASSIGNMENT / f"test_{NOTEBOOK}.py").read_text()
    assert "from autograder.testing import" in hidden and "autograder.engine" not in hidden
    assert "{id}" not in hidden and ASSIGNMENT in hidden


def test_the_scaffold_refuses_an_assignment_that_exists(scaffolded):
    course, _ = scaffolded
    with pytest.raises(FileExistsError, match="01_normalization exists already"):
        scaffold("01_normalization", "other", root=course)
    with pytest.raises(ValueError, match="assignment id"):
        scaffold("seven", "other", root=course)


def test_the_template_states_each_rule_and_breaks_each_alone(scaffolded):
    from autograder import rules
    from instructor.paths import notebook_of

    course, _ = scaffolded
    stated, properties, problems = rules.assignment_rules(notebook_of(ASSIGNMENT, course),
                                                          course / "autograder" / "hidden" / ASSIGNMENT)
    assert not problems
    assert {r.id for r in stated} == set(RULES)
    assert {rule: rules.cells_losing(rule, properties) for rule in RULES} == {r: {c} for r, c in RULES.items()}
    cases = load_cases(ASSIGNMENT, course / "autograder" / "simulated_class")
    assert {c.breaks for c in cases if c.breaks} == set(RULES)


def test_plain_nbgrader_grades_the_new_assignment_as_its_simulated_class_says(graded):
    cases, grades, output = graded
    assert sorted(c.name for c in cases) == sorted(GRADED)
    problems = {c.name: nbgrader_cli.check_case(c, grades) for c in cases}
    assert not any(problems.values()), f"{problems}\n{output[-3000:]}"
    assert grades["solution"].auto_score == grades["solution"].auto_max_score == len(RULES)
    assert grades["float32_always"].auto_score == len(RULES) - 1  # breaks scale.dtype: loses its one cell
    assert grades["blank"].score == 0


@pytest.fixture(scope="module")
def released_copy(tmp_path_factory):
    """A copy of the course with the tests and the instructor's commands, the new assignment
    scaffolded and released in it as an instructor would."""
    copy = tmp_path_factory.mktemp("suite") / "course"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", ".hypothesis", "node_modules")
    for name in SUITE_COPY:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, copy / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, copy / name)
    scaffold(ASSIGNMENT, NOTEBOOK, root=copy)
    release = subprocess.run([sys.executable, "-m", "instructor.release", ASSIGNMENT], cwd=copy, env=suite_env(copy),
                             capture_output=True, text=True, timeout=600)
    assert release.returncode == 0, release.stdout[-2000:] + release.stderr[-3000:]
    assert "not recorded" not in release.stderr, release.stderr[-3000:]  # fresh: test_recorded_examples.py
    return copy


def suite_env(copy):
    """This process's environment (MNIST_DIR, TESTS_REQUIRE_EVERY_TOOL, PATH with nbgrader's
    tools), with the copy first on the import path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy), os.environ.get("PYTHONPATH", "")]),
            "MPLBACKEND": "Agg"}


def test_every_simulated_case_scores_as_stated(released_copy):
    """Every case of the template's class, in one judge: variants every point, each mistake
    exactly the cells it states (a ``breaks`` mistake its rule's cells), the blank none."""
    run = subprocess.run([sys.executable, "-m", "instructor.try_hidden", ASSIGNMENT, "--check"], cwd=released_copy,
                         env=suite_env(released_copy), capture_output=True, text=True, timeout=600)
    lines = [line for line in run.stdout.splitlines() if line.startswith(("OK ", "BAD"))]
    assert run.returncode == 0 and not [line for line in lines if line.startswith("BAD")], run.stdout + run.stderr[-3000:]
    cases = load_cases(ASSIGNMENT, released_copy / "autograder" / "simulated_class")
    assert len(lines) == len(cases) >= 2 + 4 + 8, run.stdout


def test_the_course_wide_tests_pass_for_the_new_assignment(released_copy, mnist_dir):
    report = released_copy / "suite.xml"
    selected = " or ".join([ASSIGNMENT] + OVER_EVERY_ASSIGNMENT)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q", "-rfEs", f"--junitxml={report}",
         *PER_ASSIGNMENT, "-k", selected],
        cwd=released_copy, env={**suite_env(released_copy), "MNIST_DIR": str(mnist_dir)},
        capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    cases = ET.parse(report).getroot().iter("testcase")
    ran: dict = {path: 0 for path in PER_ASSIGNMENT}
    others = set()
    for case in cases:
        assert not list(case), f"{case.get('name')}: {[child.tag for child in case]}"  # no failure, error or skip
        path = case.get("classname").replace(".", "/") + ".py"
        name = case.get("name")
        if f"[{ASSIGNMENT}]" in name:
            ran[path] += 1
        else:
            others.add(re.sub(r"\[.*", "", name))
    assert ran == PER_ASSIGNMENT, f"tests run for {ASSIGNMENT}, by file: {ran}"
    assert others == set(OVER_EVERY_ASSIGNMENT), others
