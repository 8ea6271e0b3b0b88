"""autograder/reference_cache.py: a reference kept per input. The laws: two arguments share a key
exactly when they are the same value bit for bit; a kept result is what the function returns
again, handed out as a copy; an edited test file keeps nothing of the old one's results."""
from __future__ import annotations

import importlib.util
import struct

import torch
from hypothesis import given, settings, strategies as st

from autograder import reference_cache
from autograder.reference_cache import reference, value_key
from tests.strategies import tensors


def bits(t: torch.Tensor) -> tuple:
    """What a tensor is, bit for bit: its dtype, shape and each value in order, a float by the 8
    bytes of its exact float64 value (so -0.0 is not 0.0), a complex number by both parts."""
    def exact(value):
        if isinstance(value, complex):
            return exact(value.real), exact(value.imag)
        return struct.pack("<d", value) if isinstance(value, float) else value
    return str(t.dtype), tuple(t.shape), [exact(v) for v in t.reshape(-1).tolist()]


@settings(max_examples=200, deadline=None)
@given(a=tensors() | st.sampled_from([torch.tensor(0.0), torch.tensor(-0.0), torch.tensor([0.0]),
                                      torch.zeros(2, dtype=torch.float16)[::2],  # size 1, stride 2
                                      torch.zeros(2, 2, dtype=torch.bfloat16).t()]),
       b=tensors())
def test_two_tensors_share_a_key_exactly_when_they_are_the_same_bits(a, b):
    assert (value_key(a) == value_key(b)) == (bits(a) == bits(b))


@settings(max_examples=200, deadline=None)
@given(a=st.floats(allow_nan=True) | st.sampled_from([float("nan"), -float("nan"), 0.0, -0.0]),
       b=st.floats(allow_nan=True) | st.sampled_from([float("nan"), -float("nan"), 0.0, -0.0]))
def test_two_floats_share_a_key_exactly_when_they_are_the_same_number(a, b):
    assert (value_key(a) == value_key(b)) == (struct.pack("<d", a) == struct.pack("<d", b))


def test_what_is_not_plain_data_is_not_kept():
    assert value_key(torch.zeros(2, requires_grad=True)) is None
    assert value_key(object()) is None
    assert value_key((1.0, [torch.zeros(1), object()])) is None
    assert value_key(torch.zeros(2).to_sparse()) is None
    assert value_key(torch.zeros(2, device="meta")) is None
    assert value_key(0) != value_key(False) and value_key(0.0) != value_key(-0.0) and value_key(1) != value_key(1.0)


def test_a_kept_result_is_computed_once_and_handed_out_as_a_copy():
    calls = []

    @reference
    def total(x, scale):
        calls.append(1)
        return [float((x * scale).detach().sum())], (x * scale).detach()

    x = torch.arange(4.0)
    first = total(x, 2.0)
    first[0].append("changed by a test")
    first[1].zero_()
    again = total(x.clone(), 2.0)
    assert len(calls) == 1 and again[0] == [12.0] and torch.equal(again[1], x * 2)
    total(x, -2.0), total(x.double(), 2.0), total(x, scale=2.0)
    assert len(calls) == 4, "another value, another dtype, a keyword: computed again"
    total(x.requires_grad_(True), 2.0), total(x, 2.0)
    assert len(calls) == 6, "a tensor that needs grad is not kept"


def test_an_edited_test_file_keeps_nothing_of_the_old_ones(tmp_path):
    path = tmp_path / "test_edited.py"

    def load(body: str):
        path.write_text(f"from autograder.reference_cache import reference\n\n@reference\ndef ref(x):\n    return {body}\n")
        spec = importlib.util.spec_from_file_location("test_edited", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ref

    assert load("x + 1")(1) == 2
    assert load("x + 100")(1) == 101, "the same function's name and argument, another file: not the old result"


def test_the_cache_holds_at_most_its_bound(monkeypatch):
    monkeypatch.setattr(reference_cache, "MAX_RESULTS", 5)
    monkeypatch.setattr(reference_cache, "_results", {})

    @reference
    def square(x):
        return x * x

    assert [square(i) for i in range(12)] == [i * i for i in range(12)]
    assert len(reference_cache._results) == 5


def test_a_value_the_cache_cannot_key_is_computed(monkeypatch):
    def broken(value):
        raise RuntimeError("cannot key this")

    monkeypatch.setattr(reference_cache, "value_key", broken)
    calls = []

    @reference
    def double(x):
        calls.append(1)
        return 2 * x

    assert double(3) == 6 and double(3) == 6 and len(calls) == 2
