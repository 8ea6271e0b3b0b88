"""Everything a hidden test file needs, from one place.

A hidden test file (``autograder/hidden/<id>/test_<notebook>.py``) imports from here,
and otherwise only from torch, hypothesis, numpy and math::

    from hypothesis import given, strategies as st
    from autograder.testing import S, graded, expect_close, leaves_inputs_unchanged, not_allowed

    forbidden_builtins = not_allowed(["torch.softmax"], only=["softmax"])

    @graded("softmax_pure")                 # the notebook's check cell this test scores
    @given(x=S.float_tensors())
    def test_softmax_leaves_input_unchanged(student, x):
        \"\"\"softmax does not modify x.\"\"\"    # the property: the line the student reads
        leaves_inputs_unchanged(student, "softmax", x, names=["x"])

- ``graded(cell_id)``: which check cell a test scores; a cell scores its points when
  every test marked with it passes.
- ``student``: the pytest fixture every test takes; ``student.<function>(...)`` (or
  ``student.call("<function>", ...)``) runs the student's function in the sandboxed
  worker and brings the result back as plain data.
- the checks (``expect_close``, ``expect_equal``, ...): compare and fail with a message
  the student can act on; ``fail(message)`` for anything else.
- ``S``: the shared hypothesis strategies (``S.float_tensors()``, ``S.tensors(...)``).
- the one-line properties below: inputs left unchanged, a pair returned, ``ValueError``
  raised for a wrong input.
- ``not_allowed``: the built-ins an exercise may not call, declared once per test file.
- ``SourceFunction("lambda t: ...")``: a function to hand the student's code (drawn like any
  other input), run here as written and sent to the worker as its text.
- ``torch_optim.SGD`` and ``torch_optim.Adam``: torch.optim's own updates and state, bit for bit,
  without the classes' import of ``torch._dynamo`` (``autograder/optim_references.py``).
- ``@reference``: a costly reference, a pure function of its arguments, computed once per grading
  process for each input (``autograder/reference_cache.py``).

Draw inputs only from strategies, never from the student's results: what a test draws
(in ``@given`` or with ``data.draw``) and what it ``assume()``s may depend on earlier
draws, not on what ``student`` returned. A grading process draws each test's examples
once and replays them for the next notebooks (``autograder/engine/judge/example_replay.py``);
it checks what it can (a rejected example, a drawn strategy's repr) and lets hypothesis
draw afresh where anything differs.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from autograder import optim_references as torch_optim
from autograder import strategies as S
from autograder.checks import (TOLERANCES, expect_close, expect_equal, expect_raises, expect_shape, expect_tensor,
                               expect_unchanged, fail, graded_dtype, show)
from autograder.engine.judge.plugin import graded
from autograder.engine.judge.student_proxy import StudentFailure, StudentRaised
from autograder.reference_cache import reference

__all__ = ["TOLERANCES", "S", "StudentFailure", "StudentRaised", "expect_close", "expect_equal", "expect_raises",
           "expect_shape", "expect_tensor", "expect_unchanged", "fail", "graded", "graded_dtype",
           "leaves_inputs_unchanged", "not_allowed", "raises_value_error", "reference", "returns_pair", "show", "SourceFunction",
           "torch_optim"]


class SourceFunction:
    """A function of a tensor written as source text (a lambda over ``torch`` and ``np``): called
    here as written, sent to the worker as ``source``. It pickles as its text, so examples that
    draw one can be recorded at release (a bare lambda cannot: its test would draw afresh in
    every grading process)."""

    def __init__(self, source: str):
        import numpy as np
        import torch

        self.source = source
        self.fn = eval(source, {"torch": torch, "np": np})

    def __call__(self, t):
        return self.fn(t)

    def __repr__(self):
        return self.source

    def __reduce__(self):
        return SourceFunction, (self.source,)


# ---------------------------------------------------------------- built-ins not allowed
class _EveryFunction(Mapping):
    """The same built-ins refused in every function of the notebook: a function added to the
    notebook later is guarded without being listed anywhere."""

    def __init__(self, builtins: Iterable[str]):
        self._builtins = tuple(builtins)

    def __getitem__(self, function: str) -> list[str]:
        return list(self._builtins)

    def __contains__(self, function) -> bool:
        return True

    def __iter__(self):  # no finite list of names: every name is in it
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:  # not "empty" although it lists no names
        return True

    def __repr__(self):
        return f"every function: {list(self._builtins)}"


def forbidden_table(builtins: Iterable[str], *, only: Iterable[str] | None = None) -> Mapping[str, list[str]]:
    """Function name -> the built-ins refused while it runs: ``builtins`` for every function,
    or for those in ``only``."""
    builtins = list(builtins)
    return _EveryFunction(builtins) if only is None else {name: list(builtins) for name in only}


def not_allowed(builtins: Iterable[str], *, only: Iterable[str] | None = None):
    """The pytest fixture ``forbidden_builtins`` for one assignment's hidden tests: the
    built-ins (as named in COURSE.md, e.g. "torch.matmul", "@") refused while the student's
    function runs, in every function of the notebook, or ``only`` in those listed (a method
    as "Class.method"). Assign it in the test file, under that name::

        NOT_ALLOWED = ["torch.matmul", "@"]
        forbidden_builtins = not_allowed(NOT_ALLOWED)

    Every way a test reaches the student's code looks the list up: ``student.<function>``
    and ``student.call`` by the function's name, ``student.call_method``, ``student.run``
    and ``student.eval`` by their ``label`` (name the exercise the grader code runs)."""
    table = forbidden_table(builtins, only=only)

    @pytest.fixture(scope="session", name="forbidden_builtins")
    def forbidden_builtins() -> Mapping[str, list[str]]:
        return table

    return forbidden_builtins


# ---------------------------------------------------------------- one-line properties
def leaves_inputs_unchanged(student, function: str, *args, names: Iterable[str], **kwargs) -> None:
    """The student's ``function(*args, **kwargs)`` leaves its arguments as they were: the
    first ``len(names)`` arguments, called ``names`` in the message, are compared with
    what they are in the worker after the call."""
    names = list(names)
    if len(names) > len(args):
        raise TypeError(f"{len(names)} names for {len(args)} arguments")  # the test's mistake, not the student's
    _, after = student.call(function, *args, return_inputs=True, **kwargs)
    if len(after) != len(args):
        fail(f"{function}'s arguments did not come back from the call: {len(after)} of {len(args)}")
    for name, before, now in zip(names, args, after):
        expect_unchanged(before, now, name)


def returns_pair(student, function: str, *args, names: tuple[str, str], **kwargs) -> tuple:
    """The student's ``function(*args, **kwargs)`` returns a tuple of two values (named
    ``names`` in the message); returns it."""
    result = student.call(function, *args, **kwargs)
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"{function} should return a tuple ({', '.join(names)}), got {result!r}")
    return result


def raises_value_error(student, function: str, *args, what: str, **kwargs) -> None:
    """The student's ``function(*args, **kwargs)`` raises ValueError with a message (one that
    says what was expected and what was given); ``what`` names the call in the feedback."""
    with expect_raises(ValueError, what):
        student.call(function, *args, **kwargs)
