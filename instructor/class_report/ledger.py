"""What feedback on submit recorded: the service's ledger, ``<course>/onsubmit/ledger.json``.

``deploy/jupyterhub/feedback_service.py`` records each submission it saw, keyed by
student + assignment + timestamp: ``first_seen`` (its own clock, when the submission was
complete), ``status`` (graded, failed, refused, rejected), and for a graded one ``score``,
``max_score`` and ``graded_at`` (when the score was recorded, just before the feedback was
released). Enough to say how often each student submitted, how long feedback took, and
whether the first graded submission scored less than the last.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

LEDGER = Path("onsubmit") / "ledger.json"


@dataclass(frozen=True)
class OnSubmit:
    student: str
    first_seen: datetime
    status: str
    score: float | None = None
    max_score: float | None = None
    seconds_to_feedback: float | None = None  # first seen -> score recorded and feedback released


@dataclass
class OnSubmitStats:
    """Feedback on submit, for one assignment."""
    entries: list[OnSubmit]

    @property
    def students(self) -> list[str]:
        return sorted({e.student for e in self.entries})

    def per_student(self) -> dict[str, list[OnSubmit]]:
        by: dict[str, list[OnSubmit]] = {}
        for entry in sorted(self.entries, key=lambda e: e.first_seen):
            by.setdefault(entry.student, []).append(entry)
        return by

    def first_and_last(self) -> dict[str, tuple[float, float]]:
        """student -> (score of the first graded submission, of the last); students graded twice or more."""
        pairs = {}
        for student, entries in self.per_student().items():
            graded = [e for e in entries if e.status == "graded" and e.score is not None]
            if len(graded) >= 2:
                pairs[student] = (graded[0].score, graded[-1].score)
        return pairs

    def median_seconds_to_feedback(self) -> float | None:
        seconds = [e.seconds_to_feedback for e in self.entries if e.seconds_to_feedback is not None]
        return statistics.median(seconds) if seconds else None


def _time(text) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def read_ledger(course: Path, assignment: str) -> OnSubmitStats | None:
    """The ledger's entries for ``assignment``; None where feedback on submit never ran."""
    path = Path(course) / LEDGER
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    entries = []
    for record in records.values() if isinstance(records, dict) else []:
        if not isinstance(record, dict) or record.get("assignment") != assignment:
            continue
        seen = _time(record.get("first_seen") or record.get("updated"))
        if seen is None:
            continue
        graded_at = _time(record.get("graded_at")) if record.get("graded_at") else None
        score = record.get("score")
        entries.append(OnSubmit(str(record.get("student")), seen, str(record.get("status")),
                                float(score) if isinstance(score, (int, float)) else None,
                                float(record["max_score"]) if isinstance(record.get("max_score"), (int, float)) else None,
                                (graded_at - seen).total_seconds() if graded_at else None))
    return OnSubmitStats(entries) if entries else None
