"""Feedback on submit: a JupyterHub-managed service that grades each submission as it arrives.

jupyterhub_config.py starts it (and the Hub stops it, or starts it again when it exits) as
the instructor, when ``course.json`` has ``feedback_on_submit.enabled``. It watches the
exchange's ``inbound/`` folder; for each new submission it

1. checks it: a student on the roster, an assignment of the course, a notebook of that
   assignment (not another's, told by its graded cells), within the rate limit
   (``max_graded`` gradings per student and assignment in ``window_minutes``);
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

REPO = Path(__file__).resolve().parents[2]

# A submission whose grading was started this often without an outcome (the service or its
# grading worker died each time) is not tried again.
MAX_ATTEMPTS = 2
# Outcomes that end a submission's processing; "grading" is the only other status.
FINAL = ("graded", "failed", "refused", "rejected")
# Outcomes that count against the rate limit: the grader spent its time on them.
COUNTED = ("graded", "failed")
# Defaults of course.json's "feedback_on_submit" (setup_course.py writes them).
DEFAULT_SETTINGS = {"enabled": True, "max_graded": 3, "window_minutes": 60, "workers": None,
                    "poll_seconds": 2.0, "check_owner": True}
# The most a submission may hold (all its files): what is copied for grading.
MAX_SUBMISSION_BYTES = 64 << 20

log = logging.getLogger("feedback-on-submit")


def utc(timestamp: str) -> datetime:
    """nbgrader's submission timestamp ("2025-01-31 12:00:00.000000 UTC") as an aware datetime."""
    from nbgrader.utils import parse_utc
    return parse_utc(timestamp).replace(tzinfo=UTC)


# ----------------------------------------------------------------------------- submissions
@dataclass(frozen=True)
class Submission:
    """One folder in the exchange's inbound: ``student+assignment+timestamp+random``."""
    student: str
    assignment: str
    timestamp: str
    folder: Path

    @property
    def key(self) -> str:
        return f"{self.student}+{self.assignment}+{self.timestamp}"

    @property
    def at(self) -> datetime:
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
            return bool(self.secret()) and (self.folder.lstat().st_mode & 0o777) == 0o777
        except OSError:
            return False

    def secret(self) -> str | None:
        return _read_regular(self.folder / "submission_secret.txt")

    def notebook_ids(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())

    def owned_by_student(self) -> bool:
        """Whether the student's Unix user owns the folder, as nbgrader's collect checks
        (``ExchangeCollect.check_owner``): the inbound folder is writable by every student, so
        anyone can name a folder after someone else (and use up their limit)."""
        try:
            return self.folder.lstat().st_uid == pwd.getpwnam(self.student).pw_uid
        except (KeyError, OSError):
            return False


def _read_regular(path: Path) -> str | None:
    """A small regular file's text, never through a link (the student owns the folder)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd) as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(4096).strip() or None


def graded_cell_ids(path: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> set[str] | None:
    """The ``grade_id`` of every nbgrader cell of a notebook (a plain file, never through a
    link); None when it is not a notebook that can be read (grading then says what is wrong)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode) or os.fstat(f.fileno()).st_size > max_bytes:
            return None
        try:
            cells = json.loads(f.read()).get("cells")
        except (ValueError, AttributeError):
            return None
    if not isinstance(cells, list):
        return None
    ids = set()
    for cell in cells:
        nbgrader = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
        if isinstance(nbgrader, dict) and isinstance(nbgrader.get("grade_id"), str):
            ids.add(nbgrader["grade_id"])
    return ids


def copy_submission(src: Path, dest: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> list[str]:
    """Copy the regular files and folders of a submission the student owns, and nothing
    else: a link (to the solutions, the hidden tests, another student's work) would otherwise
    be followed by the service, which runs as the instructor, and come back as feedback.
    Returns what was left out; OSError when the submission holds more than ``max_bytes``."""
    left_out, total, pending = [], 0, [(src, dest)]
    while pending:
        folder, into = pending.pop()
        into.mkdir(parents=True)
        for entry in os.scandir(folder):
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                pending.append((Path(entry.path), into / entry.name))
            elif stat.S_ISREG(mode):
                with os.fdopen(os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f, \
                        open(into / entry.name, "wb") as out:
                    shutil.copyfileobj(f, out)
                total += (into / entry.name).stat().st_size
                if total > max_bytes:
                    raise OSError(f"the submission holds more than {max_bytes:,} bytes")
            else:
                left_out.append(os.path.relpath(entry.path, src))
    return left_out


def waiting_submissions(inbound: Path) -> list[Submission]:
    """Complete submissions in the inbound folder, oldest first."""
    found = []
    try:
        entries = list(os.scandir(inbound))
    except FileNotFoundError:
        return []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        sub = Submission.parse(Path(entry.path))
        if sub is not None and sub.complete():
            found.append(sub)
    return sorted(found, key=lambda s: (s.at, s.key))


# ----------------------------------------------------------------------------- the ledger
class Ledger:
    """What happened to each submission, by key, in one JSON file replaced atomically."""

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

    def save(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(self.records, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def counted(self, student: str, assignment: str) -> list[datetime]:
        """Submission times of this student's gradings of this assignment (graded or failed)."""
        return sorted(utc(r["timestamp"]) for r in self.records.values()
                      if r["student"] == student and r["assignment"] == assignment and r.get("status") in COUNTED)


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


# ----------------------------------------------------------------------------- the service
class FeedbackService:
    """One course's on-submit grading. ``round()`` handles what waits; ``serve()`` loops."""

    def __init__(self, course: dict, settings: dict, scheduler: str | None = None):
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
        self.generated: dict[str, str | None] = {}  # assignment -> why generating it failed, or None
        self._released: dict[Path, tuple[int, set[str]]] = {}  # released notebook -> (mtime, grade_ids)
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
        """nbgrader and the course's configuration loaded in every grading worker now, and each
        released assignment generated, rather than when the first student waits for them."""
        from distributed import Client

        from instructor import gradebook
        from instructor.grade_class import course_api, warm_up

        for assignment in sorted(self.assignments()):
            self.generate(assignment)
        if self.scheduler:
            url = gradebook.for_concurrent_writers(course_api(str(self.root)).coursedir.db_url)
            with Client(self.scheduler) as client:
                client.run(warm_up, str(self.root), url)

    # ---- one pass over what waits
    def round(self) -> int:
        """Handle every submission waiting now; returns how many were handled."""
        batch: dict[tuple[str, str], Submission] = {}
        handled = 0
        assignments = self.assignments()
        for assignment in sorted(assignments - set(self.generated)):  # released since the last round
            self.generate(assignment)
        for sub in waiting_submissions(self.inbound):
            entry = self.ledger.get(sub.key)
            if entry and entry.get("status") in FINAL:
                continue
            if (sub.student, sub.assignment) in batch:
                continue  # one submission per student and assignment per round: the next round
            if entry and entry.get("attempts", 0) >= MAX_ATTEMPTS:
                self.give_up(sub, f"grading was interrupted {entry['attempts']} times")
                handled += 1
                continue
            if sub.student not in self.roster:
                log.warning("%s: %s is not a student of the course; not graded", sub.key, sub.student)
                self.ledger.record(sub, status="rejected", reason="not a student of the course")
                handled += 1
                continue
            if self.settings["check_owner"] and not sub.owned_by_student():
                log.warning("%s: the folder is not owned by %s's user; not graded", sub.key, sub.student)
                self.ledger.record(sub, status="rejected", reason="the folder is not the student's")
                handled += 1
                continue
            if sub.assignment not in assignments:
                self.ledger.record(sub, status="rejected", reason="not a released assignment of the course")
                write_note(self.feedback_exchange, sub, "Not graded on submit",
                           f"{sub.assignment} is not an assignment of this course that is graded on submit.")
                handled += 1
                continue
            wrong = self.wrong_notebooks(sub)
            if wrong:  # told before the limit: it costs no grading, so it uses up none
                log.info("%s: %s; not graded", sub.key, wrong)
                self.ledger.record(sub, status="rejected", reason=wrong)
                write_note(self.feedback_exchange, sub, "Not graded: not a notebook of this assignment",
                           f"{wrong} Put your work on {sub.assignment} in its own notebook (the Assignments "
                           f"tab fetches it again if it is gone) and submit {sub.assignment} again.")
                handled += 1
                continue
            next_at = self.limit.next_allowed(self.ledger.counted(sub.student, sub.assignment), sub.at)
            if next_at is not None:
                when = next_at.strftime("%Y-%m-%d %H:%M UTC")
                self.ledger.record(sub, status="refused", next_grading=next_at.isoformat())
                write_note(self.feedback_exchange, sub, "Not graded yet: submission limit reached",
                           f"Submissions are graded on submit at most {self.limit.max_graded} times per "
                           f"{self.limit.window.total_seconds() / 60:g} minutes for each assignment, and you "
                           f"have reached that. The next submission can be graded from {when}.")
                log.info("%s: over the limit; next grading from %s", sub.key, when)
                handled += 1
                continue
            batch[(sub.student, sub.assignment)] = sub
        if batch:
            self.grade(list(batch.values()))
            handled += len(batch)
        return handled

    def give_up(self, sub: Submission, reason: str) -> None:
        log.error("%s: %s; not graded on submit", sub.key, reason)
        self.ledger.record(sub, status="failed", reason=reason)
        write_note(self.feedback_exchange, sub, "Not graded on submit",
                   "This submission could not be graded automatically now; the instructor will see it.")

    # ---- grading, as instructor.grade_class does it
    def grade(self, subs: list[Submission]) -> None:
        from instructor.grade_class import course_api, grade_assignments

        api = course_api(str(self.root))
        staged = []
        for sub in subs:
            dest = self.root / "submitted" / sub.student / sub.assignment
            try:
                if dest.exists():
                    shutil.rmtree(dest)
                left_out = copy_submission(sub.folder, dest)
                if left_out:
                    log.warning("%s: left out what is not a plain file: %s", sub.key, ", ".join(left_out[:10]))
            except OSError as error:
                self.give_up(sub, f"cannot copy the submission: {error}")
                continue
            problem = self.generate(sub.assignment)
            if problem:
                self.give_up(sub, problem)
                continue
            entry = self.ledger.get(sub.key) or {}
            self.ledger.record(sub, status="grading", attempts=entry.get("attempts", 0) + 1)
            staged.append(sub)
        if not staged:
            return
        started = time.monotonic()
        log.info("grading %s", ", ".join(s.key for s in staged))
        reports = grade_assignments(self.root, sorted({s.assignment for s in staged}), scheduler=self.scheduler,
                                    students=sorted({s.student for s in staged}), force=True,
                                    log=self.root / "grading.log", progress=False)
        for sub in staged:
            outcomes = [o for o in reports[sub.assignment].outcomes if o.student == sub.student]
            outcome = outcomes[0] if outcomes else None
            if outcome is None or outcome.status != "graded":
                self.give_up(sub, outcome.error if outcome else "nbgrader found no notebook to grade")
            else:
                self.deliver(api, sub, time.monotonic() - started)
            for step in ("submitted", "autograded", "feedback"):
                shutil.rmtree(self.root / step / sub.student / sub.assignment, ignore_errors=True)

    def deliver(self, api, sub: Submission, seconds: float) -> None:
        """The final feedback's HTML for this submission, into the feedback exchange."""
        from nbgrader.api import Gradebook

        made = api.generate_feedback(sub.assignment, sub.student, force=True)
        released = made["success"] and api.release_feedback(sub.assignment, sub.student)
        if not (made["success"] and released and released["success"]):
            failed = released if made["success"] and released else made
            self.give_up(sub, f"feedback failed: {failed.get('error') or failed.get('log')}")
            return
        with Gradebook(api.coursedir.db_url, self.course["course_id"]) as gb:
            graded = gb.find_submission(sub.assignment, sub.student)
            score, max_score = float(graded.score), float(graded.max_score)
        self.ledger.record(sub, status="graded", score=score, max_score=max_score,
                           graded_at=datetime.now(UTC).isoformat(), seconds=round(seconds, 1))
        log.info("%s: graded %g / %g in %.1f s; feedback released", sub.key, score, max_score, seconds)

    def serve(self, stop: threading.Event) -> None:
        log.info("watching %s (limit: %s)", self.inbound, f"{self.limit.max_graded} per "
                 f"{self.limit.window}" if self.limit.max_graded else "none")
        try:
            self.warm_up()
        except Exception:  # the rounds try again, and say what fails for each submission
            log.exception("warming up failed")
        while not stop.is_set():
            try:
                self.round()
            except Exception:  # one bad round must not stop the service; the ledger says what is done
                log.exception("a round of on-submit grading failed")
            stop.wait(float(self.settings["poll_seconds"]))


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
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(asctime)s %(levelname)s] %(message)s")
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))  # instructor.grade_class; the course's own packages come first
    root = os.environ.get("COURSE_HUB_ROOT", "/srv/nbgrader")
    course = json.loads(Path(root, "course.json").read_text())
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
