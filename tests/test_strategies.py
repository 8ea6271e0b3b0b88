"""The shared strategies (autograder/strategies.py): what they draw, and that reusing a
built strategy (the judge does, to save building one per example) draws what a fresh one does."""
from __future__ import annotations

import torch
from hypothesis import Phase, given, settings

from autograder import strategies as S

FRESH = {name: getattr(S, name).__wrapped__ for name in ("shapes", "dtypes", "tensors", "_arrays", "float_tensors")}


def drawn(strategy_factory, examples: int = 60) -> list[torch.Tensor]:
    """What a derandomised hypothesis run (as grading runs it) draws from ``strategy_factory()``,
    asked for again inside every example as a hidden test's composite strategy does."""
    seen = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate])
    @given(S.shapes(max_dims=2).flatmap(lambda shape: strategy_factory(shape)))
    def collect(x):
        seen.append(x.clone())

    collect()
    return seen


def test_reused_strategies_draw_the_same_examples_as_fresh_ones(monkeypatch):
    def factory(shape):
        return S.tensors(shape, torch.float64, -3, 3)

    reused = drawn(factory)
    for name, fresh in FRESH.items():
        monkeypatch.setattr(S, name, fresh)
    built_anew = drawn(factory)
    assert len(reused) == len(built_anew) > 10
    for a, b in zip(reused, built_anew):
        assert a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)


def test_the_same_arguments_give_the_same_strategy_object():
    assert S.tensors((2, 3), torch.float32, 0, 50) is S.tensors((2, 3), torch.float32, 0, 50)
    assert S.tensors((2, 3), torch.float32, 0, 50) is not S.tensors((2, 3), torch.float64, 0, 50)
    assert S.float_tensors() is S.float_tensors()


def test_unhashable_arguments_still_build_a_strategy():
    options = [torch.float64, torch.int64]  # a list: not remembered, still built
    strategy = S.dtypes(options)
    assert strategy is not S.dtypes(options)

    @settings(max_examples=10, derandomize=True, database=None)
    @given(strategy)
    def check(dtype):
        assert dtype in options

    check()


@given(S.float_tensors(dtype=torch.float64, min_value=-5, max_value=5))
def test_float_tensors_are_finite_in_range_with_three_decimals(x):
    assert torch.isfinite(x).all()
    assert (x.abs() <= 5).all()
    assert torch.allclose(x, (x * 1000).round() / 1000, rtol=0, atol=1e-9)


@given(S.non_constant(S.float_tensors()))
def test_non_constant_tensors_hold_two_values(x):
    assert x.numel() >= 2 and (x != x.reshape(-1)[0]).any()
