"""The on-submit feedback service's bookkeeping, without a Hub or a grading: what it takes
from the exchange, the rate limit, the ledger across restarts, and the notes it leaves.

The real service, grading real submissions in a real Hub: tests/test_jupyterhub_feedback_on_submit.py.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from contextlib import contextmanager
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
    """The service with grading replaced: it records what it would grade and marks it graded,
    on a clock the test sets (``now``). A key in ``stuck`` never finishes its grading; a key
    in ``slow`` finishes after that many looks."""

    def __init__(self, course, settings, crash: bool = False, stuck=(), slow=None, now=START, **kwargs):
        # The folders here are made by root for students without a Unix user: ownership is
        # checked in its own test below (and by the real Hub's).
        self.now = now
        super().__init__(course, {"check_owner": False, "workers": 2, **settings}, clock=lambda: self.now, **kwargs)
        self.graded: list[str] = []
        self.killed: list[str] = []
        self.crash, self.stuck, self.slow = crash, set(stuck), dict(slow or {})

    def generate(self, assignment):
        self.generated[assignment] = None

    def launch(self, sub):
        if self.crash:
            raise RuntimeError("the grading worker died")
        self.graded.append(sub.key)
        return sub

    def result(self, sub):
        if sub.key in self.stuck:
            return None
        if self.slow.get(sub.key, 0) > 0:
            self.slow[sub.key] -= 1
            return None
        return {"status": "graded", "score": 1.0, "max_score": 1.0}

    def kill(self, sub):
        self.killed.append(sub.key)

    def release(self, sub):
        return None


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
    assert sub.key == f"alice+{ASSIGNMENT}+{stamp(5)}" and sub.claimed_at == START + timedelta(minutes=5)
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

    # a new process: the ledger on disk only; 61 minutes later the first grading has left the window
    restarted = RecordingService(course, settings, now=START + timedelta(minutes=61))
    fourth, _ = submit(course, "alice", 61)
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
        "status": "grading", "updated": "", "first_seen": START.isoformat()}
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
    assert fs.read_text(src / "secret_link.txt") is None
    (src / "big.bin").write_bytes(b"x" * 2048)
    with pytest.raises(fs.Refused, match="more than 1,024 bytes"):
        fs.copy_submission(src, tmp_path / "copy2", max_bytes=1024)
    assert not (tmp_path / "copy2").exists()  # refused from the listing: nothing copied


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


# ----------------------------------------------------------------------------- attacks
# The exchange is the students' to write: nothing there is trusted. Each test below is an
# attack the service once fell to.
def rounds_until_quiet(service, limit: int = 50) -> None:
    for _ in range(limit):
        if service.round() == 0 and not service.running and not service.queues:
            return
    raise AssertionError("the service never settled")


def test_folder_name_cannot_lie_about_time(course):
    """The rate limit counts on the service's clock (when it first saw each submission), not
    on the folder's name: eight folders claiming times hours apart, seen within one hour,
    get two gradings, not eight. The first-seen times survive a restart."""
    settings = {"max_graded": 2, "window_minutes": 60}
    service = RecordingService(course, settings)
    subs = [submit(course, "alice", minutes)[0] for minutes in range(0, 8 * 120, 120)]  # claims: 2 h apart
    for step in range(8):  # each seen a minute after the last, on the service's clock
        service.now = START + timedelta(minutes=step)
        service.round()
    assert len(service.graded) == 2, service.graded
    statuses = [service.ledger.get(s.key)["status"] for s in subs]
    assert statuses.count("graded") == 2 and statuses.count("refused") == 6, statuses
    assert all(service.ledger.get(s.key)["first_seen"].startswith("2025-03-01T09:0") for s in subs)
    # a folder claiming it was made long ago, seen now: still counted now
    old_claim, _ = submit(course, "alice", -10_000)
    restarted = RecordingService(course, settings, now=START + timedelta(minutes=30))
    restarted.round()
    assert restarted.graded == [] and restarted.ledger.get(old_claim.key)["status"] == "refused"
    assert restarted.ledger.get(subs[0].key)["first_seen"] == START.isoformat()  # kept across the restart
    later, _ = submit(course, "alice", -20_000)
    restarted.now = START + timedelta(minutes=61)
    restarted.round()
    assert restarted.graded == [later.key]


def test_sparse_gigabyte_file_is_refused_quickly_and_never_copied(course):
    """A 1 GiB sparse file costs the student nothing to make: it is refused from the
    folder's listing, before a byte of it is read or copied."""
    sub, secret = submit(course, "alice", 0)
    with open(sub.folder / "huge.bin", "wb") as f:
        f.truncate(1 << 30)
    service = RecordingService(course, {})
    began = time.monotonic()
    assert service.round() == 1
    took = time.monotonic() - began
    assert took < 2, f"{took:.1f} s to refuse it"
    assert service.graded == [] and service.ledger.get(sub.key)["status"] == "rejected"
    assert "more than 67,108,864 bytes" in note(course, secret)
    copied = sum(p.stat().st_size for p in service.root.rglob("*") if p.is_file())
    assert copied < 1 << 20, copied
    # straight to the copy: refused before anything is copied, and quickly
    began = time.monotonic()
    with pytest.raises(fs.Refused, match="more than"):
        fs.copy_submission(sub.folder, service.root / "direct")
    assert time.monotonic() - began < 2 and not (service.root / "direct").exists()


def test_file_growing_after_its_check_is_never_copied_past_its_size(tmp_path, monkeypatch):
    src = tmp_path / "submission"
    src.mkdir()
    (src / "normalization.ipynb").write_text("{}")
    (src / "data.bin").write_bytes(b"x" * 100)
    real_scan = fs.scan_submission

    def scan_then_grow(*args, **kwargs):
        found = real_scan(*args, **kwargs)
        with open(src / "data.bin", "ab") as f:
            f.truncate(1 << 30)  # 1 GiB, after the listing said 100 bytes
        return found

    monkeypatch.setattr(fs, "scan_submission", scan_then_grow)
    with pytest.raises(fs.Refused, match="data.bin holds 1,073,741,824 bytes"):
        fs.copy_submission(src, tmp_path / "copy")
    copied = sum(p.stat().st_size for p in (tmp_path / "copy").rglob("*") if p.is_file())
    assert copied <= 100


def test_file_swapped_for_a_named_pipe_after_its_check_does_not_block(course, monkeypatch):
    """A file checked as a plain file, then swapped for a FIFO before it is opened: the open
    does not block (O_NONBLOCK), the descriptor is seen not to be a file, and the round ends
    in moments; the student gets a note. Before, the open blocked the service forever."""
    sub, secret = submit(course, "alice", 0, notebooks={f"{NOTEBOOK}.ipynb": "{}", "data.txt": "x"})
    bobs, _ = submit(course, "bob", 0)
    real_scan, calls = fs.scan_submission, []

    def scan_then_swap(folder, *args, **kwargs):
        found = real_scan(folder, *args, **kwargs)
        calls.append(folder)
        if folder == sub.folder and calls.count(folder) == 2:  # the copy's own listing
            os.remove(folder / "data.txt")
            os.mkfifo(folder / "data.txt")
        return found

    monkeypatch.setattr(fs, "scan_submission", scan_then_swap)
    service = RecordingService(course, {})
    done = threading.Event()
    worker = threading.Thread(target=lambda: (service.round(), done.set()), daemon=True)
    began = time.monotonic()
    worker.start()
    assert done.wait(10), "the round blocked on a named pipe"
    assert time.monotonic() - began < 5
    assert service.graded == [bobs.key]  # the other student is graded
    assert service.ledger.get(sub.key)["status"] == "rejected"
    assert "data.txt is not a plain file" in note(course, secret)
    # a secret that is a named pipe: the folder is simply not complete, nothing blocks
    pipe_secret, _ = submit(course, "bob", 1, finished=False)
    os.mkfifo(pipe_secret.folder / "submission_secret.txt")
    os.chmod(pipe_secret.folder, 0o777)
    assert not pipe_secret.complete() and fs.read_text(pipe_secret.folder / "submission_secret.txt") is None


def test_links_are_never_followed(course, tmp_path):
    """A notebook, a secret, a subfolder or the submission folder itself as a link to what
    the student may not read (the service runs as the instructor): never followed."""
    outside = tmp_path / "solutions"
    outside.mkdir()
    (outside / f"{NOTEBOOK}.ipynb").write_text(notebook_with_cells(*OWN_CELLS))
    (outside / "submission_secret.txt").write_text("not-theirs")
    sub, _ = submit(course, "alice", 0, notebooks={"mine.txt": "x"})
    (sub.folder / f"{NOTEBOOK}.ipynb").symlink_to(outside / f"{NOTEBOOK}.ipynb")
    assert sub.notebook_ids() == []
    assert fs.graded_cell_ids(sub.folder / f"{NOTEBOOK}.ipynb") is None
    assert fs.read_text(sub.folder / f"{NOTEBOOK}.ipynb") is None
    (sub.folder / "linked").symlink_to(outside)
    assert fs.read_text(sub.folder / "linked" / "submission_secret.txt") is None  # a linked folder
    # the submission's folder itself a link (complete-looking, to another folder)
    inbound = fs.Path(course["exchange"]) / COURSE_ID / "inbound"
    os.chmod(outside, 0o777)
    (inbound / f"bob+{ASSIGNMENT}+{stamp(0)}+link").symlink_to(outside)
    assert [s.student for s in fs.waiting_submissions(inbound)] == ["alice"]
    copied = tmp_path / "copy"
    assert sorted(fs.copy_submission(sub.folder, copied)) == ["linked", f"{NOTEBOOK}.ipynb"]
    assert sorted(p.name for p in copied.iterdir()) == ["mine.txt", "submission_secret.txt", "timestamp.txt"]


def test_deep_and_wide_folders_are_refused_from_their_listing(course):
    deep, deep_secret = submit(course, "alice", 0)
    nested = deep.folder
    for level in range(fs.MAX_DEPTH + 2):
        nested = nested / f"d{level}"
    nested.mkdir(parents=True)
    wide, wide_secret = submit(course, "bob", 0)
    (wide.folder / "many").mkdir()
    for i in range(fs.MAX_ENTRIES + 1):
        (wide.folder / "many" / f"{i}.txt").touch()
    service = RecordingService(course, {})
    began = time.monotonic()
    assert service.round() == 2 and service.graded == []
    assert time.monotonic() - began < 5
    assert "nested more than 8 deep" in note(course, deep_secret)
    assert "more than 1,000 files and folders" in note(course, wide_secret)
    assert {service.ledger.get(s.key)["status"] for s in (deep, wide)} == {"rejected"}


def test_a_stuck_grading_is_abandoned_and_others_are_graded_meanwhile(course):
    """Alice's grading never ends: Bob's submissions are graded beside it, and after its
    deadline Alice's is abandoned (its process killed) with a note; her next one is graded."""
    stuck, stuck_secret = submit(course, "alice", 0)
    bobs, _ = submit(course, "bob", 0)
    service = RecordingService(course, {"deadline_seconds": 0.5, "max_graded": 0}, stuck={stuck.key})
    service.round()
    assert service.graded == [stuck.key, bobs.key] and set(service.running) == {"alice"}
    assert service.ledger.get(bobs.key)["status"] == "graded"
    bobs_next, _ = submit(course, "bob", 1)
    service.round()
    assert service.ledger.get(bobs_next.key)["status"] == "graded"  # the other slot serves Bob
    assert service.ledger.get(stuck.key)["status"] == "grading" and service.killed == []
    time.sleep(0.6)
    alices_next, _ = submit(course, "alice", 2)
    service.round()
    assert service.killed == [stuck.key]
    entry = service.ledger.get(stuck.key)
    assert entry["status"] == "failed" and "deadline" in entry["reason"]
    assert "took longer than 0.5 seconds" in note(course, stuck_secret)
    assert service.ledger.get(alices_next.key)["status"] == "graded"


def test_one_students_many_submissions_never_delay_anothers(course):
    """One grading at a time here. Alice submits five times; Bob and Carol submit after her
    first is under way: each of theirs is graded before Alice's second, though she submitted
    it earlier (turns between students, not first come first served)."""
    course["students"].append("carol")
    alices = [submit(course, "alice", m)[0] for m in range(5)]
    service = RecordingService(course, {"workers": 1, "max_graded": 0}, slow={alices[0].key: 2})
    service.round()
    assert service.graded == [alices[0].key]
    service.now += timedelta(minutes=1)
    bobs, _ = submit(course, "bob", 10)
    carols, _ = submit(course, "carol", 11)
    rounds_until_quiet(service)
    assert service.graded == [alices[0].key, bobs.key, carols.key, *(s.key for s in alices[1:])], service.graded


def alive(pid: int) -> bool:
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_stuck_task_is_killed_on_a_real_cluster_which_goes_on(tmp_path):
    """kill_task on the service's own kind of cluster: the worker running the task and the
    process it started are killed, the task fails, and the cluster grades the next one."""
    from distributed import Client

    pid_file = tmp_path / "child.pid"

    def stuck(path):
        import subprocess
        import time as t
        child = subprocess.Popen(["sleep", "600"])
        open(path, "w").write(str(child.pid))
        t.sleep(600)

    import dask

    allowed = dask.config.get("distributed.scheduler.allowed-failures")
    with fs.grading_cluster(1) as cluster, Client(cluster) as client:
        future = client.submit(stuck, str(pid_file), pure=False)
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        child = int(pid_file.read_text())
        fs.kill_task(client, future)
        deadline = time.monotonic() + 30
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(child), "the grading's child process survived"
        assert future.cancelled() or future.status in ("error", "cancelled")
        assert client.submit(lambda: 6 * 7, pure=False).result(timeout=60) == 42
    dask.config.set({"distributed.scheduler.allowed-failures": allowed})  # as it was, for the tests after


def test_a_flood_of_folders_is_checked_a_few_at_a_time(course):
    """A student's hundred folders are read a few per round; another student's one
    submission is checked and graded in the first round all the same."""
    floods = [submit(course, "alice", m)[0] for m in range(100)]
    bobs, _ = submit(course, "bob", 200)
    service = RecordingService(course, {"max_graded": 0})
    service.round()
    assert bobs.key in service.graded
    seen = [s for s in floods if service.ledger.get(s.key)]
    assert len(seen) == fs.MAX_CHECKED_PER_STUDENT, len(seen)


def _judges_in_worker() -> int:
    """Run in a Dask worker: how many judges (with their zygotes) this process holds."""
    from autograder.engine.nbgrader_side.judge_client import JudgeServer

    return sum(server.alive() for server in JudgeServer._servers.values())


def test_every_grading_worker_is_warmed_for_each_released_assignment_and_again_after_a_restart(tmp_path, caplog):
    """The real service with a real grading cluster of one worker: before any submission its
    worker holds a started judge that graded our solution of the released assignment in full
    (not 02, which is not released); a worker started again (as after a grading was killed)
    is warmed again."""
    from instructor import nbgrader_cli

    course_dir = nbgrader_cli.make_course(tmp_path / "teach" / COURSE_ID)
    exchange = tmp_path / "exchange"
    for folder in ("inbound", f"outbound/{ASSIGNMENT}"):
        (exchange / COURSE_ID / folder).mkdir(parents=True)
    course = {"course_id": COURSE_ID, "course_dir": str(course_dir), "exchange": str(exchange), "students": ["alice"]}
    service = fs.FeedbackService(course, {"workers": 1, "check_owner": False})
    caplog.set_level("INFO", logger="feedback-on-submit")

    def warmed(within: float = 240) -> list[str]:
        deadline = time.monotonic() + within
        service.warm_workers()
        while service._warming and time.monotonic() < deadline:
            time.sleep(0.5)
            service.warm_workers()
        assert not service._warming, "the warm-up tasks did not end"
        lines = [r.getMessage() for r in caplog.records if "warm" in r.getMessage()]
        caplog.clear()
        return lines

    try:
        service.warm_up()
        [line] = warmed()
        assert line.startswith(f"a grading worker is warm for {ASSIGNMENT} (") and "02_reshape" not in line, line
        passed, tests = map(int, line.split("(")[1].split(" tests")[0].split(" of "))
        assert passed == tests > 10, line
        client = service.client()
        [judges] = client.run(_judges_in_worker).values()
        assert judges == 1
        # A student's grading in that worker (nbgrader's Autograde) uses the judge the warm-up started.
        from autograder.simulated_class import Case
        nbgrader_cli.submit_class(service.root, ASSIGNMENT, [Case("alice", "our solution", full=True)])
        graded = client.submit(fs.grade_and_generate, str(service.root), service.prepare_gradebook(ASSIGNMENT),
                               COURSE_ID, ASSIGNMENT, "alice", pure=False).result(timeout=300)
        assert graded["status"] == "graded" and graded["score"] > 0, graded
        assert list(client.run(_judges_in_worker).values()) == [1], "the grading started a judge of its own"
        [old] = client.scheduler_info(n_workers=-1)["workers"]
        client.restart_workers([old])
        deadline = time.monotonic() + 120
        while set(client.scheduler_info(n_workers=-1)["workers"]) in (set(), {old}) and time.monotonic() < deadline:
            time.sleep(0.5)
        [again] = warmed()
        assert again.startswith(f"a grading worker is warm for {ASSIGNMENT} ("), again
        assert list(client.run(_judges_in_worker).values()) == [1]
    finally:
        if service._client is not None:
            service._client.close()
        if service._cluster is not None:
            service._cluster.close()


# ---- waking on events rather than waiting for the next look (issue 27)
def test_the_exchange_watch_wakes_on_a_finished_submission_and_refuses_a_link(course, tmp_path):
    import exchange_watch

    inbound = fs.Path(course["exchange"]) / COURSE_ID / "inbound"
    wake = threading.Event()
    watch = exchange_watch.ExchangeWatch(inbound, wake)
    assert watch.arm()
    try:
        folder = inbound / "alice+x+y"
        folder.mkdir(mode=0o700)
        assert wake.wait(5)
        wake.clear()
        os.chmod(folder, 0o777)  # nbgrader's submit's last step
        assert wake.wait(5)
    finally:
        watch.stop()
    link = tmp_path / "inbound-link"
    link.symlink_to(inbound)
    assert not exchange_watch.ExchangeWatch(link, threading.Event()).arm()


def test_the_exchange_watch_is_armed_once_inbound_exists_and_again_when_it_is_replaced(tmp_path):
    import exchange_watch

    inbound, wake = tmp_path / "inbound", threading.Event()
    watch = exchange_watch.ExchangeWatch(inbound, wake)
    try:
        assert not watch.arm()  # no assignment released yet
        inbound.mkdir()
        assert watch.arm() and watch.arm()
        inbound.rmdir()
        deadline = time.monotonic() + 5
        while watch.armed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not watch.armed
        inbound.mkdir()
        assert watch.arm()
        wake.clear()
        (inbound / "bob+x+y").mkdir()
        assert wake.wait(5)
    finally:
        watch.stop()


@contextmanager
def serving_in_a_thread(service):
    """``service.serve`` in a thread, past its first round (an empty exchange); stopped after."""
    service.warm_up = lambda: None  # no cluster: grading is recorded, not run
    stop = threading.Event()
    serving = threading.Thread(target=service.serve, args=(stop,))
    serving.start()
    try:
        time.sleep(0.5)
        yield
    finally:
        stop.set()
        serving.join(5)
    assert not serving.is_alive()


def test_a_submission_is_graded_at_once_however_long_the_poll(course):
    """poll_seconds 60: only the inbound folder's events can start the grading within seconds;
    the grading's end wakes the service again (here: the next round records it)."""
    service = RecordingService(course, {"poll_seconds": 60})
    with serving_in_a_thread(service):
        sub, _ = submit(course, "alice", 1)
        deadline = time.monotonic() + 10
        while not service.graded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.graded == [sub.key]
    entry = service.ledger.get(sub.key)
    assert entry["status"] == "graded" and entry["phases"]["seen_to_released"] < 10, entry


def test_phases_share_out_the_seconds_and_ignore_what_the_task_does_not_say():
    assert fs.phases({"autograde": 1.5, "feedback": 0.5, "task": 2.25}, seen=10.0, started=11.0,
                     collected=14.0, released=14.5) == {
        "queued": 1.0, "autograde": 1.5, "feedback": 0.5, "task": 2.25, "dispatch": 0.75, "release": 0.5,
        "seen_to_released": 4.5}
    assert fs.phases("not figures", seen=0.0, started=0.0, collected=1.0, released=1.0) == {
        "queued": 0.0, "dispatch": 1.0, "release": 0.0, "seen_to_released": 1.0}


def test_a_flood_of_events_in_inbound_makes_at_most_ten_rounds_a_second(course):
    """inbound/ is writable by every student: changing it in a loop wakes the service, which
    still looks at most once per MIN_ROUND_GAP_S."""
    service = RecordingService(course, {"poll_seconds": 60})
    rounds = []
    real_round = service.round
    service.round = lambda: rounds.append(time.monotonic()) or real_round()
    spam = fs.Path(course["exchange"]) / COURSE_ID / "inbound" / "spam"
    with serving_in_a_thread(service):
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            spam.mkdir()
            spam.rmdir()
    during = [t for t in rounds if t >= until - 2.0]
    assert 5 <= len(during) <= 22, len(during)  # 10 a second, as the service promises
