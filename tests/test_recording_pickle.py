"""A recording's pickle (judge/recording_pickle.py) reads back exactly what ``copy.deepcopy``
gives, whatever the examples hold: tensors of every dtype and shape, views, tensors sharing
memory, the same tensor twice, tensors with grad, parameters."""
from __future__ import annotations

import copy
import math
import pickle

import torch
from hypothesis import given, settings, strategies as st

from autograder.engine.judge import recording_pickle
from autograder.engine.judge.example_replay import _owns_its_storage

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int8,
          torch.uint8, torch.bool, torch.complex64]
SHAPES = [(), (0,), (1,), (3,), (2, 3), (3, 0, 2), (2, 1, 4)]


def _fresh(dtype, shape, seed) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(shape, generator=generator, dtype=torch.float64) * 100
    if math.prod(shape):
        values.view(-1)[0] = -0.0  # a negative zero, and a NaN below, kept bit for bit
        if dtype.is_floating_point and math.prod(shape) > 1:
            values.view(-1)[1] = float("nan")
    return values.to(dtype)


@st.composite
def examples(draw):
    """A list of tensors as examples may hold them, with the ways they can relate."""
    items: list = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["fresh", "fresh", "view", "same", "alias", "grad", "parameter", "strided"]))
        # A view of a tensor with grad is no example: neither pickle nor deepcopy takes it.
        tensors = [t for t in items if kind != "view" or not t.requires_grad]
        if kind in ("view", "same", "alias") and tensors:
            base = draw(st.sampled_from(tensors))
            if kind == "same":
                items.append(base)
            elif kind == "alias":
                items.append(base.detach())  # shares its storage, yet no view (_base is None)
            else:
                items.append(base.reshape(-1)[: max(base.numel() - 1, 0)] if base.dim() else base.view(1))
            continue
        t = _fresh(draw(st.sampled_from(DTYPES)), draw(st.sampled_from(SHAPES)), draw(st.integers(0, 99)))
        if kind == "grad" and t.dtype.is_floating_point:
            t.requires_grad_(True)
        elif kind == "parameter" and t.dtype.is_floating_point:
            t = torch.nn.Parameter(t)
        elif kind == "strided" and t.dim() == 2:
            t = t.t()
        items.append(t)
    return draw(st.sampled_from([list, tuple]))(items) if len(items) > 1 else {"only": items[0]}


def _leaves(value) -> list:
    return list(value.values()) if isinstance(value, dict) else list(value)


def _bytes(t: torch.Tensor) -> bytes:
    t = t.detach()
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""


def _shares(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(a.numel() and b.numel()) and a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


@settings(max_examples=150, deadline=None)
@given(value=examples())
def test_a_recording_reads_back_each_tensor_as_deepcopy_and_all_as_pickle_does(value):
    """Each tensor as deepcopy gives it; which tensors are one object or share memory as
    pickle's own reading gives them (pickle keeps a tensor met twice one object, but reads
    two tensors sharing memory, a view and its base say, as two copies)."""
    expected, pickled = copy.deepcopy(value), _leaves(pickle.loads(pickle.dumps(value)))
    got = pickle.loads(recording_pickle.dumps(value, _owns_its_storage))
    assert type(got) is type(expected)
    a, b = _leaves(expected), _leaves(got)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert type(x) is type(y)
        assert (x.dtype, x.shape, x.stride(), x.storage_offset(), x.requires_grad, x._base is None) == \
               (y.dtype, y.shape, y.stride(), y.storage_offset(), y.requires_grad, y._base is None)
        assert _bytes(x) == _bytes(y)
    for i in range(len(a)):
        for j in range(len(a)):
            assert (a[i] is a[j]) == (b[i] is b[j])
            assert _shares(pickled[i], pickled[j]) == _shares(b[i], b[j])


def test_a_plain_tensor_is_written_as_its_bytes_and_read_without_torch_load(monkeypatch):
    t = _fresh(torch.float32, (2, 3), 1)
    data = recording_pickle.dumps({"x": t}, _owns_its_storage)
    monkeypatch.setattr(torch, "load", None)  # torch's own pickling of a storage reads it with torch.load
    got = pickle.loads(data)["x"]
    assert _bytes(got) == _bytes(t) and got.untyped_storage().nbytes() == t.untyped_storage().nbytes()
