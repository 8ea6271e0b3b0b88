"""nbgrader's SQLite gradebook under concurrent writers, as the parallel grading path uses it.

Several processes write grades through nbgrader's ``Gradebook`` at once while another
holds SQLite's write lock longer than sqlite3's default 5-second wait: with the URL the
parallel path uses, every writer waits its turn and every grade lands; with the plain
URL a writer is locked out (which is what the busy timeout is for).
"""
from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest
from nbgrader.api import Gradebook

from instructor import gradebook

COURSE = "concurrency-course"
ASSIGNMENT = "ps1"
NOTEBOOK = "problems"
CELLS = ("first", "second", "third")
# Longer than the 5 s Python's sqlite3 waits for a lock by default.
LOCK_HELD_S = 7
WRITERS = 6


def make_assignment(db_url: str) -> None:
    """An assignment of one notebook with three graded cells, as generate_assignment records one."""
    with Gradebook(db_url, COURSE) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        for name in CELLS:
            gb.add_grade_cell(name, NOTEBOOK, ASSIGNMENT, max_score=1, cell_type="code")


def hold_write_lock(path: str, acquired, seconds: float) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    acquired.set()
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()


def write_grades(db_url: str, student: str, score: float) -> None:
    """What an autograde task writes: the student, the submission, a score per graded cell."""
    with Gradebook(db_url, COURSE) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(ASSIGNMENT, student)
        for grade in gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).grades:
            grade.auto_score = score
        gb.db.commit()


def under_a_held_lock(path: str, db_url: str, students: list[str]) -> list[int]:
    """Write every student's grades from a process each while another process holds the lock."""
    fork = multiprocessing.get_context("fork")
    acquired = fork.Event()
    locker = fork.Process(target=hold_write_lock, args=(path, acquired, LOCK_HELD_S))
    locker.start()
    assert acquired.wait(30), "the lock holder never got the lock"
    writers = [fork.Process(target=write_grades, args=(db_url, student, 1.0)) for student in students]
    for writer in writers:
        writer.start()
    for process in [locker, *writers]:
        process.join(120)
    return [writer.exitcode for writer in writers]


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "gradebook.db"
    plain = f"sqlite:///{path}"
    make_assignment(plain)
    return str(path), plain


def test_concurrent_writers_wait_for_the_lock_and_every_grade_lands(database):
    path, plain = database
    db_url = gradebook.for_concurrent_writers(plain)
    students = [f"student{i}" for i in range(WRITERS)]
    gradebook.prepare(db_url, COURSE, ASSIGNMENT, students)
    started = time.monotonic()
    assert under_a_held_lock(path, db_url, students) == [0] * WRITERS
    assert time.monotonic() - started >= LOCK_HELD_S
    with Gradebook(plain, COURSE) as gb:
        scores = {s.student_id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
    assert scores == {student: float(len(CELLS)) for student in students}


def test_without_the_busy_timeout_a_writer_is_locked_out(database):
    path, plain = database
    gradebook.prepare(plain, COURSE, ASSIGNMENT, ["student0"])
    assert under_a_held_lock(path, plain, ["student0"]) != [0], \
        "sqlite3's default wait outlasted the lock: the first test proves nothing"
    with Gradebook(plain, COURSE) as gb:
        assert gb.assignment_submissions(ASSIGNMENT) == []


def test_the_busy_timeout_is_added_once_and_only_to_sqlite():
    safe = gradebook.for_concurrent_writers("sqlite:////srv/course/gradebook.db")
    assert safe == f"sqlite:////srv/course/gradebook.db?timeout={gradebook.SQLITE_BUSY_TIMEOUT_S}"
    assert gradebook.for_concurrent_writers(safe) == safe
    assert gradebook.without_driver_options(safe) == "sqlite:////srv/course/gradebook.db"
    postgres = "postgresql+psycopg://grader:secret@db:5432/course"
    assert gradebook.for_concurrent_writers(postgres) == postgres


def test_prepare_refuses_an_assignment_that_was_never_generated(tmp_path):
    db_url = gradebook.for_concurrent_writers(f"sqlite:///{tmp_path / 'gradebook.db'}")
    with pytest.raises(gradebook.GradebookNotReady, match="nbgrader generate_assignment ps2"):
        gradebook.prepare(db_url, COURSE, "ps2", ["student0"])


def test_prepare_migrates_an_existing_gradebook_and_keeps_its_grades(database):
    path, plain = database
    write_grades(plain, "earlier", 1.0)
    gradebook.prepare(gradebook.for_concurrent_writers(plain), COURSE, ASSIGNMENT, ["earlier", "later"])
    with Gradebook(plain, COURSE) as gb:
        assert {s.id for s in gb.students} == {"earlier", "later"}
        assert [s.score for s in gb.assignment_submissions(ASSIGNMENT)] == [3.0]
    version = sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchall()
    assert len(version) == 1
