"""A large graded class made from a small one by copying, not by grading: for timing the class
report on a class of hundreds without grading hundreds of notebooks.

Each new student is a copy of one graded student of the small class (round robin): their
rows of nbgrader's gradebook (submission, notebooks, grades, comments; new ids, through
SQLAlchemy on nbgrader's own tables, so SQLite or PostgreSQL) and the engine's results file
beside their autograded notebook.
"""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from autograder.engine.nbgrader_side.preprocessor import RESULTS_SUFFIX


def _new_id() -> str:
    return uuid.uuid4().hex  # nbgrader's own ids are uuid4 hex strings


def scale_class(db_url: str, course: Path, assignment: str, students: int, prefix: str = "copy") -> list[str]:
    """Add ``students`` copies of the graded students of ``assignment``; returns their names."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(db_url)
    meta = MetaData()
    meta.reflect(engine, only=["assignment", "student", "submitted_assignment", "submitted_notebook", "grade",
                               "comment"])
    t = meta.tables
    made = []
    with engine.begin() as db:
        assignment_id = db.execute(select(t["assignment"].c.id).where(t["assignment"].c.name == assignment)).scalar_one()
        originals = db.execute(select(t["submitted_assignment"]).where(
            t["submitted_assignment"].c.assignment_id == assignment_id)).mappings().all()
        originals = sorted(originals, key=lambda row: row["student_id"])
        notebooks = {row["id"]: [] for row in originals}  # submission id -> its notebooks
        submission_ids = [row["id"] for row in originals]
        for row in db.execute(select(t["submitted_notebook"]).where(
                t["submitted_notebook"].c.assignment_id.in_(submission_ids))).mappings():
            notebooks[row["assignment_id"]].append(row)
        notebook_ids = [nb["id"] for nbs in notebooks.values() for nb in nbs]
        children = {name: {} for name in ("grade", "comment")}
        for name in children:
            for row in db.execute(select(t[name]).where(t[name].c.notebook_id.in_(notebook_ids))).mappings():
                children[name].setdefault(row["notebook_id"], []).append(row)
        rows: dict[str, list[dict]] = {name: [] for name in ("student", "submitted_assignment", "submitted_notebook",
                                                             "grade", "comment")}
        for index in range(students):
            source = originals[index % len(originals)]
            student = f"{prefix}{index:04d}_{source['student_id']}"
            made.append(student)
            rows["student"].append({"id": student})
            submission = {**source, "id": _new_id(), "student_id": student}
            rows["submitted_assignment"].append(submission)
            for nb in notebooks[source["id"]]:
                copy = {**nb, "id": _new_id(), "assignment_id": submission["id"]}
                rows["submitted_notebook"].append(copy)
                for name in children:
                    rows[name] += [{**row, "id": _new_id(), "notebook_id": copy["id"]}
                                   for row in children[name].get(nb["id"], [])]
            _copy_results(course, assignment, source["student_id"], student)
        for name, batch in rows.items():  # parents first: the foreign keys hold at every step
            if batch:
                db.execute(t[name].insert(), batch)
    engine.dispose()
    return made


def _copy_results(course: Path, assignment: str, source: str, student: str) -> None:
    """The results files of ``source``'s autograded notebooks, as ``student``'s."""
    from_folder = Path(course) / "autograded" / source / assignment
    to_folder = Path(course) / "autograded" / student / assignment
    to_folder.mkdir(parents=True, exist_ok=True)
    for path in from_folder.glob(f"*{RESULTS_SUFFIX}"):
        shutil.copy(path, to_folder / path.name)
