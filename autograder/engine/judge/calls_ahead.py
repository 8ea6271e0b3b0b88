"""Calls sent to the worker before a hidden test makes them (runs in the judge).

A call made one at a time costs both processes a sleep and a wake-up, and the worker meets
each call with cold caches: of a guarded softmax call's 0.3-0.7 ms (judge and worker), sent
ahead in a queue it costs about half. While a test's recorded examples are replayed
(``example_replay``) the judge knows each example before it runs. Where the first example
made one call of the student's (a test that makes several an example is replayed one call at a
time), it runs the test body of each later example up to its first call, which is not sent
(``StudentProcess.taking_first_call`` makes it raise ``FirstCall``), and sends those calls
ahead: ``EngineSettings.calls_ahead`` at most outstanding, and no more than would take
``EngineSettings.calls_ahead_seconds`` at the speed of the test's first call (``depth_for``).
Then it runs the examples as ever. Each call a test makes is compared with the next one sent
ahead, byte for byte as the worker reads it (its label, its time limit and its request,
encoded): the same, and its reply is the one on its way; anything else (the test failed and
stopped, an example made a second call) and the replies on their way are read and dropped
(``StudentProcess.settle``) and the rest of the test is sent one call at a time.

What a call sent ahead is made of comes from the hidden test's own code run on its kept
examples, with no reply in hand: a judge predicts each test's first calls once, in a session of
their own in which no call is answered (``example_replay``, "first calls, predicted once per
process"), and uses them for a test once a notebook's own run of the test up to those calls found
the same (until then, and for a test whose run finds others, each notebook's run finds them, as it
always did): nothing of another submission, nothing of our solution's.
Calls of a function by name and grader code (``run``, ``eval``) with no handle in them are sent
ahead (a handle's object is state that a call may change). So the worker meets exactly the
calls it meets one at a time, in the same order, except where a test stops early: there it may
have run the first calls of the test's later examples that were waiting, whose replies nobody
reads. (And where a test's code before an example's first call read what an earlier call
returned, in a way the notebook that confirmed its prediction did not show: a hidden test must
not, README, "Add an assignment"; 06's cache of the student's model, filled by the first example
whatever it returns, is refuted by the first notebook that runs it.) A function of its inputs
answers every call the same either way; the verdicts are those of a plain run (the tests in
``tests/test_calls_ahead.py`` compare them). The CPU the dropped
calls cost counts towards the notebook's budget, as any work of the student's code does: about
``calls_ahead_seconds`` for each test that stops early, where its calls take about as long as
its first. A notebook graded differently with calls ahead than one call at a time is one
within that much times its failing tests of its budget (a second or two of 60).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from autograder.engine.shared import protocol, wire

# Requests the worker may not have read yet, in bytes: well under a pipe's 64 KiB, so that
# sending ahead never waits for the worker (which may be busy writing a reply nobody reads yet).
MAX_BYTES_AHEAD = 32 << 10


class FirstCall(BaseException):
    """Raised by ``StudentProcess.request`` while a test's first call is being taken: a
    BaseException, so that no ``except Exception`` of a test catches it."""


@dataclass(frozen=True)
class Predicted:
    """A call as a test will make it: what ``StudentProcess.request`` was given, encoded."""
    label: str
    timeout: float | None
    allow_meta: bool
    data: dict      # the request, as wire.encoded gives it
    header: bytes   # its JSON header
    buffers: tuple  # its byte buffers
    frames: dict = field(default_factory=dict, compare=False, repr=False)  # repr(cpu_seconds) -> frame, as sent

    def same(self, other: "Predicted") -> bool:
        return (self.header == other.header and self.buffers == other.buffers and self.label == other.label
                and self.timeout == other.timeout and self.allow_meta == other.allow_meta)

    def frame(self, cpu_seconds: float) -> bytes:
        """The frame to send: the request with its CPU limit, set as ``request`` sets it (made once
        per limit: a prediction is sent for every notebook a judge grades)."""
        key = repr(cpu_seconds)  # as JSON writes it: 0.0 and -0.0 are one dict key, two headers
        frame = self.frames.get(key)
        if frame is None:
            fields = dict(self.data["__dict__"])
            fields.setdefault("cpu_seconds", wire.encode(cpu_seconds, []))
            if len(self.frames) >= 4:  # a limit cut by what is left of a notebook's budget: rarely the same
                self.frames.clear()
            frame = self.frames[key] = wire.assemble(wire.header_of({"__dict__": fields}), list(self.buffers))
        return frame


def predicted(label: str, request: protocol.CallRequest, timeout: float | None, allow_meta: bool) -> Predicted:
    data, buffers = wire.encoded(request.to_message())
    return Predicted(label, timeout, allow_meta, data, wire.header_of(data), tuple(buffers))


def can_go_ahead(request: protocol.CallRequest) -> bool:
    """Only a call of a function by name or grader code (``run``, ``eval``), on plain data: never
    a method of an object the worker holds, nor anything that passes a handle (each stands for
    an object in the worker, whose state a call may change)."""
    found = []
    _find_handles((request.args, request.kwargs, request.bindings), found)
    return request.op in ("call", "run", "eval") and not found


def depth_for(first_call_seconds: float, depth: int, seconds: float) -> int:
    """How many calls of a test may wait ahead, at most ``depth``, when its first call took
    ``first_call_seconds``: as many as would take about ``seconds`` at that speed. A test that
    stops early drops what waits, and the worker's time on it counts in the notebook's budget:
    so that time stays small, whatever the notebook, and a slow call (training, say) never goes
    ahead."""
    return min(depth, int(seconds / max(first_call_seconds, 1e-9)))


def _find_handles(value, found: list) -> None:
    if isinstance(value, wire.Handle):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _find_handles(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _find_handles(item, found)


class CallsAhead:
    """One notebook's calls sent ahead: ``unsent`` (predicted, not yet sent) and ``sent``
    (sent, reply not yet read, with each frame's size)."""

    def __init__(self, depth: int):
        self.depth = depth      # the most that may ever wait (EngineSettings.calls_ahead)
        self.limit = depth      # the most that may wait for the test now replayed (``depth_for``)
        self.unsent: deque[Predicted] = deque()
        self.sent: deque[tuple[Predicted, int]] = deque()
        self.sent_bytes = 0
        self.diverged = False  # a call other than the next sent ahead was made: take no more

    def __bool__(self) -> bool:
        return bool(self.unsent or self.sent)

    def expect(self, calls: list[Predicted], limit: int) -> None:
        self.forget()
        self.unsent = deque(calls)
        self.limit = min(limit, self.depth)

    def take(self, call: Predicted) -> str | None:
        """``"sent"``: ``call`` is the next one sent ahead, its reply the next to read; ``"unsent"``:
        it is the next predicted, to be sent now; None: it is neither, and nothing more is sent
        ahead (the caller reads and drops the replies of what was, and ``forget``s them)."""
        if self.diverged:
            return None
        if self.sent:
            if self.sent[0][0].same(call):
                _, size = self.sent.popleft()
                self.sent_bytes -= size
                return "sent"
        elif self.unsent and self.unsent[0].same(call):
            self.unsent.popleft()
            return "unsent"
        self.unsent.clear()
        self.diverged = True
        return None

    def due(self) -> bool:
        """Whether to send more now: the worker is given calls in batches of half the depth, so
        that it sleeps and wakes once a batch, not once a call."""
        return bool(self.unsent) and len(self.sent) <= self.limit // 2

    def next_to_send(self, size: int) -> bool:
        """Whether the next predicted call, of ``size`` bytes framed, may be sent now."""
        return len(self.sent) < self.limit and self.sent_bytes + size <= MAX_BYTES_AHEAD

    def mark_sent(self, size: int) -> None:
        self.sent.append((self.unsent.popleft(), size))
        self.sent_bytes += size

    def forget(self) -> None:
        self.unsent.clear()
        self.sent.clear()
        self.sent_bytes = 0
        self.diverged = False
