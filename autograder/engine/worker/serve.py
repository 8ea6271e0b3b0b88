"""The student's side: runs the answer cells and serves calls from the judge.

Started by ``autograder.engine.judge.student_proxy.StudentProcess``. Everything the judge
learns from here crosses through ``wire`` as plain data; nothing here is trusted.
"""
from __future__ import annotations

import contextlib
import importlib
import linecache
import random
import resource
import signal
import sys

import numpy as np
import numpy.random  # noqa: F401  (numpy imports it on first use: every call seeds it)
import torch

from autograder.engine.worker import confine, dynamo_until_needed, guard, sealed
from autograder.engine.shared import protocol, wire
from autograder.engine.shared.limits import Limits

# Taken at import, before any student code: replacing guard.forbidden later changes nothing.
_forbidden = guard.forbidden


class _NoMagics:
    """Stands in for IPython so that ``%matplotlib`` and ``!pip`` lines are ignored."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


def _answer_cell_frames(tb, kept: int = 6) -> list[str]:
    """The answer cells' frames of a traceback (the innermost ``kept``), as feedback shows them:
    each from its own line number and the cell's lines, which ``exec_cells`` keeps in linecache.
    Not ``traceback.extract_tb``, which computes every frame's column positions and checks the
    worker's own source files on disk (a tenth of 04's worker CPU, where tests ask for errors)."""
    lines = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.startswith("<answer cell"):
            line = linecache.getline(code.co_filename, tb.tb_lineno) if tb.tb_lineno else ""
            lines.append(f"  {code.co_filename[1:-1]}, line {tb.tb_lineno}, in {code.co_name}\n    {line.strip()}")
        tb = tb.tb_next
    return lines[-kept:]


def _describe_error(exc: BaseException) -> protocol.WorkerError:
    """Name, message and the student's own frames of an exception. Reading them runs the
    student's code (an exception's ``__str__``, a metaclass's ``__name__``): the worker does it
    under the built-in guard, and an error that cannot be described is described as such."""
    try:
        lines = _answer_cell_frames(exc.__traceback__)
        if isinstance(exc, guard.ForbiddenBuiltinError):
            kind = "ForbiddenBuiltinError"
        else:
            kind = str(type(exc).__name__)[:200]
        return protocol.WorkerError(type=kind, mro=[str(k.__name__)[:200] for k in type(exc).__mro__],
                                    message=str(exc)[:2000], forbidden=getattr(exc, "builtin", None),
                                    where=lines)
    except BaseException:
        return protocol.WorkerError(type="Exception", mro=["Exception", "BaseException", "object"],
                                    message="(an exception whose description raised another)")


# Taken at import, before any student code, which can replace ``resource.getrusage``.
_getrusage, _RUSAGE_SELF = resource.getrusage, resource.RUSAGE_SELF
_random_seed, _numpy_seed = random.seed, np.random.seed
_torch_cpu_seed = torch.random.default_generator.manual_seed


def _seed_cpu(seed: int) -> None:
    """Seed Python's, numpy's and torch's CPU generators. Not torch.manual_seed: it also queues
    lazy seeding of every accelerator backend, which costs more than the call it precedes."""
    _random_seed(seed)
    _numpy_seed(seed)
    _torch_cpu_seed(seed)


def _cpu_seconds() -> float:
    usage = _getrusage(_RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_DisableTorchFunction, _DisableTorchDispatch = torch._C.DisableTorchFunction, torch._C._DisableTorchDispatch
_Sealed, _limit_cpu_seconds, _frame_plain = sealed.Sealed, confine.limit_cpu_seconds, wire.frame_plain
_Unsealed = contextlib.nullcontext  # a call with nothing forbidden runs no guard to step out of
_cuda_initialized = torch.cuda.is_initialized
sealed.trust(_seed_cpu, _cpu_seconds, confine.limit_cpu_seconds, random.Random.seed, *wire.PLAIN_ENCODER)


# Different grader statements a worker keeps compiled (a test sends a few, each with every example).
GRADER_CODE_KEPT = 256


class Worker:
    def __init__(self, to_judge: int, from_judge: int, limits: Limits):
        self.to_judge = to_judge
        self.from_judge = from_judge
        self.limits = limits
        self.namespace = {"__name__": "__main__", "get_ipython": _NoMagics}
        self.objects: dict[int, object] = {}
        self.grader_code: dict[tuple[str, str], object] = {}  # (source, mode) -> code object

    # -- handles for objects that cannot cross as data
    def make_handle(self, obj) -> wire.Handle:
        handle_id = len(self.objects) + 1
        self.objects[handle_id] = obj
        try:
            type_name = type(obj).__qualname__
        except Exception:
            type_name = "object"
        return wire.Handle(handle_id, str(type_name))

    def resolve_handle(self, handle: wire.Handle):
        try:
            return self.objects[handle.handle_id]
        except KeyError:
            raise wire.WireError(f"unknown handle {handle.handle_id}") from None

    def send(self, message) -> None:
        wire.write_frame(self.to_judge, self.frame(message))

    def frame(self, message) -> bytes:
        message = message.to_message()
        message["cpu"] = _cpu_seconds()  # for the cost profile only, never for grades
        return wire.frame(message, self.make_handle)

    # -- operations
    def exec_cells(self, cells, cpu_seconds: float) -> None:
        from IPython.core.inputtransformer2 import TransformerManager
        transform = TransformerManager().transform_cell
        for cell in cells:
            self.send(protocol.CellStart(cell["id"]))
            filename = f"<answer cell {cell['id']}>"
            error = None
            try:
                source = transform(cell["source"])
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                confine.limit_cpu_seconds(cpu_seconds)
                self._seed(0)
                exec(compile(source, filename, "exec"), self.namespace)
            except BaseException as exc:  # a student's sys.exit is an error of that cell, not the end
                error = _describe_error(exc)
            self.send(protocol.CellDone(cell["id"], error))
        self.send(protocol.ExecDone())

    @staticmethod
    def _seed(seed: int) -> None:
        _seed_cpu(seed)
        if torch.cuda.is_initialized():
            torch.cuda.manual_seed_all(seed)

    def _compute(self, op: str, request: protocol.CallRequest, args: tuple, kwarg_items: tuple):
        """What one request asks for: ``call`` a function of the notebook by name,
        ``call_method`` of an object the worker holds, ``eval`` a grader expression or
        ``run`` grader statements (their ``result``) in the notebook's namespace."""
        if op in ("eval", "run"):
            scope = dict(self.namespace)
            scope.update(request.bindings)
            if op == "eval":
                return eval(self._compiled(request.code, "eval"), scope)
            exec(self._compiled(request.code, "exec"), scope)
            return scope.get("result")
        if op == "call_method":
            func = getattr(request.target, request.method)
        else:
            if request.target not in self.namespace:
                raise NameError(f"name {request.target!r} is not defined")
            func = self.namespace[request.target]
        return func(*args, **dict(kwarg_items))

    def _compiled(self, source: str, mode: str):
        """Grader code, compiled once per worker: a test sends the same statements with each of
        its examples, and compiling 04b's step and its read-back (15 lines) took longer than
        running them. The worker is the notebook's alone (forked afresh for each), and so is
        what it keeps here."""
        key = (source, mode)
        code = self.grader_code.get(key)
        if code is None:
            if len(self.grader_code) >= GRADER_CODE_KEPT:
                self.grader_code.clear()
            code = self.grader_code[key] = compile(source, "<grader>", mode)
        return code

    def decode(self, raw: tuple):
        """A request, as ``wire.receive_raw`` read it, decoded into values with no code of the
        student's running: wire decodes by functions it took before any student code ran, and
        here no torch-function or dispatch mode (the student's, left on torch's stacks by a
        cell) sees the tensors it makes."""
        with _DisableTorchFunction(), _DisableTorchDispatch():
            return protocol.parse_request(wire.decode(raw[0], raw[1], self.resolve_handle))

    def call(self, request: protocol.CallRequest) -> None:
        """Answer one request. The built-in guard spans all of it, to the writing of the reply:
        encoding reads the student's value, and an error's description its exception, both of
        which run the student's code; none of it may run unguarded while a call's inputs or its
        reply are in hand (a cell's ``os.write`` put torch.softmax into the reply, once)."""
        with _forbidden(request.forbid, self.namespace) as refused:
            wire.write_frame(self.to_judge, self._answer(request, refused))

    def _answer(self, request: protocol.CallRequest, refused: guard.Refusals) -> bytes:
        """The reply's frame: the value, or the error (a refusal, whatever the student made of it)."""
        try:
            cpu_seconds = self.limits.cpu_seconds if request.cpu_seconds is None else request.cpu_seconds
            # The worker's own steps, sealed where a guard runs (sealed.py): no student code runs in them.
            seal = _Sealed if request.forbid else _Unsealed
            with seal(refused):
                _limit_cpu_seconds(cpu_seconds)
                _seed_cpu(request.seed)
            if _cuda_initialized():
                torch.cuda.manual_seed_all(request.seed)
            # Tuples: the student's code can reach this frame, not change which objects it holds.
            args = tuple(request.args)
            kwarg_items = tuple(request.kwargs.items())
            value = self._compute(request.op, request, args, kwarg_items)
            if refused:  # refused, then caught by the student's own try/except
                raise guard.ForbiddenBuiltinError(refused[0])
            inputs = {"args": list(args), "kwargs": dict(kwarg_items)} if request.return_inputs else None
            with seal(refused):  # plain values are encoded with nothing of the student's running
                reply = _frame_plain({"ok": True, "value": value, **({} if inputs is None else {"inputs": inputs}),
                                      "cpu": _cpu_seconds()})
            if reply is None:  # anything else, under the guard: encoding it may run the student's code
                reply = self.frame(protocol.CallReply(True, value, inputs))
            # A refusal met while encoding fails the call too, even one the student's code caught.
            refused.confirm()
            if refused:
                raise guard.ForbiddenBuiltinError(refused[0])
            return reply
        except BaseException as exc:
            if refused and not isinstance(exc, guard.ForbiddenBuiltinError):
                exc = guard.ForbiddenBuiltinError(refused[0])  # whatever the student made of it
            error = _describe_error(exc)
            if refused and not isinstance(exc, guard.ForbiddenBuiltinError):  # refused while described
                error = _describe_error(guard.ForbiddenBuiltinError(refused[0]))
            return self.frame(protocol.CallReply(False, error=error))

    def serve(self) -> None:
        while True:
            try:
                raw = wire.receive_raw(self.from_judge)
            except EOFError:
                return
            try:
                request = self.decode(raw)
            except (protocol.ProtocolError, wire.WireError) as exc:
                self.send(protocol.CallReply(False, error=protocol.WorkerError(type(exc).__name__,
                                                                               message=str(exc))))
                continue
            if isinstance(request, protocol.ExecRequest):
                self.exec_cells(request.cells, self.limits.cells_seconds if request.cpu_seconds is None
                                else request.cpu_seconds)
            else:
                self.call(request)


def main() -> None:
    """A fresh worker: ``python -m autograder.engine.worker.serve TO_JUDGE FROM_JUDGE LIMITS``."""
    limits = Limits.from_json(sys.argv[3])  # as the judge's StudentProcess holds them
    serve_judge(int(sys.argv[1]), int(sys.argv[2]), limits)


def import_ahead(names) -> None:
    """Import ``names`` (``Limits.worker_imports``: what torch imports on first use that our
    solution's run needed) before any student code, in the zygote once, or in a fresh worker.
    One that fails to import is left to the student's code to import, as it would have been.
    First ``torch._dynamo``'s stand-in (``dynamo_until_needed``), which the list may then name."""
    dynamo_until_needed.install()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an ImportError, or any error of the module's own code
            print(f"worker_imports: {name} not imported: {exc!r}", file=sys.stderr)


def serve_judge(to_judge: int, from_judge: int, limits: Limits) -> None:
    """Confine this process, then run cells and answer calls until the judge closes its pipe
    (here in a fresh worker, or in a child forked by ``autograder.engine.worker.zygote``)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-large file write fails, not the process
    torch.set_num_threads(limits.threads)
    import IPython.core.inputtransformer2  # noqa: F401  (imported before the limits apply)
    import_ahead(limits.worker_imports)  # a forked worker: imported by its zygote already
    guard.watch_threads()  # before any student code: every thread it starts is checked too
    sealed.refuse_audit_hooks()
    gaps = confine.confine_worker(limits)
    worker = Worker(to_judge, from_judge, limits)
    worker.send(protocol.WorkerReady(gaps))
    worker.serve()


if __name__ == "__main__":
    main()
