"""Reading the course's source notebooks (``source/<assignment>/``) as nbgrader marks them.

Used by the release (which executes our solutions) and by the simulated class (which
hands them in), so both read the solution regions the same way.
"""
from __future__ import annotations

import re

_SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def solution_source(cell_source: str) -> str:
    """An answer cell's source with nbgrader's solution markers removed: our solution."""
    return _SOLUTION_MARKER.sub("", cell_source)
