"""The class report (issue 26) on a graded simulated class with known mistakes: each planted
mistake is one group holding exactly its students, pass rates are the gradebook's, flags are
listed; a class of 300 copied from it reports; and the tables' parts on records made by hand."""
from __future__ import annotations

import csv
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest

from autograder.engine.nbgrader_side.preprocessor import RESULTS_SUFFIX
from autograder.simulated_class import load_cases, solution_answers
from benchmarks.scaled_class import scale_class
from instructor import nbgrader_cli
from instructor.class_report import write_reports
from instructor.class_report.analysis import analyse, needs_human, point_biserial
from instructor.class_report.ledger import read_ledger
from instructor.class_report.records import AssignmentRecords, CellGrade, PropertyResult, Submission
from instructor.paths import notebook_of

ASSIGNMENT = "01_normalization"
# Each planted mistake under two or more students' names: a group must hold exactly them.
PLANTED = {"unbiased_std": ["ann", "bob"], "no_clamp": ["cat", "dan"], "per_image_stats": ["eve"]}
FLAGGED = "fay_ctypes"  # our solution with `import ctypes`: the source flags hold its checks


def planted_class(course: Path) -> list:
    cases = {c.name: c for c in load_cases(ASSIGNMENT)}
    source = nbformat.read(notebook_of(ASSIGNMENT, course), as_version=4)
    flagged = dataclasses.replace(cases["solution"], name=FLAGGED, kind="attack", full=True, answers={
        "mean_std_answer": "import ctypes\n" + solution_answers(source)["mean_std_answer"]})
    copies = [dataclasses.replace(cases[mistake], name=student) for mistake, students in PLANTED.items()
              for student in students]
    return [cases["solution"], cases["blank"], *copies, flagged]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, generated_course):
    """The class graded once with plain ``nbgrader autograde``, its feedback generated, reported."""
    course = nbgrader_cli.copy_course(generated_course, tmp_path_factory.mktemp("class-report") / "course")
    cases = planted_class(course)
    nbgrader_cli.submit_class(course, ASSIGNMENT, cases)
    output = nbgrader_cli.autograde(course, ASSIGNMENT, [c.name for c in cases])
    nbgrader_cli.generate_feedback(course, ASSIGNMENT)
    index = write_reports(course, [ASSIGNMENT], progress=False)
    return course, cases, index, output


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_each_planted_mistake_is_one_group_with_exactly_its_students(graded):
    course, cases, index, output = graded
    groups = read_csv(index.parent / f"{ASSIGNMENT}-groups.csv")
    by_case = {c.name: c for c in load_cases(ASSIGNMENT)}
    planted_sets = {frozenset(students) for students in PLANTED.values()}
    for mistake, students in PLANTED.items():
        for cell in by_case[mistake].fails:  # the property the mistake breaks
            found = [g for g in groups if g["cell"] == cell and set(g["students"].split()) == set(students)]
            assert found, f"{mistake}: no group on cell {cell} holding exactly {students}:\n{groups}\n{output[-2000:]}"
            assert all(g["smallest_input"] for g in found), found
    for group in groups:  # no group splits a planted mistake's students or mixes two mistakes
        members = frozenset(group["students"].split())
        assert members in planted_sets or members == {"blank"}, group


def test_pass_rates_equal_the_gradebooks(graded):
    course, cases, index, _ = graded
    grades = nbgrader_cli.read_grades(course, ASSIGNMENT)
    properties = read_csv(index.parent / f"{ASSIGNMENT}-properties.csv")
    assert properties and len(grades) == len(cases)
    for row in properties:
        cell = row["cell"]
        full = [g.cells[cell][0] == g.cells[cell][1] for g in grades.values()]
        assert float(row["cell_pass_rate"]) == pytest.approx(sum(full) / len(full), abs=1e-3), row
        # the engine's verdicts agree with the gradebook: a cell has its points when all its properties pass
        cell_tests = [p for p in properties if p["cell"] == cell]
        assert float(row["pass_rate"]) >= float(row["cell_pass_rate"]) - 1e-3, (row, cell_tests)
    rates = [float(p["pass_rate"]) for p in properties]
    assert rates == sorted(rates), "hardest first"
    scores = {r["student"]: float(r["auto_score"]) for r in read_csv(index.parent / f"{ASSIGNMENT}-scores.csv")}
    assert scores == {student: g.auto_score for student, g in grades.items()}


def test_flags_and_what_needs_a_human_are_listed(graded):
    _, _, index, _ = graded
    rows = read_csv(index.parent / f"{ASSIGNMENT}-needs-human.csv")
    flagged = [r for r in rows if r["student"] == FLAGGED]
    assert {r["what"] for r in flagged} == {"flagged", "held for manual grading"}, rows
    assert any("ctypes" in r["reason"] for r in flagged), flagged
    assert {r["student"] for r in rows} == {FLAGGED}, "no honest submission needs a human"


def test_pages_are_self_contained_and_the_results_stay_out_of_feedback(graded):
    course, cases, index, _ = graded
    page = (index.parent / f"{ASSIGNMENT}.html").read_text()
    assert f'href="{ASSIGNMENT}.html"' in index.read_text()
    assert page.count('src="data:image/png;base64,') >= 4
    assert not re.search(r'src="(?!data:)', page), "every picture is embedded"
    assert "population standard deviation" in page  # the sentence the student reads
    assert "../feedback/ann/01_normalization/normalization.html" in page  # each student links to their feedback
    for case in cases:
        assert (course / "autograded" / case.name / ASSIGNMENT / f"normalization{RESULTS_SUFFIX}").is_file()
    assert list((course / "feedback").rglob(f"*{RESULTS_SUFFIX}")) == [], "grader-written: never in feedback"
    assert list((course / "submitted").rglob(f"*{RESULTS_SUFFIX}")) == []


def test_a_class_of_300_copied_from_it_reports(graded, tmp_path):
    course, cases, _, _ = graded
    big = nbgrader_cli.copy_course(course, tmp_path / "course")
    scale_class(f"sqlite:///{big / 'gradebook.db'}", big, ASSIGNMENT, 300)
    index = write_reports(big, [ASSIGNMENT], out=tmp_path / "reports", progress=False)
    scores = read_csv(index.parent / f"{ASSIGNMENT}-scores.csv")
    assert len(scores) == 300 + len(cases)
    groups = read_csv(index.parent / f"{ASSIGNMENT}-groups.csv")
    ann = [g for g in groups if "ann" in g["students"].split()]
    copies_of_ann = [s["student"] for s in scores if s["student"].endswith("_ann")]
    assert ann and all(int(g["count"]) == 2 * (1 + len(copies_of_ann)) for g in ann), ann[:1]


# ----------------------------------------------------------------------------- parts, on records made by hand
def submission(student: str, results: list[PropertyResult], **fields) -> Submission:
    cells = {r.cell: CellGrade(float(r.passed), 1.0, False, False) for r in results}
    return Submission(student, cells=cells, results=results, cpu_seconds=1.0, wall_seconds=2.0, **fields)


def test_timeouts_budgets_judge_failures_and_crashed_cells_need_a_human():
    slow = PropertyResult("test_a", "a", "a holds", False, "f did not finish within 5 seconds (an infinite loop?)")
    budget = PropertyResult("test_b", "b", "b holds", False, "this notebook's grading budget (30 CPU-seconds / 60 "
                            "seconds across all calls of your code) ran out")
    records = AssignmentRecords("x", ["nb"], {
        "slow": submission("slow", [slow]), "spent": submission("spent", [budget], budget_spent=True),
        "judge": submission("judge", [], judge_failed="the judge stopped"),
        "crash": submission("crash", [], cell_errors={"a_answer": "CellCrashed: os._exit"})},
        ungradeable={"broken": "handed in, but nbgrader recorded no grade"})
    found = {(n.student, n.what) for n in needs_human(records)}
    assert found == {("slow", "timeout"), ("spent", "budget"), ("judge", "judge failed"),
                     ("crash", "answer cell crashed"), ("broken", "not graded")}


def test_discrimination_flags_properties_that_do_not_separate():
    assert point_biserial([True, True, False, False], [1.0, 0.9, 0.1, 0.0]) == pytest.approx(0.99, abs=0.01)
    assert point_biserial([True, True, True], [1.0, 0.5, 0.0]) is None  # everyone passed: undefined
    results = lambda good, odd: [PropertyResult(f"test_{i}", f"c{i}", "", good) for i in range(4)] + [  # noqa: E731
        PropertyResult("test_odd", "odd", "odd", odd)]
    subs = {f"s{i}": submission(f"s{i}", results(i < 5, i in (0, 1, 5, 6))) for i in range(10)}
    analysis = analyse(AssignmentRecords("x", ["nb"], subs, {}))
    odd = next(p for p in analysis.properties if p.test == "test_odd")
    assert "does not separate strong from weak submissions" in odd.concerns


def test_feedback_on_submit_is_read_from_the_services_ledger(tmp_path):
    start = datetime(2025, 1, 1, tzinfo=UTC)

    def entry(student, minutes, score, status="graded"):
        seen = start + timedelta(minutes=minutes)
        return {"student": student, "assignment": ASSIGNMENT, "first_seen": seen.isoformat(), "status": status,
                "score": score, "max_score": 21.0, "graded_at": (seen + timedelta(seconds=12)).isoformat()}

    ledger = {"k1": entry("ann", 0, 10.0), "k2": entry("ann", 30, 21.0), "k3": entry("bob", 5, 15.0),
              "k4": {**entry("bob", 9, None, status="refused"), "graded_at": None}}
    (tmp_path / "onsubmit").mkdir()
    (tmp_path / "onsubmit" / "ledger.json").write_text(json.dumps(ledger))
    stats = read_ledger(tmp_path, ASSIGNMENT)
    assert stats.first_and_last() == {"ann": (10.0, 21.0)}
    assert stats.median_seconds_to_feedback() == 12.0
    assert {s: len(e) for s, e in stats.per_student().items()} == {"ann": 2, "bob": 2}
    assert read_ledger(tmp_path, "02_reshape_slice") is None


def test_the_hub_service_serves_instructors_only_and_rewrites_after_any_grading(tmp_path):
    """The service's own checks, beside the Hub's role (tests/test_jupyterhub_browser.py): only an
    instructor of the course or an admin reads the report, and a report is stale once grading wrote
    after it: the SQLite gradebook, or a notebook's results file (all a PostgreSQL course writes here)."""
    import os
    import time

    from deploy.jupyterhub.report_service import is_instructor, report_is_stale

    assert is_instructor({"name": "teacher"}, {"teacher"}) and is_instructor({"name": "root", "admin": True}, set())
    assert not is_instructor({"name": "student1"}, {"teacher"}) and not is_instructor({}, {"teacher"})

    course, reports = tmp_path / "course", tmp_path / "course" / "reports"
    reports.mkdir(parents=True)
    assert not report_is_stale(course, reports)  # nothing graded: nothing to write
    results = course / "autograded" / "s1" / "01_normalization" / f"normalization{RESULTS_SUFFIX}"
    results.parent.mkdir(parents=True)
    results.write_text("{}")
    assert report_is_stale(course, reports)  # graded, no report yet
    (reports / "index.html").write_text("report")
    later = time.time() + 10
    os.utime(reports / "index.html", (later, later))
    assert not report_is_stale(course, reports)
    os.utime(results, (later + 10, later + 10))  # graded again, into PostgreSQL: only results files change
    assert report_is_stale(course, reports)
