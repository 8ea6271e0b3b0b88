"""What bounds one submission's grading, and how the engine runs: two typed values, from
course_config.py to where each is used.

Used on every side, so it imports nothing of the engine. ``Limits`` bounds one submission:
nbgrader's side builds it once from ``c.GradeWithHiddenTests.limits`` and hands it to the
judge in the submission file (``to_dict``/``from_dict``), and the judge hands it to the
worker on its command line (``to_json``/``from_json``). ``EngineSettings`` is everything
else an instructor may tune (hypothesis's examples, the judge's time, memory and reuse, the
zygote's and worker's start): built from ``c.GradeWithHiddenTests.settings``, used by
nbgrader's side and handed to the judge in the same submission file. Both are overridden by
field name, and both refuse the same way (``from_overrides``, which names an unknown field, a
wrong type or a value that is not positive): the same field names all the way. The defaults
below are the only ones.
"""
from __future__ import annotations

import dataclasses
import difflib
import json

# Where the fields of Limits that are not limits come from (course_config.py sets them by their own names).
SET_ELSEWHERE = {
    "sandbox": "c.GradeWithHiddenTests.allow_unsandboxed (and whether this machine can build a sandbox)",
    "readable_paths": "c.GradeWithHiddenTests.readable_paths",
    "worker_imports": "autograder/hidden/<assignment>/worker_imports.txt (instructor.record_examples writes it)",
}


class LimitsError(ValueError):
    """A limit or setting that cannot be used: an unknown field, a wrong type or a value that
    is not positive."""


class _Typed:
    """Checked, overridable by name, serialised by its own field names: what ``Limits`` and
    ``EngineSettings`` share. A subclass is a frozen dataclass whose fields' defaults give
    their types: bool, tuple (of paths or module names), float (seconds) or int (a count, bytes)."""
    KIND = "limit"                            # what one field is called in messages
    WHERE = "c.GradeWithHiddenTests.limits"   # where course_config.py overrides them
    ELSEWHERE: dict = {}                      # fields set by other names, and which

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
                    raise LimitsError(f"{item.name} must be a list of strings, not {value!r}")
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
    def from_overrides(cls, overrides: dict, where: str | None = None, **fixed):
        """The defaults with ``overrides`` (an instructor's, by field name) applied, and
        ``fixed`` (the fields set elsewhere). A typo is an error that names it, never ignored."""
        where = where or cls.WHERE
        if not isinstance(overrides, dict):
            raise LimitsError(f"{where} must be a dict of {cls.KIND}s by name, not {overrides!r}")
        names = [f.name for f in dataclasses.fields(cls) if f.name not in cls.ELSEWHERE]
        for name in overrides:
            if name in cls.ELSEWHERE:
                raise LimitsError(f"{where}: {name!r} is not a {cls.KIND}; it is set by {cls.ELSEWHERE[name]}")
            if name not in names:
                close = difflib.get_close_matches(str(name), names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise LimitsError(f"{where}: unknown {cls.KIND} {name!r}{hint}; the {cls.KIND}s are {', '.join(names)}")
        try:
            return cls(**overrides, **fixed)
        except LimitsError as exc:
            raise LimitsError(f"{where}: {exc}") from None

    def to_dict(self) -> dict:
        return {item.name: list(value) if isinstance(value, tuple) else value
                for item in dataclasses.fields(self) for value in [getattr(self, item.name)]}

    @classmethod
    def from_dict(cls, fields: dict, where: str | None = None):
        """The inverse of ``to_dict``: every field by its own name, nothing else."""
        where = where or f"{cls.KIND}s"
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(fields, dict):
            raise LimitsError(f"{where}: expected the {cls.KIND}s by name, not {fields!r}")
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
    def from_json(cls, text: str, where: str | None = None):
        return cls.from_dict(json.loads(text), where)


@dataclasses.dataclass(frozen=True)
class Limits(_Typed):
    """Everything that bounds one submission's grading; course_config.py overrides fields
    by name in ``c.GradeWithHiddenTests.limits``."""
    ELSEWHERE = SET_ELSEWHERE
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
    # Defaults: the longest call a hidden test allows (06's fit on MNIST, 45 s) plus about twice our
    # most expensive solution's (06: 6.2 CPU-s, 6.8 s; README), so that one function that never
    # returns costs its own exercise only, however loaded the machine (at 30 CPU-s / 60 s, 06's
    # fit looping forever spent 24 of them unloaded, and in a CI run its predict lost a point).
    notebook_cpu_seconds: float = 60.0
    notebook_wall_seconds: float = 90.0
    # What the feedback of one notebook may hold (preprocessor.feedback_output): one message of a
    # failed property or its smallest failing input, one check cell, the notebook in all.
    feedback_message_chars: int = 5000
    feedback_cell_bytes: int = 32 << 10
    feedback_bytes: int = 256 << 10
    sandbox: bool = True              # False only when course_config.py allows unsandboxed grading
    forked_workers: bool = True       # workers forked from a sandboxed zygote (imports paid once), not fresh
    readable_paths: tuple = ()        # beyond Python and the helper package
    worker_imports: tuple = ()        # modules imported before the student's code (shared/worker_imports.py)



@dataclasses.dataclass(frozen=True)
class EngineSettings(_Typed):
    """How the engine grades, beyond one submission's limits; course_config.py overrides
    fields by name in ``c.GradeWithHiddenTests.settings``. Nothing here changes a verdict of
    a submission within its limits, except ``max_examples`` (more examples find more mistakes)."""
    KIND = "setting"
    WHERE = "c.GradeWithHiddenTests.settings"
    # The judge (its hypothesis profile and its process, started by nbgrader's side).
    # Hypothesis examples per property (a test's own @settings sets its own). 20 caught every
    # mutant of our solutions that 40 caught, and costs half the calls (docs/performance.md, "mutants").
    max_examples: int = 20
    notebook_seconds: float = 600.0     # wall clock for all hidden tests of one notebook; then the judge is replaced
    judge_start_seconds: float = 120.0  # for the judge's imports, on a busy machine
    judge_notebooks: int = 100          # notebooks one judge grades before a fresh one replaces it
    live_judges: int = 2                # judges one grading process keeps (one per course and environment)
    judge_memory_bytes: int = 8 << 30   # the judge's address space
    # torch's threads in the judge. One: a grading process is about one core's worth of work, and
    # on tensors this small idle OpenMP threads spinning between operations cost the judge more
    # CPU than they save (3.5 against 0.8 CPU-s for 05's tests).
    judge_threads: int = 1
    # The sandbox's start (the judge's side of the worker and its zygote).
    sandbox_probe_seconds: float = 60.0  # for the one-time check that a sandbox can be built here
    zygote_start_seconds: float = 60.0   # for a zygote's imports, on a busy machine
    zygote_answer_seconds: float = 2.0   # a zygote that takes longer to answer is replaced (costs time, never a verdict)
    # Idle zygotes a judge keeps for its next notebooks: one per kind of sandbox and list of worker
    # imports (this course has four lists: a judge grading every assignment in turn, as
    # `nbgrader autograde "*"` does, keeps a zygote for each instead of starting one per notebook).
    idle_zygotes: int = 4
    worker_start_seconds: float = 60.0   # for a worker's start (and its answer cells' first run) to say it is ready
    # Calls of replayed examples sent to the worker before the test makes them, at most (1: none;
    # judge/calls_ahead.py): the worker runs them back to back instead of waking for each.
    calls_ahead: int = 12
    # ... and no more than would take this long at the speed of the test's first call: what a test
    # that stops early drops costs its notebook's budget about this at most.
    calls_ahead_seconds: float = 0.05
