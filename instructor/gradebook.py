"""nbgrader's gradebook, ready for many graders writing at once.

nbgrader's ``Gradebook`` creates its tables, stamps the schema version and adds the
course the first time any process opens a database; two processes doing that at once
race (both see an empty database, the second fails). And SQLite lets one writer in at a
time. So before a parallel run fans out, :func:`prepare` creates and migrates the
database, checks the assignment and adds every student, once; and :func:`for_concurrent_writers`
gives the URL the graders use, on which a SQLite writer waits for the lock instead of
failing with "database is locked". PostgreSQL (``postgresql+psycopg://...``) takes
concurrent writers as it is.
"""
from __future__ import annotations

from sqlalchemy.engine import make_url

# How long a SQLite writer waits for another's lock before it gives up. Locks are held
# for milliseconds per grade, and SQLite releases them when a process dies, so a long
# wait costs nothing unless something is badly wrong.
SQLITE_BUSY_TIMEOUT_S = 300


class GradebookNotReady(RuntimeError):
    """The gradebook lacks what grading needs (the assignment was never generated into it)."""


def for_concurrent_writers(db_url: str) -> str:
    """``db_url`` with a SQLite busy timeout (``?timeout=``), unless it sets one already."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or "timeout" in url.query:
        return db_url
    return url.update_query_dict({"timeout": str(SQLITE_BUSY_TIMEOUT_S)}).render_as_string(hide_password=False)


def without_driver_options(db_url: str) -> str:
    """``db_url`` without the SQLite busy timeout, as nbgrader's own ``db upgrade`` expects."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return db_url
    return url.difference_update_query(["timeout"]).render_as_string(hide_password=False)


def upgrade(db_url: str) -> None:
    """``nbgrader db upgrade``'s migration (alembic to nbgrader's head), its chatter kept unless it fails."""
    import subprocess

    from nbgrader import dbutil

    with dbutil._temp_alembic_ini(without_driver_options(db_url)) as alembic_ini:
        run = subprocess.run(["alembic", "-c", alembic_ini, "upgrade", "head"], capture_output=True, text=True)
    if run.returncode:
        raise GradebookNotReady(f"migrating the gradebook at {make_url(db_url)!r} failed:\n{run.stdout}{run.stderr}")


def prepare(db_url: str, course_id: str, assignment: str, students: list[str]) -> None:
    """Migrate or create the database, check the assignment, add the students: once, up front."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db_url)
    try:
        exists = bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if exists:  # one from an older nbgrader is migrated, as `nbgrader db upgrade` does (else a no-op)
        upgrade(db_url)
    with Gradebook(db_url, course_id) as gb:  # a new one: tables made, version stamped, course added
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            found = None
        if found is None or not found.notebooks:
            raise GradebookNotReady(
                f"assignment {assignment!r} is not in the gradebook at {make_url(db_url)!r}: run "
                f"`nbgrader generate_assignment {assignment} --force` with the same database first "
                f"(its --db option, or c.CourseDirectory.db_url)")
        for student in students:
            gb.update_or_create_student(student)
