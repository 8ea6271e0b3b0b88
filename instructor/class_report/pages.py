"""The report's HTML: one self-contained page per assignment and a course overview.

Everything a page shows is in it (styles inline, pictures as ``data:`` PNGs), so it can be
mailed or archived; the only links out are to each student's feedback (relative to the
report's folder, when the course's feedback folder has it) or formgrader page (when the
formgrader's address is given), and to the CSVs beside it.
"""
from __future__ import annotations

import html
import time
from collections.abc import Callable

from instructor.class_report import figures, tables
from instructor.class_report.analysis import AssignmentAnalysis
from instructor.class_report.ledger import OnSubmitStats

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { text-align: left; vertical-align: top; padding: 4px 6px; border-bottom: 1px solid #eee; }
th { background: #f6f6f6; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.85em; max-height: 12em; overflow: auto; }
.rate { white-space: nowrap; }
.bar { background: #eee; width: 120px; height: 12px; display: inline-block; vertical-align: middle; }
.bar span { background: #4c9a2a; height: 12px; display: block; }
.concern { color: #b5651d; font-weight: 600; }
.muted { color: #777; font-size: 0.85em; }
.group { border: 1px solid #ddd; border-radius: 4px; padding: 8px; margin: 8px 0; }
img { max-width: 100%; }
"""

StudentLink = Callable[[str], str]  # student -> an href ("" for none)


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: list[str]) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body)
            + f"\n<p class=\"muted\">Written {stamp} by instructor.class_report.</p></body></html>\n")


def table(rows: list[dict], cells: dict[str, Callable[[dict], str]] | None = None) -> str:
    """An HTML table of ``rows``; ``cells`` renders chosen columns (HTML), the rest are escaped text."""
    if not rows:
        return "<p class=\"muted\">none</p>"
    cells = cells or {}
    head = "".join(f"<th>{escape(key)}</th>" for key in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{cells[k](row) if k in cells else escape(row[k])}</td>" for k in row)
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar(rate: float) -> str:
    return (f"<span class=\"rate\"><span class=\"bar\"><span style=\"width:{100 * rate:.0f}%\"></span></span> "
            f"{100 * rate:.0f}%</span>")


def students_html(students: list[str], link: StudentLink) -> str:
    return ", ".join(f"<a href=\"{escape(link(s))}\">{escape(s)}</a>" if link(s) else escape(s) for s in students)


def properties_section(analysis: AssignmentAnalysis) -> list[str]:
    rows = [{"property": p.sentence, "cell": p.cell, "pass rate": p.pass_rate, "passed": f"{p.passed} / {p.graded}",
             "discrimination": "" if p.discrimination is None else f"{p.discrimination:.2f}",
             "look at": "; ".join(p.concerns)} for p in analysis.properties]
    pictures = [f"<img alt=\"pass rates\" src=\"{figures.pass_rates(analysis.properties)}\">",
                f"<img alt=\"discrimination\" src=\"{figures.discrimination(analysis.properties)}\">"
                ] if analysis.properties else []
    return ["<h2 id=\"properties\">Every graded property, hardest first</h2>",
            "<p>The pass rate of each hidden property, the sentence the student reads, and its discrimination: the "
            "correlation of passing it with the share of the other properties passed. A property almost everyone "
            "fails, or one that does not correlate with the rest, is a question to look at.</p>",
            table(rows, {"pass rate": lambda r: bar(r["pass rate"]),
                         "look at": lambda r: f"<span class=\"concern\">{escape(r['look at'])}</span>"}),
            *pictures]


def groups_section(analysis: AssignmentAnalysis, link: StudentLink) -> list[str]:
    out = ["<h2 id=\"groups\">What the class got wrong</h2>",
           "<p>For each failed property, the failures grouped: the same message on the same smallest failing input "
           "is one group (one misconception), largest first.</p>"]
    by_test: dict[str, list] = {}
    for group in analysis.groups:
        by_test.setdefault(group.test, []).append(group)
    for p in analysis.properties:
        groups = by_test.get(p.test)
        if not groups:
            continue
        out.append(f"<h3>{escape(p.sentence)} <span class=\"muted\">({escape(p.test)}, cell {escape(p.cell)}: "
                   f"{p.graded - p.passed} failed in {len(groups)} group(s))</span></h3>")
        for g in groups:
            values = "".join(f"<tr><th>{label}</th><td><pre>{escape(value)}</pre></td></tr>"
                             for label, value in (("smallest input", g.example), ("expected", g.expected),
                                                  ("got", g.got)) if value)
            out.append(f"<div class=\"group\"><b>{g.count} student(s)</b><pre>{escape(g.message)}</pre>"
                       f"<table>{values}</table><p>{students_html(g.students, link)}</p></div>")
    return out


def on_submit_section(stats: OnSubmitStats | None) -> list[str]:
    out = ["<h2 id=\"onsubmit\">Feedback on submit</h2>"]
    if stats is None:
        return out + ["<p class=\"muted\">Feedback on submit did not run for this assignment (no entries in "
                      "onsubmit/ledger.json).</p>"]
    pairs = stats.first_and_last()
    better = sum(last > first for first, last in pairs.values())
    median = stats.median_seconds_to_feedback()
    out.append(f"<p>{len(stats.entries)} submissions from {len(stats.students)} students; median time from "
               f"submit to feedback {'' if median is None else f'{median:.0f} s'}; of {len(pairs)} students graded "
               f"twice or more, {better} scored more on their last graded submission than on their first.</p>")
    if pairs or any(e.seconds_to_feedback is not None for e in stats.entries):
        out.append(f"<img alt=\"feedback on submit\" src=\"{figures.on_submit(stats)}\">")
    return out + [table(tables.on_submit_rows(stats))]


def assignment_page(analysis: AssignmentAnalysis, stats: OnSubmitStats | None, link: StudentLink,
                    csvs: dict[str, str], slowest: int = 20) -> str:
    records = analysis.records
    subs = analysis.submissions
    pending = sum(s.written_pending > 0 for s in subs)
    body = [f"<h1>Class report: {escape(records.assignment)}</h1>",
            "<p><a href=\"index.html\">course overview</a> · "
            + " · ".join(f"<a href=\"{escape(path)}\">{escape(name)}.csv</a>" for name, path in csvs.items()) + "</p>",
            f"<p>{len(subs)} graded submissions; {len(records.ungradeable)} handed in but not graded; "
            f"{len({n.student for n in analysis.needs_human})} need a human look.</p>",
            "<h2 id=\"scores\">Scores</h2>"]
    if subs:
        body.append(f"<img alt=\"score distribution\" src=\"{figures.score_histogram(analysis)}\">")
    body.append(f"<p>Autograded points only; {pending} submission(s) have written answers still waiting for "
                "manual grading in the formgrader (shown apart: their points are in no score yet).</p>")
    body += properties_section(analysis)
    body += groups_section(analysis, link)
    body += ["<h2 id=\"human\">What needs a human</h2>",
             "<p>Submissions flagged by the source flags (their held check cells wait in the formgrader's manual "
             "grading), judge failures, timeouts, budgets run out, answer cells that crashed, notebooks that could "
             "not be graded.</p>",
             table(tables.needs_human_rows(analysis),
                   {"student": lambda r: students_html([str(r["student"])], link)})]
    body += on_submit_section(stats)
    body += ["<h2 id=\"cost\">Grading cost</h2>"]
    if analysis.costs:
        body.append(f"<img alt=\"grading cost\" src=\"{figures.grading_cost(analysis)}\">")
        body.append(f"<p>The {min(slowest, len(analysis.costs))} slowest of {len(analysis.costs)} "
                    f"(all in the CSV):</p>")
    body.append(table(tables.cost_rows(analysis)[:slowest]))
    return page(f"{records.assignment}: class report", body)


def overview_page(analyses: list[AssignmentAnalysis], pages: dict[str, str]) -> str:
    rows = [tables.overview_row(a) for a in analyses]
    body = ["<h1>Class report: the course</h1>",
            "<p>One page per assignment; <a href=\"overview.csv\">overview.csv</a> holds this table.</p>",
            table(rows, {"assignment": lambda r: f"<a href=\"{escape(pages[str(r['assignment'])])}\">"
                                                 f"{escape(r['assignment'])}</a>"})]
    return page("class report", body)
