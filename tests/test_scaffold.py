"""A new assignment from the template: ``instructor.scaffold`` writes three files (notebook,
hidden tests, simulated class) into a copy of the course, and plain ``nbgrader`` generates
and grades it: our solution gets every point, the blank notebook none, and a mistake loses
exactly the property it breaks."""
import pytest

from autograder.simulated_class import load_cases
from instructor import nbgrader_cli
from instructor.scaffold import scaffold

ASSIGNMENT, NOTEBOOK = "07_scaling", "scaling"


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    course = nbgrader_cli.make_course(tmp_path_factory.mktemp("scaffold") / "course")
    written = scaffold(ASSIGNMENT, NOTEBOOK, root=course)
    return course, written


@pytest.fixture(scope="module")
def graded(scaffolded):
    course, _ = scaffolded
    cases = load_cases(ASSIGNMENT, course / "autograder" / "simulated_class")
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


def test_the_scaffold_refuses_an_assignment_that_exists(scaffolded):
    course, _ = scaffolded
    with pytest.raises(FileExistsError, match="01_normalization exists already"):
        scaffold("01_normalization", "other", root=course)
    with pytest.raises(ValueError, match="assignment id"):
        scaffold("seven", "other", root=course)


def test_plain_nbgrader_grades_the_new_assignment_as_its_simulated_class_says(graded):
    cases, grades, output = graded
    assert {c.name for c in cases} == {"solution", "blank", "scale_in_place"}
    problems = {c.name: nbgrader_cli.check_case(c, grades) for c in cases}
    assert not any(problems.values()), f"{problems}\n{output[-3000:]}"
    assert grades["solution"].auto_score == grades["solution"].auto_max_score == 2
    assert grades["scale_in_place"].auto_score == 1  # values right, input changed: one property lost
    assert grades["blank"].score == 0
