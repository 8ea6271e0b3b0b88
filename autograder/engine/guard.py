"""Built-ins a from-scratch exercise may not call, refused while it runs.

Four nets, because a student can reach a built-in in many ways:
- the ATen operator that computes it (``aten::mm``, ``aten::_softmax``, in-place and
  ``out=`` overloads included): a ``TorchDispatchMode`` sees every operator torch runs,
  however it was reached (``torch._softmax``, ``torch.ops.aten.*``, ``torch._C._nn.*``,
  ``einsum`` lowered to ``bmm``), and names the course's built-in it belongs to;
- a torch function or tensor method (``torch.matmul``, ``a @ b``, ``x.softmax``):
  a ``TorchFunctionMode`` names exactly what was called, before it is lowered;
- a pure-Python function (``torch.broadcast_shapes``, ``numpy.linalg.multi_dot``) or
  ``torch.ops`` called by name: a profile hook sees its code object run, even
  through a saved reference;
- a numpy C function (``numpy.matmul``, ``numpy.dot``): its module attribute is
  replaced for the duration of the call.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import sys

import numpy as np
import torch
import torch._decomp.decompositions  # noqa: F401  (private routes, looked up by name)
import torch._prims_common  # noqa: F401
import torch._refs  # noqa: F401
import torch._refs.nn.functional  # noqa: F401
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode


class ForbiddenBuiltinError(RuntimeError):
    """Raised inside the student's call when it uses a built-in it may not use."""

    def __init__(self, name: str):
        super().__init__(f"{name} is not allowed in this exercise: write it from scratch")
        self.builtin = name


def _resolve(path: str):
    root, *rest = path.split(".")
    obj = {"torch": torch, "numpy": np, "F": F}[root]
    for part in rest:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


# What each forbidden name of COURSE.md covers: the aliases that compute the same thing.
ALIASES = {
    # `a @ b` reaches torch as the tensor method matmul, so the two are one entry.
    "@": ["torch._C.TensorBase.matmul", "torch.Tensor.__matmul__", "torch.Tensor.__rmatmul__",
          "torch.Tensor.__imatmul__"],
    "torch.matmul": ["torch.matmul", "torch.linalg.matmul"],
    "torch.mm": ["torch.mm", "torch.Tensor.mm", "torch.addmm", "torch.Tensor.addmm", "torch.Tensor.addmm_",
                 "torch.chain_matmul", "torch.linalg.multi_dot", "torch._C._VariableFunctions.mm",
                 "torch._C._VariableFunctions.addmm", "torch.sparse.mm", "torch.sparse.addmm",
                 "torch.sparse.sampled_addmm", "torch.hspmm", "torch.smm", "torch.sspaddmm",
                 "torch._decomp.decompositions.addmm", "torch._decomp.decompositions.matmul",
                 "torch._decomp.decompositions.mv"],
    "torch.bmm": ["torch.bmm", "torch.Tensor.bmm", "torch.baddbmm", "torch.addbmm"],
    "torch.mv": ["torch.mv", "torch.Tensor.mv", "torch.addmv"],
    "torch.dot": ["torch.dot", "torch.Tensor.dot", "torch.vdot", "torch.inner", "torch.linalg.vecdot"],
    "torch.einsum": ["torch.einsum"],
    "torch.tensordot": ["torch.tensordot"],
    "torch.nn.functional.linear": ["torch.nn.functional.linear", "torch._C._nn.linear",
                                   "torch.nn.functional.bilinear"],
    "numpy.matmul": ["numpy.matmul", "numpy.linalg.matmul", "numpy.matvec", "numpy.vecmat",
                     "numpy.linalg.multi_dot"],
    "numpy.dot": ["numpy.dot", "numpy.vdot", "numpy.inner", "numpy.tensordot", "numpy.linalg.tensordot",
                  "numpy.vecdot", "numpy.linalg.vecdot", "numpy.linalg.multi_dot"],
    "numpy.einsum": ["numpy.einsum"],
    "torch.broadcast_shapes": ["torch.broadcast_shapes", "torch.functional.broadcast_shapes",
                               "torch._refs._broadcast_shapes", "torch._refs.broadcast_shapes",
                               "torch._prims_common.infer_size", "torch._C._infer_size"],
    "numpy.broadcast_shapes": ["numpy.broadcast_shapes", "numpy.broadcast", "numpy.broadcast_arrays",
                               "numpy.broadcast_to"],
    "torch.broadcast_tensors": ["torch.broadcast_tensors", "torch.functional.broadcast_tensors",
                                "torch._C._VariableFunctions.broadcast_tensors", "torch._refs.broadcast_tensors",
                                "torch.broadcast_to", "torch.Tensor.broadcast_to"],
    "torch.softmax": ["torch.softmax", "torch.Tensor.softmax", "torch.special.softmax", "torch._softmax",
                      "torch._C._VariableFunctions._softmax", "torch._refs.softmax",
                      "torch._refs.nn.functional.softmax", "torch._decomp.decompositions._softmax",
                      "torch.sparse.softmax"],
    "torch.nn.functional.softmax": ["torch.nn.functional.softmax"],
    "torch.log_softmax": ["torch.log_softmax", "torch.Tensor.log_softmax", "torch.special.log_softmax",
                          "torch._log_softmax", "torch._C._VariableFunctions._log_softmax", "torch._refs.log_softmax",
                          "torch._refs.nn.functional.log_softmax", "torch._decomp.decompositions._log_softmax",
                          "torch.sparse.log_softmax"],
    "torch.nn.functional.log_softmax": ["torch.nn.functional.log_softmax"],
    "torch.logsumexp": ["torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp", "torch._refs.logsumexp"],
    "torch.nn.functional.cross_entropy": ["torch.nn.functional.cross_entropy"],
    "torch.nn.functional.nll_loss": ["torch.nn.functional.nll_loss", "torch._refs.nn.functional.nll_loss",
                                     "torch._decomp.decompositions.nll_loss_forward", "torch._C._nn.nll_loss",
                                     "torch._C._nn.nll_loss_nd", "torch._C._nn.nll_loss2d"],
    "torch.nn.functional.binary_cross_entropy": ["torch.nn.functional.binary_cross_entropy",
                                                 "torch.nn.functional.binary_cross_entropy_with_logits"],
    "torch.nn losses": ["torch.nn.CrossEntropyLoss.forward", "torch.nn.NLLLoss.forward",
                        "torch.nn.BCELoss.forward", "torch.nn.BCEWithLogitsLoss.forward"],
    "torch.nn.Linear": ["torch.nn.Linear.forward"],
    "torch.relu": ["torch.relu", "torch.Tensor.relu", "torch.relu_", "torch.Tensor.relu_"],
    "torch.nn.functional.relu": ["torch.nn.functional.relu", "torch.nn.ReLU.forward"],
    # Every optimizer's step (SGD, Adam, AdamW, ...) runs through one decorator's code
    # object, so SGD.step covers them all; torch.optim.sgd.sgd is the functional form.
    "torch.optim": ["torch.optim.SGD.step", "torch.optim.sgd.sgd"],
}

# The C routes of numpy, replaced on their modules while a call runs.
NUMPY_PATCHABLE = [(np, name) for name in ("matmul", "dot", "vdot", "inner", "tensordot", "einsum", "vecdot",
                                           "matvec", "vecmat", "broadcast_shapes", "broadcast",
                                           "broadcast_arrays", "broadcast_to") if hasattr(np, name)]
NUMPY_PATCHABLE += [(np.linalg, name) for name in ("matmul", "multi_dot", "tensordot", "vecdot")
                    if hasattr(np.linalg, name)]

_MATRIX_PRODUCTS = {"@", "torch.matmul", "torch.mm", "torch.bmm", "torch.mv", "torch.dot", "torch.einsum",
                    "torch.tensordot"}
_LINEAR = {"torch.nn.functional.linear", "torch.nn.Linear"}
# The ATen operators behind the course's built-ins (names without overload or a trailing
# underscore, so ``mm.out`` and ``relu_`` count): operator -> the built-ins it computes.
OPERATORS = {
    **{op: _MATRIX_PRODUCTS for op in ("mm", "bmm", "mv", "dot", "vdot", "addmm", "addmv", "addbmm", "baddbmm",
                                       "matmul", "einsum", "tensordot", "inner", "chain_matmul",
                                       "linalg_multi_dot", "linalg_vecdot", "linalg_matmul", "_int_mm",
                                       "_scaled_mm", "_weight_int8pack_mm", "_weight_int4pack_mm",
                                       "_sparse_mm", "_sparse_addmm", "hspmm", "smm", "sspaddmm",
                                       "_sparse_sparse_matmul", "sparse_sampled_addmm", "_sparse_mm_reduce_impl",
                                       "_sparse_csr_mm", "_sparse_csr_addmm")},
    **{op: _LINEAR | {"torch.matmul"} for op in ("linear", "_addmm_activation", "mkldnn_linear",
                                                 "_mixed_dtypes_linear")},
    **{op: {"torch.softmax", "torch.nn.functional.softmax"} for op in ("softmax", "_softmax", "special_softmax",
                                                                      "_safe_softmax", "_sparse_softmax",
                                                                      "_masked_softmax")},
    **{op: {"torch.log_softmax", "torch.nn.functional.log_softmax", "torch.nn.functional.cross_entropy"}
       for op in ("log_softmax", "_log_softmax", "special_log_softmax", "_sparse_log_softmax")},
    **{op: {"torch.logsumexp"} for op in ("logsumexp", "special_logsumexp")},
    "cross_entropy_loss": {"torch.nn.functional.cross_entropy", "torch.nn losses"},
    **{op: {"torch.nn.functional.nll_loss", "torch.nn.functional.cross_entropy", "torch.nn losses"}
       for op in ("nll_loss", "nll_loss_forward", "nll_loss2d", "nll_loss2d_forward", "nll_loss_nd")},
    **{op: {"torch.nn.functional.binary_cross_entropy", "torch.nn losses"}
       for op in ("binary_cross_entropy", "binary_cross_entropy_with_logits")},
    "relu": {"torch.relu", "torch.nn.functional.relu"},
}


def expand(names) -> dict:
    """Callable -> the forbidden name to report; one shared table per set of names (read only)."""
    return _expand(tuple(sorted(set(names))))


@functools.lru_cache(maxsize=64)
def _expand(names: tuple) -> dict:
    return _expand_uncached(names)


def _expand_uncached(names) -> dict:
    """Map every callable the listed names cover to the name to report."""
    covered = {}
    for name in names:
        if name not in ALIASES:
            raise KeyError(f"unknown forbidden built-in {name!r}; known: {sorted(ALIASES)}")
        for path in ALIASES[name]:
            obj = _resolve(path)
            if obj is not None:
                covered[obj] = name
            twin = _resolve(path.replace("torch.", "torch._C._VariableFunctions.", 1)) if path.count(".") == 1 else None
            if twin is not None:
                covered[twin] = name
    return covered


@functools.lru_cache(maxsize=64)
def _operators_refused(names: frozenset) -> dict:
    return _operators_refused_uncached(names)


def operators_refused(names) -> dict:
    """ATen operator -> the forbidden name to report; one shared table per set of names (read only)."""
    return _operators_refused(frozenset(names))


def _operators_refused_uncached(names) -> dict:
    """ATen operator -> the forbidden built-in to name when it runs."""
    names = set(names)
    refused = {}
    for op, builtins in OPERATORS.items():
        hit = sorted(builtins & names)
        if op in ("mm", "bmm", "mv", "dot", "addmm") and hit and "@" in hit and len(hit) > 1:
            hit.remove("@")  # name the function, not the operator symbol, when both are forbidden
        if hit:
            refused[op] = hit[0]
    return refused


_OPERATOR_NAMES: dict = {}  # operator overload -> its name: the dispatch mode asks for every operator run


def _operator_name(op) -> str:
    """``aten::mm.out`` / ``aten.relu_.default`` -> ``mm`` / ``relu``."""
    try:
        return _OPERATOR_NAMES[op]
    except (KeyError, TypeError):
        pass
    name = _operator_name_uncached(op)
    try:
        _OPERATOR_NAMES[op] = name
    except TypeError:  # unhashable: not an operator torch made
        pass
    return name


def _operator_name_uncached(op) -> str:
    packet = getattr(op, "_overloadpacket", op)
    name = getattr(packet, "_qualified_op_name", None) or str(getattr(packet, "__name__", ""))
    name = name.split("::")[-1].split(".")[0]
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name


def _reached_as(operators: dict, op: str) -> str:
    """What a refusal by operator says: the course's built-in, and the operator that computes it."""
    return f"{operators[op]} (reached as aten::{op})"


class _RefuseTorchFunctions(TorchFunctionMode):
    def __init__(self, covered: dict, refuse):
        super().__init__()
        self.covered = covered
        self.refuse = refuse

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = self.covered.get(func)
        if name is None:
            name = self.covered.get(getattr(func, "__func__", None))
        if name is not None:
            self.refuse(name)
        return func(*args, **(kwargs or {}))


class _RefuseOperators(TorchDispatchMode):
    def __init__(self, operators: dict, refuse):
        super().__init__()
        self.operators = operators
        self.refuse = refuse

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        op = _operator_name(func)
        if op in self.operators:
            self.refuse(_reached_as(self.operators, op))
        return func(*args, **(kwargs or {}))


# torch wraps every dispatch mode's __torch_dispatch__ so that its first call imports
# torch._dynamo, two CPU-seconds in every worker; nothing in a worker is ever compiled,
# so the wrapper is told that the function is already as dynamo would leave it.
_raw_dispatch = getattr(_RefuseOperators.__dict__["__torch_dispatch__"], "__wrapped__", None)
if _raw_dispatch is not None:
    setattr(_raw_dispatch, "__dynamo_disable", _raw_dispatch)

# The guard's own hooks run on every operator the student's code runs; the profile hook
# skips their frames (and the C functions they call), which it would otherwise see several
# times per operator. They only call what the modes themselves check.
_OWN_CODES = frozenset(code for code in (
    _RefuseTorchFunctions.__torch_function__.__code__,
    getattr(_raw_dispatch, "__code__", None) or _RefuseOperators.__torch_dispatch__.__code__,
    _operator_name.__code__, _reached_as.__code__) if code is not None)


def _op_call_codes() -> set:
    """The Python entry points of ``torch.ops.aten.X(...)``: seen by the profile hook,
    because an operator torch decomposes (``aten::linear``) never reaches dispatch."""
    from torch import _ops
    codes = set()
    for cls in (_ops.OpOverload, _ops.OpOverloadPacket):
        call = getattr(cls, "__call__", None)
        if getattr(call, "__code__", None) is not None:
            codes.add(call.__code__)
    return codes


_OP_CALLS = _op_call_codes()


# Switching the refusal off from inside the call is itself refused: these are the ways.
_TAMPER_NAME = "switching off the grader's checks"
_TAMPER_C = {sys.setprofile, sys.settrace} | {
    getattr(torch._C, name) for name in ("_set_torch_function_mode", "_push_on_torch_dispatch_stack",
                                         "_pop_torch_dispatch_stack", "_pop_torch_function_stack",
                                         "_push_on_torch_function_stack", "_set_dispatch_mode",
                                         "_unset_dispatch_mode") if hasattr(torch._C, name)}


def _tamper_codes() -> set:
    import torch.utils._python_dispatch as python_dispatch
    codes = set()
    for module, names in ((python_dispatch, ("_disable_current_modes", "_pop_mode", "_pop_mode_temporarily")),
                          (torch.overrides, ("_pop_mode", "_pop_mode_temporarily", "_disable_user_modes"))):
        for name in names:
            function = getattr(module, name, None)
            code = getattr(getattr(function, "__wrapped__", function), "__code__", None)
            if code is not None:
                codes.add(code)
    return codes


_TAMPER_CODES = _tamper_codes()


# Names whose functions share one decorator on purpose: every optimizer's step runs through
# the same wrapper, so its code object stands for all of them.
_SHARED_DECORATOR_NAMES = {"torch.optim"}


def _codes_run_by(f, name: str) -> list:
    """The code objects whose running means ``f`` runs. A decorated function's own code is
    the decorator's wrapper, shared with every function it decorates (``Tensor.__rmatmul__``
    shares it with ``__rsub__`` and ``__rpow__``, ``torch._refs.softmax`` with every
    reference), so it is the wrapped function's code that names ``f``."""
    function = getattr(f, "__func__", f)
    outer = getattr(function, "__code__", None)
    if outer is None:
        return []
    inner = getattr(inspect.unwrap(function), "__code__", outer)
    if inner is outer:
        return [outer]
    return [outer, inner] if name in _SHARED_DECORATOR_NAMES else [inner]


@functools.lru_cache(maxsize=64)
def _code_tables(names: tuple) -> tuple[dict, dict]:
    """(code object -> name to report, for Python functions and modules' forward methods; C
    method name -> name to report, for methods reached through an instance: a.numpy().dot(b))."""
    python_codes = {code: _TAMPER_NAME for code in _TAMPER_CODES}
    methods = {}
    for f, n in expand(names).items():
        for code in _codes_run_by(f, n):
            python_codes[code] = n
        if type(f).__name__ in ("method_descriptor", "builtin_function_or_method"):
            methods.setdefault(getattr(f, "__name__", ""), n)
    return python_codes, methods


def _from_student(frame) -> bool:
    """Code compiled from a string (answer cells, exec, eval), not torch's own: torch
    pops its modes itself, legitimately, in the middle of ordinary operations."""
    return frame is not None and not frame.f_code.co_filename.startswith("/")


@contextlib.contextmanager
def forbidden(names, namespace: dict | None = None):
    """While the block runs, calling any of ``names`` raises ForbiddenBuiltinError.

    Yields the list of refusals made: a student's ``try/except`` can swallow the
    error, not the record, and the caller fails the call when the list is not empty.
    ``namespace``: the student's globals, where saved references to a built-in
    (``from numpy import dot as d``) are replaced for the call too."""
    refused: list[str] = []
    if not names:
        yield refused
        return
    covered = expand(names)
    operators = operators_refused(names)

    def refuse(name):
        refused.append(name)
        raise ForbiddenBuiltinError(name)

    python_codes, methods = _code_tables(tuple(sorted(set(names))))
    active = [False]  # only while the student's code runs: the guard's own set-up is not tampering

    def profile(frame, event, arg):
        if not active[0] or frame.f_code in _OWN_CODES:
            return
        if event == "call":
            code = frame.f_code
            name = python_codes.get(code)
            if name is not None and (name != _TAMPER_NAME or _from_student(frame.f_back)):
                refuse(name)
            if code in _OP_CALLS:
                op = _operator_name(frame.f_locals.get("self"))
                if op in operators:
                    refuse(_reached_as(operators, op))
        elif event == "c_call":
            name = covered.get(arg)
            if name is None and arg in _TAMPER_C and _from_student(frame):
                name = _TAMPER_NAME
            if name is None and isinstance(getattr(arg, "__self__", None), (torch.Tensor, np.ndarray)):
                name = methods.get(getattr(arg, "__name__", None))
                if name is None and getattr(arg, "__name__", None) == "dot" and "numpy.dot" in names:
                    name = "numpy.dot"
            if name is not None:
                refuse(name)

    saved = []
    for module, attr in NUMPY_PATCHABLE:
        original = getattr(module, attr)
        name = covered.get(original)
        if name is not None:
            saved.append((module, attr, original))
            setattr(module, attr, _refuser(name, refuse))
    originals = {id(original): name for _, _, original in saved for name in [covered.get(original)]}
    for key, value in list((namespace or {}).items()):
        try:
            name = covered.get(value) or originals.get(id(value))
        except TypeError:  # unhashable
            continue
        if name is not None:
            saved.append((namespace, key, value))
            namespace[key] = _refuser(name, refuse)
    modes = contextlib.ExitStack()
    previous_profile = sys.getprofile()
    try:
        modes.enter_context(_RefuseTorchFunctions(covered, refuse))
        modes.enter_context(_RefuseOperators(operators, refuse))
        sys.setprofile(profile)
        active[0] = True
        yield refused
        active[0] = False
        if sys.getprofile() is not profile and not refused:
            refused.append(_TAMPER_NAME)  # the hook was removed, not by a refusal
    finally:
        active[0] = False
        sys.setprofile(previous_profile)
        modes.close()
        for where, attr, original in reversed(saved):
            if isinstance(where, dict):
                where[attr] = original
            else:
                setattr(where, attr, original)


def _refuser(name, refuse):
    def refused(*args, **kwargs):
        refuse(name)
    return refused
