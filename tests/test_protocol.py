"""The messages that cross a process boundary (autograder/engine/shared/protocol.py): each parse
keeps what its protocol allows, cut to size, and rejects the rest with a message saying what came."""
import json

import pytest

from autograder.engine.shared import protocol
from autograder.engine.shared.protocol import (CallReply, CellDone, CellStart, Ended, EndRequest, ExecDone,
                                               ForkRequest, Forked, GradeReply, GradeRequest, HiddenTestRecord,
                                               JudgeResults, ProtocolError, WorkerError, WorkerReady, ZygoteReady,
                                               parse_cell_event, parse_request, parse_zygote_request)


@pytest.mark.parametrize("message", [
    [], "x", {"tests_dir": 3, "args": []}, {"tests_dir": "t", "args": "a"}, {"tests_dir": "t", "args": ["a", 1]},
])
def test_a_grade_request_that_is_not_one_is_refused(message):
    with pytest.raises(ProtocolError, match="grade request"):
        GradeRequest.parse(message)


def test_grade_request_and_reply_travel_as_json_lines():
    request = GradeRequest("autograder/hidden/01", ["-q"])
    assert GradeRequest.parse(json.loads(json.dumps(request.to_message()))) == request
    assert GradeReply.parse({"exit": 1, "output": "1 failed"}) == GradeReply(1, "1 failed")
    assert GradeReply.parse({}).exit == -1  # no exit code: the run failed
    with pytest.raises(ProtocolError, match="exit must be an integer, got '0'"):
        GradeReply.parse({"exit": "0", "output": ""})


def test_a_hidden_test_record_keeps_the_shape_the_results_file_has():
    passed = {"test": "test_a", "cell": "c1", "property": "It works.", "passed": True, "rules": ["r1"]}
    failed = {**passed, "passed": False, "rule_texts": ["Raise ValueError."], "message": "no", "example": None,
              "failure": "AssertionError", "expected": "1", "got": "2"}
    for message in (passed, failed):
        record = HiddenTestRecord.parse(message)
        assert record.to_message() == message
        assert list(record.to_message()) == list(message)  # the same keys, in the same order


@pytest.mark.parametrize("message, says", [
    ({"cell": "c", "property": "p", "passed": True}, "test must be a string"),
    ({"test": "t", "cell": 3, "property": "p", "passed": True}, "cell must be a string"),
    ({"test": "t", "cell": "c", "property": "p", "passed": "yes"}, "passed must be true or false"),
    ({"test": "t", "cell": "c", "property": "p", "passed": True, "score": 9}, "unknown keys \\['score'\\]"),
])
def test_a_malformed_hidden_test_record_is_refused(message, says):
    with pytest.raises(ProtocolError, match=says):
        HiddenTestRecord.parse(message)


def test_judge_results_round_trip_and_failure():
    results = JudgeResults.parse({"tests": [{"test": "t", "cell": "c", "property": "p", "passed": True}],
                                  "collection_errors": [], "sandbox_gaps": ["g"], "cell_errors": {},
                                  "cost": {"worker_cpu": 1.0}, "examples": {}})
    assert results.tests[0].passed and results.judge_failed is None
    assert JudgeResults.parse(json.loads(results.to_json())) == results
    failed = JudgeResults.failed("the judge stopped")
    assert failed.tests == [] and failed.to_message()["judge_failed"] == "the judge stopped"
    with pytest.raises(ProtocolError, match="tests must be a list"):
        JudgeResults.parse({"tests": "all passed"})
    with pytest.raises(ProtocolError, match="cost must be a dict"):
        JudgeResults.parse({"tests": [], "cost": [1]})


def test_the_worker_reads_only_known_ops():
    assert isinstance(parse_request({"op": "exec", "cells": [], "cpu_seconds": 1.0}), protocol.ExecRequest)
    call = parse_request({"op": "call", "target": "f", "args": [1], "kwargs": {}, "forbid": ["softmax"]})
    assert (call.op, call.target, call.args, call.forbid, call.seed) == ("call", "f", [1], ["softmax"], 0)
    with pytest.raises(ProtocolError, match="unknown op 'shutdown'"):
        parse_request({"op": "shutdown"})


@pytest.mark.parametrize("op", protocol.CALLS)
def test_a_call_request_crosses_as_the_worker_reads_it(op):
    request = protocol.CallRequest(op, target="f", method="forward", args=[1], kwargs={"k": 2}, code="x",
                                   bindings={"m": 1}, forbid=["sum"], return_inputs=op == "call", cpu_seconds=2.0)
    again = parse_request(request.to_message())
    assert (again.op, again.forbid, again.cpu_seconds) == (op, ["sum"], 2.0)
    if op in ("call", "call_method"):
        assert (again.target, again.args, again.kwargs) == ("f", [1], {"k": 2})
    else:
        assert (again.code, again.bindings) == ("x", {"m": 1})


@pytest.mark.parametrize("forged", [
    None, "text", 42, [], {"type": ["x"] * 5, "mro": "not a list", "message": {"a": 1}, "where": 7},
    {"type": "E" * 10_000, "mro": ["M" * 500] * 500, "message": "m" * 100_000, "forbidden": "f" * 1000,
     "where": ["w" * 1000] * 100},
])
def test_a_forged_error_report_is_cut_to_short_strings(forged):
    error = WorkerError.parse(forged)
    assert isinstance(error.type, str) and 0 < len(error.type) <= 100
    assert len(error.mro) <= 40 and all(isinstance(m, str) and len(m) <= 100 for m in error.mro)
    assert isinstance(error.message, str) and len(error.message) <= 2000
    assert error.forbidden is None or len(error.forbidden) <= 200
    assert len(error.where) <= 6 and all(len(w) <= 500 for w in error.where)


def test_an_honest_error_report_is_kept():
    honest = {"type": "ValueError", "mro": ["ValueError", "Exception"], "message": "bad", "forbidden": None,
              "where": ["  answer cell a, line 1, in f"]}
    assert WorkerError.parse(honest).to_message() == honest


def test_the_worker_must_say_ready_first():
    assert WorkerReady.parse({"event": "ready", "gaps": ["a", 2, "c", "d", "e", "f"]}).gaps == ["a", "2", "c", "d", "e"]
    assert WorkerReady.parse({"event": "ready", "gaps": "everything"}).gaps == []
    with pytest.raises(ProtocolError, match="not 'ready'"):
        WorkerReady.parse({"event": "cell_start"})
    with pytest.raises(ProtocolError, match="expected a dict, got list"):
        WorkerReady.parse([])


def test_cell_events_count_only_for_cells_the_judge_sent():
    sent = {"a", "b"}
    assert parse_cell_event({"event": "cell_start", "id": "a"}, sent) == CellStart("a")
    done = parse_cell_event({"event": "cell_done", "id": "b", "error": {"type": "NameError"}}, sent)
    assert isinstance(done, CellDone) and done.error.type == "NameError"
    assert parse_cell_event({"event": "cell_done", "id": "b", "error": None}, sent).error is None
    assert parse_cell_event({"event": "exec_done"}, sent) == ExecDone()
    for forged in ({"event": "cell_done", "id": "z"}, {"event": "cell_start", "id": 1}, {"event": "cell_start"}):
        assert parse_cell_event(forged, sent) is None
    with pytest.raises(ProtocolError, match="unexpected message while running cells"):
        parse_cell_event({"ok": True, "value": 1}, sent)


def test_a_call_reply_is_a_value_or_an_error():
    reply = CallReply.parse({"ok": True, "value": 3, "inputs": {"args": [1, 2]}})
    assert (reply.ok, reply.value, reply.input_args()) == (True, 3, (1, 2))
    assert CallReply.parse({"ok": True, "value": 3, "inputs": "forged"}).input_args() == ()
    failed = CallReply.parse({"ok": False, "error": "forged"})
    assert not failed.ok and failed.error == WorkerError()
    assert not CallReply.parse({"value": 3}).ok  # no "ok": not a value


def test_zygote_messages():
    assert parse_zygote_request(ForkRequest("{}", 1.5).to_message(), 3) == ForkRequest("{}", 1.5)
    for bad in ({"op": "fork", "limits": "{}"}, {"op": "fork", "limits": "{}", "init_seconds": "1"},
                {"op": "fork", "limits": 3, "init_seconds": 1.5}, {"op": "fork", "limits": "{}", "init_seconds": -1}):
        with pytest.raises(ProtocolError, match="bad fork request"):
            parse_zygote_request(bad, 3)
    assert parse_zygote_request(EndRequest(60).to_message(), 0) == EndRequest(10.0)  # at most 10 s
    with pytest.raises(ProtocolError, match="unknown request"):
        parse_zygote_request(ForkRequest("{}", 1.5).to_message(), 2)  # a fork needs its three files
    assert ZygoteReady.parse({"event": "ready", "cpu": 1.5}) == ZygoteReady(1.5)
    with pytest.raises(ProtocolError, match="did not start"):
        ZygoteReady.parse({"event": "forked"})
    assert Forked.parse({"pid": 7}) == Forked(7)
    for forged in ({"pid": "7"}, {"pid": 7.0}, {"pid": True}, {}):
        with pytest.raises(ProtocolError, match="it answered"):
            Forked.parse(forged)
    assert Ended.parse({"returncode": -9, "cpu": 2}) == Ended(-9, 2.0)
    assert Ended.parse({"returncode": "x", "cpu": "y"}) == Ended(None, 0.0)
