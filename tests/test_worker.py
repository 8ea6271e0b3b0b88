"""The worker itself (autograder/engine/worker/serve.py), driven over its two pipes as the judge
drives it, without the judge's proxy and without the sandbox (which tests/test_sandbox.py and
tests/test_zygote.py cover): what it sends is what shared/protocol.py parses."""
import os
import subprocess
import sys
import time

import pytest
import torch

from autograder.engine.shared import protocol, wire
from autograder.engine.shared.limits import Limits
from instructor.paths import ROOT

LIMITS = Limits(sandbox=False, forked_workers=False, memory_bytes=2 << 30)


@pytest.fixture
def worker():
    to_judge_r, to_judge_w = os.pipe()
    from_judge_r, from_judge_w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "autograder.engine.worker.serve", str(to_judge_w),
                             str(from_judge_r), LIMITS.to_json()], pass_fds=(to_judge_w, from_judge_r),
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL)
    os.close(to_judge_w)
    os.close(from_judge_r)

    def ask(message):
        if message is not None:
            wire.send(from_judge_w, message)
        return wire.receive(to_judge_r, deadline=time.monotonic() + 60)
    try:
        yield ask
    finally:
        os.close(from_judge_w)
        os.close(to_judge_r)
        proc.wait(timeout=30)  # it ends when the judge closes its pipe


def test_the_worker_runs_cells_and_answers_calls(worker):
    ready = protocol.WorkerReady.parse(worker(None))
    assert any("UNSANDBOXED" in gap for gap in ready.gaps)  # said, for the grading log
    cells = [{"id": "a", "source": "import torch\ndef double(x):\n    return x * 2"}, {"id": "b", "source": "1 / 0"}]
    events = [protocol.parse_cell_event(worker(protocol.ExecRequest(cells, 10.0).to_message()), {"a", "b"})]
    while not isinstance(events[-1], protocol.ExecDone):
        events.append(protocol.parse_cell_event(worker(None), {"a", "b"}))
    assert [type(e).__name__ for e in events] == ["CellStart", "CellDone", "CellStart", "CellDone", "ExecDone"]
    assert events[1].error is None and events[3].error.type == "ZeroDivisionError"
    assert events[3].error.where == ["  answer cell b, line 1, in <module>\n    1 / 0"]

    reply = protocol.CallReply.parse(worker(protocol.CallRequest("call", target="double", args=[torch.ones(2)],
                                                                 return_inputs=True).to_message()))
    assert reply.ok and torch.equal(reply.value, torch.full((2,), 2.0)) and torch.equal(reply.input_args()[0], torch.ones(2))

    missing = protocol.CallReply.parse(worker(protocol.CallRequest("call", target="triple").to_message()))
    assert not missing.ok and missing.error.type == "NameError"

    refused = protocol.CallReply.parse(worker(protocol.CallRequest(
        "eval", code="torch.softmax(x, 0)", bindings={"x": torch.ones(2)}, forbid=["torch.softmax"]).to_message()))
    assert not refused.ok and refused.error.type == "ForbiddenBuiltinError" and "softmax" in refused.error.forbidden

    unknown = protocol.CallReply.parse(worker({"op": "shutdown"}))
    assert not unknown.ok and unknown.error.type == "ProtocolError" and "unknown op 'shutdown'" in unknown.error.message


def test_a_refusal_met_while_the_reply_is_encoded_fails_the_call(worker):
    """A reply of plain values is encoded in a sealed step, by functions taken at import: a
    patched ``Tensor.numpy`` never runs for it. Any other reply (a tensor subclass here) is encoded
    under the guard, where student code that runs then is refused a built-in as anywhere in the
    call, and catching the refusal does not save the call, as it does not inside the function."""
    protocol.WorkerReady.parse(worker(None))
    _run_cells(worker, (
        "import torch\n"
        "_numpy = torch.Tensor.numpy\n"
        "ran = []\n"
        "def _sneaky_numpy(self, *args, **kwargs):\n"
        "    ran.append(1)\n"
        "    try:\n"
        "        torch.softmax(torch.ones(2), 0)\n"
        "    except Exception:\n"
        "        pass\n"
        "    return _numpy(self, *args, **kwargs)\n"
        "class Mine(torch.Tensor):\n"
        "    pass\n"
        "def identity(x):\n"
        "    torch.Tensor.numpy = _sneaky_numpy\n"
        "    return x\n"
        "def subclassed(x):\n"
        "    torch.Tensor.numpy = _sneaky_numpy\n"
        "    return x.as_subclass(Mine)\n"
        "def report():\n"
        "    return len(ran)\n"))

    def call(target, forbid=("torch.softmax",)):
        return protocol.CallReply.parse(worker(protocol.CallRequest(
            "call", target=target, args=[torch.ones(3)] if target != "report" else [], forbid=list(forbid)).to_message()))

    plain = call("identity")
    assert plain.ok and torch.equal(plain.value, torch.ones(3)) and call("report").value == 0
    reply = call("subclassed")
    assert not reply.ok and reply.error.type == "ForbiddenBuiltinError" and "softmax" in reply.error.forbidden
    assert call("report").value >= 1
    unguarded = call("subclassed", forbid=())
    assert unguarded.ok and torch.equal(unguarded.value, torch.ones(3))  # nothing refused: the same call passes


def test_student_code_run_inside_a_sealed_step_fails_the_call(worker):
    """The worker's own steps inside a guarded call (the CPU limit, seeding, encoding a plain
    reply) run with the guard's hooks off and a tripwire on: a Python frame not the worker's
    that starts there (here an audit hook, which ``resource.setrlimit`` calls) fails the call;
    a trace function a cell set does not run there; a call with nothing forbidden is not sealed."""
    protocol.WorkerReady.parse(worker(None))
    _run_cells(worker, (
        "import sys, torch\n"
        "traced = set()\n"
        "def tracer(frame, event, arg):\n"
        "    traced.add(frame.f_code.co_name)\n"
        "sys.settrace(tracer)\n"
        "def identity(x):\n"
        "    return x\n"
        "def report():\n"
        "    return sorted(traced & {'identity', 'frame_plain', '_encode_plain', '_seed_cpu', 'limit_cpu_seconds'})\n"))
    call = protocol.CallRequest("call", target="identity", args=[torch.ones(3)], forbid=["torch.softmax"])
    assert protocol.CallReply.parse(worker(call.to_message())).ok
    traced = protocol.CallReply.parse(worker(protocol.CallRequest(  # guarded, so sealed too
        "call", target="report", forbid=["torch.softmax"]).to_message())).value
    assert "identity" in traced and not {"frame_plain", "_encode_plain", "_seed_cpu", "limit_cpu_seconds"} & set(traced), traced

    _run_cells(worker, (
        "import random\n"
        "heard = []\n"
        "def hook(event, args):\n"
        "    heard.append(event)\n"
        "sys.addaudithook(hook)\n"
        "def _set(self, value):\n"
        "    heard.append('gauss_next')\n"
        "random.Random.gauss_next = property(lambda self: None, _set)\n"
        "def heard_so_far():\n"
        "    return list(heard)\n"))
    intruded = protocol.CallReply.parse(worker(call.to_message()))
    assert not intruded.ok and intruded.error.type == "ForbiddenBuiltinError"
    assert "grader's steps" in intruded.error.forbidden
    unsealed = protocol.CallReply.parse(worker(protocol.CallRequest(
        "call", target="identity", args=[torch.ones(3)]).to_message()))
    assert unsealed.ok and torch.equal(unsealed.value, torch.ones(3))
    # the property ran (seeding sets gauss_next), the audit hook was never added
    heard = protocol.CallReply.parse(worker(protocol.CallRequest("call", target="heard_so_far").to_message()))
    assert heard.ok and heard.value and set(heard.value) == {"gauss_next"}, heard.value


def _run_cells(worker, source: str) -> None:
    event = worker(protocol.ExecRequest([{"id": "a", "source": source}], 10.0).to_message())
    while not isinstance(protocol.parse_cell_event(event, {"a"}), protocol.ExecDone):
        event = worker(None)


def test_student_code_never_runs_unguarded_while_a_call_is_in_hand(worker):
    """What the worker calls around a student's function (reading and parsing the request,
    decoding its tensors, setting the CPU limit, describing an error, writing the reply) is
    either taken before any student code ran, so that replacing it in a cell changes nothing,
    or runs under the guard: student code reached through it is refused a built-in as inside the
    function. Before, ``os.write`` replaced in a cell put torch.softmax into the reply after the
    guard had ended, and a replaced ``Tensor.reshape`` computed it as the request was decoded.
    Decoding runs no student code at all: it uses functions taken at import, with torch's
    function and dispatch modes off."""
    protocol.WorkerReady.parse(worker(None))
    _run_cells(worker, (
        "import json, os, resource, struct, torch\n"
        "seen = []\n"
        "def _spy(module, name):\n"
        "    original = getattr(module, name)\n"
        "    def spy(*args, **kwargs):\n"
        "        seen.append(name)\n"
        "        return original(*args, **kwargs)\n"
        "    setattr(module, name, spy)\n"
        "for _module, _name in ((os, 'read'), (os, 'write'), (json, 'loads'), (json, 'dumps'), (struct, 'unpack'),\n"
        "                       (struct, 'pack'), (resource, 'getrusage'), (resource, 'setrlimit')):\n"
        "    _spy(_module, _name)\n"
        "def report():\n"
        "    return list(seen)\n"
        "def identity(x):\n"
        "    seen.clear()  # what the cell's own end messages ran (json.dumps) is no call's\n"
        "    return x\n"
        "class Described(Exception):\n"
        "    def __str__(self):\n"
        "        return str(torch.softmax(torch.ones(2), 0))\n"
        "def raises(x):\n"
        "    raise Described()\n"))
    call = protocol.CallRequest("call", target="identity", args=[torch.ones(3)], forbid=["torch.softmax"])
    assert protocol.CallReply.parse(worker(call.to_message())).ok
    seen = protocol.CallReply.parse(worker(protocol.CallRequest("call", target="report").to_message()))
    # nothing of the list runs, guarded or not: a plain reply is encoded by functions taken at import
    assert seen.ok and not seen.value, seen.value

    described = protocol.CallReply.parse(worker(protocol.CallRequest(
        "call", target="raises", args=[torch.ones(3)], forbid=["torch.softmax"]).to_message()))
    assert not described.ok and described.error.type == "ForbiddenBuiltinError" and "softmax" in described.error.forbidden

    # Tensor methods replaced in a cell, and a torch-function mode left on: decoding uses neither
    _run_cells(worker, (
        "from torch.overrides import TorchFunctionMode\n"
        "for _name in ('reshape', 'view', 'copy_', 'expand', 'requires_grad_', 'size'):\n"
        "    _spy(torch.Tensor, _name)\n"
        "_spy(torch, 'frombuffer')\n"
        "class Watching(TorchFunctionMode):\n"
        "    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
        "        seen.append(getattr(func, '__name__', 'a torch function'))\n"
        "        return func(*args, **(kwargs or {}))\n"
        "def plus_one(x):\n"
        "    return x + 1\n"
        "Watching().__enter__()\n"
        "seen.clear()\n"))
    decoded = protocol.CallReply.parse(worker(call.to_message()))
    assert decoded.ok and torch.equal(decoded.value, torch.ones(3))
    seen = protocol.CallReply.parse(worker(protocol.CallRequest("call", target="report").to_message()))
    # the mode saw nothing of decoding, nor of the reply's encoding (a sealed step, with the modes off)
    assert seen.ok and not {"reshape", "view", "frombuffer", "copy_", "expand", "size", "numpy"} & set(seen.value), \
        seen.value
    # and the mode is on: it sees the student's own code (a reply under the guard encodes it with it on)
    assert protocol.CallReply.parse(worker(protocol.CallRequest(
        "call", target="plus_one", args=[torch.ones(3)], forbid=["torch.softmax"]).to_message())).ok
    seen = protocol.CallReply.parse(worker(protocol.CallRequest("call", target="report").to_message()))
    assert {"add", "__add__"} & set(seen.value), seen.value


def _cell(name: str, source: str, namespace: dict) -> None:
    """Run ``source`` as the worker runs an answer cell: compiled under the cell's name, its lines
    in linecache."""
    import linecache
    filename = f"<answer cell {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


def test_an_errors_frames_are_those_traceback_gives():
    """The answer cells' frames of an error, as the worker describes them, are what
    ``traceback.extract_tb`` gives for those frames (nested cells, a comprehension, a lambda,
    recursion deeper than the six kept, a frame of a library in between)."""
    import traceback

    from autograder.engine.worker import serve
    namespace = {"np": __import__("numpy")}
    _cell("inner", "def inner(x):\n    if x.ndim != 2:\n        raise ValueError('expected (n, k)')\n"
          "    return x\n", namespace)
    _cell("outer", "def outer(xs):\n    return [inner(x) for x in xs]\n\n"
          "square = lambda x: inner(x) ** 2\n\n"
          "def deep(n):\n    return inner(np.ones(3)) if n == 0 else deep(n - 1)\n\n"
          "def through_numpy(x):\n    return np.apply_along_axis(lambda row: inner(row), 1, x)\n", namespace)
    calls = [lambda: namespace["outer"]([torch.ones(2, 2), torch.ones(3)]), lambda: namespace["square"](torch.ones(2)),
             lambda: namespace["deep"](9), lambda: namespace["through_numpy"](__import__("numpy").ones((2, 2)))]
    for call in calls:
        with pytest.raises(ValueError) as raised:
            call()
        frames = [f for f in traceback.extract_tb(raised.value.__traceback__) if f.filename.startswith("<answer cell")]
        expected = [f'  {f.filename[1:-1]}, line {f.lineno}, in {f.name}\n    {(f.line or "").strip()}'
                    for f in frames][-6:]
        assert serve._answer_cell_frames(raised.value.__traceback__) == expected
        assert expected  # the cells' frames are there to compare
