"""The boundary between judge and worker: plain data in, the same plain data out,
and nothing else accepted."""
import json
import math
import os
import struct

import pytest
import torch
from hypothesis import given, strategies as st

from autograder.engine.shared import wire
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


@given(t=tensors(), bits=st.binary(min_size=8, max_size=8),
       view=st.sampled_from(["as is", "conj", "requires_grad", "parameter", "size-1 odd stride"]))
def test_the_bytes_sent_are_the_elements_in_order_bit_for_bit(t, bits, view):
    """Whatever the layout, dtype or view bits, the buffer holds the tensor's elements in
    row-major order (of the one real slice, for an expanded tensor), bit for bit: nan payloads
    and -0.0 included (a fast path for dense tensors must send what the general one sends)."""
    if t.numel() and 0 not in t.stride() and t.dtype.is_floating_point:
        t = t.clone()
        t[(0,) * t.dim()] = torch.frombuffer(bytearray(bits[:t.dtype.itemsize]), dtype=t.dtype)[0]
    if view == "conj" and t.dtype.is_complex:
        t = t.conj()
    elif view in ("requires_grad", "parameter") and (t.dtype.is_floating_point or t.dtype.is_complex):
        t = t.detach().clone().requires_grad_(True)
        t = torch.nn.Parameter(t) if view == "parameter" else t
    elif view == "size-1 odd stride" and t.numel() == 1:
        t = torch.empty_strided(t.shape, [3] * t.dim(), dtype=t.dtype).copy_(t)
    buffers = []
    header = wire.encode(t, buffers)["__tensor__"]
    while "expanded_from" in header:
        header = header["expanded_from"]["__tensor__"]
    source = t.detach().resolve_conj().resolve_neg()
    for axis, (size, stride) in enumerate(zip(t.shape, t.stride())):
        if stride == 0 and size > 1:
            source = source.narrow(axis, 0, 1)
    assert header["shape"] == list(source.shape)
    dense = torch.empty(source.shape, dtype=t.dtype).copy_(source).reshape(-1)
    assert buffers[header["buffer"]] == (dense.view(torch.uint8).numpy().tobytes() if dense.numel() else b"")


@given(value=st.one_of(plain_values(), tensors(), st.lists(tensors(), max_size=3)),
       view=st.sampled_from(["as is", "conj", "neg", "requires_grad", "parameter", "meta", "numpy", "object"]),
       return_inputs=st.booleans())
def test_a_reply_of_plain_values_is_framed_as_frame_frames_it(value, view, return_inputs):
    """The worker frames a reply of exact built-in types with ``frame_plain``, which reads nothing
    through a class a cell can change: it gives ``frame``'s bytes exactly, and leaves to ``frame``
    (returns None) whatever it does not take (a Parameter, a conjugate or negative view, a tensor
    off the CPU, a numpy array, any other object)."""
    if isinstance(value, torch.Tensor) and view != "as is":
        if view == "conj" and value.dtype.is_complex:
            value = value.conj()
        elif view == "neg" and value.dtype.is_complex:
            value = value.conj().imag  # a negative view, whose bits are not the elements'
        elif view in ("requires_grad", "parameter") and (value.dtype.is_floating_point or value.dtype.is_complex):
            value = value.detach().clone().requires_grad_(True)
            value = torch.nn.Parameter(value) if view == "parameter" else value
        elif view == "meta":
            value = value.to("meta")
        elif view == "numpy" and value.dtype != torch.bfloat16:
            value = value.numpy()
    elif view == "object":
        value = [value, object()]
    message = {"ok": True, "value": value, **({"inputs": {"args": [value], "kwargs": {}}} if return_inputs else {}),
               "cpu": 1.25}
    handles = []
    framed = wire.frame_plain(message)
    general = wire.frame(message, make_handle=lambda obj: handles.append(obj) or wire.Handle(len(handles), "object"))
    plain = not handles and _plain(value)
    assert (framed == general) if plain else framed is None
    if not handles:  # the judge's requests are encoded by the same two ways (wire.encoded)
        data, buffers = wire.encoded(message)
        assert wire.assemble(wire.header_of(data), buffers) == general


def _plain(value) -> bool:
    if type(value) is torch.Tensor:
        return (value.device.type == "cpu" and value.dtype != torch.bfloat16 and not value.is_conj()
                and not value.is_neg())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return value is None or type(value) in (bool, int, float, str, torch.dtype, torch.device, torch.Size)


@given(value=plain_values())
def test_plain_values_roundtrip(value):
    """Numbers (nan and inf included), strings, dtypes, devices, sizes, lists,
    tuples and dicts cross unchanged."""
    assert same(value, roundtrip(value))


@given(value=st.one_of(plain_values(), st.lists(tensors(), max_size=2)))
def test_a_header_is_what_json_dumps_writes(value):
    """``header_of`` (an encoder made once) writes an encoded message as ``json.dumps(...,
    allow_nan=False)`` does."""
    data, _ = wire.encoded({"value": value, "names": ["torch.mm", "@"], "n": 3})
    assert wire.header_of(data) == json.dumps(data, allow_nan=False).encode()


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


# ------------------------------------------------------------------ what the judge accepts
STRICT = wire.Acceptance(max_bytes=1 << 20, max_elements=1000)


def forged(header: dict, buffers=(b"\x00" * 4,)) -> bytes:
    """A reply as a hostile worker may write it to the judge's pipe."""
    data = json.dumps({"__dict__": {"ok": True, "value": header}}).encode()
    frame = struct.pack("<QQ", len(data), len(buffers)) + data
    for buffer in buffers:
        frame += struct.pack("<Q", len(buffer)) + buffer
    return frame


def receive_forged(frame: bytes, accept=STRICT):
    r, w = os.pipe()
    os.write(w, frame)
    os.close(w)
    try:
        return wire.receive(r, accept=accept)["value"]
    finally:
        os.close(r)


ONE = {"__tensor__": {"dtype": "float32", "shape": [1, 1], "device": "cpu", "buffer": 0}}
HOSTILE = {
    "expanded far beyond the limit": {"__tensor__": {"dtype": "float32", "shape": [100000, 100000],
                                                     "device": "cpu", "expanded_from": ONE}},
    "meta where values are expected": {"__tensor__": {"dtype": "float32", "shape": [3], "device": "meta"}},
    "another device": {"__tensor__": {"dtype": "float32", "shape": [1], "device": "xpu", "buffer": 0}},
    "a sparse layout": {"__tensor__": {"dtype": "float32", "shape": [1], "device": "cpu", "buffer": 0,
                                       "layout": "sparse_coo"}},
    "an unknown dtype": {"__tensor__": {"dtype": "qint8", "shape": [4], "device": "cpu", "buffer": 0}},
    "strides reaching far past the data": {"__tensor__": {"dtype": "float32", "shape": [2], "stride": [10**12],
                                                          "device": "cpu", "buffer": 0}},
    "a negative size": {"__tensor__": {"dtype": "float32", "shape": [-1], "device": "cpu", "buffer": 0}},
    "too few bytes for the shape": {"__tensor__": {"dtype": "float32", "shape": [2], "device": "cpu", "buffer": 0}},
    "a buffer that does not exist": {"__tensor__": {"dtype": "float32", "shape": [1], "device": "cpu", "buffer": 7}},
    "an expansion that does not fit": {"__tensor__": {"dtype": "float32", "shape": [2, 3], "device": "cpu",
                                                      "expanded_from": {"__tensor__": {
                                                          "dtype": "float32", "shape": [1], "device": "cpu",
                                                          "buffer": 0}}}},
    "an unknown tag": {"__pickle__": "cos\nsystem\n"},
    "nesting deeper than allowed": json.loads("[" * 40 + "]" * 40),
    "a numpy array on meta": {"__ndarray__": {"__tensor__": {"dtype": "float32", "shape": [3], "device": "meta"}}},
}


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_the_judge_refuses_what_it_did_not_ask_for(what):
    with pytest.raises(wire.WireError) as refused:
        receive_forged(forged(HOSTILE[what]))
    assert len(str(refused.value)) > 10  # says what came back


def test_an_oversized_reply_is_refused_before_it_is_read():
    frame = struct.pack("<QQ", STRICT.max_bytes + 1, 0)
    with pytest.raises(wire.WireError, match="more than"):
        receive_forged(frame)


def test_element_counts_are_checked_before_allocation():
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(wire.WireError, match="elements"):
        receive_forged(forged(HOSTILE["expanded far beyond the limit"]), wire.Acceptance())
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: nothing of 40 GB made


def test_meta_is_accepted_where_a_test_asks_for_it():
    got = receive_forged(forged(HOSTILE["meta where values are expected"]),
                         wire.Acceptance(max_elements=1000, allow_meta=True))
    assert got.device.type == "meta" and tuple(got.shape) == (3,)


def test_honest_values_within_the_limits_pass():
    value = (torch.arange(6.0).reshape(2, 3).T, torch.zeros(1, 3).expand(4, 3), {"n": 3, "s": "x"}, 1.5, None)
    r, w = os.pipe()
    wire.send(w, {"ok": True, "value": value})
    got = wire.receive(r, accept=STRICT)["value"]
    assert torch.equal(got[0], value[0]) and got[0].stride() == value[0].stride()
    assert torch.equal(got[1], value[1]) and got[1].stride(0) == 0
    assert got[2:] == value[2:]
