"""The student bundle holds the released notebooks and the helper package, and
nothing an instructor keeps: no solutions, no hidden tests, no gradebook."""
import zipfile

import pytest

from instructor import bundle
from instructor.paths import AUTOGRADER, ROOT, SOURCE


@pytest.fixture(scope="module")
def bundle_zip(tmp_path_factory):
    return zipfile.ZipFile(bundle.build(tmp_path_factory.mktemp("bundle") / "student.zip"))


def hidden_markers():
    """Text that only instructor material contains: our solutions' lines, the hidden
    tests' code, the simulated class."""
    markers = {"### BEGIN SOLUTION", "### END SOLUTION", "@graded(", "from autograder", "student.call("}
    from autograder import cell_conventions
    from autograder.simulated_class import solution_answers, written_answers
    import nbformat
    notebooks = [nbformat.read(nb_path, as_version=4) for nb_path in SOURCE.glob("*/*.ipynb")]
    # Lines some notebook shows students anyway (the whole game, say, or a training loop
    # that a later notebook's exercise asks for) are not secrets.
    shown = {line.split("#")[0].strip() for nb in notebooks for cell in nb.cells
             if cell_conventions.grade_id(cell) not in solution_answers(nb)
             for line in cell.source.splitlines()}
    for nb in notebooks:
        answers = solution_answers(nb)
        for written in written_answers(nb).values():  # model answers to the questions
            markers.update(line.strip() for line in written.splitlines() if len(line.strip()) > 25)
        for answer in answers.values():
            body = answer.split('"""')[-1]  # the solution itself, after the docstring
            markers.update(line.strip() for line in body.splitlines()
                           if len(line.strip()) > 25 and line.split("#")[0].strip() not in shown)
    for test_file in (AUTOGRADER / "hidden").rglob("*.py"):
        markers.update(line.strip() for line in test_file.read_text().splitlines()
                       if line.strip().startswith(("def test_", "expect_")))
    return markers


def test_bundle_has_the_notebooks_and_the_helpers(bundle_zip):
    names = set(bundle_zip.namelist())
    released = {p.relative_to(ROOT).as_posix() for p in (ROOT / "release").rglob("*.ipynb")}
    assert released and released <= names
    assert {"README.md", "requirements.txt", "mnist_course/__init__.py", "mnist_course/data.py"} <= names


def test_bundle_holds_nothing_from_the_instructor(bundle_zip):
    for name in bundle_zip.namelist():
        top = name.split("/")[0]
        assert top not in {"source", "solutions", "autograder", "tests", "instructor", ".git"}, name
        assert not name.endswith((".db", "course_config.py", "nbgrader_config.py")), name


def test_no_hidden_text_in_any_file(bundle_zip):
    markers = hidden_markers()
    assert len(markers) > 20  # the check itself must have teeth
    for name in bundle_zip.namelist():
        text = bundle_zip.read(name).decode("utf-8", errors="replace")
        leaked = sorted(m for m in markers if m in text)
        assert not leaked, f"{name} contains instructor text: {leaked[:5]}"
