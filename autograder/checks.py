"""Checks that hidden tests use instead of bare ``assert``: each failure says, in
words a student can act on, what was expected and what their code gave.

Tolerances come from the dtype, so float32 and float64 answers are held to what
their precision allows; integer and boolean results must be exact.
"""
from __future__ import annotations

import contextlib

import torch

from autograder.engine.student import StudentRaised

TOLERANCES = {  # (rtol, atol)
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (2e-2, 1e-2),
    torch.float32: (1e-4, 1e-5),
    torch.float64: (1e-7, 1e-9),
}


def show(value) -> str:
    """A short, readable picture of a value for feedback."""
    if isinstance(value, torch.Tensor):
        with _print_options():
            text = repr(value.detach().cpu() if value.device.type != "meta" else value)
        return text if len(text) < 1500 else text[:1500] + " ..."
    text = repr(value)
    return text if len(text) < 500 else text[:500] + " ..."


@contextlib.contextmanager
def _print_options():
    torch.set_printoptions(precision=4, threshold=40, edgeitems=3, linewidth=100)
    try:
        yield
    finally:
        torch.set_printoptions(profile="default")


def fail(message: str):
    raise AssertionError(message)


def expect_tensor(actual, what: str = "the result") -> torch.Tensor:
    if not isinstance(actual, torch.Tensor):
        fail(f"{what} should be a torch.Tensor, got {type(actual).__name__}: {show(actual)}")
    return actual


def expect_shape(actual, shape, what: str = "the result") -> None:
    expect_tensor(actual, what)
    if tuple(actual.shape) != tuple(shape):
        fail(f"{what} should have shape {tuple(shape)}, got {tuple(actual.shape)}")


def expect_close(actual, expected: torch.Tensor, what: str = "the result", *,
                 rtol: float | None = None, atol: float | None = None, check_dtype: bool = False) -> None:
    """Same shape and the same values within the tolerance of ``expected``'s dtype."""
    expected = torch.as_tensor(expected)
    actual = expect_tensor(actual, what)
    if tuple(actual.shape) != tuple(expected.shape):
        fail(f"{what} should have shape {tuple(expected.shape)}, got {tuple(actual.shape)}.\n"
             f"Expected: {show(expected)}\nGot:      {show(actual)}")
    if check_dtype and actual.dtype != expected.dtype:
        fail(f"{what} should have dtype {expected.dtype}, got {actual.dtype}")
    if actual.device.type == "meta" and expected.device.type != "meta":
        fail(f"{what} is on the meta device: it has a shape but no values. Compute it on the device of "
             f"the inputs.")
    if expected.device.type == "meta":
        return
    default_rtol, default_atol = TOLERANCES.get(expected.dtype, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    a = actual.detach().cpu()
    e = expected.detach().cpu()
    if a.dtype.is_complex or e.dtype.is_complex or a.dtype.is_floating_point or e.dtype.is_floating_point:
        a, e = a.to(torch.float64), e.to(torch.float64)
    else:
        a, e = a.to(torch.int64), e.to(torch.int64)
    close = torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(close.all()):
        bad = (~close).nonzero()[0].tolist()
        index = tuple(bad)
        fail(f"{what} is wrong.\nExpected: {show(expected)}\nGot:      {show(actual)}\n"
             f"First difference at index {list(index)}: expected {e[index].item():.6g}, "
             f"got {a[index].item():.6g}")


def expect_equal(actual, expected, what: str = "the result") -> None:
    """Exactly equal (tensors: same shape and the same values)."""
    if isinstance(expected, torch.Tensor):
        expect_close(actual, expected, what, rtol=0.0, atol=0.0)
        return
    if actual != expected:
        fail(f"{what} is wrong.\nExpected: {show(expected)}\nGot:      {show(actual)}")


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
