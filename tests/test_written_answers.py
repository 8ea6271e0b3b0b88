"""Written answers (markdown answer cells, graded by hand) reach the formgrader's manual
grading: after plain ``nbgrader autograde`` (of the class ``tests/test_grading.py`` grades,
``check_manual_grading`` below) the submission waits for manual grading in
nbgrader's API (what the formgrader's "Manual Grading" view lists), each question is a
grade of its points that needs a score, and the score an instructor gives counts in the
notebook's total. A question left unanswered scores 0 without waiting for anyone."""
import shutil
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from autograder import cell_conventions
from instructor.paths import assignments, notebook_of


def written_answer_cells(assignment) -> dict:
    """grade_id -> points of each markdown answer cell graded by hand."""
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    return {cell_conventions.grade_id(c): cell_conventions.points(c) for c in nb.cells
            if cell_conventions.is_question(c) and cell_conventions.is_graded(c)}


WITH_QUESTIONS = [a for a in assignments() if written_answer_cells(a)]


def test_every_notebook_ends_with_written_questions():
    """Each notebook closes with 3 to 5 questions answered in words, after its last exercise."""
    assert WITH_QUESTIONS == assignments()
    for assignment in assignments():
        nb = nbformat.read(notebook_of(assignment), as_version=4)
        graded = [i for i, c in enumerate(nb.cells) if cell_conventions.is_graded(c)]
        questions = [i for i in graded if nb.cells[i].cell_type == "markdown"]
        assert 3 <= len(questions) <= 5, f"{assignment}: {len(questions)} questions"
        assert min(questions) > max(set(graded) - set(questions)), f"{assignment}: a question comes before a check cell"


def check_manual_grading(assignment: str, course, work_dir) -> None:
    """On a course where ``solution`` and ``blank`` of ``assignment`` were autograded:
    answered questions wait for the instructor, and their manual scores count."""
    questions = written_answer_cells(assignment)
    notebook = notebook_of(assignment, course).stem

    # What the formgrader's manual grading view lists, through nbgrader's own API.
    api = NbGraderAPI(CourseDirectory(root=str(course)))
    listed = {s["student"]: s for s in api.get_notebook_submissions(assignment, notebook)}
    assert listed["solution"]["needs_manual_grade"], "answered questions must wait for the instructor"
    assert not listed["blank"]["needs_manual_grade"], "unanswered questions score 0 without manual grading"

    gradebook = Path(work_dir) / "gradebook.db"  # a copy: the instructor's scores below stay here
    shutil.copy(course / "gradebook.db", gradebook)
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        answered = gb.find_submission_notebook(notebook, assignment, "solution")
        written = {g.name: g for g in answered.grades if g.name in questions}
        assert set(written) == set(questions)
        for name, grade in written.items():
            assert grade.needs_manual_grade and grade.auto_score is None, name
            assert grade.max_score == questions[name] and grade.cell_type == "markdown", name
        auto_points = answered.score
        for grade in written.values():  # the instructor grades each answer, as the formgrader's API does
            grade.manual_score = grade.max_score
            grade.needs_manual_grade = False
        gb.db.commit()
        answered = gb.find_submission_notebook(notebook, assignment, "solution")
        assert answered.score == auto_points + sum(questions.values()) == answered.max_score
        assert not answered.needs_manual_grade

        blank = gb.find_submission_notebook(notebook, assignment, "blank")
        assert all(g.auto_score == 0 and not g.needs_manual_grade for g in blank.grades if g.name in questions)

    # The grader reads the student's words in the autograded notebook the formgrader shows.
    shown = nbformat.read(course / "autograded" / "solution" / assignment / f"{notebook}.ipynb", as_version=4)
    texts = {cell_conventions.grade_id(c): c.source for c in shown.cells if cell_conventions.grade_id(c) in questions}
    assert set(texts) == set(questions) and all(len(t) > 40 for t in texts.values())
