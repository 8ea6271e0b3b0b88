"""The report's pictures, drawn with matplotlib and returned as ``data:`` URIs of PNGs, so a
page carries its pictures inside it (it can be mailed or archived as one file)."""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display: the report is written by commands and services
import matplotlib.pyplot as plt  # noqa: E402

from instructor.class_report.analysis import AssignmentAnalysis, PropertyStats  # noqa: E402
from instructor.class_report.ledger import OnSubmitStats  # noqa: E402

PASS, FAIL, WAIT, NOTE = "#4c9a2a", "#c8553d", "#8d99ae", "#f2a541"
DPI = 90


def png_uri(figure) -> str:
    """The figure as an embeddable PNG; the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(analysis: AssignmentAnalysis) -> str:
    """Autograded points per submission; beside it, the written answers still waiting for the
    formgrader's manual grading (their points are in no autograded score yet)."""
    subs = analysis.submissions
    scores = [s.auto_score for s in subs]
    top = analysis.records.max_score - analysis.records.written_max_score
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3), gridspec_kw={"width_ratios": [3, 1]})
    bins = max(1, min(int(round(top)) or 1, 30))
    left.hist(scores, bins=bins, range=(0, max(top, 1e-9)), color=PASS, edgecolor="white")
    left.set_xlabel(f"autograded points (of {top:g})")
    left.set_ylabel("submissions")
    left.set_title(f"{analysis.records.assignment}: score distribution ({len(subs)} submissions)", fontsize=10)
    pending = sum(s.written_pending > 0 for s in subs)
    done = sum(1 for s in subs if any(c.written for c in s.cells.values())) - pending
    right.bar(["none waiting", "waiting"], [done, pending], color=[PASS, WAIT])
    right.set_title(f"written answers ({analysis.records.written_max_score:g} pts)", fontsize=10)
    right.set_ylabel("submissions")
    return png_uri(figure)


def pass_rates(properties: list[PropertyStats]) -> str:
    """Each property's pass rate, hardest at the top; orange where it is a question to look at."""
    height = max(2.0, 0.28 * len(properties) + 0.8)
    figure, axes = plt.subplots(figsize=(9, height))
    labels = [p.test.removeprefix("test_").replace("_", " ")[:60] for p in properties]
    rates = [100 * p.pass_rate for p in properties]
    colours = [NOTE if p.concerns else PASS for p in properties]
    axes.barh(range(len(properties)), rates, color=colours)
    axes.set_yticks(range(len(properties)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of submissions passing (orange: a question to look at)")
    axes.set_title("properties, hardest first", fontsize=10)
    return png_uri(figure)


def discrimination(properties: list[PropertyStats]) -> str:
    """Pass rate against discrimination: the good questions sit high; a property low on the
    chart passes or fails regardless of how well the rest of the notebook went."""
    shown = [p for p in properties if p.discrimination is not None]
    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.scatter([100 * p.pass_rate for p in shown], [p.discrimination for p in shown],
                 c=[NOTE if p.concerns else PASS for p in shown], s=30)
    for p in shown:
        if p.concerns:
            axes.annotate(p.test.removeprefix("test_")[:30], (100 * p.pass_rate, p.discrimination), fontsize=7)
    axes.axhline(0.2, color=WAIT, linestyle="--", linewidth=1)
    axes.set_xlim(-2, 102)
    axes.set_ylim(-1.05, 1.05)
    axes.set_xlabel("% passing")
    axes.set_ylabel("correlation with the rest")
    axes.set_title("does each property separate strong from weak work?", fontsize=10)
    return png_uri(figure)


def grading_cost(analysis: AssignmentAnalysis) -> str:
    """Wall and CPU seconds per submission (the engine's count), as histograms."""
    figure, axes = plt.subplots(figsize=(6, 2.8))
    walls = [c.wall_seconds for c in analysis.costs]
    cpus = [c.cpu_seconds for c in analysis.costs]
    top = max(walls + cpus + [1e-9])
    axes.hist([walls, cpus], bins=20, range=(0, top), label=["wall", "CPU"], color=[WAIT, PASS])
    axes.set_xlabel("seconds per submission")
    axes.set_ylabel("submissions")
    axes.legend(fontsize=8)
    axes.set_title("grading cost", fontsize=10)
    return png_uri(figure)


def on_submit(stats: OnSubmitStats) -> str:
    """Did feedback help? The first graded submission's score against the last, per student."""
    pairs = stats.first_and_last()
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    firsts = [a for a, _ in pairs.values()]
    lasts = [b for _, b in pairs.values()]
    left.scatter(firsts, lasts, color=PASS, s=25)
    top = max(firsts + lasts + [1.0])
    left.plot([0, top], [0, top], color=WAIT, linestyle="--", linewidth=1)
    left.set_xlabel("first graded submission")
    left.set_ylabel("last graded submission")
    left.set_title(f"score, first vs last ({len(pairs)} students)", fontsize=10)
    seconds = [e.seconds_to_feedback for e in stats.entries if e.seconds_to_feedback is not None]
    right.hist(seconds or [0], bins=20, color=WAIT)
    right.set_xlabel("seconds from submit to feedback")
    right.set_ylabel("submissions")
    right.set_title("time to feedback", fontsize=10)
    return png_uri(figure)
