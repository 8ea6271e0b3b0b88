"""What bounds one submission's grading: one typed value, from course_config.py to the worker.

Used on every side, so it imports nothing of the engine: nbgrader's side builds it once
from ``c.GradeWithHiddenTests.limits`` (``Limits.from_overrides``, which names an unknown
field, a wrong type or a value that is not positive), hands it to the judge in the
submission file (``to_dict``/``from_dict``), and the judge hands it to the worker on its
command line (``to_json``/``from_json``): the same field names all the way. The defaults
below are the only ones.
"""
from __future__ import annotations

import dataclasses
import difflib
import json

MAX_EXAMPLES = 40  # hypothesis examples per property; course_config.py may override

# Where the fields that are not limits come from (course_config.py sets them by their own names).
SET_ELSEWHERE = {
    "sandbox": "c.GradeWithHiddenTests.allow_unsandboxed (and whether this machine can build a sandbox)",
    "readable_paths": "c.GradeWithHiddenTests.readable_paths",
}


class LimitsError(ValueError):
    """A limit that cannot be used: an unknown field, a wrong type or a value that is not positive."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Everything that bounds one submission's grading; course_config.py overrides fields
    by name in ``c.GradeWithHiddenTests.limits``."""
    call_seconds: float = 10.0        # wall clock for one call
    cpu_seconds: float = 20.0         # CPU time for one call (all threads)
    cells_seconds: float = 60.0       # wall clock (and CPU time) to run all answer cells
    memory_bytes: int = 3 << 30       # the worker's address space
    file_bytes: int = 16 << 20        # one file written by student code
    tmp_bytes: int = 256 << 20        # the worker's private /tmp (memory-backed)
    shm_bytes: int = 64 << 20         # the worker's private /dev/shm
    open_files: int = 256
    processes: int = 64               # processes and threads of one worker
    threads: int = 1                  # torch's and OpenMP's threads in the worker
    reply_bytes: int = 256 << 20      # the most the judge reads of one reply
    reply_elements: int = 1 << 26     # the most tensor elements one reply may describe
    # One notebook's grading budget, across all its calls and the runs of its answer cells (README,
    # "Limits"): counted by the judge, CPU from /proc for the worker's processes. Spent, every
    # further call fails at once with a message saying so.
    # Defaults: about five times our most expensive solution's (06: 6.2 CPU-s, 6.8 s; README).
    notebook_cpu_seconds: float = 30.0
    notebook_wall_seconds: float = 60.0
    # What the feedback of one notebook may hold (preprocessor.feedback_output): one message of a
    # failed property or its smallest failing input, one check cell, the notebook in all.
    feedback_message_chars: int = 5000
    feedback_cell_bytes: int = 32 << 10
    feedback_bytes: int = 256 << 10
    sandbox: bool = True              # False only when course_config.py allows unsandboxed grading
    forked_workers: bool = True       # workers forked from a sandboxed zygote (imports paid once), not fresh
    readable_paths: tuple = ()        # beyond Python and the helper package

    def __post_init__(self):
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            kind = type(item.default)
            if kind is bool:
                if not isinstance(value, bool):
                    raise LimitsError(f"{item.name} must be True or False, not {value!r}")
            elif kind is tuple:
                if isinstance(value, str) or not isinstance(value, (list, tuple)) \
                        or not all(isinstance(path, str) for path in value):
                    raise LimitsError(f"{item.name} must be a list of paths, not {value!r}")
                object.__setattr__(self, item.name, tuple(value))
            else:
                # bool is an int to Python, never a number of bytes or seconds here; a float
                # where an int is expected would fail only inside the worker (setrlimit).
                allowed = (int, float) if kind is float else (int,)
                if isinstance(value, bool) or not isinstance(value, allowed):
                    what = "a number of seconds" if kind is float else "a whole number"
                    raise LimitsError(f"{item.name} must be {what}, not {value!r} ({type(value).__name__})")
                if value <= 0:
                    raise LimitsError(f"{item.name} must be positive, not {value!r}")
                object.__setattr__(self, item.name, kind(value))

    @classmethod
    def from_overrides(cls, overrides: dict, where: str = "c.GradeWithHiddenTests.limits", **fixed) -> Limits:
        """The defaults with ``overrides`` (an instructor's, by field name) applied, and
        ``fixed`` (the fields set elsewhere). A typo is an error that names it, never ignored."""
        if not isinstance(overrides, dict):
            raise LimitsError(f"{where} must be a dict of limits by name, not {overrides!r}")
        limits = [f.name for f in dataclasses.fields(cls) if f.name not in SET_ELSEWHERE]
        for name in overrides:
            if name in SET_ELSEWHERE:
                raise LimitsError(f"{where}: {name!r} is not a limit; it is set by {SET_ELSEWHERE[name]}")
            if name not in limits:
                close = difflib.get_close_matches(str(name), limits, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise LimitsError(f"{where}: unknown limit {name!r}{hint}; the limits are {', '.join(limits)}")
        try:
            return cls(**overrides, **fixed)
        except LimitsError as exc:
            raise LimitsError(f"{where}: {exc}") from None

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "readable_paths": list(self.readable_paths)}

    @classmethod
    def from_dict(cls, fields: dict, where: str = "limits") -> Limits:
        """The inverse of ``to_dict``: every field by its own name, nothing else."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(fields, dict):
            raise LimitsError(f"{where}: expected the limits by name, not {fields!r}")
        unknown, missing = sorted(set(fields) - names, key=str), sorted(names - set(fields))
        if unknown or missing:
            raise LimitsError(f"{where}: unknown fields {unknown}, missing fields {missing}")
        try:
            return cls(**fields)
        except LimitsError as exc:
            raise LimitsError(f"{where}: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "limits") -> Limits:
        return cls.from_dict(json.loads(text), where)
