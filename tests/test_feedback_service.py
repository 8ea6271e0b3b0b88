"""The on-submit feedback service's bookkeeping, without a Hub or a grading: what it takes
from the exchange, the rate limit, the ledger across restarts, and the notes it leaves.

The real service, grading real submissions in a real Hub: tests/test_jupyterhub_feedback_on_submit.py.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta

import pytest
from nbgrader.utils import notebook_hash

from tests.hub_support import DEPLOY

sys.path.insert(0, str(DEPLOY))
import feedback_service as fs

COURSE_ID, ASSIGNMENT, NOTEBOOK = "a-course", "01_normalization", "normalization"
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def stamp(minutes: float) -> str:
    """nbgrader's timestamp of a submission ``minutes`` after START."""
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


@pytest.fixture
def course(tmp_path):
    exchange = tmp_path / "exchange"
    for folder in ("inbound", f"outbound/{ASSIGNMENT}"):
        (exchange / COURSE_ID / folder).mkdir(parents=True)
    course_dir = tmp_path / "teach" / COURSE_ID
    (course_dir / "source" / ASSIGNMENT).mkdir(parents=True)
    (course_dir / "source" / "02_unreleased").mkdir()
    return {"course_id": COURSE_ID, "course_dir": str(course_dir), "exchange": str(exchange),
            "students": ["alice", "bob"]}


def submit(course: dict, student: str, minutes: float, assignment: str = ASSIGNMENT, finished: bool = True,
           notebooks: dict | None = None):
    """A submission as nbgrader's submit leaves it in the inbound folder, with these
    ``notebooks`` (name -> text; by default an empty notebook of the assignment)."""
    timestamp = stamp(minutes)
    folder = fs.Path(course["exchange"]) / COURSE_ID / "inbound" / f"{student}+{assignment}+{timestamp}+r4nd0m"
    folder.mkdir()
    for name, text in (notebooks or {f"{NOTEBOOK}.ipynb": "{}"}).items():
        (folder / name).write_text(text)
    (folder / "timestamp.txt").write_text(timestamp)
    secret = f"secret-of-{student}-{minutes}"
    if finished:
        (folder / "submission_secret.txt").write_text(secret)
        os.chmod(folder, 0o777)
    return fs.Submission.parse(folder), secret


class RecordingService(fs.FeedbackService):
    """The service with grading replaced: it records what it would grade and marks it graded."""

    def __init__(self, course, settings, crash: bool = False, **kwargs):
        # The folders here are made by root for students without a Unix user: ownership is
        # checked in its own test below (and by the real Hub's).
        super().__init__(course, {"check_owner": False, **settings}, **kwargs)
        self.graded: list[str] = []
        self.crash = crash

    def generate(self, assignment):
        self.generated[assignment] = None

    def grade(self, subs):
        for sub in subs:
            entry = self.ledger.get(sub.key) or {}
            self.ledger.record(sub, status="grading", attempts=entry.get("attempts", 0) + 1)
        if self.crash:
            raise RuntimeError("the grading worker died")
        for sub in subs:
            self.graded.append(sub.key)
            self.ledger.record(sub, status="graded", score=1.0, max_score=1.0)


def note(course: dict, secret: str, notebook: str = NOTEBOOK) -> str | None:
    path = fs.Path(course["exchange"]) / COURSE_ID / "feedback" / f"{notebook_hash(secret=secret, notebook_id=notebook)}.html"
    return path.read_text() if path.exists() else None


def notebook_with_cells(*grade_ids: str) -> str:
    """A notebook's JSON whose nbgrader cells have these grade_ids."""
    cells = [{"cell_type": "code", "source": "", "outputs": [], "execution_count": None,
              "metadata": {"nbgrader": {"grade_id": grade_id, "solution": True}}} for grade_id in grade_ids]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


OWN_CELLS = ("setup", "mean_std_answer", "normalize_answer", "normalize_values")
OTHER_CELLS = ("setup", "rank_answer", "to_images_answer", "rank_values")


def test_rate_limit_counts_gradings_in_a_sliding_window():
    limit = fs.RateLimit(3, timedelta(hours=1))
    at = lambda m: START + timedelta(minutes=m)
    assert limit.next_allowed([at(0), at(10)], at(20)) is None
    assert limit.next_allowed([at(0), at(10), at(20)], at(30)) == at(60)
    assert limit.next_allowed([at(0), at(10), at(20)], at(60)) is None  # the first left the window
    assert limit.next_allowed([at(0), at(10), at(20), at(61)], at(65)) == at(70)
    assert fs.RateLimit(0, timedelta(hours=1)).next_allowed([at(m) for m in range(10)], at(10)) is None


def test_submission_parsed_from_nbgrader_folder_name(course):
    sub, _ = submit(course, "alice", 5)
    assert (sub.student, sub.assignment, sub.timestamp) == ("alice", ASSIGNMENT, stamp(5))
    assert sub.key == f"alice+{ASSIGNMENT}+{stamp(5)}" and sub.at == START + timedelta(minutes=5)
    assert fs.Submission.parse(sub.folder.with_name("not-a-submission")) is None
    assert fs.Submission.parse(sub.folder.with_name("alice+x+yesterday+r")) is None


def test_half_written_submission_waits(course):
    submit(course, "alice", 0, finished=False)
    service = RecordingService(course, {"max_graded": 3})
    assert service.round() == 0 and service.graded == []


def test_limit_refuses_with_a_note_and_a_restart_grades_nothing_twice(course):
    settings = {"max_graded": 2, "window_minutes": 60}
    first, _ = submit(course, "alice", 0)
    second, _ = submit(course, "alice", 1)
    bobs, _ = submit(course, "bob", 1.5)
    service = RecordingService(course, settings)
    service.round()  # one per student and assignment per round, oldest first
    assert service.graded == [first.key, bobs.key]
    service.round()
    assert service.graded == [first.key, bobs.key, second.key]
    third, secret = submit(course, "alice", 2)
    service.round()
    entry = service.ledger.get(third.key)
    assert entry["status"] == "refused" and entry["next_grading"] == (START + timedelta(minutes=60)).isoformat()
    page = note(course, secret)
    assert "2025-03-01 10:00 UTC" in page and "at most 2 times per 60 minutes" in page
    assert third.folder.is_dir()  # kept for the instructor's collect

    restarted = RecordingService(course, settings)  # a new process: the ledger on disk only
    fourth, _ = submit(course, "alice", 61)  # the first grading has left the window
    restarted.round()
    assert restarted.graded == [fourth.key]
    assert json.loads((restarted.root / "ledger.json").read_text())[first.key]["attempts"] == 1


def test_unknown_student_and_assignment_are_not_graded(course):
    stranger, _ = submit(course, "mallory", 0)
    unreleased, secret = submit(course, "bob", 0, assignment="02_unreleased")
    service = RecordingService(course, {})
    assert service.round() == 2 and service.graded == []
    assert service.ledger.get(stranger.key)["status"] == "rejected"
    assert service.ledger.get(unreleased.key)["status"] == "rejected"
    assert "not an assignment of this course" in note(course, secret)


def test_interrupted_grading_is_tried_again_then_given_up(course):
    sub, secret = submit(course, "alice", 0)
    crashing = RecordingService(course, {}, crash=True)
    with pytest.raises(RuntimeError):
        crashing.round()  # the service dies mid-grading: the ledger says "grading", 1 attempt
    retried = RecordingService(course, {}, crash=True)
    with pytest.raises(RuntimeError):
        retried.round()
    assert retried.ledger.get(sub.key) | {"updated": ""} == {
        "student": "alice", "assignment": ASSIGNMENT, "timestamp": sub.timestamp, "attempts": 2,
        "status": "grading", "updated": ""}
    last = RecordingService(course, {})
    assert last.round() == 1 and last.graded == []
    assert last.ledger.get(sub.key)["status"] == "failed"
    assert "could not be graded automatically" in note(course, secret)
    # why is for the instructor (the ledger, the log): an error may quote the course's files
    assert "interrupted" in last.ledger.get(sub.key)["reason"] and "interrupted" not in note(course, secret)


def test_onsubmit_folder_is_an_nbgrader_course_with_its_own_gradebook(course):
    service = RecordingService(course, {})
    config = (service.root / "nbgrader_config.py").read_text()
    assert f"c.CourseDirectory.root = {str(service.root)!r}" in config
    assert "course_config.py" in config and "db_url" not in config  # the default: onsubmit/gradebook.db
    assert (service.root / "source").resolve() == (fs.Path(course["course_dir"]) / "source").resolve()
    assert oct(service.root.stat().st_mode & 0o777) == "0o700"


def test_a_folder_named_after_another_student_is_not_graded(course):
    """The inbound folder is writable by every student: a folder named after someone else,
    but not owned by their Unix user, is not graded (and does not use up their limit)."""
    course["students"].append("nobody")  # a Unix user on every machine
    forged, _ = submit(course, "nobody", 1)  # made by root, named after nobody
    service = RecordingService(course, {"check_owner": True})
    assert service.round() == 1 and service.graded == []
    assert service.ledger.get(forged.key)["status"] == "rejected"
    own, _ = submit(course, "nobody", 2)
    os.chown(own.folder, fs.pwd.getpwnam("nobody").pw_uid, -1)
    assert service.round() == 1 and service.graded == [own.key]


def test_only_plain_files_of_a_submission_are_copied(tmp_path):
    """A link in a submission (to the solutions, say) is never followed by the service,
    which runs as the instructor: what it points to must not come back as feedback."""
    secret = tmp_path / "solutions.ipynb"
    secret.write_text("THE SOLUTIONS")
    src = tmp_path / "submission"
    (src / "data").mkdir(parents=True)
    (src / "normalization.ipynb").write_text("{}")
    (src / "data" / "notes.txt").write_text("mine")
    (src / "linked.ipynb").symlink_to(secret)
    (src / "data" / "linked_folder").symlink_to(tmp_path)
    os.mkfifo(src / "pipe")
    left_out = fs.copy_submission(src, tmp_path / "copy")
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["data", "data/notes.txt", "normalization.ipynb"], copied
    assert sorted(left_out) == ["data/linked_folder", "linked.ipynb", "pipe"]
    (src / "secret_link.txt").symlink_to(secret)
    assert fs._read_regular(src / "secret_link.txt") is None
    (src / "big.bin").write_bytes(b"x" * 2048)
    with pytest.raises(OSError, match="more than"):
        fs.copy_submission(src, tmp_path / "copy2", max_bytes=1024)


def test_another_assignments_notebook_gets_a_note_and_uses_up_no_grading(course):
    """Told apart by their graded cells: a notebook of 02 renamed as 01's, or handed in under
    its own name in 01's folder, is not graded as 01; its student is told why."""
    outbound = fs.Path(course["exchange"]) / COURSE_ID / "outbound"
    (outbound / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_text(notebook_with_cells(*OWN_CELLS))
    (outbound / "02_reshape_slice").mkdir()
    (outbound / "02_reshape_slice" / "reshape_slice.ipynb").write_text(notebook_with_cells(*OTHER_CELLS))
    renamed, renamed_secret = submit(course, "alice", 0, notebooks={f"{NOTEBOOK}.ipynb": notebook_with_cells(*OTHER_CELLS)})
    own_name, own_name_secret = submit(course, "bob", 0, notebooks={"reshape_slice.ipynb": notebook_with_cells(*OTHER_CELLS)})
    service = RecordingService(course, {"max_graded": 1})
    assert service.round() == 2 and service.graded == []
    assert service.ledger.get(renamed.key)["status"] == "rejected"
    page = note(course, renamed_secret)
    assert "normalization.ipynb in this submission is a notebook of 02_reshape_slice, not the " \
           f"normalization.ipynb of {ASSIGNMENT}" in page, page
    page = note(course, own_name_secret, notebook="reshape_slice")
    assert "none of its notebooks (normalization.ipynb); it holds reshape_slice.ipynb (a notebook of " \
           "02_reshape_slice)" in page, page
    assert service.ledger.get(own_name.key)["reason"].startswith(f"This submission of {ASSIGNMENT} has none")

    # Graded: its own notebook with cells deleted and another beside it; an unreadable one
    # (grading says what is wrong). The notes above used up none of the limit of 1.
    partial, _ = submit(course, "alice", 1, notebooks={f"{NOTEBOOK}.ipynb": notebook_with_cells("setup", "normalize_values"),
                                                       "reshape_slice.ipynb": notebook_with_cells(*OTHER_CELLS)})
    unreadable, _ = submit(course, "bob", 1, notebooks={f"{NOTEBOOK}.ipynb": "{ not a notebook"})
    assert service.round() == 2 and service.graded == [partial.key, unreadable.key]
