"""Parallel grading on Dask gives what plain ``nbgrader autograde`` gives.

One small class of 01_normalization (our solution, the blank notebook, two mistakes, a
variant, an attack) is graded three times: serially with plain ``nbgrader autograde``;
by ``instructor.grade_class`` on two separate ``dask worker`` processes (standing in for
two grading hosts) into a PostgreSQL server the test starts; and by the command on a
LocalCluster into the course's SQLite gradebook. The grade tables and nbgrader's
exports are identical. A submission whose grading fails costs only itself, and running
the command again grades it once fixed, skipping what is graded.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from autograder.simulated_class.representative import REPRESENTATIVE, representative_cases
from instructor import nbgrader_cli
from instructor.grade_class import grade_class
from instructor.paths import ROOT, assignments
from tests.postgres_support import postgres_server

ASSIGNMENT = "01_normalization"
CLASS = REPRESENTATIVE[ASSIGNMENT]  # solution, blank, two mistakes, a variant, an attack
VENV_BIN = Path(sys.executable).parent


def small_class():
    return representative_cases(ASSIGNMENT)


@pytest.mark.parametrize("assignment", assignments())
def test_every_assignment_has_a_small_representative_class(assignment):
    kinds = [case.kind for case in representative_cases(assignment)]
    assert kinds.count("solution") == kinds.count("blank") == 1, kinds
    assert kinds.count("mistake") >= 2 and "variant" in kinds, kinds
    assert len(kinds) <= 7, "the main job grades this class on every run: keep it small"


def course_with_class(where: Path, db_url: str | None = None) -> Path:
    course = nbgrader_cli.make_course(where / "course")
    nbgrader_cli.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", *(["--db", db_url] if db_url else []))
    nbgrader_cli.submit_class(course, ASSIGNMENT, small_class())
    return course


def table(grades: dict) -> dict:
    """student -> (score, max score, {cell: (score, max score)}): the grade table compared."""
    return {student: (g.score, g.max_score, g.cells) for student, g in grades.items()}


def exported(course: Path, db_url: str | None = None) -> list[dict]:
    """nbgrader's own CSV export, one row per student."""
    target = course / "grades.csv"
    nbgrader_cli.nbgrader(course, "export", "--to", str(target), *(["--db", db_url] if db_url else []))
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    return sorted(rows, key=lambda row: row["student_id"])


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The class graded by plain `nbgrader autograde`: the reference."""
    course = course_with_class(tmp_path_factory.mktemp("serial"))
    output = nbgrader_cli.autograde(course, ASSIGNMENT, CLASS)
    grades = nbgrader_cli.read_grades(course, ASSIGNMENT)
    assert sorted(grades) == sorted(CLASS), output[-3000:]
    problems = {case.name: nbgrader_cli.check_case(case, grades) for case in small_class()}
    assert not any(problems.values()), problems
    return table(grades), exported(course)


@contextmanager
def dask_hosts(count: int, folder: Path):
    """`dask scheduler` and `count` `dask worker` processes, each as on a grading host of its own."""
    scheduler_file = folder / "scheduler.json"
    # The workers import the course's grading command by name, as a grading host with the course
    # checked out would; nbgrader finds `alembic` on PATH.
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    logs = []

    def start(*args, name):
        log = open(folder / f"{name}.log", "w")
        logs.append(log)
        return subprocess.Popen([str(VENV_BIN / "dask"), *args], env=env, cwd=folder, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    processes = [start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                       "--scheduler-file", str(scheduler_file), name="scheduler")]
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert processes[0].poll() is None, (folder / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        for index in range(count):
            host = f"grading-host-{index}"
            (folder / host).mkdir()
            processes.append(start("worker", "--scheduler-file", str(scheduler_file), "--name", host,
                                   "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                   "--local-directory", str(folder / host), name=host))
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file)) as client:
            client.wait_for_workers(count, timeout=180)
            address = client.scheduler.address
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def test_two_dask_workers_into_postgresql_grade_as_plain_nbgrader(serial, tmp_path):
    serial_table, serial_export = serial
    with postgres_server() as db_url, tempfile.TemporaryDirectory(prefix="dask-hosts-") as hosts:
        course = course_with_class(tmp_path, db_url=db_url)
        with dask_hosts(2, Path(hosts)) as scheduler:
            report = grade_class(course, ASSIGNMENT, scheduler=scheduler, db_url=db_url, progress=False)
        assert report.ok, [(o.student, o.error) for o in report.of("failed")]
        assert sorted(o.student for o in report.of("graded")) == sorted(CLASS)
        assert report.workers == 2
        assert {o.worker for o in report.outcomes} == {"grading-host-0", "grading-host-1"}, \
            "the class was not shared between the two grading hosts"
        assert table(nbgrader_cli.read_grades(course, ASSIGNMENT, db_url=db_url)) == serial_table
        assert exported(course, db_url) == serial_export
        assert not (course / "gradebook.db").exists(), "something wrote a SQLite gradebook instead of PostgreSQL"
        for student in CLASS:
            assert list((course / "autograded" / student / ASSIGNMENT).glob("*.ipynb")), student


def test_local_cluster_into_sqlite_grades_as_plain_nbgrader_and_reruns_what_failed(serial, tmp_path):
    serial_table, serial_export = serial
    course = course_with_class(tmp_path)
    # One more student, whose collected timestamp is garbled: nbgrader fails that submission.
    late = course / "submitted" / "garbled_timestamp" / ASSIGNMENT
    shutil.copytree(course / "submitted" / "solution" / ASSIGNMENT, late)
    (late / "timestamp.txt").write_text("the day after the deadline")

    def command(*extra):
        return subprocess.run([sys.executable, "-m", "instructor.grade_class", ASSIGNMENT, "--course", str(course),
                               "--workers", "2", *extra], cwd=ROOT, capture_output=True, text=True,
                              env=nbgrader_cli.nbgrader_env(), timeout=1200)

    first = command()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "graded 6 submission(s)" in first.stdout and "7 submission(s) in" in first.stdout, first.stdout
    assert "on 2 Dask worker(s)" in first.stdout, first.stdout
    assert "FAILED garbled_timestamp" in first.stdout, first.stdout
    assert "garbled_timestamp" in (course / "grade_class.log").read_text()
    grades = nbgrader_cli.read_grades(course, ASSIGNMENT)
    assert "garbled_timestamp" not in grades, "a failed submission has a grade"
    assert table(grades) == serial_table

    (late / "timestamp.txt").write_text("2026-01-15 17:00:00.000000 UTC")
    second = command()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "graded 1 submission(s)" in second.stdout, second.stdout
    assert "6 already graded, skipped" in second.stdout, second.stdout
    regraded = table(nbgrader_cli.read_grades(course, ASSIGNMENT))
    assert regraded.pop("garbled_timestamp")[:3] == serial_table["solution"]
    assert regraded == serial_table
    assert [row for row in exported(course) if row["student_id"] in CLASS] == serial_export
