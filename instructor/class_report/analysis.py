"""What the class got wrong, computed from the records: the report's tables, as plain values.

- per property: its pass rate, and how well passing it separates strong from weak
  submissions (the point-biserial correlation of passing it with the share of the *other*
  properties passed; a property almost everyone fails, or one that does not correlate with the
  rest, is a question to look at);
- per failed property: the failures grouped by (message, smallest failing input): the same
  message on the same shrunk input across many students is one misconception;
- what needs a human: flagged submissions, held check cells, judge failures, timeouts,
  budgets run out, answer cells that crashed, notebooks that could not be graded;
- grading cost per submission, slowest first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from instructor.class_report.records import AssignmentRecords, PropertyResult, Submission

# Below this pass rate a property is one "almost everyone fails"; above the other, one almost
# everyone passes (it teaches little). A correlation under WEAK separates strong from weak work
# no better than chance would, at class sizes of a few dozen.
HARD_PASS_RATE = 0.1
EASY_PASS_RATE = 0.95
WEAK_CORRELATION = 0.2


@dataclass
class PropertyStats:
    test: str
    cell: str
    sentence: str
    graded: int  # submissions with a verdict on it
    passed: int
    discrimination: float | None  # point-biserial correlation; None where it is undefined
    cell_pass_rate: float | None = None  # the gradebook's: share of submissions with the cell's full points

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0

    @property
    def concerns(self) -> list[str]:
        said = []
        if self.graded and self.pass_rate < HARD_PASS_RATE:
            said.append("almost everyone fails it")
        elif self.graded and self.pass_rate > EASY_PASS_RATE:
            said.append("almost everyone passes it")
        if self.discrimination is not None and self.discrimination < WEAK_CORRELATION \
                and self.pass_rate <= EASY_PASS_RATE:
            said.append("does not separate strong from weak submissions")
        return said


@dataclass
class FailureGroup:
    """Students whose function failed one property with the same message on the same smallest input."""
    test: str
    cell: str
    sentence: str
    message: str
    example: str
    expected: str
    got: str
    students: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.students)


@dataclass
class NeedsHuman:
    student: str
    what: str  # flagged | held | judge failed | timeout | budget | cell crashed | not graded
    reason: str


@dataclass
class Cost:
    student: str
    cpu_seconds: float
    wall_seconds: float


@dataclass
class AssignmentAnalysis:
    records: AssignmentRecords
    properties: list[PropertyStats]
    groups: list[FailureGroup]
    needs_human: list[NeedsHuman]
    costs: list[Cost]

    @property
    def submissions(self) -> list[Submission]:
        return [self.records.submissions[s] for s in sorted(self.records.submissions)]


def point_biserial(passed: list[bool], rest: list[float]) -> float | None:
    """The correlation of a 0/1 variable with a continuous one (Pearson's r on them); None when
    either does not vary (everyone passed, say)."""
    n = len(passed)
    if n < 3:
        return None
    x = [1.0 if p else 0.0 for p in passed]
    mx, my = sum(x) / n, sum(rest) / n
    sxx = sum((v - mx) ** 2 for v in x)
    syy = sum((v - my) ** 2 for v in rest)
    if sxx == 0 or syy == 0:
        return None
    return sum((a - mx) * (b - my) for a, b in zip(x, rest)) / math.sqrt(sxx * syy)


def property_stats(submissions: list[Submission]) -> list[PropertyStats]:
    """Every graded property, hardest first (lowest pass rate; ties in course order)."""
    graded = [s for s in submissions if s.results]
    order: dict[str, PropertyResult] = {}
    for submission in graded:
        for result in submission.results:
            order.setdefault(result.test, result)
    verdicts = {s.student: {r.test: r.passed for r in s.results} for s in graded}
    stats = []
    for test, first in order.items():
        having = [s for s in graded if test in verdicts[s.student]]
        passed = [verdicts[s.student][test] for s in having]
        # The rest of the score: the share of the submission's other properties passed.
        rest = [(sum(verdicts[s.student].values()) - verdicts[s.student][test]) / max(len(verdicts[s.student]) - 1, 1)
                for s in having]
        full = [s.cells[first.cell].score >= s.cells[first.cell].max_score for s in submissions if first.cell in s.cells]
        stats.append(PropertyStats(test, first.cell, first.sentence, len(having), sum(passed),
                                   point_biserial(passed, rest), sum(full) / len(full) if full else None))
    position = {test: index for index, test in enumerate(order)}
    return sorted(stats, key=lambda p: (p.pass_rate, position[p.test]))


def failure_groups(submissions: list[Submission]) -> list[FailureGroup]:
    """Failures grouped by (property, message, smallest failing input), largest group first."""
    groups: dict[tuple[str, str, str], FailureGroup] = {}
    for submission in submissions:
        for r in submission.results or []:
            if r.passed:
                continue
            key = (r.test, r.message, r.example)
            group = groups.get(key)
            if group is None:
                group = groups[key] = FailureGroup(r.test, r.cell, r.sentence, r.message, r.example, r.expected, r.got)
            group.students.append(submission.student)
    return sorted(groups.values(), key=lambda g: (-g.count, g.test, g.message))


def needs_human(records: AssignmentRecords) -> list[NeedsHuman]:
    """Every submission a person should look at, with the reason."""
    found = []
    for student in sorted(records.submissions):
        s = records.submissions[student]
        if s.flagged:
            reasons = " | ".join(r.replace("\n", "; ") for r in s.flag_reasons) or "flagged in the formgrader"
            found.append(NeedsHuman(student, "flagged", reasons))
        if s.held_cells:
            found.append(NeedsHuman(student, "held for manual grading", ", ".join(s.held_cells)))
        if s.judge_failed:
            found.append(NeedsHuman(student, "judge failed", s.judge_failed))
        timed_out = [r for r in s.results or [] if r.timed_out and not r.budget_spent]
        if timed_out:
            found.append(NeedsHuman(student, "timeout", f"{len(timed_out)} properties: {timed_out[0].message}"))
        if s.budget_spent or any(r.budget_spent for r in s.results or []):
            spent = [r for r in s.results or [] if r.budget_spent]
            found.append(NeedsHuman(student, "budget", spent[0].message if spent else "the notebook's grading budget "
                                    "ran out"))
        for cell, error in sorted(s.cell_errors.items()):
            found.append(NeedsHuman(student, "answer cell crashed", f"{cell}: {error}"))
    for student, reason in records.ungradeable.items():
        found.append(NeedsHuman(student, "not graded", reason))
    return found


def costs(submissions: list[Submission]) -> list[Cost]:
    """Grading cost per submission (the engine's count), slowest (wall) first."""
    found = [Cost(s.student, s.cpu_seconds or 0.0, s.wall_seconds or 0.0)
             for s in submissions if s.cpu_seconds is not None]
    return sorted(found, key=lambda c: (-c.wall_seconds, c.student))


def analyse(records: AssignmentRecords) -> AssignmentAnalysis:
    submissions = [records.submissions[s] for s in sorted(records.submissions)]
    return AssignmentAnalysis(records, property_stats(submissions), failure_groups(submissions),
                              needs_human(records), costs(submissions))
