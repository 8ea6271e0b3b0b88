"""Feedback on submit: a JupyterHub-managed service that grades each submission as it arrives.

jupyterhub_config.py starts it (and the Hub stops it, or starts it again when it exits) as
the instructor, when ``course.json`` has ``feedback_on_submit.enabled``. It watches the
exchange's ``inbound/`` folder; for each new submission it

1. checks it: a student on the roster, the folder theirs, an assignment of the course,
   within the size, entry and depth limits, a notebook of that assignment (not another's,
   told by its graded cells), within the rate limit (``max_graded`` gradings per student
   and assignment in ``window_minutes``);
2. copies it into its own nbgrader course folder, ``<course folder>/onsubmit/``, which has
   the course's configuration (``course_config.py``) but its **own gradebook**: on-submit
   scores never reach the instructor's gradebook, the formgrader or ``nbgrader export``;
3. grades it the way ``instructor.grade_class`` grades a class: nbgrader's Autograde with the
   course's engine, as a task on a Dask cluster (a LocalCluster the service keeps running);
4. writes the feedback with nbgrader's ``generate_feedback`` and ``release_feedback``: the same
   HTML as the final feedback, in nbgrader's feedback exchange, named by the submission's
   secret, so the student (and only that student) gets it with *Fetch Feedback*;
5. records the outcome in ``onsubmit/ledger.json``, keyed by student+assignment+timestamp,
   written before grading (attempts) and after (outcome), atomically.

A submission it does not grade (over the limit, not an assignment of the course, another
assignment's notebook, a notebook that cannot be graded) stays in the exchange for the instructor's collect, and its student
gets a short note as that submission's feedback instead (when the next grading is possible,
or that the instructor will grade it). A service restart picks up what is waiting; the ledger
keeps what was done from being done again. A submission whose grading was interrupted
``MAX_ATTEMPTS`` times (it kills the service or its worker) is given up, with a note.

It trusts nothing a student writes into the exchange. Times come from its own clock: the
rate limit counts when the service first saw each submission (``first_seen`` in the ledger,
which survives restarts), never the folder's name. Every read of the exchange goes through
one safe reader (``open_file``, ``open_folder``, ``read_file``, ``list_folder``): never
through a link, never blocking (``O_NOFOLLOW | O_NONBLOCK``), the opened descriptor checked
(a regular file, within its size), a bounded read, folders bounded in entries and depth; a
submission's sizes are all checked from its listing before anything is copied.

It schedules so that one slow, hostile or stuck submission delays no one else: up to
``workers`` gradings run at once, one per student at a time, the student whose turn came
longest ago first (one student's many submissions queue behind each other); the loop never
waits on a grading; a grading still running after ``deadline_seconds`` is abandoned (its
worker process and what it started killed) and its student gets a note.

The authoritative grade stays the instructor's: collect and autograde after the deadline.
"""
from __future__ import annotations

import html
import json
import logging
import os
import pwd
import stat
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# A submission whose grading was started this often without an outcome (the service or its
# grading worker died each time) is not tried again.
MAX_ATTEMPTS = 2
# The shortest time between two rounds, however many events wake the service: a student who
# writes to inbound/ in a loop makes it look 10 times a second at most (each look is bounded).
MIN_ROUND_GAP_S = 0.1
# Outcomes that end a submission's processing; "grading" is the only other status.
FINAL = ("graded", "failed", "refused", "rejected")
# Outcomes that count against the rate limit: the grader spent its time on them.
COUNTED = ("graded", "failed")
# Defaults of course.json's "feedback_on_submit" (setup_course.py writes them).
DEFAULT_SETTINGS = {"enabled": True, "max_graded": 3, "window_minutes": 60, "workers": None,
                    "poll_seconds": 0.5, "check_owner": True, "deadline_seconds": 300}
# The most a submission may hold (all its files): what is copied for grading.
MAX_SUBMISSION_BYTES = 64 << 20

log = logging.getLogger("feedback-on-submit")


def utc(timestamp: str) -> datetime:
    """nbgrader's submission timestamp ("2025-01-31 12:00:00.000000 UTC") as an aware datetime."""
    from nbgrader.utils import parse_utc
    return parse_utc(timestamp).replace(tzinfo=UTC)


# ----------------------------------------------------------------------------- the safe reader
# Everything under the exchange is written by students (the inbound folder is writable by
# every one of them), so nothing there is trusted: every read of it goes through the few
# functions below. A file is opened without following a link and without blocking (a named
# pipe, a device), the descriptor opened is checked (fstat: a regular file, within the size),
# and never more than that size is read; a folder is opened the same way, and read through
# its descriptor, with a bound on its entries and depth. Nothing is stat-ed, then opened by
# name: what was checked is what is read.
MAX_ENTRIES = 1000  # files and folders in one submission, all levels
MAX_DEPTH = 8  # folders within folders in one submission
SMALL_FILE_BYTES = 4096  # submission_secret.txt, timestamp.txt
MAX_INBOUND_ENTRIES = 100_000  # folders in the exchange's inbound read in one round
MAX_CHECKED_PER_STUDENT = 4  # a student's new submissions checked (and read) in one round
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Refused(OSError):
    """What the service will not read; its message says why, in words its student may read."""


def open_folder(path: Path | str, dir_fd: int | None = None) -> int:
    """A descriptor of a folder (never through a link: its last component is not followed)."""
    try:
        return os.open(path, _FOLDER_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(f"{Path(path).name} is not a folder that can be read") from error


def open_file(name: Path | str, max_bytes: int, dir_fd: int | None = None) -> tuple[int, int]:
    """A descriptor of a regular file of at most ``max_bytes``, and its size; Refused else.
    Opened non-blocking and never through a link, then checked on the descriptor itself."""
    label = Path(name).name
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(f"{label} cannot be opened as a plain file") from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{label} is not a plain file")
        if info.st_size > max_bytes:
            raise Refused(f"{label} holds {info.st_size:,} bytes, more than the {max_bytes:,} allowed")
        return fd, info.st_size
    except BaseException:
        os.close(fd)
        raise


def read_fd(fd: int, size: int, label: str):
    """The bytes of an opened regular file of ``size`` bytes, in pieces: never more than that
    (one byte more says the file grew since it was checked: Refused)."""
    left = size + 1
    while left > 0:
        piece = os.read(fd, min(left, 1 << 20))
        if not piece:
            return
        left -= len(piece)
        if left <= 0:
            raise Refused(f"{label} grew while it was read")
        yield piece


def read_file(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes (at most ``max_bytes``), from its folder's descriptor: neither
    the file nor its folder is followed when it is a link."""
    folder = open_folder(path.parent)
    try:
        fd, size = open_file(path.name, max_bytes, dir_fd=folder)
    finally:
        os.close(folder)
    try:
        return b"".join(read_fd(fd, size, path.name))
    finally:
        os.close(fd)


def read_text(path: Path, max_bytes: int = SMALL_FILE_BYTES) -> str | None:
    """A small regular file's text, stripped; None when it cannot be read safely or is empty."""
    try:
        return read_file(path, max_bytes).decode("utf-8", "replace").strip() or None
    except OSError:
        return None


def list_folder(fd: int, max_entries: int = MAX_ENTRIES) -> list[tuple[str, int, int]]:
    """(name, mode, size) of each entry of an opened folder, never following a link; Refused
    beyond ``max_entries``."""
    found = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if len(found) >= max_entries:
                raise Refused(f"the submission holds more than {max_entries:,} files and folders")
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone meanwhile
            found.append((entry.name, info.st_mode, info.st_size))
    return sorted(found)


@dataclass
class Entry:
    """One thing in a submission, as listed before anything is copied."""
    path: str  # relative to the submission's folder
    kind: str  # "folder" | "file" | "other" (a link, a pipe, a socket...: never copied)
    size: int = 0


def scan_submission(folder: Path, max_bytes: int = MAX_SUBMISSION_BYTES, max_entries: int = MAX_ENTRIES,
                    max_depth: int = MAX_DEPTH) -> list[Entry]:
    """Everything in a submission's folder, with sizes, read through folder descriptors;
    Refused when it holds more than ``max_bytes`` in all (told from the sizes, before anything
    is read), more than ``max_entries`` entries or folders deeper than ``max_depth``."""
    found: list[Entry] = []
    total = 0

    def visit(fd: int, rel: str, depth: int) -> None:
        nonlocal total
        try:
            listed = list_folder(fd, max_entries - len(found))
        except Refused:
            raise Refused(f"the submission holds more than {max_entries:,} files and folders") from None
        for name, mode, size in listed:
            path = f"{rel}{name}"
            if stat.S_ISDIR(mode):
                if depth >= max_depth:
                    raise Refused(f"the submission's folders are nested more than {max_depth} deep")
                found.append(Entry(path, "folder"))
                sub = open_folder(name, dir_fd=fd)
                try:
                    visit(sub, path + "/", depth + 1)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(mode):
                total += size
                if total > max_bytes:
                    raise Refused(f"the submission holds more than {max_bytes:,} bytes")
                found.append(Entry(path, "file", size))
            else:
                found.append(Entry(path, "other"))
            if len(found) > max_entries:
                raise Refused(f"the submission holds more than {max_entries:,} files and folders")

    top = open_folder(folder)
    try:
        visit(top, "", 1)
    finally:
        os.close(top)
    return found


def copy_submission(src: Path, dest: Path, max_bytes: int = MAX_SUBMISSION_BYTES,
                    max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH) -> list[str]:
    """Copy the regular files and folders of a submission, and nothing else: a link (to the
    solutions, the hidden tests, another student's work) would otherwise be followed by the
    service, which runs as the instructor, and come back as feedback; a named pipe would
    block it. Sizes, entries and depth are checked first, from the listing (Refused, with
    nothing copied); then each file is read through the safe reader, never more than it was
    listed with, nor more than ``max_bytes`` in all. Returns what was left out."""
    planned = scan_submission(src, max_bytes, max_entries, max_depth)
    sizes = {e.path: e.size for e in planned if e.kind == "file"}
    folders = {e.path for e in planned if e.kind == "folder"}
    left_out = [e.path for e in planned if e.kind == "other"]
    budget = max_bytes
    dest.mkdir(parents=True)

    def copy(fd: int, rel: str, into: Path) -> None:
        nonlocal budget
        for name, mode, _ in list_folder(fd, max_entries):
            path = f"{rel}{name}"
            if path in folders and stat.S_ISDIR(mode):
                (into / name).mkdir()
                sub = open_folder(name, dir_fd=fd)
                try:
                    copy(sub, path + "/", into / name)
                finally:
                    os.close(sub)
            elif path in sizes:
                file_fd, size = open_file(name, min(sizes[path], budget), dir_fd=fd)
                try:
                    with open(into / name, "xb") as out:
                        for piece in read_fd(file_fd, size, name):
                            out.write(piece)
                finally:
                    os.close(file_fd)
                budget -= size
            # anything else (new since the listing, or changed kind) is not copied

    top = open_folder(src)
    try:
        copy(top, "", dest)
    finally:
        os.close(top)
    return left_out


def graded_cell_ids(path: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> set[str] | None:
    """The ``grade_id`` of every nbgrader cell of a notebook (read by the safe reader); None
    when it is not a notebook that can be read (grading then says what is wrong)."""
    from autograder import cell_conventions  # the course's (on the path from main(), like instructor)

    try:
        cells = json.loads(read_file(path, max_bytes)).get("cells")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(cells, list):
        return None
    return {cell_conventions.grade_id(cell) for cell in cells} - {None}


# ----------------------------------------------------------------------------- submissions
@dataclass(frozen=True)
class Submission:
    """One folder in the exchange's inbound: ``student+assignment+timestamp+random``. Its
    name is the student's to write: it says whose and which assignment (checked against the
    roster, the folder's owner and the released assignments), never when (the service's own
    clock says that: ``Ledger.seen``)."""
    student: str
    assignment: str
    timestamp: str  # what the student's folder name claims: shown back to them, never trusted
    folder: Path

    @property
    def key(self) -> str:
        return f"{self.student}+{self.assignment}+{self.timestamp}"

    @property
    def claimed_at(self) -> datetime:
        return utc(self.timestamp)

    @classmethod
    def parse(cls, folder: Path) -> Submission | None:
        parts = folder.name.split("+")
        if len(parts) not in (3, 4) or not all(parts[:3]):
            return None
        try:
            utc(parts[2])
        except (ValueError, OverflowError, TypeError):
            return None
        return cls(parts[0], parts[1], parts[2], folder)

    def complete(self) -> bool:
        """Whether nbgrader's submit has finished writing it: the secret is its last file and
        the folder's mode 0777 its last step."""
        try:
            mode = self.folder.lstat().st_mode
        except OSError:
            return False
        return stat.S_ISDIR(mode) and (mode & 0o777) == 0o777 and bool(self.secret())

    def secret(self) -> str | None:
        return read_text(self.folder / "submission_secret.txt")

    def notebook_ids(self) -> list[str]:
        """The notebooks at the top of the submission (regular files only)."""
        try:
            fd = open_folder(self.folder)
        except OSError:
            return []
        try:
            return [name[:-len(".ipynb")] for name, mode, _ in list_folder(fd)
                    if name.endswith(".ipynb") and len(name) > len(".ipynb") and stat.S_ISREG(mode)]
        except OSError:
            return []
        finally:
            os.close(fd)

    def owned_by_student(self) -> bool:
        """Whether the student's Unix user owns the folder, as nbgrader's collect checks
        (``ExchangeCollect.check_owner``): the inbound folder is writable by every student, so
        anyone can name a folder after someone else (and use up their limit)."""
        try:
            return self.folder.lstat().st_uid == pwd.getpwnam(self.student).pw_uid
        except (KeyError, OSError):
            return False


def waiting_submissions(inbound: Path, max_entries: int = MAX_INBOUND_ENTRIES) -> list[Submission]:
    """Complete submissions in the inbound folder (at most ``max_entries`` folders looked at),
    in the order of their names; the service orders them by when it first saw each."""
    found = []
    try:
        with os.scandir(inbound) as entries:
            for count, entry in enumerate(entries):
                if count >= max_entries:
                    log.warning("more than %d entries in %s: the rest waits", max_entries, inbound)
                    break
                if not entry.is_dir(follow_symlinks=False):
                    continue
                sub = Submission.parse(Path(entry.path))
                if sub is not None and sub.complete():
                    found.append(sub)
    except FileNotFoundError:
        return []
    return sorted(found, key=lambda s: s.key)


# ----------------------------------------------------------------------------- the ledger
class Ledger:
    """What happened to each submission, by key, in one JSON file replaced atomically. Each
    entry's ``first_seen`` is when the service first saw the submission complete, on its own
    clock: the rate limit counts on it (never on the folder's name)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: dict[str, dict] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, key: str) -> dict | None:
        return self.records.get(key)

    def record(self, sub: Submission, **fields) -> dict:
        entry = self.records.setdefault(sub.key, {"student": sub.student, "assignment": sub.assignment,
                                                  "timestamp": sub.timestamp, "attempts": 0})
        entry.update(fields, updated=datetime.now(UTC).isoformat())
        self.save()
        return entry

    def seen(self, sub: Submission, now: datetime) -> datetime:
        """When the service first saw this submission: ``now`` the first time, kept after."""
        entry = self.records.get(sub.key)
        if entry is None or not entry.get("first_seen"):
            entry = self.record(sub, first_seen=now.isoformat())
        return datetime.fromisoformat(entry["first_seen"])

    def save(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(self.records, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def counted(self, student: str, assignment: str, besides: str | None = None) -> list[datetime]:
        """When the service first saw each of this student's gradings of this assignment
        (graded, failed, or under way), other than ``besides``."""
        return sorted(datetime.fromisoformat(r.get("first_seen") or r["updated"])
                      for key, r in self.records.items()
                      if key != besides and r["student"] == student and r["assignment"] == assignment
                      and r.get("status") in (*COUNTED, "grading"))


@dataclass(frozen=True)
class RateLimit:
    """At most ``max_graded`` gradings per student and assignment in any ``window``; 0: no limit."""
    max_graded: int
    window: timedelta

    def next_allowed(self, earlier: list[datetime], at: datetime) -> datetime | None:
        """None when a submission at ``at`` may be graded, given the times of the ones graded
        before; else the time from which the next one may be."""
        if self.max_graded <= 0:
            return None
        recent = sorted(t for t in earlier if at - self.window < t <= at)
        if len(recent) < self.max_graded:
            return None
        return recent[len(recent) - self.max_graded] + self.window


# ----------------------------------------------------------------------------- notes to students
NOTE_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 48em; margin: 2em auto">
<h1>{title}</h1>
<p>{message}</p>
<p>Your submission of {assignment} at {timestamp} is kept: the instructor grades the last
submission before the deadline, as always.</p>
</body></html>
"""


def write_note(feedback_exchange: Path, sub: Submission, title: str, message: str) -> bool:
    """A short HTML page as this submission's feedback, where Fetch Feedback looks for it."""
    from nbgrader.utils import notebook_hash

    secret, notebooks = sub.secret(), sub.notebook_ids()
    if not secret or not notebooks:
        log.warning("%s: no secret or no notebook in the submission, so no note can reach the student", sub.key)
        return False
    page = NOTE_PAGE.format(title=html.escape(title), message=html.escape(message),
                            assignment=html.escape(sub.assignment), timestamp=html.escape(sub.timestamp))
    ensure_feedback_exchange(feedback_exchange)
    for notebook_id in notebooks:
        name = notebook_hash(secret=secret, notebook_id=notebook_id)
        fd, tmp = tempfile.mkstemp(dir=feedback_exchange, prefix=f".{name}-", suffix=".html")
        with os.fdopen(fd, "w") as f:
            f.write(page)
        os.chmod(tmp, 0o644)  # readable by whoever knows the name: the submission's secret
        os.replace(tmp, feedback_exchange / f"{name}.html")
    return True


def ensure_feedback_exchange(path: Path) -> None:
    """nbgrader's feedback exchange folder, mode 0711 as its release_feedback makes it."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o711)


# ----------------------------------------------------------------------------- grading
@dataclass
class Grading:
    """A submission being graded: its task, and when it started and must end (monotonic)."""
    sub: Submission
    job: object
    started: float
    deadline: float


# Where the seconds from the service first seeing a submission to its feedback released went,
# kept in its ledger entry ("phases") and read by benchmarks/bench_feedback_latency.py.
PHASES = {
    "queued": "first seen to its grading task submitted (waiting for a free slot, the copy)",
    "autograde": "nbgrader autograde in the grading worker (the engine included)",
    "feedback": "nbgrader generate_feedback in the grading worker",
    "task": "the grading task, from its start to its end in the worker",
    "dispatch": "the task submitted to its end seen by the service, less the task (Dask, the service's look)",
    "release": "nbgrader release_feedback by the service",
    "seen_to_released": "first seen to feedback released: all of the above",
}


def phases(task: object, seen: float, started: float, collected: float, released: float) -> dict[str, float]:
    """The PHASES of one graded submission, from the task's own figures (``task``, as
    ``grade_and_generate`` returns them) and the service's monotonic times."""
    measured = {name: float(task[name]) for name in ("autograde", "feedback", "task")
                if isinstance(task, dict) and isinstance(task.get(name), (int, float))}
    spent = {"queued": started - seen, **measured,
             "dispatch": collected - started - measured.get("task", 0.0),
             "release": released - collected, "seen_to_released": released - seen}
    return {name: round(max(0.0, spent[name]), 2) for name in PHASES if name in spent}


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def grade_and_generate(root: str, db_url: str, course_id: str, assignment: str, student: str) -> dict:
    """One Dask task: ``nbgrader autograde`` of a copied submission in the service's course
    folder, then its feedback generated (the service releases it once it has recorded the
    score); all of it inside the submission's deadline, in a worker the service kills when
    the deadline passes."""
    from nbgrader.api import Gradebook

    from instructor.grade_class import course_api, grade_submission

    began = time.monotonic()
    outcome = grade_submission(root, db_url, assignment, student)
    if outcome.status != "graded":
        return {"status": "failed", "error": outcome.error or "nbgrader found no notebook to grade"}
    api = course_api(root, db_url)
    generating = time.monotonic()
    made = api.generate_feedback(assignment, student, force=True)
    if not made["success"]:
        return {"status": "failed", "error": f"feedback failed: {made.get('error') or made.get('log')}"}
    with Gradebook(db_url, course_id) as gb:
        graded = gb.find_submission(assignment, student)
        # Where the task's time went (the service adds the rest: PHASES).
        phases = {"autograde": outcome.seconds, "autograde_cpu": outcome.cpu_seconds,
                  "feedback": time.monotonic() - generating, "task": time.monotonic() - began}
        return {"status": "graded", "score": float(graded.score), "max_score": float(graded.max_score),
                "phases": {name: round(seconds, 2) for name, seconds in phases.items()}}


def warm_worker(root: str, db_url: str, assignment: str) -> dict:
    """One Dask task: this worker made ready to grade ``assignment`` (see ``FeedbackService.warm_workers``)."""
    from instructor.grade_class import warm_judge, warm_up

    warm_up(root, db_url)
    return warm_judge(root, assignment)


def kill_process_tree(pid: int) -> None:
    """A process and everything it started, killed (children first, so none is left)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = proc.children(recursive=True) + [proc]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


def kill_task(client, future) -> None:
    """A Dask task's worker process killed with what it started (the judge, the sandboxed
    worker); the task then fails (allowed-failures 0) and the worker's nanny starts a new one."""
    if client is None:
        return
    workers = []
    try:
        workers = [w for w, keys in client.processing().items() if future.key in keys]
        for address in workers:
            pid = client.run(os.getpid, workers=[address], wait=True)[address]
            kill_process_tree(pid)
    except Exception:  # the worker is gone already, or does not answer: its nanny restarts it
        log.exception("killing the worker of %s", future.key)
        try:
            client.restart_workers(workers, raise_for_error=False)
        except Exception:
            log.exception("restarting the worker of %s", future.key)
    future.cancel()


# ----------------------------------------------------------------------------- the service
class FeedbackService:
    """One course's on-submit grading. ``round()`` handles what waits; ``serve()`` loops."""

    def __init__(self, course: dict, settings: dict, scheduler: str | None = None,
                 clock=lambda: datetime.now(UTC)):
        self.course = course
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.course_dir = Path(course["course_dir"])
        self.root = self.course_dir / "onsubmit"
        exchange = Path(course["exchange"]) / course["course_id"]
        self.inbound, self.feedback_exchange = exchange / "inbound", exchange / "feedback"
        self.roster = set(course["students"])
        self.limit = RateLimit(int(self.settings["max_graded"] or 0),
                               timedelta(minutes=float(self.settings["window_minutes"] or 0)))
        self.scheduler = scheduler
        self.clock = clock  # the service's own: the only time it trusts
        self.deadline_s = float(self.settings["deadline_seconds"])
        self.slots = max(1, int(self.settings["workers"] or usable_cores()))  # gradings at once
        self.queues: dict[str, list[Submission]] = {}  # student -> their submissions waiting, oldest first
        self.running: dict[str, Grading] = {}  # student -> their grading under way (one at a time)
        self.turns = 0
        self.last_turn: dict[str, int] = {}  # student -> when (in turns) they last had a grading started
        self._prepared: set[str] = set()
        self._client = self._cluster = None
        self._warmed: set[tuple] = set()  # (worker's address, its scratch folder, assignment) warm-up tasks given
        self._warming: list = []  # those tasks, until their outcome is logged
        self.generated: dict[str, str | None] = {}  # assignment -> why generating it failed, or None
        self._released: dict[Path, tuple[int, set[str]]] = {}  # released notebook -> (mtime, grade_ids)
        self._seen_at: dict[str, float] = {}  # submission key -> when this process first saw it (monotonic)
        # Set when a round may have something to do: a change in inbound/ (ExchangeWatch), a
        # grading's end (its task's callback); serve() otherwise looks every poll_seconds.
        self.wake = threading.Event()
        self._last_round = 0.0  # when serve() last began a round (monotonic)
        self.prepare_root()
        self.ledger = Ledger(self.root / "ledger.json")

    def prepare_root(self) -> None:
        """``onsubmit/``: an nbgrader course folder with the course's configuration, its own
        gradebook, and the course's sources (a link), private to the instructor."""
        self.root.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.root, 0o700)
        config = (
            "# Written by deploy/jupyterhub/feedback_service.py: grading on submit, with the course's\n"
            "# configuration but this folder's own gradebook (never the instructor's).\n"
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(self.course_dir / 'course_config.py')!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(self.root)!r}\n"
            f"c.Exchange.root = {self.course['exchange']!r}\n")
        path = self.root / "nbgrader_config.py"
        if not path.exists() or path.read_text() != config:
            path.write_text(config)
        source = self.root / "source"
        if not source.is_symlink():
            source.symlink_to(Path("..") / "source")

    def assignments(self) -> set[str]:
        """The assignments the course can grade: a folder of sources and a release in the exchange."""
        released = self.inbound.parent / "outbound"
        return {p.name for p in (self.course_dir / "source").iterdir()
                if p.is_dir() and (released / p.name).is_dir()}

    def released_cells(self) -> dict[str, dict[str, set[str]]]:
        """assignment -> notebook id -> the grade_ids of its released notebook (the exchange's
        outbound copy), read again only when a release changes."""
        found = {}
        for path in sorted((self.inbound.parent / "outbound").glob("*/*.ipynb")):
            try:
                stamp = path.stat().st_mtime_ns
            except OSError:
                continue
            if self._released.get(path, (None,))[0] != stamp:
                self._released[path] = (stamp, graded_cell_ids(path) or set())
            found.setdefault(path.parent.name, {})[path.stem] = self._released[path][1]
        return found

    def wrong_notebooks(self, sub: Submission) -> str | None:
        """Why this submission holds no notebook of its assignment to grade, in words for its
        student (it names notebooks and assignments only); None when it does, or when that
        cannot be told (an unreadable notebook: grading it says what is wrong).

        A notebook is told by its graded cells: one named as the assignment's but sharing more
        of them with another released assignment's notebook (a notebook of 02 renamed, or
        submitted in 01's folder) is that assignment's."""
        released = self.released_cells()
        own = released.get(sub.assignment)
        if not own:
            return None

        def whose(ids: set[str]) -> str | None:
            """The other assignment whose notebook shares more graded cells with these than any
            of this assignment's does."""
            best, best_shared = None, max(len(ids & cells) for cells in own.values())
            for assignment, notebooks in sorted(released.items()):
                if assignment == sub.assignment:
                    continue
                for cells in notebooks.values():
                    if len(ids & cells) > best_shared:
                        best, best_shared = assignment, len(ids & cells)
            return best

        submitted = {nb: graded_cell_ids(sub.folder / f"{nb}.ipynb") for nb in sub.notebook_ids()}
        expected = ", ".join(f"{nb}.ipynb" for nb in sorted(own))
        mine = sorted(nb for nb in submitted if nb in own)
        if not mine:
            found = ", ".join(
                f"{nb}.ipynb" + (f" (a notebook of {other})" if ids and (other := whose(ids)) else "")
                for nb, ids in sorted(submitted.items())) or "no notebook"
            return f"This submission of {sub.assignment} has none of its notebooks ({expected}); it holds {found}."
        for nb in mine:
            ids = submitted[nb]
            other = whose(ids) if ids else None
            if other:
                return (f"{nb}.ipynb in this submission is a notebook of {other}, not the {nb}.ipynb of "
                        f"{sub.assignment}: its graded cells are {other}'s.")
        return None

    def generate(self, assignment: str) -> str | None:
        """``generate_assignment`` into the service's gradebook, from the course's current
        sources, once per run of the service; returns why it failed, or None."""
        if assignment not in self.generated:
            from instructor.grade_class import course_api

            answer = course_api(str(self.root)).generate_assignment(assignment, force=True, create=True)
            self.generated[assignment] = None if answer["success"] else (
                f"generate_assignment failed: {answer.get('error') or answer.get('log')}")
            if answer["success"]:
                log.info("%s generated into the on-submit gradebook", assignment)
            else:
                log.error("%s: %s", assignment, self.generated[assignment])
        return self.generated[assignment]

    def warm_up(self) -> None:
        """Before the first student waits: each released assignment generated into the
        service's gradebook, the grading cluster started, and every grading worker warmed
        (``warm_workers``)."""
        for assignment in sorted(self.assignments()):
            if not self.generate(assignment):
                self.prepare_gradebook(assignment)
        self.client()
        self.warm_workers()

    def warm_workers(self) -> None:
        """Each grading worker not warmed yet for a released assignment (a new worker: the
        cluster's first, or one started again after a grading was killed; a new release) gets a task that loads
        nbgrader and the course's configuration and grades our solution through the engine
        (``grade_class.warm_judge``): its judge, zygote, hidden tests and recorded examples then
        wait warm, and a student's submission pays only for its own notebook. The tasks run on
        that worker alone, after any student's grading (a lower priority); what they did is logged."""
        if self._client is None:
            return
        for future in [f for f in self._warming if f.done()]:
            self._warming.remove(future)
            try:
                done = future.result()
                log.info("a grading worker is warm for %s (%d of %d tests passed, %.1f s)",
                         done["assignment"], done["passed"], done["tests"], done["seconds"])
            except Exception as error:  # its gradings then start cold, and say what fails
                log.warning("warming a grading worker failed: %s: %s", type(error).__name__, error)
        generated = [a for a in sorted(self.assignments()) if self.generated.get(a, "") is None]
        # A worker is told by its address and its scratch folder: a worker started again at a
        # fixed address (``dask worker --worker-port``) gets a new folder, and is cold again.
        workers = self._client.scheduler_info(n_workers=-1)["workers"]
        cold = [(address, info.get("local_directory"), assignment) for address, info in sorted(workers.items())
                for assignment in generated if (address, info.get("local_directory"), assignment) not in self._warmed]
        if not cold:
            return
        url = self.gradebook_url()
        for address, folder, assignment in cold:
            self._warming.append(self._client.submit(
                warm_worker, str(self.root), url, assignment, workers=[address], allow_other_workers=False,
                priority=-10, pure=False, key=f"warm-{assignment}-{time.time_ns()}"))
            self._warmed.add((address, folder, assignment))

    def client(self):
        """The Dask client of the grading cluster (given by address, or a LocalCluster this
        service starts and keeps)."""
        from distributed import Client

        if self._client is None:
            if not self.scheduler:
                self._cluster = grading_cluster(self.settings["workers"])
                self.scheduler = self._cluster.scheduler_address
            self._client = Client(self.scheduler)
        return self._client

    def gradebook_url(self) -> str:
        """The on-submit gradebook's URL, as its concurrent writers (the grading workers) open it."""
        from instructor import gradebook
        from instructor.grade_class import course_api

        return gradebook.for_concurrent_writers(course_api(str(self.root)).coursedir.db_url)

    def prepare_gradebook(self, assignment: str) -> str:
        """The on-submit gradebook migrated and the roster added for this assignment, once
        (not in each grading); returns its URL for concurrent writers."""
        from instructor import gradebook

        url = self.gradebook_url()
        if assignment not in self._prepared:
            gradebook.prepare(url, self.course["course_id"], assignment, sorted(self.roster))
            self._prepared.add(assignment)
        return url

    # ---- one pass over what waits
    def round(self) -> int:
        """One pass: gradings that ended are recorded, those past their deadline abandoned;
        what waits in the exchange is checked (notes for what is not graded) and queued; free
        slots are given to the queues, in turn between students. Never waits on a grading;
        returns how many submissions it decided about (noted, refused or started)."""
        self.warm_workers()
        handled = self.collect()
        handled += self.admit()
        handled += self.dispatch()
        self.collect()  # a grading that ended at once (a test's) is recorded in this round
        return handled

    def admit(self) -> int:
        handled = 0
        assignments = self.assignments()
        for assignment in sorted(assignments - set(self.generated)):  # released since the last round
            self.generate(assignment)
        queued = {s.key for subs in self.queues.values() for s in subs} | {g.sub.key for g in self.running.values()}
        by_student: dict[str, list[Submission]] = {}
        for sub in waiting_submissions(self.inbound):
            entry = self.ledger.get(sub.key)
            if sub.key in queued or (entry and entry.get("status") in FINAL):
                continue
            by_student.setdefault(sub.student, []).append(sub)
        # Checking a submission reads it: a few per student in a round, in turn, so that one
        # student's flood of folders costs the others nothing (the rest wait for later rounds).
        found = []
        for subs in by_student.values():
            subs.sort(key=lambda s: ((self.ledger.get(s.key) or {}).get("first_seen") or "~", s.key))
            for sub in subs[:MAX_CHECKED_PER_STUDENT]:
                found.append((self.ledger.seen(sub, self.clock()), sub))
                self._seen_at.setdefault(sub.key, time.monotonic())
        for _, sub in sorted(found, key=lambda pair: (pair[0], pair[1].key)):  # as first seen
            entry = self.ledger.get(sub.key) or {}
            if entry.get("attempts", 0) >= MAX_ATTEMPTS:
                self.give_up(sub, f"grading was interrupted {entry['attempts']} times")
            elif sub.student not in self.roster:
                log.warning("%s: %s is not a student of the course; not graded", sub.key, sub.student)
                self.ledger.record(sub, status="rejected", reason="not a student of the course")
            elif self.settings["check_owner"] and not sub.owned_by_student():
                log.warning("%s: the folder is not owned by %s's user; not graded", sub.key, sub.student)
                self.ledger.record(sub, status="rejected", reason="the folder is not the student's")
            elif sub.assignment not in assignments:
                self.ledger.record(sub, status="rejected", reason="not a released assignment of the course")
                write_note(self.feedback_exchange, sub, "Not graded on submit",
                           f"{sub.assignment} is not an assignment of this course that is graded on submit.")
            elif refused := self.unreadable(sub):
                log.info("%s: %s; not graded", sub.key, refused)
                self.ledger.record(sub, status="rejected", reason=refused)
                write_note(self.feedback_exchange, sub, "Not graded: the submission cannot be graded",
                           f"{refused}. Submit the assignment's notebook again, without it.")
            elif wrong := self.wrong_notebooks(sub):  # told before the limit: it costs no grading
                log.info("%s: %s; not graded", sub.key, wrong)
                self.ledger.record(sub, status="rejected", reason=wrong)
                write_note(self.feedback_exchange, sub, "Not graded: not a notebook of this assignment",
                           f"{wrong} Put your work on {sub.assignment} in its own notebook (the Assignments "
                           f"tab fetches it again if it is gone) and submit {sub.assignment} again.")
            else:
                self.queues.setdefault(sub.student, []).append(sub)
                continue
            self._seen_at.pop(sub.key, None)
            handled += 1
        return handled

    @staticmethod
    def unreadable(sub: Submission) -> str | None:
        """Why this submission will not be read (too large, too many files, too deep, a folder
        that is not one), told from its listing before anything is copied; None when it can be."""
        try:
            scan_submission(sub.folder)
        except Refused as refused:
            return str(refused)
        except OSError as error:
            return f"the submission cannot be read ({error.strerror or error})"
        return None

    def dispatch(self) -> int:
        """Free slots to the waiting students, one grading per student at a time, the student
        whose turn came longest ago (or never) first: one student's many submissions wait
        behind each other, never ahead of anyone else's."""
        started = 0
        while len(self.running) < self.slots:
            waiting = [s for s, subs in self.queues.items() if subs and s not in self.running]
            if not waiting:
                break
            student = min(waiting, key=lambda s: (self.last_turn.get(s, -1), self.ledger.seen(self.queues[s][0], self.clock())))
            sub = self.queues[student].pop(0)
            if not self.queues[student]:
                del self.queues[student]
            self.turns += 1
            self.last_turn[student] = self.turns
            if (self.ledger.get(sub.key) or {}).get("status") in FINAL:
                continue
            started += 1
            at = self.ledger.seen(sub, self.clock())
            next_at = self.limit.next_allowed(self.ledger.counted(sub.student, sub.assignment, besides=sub.key), at)
            if next_at is not None:
                when = next_at.strftime("%Y-%m-%d %H:%M UTC")
                self.ledger.record(sub, status="refused", next_grading=next_at.isoformat())
                write_note(self.feedback_exchange, sub, "Not graded yet: submission limit reached",
                           f"Submissions are graded on submit at most {self.limit.max_graded} times per "
                           f"{self.limit.window.total_seconds() / 60:g} minutes for each assignment, and you "
                           f"have reached that. The next submission can be graded from {when}.")
                log.info("%s: over the limit; next grading from %s", sub.key, when)
                continue
            self.start(sub)
        return started

    def start(self, sub: Submission) -> None:
        """Copy the submission into the service's course folder and start its grading."""
        dest = self.root / "submitted" / sub.student / sub.assignment
        self.clean(sub)
        try:
            left_out = copy_submission(sub.folder, dest)
            if left_out:
                log.warning("%s: left out what is not a plain file: %s", sub.key, ", ".join(left_out[:10]))
        except Refused as refused:
            shutil.rmtree(dest, ignore_errors=True)
            self.ledger.record(sub, status="rejected", reason=str(refused))
            write_note(self.feedback_exchange, sub, "Not graded: the submission cannot be graded",
                       f"{refused}. Submit the assignment's notebook again, without it.")
            return
        except OSError as error:
            self.give_up(sub, f"cannot copy the submission: {error}")
            return
        problem = self.generate(sub.assignment)
        if problem:
            self.give_up(sub, problem)
            return
        entry = self.ledger.get(sub.key) or {}
        self.ledger.record(sub, status="grading", attempts=entry.get("attempts", 0) + 1)
        log.info("grading %s", sub.key)
        self.running[sub.student] = Grading(sub, self.launch(sub), time.monotonic(), time.monotonic() + self.deadline_s)

    def collect(self) -> int:
        """Record the gradings that ended; abandon (kill) those past their deadline."""
        ended = 0
        for student, grading in list(self.running.items()):
            sub = grading.sub
            result = self.result(grading.job)
            if result is None and time.monotonic() < grading.deadline:
                continue
            del self.running[student]
            ended += 1
            if result is None:
                log.error("%s: still grading after %.0f s: abandoned", sub.key, self.deadline_s)
                self.kill(grading.job)
                self.ledger.record(sub, status="failed", reason=f"abandoned after its deadline ({self.deadline_s:g} s)")
                write_note(self.feedback_exchange, sub, "Not graded on submit: it took too long",
                           f"Grading this submission took longer than {self.deadline_s:g} seconds, so it was "
                           "stopped. Look for a loop that does not end or work that takes very long; the "
                           "instructor will see it.")
            elif result.get("status") == "graded":
                # recorded, then released: whoever sees the feedback finds its score in the ledger
                collected = time.monotonic()
                entry = self.ledger.record(sub, status="graded", score=result["score"], max_score=result["max_score"],
                                           graded_at=datetime.now(UTC).isoformat(),
                                           seconds=round(collected - grading.started, 1))
                problem = self.release(sub)
                if problem:
                    self.give_up(sub, problem)
                else:
                    entry["phases"] = phases(result.get("phases"), self._seen_at.get(sub.key, grading.started),
                                             grading.started, collected, time.monotonic())
                    self.ledger.save()
                    log.info("%s: graded %g / %g in %.1f s; feedback released (%s)", sub.key, result["score"],
                             result["max_score"], time.monotonic() - grading.started,
                             ", ".join(f"{name} {seconds:g} s" for name, seconds in entry["phases"].items()))
            else:
                self.give_up(sub, result.get("error") or "the grading failed")
            self._seen_at.pop(sub.key, None)
            self.clean(sub)
        return ended

    def clean(self, sub: Submission) -> None:
        for step in ("submitted", "autograded", "feedback"):
            shutil.rmtree(self.root / step / sub.student / sub.assignment, ignore_errors=True)

    def give_up(self, sub: Submission, reason: str) -> None:
        log.error("%s: %s; not graded on submit", sub.key, reason)
        self.ledger.record(sub, status="failed", reason=reason)
        write_note(self.feedback_exchange, sub, "Not graded on submit",
                   "This submission could not be graded automatically now; the instructor will see it.")

    # ---- grading on the Dask cluster, as instructor.grade_class does it; a test replaces these
    def launch(self, sub: Submission):
        """Start grading a copied submission (a Dask task: autograde, then its feedback
        released); returns the task's future."""
        url = self.prepare_gradebook(sub.assignment)
        future = self.client().submit(grade_and_generate, str(self.root), url, self.course["course_id"],
                                     sub.assignment, sub.student, pure=False,
                                     key=f"onsubmit-{sub.assignment}-{sub.student}-{time.time_ns()}")
        future.add_done_callback(lambda _: self.wake.set())  # recorded and released at once
        return future

    def release(self, sub: Submission) -> str | None:
        """nbgrader's ``release_feedback`` of the feedback the grading generated (a copy into
        the feedback exchange, named by the submission's secret); why it failed, or None."""
        from instructor.grade_class import course_api

        try:
            released = course_api(str(self.root)).release_feedback(sub.assignment, sub.student)
        except Exception as error:
            return f"releasing the feedback failed: {type(error).__name__}: {error}"
        return None if released["success"] else (
            f"releasing the feedback failed: {released.get('error') or released.get('log')}")

    def result(self, job) -> dict | None:
        """None while the grading runs; else {"status": "graded", "score", "max_score"} or
        {"status": "failed", "error"}."""
        if not job.done():
            return None
        try:
            return job.result()
        except Exception as error:  # its worker died (allowed-failures 0: not retried)
            return {"status": "failed", "error": f"{type(error).__name__}: {error}"}

    def kill(self, job) -> None:
        """End a grading: the Dask worker running it, and every process it started, killed
        (its nanny starts a fresh worker)."""
        kill_task(self._client, job)

    def serve(self, stop: threading.Event) -> None:
        from exchange_watch import ExchangeWatch

        watch = ExchangeWatch(self.inbound, self.wake)
        log.info("watching %s (every %s s and by events; limit: %s)", self.inbound, self.settings["poll_seconds"],
                 f"{self.limit.max_graded} per {self.limit.window}" if self.limit.max_graded else "none")
        try:
            self.warm_up()
        except Exception:  # the rounds try again, and say what fails for each submission
            log.exception("warming up failed")
        while not stop.is_set():
            # inbound/ is every student's to write: events are at most one round per MIN_ROUND_GAP_S
            time.sleep(max(0.0, self._last_round + MIN_ROUND_GAP_S - time.monotonic()))
            self._last_round = time.monotonic()
            self.wake.clear()  # what happens during the round wakes the next one at once
            try:
                watch.arm()  # inbound/ exists once an assignment is released; it may be replaced
                self.round()
            except Exception:  # one bad round must not stop the service; the ledger says what is done
                log.exception("a round of on-submit grading failed")
            # Woken by an event, else the next look after poll_seconds (stop looked at meanwhile);
            # while gradings run, their deadlines are looked at at least every 0.5 s.
            poll = float(self.settings["poll_seconds"])
            until = time.monotonic() + (min(poll, 0.5) if self.running else poll)
            while not stop.is_set() and not self.wake.wait(max(0.0, min(0.25, until - time.monotonic()))):
                if time.monotonic() >= until:
                    break
        watch.stop()
        while self.running:  # asked to stop: the gradings under way end first (or at their deadline)
            try:
                self.collect()
            except Exception:
                log.exception("recording a grading failed")
                break
            time.sleep(0.5)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


# ----------------------------------------------------------------------------- the process
def grading_cluster(workers: int | None):
    """A LocalCluster on loopback, as grade_class's default; a task that kills its worker
    fails once instead of being retried on the next worker."""
    import dask
    from distributed import LocalCluster

    from instructor.grade_class import usable_cores

    dask.config.set({"distributed.scheduler.allowed-failures": 0})
    return LocalCluster(n_workers=workers or usable_cores(), threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)


def check_hub() -> None:
    """Who the Hub says this service is (its token, from JUPYTERHUB_API_TOKEN)."""
    import requests

    url, token = os.environ.get("JUPYTERHUB_API_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
    if not (url and token):
        log.info("not started by a Hub (no JUPYTERHUB_API_URL/TOKEN)")
        return
    me = requests.get(f"{url}/user", headers={"Authorization": f"token {token}"}, timeout=30)
    me.raise_for_status()
    log.info("running as the Hub's %s %r", me.json().get("kind"), me.json().get("name"))


def stop_children() -> None:
    """Whatever this process started and left running (a grading cut short): stopped."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass


def main() -> int:
    from hub_service import start_service  # this folder: the Hub runs the service as a script

    course = start_service()  # instructor.grade_class importable from here on
    settings = course.get("feedback_on_submit", {})
    stop = threading.Event()

    def on_signal(signum, frame):
        # The first asks to stop after the grading under way; the Hub's next (it sends SIGINT,
        # then SIGTERM) cuts that grading short: it is graded again after the restart.
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    check_hub()
    try:
        with grading_cluster(settings.get("workers")) as cluster:
            FeedbackService(course, settings, scheduler=cluster.scheduler_address).serve(stop)
    except KeyboardInterrupt:
        log.warning("stopped during a grading; it is graded again when the service starts")
    finally:
        stop_children()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
