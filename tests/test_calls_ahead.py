"""Calls sent to the worker before a test makes them (judge/calls_ahead.py): each is framed as
the call itself would be, a reply is only ever the reply of the call it answers, what a test
does not make is dropped without blame, and grades are those of calls made one at a time."""
import time

import pytest
import torch
from hypothesis import given, strategies as st

from autograder.engine.judge import calls_ahead, example_replay
from autograder.engine.judge.student_proxy import Cell, Limits, Student, StudentCrashed, StudentFailure, StudentProcess
from autograder.engine.shared import protocol, wire
from autograder.engine.shared.limits import EngineSettings
from instructor import try_hidden
from instructor.paths import assignments
from autograder.simulated_class import load_cases
from tests.strategies import plain_values, tensors

FAST = Limits(call_seconds=3, cpu_seconds=5, cells_seconds=20, memory_bytes=2 << 30)
DEPTH = EngineSettings().calls_ahead

SOURCE = """
import os, torch
_count = [0]
def f(x):
    _count[0] += 1
    return x * 2 + _count[0]
def g(x):
    return -x
def die():
    os._exit(3)
def spin():
    while True:
        pass
"""


def call(name, *args, **kwargs) -> protocol.CallRequest:
    return protocol.CallRequest("call", target=name, args=list(args), kwargs=kwargs, forbid=[])


def predicted(name, *args) -> calls_ahead.Predicted:
    return calls_ahead.predicted(name, call(name, *args), None, False)


@pytest.fixture
def make_process():
    made = []

    def make(depth=DEPTH, limits=FAST):
        process = StudentProcess([Cell("cell0", SOURCE)], limits, settings=EngineSettings(calls_ahead=depth))
        made.append(process)
        return process
    yield make
    for process in made:
        process.stop()


def value(process, name, *args):
    return Student(process, {}).call(name, *args)


# -- what is sent ahead is what would have been sent

@given(args=st.lists(st.one_of(tensors(), plain_values()), max_size=3),
       cpu=st.floats(0.001, 1e4), inputs=st.booleans())
def test_a_call_sent_ahead_is_framed_byte_for_byte_as_the_call_itself(args, cpu, inputs):
    request = protocol.CallRequest("call", target="f", args=args, kwargs={"k": args[:1]}, forbid=["sum"],
                                   return_inputs=inputs)
    message = request.to_message()
    message.setdefault("cpu_seconds", cpu)  # as StudentProcess.request sends it
    assert calls_ahead.predicted("f", request, None, False).frame(cpu) == wire.frame(message)


@given(sent=st.lists(st.integers(0, 3), max_size=8), made=st.lists(st.integers(0, 3), max_size=8),
       early=st.integers(0, 8))
def test_only_the_calls_sent_ahead_in_their_order_are_taken_up_to_the_first_other(sent, made, early):
    """The law: the calls taken are the longest common prefix of those sent ahead and those
    made; from the first other call on, nothing more is (its reply is never mistaken)."""
    ahead = calls_ahead.CallsAhead(depth=20)
    ahead.expect([predicted("f", n) for n in sent], 20)
    for _ in range(min(early, len(sent))):  # some sent already, the rest not yet
        ahead.mark_sent(1)
    common = 0
    while common < min(len(sent), len(made)) and sent[common] == made[common]:
        common += 1
    taken = [ahead.take(predicted("f", n)) for n in made]
    assert all(t is not None for t in taken[:common])
    assert all(t is None for t in taken[common:])
    assert taken[:common] == ["sent"] * min(common, early) + ["unsent"] * max(common - early, 0)


def test_only_calls_by_name_and_grader_code_on_plain_data_go_ahead():
    handle = wire.Handle(7, "Linear")
    assert calls_ahead.can_go_ahead(call("f", torch.ones(2), [1, {"a": (2.0,)}]))
    assert calls_ahead.can_go_ahead(protocol.CallRequest("run", code="result = f(x)", bindings={"x": torch.ones(2)}))
    assert calls_ahead.can_go_ahead(protocol.CallRequest("eval", code="f(1)"))
    for nested in (handle, [handle], (1, handle), {"a": [handle]}):
        assert not calls_ahead.can_go_ahead(call("f", nested))
        assert not calls_ahead.can_go_ahead(call("f", k=nested))
        for op in ("run", "eval"):
            assert not calls_ahead.can_go_ahead(protocol.CallRequest(op, code="x", bindings={"x": nested}))
    assert not calls_ahead.can_go_ahead(protocol.CallRequest("call_method", target=handle, method="forward"))


@given(first=st.floats(0, 100), slower=st.floats(1, 100), depth=st.integers(1, 64), seconds=st.floats(0, 10))
def test_a_test_sends_ahead_no_more_than_its_first_call_s_speed_allows(first, slower, depth, seconds):
    """The law of ``depth_for``: never more than the setting, never more than would take
    ``seconds`` at the first call's speed, and a slower first call never lets more go ahead."""
    allowed = calls_ahead.depth_for(first, depth, seconds)
    assert 0 <= allowed <= depth
    assert allowed * first <= seconds * (1 + 1e-9) or allowed == 0
    assert calls_ahead.depth_for(first * slower, depth, seconds) <= allowed
    if depth * max(first, 1e-9) * (1 + 1e-9) <= seconds:  # all of them fit
        assert allowed == depth


# -- a real worker

def test_replies_of_calls_sent_ahead_are_those_of_calls_made_one_at_a_time(make_process):
    """A stateful function, so that a reply read out of turn would show."""
    answers = {}
    for depth in (1, DEPTH):
        process = make_process(depth)
        got = [value(process, "f", torch.tensor([0.0]))]  # the worker is started by a first call, as in a replay
        process.send_ahead([predicted("f", torch.tensor([float(n)])) for n in range(1, 30)], DEPTH)
        got += [value(process, "f", torch.tensor([float(n)])) for n in range(1, 30)]
        process.settle()
        answers[depth] = torch.cat(got)
        assert process.cost["calls_ahead"] == (0 if depth == 1 else 29)
        assert process.cost["calls_ahead_dropped"] == 0
    assert torch.equal(answers[1], answers[DEPTH])
    assert torch.equal(answers[1], torch.arange(30.0) * 3 + 1)


def test_no_more_calls_wait_than_the_test_s_first_call_allows(make_process):
    process = make_process(DEPTH)
    assert process.depth_ahead(0.0) == DEPTH
    assert process.depth_ahead(10.0) == 0  # a slow call (training, say) never goes ahead
    value(process, "f", 0)
    process.send_ahead([predicted("f", n) for n in range(1, 11)], 3)
    waiting = []
    for n in range(1, 11):
        waiting.append(len(process.ahead.sent))
        assert value(process, "f", n) == 3 * n + 1
    assert max(waiting) == 3 and process.cost["calls_ahead"] == 10


def test_a_test_that_goes_another_way_drops_what_was_sent_ahead(make_process):
    process = make_process()
    assert value(process, "f", 0) == 1
    process.send_ahead([predicted("f", n) for n in range(1, 9)], DEPTH)
    assert value(process, "f", 1) == 4
    assert value(process, "g", 5) == -5  # not what was sent ahead: its replies are read and dropped
    assert process.cost["calls_ahead_dropped"] == 7
    assert not process.ahead
    # The deviation calls_ahead.py states: the worker ran the calls it was sent (f's count went on).
    assert value(process, "f", 0) == 2 + 7 + 1


def test_a_crash_in_a_call_sent_ahead_is_that_call_s_alone(make_process):
    process = make_process()
    assert value(process, "f", 0) == 1
    process.send_ahead([predicted("f", 1), predicted("die"), predicted("f", 2)], DEPTH)
    assert value(process, "f", 1) == 4  # answered before die ran: not blamed
    with pytest.raises(StudentCrashed, match="die stopped the grading process"):
        value(process, "die")
    assert set(process.poisoned) == {"die"}
    assert value(process, "f", 2) == 5  # a fresh worker, one call at a time


def test_a_crash_in_a_call_sent_ahead_but_never_made_blames_no_one(make_process):
    process = make_process()
    assert value(process, "f", 0) == 1
    process.send_ahead([predicted("f", 1), predicted("die"), predicted("f", 2)], DEPTH)
    assert value(process, "f", 1) == 4
    assert value(process, "g", 3) == -3  # die's reply never came: the worker is replaced
    assert process.poisoned == {} and process.cost["worker_starts"] == 2


def test_a_call_sent_ahead_that_never_ends_stops_the_worker_within_a_call_s_time(make_process):
    process = make_process()
    assert value(process, "f", 0) == 1
    process.send_ahead([predicted("f", 1), predicted("spin"), predicted("f", 2)], DEPTH)
    assert value(process, "f", 1) == 4
    started = time.monotonic()
    assert value(process, "g", 3) == -3
    waited = time.monotonic() - started
    assert FAST.call_seconds - 0.5 < waited < FAST.call_seconds + 30
    assert process.poisoned == {} and process.cost["worker_starts"] == 2
    assert process.budget.wall + process.budget.pending >= FAST.call_seconds - 0.5  # counted in the budget


def test_nothing_goes_ahead_once_the_budget_is_spent(make_process):
    process = make_process(limits=Limits(call_seconds=3, cpu_seconds=5, cells_seconds=20, memory_bytes=2 << 30,
                                         notebook_wall_seconds=2.0))
    assert value(process, "f", 0) == 1
    process.send_ahead([predicted("spin"), predicted("f", 1)], DEPTH)
    with pytest.raises(StudentFailure, match="grading budget"):
        value(process, "spin")
    assert not process.can_send_ahead() and not process.running
    process.send_ahead([predicted("f", 1)], DEPTH)
    assert process.cost["calls_ahead"] == 2 and not process.ahead  # spin and f, before the budget ran out
    with pytest.raises(StudentFailure, match="grading budget"):
        value(process, "f", 1)


def test_a_process_that_predicts_first_calls_answers_none_and_starts_no_worker(make_process):
    """A judge predicts the calls to send ahead in a session where no call is answered
    (example_replay.prediction_args): there every call raises FirstCall, and no worker starts."""
    process = make_process()
    process.predicting = True
    for _ in range(2):
        with pytest.raises(calls_ahead.FirstCall):
            value(process, "f", 1)
    assert not process.running and process.cost["worker_starts"] == 0 and process.cost["calls"] == 0


def test_a_judge_predicts_first_calls_once_until_its_kept_examples_change(monkeypatch):
    """The session that predicts (example_replay.prediction_args) runs the grading session's
    arguments with no results written, never where examples are drawn afresh or recorded, and
    once per tests folder until the examples the judge keeps change."""
    monkeypatch.setattr(example_replay, "_predicted_at", {})
    monkeypatch.setattr(example_replay, "_kept_changes", [0])
    args = ["hidden/05", "--submission=s.json", "--results=r.json", "-q", "--results", "r2.json", "--no-header"]
    assert example_replay.prediction_args("hidden/05", args) == [
        "hidden/05", "--submission=s.json", "-q", "--no-header", example_replay.PREDICT_OPTION]
    for other in ("--draw-afresh", "--record-examples"):
        assert example_replay.prediction_args("hidden/05", [*args, other]) is None
    example_replay.predicted_now("hidden/05")
    assert example_replay.prediction_args("hidden/05", args) is None
    assert example_replay.prediction_args("hidden/04", args) is not None
    example_replay._kept_changes[0] += 1  # a test drawn and kept, or a recording loaded
    assert example_replay.prediction_args("hidden/05", args) is not None


# -- grades

MISTAKES_PER_ASSIGNMENT = 2
# How many of a test's calls go ahead depends on how long its first call took (calls_ahead.depth_for:
# about calls_ahead_seconds' worth): on a loaded machine a slower first call sends fewer. This test
# compares counts between runs, so it lifts that limit and keeps only the depth: a count that no
# longer depends on the clock (CI once saw 337 calls ahead against 356 for the same 01 notebook).
# Not for 06, whose training calls the limit keeps out of the queue: sent ahead and dropped by a
# test that stops early, they would spend a mistake's budget and change its grade.
def untimed(assignment: str) -> dict:
    return {} if assignment == "06_simple_mnist" else {"calls_ahead_seconds": 60.0}


@pytest.mark.parametrize("assignment", assignments())
def test_grades_with_calls_sent_ahead_are_those_of_calls_one_at_a_time(assignment):
    """Our solution and some mistakes of the simulated class (spread over its list), examples
    replayed: every test's verdict, message and smallest failing input alike. (A hidden test
    whose body changed state outside its example before its first call would fail here: a
    replay runs that part once more to send the call ahead; README, "Add an assignment".)"""
    every = load_cases(assignment)
    mistakes = [case for case in every if case.kind == "mistake"]
    cases = [case for case in every if case.kind == "solution"]
    cases += mistakes[::len(mistakes) // MISTAKES_PER_ASSIGNMENT][:MISTAKES_PER_ASSIGNMENT]
    assert len(cases) == 1 + MISTAKES_PER_ASSIGNMENT
    try_hidden.run(assignment)  # the examples recorded: both runs below replay them
    for case in cases:
        graded, ahead, calls = {}, {}, {}
        for depth in (1, DEPTH):
            results = try_hidden.run(assignment, case=case, settings={"calls_ahead": depth, **untimed(assignment)})
            graded[depth] = [(r["test"], r["passed"], r.get("message"), r.get("example")) for r in results["tests"]]
            ahead[depth], calls[depth] = results["cost"]["calls_ahead"], results["cost"]["calls"]
            if case.kind == "solution" and depth == DEPTH:
                ahead_of_solution = results["cost"]["calls_ahead"]
        assert graded[1] == graded[DEPTH], case.name
        # Of our solution's calls, more than a tenth go ahead (06, whose training calls never do: a
        # quarter; the others: most).
        assert ahead[1] == 0 and (ahead[DEPTH] * 10 > calls[DEPTH] or case.kind != "solution"), \
            (case.name, ahead, calls)
    # By now this judge has predicted the tests' first calls (before its second notebook), and a
    # notebook's own run has confirmed them: our solution's calls go ahead as predicted, none dropped
    # (06's tests that share the student's model, whose runs find other calls, are never confirmed).
    results = try_hidden.run(assignment, settings=untimed(assignment))
    assert results["examples"]["predicted"] > 0 and results["cost"]["calls_ahead_dropped"] == 0, \
        (results["examples"], results["cost"])
    assert results["cost"]["calls_ahead"] == ahead_of_solution, (results["cost"]["calls_ahead"], ahead_of_solution)
