"""The course in a real JupyterHub, end to end, on loopback.

Unix users for one instructor and two students; the deployment of deploy/jupyterhub
(setup_course.py, then JupyterHub with its configurable-http-proxy); then the loop, each
step through the Hub's REST API and the single-user servers' nbgrader endpoints, as the
Assignments tab and the formgrader's buttons do: the instructor generates and releases
01_normalization; each student fetches it, writes answers (one right, one wrong) and
submits; the instructor collects, autogrades with the course's grading engine, generates
and releases feedback; each student fetches feedback.

Needs root (CI runs as root); skipped otherwise.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.simulated_class import build_submission, load_cases
from instructor import nbgrader_cli
from tests import hub_support
from tests.hub_support import REPO

ASSIGNMENT = "01_normalization"
NOTEBOOK = "normalization.ipynb"
INSTRUCTOR, RIGHT, WRONG = "nbgt-teach", "nbgt-alice", "nbgt-bob"
CASES = {case.name: case for case in load_cases(ASSIGNMENT)}
# Alice hands in our solution; Bob uses torch's default (unbiased) standard deviation.
ANSWERS = {RIGHT: CASES["solution"], WRONG: CASES["unbiased_std"]}
ARTIFACTS = REPO / "build" / "test-artifacts"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: it creates unix users and starts "
                                "JupyterHub, whose servers run as them")


@pytest.fixture
def hub(mnist_dir):
    hub_support.require_root()
    hub_support.require_node_tools()
    # also when the test fails: every process stopped, users and files removed
    with hub_support.running_hub("jupyterhub_e2e", INSTRUCTOR, [RIGHT, WRONG], mnist_dir,
                                 setup_options=["--no-feedback-on-submit"]) as the_hub:
        yield the_hub


def _ok(answer: dict, what: str) -> dict:
    assert answer.get("success"), (f"{what} failed:\n{answer.get('log', '')[-6000:]}\n"
                                   f"{answer.get('error') or answer.get('value') or answer}")
    return answer


def _score_line(html: str) -> tuple[float, float]:
    found = re.search(r"Score: ([\d.]+) / ([\d.]+)", html)
    assert found, "no score in the feedback"
    return float(found.group(1)), float(found.group(2))


def test_release_fetch_submit_collect_autograde_feedback(hub, tmp_path):
    course = hub.course
    course_id, course_dir = course["course_id"], Path(course["course_dir"])
    assert course_id == "mnist-linear-algebra"
    hub.start_servers(INSTRUCTOR, RIGHT, WRONG)

    # Every server the test started listens on 127.0.0.1 only.
    listening = hub.listening()
    assert {port for _, _, port in listening} >= {hub.port, hub.proxy_api_port, hub.hub_port}
    assert [s for s in listening if s[1] != "127.0.0.1"] == [], listening
    # Only the instructor has the formgrader; students get the assignment list.
    teach = hub.session(INSTRUCTOR)
    students = {name: hub.session(name) for name in (RIGHT, WRONG)}
    assert teach.request("GET", "formgrader/api/assignments").status_code == 200
    for s in students.values():
        assert s.request("GET", "formgrader/api/assignments").status_code == 404
        assert s.request("GET", "assignments", params={"course_id": course_id}).status_code == 200

    # ---- the instructor generates and releases the assignment
    _ok(teach.formgrader("POST", f"assignment/{ASSIGNMENT}/assign"), "generate_assignment")
    _ok(teach.formgrader("POST", f"assignment/{ASSIGNMENT}/release"), "release_assignment")

    # ---- each student fetches it, writes answers, submits
    source_nb = nbformat.read(REPO / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    written = {}
    for name, s in students.items():
        listed = s.assignments(course_id)
        assert [(a["assignment_id"], a["status"]) for a in listed] == [(ASSIGNMENT, "released")]
        s.assignment_action("fetch", course_id, ASSIGNMENT)
        fetched = [a for a in s.assignments(course_id) if a["status"] == "fetched"]
        assert len(fetched) == 1, fetched
        path = f"{fetched[0]['path']}/{NOTEBOOK}"
        released = nbformat.from_dict(s.read(path)["content"])
        nb = build_submission(ANSWERS[name], source_nb, released)
        s.write_notebook(path, json.loads(nbformat.writes(nb)))
        written[name] = nb
        _ok(s.assignment_action("submit", course_id, ASSIGNMENT), f"submit by {name}")
        submitted = [a for a in s.assignments(course_id) if a["status"] == "submitted"]
        assert len(submitted) == 1 and len(submitted[0]["submissions"]) == 1, submitted

    # ---- the instructor collects, autogrades, generates and releases feedback
    _ok(teach.formgrader("POST", f"assignment/{ASSIGNMENT}/collect"), "collect")
    for name in students:
        collected = nbformat.read(course_dir / "submitted" / name / ASSIGNMENT / NOTEBOOK, as_version=4)
        assert [c.source for c in collected.cells] == [c.source for c in written[name].cells]
        _ok(teach.formgrader("POST", f"submission/{ASSIGNMENT}/{name}/autograde"), f"autograde {name}")
    _ok(teach.formgrader("POST", f"assignment/{ASSIGNMENT}/generate_feedback"), "generate_feedback")
    _ok(teach.formgrader("POST", f"assignment/{ASSIGNMENT}/release_feedback"), "release_feedback")

    hub_grades = nbgrader_cli.read_grades(course_dir, ASSIGNMENT)
    assert set(hub_grades) == {RIGHT, WRONG}
    # The formgrader shows the gradebook's totals.
    shown = {row["student"]: (row["score"], row["max_score"])
             for row in teach.formgrader("GET", f"submissions/{ASSIGNMENT}")}
    assert shown == {n: (g.score, g.max_score) for n, g in hub_grades.items()}
    # The right answers score every point; the wrong ones lose the property they break.
    for name, case in ANSWERS.items():
        assert nbgrader_cli.check_case(case, {case.name: hub_grades[name]}) == [], (name, hub_grades[name])
    # (the written questions at the end wait for the instructor's manual grading)
    assert hub_grades[RIGHT].auto_score == hub_grades[RIGHT].auto_max_score > hub_grades[WRONG].auto_score

    # ---- each student fetches feedback, which shows their own score
    for name, s in students.items():
        s.assignment_action("fetch_feedback", course_id, ASSIGNMENT)
        [entry] = [a for a in s.assignments(course_id) if a["status"] == "submitted"]
        [submission] = entry["submissions"]
        assert submission["has_local_feedback"] and submission["local_feedback_path"], submission
        html = s.read(f"{submission['local_feedback_path']}/{NOTEBOOK[:-6]}.html", type="file", format="text")
        html = html["content"]
        assert _score_line(html) == (hub_grades[name].score, hub_grades[name].max_score)
        assert ("✗" in html) == (name == WRONG)

    # ---- nobody reads what is not theirs
    _check_isolation(hub, course, course_dir)
    for name, s in students.items():
        other = WRONG if name == RIGHT else RIGHT
        as_me_there = hub.session(other, as_user=name)
        assert as_me_there.request("GET", "api/contents").status_code == 403
        at_teacher = hub.session(INSTRUCTOR, as_user=name)
        assert at_teacher.request("GET", f"formgrader/api/submissions/{ASSIGNMENT}").status_code == 403

    # ---- the same two notebooks, graded directly (plain `nbgrader autograde` as root)
    direct_course = nbgrader_cli.make_course(tmp_path / "direct")
    nbgrader_cli.generate(direct_course, ASSIGNMENT)
    for name in students:
        shutil.copytree(course_dir / "submitted" / name / ASSIGNMENT, direct_course / "submitted" / name / ASSIGNMENT)
    nbgrader_cli.autograde(direct_course, ASSIGNMENT, list(students))
    direct = nbgrader_cli.read_grades(direct_course, ASSIGNMENT)
    for name in students:
        assert hub_grades[name].cells == direct[name].cells, name
        assert (hub_grades[name].score, hub_grades[name].max_score) == (direct[name].score, direct[name].max_score)
    (ARTIFACTS).mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "jupyterhub_e2e_grades.json").write_text(json.dumps(
        {name: {"hub": [hub_grades[name].score, hub_grades[name].max_score],
                "direct": [direct[name].score, direct[name].max_score]} for name in students}, indent=2))

    # ---- the Hub stops, and with it every process it started
    ports = hub.ports() + [port for _, _, port in hub.listening()]
    outlived = hub.stop()
    assert outlived == [], f"still running after the Hub stopped: {outlived}"
    assert [p for p in ports if hub_support.port_open(p)] == []
    assert hub.users.processes() == []


def _check_isolation(hub: hub_support.Hub, course: dict, course_dir: Path) -> None:
    """As each student (their uid, no extra groups): the other's work, the exchange's inbox
    and the instructor's course folder are closed; their own work and the data are open."""
    exchange = Path(course["exchange"]) / course["course_id"]
    data_file = next(Path(course["data_dir"]).glob("*.gz"))
    hidden = next((course_dir / "autograder" / "hidden" / ASSIGNMENT).glob("*.py"))
    for name, other in ((RIGHT, WRONG), (WRONG, RIGHT)):
        mine, theirs = hub.users.home(name), hub.users.home(other)
        paths = {
            "own notebook": mine / ASSIGNMENT / NOTEBOOK,
            "the data": data_file,
            "the released assignment": exchange / "outbound" / ASSIGNMENT / NOTEBOOK,
            "other's home": theirs,
            "other's notebook": theirs / ASSIGNMENT / NOTEBOOK,
            "other's feedback": next((theirs / ASSIGNMENT / "feedback").rglob("*.html")),
            "the exchange's inbox": exchange / "inbound",
            "the exchange's feedback": exchange / "feedback",
            "the course folder": course_dir,
            "course_config.py": course_dir / "course_config.py",
            "the gradebook": course_dir / "gradebook.db",
            "the hidden tests": hidden,
            "the sources": course_dir / "source" / ASSIGNMENT / NOTEBOOK,
            "the collected submissions": course_dir / "submitted" / other / ASSIGNMENT / NOTEBOOK,
        }
        found = hub_support.access_as(hub, name, Path(course["python_bin"]) / "python", paths)
        expected = {label: "allowed" if label in ("own notebook", "the data", "the released assignment")
                    else "denied" for label in paths}
        assert found == expected, f"as {name}: {found}"

