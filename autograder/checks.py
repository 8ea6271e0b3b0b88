"""Checks that hidden tests use instead of bare ``assert``: each failure says, in
words a student can act on, what was expected and what their code gave.

Values are compared by ``mnist_course.checking.compare``, the same comparison the
notebooks' check cells use: a floating-point result is held to the precision of
the dtype it comes in (the coarser of the expected and the returned one), unless
a test makes the dtype the rule; integer and boolean results must be exact.
"""
from __future__ import annotations

import contextlib

import torch

from autograder.engine.judge.student_proxy import StudentRaised
from mnist_course.checking import TOLERANCES, compare, graded_dtype, show

__all__ = ["TOLERANCES", "graded_dtype", "show", "PropertyFailed", "fail", "expect_tensor", "expect_shape",
           "expect_close", "expect_equal", "expect_unchanged", "expect_raises"]


class PropertyFailed(AssertionError):
    """A property that does not hold. The values compared travel beside the message, so the
    judge records them as fields for the class report, which then never parses them out of
    the text students read. Shown (as the message shows them) only when asked: hypothesis
    raises this on every failing example it shrinks through, and only the last is recorded."""

    def __init__(self, message: str, expected=None, got=None):
        super().__init__(message)
        self._values = (expected, got)

    @property
    def expected(self) -> str | None:
        return None if self._values[0] is None else show(self._values[0])

    @property
    def got(self) -> str | None:
        return None if self._values[1] is None else show(self._values[1])


def fail(message: str, *, expected=None, got=None):
    """Fail the property with ``message``; ``expected``/``got``: the values it compared, if any."""
    raise PropertyFailed(message, expected, got)


def expect_tensor(actual, what: str = "the result") -> torch.Tensor:
    if not isinstance(actual, torch.Tensor):
        fail(f"{what} should be a torch.Tensor, got {type(actual).__name__}: {show(actual)}")
    return actual


def expect_shape(actual, shape, what: str = "the result") -> None:
    expect_tensor(actual, what)
    if tuple(actual.shape) != tuple(shape):
        fail(f"{what} should have shape {tuple(shape)}, got {tuple(actual.shape)}")


def expect_close(actual, expected, what: str = "the result", *, rtol: float | None = None,
                 atol: float | None = None, rounding_scale: float = 0.0, check_dtype: bool = False) -> None:
    """Same shape and the same values, within the tolerance of the graded dtype (see
    ``mnist_course.checking.compare``); ``rounding_scale`` widens atol by that many
    epsilons of the dtype the answer came in."""
    problem = compare(actual, expected, what, rtol=rtol, atol=atol, rounding_scale=rounding_scale,
                      check_dtype=check_dtype)
    if problem:
        fail(problem, expected=expected, got=actual)


def expect_equal(actual, expected, what: str = "the result") -> None:
    """Exactly equal (tensors: same shape and the same values)."""
    if isinstance(expected, torch.Tensor):
        expect_close(actual, expected, what, rtol=0.0, atol=0.0)
        return
    if actual != expected:
        fail(f"{what} is wrong.\nExpected: {show(expected)}\nGot:      {show(actual)}", expected=expected, got=actual)


def expect_unchanged(before: torch.Tensor, after: torch.Tensor, what: str) -> None:
    """The student's function must not modify its input in place."""
    if tuple(before.shape) != tuple(after.shape) or not torch.equal(before.cpu(), after.cpu()):
        fail(f"{what} was modified in place: your function must leave its inputs unchanged "
             f"(work on a copy, e.g. write x = x - m, not x -= m).\n"
             f"Before the call: {show(before)}\nAfter the call:  {show(after)}")


@contextlib.contextmanager
def expect_raises(exc_type: type, what: str):
    """The student's code must raise ``exc_type`` (with a message) inside the block."""
    try:
        yield
    except StudentRaised as raised:
        if not raised.is_instance_of(exc_type):
            fail(f"{what}: expected {exc_type.__name__}, but your code raised "
                 f"{raised.type_name}: {raised.error.get('message', '')}")
        if len(str(raised.error.get("message", "")).strip()) < 10:
            fail(f"{what}: {exc_type.__name__} was raised, but its message should say what "
                 f"was expected and what was given, got {raised.error.get('message', '')!r}")
        return
    fail(f"{what}: expected {exc_type.__name__}, but nothing was raised")
