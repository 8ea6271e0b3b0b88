"""Every message that crosses a process boundary, typed: one dataclass per message, each with
one ``parse`` classmethod that validates what came in (or ``ProtocolError``), and the plain
data it travels as (``to_message``). ``wire`` is the byte layer under the judge and worker's
messages; the others travel as JSON.

Who talks to whom, and how far each is trusted:

- nbgrader's side -> judge server (a line of JSON each way): ``GradeRequest``, ``GradeReply``;
  the judge's results file (``JudgeResults``, its ``HiddenTestRecord`` per hidden test), to which the
  preprocessor adds ``judge_failed`` when the judge could not grade.
- judge -> worker (``wire``): ``ExecRequest`` (run the answer cells) and ``CallRequest`` (call,
  call_method, eval, run). The judge is trusted; the worker checks only the op.
- worker -> judge (``wire``): ``WorkerReady``, the cell events (``CellStart``, ``CellDone``,
  ``ExecDone``) and ``CallReply`` with its ``WorkerError``. The worker is hostile: the student
  controls every byte, so these parses are the only place its messages are read, and each
  keeps only what the judge asked for, cut to size.
- judge <-> zygote (a SOCK_SEQPACKET datagram of JSON): ``ForkRequest``, ``EndRequest``;
  ``ZygoteReady``, ``Forked``, ``Ended``. The zygote runs no student code, but inside the
  sandbox, so its answers are checked as well.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field


class ProtocolError(ValueError):
    """A message that is not what its protocol says: what came, and what was expected."""


def _fields(message, what: str) -> dict:
    if not isinstance(message, dict):
        raise ProtocolError(f"{what}: expected a dict, got {type(message).__name__}")
    return message


def _event(message):
    return message.get("event") if isinstance(message, dict) else None


def _text(value, limit: int) -> str:
    return str(value)[:limit] if isinstance(value, (str, int, float)) else ""


def _texts(values, count: int, limit: int) -> list[str]:
    return [_text(v, limit) for v in values[:count]] if isinstance(values, list) else []


def _ready(message, what: str, refusal: str) -> dict:
    """A first message, which must be a "ready" event."""
    message = _fields(message, what)
    if message.get("event") != "ready":
        raise ProtocolError(refusal)
    return message


def reported_cpu(message: dict) -> float | None:
    """The CPU seconds a worker says it used (profiling only, never a grade: it could lie)."""
    return message["cpu"] if isinstance(message.get("cpu"), float) else None


# ------------------------------------------------------------------ nbgrader's side <-> judge server

JUDGE_READY = {"ready": True}  # the judge server's first line, once its imports are done


@dataclass(frozen=True)
class GradeRequest:
    """Run the hidden tests in ``tests_dir`` with pytest ``args`` (the engine's settings travel
    in the submission file that ``args`` name, with its cells and limits)."""
    tests_dir: str
    args: list[str]

    def to_message(self) -> dict:
        return {"tests_dir": self.tests_dir, "args": list(self.args)}

    @classmethod
    def parse(cls, message) -> "GradeRequest":
        message = _fields(message, "grade request")
        tests_dir, args = message.get("tests_dir"), message.get("args")
        if not isinstance(tests_dir, str):
            raise ProtocolError(f"grade request: tests_dir must be a string, got {tests_dir!r}")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ProtocolError(f"grade request: args must be a list of strings, got {args!r}")
        return cls(tests_dir, args)


@dataclass(frozen=True)
class GradeReply:
    """pytest's exit code (negative: the run itself failed) and the end of its output."""
    exit: int
    output: str

    def to_message(self) -> dict:
        return {"exit": self.exit, "output": self.output}

    @classmethod
    def parse(cls, message) -> "GradeReply":
        message = _fields(message, "judge reply")
        code = message.get("exit", -1)
        if type(code) is not int:
            raise ProtocolError(f"judge reply: exit must be an integer, got {code!r}")
        return cls(code, str(message.get("output", "")))


@dataclass
class HiddenTestRecord:
    """One hidden test's verdict, as the judge writes it and the preprocessor, the feedback and
    the class report read it (``<notebook>.results.json`` keeps exactly these keys). A failed
    test's report (``failure``, the exception's class, with ``rule_texts``, ``message`` and
    ``example``) is written only when it failed with an exception; ``expected`` and ``got``
    only where a check gave them."""
    test: str
    cell: str | None
    property: str
    passed: bool
    rules: list[str] = field(default_factory=list)
    rule_texts: list[str] | None = None
    message: str | None = None
    example: str | None = None
    failure: str | None = None
    expected: str | None = None
    got: str | None = None

    OPTIONAL = ("rule_texts", "message", "example", "failure", "expected", "got")

    def to_message(self) -> dict:
        message = {"test": self.test, "cell": self.cell, "property": self.property, "passed": self.passed,
                   "rules": list(self.rules)}
        if self.failure is not None:
            message.update(rule_texts=self.rule_texts, message=self.message, example=self.example,
                           failure=self.failure)
        message.update({key: getattr(self, key) for key in ("expected", "got") if getattr(self, key) is not None})
        return message

    @classmethod
    def parse(cls, message) -> "HiddenTestRecord":
        message = _fields(message, "test record")
        for key in ("test", "property"):
            if not isinstance(message.get(key), str):
                raise ProtocolError(f"test record: {key} must be a string, got {message.get(key)!r}")
        if not (message.get("cell") is None or isinstance(message.get("cell"), str)):
            raise ProtocolError(f"test record {message['test']}: cell must be a string, got {message['cell']!r}")
        if not isinstance(message.get("passed"), bool):
            raise ProtocolError(f"test record {message['test']}: passed must be true or false, "
                                f"got {message.get('passed')!r}")
        unknown = set(message) - {"test", "cell", "property", "passed", "rules", *cls.OPTIONAL}
        if unknown:
            raise ProtocolError(f"test record {message['test']}: unknown keys {sorted(unknown)}")
        return cls(**{**message, "rules": list(message.get("rules") or [])})


@dataclass
class JudgeResults:
    """What one notebook's grading gave: the judge's results file, or, when the judge failed,
    no tests and ``judge_failed`` saying why (the preprocessor's; the notebook scores 0)."""
    tests: list[HiddenTestRecord] = field(default_factory=list)
    collection_errors: list[str] = field(default_factory=list)
    sandbox_gaps: list[str] = field(default_factory=list)
    cell_errors: dict = field(default_factory=dict)
    cost: dict = field(default_factory=dict)
    examples: dict = field(default_factory=dict)
    judge_failed: str | None = None

    @classmethod
    def failed(cls, why: str) -> "JudgeResults":
        return cls(judge_failed=why)

    def to_message(self) -> dict:
        message = {"tests": [t.to_message() for t in self.tests], "collection_errors": list(self.collection_errors),
                   "sandbox_gaps": list(self.sandbox_gaps), "cell_errors": dict(self.cell_errors),
                   "cost": dict(self.cost), "examples": dict(self.examples)}
        if self.judge_failed is not None:
            message["judge_failed"] = self.judge_failed
        return message

    def to_json(self) -> str:
        return json.dumps(self.to_message(), indent=1, default=str)  # what came from the worker is text

    @classmethod
    def parse(cls, message) -> "JudgeResults":
        message = _fields(message, "judge results")
        tests = message.get("tests", [])
        if not isinstance(tests, list):
            raise ProtocolError(f"judge results: tests must be a list, got {type(tests).__name__}")
        lists = {key: message.get(key) or [] for key in ("collection_errors", "sandbox_gaps")}
        dicts = {key: message.get(key) or {} for key in ("cell_errors", "cost", "examples")}
        for key, value in lists.items():
            if not isinstance(value, list):
                raise ProtocolError(f"judge results: {key} must be a list, got {type(value).__name__}")
        for key, value in dicts.items():
            if not isinstance(value, dict):
                raise ProtocolError(f"judge results: {key} must be a dict, got {type(value).__name__}")
        failed = message.get("judge_failed")
        return cls(tests=[HiddenTestRecord.parse(t) for t in tests], **lists, **dicts,
                   judge_failed=None if failed is None else str(failed))


# ------------------------------------------------------------------ judge -> worker

EXEC = "exec"                                   # run the answer cells: events, then ExecDone
CALLS = ("call", "call_method", "eval", "run")  # the requests answered with one CallReply


@dataclass
class ExecRequest:
    cells: list[dict]  # {"id", "source"} each, in order
    cpu_seconds: float

    def to_message(self) -> dict:
        return {"op": EXEC, "cells": self.cells, "cpu_seconds": self.cpu_seconds}


@dataclass(frozen=True)
class CallRequest:
    """``call`` a function of the notebook by name (``target``), ``call_method`` of an object
    the worker holds (``target`` a handle), ``eval`` a grader expression or ``run`` grader
    statements (``code``) in the notebook's namespace, with ``bindings``."""
    op: str
    target: object = None
    method: str | None = None
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    code: str | None = None
    bindings: dict = field(default_factory=dict)
    forbid: list = field(default_factory=list)
    return_inputs: bool = False
    cpu_seconds: float | None = None
    seed: int = 0

    def to_message(self) -> dict:
        message = {"op": self.op, "forbid": self.forbid}
        if self.op in ("call", "call_method"):
            message.update(target=self.target, args=self.args, kwargs=self.kwargs)
        if self.op == "call_method":
            message["method"] = self.method
        if self.op == "call":
            message["return_inputs"] = self.return_inputs
        if self.op in ("eval", "run"):
            message.update(code=self.code, bindings=self.bindings)
        if self.cpu_seconds is not None:
            message["cpu_seconds"] = self.cpu_seconds
        return message


def parse_request(message) -> ExecRequest | CallRequest:
    """A request as the worker reads it (from the judge, so trusted but for its op)."""
    message = _fields(message, "request")
    op = message.get("op")
    if op == EXEC:
        return ExecRequest(message["cells"], message.get("cpu_seconds"))
    if op in CALLS:
        return CallRequest(op, target=message.get("target"), method=message.get("method"),
                           args=message.get("args", []), kwargs=message.get("kwargs", {}),
                           code=message.get("code"), bindings=message.get("bindings", {}),
                           forbid=message.get("forbid", []), return_inputs=bool(message.get("return_inputs")),
                           cpu_seconds=message.get("cpu_seconds"), seed=message.get("seed", 0))
    raise ProtocolError(f"unknown op {op!r}")


# ------------------------------------------------------------------ worker -> judge (hostile)

@dataclass
class WorkerError:
    """An exception in the student's code, as the worker describes it: name, the names of its
    classes, message, the built-in it used if refused, the student's own frames. Each cut to
    a short string: it is the student's to forge."""
    type: str = "Exception"
    mro: list[str] = field(default_factory=list)
    message: str = ""
    forbidden: str | None = None
    where: list[str] = field(default_factory=list)

    def to_message(self) -> dict:
        return {"type": self.type, "mro": list(self.mro), "message": self.message, "forbidden": self.forbidden,
                "where": list(self.where)}

    @classmethod
    def parse(cls, error) -> "WorkerError":
        """Never fails: whatever came is reduced to what a report may hold."""
        error = error if isinstance(error, dict) else {}
        forbidden = error.get("forbidden")
        return cls(type=_text(error.get("type", "Exception"), 100) or "Exception", mro=_texts(error.get("mro"), 40, 100),
                   message=_text(error.get("message", ""), 2000),
                   forbidden=_text(forbidden, 200) if forbidden else None, where=_texts(error.get("where"), 6, 500))


@dataclass
class WorkerReady:
    """The worker's first message, once confined: what of the sandbox does not hold."""
    gaps: list[str]

    def to_message(self) -> dict:
        return {"event": "ready", "gaps": self.gaps}

    @classmethod
    def parse(cls, message) -> "WorkerReady":
        message = _ready(message, "the worker's first message",
                         f"the worker's first message is not 'ready' (event {_event(message)!r})")
        gaps = message.get("gaps", [])
        return cls([str(g) for g in gaps][:5] if isinstance(gaps, (list, tuple)) else [])


@dataclass
class CellStart:
    id: str

    def to_message(self) -> dict:
        return {"event": "cell_start", "id": self.id}


@dataclass
class CellDone:
    id: str
    error: WorkerError | None

    def to_message(self) -> dict:
        return {"event": "cell_done", "id": self.id, "error": self.error.to_message() if self.error else None}


@dataclass
class ExecDone:
    def to_message(self) -> dict:
        return {"event": "exec_done"}


def parse_cell_event(message, sent: set) -> CellStart | CellDone | ExecDone | None:
    """One event while the worker runs the cells. Only cells the judge sent count: an event
    for another (or with an id that is no string) is None, ignored; anything but an event is
    a ProtocolError."""
    message = _fields(message, "cell event")
    kind = message.get("event")
    if kind == "exec_done":
        return ExecDone()
    if kind not in ("cell_start", "cell_done"):
        raise ProtocolError("unexpected message while running cells")
    cell_id = message.get("id")
    if not isinstance(cell_id, str) or cell_id not in sent:
        return None
    if kind == "cell_start":
        return CellStart(cell_id)
    return CellDone(cell_id, WorkerError.parse(message["error"]) if message.get("error") else None)


@dataclass
class CallReply:
    """The answer to one CallRequest: a value (already decoded and bounded by ``wire``'s
    Acceptance), the arguments after the call when asked for, or the error it raised."""
    ok: bool
    value: object = None
    inputs: dict | None = None
    error: WorkerError | None = None

    def to_message(self) -> dict:
        if not self.ok:
            return {"ok": False, "error": self.error.to_message() if self.error else {}}
        message = {"ok": True, "value": self.value}
        if self.inputs is not None:
            message["inputs"] = self.inputs
        return message

    @classmethod
    def parse(cls, message) -> "CallReply":
        message = _fields(message, "reply")
        if not message.get("ok"):
            return cls(False, error=WorkerError.parse(message.get("error")))
        inputs = message.get("inputs") or {}
        return cls(True, value=message.get("value"), inputs=inputs if isinstance(inputs, dict) else {})

    def input_args(self) -> tuple:
        """The positional arguments as they were after the call (``return_inputs``)."""
        return tuple((self.inputs or {}).get("args", []))


# ------------------------------------------------------------------ judge <-> zygote

MAX_MESSAGE = 1 << 16  # one datagram on the zygote's control socket, at most

@dataclass(frozen=True)
class ForkRequest:
    """Fork a worker (its two pipes and log travel beside, SCM_RIGHTS) with these limits; the
    zygote waits up to ``init_seconds`` for the sandbox's init to fork it."""
    limits_json: str
    init_seconds: float

    def to_message(self) -> dict:
        return {"op": "fork", "limits": self.limits_json, "init_seconds": self.init_seconds}


@dataclass(frozen=True)
class EndRequest:
    """End the current worker and all it started, after up to ``wait`` seconds (at most 10)."""
    wait: float

    def to_message(self) -> dict:
        return {"op": "end", "wait": self.wait}


def parse_zygote_request(message, fds: int) -> ForkRequest | EndRequest:
    message = _fields(message, "zygote request")
    if message.get("op") == "fork" and fds == 3:
        limits, init_seconds = message.get("limits"), message.get("init_seconds")
        if not isinstance(limits, str) or type(init_seconds) not in (int, float) or not 0 < init_seconds <= 600:
            raise ProtocolError(f"zygote: bad fork request {message!r}")
        return ForkRequest(limits, float(init_seconds))
    if message.get("op") == "end":
        return EndRequest(min(float(message.get("wait", 0)), 10.0))
    raise ProtocolError(f"zygote: unknown request {message!r}")


@dataclass(frozen=True)
class ZygoteReady:
    cpu: float  # the zygote's start: interpreter and imports

    def to_message(self) -> dict:
        return {"event": "ready", "cpu": self.cpu}

    @classmethod
    def parse(cls, message) -> "ZygoteReady":
        message = _ready(message, "the zygote's first message", "the grading sandbox did not start")
        return cls(float(message.get("cpu", 0.0)))


@dataclass(frozen=True)
class Forked:
    pid: int  # the worker's init's pid, in the zygote's PID namespace

    def to_message(self) -> dict:
        return {"pid": self.pid}

    @classmethod
    def parse(cls, message) -> "Forked":
        message = _fields(message, "the zygote's answer")
        if type(message.get("pid")) is not int:
            raise ProtocolError(f"it answered {message!r}")
        return cls(message["pid"])


@dataclass(frozen=True)
class Ended:
    """How the worker ended (as Popen's returncode; None: it was still running) and the CPU
    seconds of it and all it started (the zygote's count, wait4: never the worker's word)."""
    returncode: int | None
    cpu: float | None  # None: not known (the zygote died with it)

    def to_message(self) -> dict:
        return {"returncode": self.returncode, "cpu": self.cpu}

    @classmethod
    def parse(cls, message) -> "Ended":
        message = _fields(message, "the zygote's answer")
        code, cpu = message.get("returncode"), message.get("cpu")
        return cls(code if type(code) is int else None, float(cpu) if type(cpu) in (int, float) else 0.0)
