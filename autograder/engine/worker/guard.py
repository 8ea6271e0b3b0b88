"""Built-ins a from-scratch exercise may not call, refused while it runs.

Four nets, because a student can reach a built-in in many ways:
- the ATen operator that computes it (``aten::mm``, ``aten::matmul``, ``aten::_softmax``,
  in-place and ``out=`` overloads included): a kernel of ours on the ``PreDispatch`` key of
  every such operator, a key the worker includes only while a guarded call runs, sees every
  call of the operator torch dispatches, however it was reached (``torch._softmax``,
  ``torch.ops.aten.*``, ``torch._C._nn.*``, ``map(torch.softmax, xs)``, ``einsum`` lowered to
  ``bmm``), composite operators (``aten::linear``, ``aten::einsum``) before they decompose,
  and names the course's built-in it belongs to; every other operator passes that key in C++;
- a torch function or tensor method with no refused operator of its own name
  (``torch.broadcast_tensors``, ``Tensor.broadcast_to``, which lower to ``expand``): a
  ``TorchFunctionMode`` names exactly what was called (entered only where such a C function is
  covered: ``_needs_torch_function_mode``);
- a pure-Python function (``torch.broadcast_shapes``, ``numpy.linalg.multi_dot``), or a C
  function called from Python (``torch.softmax(x)``, named as called): a profile hook sees its
  code object run, even through a saved reference;
- a numpy C function (``numpy.matmul``, ``numpy.dot``): its module attribute is
  replaced for the duration of the call.
"""
from __future__ import annotations

import _thread
import contextlib
import functools
import inspect
import os
import sys
import threading
import types

import numpy as np
import torch
import torch._decomp.decompositions  # noqa: F401  (private routes, looked up by name)
import torch._prims_common  # noqa: F401
import torch._refs  # noqa: F401
import torch._refs.nn.functional  # noqa: F401
import torch.nn.functional as F
from torch import _ops
from torch.overrides import TorchFunctionMode


class ForbiddenBuiltinError(RuntimeError):
    """Raised inside the student's call when it uses a built-in it may not use."""

    def __init__(self, name: str):
        super().__init__(f"{name} is not allowed in this exercise: write it from scratch")
        self.builtin = name


def _resolve(path: str):
    root, *rest = path.split(".")
    obj = {"torch": torch, "numpy": np, "F": F}[root]
    for at, part in enumerate(rest, 1):
        # A submodule its package does not name is found where it was imported: torch.optim
        # deletes the names of torch.optim.sgd, torch.optim.adam, ... once it has imported them.
        obj = getattr(obj, part, None) or sys.modules.get(".".join([root, *rest[:at]]))
        if obj is None:
            return None
    return obj


def _optimizer_code_paths() -> list[str]:
    """torch.optim's own code, by path: each of its modules' functions (``torch.optim.sgd.sgd``,
    ``torch.optim.adam.adam``, the single-tensor, foreach and fused updates they call,
    ``torch.optim._functional.sparse_adam``), reached without the classes, and each optimizer's
    own ``step`` (all but LBFGS's and SparseAdam's share one decorator, whose code stands for them
    all). What a module holds is its own when its code was written in the module's file (some
    classes name ``torch.optim`` as their module)."""
    paths = []
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("torch.optim.") or module is None:
            continue
        file = getattr(module, "__file__", None)
        for name, value in sorted(vars(module).items()):
            if isinstance(value, types.FunctionType) and _code_file(value) == file:
                paths.append(f"{module_name}.{name}")
            elif isinstance(value, type) and issubclass(value, torch.optim.Optimizer) \
                    and _code_file(vars(value).get("step")) == file:
                paths.append(f"{module_name}.{name}.step")
    return paths


def _code_file(function) -> str | None:
    """The file a function's own code (under its decorators) was written in."""
    return getattr(getattr(inspect.unwrap(function), "__code__", None), "co_filename", None) if function else None


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
    # Every optimizer's step (SGD, Adam, AdamW, ...) but LBFGS's and SparseAdam's runs through one
    # decorator's code object (_codes_run_by); the functional forms are each module's functions.
    "torch.optim": _optimizer_code_paths(),
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
    "bilinear": _LINEAR,  # F.bilinear, an alias of F.linear's entry (it lowers to bmm, which 06 allows)
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


def _own_operator(builtin: str) -> str:
    """The ATen operator named after a built-in: ``torch.softmax``: softmax; ``@``: matmul."""
    return "matmul" if builtin == "@" else builtin.rsplit(".", 1)[-1]


def _operators_refused_uncached(names) -> dict:
    """ATen operator -> the forbidden built-in to name when it runs: the one it is named after
    (``map(torch.softmax, xs)`` meets aten::softmax: "torch.softmax", not "F.softmax"; ``a @ b``
    meets aten::matmul: "@"), else a function rather than the operator symbol, the shortest name."""
    names = set(names)
    refused = {}
    for op, builtins in OPERATORS.items():
        hit = builtins & names
        if hit:
            refused[op] = min(hit, key=lambda name: (_own_operator(name) != op, (name == "@") != (op == "matmul"),
                                                     " " in name, len(name), name))
    return refused


# id(operator) -> (operator, its name): the profile hook asks for each ``torch.ops.aten.X(...)``
# the student's code calls. Keyed by id because OpOverload's __hash__ is a Python function; the
# entry keeps the operator alive, so its id is not reused, and a lookup checks that it is the
# same object.
_OPERATOR_NAMES: dict = {}


def _operator_name(op) -> str:
    """``aten::mm.out`` / ``aten.relu_.default`` -> ``mm`` / ``relu``."""
    known = _OPERATOR_NAMES.get(id(op))
    if known is not None and known[0] is op:
        return known[1]
    # Only torch's operators are named (and kept for the process's life): reading another object's
    # attributes (``self`` of ``OpOverload.__call__`` called on an object of the student's) would
    # run its code inside the profile hook. Whatever such an object runs meets the operator kernels.
    if not issubclass(type(op), (_OpOverload, _ops.OpOverloadPacket)):
        return ""
    name = _operator_name_uncached(op)
    _OPERATOR_NAMES[id(op)] = (op, name)
    return name


def _operator_name_uncached(op) -> str:
    packet = getattr(op, "_overloadpacket", op)
    name = getattr(packet, "_qualified_op_name", None) or str(getattr(packet, "__name__", ""))
    return _without_in_place_suffix(name.split("::")[-1].split(".")[0])


def _without_in_place_suffix(name: str) -> str:
    """``relu_`` -> ``relu``: an in-place operator is named as its out-of-place one in OPERATORS."""
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name


def _reached_as(operators: dict, op: str) -> str:
    """What a refusal by operator says: the course's built-in, and the operator that computes it
    where that is not the built-in's own: ``a @ b`` meets aten::matmul, "@"; ``torch.einsum``,
    where only torch.mm is refused, meets aten::bmm, "torch.mm (reached as aten::bmm)"."""
    name = operators[op]
    if op == _own_operator(name):
        return name
    return f"{name} (reached as aten::{op})"


_OpOverload = _ops.OpOverload
_MethodType = types.MethodType  # the hooks' argument `types` hides the module


class _RefuseTorchFunctions(TorchFunctionMode):
    def __init__(self, covered: dict, refuse):
        super().__init__()
        self.covered = covered
        self.refuse = refuse

    # The hooks below run for every torch function and operator the student's code runs,
    # under the profile hook, which is called for each C function they call: they look up
    # with `in` and attributes (no C call) where they can.
    def __torch_function__(self, func, types, args=(), kwargs=None):
        covered = self.covered
        if func in covered:
            self.refuse(covered[func])
        if type(func) is _MethodType and func.__func__ in covered:
            self.refuse(covered[func.__func__])
        if kwargs:
            return func(*args, **kwargs)
        return func(*args)


# ---------------------------------------------------------------- the operator net
# A kernel of ours on the PreDispatch key of every operator in OPERATORS, registered once per
# process, before any student code (the zygote's import). An operator call meets PreDispatch
# before autograd, autocast, any Python dispatch mode and the decomposition of a composite
# operator;
# the worker includes it in a thread's dispatch keys only while a guarded call runs there, and
# every operator without a kernel of ours passes it in C++ (torch's fallback for the key hands
# the call on). So where a Python dispatch mode cost every operator of the student's code a
# trip through Python (with the profile hook seeing each of its frames), only the operators in
# OPERATORS run Python here: refused, or handed on below the key.
_PRE_DISPATCH = torch._C.DispatchKey.PreDispatch
_BELOW_PRE_DISPATCH = torch._C._dispatch_keyset_full_after(_PRE_DISPATCH)
_include_key, _exclude_key = (torch._C._dispatch_tls_set_dispatch_key_included,
                              torch._C._dispatch_tls_set_dispatch_key_excluded)
_key_included, _key_excluded = (torch._C._dispatch_tls_is_dispatch_key_included,
                                torch._C._dispatch_tls_is_dispatch_key_excluded)


def _operator_kernel(op: str, overload):
    """The PreDispatch kernel of one overload of the operator ``op`` (named as in OPERATORS):
    refused where the guarded call running (in any thread) refuses ``op``, else handed on."""
    redispatch = overload._handle.redispatch_boxed

    def refuse_or_hand_on(keyset, *args, **kwargs):
        checks = _ACTIVE_CALL[0]
        if op in checks.operators:
            checks.refuse(_reached_as(checks.operators, op))
        return redispatch(keyset & _BELOW_PRE_DISPATCH, *args, **kwargs)
    return refuse_or_hand_on


def _register_operator_kernels():
    """Register the kernels (the library keeps them for the process's life); the names of the
    operators registered: every overload of ``op`` and of its in-place ``op_``."""
    library = torch.library.Library("aten", "IMPL")
    registered = set()
    for op in OPERATORS:
        for variant in (op, op + "_"):
            packet = getattr(torch.ops.aten, variant, None)
            if packet is None:
                continue
            for overload_name in packet.overloads():
                try:  # a signature of the Python binding only (einsum.sublist) has no operator to dispatch
                    kernel = _operator_kernel(op, getattr(packet, overload_name))
                except RuntimeError:
                    continue
                qualified = variant if overload_name == "default" else f"{variant}.{overload_name}"
                library.impl(qualified, kernel, "PreDispatch", with_keyset=True)
                registered.add(op)
    return library, frozenset(registered)


_OPERATOR_LIBRARY, _OPERATORS_WATCHED = _register_operator_kernels()


# The profile hook looks code objects up by id: hashing a code object hashes its bytecode
# and constants, on every call the student's code makes. Each table keeps its code objects
# alive, so no other object can take their ids.
#
# The guard's own hooks (the torch-function mode's, the operator kernels) run inside the
# student's calls: the profile hook refuses no C function they call, which their own checks
# have checked.
_OWN_CODES = (_RefuseTorchFunctions.__torch_function__.__code__, _operator_kernel(
    "", torch.ops.aten.mm.default).__code__, _operator_name.__code__, _reached_as.__code__)
_OWN_CODE_IDS = frozenset(map(id, _OWN_CODES))


def _op_call_codes() -> set:
    """The Python entry points of ``torch.ops.aten.X(...)``: seen by the profile hook too, which
    refuses the operator by name before it is dispatched (in a thread whose dispatch keys a
    student's code has changed, say)."""
    codes = set()
    for cls in (_ops.OpOverload, _ops.OpOverloadPacket):
        call = getattr(cls, "__call__", None)
        if getattr(call, "__code__", None) is not None:
            codes.add(call.__code__)
    return codes


_OP_CALLS = tuple(_op_call_codes())
_OP_CALL_IDS = frozenset(map(id, _OP_CALLS))


# Switching the refusal off from inside the call is itself refused: these are the ways.
_TAMPER_NAME = "switching off the grader's checks"
_TAMPER_C = {sys.setprofile, sys.settrace} | {
    getattr(torch._C, name) for name in ("_set_torch_function_mode", "_push_on_torch_dispatch_stack",
                                         "_pop_torch_dispatch_stack", "_pop_torch_function_stack",
                                         "_push_on_torch_function_stack", "_set_dispatch_mode",
                                         "_unset_dispatch_mode", "_dispatch_tls_set_dispatch_key_included",
                                         "_dispatch_tls_set_dispatch_key_excluded") if hasattr(torch._C, name)}


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
_OPTIM_DIR = os.path.dirname(torch.optim.__file__) + os.sep  # its decorators' wrappers are its own


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
    # Only a wrapper of torch.optim's own stands for what it wraps: LBFGS.step's is torch.no_grad's,
    # shared with functions no exercise forbids.
    shared = name in _SHARED_DECORATOR_NAMES and outer.co_filename.startswith(_OPTIM_DIR)
    return [outer, inner] if shared else [inner]


@functools.lru_cache(maxsize=64)
def _code_tables(names: tuple) -> tuple[dict, dict, list]:
    """(id of a code object -> name to report, for Python functions and modules' forward
    methods; C method name -> name to report, for methods reached through an instance:
    a.numpy().dot(b); the code objects, kept alive with the table)."""
    codes = list(_TAMPER_CODES)
    python_codes = {id(code): _TAMPER_NAME for code in codes}
    methods = {}
    for f, n in expand(names).items():
        for code in _codes_run_by(f, n):
            codes.append(code)
            python_codes[id(code)] = n
        if type(f).__name__ in ("method_descriptor", "builtin_function_or_method"):
            methods.setdefault(getattr(f, "__name__", ""), n)
    return python_codes, methods, codes


@functools.lru_cache(maxsize=64)
def _code_places(names: tuple) -> dict:
    """(file, first line, name) of each code object ``_code_tables`` looks for -> name to report:
    what a copy of one keeps (``types.FunctionType(code.replace(), ...)``, a function saved before
    its module was reloaded), where its id differs."""
    python_codes, _, codes = _code_tables(names)
    return {(code.co_filename, code.co_firstlineno, code.co_name): python_codes[id(code)] for code in codes
            if python_codes[id(code)] != _TAMPER_NAME}


@functools.lru_cache(maxsize=64)
def _covered_types(names: tuple) -> frozenset:
    """The exact types of the built-ins these names cover (functions, C functions, numpy's
    dispatchers and ufuncs, a class): what a saved reference to one of them can be."""
    return frozenset(type(f) for f in expand(names))


@functools.lru_cache(maxsize=64)
def _first_lines(names: tuple) -> frozenset:
    """The first lines of the code objects the profile hook looks for (``_code_tables``) and of
    torch.ops' entry points: a frame whose line at its "call" event is none of these runs none of
    those code objects. A function's frame is at its first line when it starts (a resumed
    generator is not, but its start was seen), and that line comes from the code object's own
    table: reading ``frame.f_lineno`` is not an audited event, where ``frame.f_code`` and ``id()``
    are, each a call of the worker's audit hook."""
    # None: a frame on no line (code compiled without a line table) is always looked at.
    return frozenset((None, *(code.co_firstlineno for code in (*_code_tables(names)[2], *_OP_CALLS))))


def _operator_of(function) -> str:
    """The ATen operator one of torch's C functions dispatches to, by its name: ``torch.mm`` and
    ``TensorBase.mm``: mm; ``TensorBase.__matmul__``: matmul; ``relu_``: relu (as in OPERATORS)."""
    name = str(getattr(function, "__name__", ""))
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
    return _without_in_place_suffix(name)


@functools.lru_cache(maxsize=64)
def _needs_torch_function_mode(names: tuple) -> bool:
    """Whether a built-in these names cover could run unseen but for the torch-function mode: one
    of torch's C functions called from C (``map(torch.broadcast_tensors, ...)``) raises no profile
    event, and one with no refused operator of its own name (``broadcast_tensors`` lowers to
    ``expand``) never meets the operator kernels. A Python function's frame is
    always seen, whoever calls it (``torch.optim``'s steps), and numpy's never reach the mode.
    The mode makes every torch call and tensor attribute of the student's code pass through
    Python (ten steps of 04b's ``fit_line``: 0.45 ms bare, 1.25 ms guarded with it, 0.66
    without), so it is entered only where it sees what nothing else does."""
    refused = operators_refused(names)
    return any(getattr(getattr(f, "__func__", f), "__code__", None) is None and not name.startswith("numpy.")
               and not (_operator_of(f) in refused and _operator_of(f) in _OPERATORS_WATCHED)
               for f, name in expand(names).items())


def _from_student(frame) -> bool:
    """Code compiled from a string (answer cells, exec, eval), not torch's own: torch
    pops its modes itself, legitimately, in the middle of ordinary operations."""
    return frame is not None and not frame.f_code.co_filename.startswith("/")


class Refusals(list):
    """The refusals a guarded block met, by name. ``confirm()`` makes, before the block ends,
    the checks its end makes (the profile hook still set, no unwatched thread), so that a
    worker can fail a reply it has built but not yet sent."""

    def confirm(self) -> None:
        pass  # outside a guard, or with nothing forbidden: nothing to confirm


@contextlib.contextmanager
def forbidden(names, namespace: dict | None = None):
    """While the block runs, calling any of ``names`` raises ForbiddenBuiltinError.

    Yields the list of refusals made: a student's ``try/except`` can swallow the
    error, not the record, and the caller fails the call when the list is not empty.
    ``namespace``: the student's globals, where saved references to a built-in
    (``from numpy import dot as d``) are replaced for the call too."""
    refused = Refusals()
    if not names:
        yield refused
        return
    tables = tuple(sorted(set(names)))  # what keys the cached tables, made once per call
    covered = _expand(tables)
    operators = operators_refused(names)

    def refuse(name):
        refused.append(name)
        raise ForbiddenBuiltinError(name)

    python_codes, methods, _ = _code_tables(tables)
    places = _code_places(tables)
    first_lines = _first_lines(tables)
    # A method reached through an instance (a.numpy().dot(b)) is named by what it is called.
    method_names = set(methods) | ({"dot"} if "numpy.dot" in names else set())
    active = [False]  # only while the student's code runs: the guard's own set-up is not tampering

    # Called for every Python call and C call (and their returns) while the student's code
    # runs, torch's own included: the common case is a miss, found with the fewest steps.
    def profile(frame, event, arg):
        if event == "call":
            if not active[0] or frame.f_lineno not in first_lines:
                return
            f_code = frame.f_code
            code = id(f_code)
            if code in python_codes:
                name = python_codes[code]
                if name != _TAMPER_NAME or _from_student(frame.f_back):
                    refuse(name)
            else:
                name = places.get((f_code.co_filename, f_code.co_firstlineno, f_code.co_name))
                if name is not None:
                    refuse(name)
            if code in _OP_CALL_IDS:
                op = _operator_name(frame.f_locals.get("self"))
                if op in operators:
                    refuse(_reached_as(operators, op))
        elif event == "c_call":
            if not active[0]:
                return
            # The C function first, the frame only on a hit: reading a frame's code and calling
            # id() are audited events, each a call of the worker's audit hook.
            name = covered.get(arg)
            if name is None:
                if arg in _TAMPER_C:
                    if not _from_student(frame):
                        return
                    name = _TAMPER_NAME
                # The bound object's type, not isinstance: isinstance reads a student's __class__,
                # which would run here, inside the hook, where no Python call is seen.
                elif getattr(arg, "__name__", None) in method_names \
                        and issubclass(type(getattr(arg, "__self__", None)), (torch.Tensor, np.ndarray)):
                    name = methods.get(arg.__name__) or "numpy.dot"
                else:
                    return
            if id(frame.f_code) not in _OWN_CODE_IDS:
                refuse(name)

    saved = []
    for module, attr in NUMPY_PATCHABLE:
        original = getattr(module, attr)
        name = covered.get(original)
        if name is not None:
            saved.append((module, attr, original))
            setattr(module, attr, _refuser(name, refuse))
    originals = {id(original): name for _, _, original in saved for name in [covered.get(original)]}
    # Only values of a type some covered built-in has are looked up: hashing any other would run
    # a student's __hash__ (or __eq__), unguarded, with the call's inputs in hand.
    covered_types = _covered_types(tables)
    for key, value in list((namespace or {}).items()):
        if type(value) not in covered_types:
            continue
        # id() is an audited event (a call of the worker's audit hook): asked only where numpy's
        # functions were replaced, and a saved reference may be to one of their originals.
        name = covered.get(value) or (originals.get(id(value)) if originals else None)
        if name is not None:
            saved.append((namespace, key, value))
            namespace[key] = _refuser(name, refuse)
    if _HOOKS_REMOVED:
        refused.append(_TAMPER_NAME)  # a thread of the student's switched its hook off
    if _unwatched_threads():
        refused.append(_UNWATCHED_NAME)
    modes = contextlib.ExitStack()
    previous_profile = sys.getprofile()
    try:
        if _needs_torch_function_mode(tables):
            modes.enter_context(_RefuseTorchFunctions(covered, refuse))
        _ACTIVE_CALL[0] = _Checks(covered, operators, refuse, profile)
        if operators:  # names with no operator of their own (torch.optim, broadcast_shapes) need none
            _exclude_key(_PRE_DISPATCH, False)  # as a cell may have left it: a key excluded is never dispatched
            _include_key(_PRE_DISPATCH, True)
        sys.setprofile(profile)
        active[0] = True

        def confirm():
            if sys.getprofile() is not profile and not refused:
                refused.append(_TAMPER_NAME)  # the hook was removed, not by a refusal
            if operators and (not _key_included(_PRE_DISPATCH) or _key_excluded(_PRE_DISPATCH)) and not refused:
                refused.append(_TAMPER_NAME)  # the operator kernels were switched off
            if _unwatched_threads() and not refused:
                refused.append(_UNWATCHED_NAME)

        refused.confirm = confirm
        yield refused
        _ACTIVE_CALL[0] = _IDLE
        active[0] = False
        confirm()
    finally:
        _ACTIVE_CALL[0] = _IDLE
        active[0] = False
        if operators:
            _include_key(_PRE_DISPATCH, False)
        sys.setprofile(previous_profile)
        modes.close()
        for where, attr, original in reversed(saved):
            if isinstance(where, dict):
                where[attr] = original
            else:
                setattr(where, attr, original)


# ---------------------------------------------------------------- other threads
# torch's modes and the profile hook belong to the thread that sets them: code the student
# runs in another thread (started inside the call, or in a cell to serve later calls) would
# run unchecked. Every thread the worker starts carries `_watch_thread` as its profile hook;
# while a guarded call runs, it applies that call's checks in its thread, the modes included.
class _Checks:
    def __init__(self, covered: dict, operators: dict, refuse, profile):
        self.covered, self.operators, self.refuse, self.profile = covered, operators, refuse, profile


_IDLE = _Checks({}, {}, None, None)
_ACTIVE_CALL = [_IDLE]        # the checks of the guarded call running now
_THREAD_MODES = threading.local()
_HOOKS_REMOVED: list = []     # threads that switched their hook off: every later guarded call refuses
_WATCHED_THREADS: set = set()  # idents of the threads that carry the hook
_UNWATCHED_NAME = "a thread the grader cannot watch"
_THREAD_BOOTSTRAP = threading.Thread._bootstrap_inner.__code__


class _ThreadRefuseTorchFunctions(_RefuseTorchFunctions):
    """In another thread, for good: the checks of whichever guarded call runs, if one does."""

    def __init__(self):
        TorchFunctionMode.__init__(self)

    covered = property(lambda self: _ACTIVE_CALL[0].covered)
    refuse = property(lambda self: _ACTIVE_CALL[0].refuse)


def _watch_thread(frame, event, arg):
    """The profile hook of every thread but the one that makes guarded calls."""
    if event == "c_call" and arg is sys.setprofile and not (
            frame.f_code is _THREAD_BOOTSTRAP and threading._profile_hook is _watch_thread):
        _HOOKS_REMOVED.append(threading.get_ident())
    checks = _ACTIVE_CALL[0]
    if checks.profile is None:
        return
    if not getattr(_THREAD_MODES, "entered", False):
        _THREAD_MODES.entered = True
        _ThreadRefuseTorchFunctions().__enter__()
        _include_key(_PRE_DISPATCH, True)  # the operator kernels check whichever call runs, if one does
    try:
        checks.profile(frame, event, arg)
    except ForbiddenBuiltinError:
        pass  # recorded, so the call fails; a hook that raises is switched off by Python


def watch_threads() -> None:
    """Give every thread started from now on the guard's hook (once, in the worker, before
    any student code): through ``threading`` and through ``_thread`` directly."""
    if getattr(_thread.start_new_thread, "watched", False):
        return
    start = _thread.start_new_thread
    registry = _thread.allocate_lock()

    def start_watched(function, args, kwargs=None):
        def run(*args, **kwargs):
            sys.setprofile(_watch_thread)
            _WATCHED_THREADS.add(threading.get_ident())
            try:
                return function(*args, **kwargs)
            finally:
                with registry:
                    _WATCHED_THREADS.discard(threading.get_ident())
        # Registered by the starting thread too, before it returns: a check made right after
        # the start sees the thread as watched, and (the lock) an ended thread's id is not
        # left behind for an unwatched thread that gets the same id.
        with registry:
            ident = start(run, args, kwargs or {})
            _WATCHED_THREADS.add(ident)
        return ident

    start_watched.watched = True
    threading.setprofile(_watch_thread)
    _thread.start_new_thread = _thread.start_new = threading._start_new_thread = start_watched
    _WATCHED_THREADS.add(threading.get_ident())  # the worker's own, which makes the guarded calls


def _unwatched_threads() -> list:
    """Threads running Python without the hook: started through a fresh copy of ``_thread``
    (its original function), say. torch's own threads run no Python between operators."""
    if not _WATCHED_THREADS:  # not a worker: watch_threads() was never called
        return []
    return [ident for ident in sys._current_frames() if ident not in _WATCHED_THREADS]


def _refuser(name, refuse):
    def refused(*args, **kwargs):
        refuse(name)
    return refused
