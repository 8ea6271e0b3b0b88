"""``torch._dynamo`` in a worker, imported only when code needs more than eager torch asks of it.

Eager ``torch.optim`` imports ``torch._dynamo`` on an optimiser's first use: ``Optimizer.step``
calls ``torch._dynamo.graph_break()``, and the methods torch wraps with ``torch._disable_dynamo``
(``add_param_group``, ``zero_grad``, the functional ``adam``) call ``torch._dynamo.disable(fn)``
once. Outside ``torch.compile`` both do nothing but run the code. The import costs about a CPU
second, which every grading process of an assignment whose students train with ``torch.optim``
(06) paid in its zygote, the largest part of its fixed cost beyond the other assignments'.

So a worker starts with a stand-in: a module ``torch._dynamo`` that answers those two names
itself, and loads the real package the moment anything else is asked of it (any other
attribute, a submodule's import such as ``import torch._dynamo.utils``, ``torch.compile``).
From then on the real package answers everything, the two names included: a function whose
``disable`` the stand-in gave runs the real ``disable`` of it. What a call computes is the same
either way (``tests/test_dynamo_until_needed.py`` trains a network both ways, bit for bit), so
a grade never depends on it. The worker is the student's: the stand-in guards nothing.
"""
from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

NAME = "torch._dynamo"


class StandIn(types.ModuleType):
    """``torch._dynamo`` until the real one is needed."""

    __path__: list = []  # a package, so that importing a submodule reaches DynamoFinder

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            # What tools probe every module for (inspect.getmodule reads each one's __file__)
            # is not a use of dynamo.
            raise AttributeError(name)
        return getattr(real_dynamo(), name)


def waiting() -> bool:
    """Whether ``torch._dynamo`` is still the stand-in."""
    return isinstance(sys.modules.get(NAME), StandIn)


def real_dynamo() -> types.ModuleType:
    """The real ``torch._dynamo``, imported now if the stand-in held its place."""
    if waiting():
        del sys.modules[NAME]
        return importlib.import_module(NAME)  # which binds torch._dynamo to it too
    return sys.modules[NAME]


def graph_break(msg: str = "") -> None:
    if not waiting():
        real_dynamo().graph_break(msg)


def disable(fn=None, recursive=True, *, reason=None, wrapping=True):
    """``fn`` itself while the stand-in holds; the real ``disable(fn)`` once the real one is in."""
    if fn is None:  # used as @disable(recursive=...)
        return functools.partial(disable, recursive=recursive, reason=reason, wrapping=wrapping)
    really_disabled = None

    @functools.wraps(fn)
    def run(*args, **kwargs):
        nonlocal really_disabled
        if waiting():
            return fn(*args, **kwargs)
        if really_disabled is None:
            really_disabled = real_dynamo().disable(fn, recursive, reason=reason, wrapping=wrapping)
        return really_disabled(*args, **kwargs)
    return run


class _AlreadyImported(importlib.abc.Loader):
    """A module the real package's own import brought in: given back as it is, its spec kept."""

    def create_module(self, spec):
        module = sys.modules[spec.name]
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        module.__spec__ = self.own_spec  # the import system set it to ours meanwhile


class DynamoFinder(importlib.abc.MetaPathFinder):
    """``import torch._dynamo.<sub>`` while the stand-in holds: the real package first."""

    def find_spec(self, name, path=None, target=None):
        if not (name.startswith(NAME + ".") and waiting()):
            return None
        real = real_dynamo()
        if name in sys.modules:
            return importlib.machinery.ModuleSpec(name, _AlreadyImported())
        # The import system asked with the stand-in's (empty) path: look where the real one lies.
        return importlib.machinery.PathFinder.find_spec(name, real.__path__)


def install() -> None:
    """Put the stand-in in ``torch._dynamo``'s place, unless something imported the real one."""
    import torch

    if NAME in sys.modules:
        return
    stand_in = StandIn(NAME)
    stand_in.graph_break, stand_in.disable = graph_break, disable
    sys.modules[NAME] = stand_in
    torch._dynamo = stand_in
    sys.meta_path.insert(0, DynamoFinder())
