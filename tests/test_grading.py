"""Grading a simulated class with plain ``nbgrader autograde`` and this course's
configuration: every case scores as it must, feedback teaches without leaking the
hidden tests, and grades repeat exactly."""
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.simulated_class import load_cases
from instructor import nbgrader_cli
from instructor.paths import HIDDEN_TESTS, assignments, notebook_of
from tests.test_written_answers import check_manual_grading

GRADED_KINDS = ("solution", "blank", "variant", "mistake")  # attacks and broken ones: the integrity catalog
SHARD_SIZE = 32  # a large class is graded in shards of at most this many submissions, each in its own course
# (each shard pays a grading process's start and draws the examples again: fewer, larger shards cost less CPU)


def shards(assignment) -> list[tuple[str, int, int]]:
    count = max(1, -(-len([c for c in load_cases(assignment) if c.kind in GRADED_KINDS]) // SHARD_SIZE))
    return [(assignment, index, count) for index in range(count)]


GRADED = [shard for a in assignments() if load_cases(a) for shard in shards(a)]
HIDDEN_CODE = ("def test_", "@graded(", "expect_close(", "student.call(", "import autograder", "from autograder")



def snapshot(course: Path) -> dict:
    """Hash of every file of the course that student code must not change."""
    files = [course / "course_config.py", *(course / "autograder").rglob("*"), *(course / "source").rglob("*")]
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()
            and "__pycache__" not in p.parts}


def shard_class(shard):
    """The test class of one shard: pytest-xdist's --dist loadscope sends each class to one
    worker, so a shard is graded once, on that worker, and the shards spread over every worker."""
    assignment, index, count = shard
    name = f"TestShard_{assignment}_{index + 1}of{count}"
    marked = pytest.mark.parametrize("graded_class", [shard], indirect=True, ids=[f"{assignment}-{index + 1}of{count}"])
    return name, marked(type(name, (ShardChecks,), {}))


@pytest.fixture(scope="module")
def graded_class(request, tmp_path_factory, generated_course):
    assignment, index, count = request.param
    course = nbgrader_cli.copy_course(generated_course,
                                      tmp_path_factory.mktemp(f"grading-{assignment}-{index}") / "course")
    before = snapshot(course)
    # Attacks and broken submissions are graded, twice, by the integrity catalog. Every shard
    # holds our solution and the blank notebook, which bound the scale.
    cases = [c for c in load_cases(assignment) if c.kind in GRADED_KINDS]
    bounds = [c for c in cases if c.kind in ("solution", "blank")]
    cases = bounds + [c for c in cases if c.kind not in ("solution", "blank")][index::count]
    nbgrader_cli.submit_class(course, assignment, cases)
    output = nbgrader_cli.autograde(course, assignment, [c.name for c in cases])
    nbgrader_cli.generate_feedback(course, assignment)
    return assignment, cases, nbgrader_cli.read_grades(course, assignment), output, course, before


class ShardChecks:
    """What every graded shard of a simulated class must show."""

    def test_every_case_scores_as_expected(self, graded_class):
        assignment, cases, grades, output, _, _ = graded_class
        problems = {c.name: nbgrader_cli.check_case(c, grades) for c in cases}
        problems = {name: p for name, p in problems.items() if p}
        assert not problems, f"{assignment}: {problems}\n{output[-3000:]}"


    def test_written_answers_wait_for_manual_grading(self, graded_class, tmp_path):
        """The questions at the end of the notebook reach the formgrader's manual grading."""
        assignment, _, _, _, course, _ = graded_class
        check_manual_grading(assignment, course, tmp_path)


    def test_blank_and_solution_bound_the_scale(self, graded_class):
        _, _, grades, _, _, _ = graded_class
        solution = grades["solution"]
        assert grades["blank"].score == 0 < solution.auto_score == solution.auto_max_score


    def test_mistakes_get_feedback_naming_the_property_and_a_failing_input(self, graded_class):
        assignment, cases, grades, _, course, _ = graded_class
        for case in cases:
            if case.kind != "mistake":
                continue
            html = nbgrader_cli.feedback_path(course, assignment, case.name).read_text()
            assert "✗" in html, f"{case.name}: no failed property in the feedback"
            assert "Smallest failing input" in html, f"{case.name}: the feedback shows no failing input"


    def test_feedback_and_graded_notebooks_never_show_hidden_test_code(self, graded_class):
        assignment, cases, _, _, course, _ = graded_class
        hidden_lines = {line.strip() for path in (HIDDEN_TESTS / assignment).rglob("*.py")
                        for line in path.read_text().splitlines() if len(line.strip()) > 30
                        and not line.strip().startswith(('"""', "#", "import ", "from "))}
        notebook = notebook_of(assignment, course).read_text()
        for case in cases:
            # A line the student wrote too (a reference one-liner, say) is theirs to see.
            submitted = "".join(p.read_text() for p in Path(course, "submitted", case.name, assignment).glob("*.ipynb"))
            secret = {line for line in hidden_lines if line not in notebook and line not in submitted}
            for path in [nbgrader_cli.feedback_path(course, assignment, case.name),
                         *Path(course, "autograded", case.name, assignment).glob("*.ipynb")]:
                text = path.read_text()
                leaked = [m for m in HIDDEN_CODE if m in text] + [line for line in secret if line in text]
                assert not leaked, f"{path} shows hidden test code: {leaked[:3]}"


    def test_course_files_are_untouched_by_grading(self, graded_class):
        """Student code changed no file of the course."""
        _, _, _, _, course, before = graded_class
        assert before and snapshot(course) == before


# One class per shard, the later (heavier) assignments first: loadscope hands the classes out in
# this order (run_tests.sh turns its reordering off), so the longest start first.
for _shard in sorted(GRADED, key=lambda shard: -assignments().index(shard[0])):
    _name, _class = shard_class(_shard)
    globals()[_name] = _class


def test_the_same_submissions_graded_three_times_get_the_same_scores(tmp_path, generated_course):
    """Three courses with the same submissions, graded at the same time: the load the three
    put on each other (and the endless loop's timeouts) changes no score."""
    assignment = "01_normalization"
    cases = [c for c in load_cases(assignment)
             if c.name in {"solution", "unbiased_std", "per_image_stats", "infinite_loop", "attack_allclose"}]
    courses = [nbgrader_cli.copy_course(generated_course, tmp_path / f"course{run}") for run in range(3)]
    for course in courses:
        nbgrader_cli.submit_class(course, assignment, cases)

    def grade(course: Path) -> dict:
        nbgrader_cli.autograde(course, assignment, [c.name for c in cases])
        return {student: (g.score, g.cells) for student, g in nbgrader_cli.read_grades(course, assignment).items()}

    with ThreadPoolExecutor(len(courses)) as pool:  # the gradings are subprocesses: threads only wait
        runs = list(pool.map(grade, courses))
    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0]) == len(cases)
