"""The report's tables as rows, and as CSV files: the HTML pages show these same rows."""
from __future__ import annotations

import csv
from pathlib import Path

from instructor.class_report.analysis import AssignmentAnalysis
from instructor.class_report.ledger import OnSubmitStats

Row = dict[str, object]


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def property_rows(analysis: AssignmentAnalysis) -> list[Row]:
    return [{"test": p.test, "cell": p.cell, "property": p.sentence, "graded": p.graded, "passed": p.passed,
             "pass_rate": _rate(p.pass_rate), "cell_pass_rate": _rate(p.cell_pass_rate),
             "discrimination": _rate(p.discrimination), "concerns": "; ".join(p.concerns)}
            for p in analysis.properties]


def group_rows(analysis: AssignmentAnalysis) -> list[Row]:
    return [{"test": g.test, "cell": g.cell, "count": g.count, "message": g.message, "smallest_input": g.example,
             "expected": g.expected, "got": g.got, "students": " ".join(g.students)} for g in analysis.groups]


def needs_human_rows(analysis: AssignmentAnalysis) -> list[Row]:
    return [{"student": n.student, "what": n.what, "reason": n.reason} for n in analysis.needs_human]


def cost_rows(analysis: AssignmentAnalysis) -> list[Row]:
    return [{"student": c.student, "wall_seconds": f"{c.wall_seconds:.2f}", "cpu_seconds": f"{c.cpu_seconds:.2f}"}
            for c in analysis.costs]


def score_rows(analysis: AssignmentAnalysis) -> list[Row]:
    return [{"student": s.student, "auto_score": f"{s.auto_score:g}", "auto_max_score": f"{s.auto_max_score:g}",
             "score": f"{s.score:g}", "written_pending": s.written_pending, "flagged": int(s.flagged),
             "properties_failed": sum(not r.passed for r in s.results or []),
             "cpu_seconds": "" if s.cpu_seconds is None else f"{s.cpu_seconds:.2f}",
             "wall_seconds": "" if s.wall_seconds is None else f"{s.wall_seconds:.2f}"} for s in analysis.submissions]


def on_submit_rows(stats: OnSubmitStats | None) -> list[Row]:
    if stats is None:
        return []
    pairs = stats.first_and_last()
    rows = []
    for student, entries in stats.per_student().items():
        graded = [e for e in entries if e.status == "graded"]
        waits = [e.seconds_to_feedback for e in graded if e.seconds_to_feedback is not None]
        first, last = pairs.get(student, (None, None))
        rows.append({"student": student, "submissions": len(entries), "graded": len(graded),
                     "median_seconds_to_feedback": f"{sorted(waits)[len(waits) // 2]:.1f}" if waits else "",
                     "first_score": "" if first is None else f"{first:g}",
                     "last_score": "" if last is None else f"{last:g}"})
    return rows


def overview_row(analysis: AssignmentAnalysis) -> Row:
    subs = analysis.submissions
    scores = sorted(s.auto_score for s in subs)
    hardest = analysis.properties[0] if analysis.properties else None
    return {"assignment": analysis.records.assignment, "submissions": len(subs),
            "mean_auto_score": f"{sum(scores) / len(scores):.2f}" if scores else "",
            "median_auto_score": f"{scores[len(scores) // 2]:g}" if scores else "",
            "auto_max_score": f"{analysis.records.max_score - analysis.records.written_max_score:g}",
            "hardest_property": hardest.test if hardest else "",
            "hardest_pass_rate": _rate(hardest.pass_rate) if hardest else "",
            "questions_to_look_at": sum(bool(p.concerns) for p in analysis.properties),
            "needs_human": len({n.student for n in analysis.needs_human}),
            "written_pending": sum(s.written_pending > 0 for s in subs)}


def write_csv(path: Path, rows: list[Row]) -> Path:
    """``rows`` as CSV (a header line even when there are none, if a row shape is known)."""
    with open(path, "w", newline="") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path
