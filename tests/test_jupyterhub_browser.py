"""A student in a real browser, in the course's JupyterHub on loopback.

Headless Chromium (Debian's ``chromium``, driven by playwright-core over a pipe) logs in
as a student, opens the assignment list in JupyterLab, fetches the assignment the
instructor released, opens its notebook and runs its first code cell. The screenshot is
saved as a test artifact: build/test-artifacts/jupyterhub_browser.png. On the same Hub
(one start for both), the class report: the instructor opens it (screenshot:
build/test-artifacts/jupyterhub_class_report.png), a student is refused.

Needs root and Chromium; skipped, saying which, otherwise.
"""
from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest

from tests import hub_support
from tests.hub_support import REPO

ASSIGNMENT = "01_normalization"
NOTEBOOK = "normalization"
INSTRUCTOR, STUDENT = "nbgb-teach", "nbgb-carol"
ARTIFACTS = REPO / "build" / "test-artifacts"
SCREENSHOT = ARTIFACTS / "jupyterhub_browser.png"
REPORT_SCREENSHOT = ARTIFACTS / "jupyterhub_class_report.png"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: it creates unix users and starts JupyterHub, "
                       "whose servers run as them"),
    pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                       reason="needs Debian's chromium (apt-get install chromium; "
                       "scripts/install_hub_test_tools.sh does it as root)"),
]


@pytest.fixture(scope="module")
def hub(mnist_dir):
    hub_support.require_root()
    hub_support.chromium()
    hub_support.require_node_tools(need_browser_driver=True)
    # also when the test fails: every process stopped, users and files removed
    with hub_support.running_hub("jupyterhub_browser", INSTRUCTOR, [STUDENT], mnist_dir,
                                 setup_options=["--no-feedback-on-submit"]) as the_hub:
        yield the_hub


GENERATE_AS_INSTRUCTOR = """
import os, sys
course, repo, assignment = sys.argv[1:4]
os.chdir(course)
sys.path.append(repo)
from instructor.grade_class import course_api
result = course_api(course).generate_assignment(assignment)
assert result["success"], result
"""


def test_instructor_opens_the_class_report_and_a_student_is_refused(hub):
    """Runs before the student's test below, which stops the Hub (one Hub start for the module)."""
    course = hub.course
    python = Path(course["python_bin"]) / "python"
    # The instructor's gradebook, as the formgrader's "generate" makes it (no server needed): the
    # report service writes the report of the latest grading when the gradebook is newer.
    run = hub.users.run_as(INSTRUCTOR, python, GENERATE_AS_INSTRUCTOR, course["course_dir"], str(REPO), ASSIGNMENT,
                           timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    REPORT_SCREENSHOT.unlink(missing_ok=True)
    args = {"url": hub.url, "password": hub.password, "assignment": ASSIGNMENT, "chromium": hub_support.chromium(),
            "timeout_ms": 120_000, "failure_screenshot": str(ARTIFACTS / "jupyterhub_class_report-failure.png"),
            "users": [{"username": INSTRUCTOR, "screenshot": str(REPORT_SCREENSHOT)}, {"username": STUDENT}]}
    result = hub_support.run_browser_script("hub_report.js", args, hub, ARTIFACTS / "jupyterhub_class_report-failure.png")
    teach, student = result["seen"][INSTRUCTOR], result["seen"][STUDENT]
    assert teach["status"] == 200 and teach["heading"].startswith("Class report"), result
    assert ASSIGNMENT in teach["assignment_heading"], result
    assert REPORT_SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert student["status"] == 403 and "Class report" not in student["heading"], result
    # The report lives in the instructor's course folder, written by the service as the instructor.
    index = Path(course["course_dir"]) / "reports" / "index.html"
    assert index.is_file() and index.stat().st_uid == pwd.getpwnam(INSTRUCTOR).pw_uid


def test_student_fetches_and_runs_the_assignment_in_jupyterlab(hub):
    course = hub.course
    hub.start_servers(INSTRUCTOR)
    teach = hub.session(INSTRUCTOR)
    for action in ("assign", "release"):
        answer = teach.formgrader("POST", f"assignment/{ASSIGNMENT}/{action}")
        assert answer["success"], answer

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("jupyterhub_browser*.png"):
        old.unlink()
    args = {"url": hub.url, "username": STUDENT, "password": hub.password, "assignment": ASSIGNMENT,
            "notebook": NOTEBOOK, "chromium": hub_support.chromium(), "screenshot": str(SCREENSHOT), "timeout_ms": 150_000}
    result = hub_support.run_browser_script("hub_browser.js", args, hub, ARTIFACTS / "jupyterhub_browser-failure.png")
    assert "import torch" in result["source"] and result["errors"] == 0, result
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and SCREENSHOT.stat().st_size > 10_000

    # What the browser did, seen from the server: the notebook fetched into the student's
    # home, owned by the student, and a kernel for it that ran one cell.
    fetched = hub.users.home(STUDENT) / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    assert fetched.is_file() and fetched.stat().st_uid == pwd.getpwnam(STUDENT).pw_uid
    student = hub.session(STUDENT)
    sessions = student.json("GET", "api/sessions")
    assert [s["path"] for s in sessions] == [f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"], sessions
    assert sessions[0]["kernel"]["execution_state"] in ("idle", "busy")
    listening = hub.listening()
    assert [s for s in listening if s[1] != "127.0.0.1"] == [], listening

    ports = hub.ports() + [port for _, _, port in listening]
    outlived = hub.stop()
    assert outlived == [], f"still running after the Hub stopped: {outlived}"
    assert [p for p in ports if hub_support.port_open(p)] == []
    assert hub.users.processes() == []
    assert course["course_id"] == "mnist-linear-algebra"
