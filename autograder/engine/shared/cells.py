"""A cell of a submission as the grading worker runs it: its id and source. Plain data, so
that the nbgrader side can hand cells over without importing what the judge and the worker need
(torch, the wire format): the nbgrader process never imports torch."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Cell:
    id: str
    source: str
