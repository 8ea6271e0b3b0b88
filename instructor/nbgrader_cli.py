"""Run nbgrader on a course folder, grade a simulated class, read back the grades.

Everything goes through the real ``nbgrader`` command with the course's
configuration, exactly as an instructor runs it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograder.simulated_class import Case, write_submission
from instructor.paths import COURSE_FILES, ROOT, notebook_of


class NbgraderFailed(RuntimeError):
    pass


def nbgrader_env() -> dict:
    """nbgrader runs ``alembic`` by name: the virtual environment's bin must be on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))


def nbgrader(course: Path, *args, log: Path | None = None, on_line=None, check: bool = True,
             run_as: str | None = None) -> str:
    """Run ``nbgrader ARGS`` in ``course``; returns its output (also appended to ``log``).
    ``run_as``: a unix user to run it as (root only), as a Hub's formgrader runs as the instructor."""
    command = [str(Path(sys.executable).parent / "nbgrader"), *map(str, args)]
    env = nbgrader_env()
    if run_as:
        command = ["runuser", "-u", run_as, "--", *command]
        env["HOME"] = str(course)
    proc = subprocess.Popen(command, cwd=course, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if on_line:
            on_line(line)
    proc.wait()
    output = "".join(lines)
    if log is not None:
        with open(log, "a") as f:
            f.write(f"$ nbgrader {' '.join(map(str, args))}\n{output}\n")
    if check and proc.returncode != 0:
        raise NbgraderFailed(f"nbgrader {' '.join(map(str, args))} failed ({proc.returncode}):\n{output[-4000:]}")
    return output


def make_course(dest: Path) -> Path:
    """A fresh course folder with this course's configuration, sources and tests."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", ".hypothesis")
    for name in COURSE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def generate(course: Path, assignment: str, log: Path | None = None) -> None:
    """``nbgrader generate_assignment``; ``assignment`` "*" generates every one in one command
    (nbgrader's start, ~9 CPU-seconds, is most of one assignment's cost)."""
    nbgrader(course, "generate_assignment", assignment, "--force", log=log)


def copy_course(generated: Path, dest: Path) -> Path:
    """A new course at ``dest``: a copy of ``generated`` (a course made by ``make_course``
    whose assignments are generated, nothing submitted), gradebook included."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(generated, dest, symlinks=True)
    return dest


def submit_class(course: Path, assignment: str, cases: list[Case]) -> None:
    """Write each case's notebook where ``nbgrader collect`` would put it."""
    source_nb = nbformat.read(notebook_of(assignment, course), as_version=4)
    name = notebook_of(assignment, course).name
    release_nb = nbformat.read(course / "release" / assignment / name, as_version=4)
    for case in cases:
        target = course / "submitted" / case.name / assignment / name
        if target.parent.exists():
            shutil.rmtree(target.parent)
        write_submission(case, source_nb, release_nb, target)


def autograde(course: Path, assignment: str, students: list[str], log: Path | None = None,
              run_as: str | None = None, options: tuple[str, ...] = ()) -> str:
    """``nbgrader autograde`` for the whole class, with a progress bar per notebook;
    ``assignment`` "*" grades every assignment submitted, in one nbgrader process (one judge).
    ``options``: further command-line options (``--Class.trait=value``)."""
    bar = tqdm(total=len(students), desc=f"grading {assignment}", unit="student", file=sys.stderr)

    def tick(line: str) -> None:
        if "Sanitizing" in line:
            bar.update(1)
            bar.set_postfix_str(Path(line.split()[-1]).parts[-3][:24])

    try:
        return nbgrader(course, "autograde", assignment, "--force", *options, log=log, on_line=tick, check=False,
                        run_as=run_as)
    finally:
        bar.close()


def generate_feedback(course: Path, assignment: str, log: Path | None = None) -> None:
    nbgrader(course, "generate_feedback", assignment, "--force", log=log, check=False)


@dataclass
class NotebookGrade:
    score: float
    max_score: float
    cells: dict  # grade_id -> (score, max_score)
    by_hand: frozenset = frozenset()  # written answers: scored in the formgrader, not by autograde

    @property
    def auto_cells(self) -> dict:
        """The cells autograde scores: every graded cell but the written answers."""
        return {cell: points for cell, points in self.cells.items() if cell not in self.by_hand}

    @property
    def auto_score(self) -> float:
        return sum(score for score, _ in self.auto_cells.values())

    @property
    def auto_max_score(self) -> float:
        return sum(max_score for _, max_score in self.auto_cells.values())


def read_grades(course: Path, assignment: str, db_url: str | None = None) -> dict[str, NotebookGrade]:
    """student id -> the grade nbgrader stored for this assignment's notebook (in the course's
    ``gradebook.db``, or the gradebook at ``db_url``)."""
    from nbgrader.api import Gradebook

    grades = {}
    with Gradebook(db_url or f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(assignment):
            for nb in submission.notebooks:
                cells = {g.name: (float(g.score), float(g.max_score)) for g in nb.grades}
                by_hand = frozenset(g.name for g in nb.grades if g.cell_type == "markdown")
                grades[submission.student_id] = NotebookGrade(float(nb.score), float(nb.max_score), cells, by_hand)
    return grades


def feedback_path(course: Path, assignment: str, student: str) -> Path:
    name = notebook_of(assignment, course).with_suffix(".html").name
    return course / "feedback" / student / assignment / name


def check_case(case: Case, grades: dict[str, NotebookGrade]) -> list[str]:
    """What is wrong with this case's grade, given what it should score; [] if all holds."""
    grade = grades.get(case.name)
    if not case.recorded:
        return [] if grade is None else [f"expected no grade, got {grade.score:g}"]
    if grade is None:
        return ["no grade was recorded"]
    problems = []
    if case.full and grade.auto_score != grade.auto_max_score:
        lost = sorted(cell for cell, (s, m) in grade.auto_cells.items() if s < m)
        problems.append(f"expected full marks, lost points in {lost}")
    if case.zero and grade.score != 0:
        problems.append(f"expected 0, got {grade.score:g}")
    for cell in sorted(case.fails):
        if cell not in grade.cells:
            problems.append(f"no graded cell {cell!r}")
        elif grade.cells[cell][0] != 0:
            problems.append(f"expected to lose the points of {cell!r}")
    if case.rest_full:
        kept = sorted(cell for cell, (s, m) in grade.auto_cells.items() if cell not in case.fails and s < m)
        if kept:
            problems.append(f"expected to keep every other cell's points, lost {kept}")
    if case.same_as:
        other = grades.get(case.same_as)
        if other is None or other.score != grade.score:
            problems.append(f"expected the same score as {case.same_as!r} "
                            f"({other.score if other else '?'}), got {grade.score:g}")
    return problems
