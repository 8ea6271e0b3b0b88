"""Write the class report of a course's assignments: read, analyse, write pages and CSVs."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from tqdm import tqdm

from instructor.class_report import tables
from instructor.class_report.analysis import AssignmentAnalysis, analyse
from instructor.class_report.ledger import read_ledger
from instructor.class_report.pages import StudentLink, assignment_page, overview_page
from instructor.class_report.records import read_assignment

REPORTS = "reports"  # the report's folder in the course folder (the Hub's report service serves it)
INDEX = "index.html"


def gradebook_assignments(db_url: str) -> list[str]:
    """Every assignment in the gradebook, in its order (the default: report on all)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return sorted(a.name for a in gb.assignments)


def student_link(coursedir, assignment: str, notebooks: list[str], out: Path, notebook_ids: dict,
                 formgrader_url: str | None) -> StudentLink:
    """How a page links a student: the formgrader's page of their notebook when its address is
    given, else their feedback file relative to the report (when it was generated)."""
    def link(student: str) -> str:
        ids = notebook_ids.get(student) or {}
        if formgrader_url and ids:
            return f"{formgrader_url.rstrip('/')}/submission/{ids[sorted(ids)[0]]}"
        for notebook in notebooks:
            path = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment)) / f"{notebook}.html"
            if path.exists():
                return os.path.relpath(path, out)
        return ""
    return link


def report_assignment(coursedir, db_url: str, assignment: str, out: Path, formgrader_url: str | None,
                      progress: bool) -> tuple[AssignmentAnalysis, str]:
    """One assignment's page and CSVs in ``out``; returns its analysis and page's file name."""
    def bar(items):
        # Shown only when reading takes more than a moment (a large class on a slow disk).
        return tqdm(items, desc=f"class report {assignment}"[:40], unit="submission", file=sys.stderr,
                    delay=1.0, disable=not progress)

    records = read_assignment(coursedir, db_url, assignment, progress=bar)
    analysis = analyse(records)
    csvs = {}
    for name, rows in (("scores", tables.score_rows(analysis)), ("properties", tables.property_rows(analysis)),
                       ("groups", tables.group_rows(analysis)), ("needs-human", tables.needs_human_rows(analysis)),
                       ("cost", tables.cost_rows(analysis))):
        csvs[name] = tables.write_csv(out / f"{assignment}-{name}.csv", rows).name
    stats = read_ledger(Path(coursedir.root), assignment)
    if stats is not None:
        csvs["on-submit"] = tables.write_csv(out / f"{assignment}-on-submit.csv", tables.on_submit_rows(stats)).name
    ids = {s.student: s.notebook_ids for s in records.submissions.values()}
    link = student_link(coursedir, assignment, records.notebooks, out, ids, formgrader_url)
    name = f"{assignment}.html"
    (out / name).write_text(assignment_page(analysis, stats, link, csvs))
    return analysis, name


def write_reports(course: Path, assignments: list[str] | None = None, *, db_url: str | None = None,
                  out: Path | None = None, formgrader_url: str | None = None, progress: bool = True) -> Path:
    """The class report of ``assignments`` (default: every assignment in the gradebook) of the
    course in ``course``, in ``out`` (default ``<course>/reports``); returns the overview page."""
    from instructor.grade_class import course_api

    course = Path(course).resolve()
    api = course_api(str(course), db_url)
    url = db_url or api.coursedir.db_url
    out = Path(out or course / REPORTS)
    out.mkdir(parents=True, exist_ok=True)
    analyses, pages = [], {}
    for assignment in assignments or gradebook_assignments(url):
        analysis, name = report_assignment(api.coursedir, url, assignment, out, formgrader_url, progress)
        analyses.append(analysis)
        pages[assignment] = name
    tables.write_csv(out / "overview.csv", [tables.overview_row(a) for a in analyses])
    index = out / INDEX
    # Written last and replaced in one step: whoever serves the folder never shows half a report.
    partial = out / f".{INDEX}.tmp"
    partial.write_text(overview_page(analyses, pages))
    os.replace(partial, index)
    return index
