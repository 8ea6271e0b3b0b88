"""Built-ins a from-scratch exercise may not call, refused while it runs.

Three nets, because a student can reach a built-in in three ways:
- a torch function or tensor method (``torch.matmul``, ``a @ b``, ``x.softmax``):
  a ``TorchFunctionMode`` sees every call, however the function was reached;
- a pure-Python function (``torch.broadcast_shapes``, ``numpy.broadcast_shapes``):
  a profile hook sees its code object run, even through a saved reference;
- a numpy C function (``numpy.matmul``, ``numpy.dot``): its module attribute is
  replaced for the duration of the call.
"""
from __future__ import annotations

import contextlib
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode


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
    "torch.mm": ["torch.mm", "torch.Tensor.mm", "torch.addmm", "torch.Tensor.addmm",
                 "torch.chain_matmul", "torch.linalg.multi_dot"],
    "torch.bmm": ["torch.bmm", "torch.Tensor.bmm", "torch.baddbmm", "torch.addbmm"],
    "torch.mv": ["torch.mv", "torch.Tensor.mv", "torch.addmv"],
    "torch.dot": ["torch.dot", "torch.Tensor.dot", "torch.vdot", "torch.inner", "torch.linalg.vecdot"],
    "torch.einsum": ["torch.einsum"],
    "torch.tensordot": ["torch.tensordot"],
    "torch.nn.functional.linear": ["torch.nn.functional.linear", "torch._C._nn.linear",
                                   "torch.nn.functional.bilinear"],
    "numpy.matmul": ["numpy.matmul"],
    "numpy.dot": ["numpy.dot", "numpy.vdot", "numpy.inner", "numpy.tensordot"],
    "numpy.einsum": ["numpy.einsum"],
    "torch.broadcast_shapes": ["torch.broadcast_shapes", "torch.functional.broadcast_shapes"],
    "numpy.broadcast_shapes": ["numpy.broadcast_shapes", "numpy.broadcast", "numpy.broadcast_arrays",
                               "numpy.broadcast_to"],
    "torch.broadcast_tensors": ["torch.broadcast_tensors", "torch.functional.broadcast_tensors",
                                "torch.broadcast_to", "torch.Tensor.broadcast_to"],
    "torch.softmax": ["torch.softmax", "torch.Tensor.softmax", "torch.special.softmax"],
    "torch.nn.functional.softmax": ["torch.nn.functional.softmax"],
    "torch.log_softmax": ["torch.log_softmax", "torch.Tensor.log_softmax", "torch.special.log_softmax"],
    "torch.nn.functional.log_softmax": ["torch.nn.functional.log_softmax"],
    "torch.logsumexp": ["torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp"],
    "torch.nn.functional.cross_entropy": ["torch.nn.functional.cross_entropy"],
    "torch.nn.functional.nll_loss": ["torch.nn.functional.nll_loss"],
    "torch.nn.functional.binary_cross_entropy": ["torch.nn.functional.binary_cross_entropy",
                                                 "torch.nn.functional.binary_cross_entropy_with_logits"],
    "torch.nn losses": ["torch.nn.CrossEntropyLoss.forward", "torch.nn.NLLLoss.forward",
                        "torch.nn.BCELoss.forward", "torch.nn.BCEWithLogitsLoss.forward"],
    "torch.nn.Linear": ["torch.nn.Linear.forward"],
    "torch.relu": ["torch.relu", "torch.Tensor.relu", "torch.relu_", "torch.Tensor.relu_"],
    "torch.nn.functional.relu": ["torch.nn.functional.relu", "torch.nn.ReLU.forward"],
}

NUMPY_PATCHABLE = ("matmul", "dot", "vdot", "inner", "tensordot", "einsum", "broadcast_shapes", "broadcast",
                   "broadcast_arrays", "broadcast_to")


def expand(names) -> dict:
    """Map every callable the listed names cover to the name to report."""
    covered = {}
    for name in names:
        if name not in ALIASES:
            raise KeyError(f"unknown forbidden built-in {name!r}; known: {sorted(ALIASES)}")
        for path in ALIASES[name]:
            obj = _resolve(path)
            if obj is not None:
                covered[obj] = name
    return covered


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


@contextlib.contextmanager
def forbidden(names):
    """While the block runs, calling any of ``names`` raises ForbiddenBuiltinError.

    Yields the list of refusals made: a student's ``try/except`` can swallow the
    error, not the record, and the caller fails the call when the list is not empty."""
    refused: list[str] = []
    if not names:
        yield refused
        return
    covered = expand(names)

    def refuse(name):
        refused.append(name)
        raise ForbiddenBuiltinError(name)

    python_codes = {getattr(f, "__code__", None): n for f, n in covered.items()}
    python_codes.pop(None, None)
    # Modules call forward through nn.Module.__call__; their forward is Python code.
    for f, n in list(covered.items()):
        code = getattr(getattr(f, "__func__", f), "__code__", None)
        if code is not None:
            python_codes[code] = n

    def profile(frame, event, arg):
        if event == "call":
            name = python_codes.get(frame.f_code)
            if name is not None:
                refuse(name)
        elif event == "c_call":
            name = covered.get(arg)
            if name is not None:
                refuse(name)

    saved = {}
    for attr in NUMPY_PATCHABLE:
        original = getattr(np, attr)
        name = covered.get(original)
        if name is not None:
            saved[attr] = original
            setattr(np, attr, _refuser(name, refuse))
    previous_profile = sys.getprofile()
    sys.setprofile(profile)
    try:
        with _RefuseTorchFunctions(covered, refuse):
            yield refused
    finally:
        sys.setprofile(previous_profile)
        for attr, original in saved.items():
            setattr(np, attr, original)


def _refuser(name, refuse):
    def refused(*args, **kwargs):
        refuse(name)
    return refused
