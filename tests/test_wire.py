"""The boundary between judge and worker: plain data in, the same plain data out,
and nothing else accepted."""
import json
import math
import os
import struct

import pytest
import torch
from hypothesis import given, strategies as st

from autograder.engine import wire
from tests.strategies import plain_values, tensors


def roundtrip(value):
    buffers = []
    encoded = wire.encode(value, buffers)
    json.dumps(encoded, allow_nan=False)  # the header is strict JSON
    return wire.decode(json.loads(json.dumps(encoded)), buffers)


def same(a, b):
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and (a.device.type == "meta" or torch.equal(a, b)))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(t=tensors())
def test_tensor_roundtrip_keeps_dtype_shape_and_values(t):
    """Any tensor crosses with its dtype, shape and values."""
    assert same(t, roundtrip(t))


@given(t=tensors())
def test_layout_survives_the_crossing(t):
    """Non-contiguous stays non-contiguous and expanded stays expanded (stride 0),
    so a student's .view on a transposed input fails in the worker as it would in a notebook."""
    back = roundtrip(t)
    assert back.is_contiguous() == t.is_contiguous() or t.numel() <= 1
    assert (0 in back.stride()) == any(s == 0 and n > 1 for s, n in zip(t.stride(), t.shape))


@given(value=plain_values())
def test_plain_values_roundtrip(value):
    """Numbers (nan and inf included), strings, dtypes, devices, sizes, lists,
    tuples and dicts cross unchanged."""
    assert same(value, roundtrip(value))


def test_parameters_and_requires_grad_are_reported():
    p = torch.nn.Parameter(torch.ones(2, 3))
    back = roundtrip({"p": p, "g": torch.zeros(2, requires_grad=True), "meta": torch.empty(5, 7, device="meta")})
    assert isinstance(back["p"], torch.nn.Parameter)
    assert back["g"].requires_grad and not isinstance(back["g"], torch.nn.Parameter)
    assert back["meta"].device.type == "meta" and back["meta"].shape == (5, 7)


def test_unknown_objects_need_a_handle():
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.encode(object(), [])
    made = []
    encoded = wire.encode([object()], [], make_handle=lambda o: made.append(o) or wire.Handle(7, "object"))
    assert isinstance(wire.decode(encoded, []), list) and isinstance(wire.decode(encoded, [])[0], wire.Handle)


@pytest.mark.parametrize("bad", [
    {"__tensor__": {"dtype": "float32", "shape": [2], "buffer": 0}},       # 4 bytes for 8 needed
    {"__tensor__": {"dtype": "object", "shape": [1], "buffer": 0}},        # no such dtype
    {"__tensor__": {"dtype": "float32", "shape": [-1], "buffer": 0}},      # negative size
    {"__pickle__": "gASV"},                                                # unknown tag
    {"__float__": "1e400"},
    {},
])
def test_malformed_data_is_refused(bad):
    with pytest.raises((wire.WireError, KeyError, IndexError)):
        wire.decode(bad, [b"\x00" * 4])


def test_framing_roundtrip_and_limits():
    r, w = os.pipe()
    wire.send(w, {"x": torch.arange(6).reshape(2, 3), "s": "hi"})
    got = wire.receive(r)
    assert torch.equal(got["x"], torch.arange(6).reshape(2, 3)) and got["s"] == "hi"
    os.write(w, struct.pack("<QQ", wire.MAX_MESSAGE_BYTES + 1, 0))
    with pytest.raises(wire.WireError, match="more than"):
        wire.receive(r)
    os.close(w)
    with pytest.raises(EOFError):
        wire.receive(r)
    os.close(r)


def test_receive_times_out():
    import time
    r, w = os.pipe()
    with pytest.raises(TimeoutError):
        wire.receive(r, deadline=time.monotonic() + 0.2)
    os.close(r)
    os.close(w)
