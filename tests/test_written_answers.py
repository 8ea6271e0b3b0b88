"""Written answers (markdown answer cells, graded by hand) reach the formgrader's manual
grading: after plain ``nbgrader autograde`` the submission waits for manual grading in
nbgrader's API (what the formgrader's "Manual Grading" view lists), each question is a
grade of its points that needs a score, and the score an instructor gives counts in the
notebook's total. A question left unanswered scores 0 without waiting for anyone."""
import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from autograder.simulated_class import load_cases
from instructor import grading
from instructor.paths import assignments, notebook_of


def written_answer_cells(assignment) -> dict:
    """grade_id -> points of each markdown answer cell graded by hand."""
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")
            and c.metadata["nbgrader"].get("solution")}


WITH_QUESTIONS = [a for a in assignments() if written_answer_cells(a)]


def test_every_notebook_ends_with_written_questions():
    """Each notebook closes with 3 to 5 questions answered in words, after its last exercise."""
    assert WITH_QUESTIONS == assignments()
    for assignment in assignments():
        nb = nbformat.read(notebook_of(assignment), as_version=4)
        graded = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")]
        questions = [i for i in graded if nb.cells[i].cell_type == "markdown"]
        assert 3 <= len(questions) <= 5, f"{assignment}: {len(questions)} questions"
        assert min(questions) > max(set(graded) - set(questions)), f"{assignment}: a question comes before a check cell"


@pytest.mark.parametrize("assignment", WITH_QUESTIONS)
def test_written_answers_wait_for_manual_grading(assignment, tmp_path):
    questions = written_answer_cells(assignment)
    cases = [c for c in load_cases(assignment) if c.name in ("solution", "blank")]
    course = grading.make_course(tmp_path / "course")
    grading.generate(course, assignment)
    grading.submit_class(course, assignment, cases)
    grading.autograde(course, assignment, [c.name for c in cases])
    notebook = notebook_of(assignment, course).stem

    # What the formgrader's manual grading view lists, through nbgrader's own API.
    api = NbGraderAPI(CourseDirectory(root=str(course)))
    listed = {s["student"]: s for s in api.get_notebook_submissions(assignment, notebook)}
    assert listed["solution"]["needs_manual_grade"], "answered questions must wait for the instructor"
    assert not listed["blank"]["needs_manual_grade"], "unanswered questions score 0 without manual grading"

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
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
    texts = {c.metadata["nbgrader"]["grade_id"]: c.source for c in shown.cells
             if c.metadata.get("nbgrader", {}).get("grade_id") in questions}
    assert set(texts) == set(questions) and all(len(t) > 40 for t in texts.values())
