"""Comparing a result with the expected one, and saying exactly what differs.

The notebooks' check cells use ``assert_close``; the hidden tests use the same
``compare`` (through ``autograder.checks``), so a student reads the same kind of
message in both places and is held to the same tolerances.

The rule for floating-point results: unless an exercise makes the dtype its rule, a
result is held to the precision of the coarser of the two dtypes (a float32 answer
to a float64 question is graded at float32's tolerance). Integer results are exact.
"""
from __future__ import annotations

import contextlib

import torch

TOLERANCES = {  # dtype -> (rtol, atol)
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (2e-2, 1e-2),
    torch.float32: (1e-4, 1e-5),
    torch.float64: (1e-7, 1e-9),
}
PRINTED_DIGITS = 4  # the precision show() prints with


def graded_dtype(actual_dtype: torch.dtype, expected_dtype: torch.dtype) -> torch.dtype:
    """The dtype whose precision a result is held to: the coarser of two floating dtypes."""
    if actual_dtype.is_floating_point and expected_dtype.is_floating_point:
        return max(actual_dtype, expected_dtype, key=lambda d: torch.finfo(d).eps)
    return expected_dtype


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
    torch.set_printoptions(precision=PRINTED_DIGITS, threshold=40, edgeitems=3, linewidth=100)
    try:
        yield
    finally:
        torch.set_printoptions(profile="default")


def _distinguishing(expected: float, actual: float) -> tuple[str, str]:
    """Both numbers with just enough significant digits to tell them apart."""
    for digits in range(6, 18):
        e, a = f"{expected:.{digits}g}", f"{actual:.{digits}g}"
        if e != a:
            return e, a
    return repr(expected), repr(actual)


def _index(flat_index: int, shape) -> list[int]:
    return [int(i) for i in torch.unravel_index(torch.tensor(flat_index), tuple(shape))] if len(shape) else []


def _shape_problem(actual, expected, what) -> str:
    a, e = tuple(actual.shape), tuple(expected.shape)
    message = f"{what} should have shape {e}, got {a}."
    try:
        both = tuple(torch.broadcast_shapes(a, e))
    except RuntimeError:
        both = None
    if both is not None:
        message += (f" The two shapes broadcast to {both}, so arithmetic mixing them would run without an "
                    f"error and silently give wrong numbers.")
    if actual.numel() == expected.numel() and actual.device.type != "meta" and expected.device.type != "meta":
        if torch.equal(actual.detach().cpu().reshape(e).to(torch.float64), expected.cpu().to(torch.float64)):
            message += " The numbers are right; only the shape differs (an axis too many or too few?)."
    return f"{message}\nExpected: {show(expected)}\nGot:      {show(actual)}"


def _float_differences(a, e, bad, shape, rtol, atol, dtype, returned) -> list[str]:
    """What differs between two flat float64 tensors, element by element."""
    first = int(bad.nonzero()[0])
    non_finite = bad & (~torch.isfinite(a) | ~torch.isfinite(e))
    if bool(non_finite.any()):
        odd = int(non_finite.nonzero()[0])
        return [f"At index {_index(odd, shape)} expected {float(e[odd])!r}, got {float(a[odd])!r}: "
                f"{int(non_finite.sum())} of {a.numel()} values differ in being nan or inf (nan comes from "
                f"inf - inf, 0 / 0 or the log of a negative number; inf from an overflow, such as exp of a "
                f"large number, or from log(0))."]
    e_text, a_text = _distinguishing(float(e[first]), float(a[first]))
    lines = [f"{int(bad.sum())} of {a.numel()} values differ. At index {_index(first, shape)}: expected "
             f"{e_text}, got {a_text}."]
    if f"{float(e[first]):.{PRINTED_DIGITS}g}" == f"{float(a[first]):.{PRINTED_DIGITS}g}":
        lines.append(f"They print alike: they differ beyond the {PRINTED_DIGITS} digits printed above.")
    finite = torch.isfinite(a) & torch.isfinite(e)
    difference = (a - e).abs().where(finite, torch.zeros((), dtype=torch.float64))
    worst = int(difference.argmax())
    largest = f"Largest absolute difference: {float(difference[worst]):.3g} (at index {_index(worst, shape)})"
    nonzero = finite & (e != 0)
    if bool(nonzero.any()):
        largest += f"; largest relative difference: {float((difference / e.abs())[nonzero].max()):.3g}"
    whose = ", the dtype of your result" if dtype == returned else ""
    tolerance = ("they must be exactly equal" if rtol == 0 and atol == 0 else
                 f"allowed: |got - expected| <= {atol:.3g} + {rtol:.3g} * |expected| (the tolerance for {dtype}{whose})")
    return lines + [f"{largest}; {tolerance}."]


def compare(actual, expected, what: str = "the result", *, rtol: float | None = None, atol: float | None = None,
            rounding_scale: float = 0.0, check_dtype: bool = False) -> str | None:
    """None when ``actual`` matches ``expected``, else a message that says what differs.

    Same shape, and values within ``atol + rtol * |expected|`` where the tolerances
    default to those of ``graded_dtype``; ``rounding_scale`` widens atol by that many
    machine epsilons of the graded dtype (rounding grows with the size of the terms
    summed). With ``check_dtype`` the dtype must be the expected one. NaN matches NaN.
    """
    expected = torch.as_tensor(expected)
    if not isinstance(actual, torch.Tensor):
        return f"{what} should be a torch.Tensor, got {type(actual).__name__}: {show(actual)}"
    if tuple(actual.shape) != tuple(expected.shape):
        return _shape_problem(actual, expected, what)
    if check_dtype and actual.dtype != expected.dtype:
        return (f"{what} should have dtype {expected.dtype}, got {actual.dtype}.\n"
                f"Expected: {show(expected)}\nGot:      {show(actual)}")
    if actual.device.type == "meta" and expected.device.type != "meta":
        return (f"{what} is on the meta device: it has a shape but no values. Compute it on the device of "
                f"the inputs.")
    if expected.device.type == "meta":
        return None
    dtype = graded_dtype(actual.dtype, expected.dtype)
    default_rtol, default_atol = TOLERANCES.get(dtype, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = (default_atol if atol is None else atol) + rounding_scale * (
        torch.finfo(dtype).eps if dtype.is_floating_point else 0.0)
    a, e = actual.detach().cpu(), expected.detach().cpu()
    if a.dtype.is_complex or e.dtype.is_complex:
        return f"{what} should hold real numbers, got dtype {a.dtype}"
    if not (a.dtype.is_floating_point or e.dtype.is_floating_point):  # integers: exact, even beyond 2**53
        a, e = a.to(torch.int64).reshape(-1), e.to(torch.int64).reshape(-1)
        bad = a != e
        if not bool(bad.any()):
            return None
        first = int(bad.nonzero()[0])
        worst = int((a - e).abs().argmax())
        lines = [f"{int(bad.sum())} of {a.numel()} values differ; they must be exactly equal. At index "
                     f"{_index(first, actual.shape)}: expected {int(e[first])}, got {int(a[first])}. Largest "
                     f"difference: {int((a[worst] - e[worst]).abs())} (at index {_index(worst, actual.shape)})."]
    else:
        a, e = a.to(torch.float64).reshape(-1), e.to(torch.float64).reshape(-1)
        bad = ~torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        if not bool(bad.any()):
            return None
        lines = _float_differences(a, e, bad, tuple(actual.shape), rtol, atol, dtype, actual.dtype)
    if actual.dtype != expected.dtype:
        lines.append(f"The dtypes differ too: expected {expected.dtype}, got {actual.dtype}.")
    return "\n".join([f"{what} is wrong.", f"Expected: {show(expected)}", f"Got:      {show(actual)}", *lines])


def assert_close(actual, expected, what: str = "the result", *, rtol: float | None = None,
                 atol: float | None = None) -> None:
    """Raise AssertionError, saying what differs, unless ``actual`` has ``expected``'s shape
    and values (within the tolerance of the dtypes; integers exactly). Any floating dtype
    is accepted and held to its own precision."""
    problem = compare(actual, expected, what, rtol=rtol, atol=atol)
    if problem:
        raise AssertionError(problem)
