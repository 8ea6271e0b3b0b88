"""Feedback on submit in a real JupyterHub: the Hub's feedback-on-submit service grades each
submission as it arrives, and the student fetches the feedback, with no instructor action.

One instructor and two students, the deployment of deploy/jupyterhub with a limit of
``LIMIT`` gradings per student and assignment an hour. Through the Hub's REST API and the
servers' nbgrader endpoints, as the Assignments tab does:

- Alice submits a wrong answer and fetches its feedback (the time from submit to feedback
  is printed); its scores equal grading the same notebook directly with ``nbgrader autograde``;
  the instructor's gradebook stays empty. Her second submission (right) is graded; her third
  is over the limit: kept, and its feedback says when the next grading is possible.
- The service is stopped while Bob submits; the Hub starts it again, and it grades Bob's
  submission, once. An unreadable notebook gets a note, and the service goes on.
- Neither student can read the other's feedback, the ledger or the service's gradebook.

Needs root (CI runs as root); skipped otherwise.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder.simulated_class import build_submission, load_cases
from instructor import nbgrader_cli
from tests.test_written_answers import written_answer_cells
from tests import hub_support
from tests.hub_support import REPO

ASSIGNMENT = "01_normalization"
NOTEBOOK = "normalization.ipynb"
INSTRUCTOR, ALICE, BOB = "nbgf-teach", "nbgf-alice", "nbgf-bob"
LIMIT = 2
CASES = {case.name: case for case in load_cases(ASSIGNMENT)}
ARTIFACTS = REPO / "build" / "test-artifacts"
FEEDBACK_TIMEOUT_S = 300

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: it creates unix users and starts "
                                "JupyterHub, whose servers run as them")


@pytest.fixture(scope="module")
def hub(mnist_dir):
    hub_support.require_root()
    hub_support.require_node_tools()
    options = ["--feedback-limit", str(LIMIT), "--feedback-window-minutes", "60", "--feedback-workers", "1"]
    with hub_support.running_hub("jupyterhub_feedback_on_submit", INSTRUCTOR, [ALICE, BOB], mnist_dir,
                                 setup_options=options) as the_hub:
        yield the_hub


def _ok(answer: dict, what: str) -> dict:
    assert answer.get("success"), f"{what} failed:\n{answer.get('log', '')[-6000:]}\n{answer}"
    return answer


def _score_line(html: str) -> tuple[float, float]:
    found = re.search(r"Score: ([\d.]+) / ([\d.]+)", html)
    assert found, f"no score in the feedback:\n{html[:2000]}"
    return float(found.group(1)), float(found.group(2))


class Student:
    """One student's Assignments tab: fetch, write, submit, fetch feedback."""

    def __init__(self, hub, name: str, course_id: str):
        self.name, self.course_id, self.session = name, course_id, hub.session(name)
        self.path = None

    def fetch(self) -> None:
        self.session.assignment_action("fetch", self.course_id, ASSIGNMENT)
        [fetched] = [a for a in self.session.assignments(self.course_id) if a["status"] == "fetched"]
        self.path = f"{fetched['path']}/{NOTEBOOK}"
        self.released = nbformat.from_dict(self.session.read(self.path)["content"])

    def write_case(self, case_name: str) -> None:
        source_nb = nbformat.read(REPO / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
        nb = build_submission(CASES[case_name], source_nb, self.released)
        self.session.write_notebook(self.path, json.loads(nbformat.writes(nb)))

    def submit(self) -> tuple[str, float]:
        """Submits; returns the submission's timestamp and when it was made (monotonic)."""
        before = {s["timestamp"] for s in self.submissions()}
        _ok(self.session.assignment_action("submit", self.course_id, ASSIGNMENT), f"submit by {self.name}")
        made = time.monotonic()
        [timestamp] = {s["timestamp"] for s in self.submissions()} - before
        return timestamp, made

    def submissions(self) -> list[dict]:
        entries = [a for a in self.session.assignments(self.course_id) if a["status"] == "submitted"]
        return entries[0]["submissions"] if entries else []

    def wait_for_feedback(self, timestamp: str, timeout: float = FEEDBACK_TIMEOUT_S) -> str:
        """Fetch Feedback until this submission's arrives; returns its HTML."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.session.assignment_action("fetch_feedback", self.course_id, ASSIGNMENT)
            [mine] = [s for s in self.submissions() if s["timestamp"] == timestamp]
            if mine["has_local_feedback"]:
                return self.session.read(f"{mine['local_feedback_path']}/{NOTEBOOK[:-6]}.html",
                                         type="file", format="text")["content"]
            time.sleep(1)
        raise AssertionError(f"no feedback for {self.name}'s submission at {timestamp} within {timeout:.0f} s")


def _service_processes(hub) -> list[psutil.Process]:
    """The feedback service's own process (not its Dask workers): the Hub's child running it."""
    found = []
    for child in psutil.Process(hub.proc.pid).children():
        try:
            if any(part.endswith("feedback_service.py") for part in child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def _alive(proc: psutil.Process) -> bool:
    """Running, and not a zombie waiting for the Hub to notice it exited."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _ledger(course_dir: Path) -> dict:
    return json.loads((course_dir / "onsubmit" / "ledger.json").read_text())


def test_submission_graded_on_submit_within_limit_and_after_restart(hub, tmp_path):
    course = hub.course
    course_id, course_dir = course["course_id"], Path(course["course_dir"])
    assert course["feedback_on_submit"] == {"enabled": True, "max_graded": LIMIT, "window_minutes": 60,
                                            "workers": 1, "poll_seconds": 2.0, "check_owner": True}
    hub.start_servers(INSTRUCTOR, ALICE, BOB)
    [service] = _service_processes(hub)
    assert service.username() == INSTRUCTOR

    teach = hub.session(INSTRUCTOR)
    _ok(teach.formgrader("POST", f"assignment/{ASSIGNMENT}/assign"), "generate_assignment")
    _ok(teach.formgrader("POST", f"assignment/{ASSIGNMENT}/release"), "release_assignment")
    alice, bob = Student(hub, ALICE, course_id), Student(hub, BOB, course_id)
    alice.fetch()

    # ---- a wrong answer: graded on submit, the feedback fetched with no instructor action
    alice.write_case("unbiased_std")
    first, made = alice.submit()
    first_html = alice.wait_for_feedback(first)
    seconds = time.monotonic() - made
    print(f"\nfeedback on submit: {seconds:.1f} s from submit to feedback fetched ({ASSIGNMENT})")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "feedback_on_submit_seconds.txt").write_text(f"{seconds:.1f}\n")
    ledger = _ledger(course_dir)
    [first_entry] = [e for e in ledger.values() if e["timestamp"] == first]
    assert first_entry["status"] == "graded" and first_entry["attempts"] == 1, first_entry
    assert _score_line(first_html) == (first_entry["score"], first_entry["max_score"])
    assert first_entry["score"] < first_entry["max_score"] and "✗" in first_html
    hidden = (course_dir / "autograder" / "hidden" / ASSIGNMENT / "test_normalization.py").read_text()
    hidden_lines = {line.strip() for line in hidden.splitlines() if len(line.strip()) > 25}
    assert [line for line in hidden_lines if line in first_html] == []
    # recorded apart: the instructor's gradebook has no submission; the service's has it
    assert nbgrader_cli.read_grades(course_dir, ASSIGNMENT) == {}
    onsubmit = nbgrader_cli.read_grades(course_dir / "onsubmit", ASSIGNMENT)
    assert set(onsubmit) == {ALICE}

    # the same notebook, graded directly (plain `nbgrader autograde` as root)
    [inbound] = (Path(course["exchange"]) / course_id / "inbound").glob(f"{ALICE}+{ASSIGNMENT}+{first}+*")
    direct_course = nbgrader_cli.make_course(tmp_path / "direct")
    nbgrader_cli.generate(direct_course, ASSIGNMENT)
    shutil.copytree(inbound, direct_course / "submitted" / ALICE / ASSIGNMENT)
    nbgrader_cli.autograde(direct_course, ASSIGNMENT, [ALICE])
    direct = nbgrader_cli.read_grades(direct_course, ASSIGNMENT)[ALICE]
    assert (direct.score, direct.max_score) == _score_line(first_html)
    assert onsubmit[ALICE].cells == direct.cells

    # ---- a second submission, within the limit: graded
    alice.write_case("solution")
    second, _ = alice.submit()
    second_html = alice.wait_for_feedback(second)
    score, max_score = _score_line(second_html)
    # every automatic point; the written questions wait for the instructor's manual grading
    assert score == max_score - sum(written_answer_cells(ASSIGNMENT).values()) > first_entry["score"]
    assert "✗" not in second_html

    # ---- a third, over the limit: kept, not graded, and the student told when next
    third, _ = alice.submit()
    note = alice.wait_for_feedback(third)
    assert "submission limit reached" in note and "The next submission can be graded from" in note, note
    [third_entry] = [e for e in _ledger(course_dir).values() if e["timestamp"] == third]
    assert third_entry["status"] == "refused" and third_entry["attempts"] == 0
    # the exchange keeps all three for the instructor's collect
    assert len(list(inbound.parent.glob(f"{ALICE}+{ASSIGNMENT}+*"))) == 3

    # ---- the service stopped while a submission waits; the Hub starts it again
    before_restart = _ledger(course_dir)
    os.kill(service.pid, signal.SIGSTOP)
    try:
        bob.fetch()
        bob.write_case("solution")
        bobs, _ = bob.submit()
        time.sleep(3)
        assert all(e["timestamp"] != bobs for e in _ledger(course_dir).values())
        os.kill(service.pid, signal.SIGTERM)  # handled first when it continues: it stops
    finally:
        os.kill(service.pid, signal.SIGCONT)
    deadline = time.monotonic() + 60
    while _alive(service) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(service), "the service did not stop on SIGTERM"
    bobs_html = bob.wait_for_feedback(bobs, timeout=FEEDBACK_TIMEOUT_S + 60)  # the Hub polls every 30 s
    [restarted] = _service_processes(hub)
    assert restarted.pid != service.pid
    after = _ledger(course_dir)
    [bob_entry] = [e for e in after.values() if e["student"] == BOB]
    assert bob_entry["status"] == "graded" and bob_entry["attempts"] == 1
    assert _score_line(bobs_html) == (bob_entry["score"], bob_entry["max_score"])
    # nothing handled before the restart was handled again
    assert {k: after[k] for k in before_restart} == before_restart

    # ---- an unreadable notebook: not graded, a note, and the service goes on
    r = bob.session.request("PUT", f"api/contents/{bob.path}",
                            json={"type": "file", "format": "text", "content": "{ not a notebook"})
    assert r.status_code in (200, 201), r.text
    broken, _ = bob.submit()
    broken_note = bob.wait_for_feedback(broken)
    assert "could not be graded automatically" in broken_note
    [broken_entry] = [e for e in _ledger(course_dir).values() if e["timestamp"] == broken]
    assert broken_entry["status"] == "failed" and broken_entry["reason"]
    assert _service_processes(hub) == [restarted]

    # ---- nobody reads what is not theirs
    _check_isolation(hub, course, course_dir)
    assert nbgrader_cli.read_grades(course_dir, ASSIGNMENT) == {}  # still: the grade is the instructor's to give

    # ---- the Hub stops, and with it the service and its grading cluster
    outlived = hub.stop()
    assert outlived == [], f"still running after the Hub stopped: {outlived}"
    assert hub.users.processes() == []


def _check_isolation(hub, course: dict, course_dir: Path) -> None:
    """As each student (their uid, no extra groups): the other's on-submit feedback, the
    exchange's feedback folder, the ledger and the service's gradebook are closed."""
    exchange = Path(course["exchange"]) / course["course_id"]
    for name, other in ((ALICE, BOB), (BOB, ALICE)):
        mine, theirs = hub.users.home(name), hub.users.home(other)
        paths = {
            "own feedback": next((mine / ASSIGNMENT / "feedback").rglob("*.html")),
            "other's feedback": next((theirs / ASSIGNMENT / "feedback").rglob("*.html")),
            "the exchange's feedback": exchange / "feedback",
            "the ledger": course_dir / "onsubmit" / "ledger.json",
            "the on-submit gradebook": course_dir / "onsubmit" / "gradebook.db",
        }
        found = hub_support.access_as(hub, name, Path(course["python_bin"]) / "python", paths)
        expected = {label: "allowed" if label == "own feedback" else "denied" for label in paths}
        assert found == expected, f"as {name}: {found}"
