"""Every use the judge makes of hypothesis beyond its public API, in one place.

The judge replays the examples hypothesis drew (``example_replay``) and keeps hypothesis
from drawing constants out of the modules it happened to load (``judge``): both need
hypothesis's internals, which may change in any release (requirements.txt pins the
version). Nothing else in the engine imports a private hypothesis name; ``check()`` says,
naming the installed hypothesis version, which of the behaviours relied on here no longer
holds, and tests/test_hypothesis_internals.py fails with its words. An internal that is
gone altogether fails the judge's import the same way (``HypothesisChanged``).
"""
from __future__ import annotations

import functools
import inspect
import re

import hypothesis

VERSION = hypothesis.__version__
HERE = "autograder/engine/judge/hypothesis_internals.py"


class HypothesisChanged(RuntimeError):
    """An internal of hypothesis the judge relies on is gone or behaves otherwise."""

    def __init__(self, what: str):
        super().__init__(f"hypothesis {VERSION}: {what}; the judge relies on it ({HERE} must be "
                         f"updated for this version, or hypothesis pinned back to the one it was written for)")


try:
    from hypothesis.errors import StopTest, UnsatisfiedAssumption
    from hypothesis.internal.conjecture import providers as _providers
    from hypothesis.internal.reflection import function_digest
    from hypothesis.strategies._internal.core import DataObject
    from hypothesis.vendor.pretty import pretty
except ImportError as exc:  # pragma: no cover (a hypothesis release that moved them)
    raise HypothesisChanged(f"an internal is gone ({exc})") from None

__all__ = ["StopTest", "UnsatisfiedAssumption", "function_digest", "is_data_object", "pretty",
           "settings_of", "inner_test", "set_inner_test", "falsifying_note", "FALSIFYING",
           "draw_no_local_constants", "check", "HypothesisChanged", "VERSION"]


def is_data_object(value) -> bool:
    """Whether ``value`` is what hypothesis passes for an ``st.data()`` argument."""
    return isinstance(value, DataObject)


def settings_of(test):
    """The settings a ``@given`` test runs with (its own ``@settings`` over the profile's)."""
    return getattr(test, "_hypothesis_internal_use_settings", None)


def inner_test(test):
    """The function hypothesis calls for each example (``test.hypothesis.inner_test``)."""
    return test.hypothesis.inner_test


def set_inner_test(test, inner) -> None:
    test.hypothesis.inner_test = inner


# How hypothesis notes the failing example on the exception it raises (and how a replay notes it).
FALSIFYING = re.compile(r"^(?:Falsifying (?:explicit )?example|Failing (?:explicit example|test case)): "
                        r"\w+\(\n?(.*)\)\s*$", re.S)


def falsifying_note(test_name: str, inputs: dict) -> str:
    """The note hypothesis adds to a failing test's exception, for ``inputs`` by name."""
    arguments = "".join(f"    {name}={pretty(value)},\n" for name, value in inputs.items())
    return f"Falsifying example: {test_name}(\n{arguments})"


def draw_no_local_constants() -> None:
    """Hypothesis now and then draws a constant it found in the "local" modules loaded so far
    (any module outside site-packages and the standard library), collected once per process
    and never forgotten. Here its provider's pool is replaced by an empty one, so that it draws
    only from the strategies and its own constants. (Hypothesis has no setting for this.)"""
    empty = _providers.Constants()
    _providers._get_local_constants = lambda: empty
    _providers.CONSTANTS_CACHE.cache.clear()


def check() -> list[str]:
    """What of the above no longer holds for the installed hypothesis, each naming the
    version; empty when all does. Runs small hypothesis tests (a fraction of a second)."""
    from hypothesis import assume, given, settings, strategies as st

    problems: list[str] = []

    def expect(holds: bool, what: str) -> None:
        if not holds:
            problems.append(str(HypothesisChanged(what)))

    def expect_no_error(what: str, probe) -> None:
        try:
            probe()
        except Exception as exc:
            expect(False, f"{what} ({type(exc).__name__}: {exc})")

    # Local constants: the provider asks _get_local_constants() for its pool, cached in CONSTANTS_CACHE.
    expect(callable(getattr(_providers, "_get_local_constants", None)),
           "hypothesis.internal.conjecture.providers._get_local_constants is gone")
    expect_no_error("providers.Constants() can no longer be made empty", _providers.Constants)
    expect(hasattr(getattr(_providers, "CONSTANTS_CACHE", None), "cache"),
           "hypothesis.internal.conjecture.providers.CONSTANTS_CACHE.cache is gone")
    try:
        source = inspect.getsource(_providers.HypothesisProvider)
    except (OSError, TypeError, AttributeError):
        source = ""
    expect("_get_local_constants()" in source,
           "HypothesisProvider no longer draws local constants through _get_local_constants()")

    # StopTest ends an example from inside a draw; test code's `except Exception` must not catch it.
    expect(isinstance(StopTest, type) and not issubclass(StopTest, Exception),
           "hypothesis.errors.StopTest is no longer a BaseException outside Exception")

    # A derandomised test's seed is the digest of its inner function: a functools.wraps wrapper
    # must have the same, or a replay's recording would draw other examples.
    def sample(x):
        return x

    expect(function_digest(functools.wraps(sample)(lambda *a, **k: sample(*a, **k))) == function_digest(sample),
           "function_digest of a functools.wraps wrapper differs from the wrapped function's")

    seen: list = []

    @settings(max_examples=5, derandomize=True, database=None, deadline=None)
    @given(x=st.integers(0, 10), data=st.data())
    def probe(x, data):
        seen.append(("called", x, is_data_object(data)))
        assume(x != 3)

    expect(settings_of(probe) is not None and settings_of(probe).max_examples == 5,
           "a @given test no longer carries its settings as _hypothesis_internal_use_settings")
    try:
        original = inner_test(probe)
    except AttributeError:
        expect(False, "a @given test has no .hypothesis.inner_test")
        return problems
    rejected: list = []

    @functools.wraps(original)
    def replacement(**kwargs):
        seen.append("replacement")
        try:
            return original(**kwargs)
        except UnsatisfiedAssumption:
            rejected.append(kwargs["x"])
            raise

    set_inner_test(probe, replacement)
    try:
        expect_no_error("a @given test with its inner test replaced no longer runs", probe)
    finally:
        set_inner_test(probe, original)
    expect("replacement" in seen, "hypothesis no longer calls the test's .hypothesis.inner_test for each example")
    called = [entry for entry in seen if entry != "replacement"]
    expect(bool(called) and all(entry[2] for entry in called),
           "an st.data() argument is no longer a hypothesis.strategies._internal.core.DataObject")
    expect(all(x == 3 for x in rejected), "assume(False) no longer raises hypothesis.errors.UnsatisfiedAssumption")

    @settings(max_examples=20, derandomize=True, database=None, deadline=None)
    @given(x=st.integers(0, 100))
    def failing(x):
        assert x < 5

    try:
        failing()
    except AssertionError as exc:
        notes = [note for note in getattr(exc, "__notes__", []) if FALSIFYING.match(note.strip())]
        expect(bool(notes), "a failing test's note no longer reads 'Falsifying example: name(...)'")
        expect(FALSIFYING.match(falsifying_note("failing", {"x": 5}).strip()) is not None,
               "the judge's own falsifying note no longer reads as hypothesis's")
    else:
        expect(False, "a failing @given test no longer raises its AssertionError")
    return problems
