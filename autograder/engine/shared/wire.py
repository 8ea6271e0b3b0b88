"""Plain data across the process boundary between the judge and the student worker.

Only JSON and raw bytes cross: a message is a JSON header plus numbered byte
buffers. Tensors travel as (dtype, shape, device, bytes); anything else the
student returns stays in the worker and crosses as an opaque handle. Nothing is
ever unpickled, so a hostile worker can send wrong numbers but never code.
"""
from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from dataclasses import dataclass

import numpy as np
import torch

MAX_MESSAGE_BYTES = 1 << 31  # a worker that claims more is lying or broken

# What the framing calls, taken when this module is imported: in a worker, before any student
# code runs, which can replace ``os.write`` or ``json.loads`` with code of its own, and would
# then run outside the built-in guard with a request's inputs or a reply's bytes in hand. All
# are C functions but the JSON decoder's one method, bound to a decoder of our own.
_os_read, _os_write, _select = os.read, os.write, select.select
_pack, _unpack = struct.pack, struct.unpack
_json_raw_decode = json.JSONDecoder().raw_decode
# And what decoding calls, for the same reason: torch's C types and functions, and the methods
# of TensorBase (whose attributes cannot be set), not those of torch.Tensor (whose can); and
# the Parameter class, whose Python code a cell can only reach by routes the source flags see.
_prod = math.prod
_frombuffer, _empty, _empty_strided, _Size, _device = (torch.frombuffer, torch.empty, torch.empty_strided,
                                                       torch.Size, torch.device)
_TensorBase = torch._C.TensorBase
_UINT8, _cuda_available = torch.uint8, torch.cuda.is_available
_from_numpy, _np_frombuffer, _np_reshape, _np_copy = torch.from_numpy, np.frombuffer, np.ndarray.reshape, np.ndarray.copy
_Parameter = torch.nn.Parameter

_DTYPES = {
    name: getattr(torch, name)
    for name in (
        "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
        "uint8", "int8", "int16", "int32", "int64", "bool",
    )
}
_DTYPE_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
_NUMPY_DTYPES = set(_DTYPES.values()) - {torch.bfloat16}  # those Tensor.numpy() converts
_NUMPY_DTYPE_OF = {dtype: torch.empty(0, dtype=dtype).numpy().dtype for dtype in _NUMPY_DTYPES}


class WireError(Exception):
    """The other side sent something that is not a valid message."""


class Handle:
    """An object that lives in the worker; only its id and type name cross."""

    def __init__(self, handle_id: int, type_name: str):
        self.handle_id = handle_id
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} in the student's process>"


# ---------------------------------------------------------------- encoding
_SELF_ENCODED = frozenset({str, int, bool, type(None)})  # exact types JSON writes as they are
_STR_ONLY = frozenset({str})

def encode(value, buffers: list, make_handle=None):
    """Turn ``value`` into JSON-able data, appending raw bytes to ``buffers``.

    ``make_handle(obj) -> Handle`` keeps unknown objects on this side (the
    worker passes one); without it an unknown type is an error.
    """
    kind = type(value)
    if kind in _SELF_ENCODED:  # most of a request (names, flags, sizes): the checks below give the same
        return value
    if kind is torch.Tensor:  # most of what crosses; the same as the isinstance below
        return _encode_tensor(value, buffers, make_handle)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and kind in (int, bool):
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return {"__float__": repr(value)}
    if isinstance(value, torch.Size):
        return {"__size__": [int(n) for n in value]}
    if kind is tuple:
        return {"__tuple__": [encode(v, buffers, make_handle) for v in value]}
    if kind is list:
        return [encode(v, buffers, make_handle) for v in value]
    if kind is dict and {*map(type, value)} <= _STR_ONLY:  # every key a str (no code of a key's runs)
        return {"__dict__": {k: encode(v, buffers, make_handle) for k, v in value.items()}}
    if isinstance(value, torch.dtype):
        return {"__dtype__": _DTYPE_NAMES[value]}
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, Handle):
        return {"__handle__": value.handle_id}
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value, buffers, make_handle)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return {"__ndarray__": _encode_tensor(torch.from_numpy(np.ascontiguousarray(value)), buffers)}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return {"__npscalar__": _encode_tensor(torch.from_numpy(np.asarray(value)), buffers)}
    if make_handle is not None:
        handle = make_handle(value)
        return {"__handle__": handle.handle_id, "type": handle.type_name}
    raise WireError(f"cannot send a value of type {type(value).__name__}")


def _encode_tensor(t: torch.Tensor, buffers: list, make_handle=None) -> dict:
    # In the worker this runs under the built-in guard, where every tensor operation costs a
    # trip through its modes: as few as give the same bytes.
    dtype = t.dtype
    if dtype not in _DTYPE_NAMES:
        raise WireError(f"tensors of dtype {dtype} are not supported")
    shape = t.shape
    header = {
        "dtype": _DTYPE_NAMES[dtype],
        "shape": list(shape),
        "device": str(t.device),
        "requires_grad": bool(t.requires_grad),
        "parameter": isinstance(t, torch.nn.Parameter),
    }
    if type(t) is not torch.Tensor:
        plain = torch.Tensor._make_subclass(torch.Tensor, t.detach())
    else:
        plain = t.detach() if header["requires_grad"] else t  # detach only for numpy()
    strides = plain.stride()
    zero_stride_dims = [d for d, (n, stride) in enumerate(zip(shape, strides)) if stride == 0 and n > 1]
    if zero_stride_dims and plain.device.type != "meta":
        # An expanded tensor: send the one real slice and let the other side expand it,
        # so "broadcasting copies nothing" stays visible to the student's code.
        base = plain
        for d in zero_stride_dims:
            base = base.narrow(d, 0, 1)
        header["expanded_from"] = _encode_tensor(base, buffers)
        return {"__tensor__": header}
    contiguous = plain.is_contiguous()
    if not contiguous and plain.numel() > 1:
        header["stride"] = list(strides)
    if plain.device.type != "meta":
        # A dense copy (tobytes copies what is already dense and in order); otherwise a fresh
        # one first: .contiguous() may keep a stride-0 size-1 axis.
        dense = plain.device.type == "cpu" and contiguous and not (plain.is_conj() or plain.is_neg())
        if dense and dtype in _NUMPY_DTYPES:  # numpy writes the elements in order, whatever the strides
            buffers.append(plain.numpy().tobytes())
        else:
            data = plain.reshape(-1) if dense else None
            if data is None or (data.numel() and data.stride(0) != 1):
                data = torch.empty(plain.shape, dtype=plain.dtype).copy_(plain.cpu()).reshape(-1)
            buffers.append(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        header["buffer"] = len(buffers) - 1
    return {"__tensor__": header}


# ---------------------------------------------------------------- a reply of plain values
# The worker encodes a reply inside the built-in guard, where every step of ``encode`` costs a
# trip through the guard's hooks (65 µs a reply instead of 9). A reply made only of exact built-in
# types (dense CPU tensors of torch.Tensor itself, numbers, strings, tuples, lists, dicts) is
# encoded by ``frame_plain`` instead, in a step the worker seals (``worker/sealed.py``): it reads
# no attribute through a class a cell can change (TensorBase's getters and methods, ndarray's,
# the JSON module's C encoder, all taken at import), so no student code can run in it.
_Tensor, _dtype_type, _str, _float, _int, _bool = torch.Tensor, torch.dtype, str, float, int, bool
_get = {name: _TensorBase.__dict__[name].__get__ for name in ("dtype", "shape", "device", "requires_grad", "layout")}
_tensor_dtype, _tensor_shape, _tensor_device = _get["dtype"], _get["shape"], _get["device"]
_tensor_requires_grad, _tensor_layout = _get["requires_grad"], _get["layout"]
_stride, _is_conj, _is_neg, _numpy, _detach, _narrow = (_TensorBase.stride, _TensorBase.is_conj, _TensorBase.is_neg,
                                                        _TensorBase.numpy, _TensorBase.detach, _TensorBase.narrow)
_is_contiguous, _numel, _tobytes = _TensorBase.is_contiguous, _TensorBase.numel, np.ndarray.tobytes
_STRIDED, _isfinite, _float_repr = torch.strided, math.isfinite, float.__repr__
_json_plain = json.encoder.c_make_encoder(  # json.dumps(..., allow_nan=False), for trees of exact built-in types
    None, None, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, False)
_MAX_PLAIN_DEPTH = 32


class _NotPlain(Exception):
    """A value ``frame_plain`` leaves to ``frame``, under the guard."""


def frame_plain(message: dict) -> bytes | None:
    """``frame(message)``, byte for byte, where the message holds only plain values; None
    otherwise (the caller frames it with ``frame``)."""
    buffers: list = []
    try:
        encoded = _encode_plain(message, buffers, 0)
    except Exception:  # _NotPlain, or a tensor whose getters raise (a nested one): ``frame`` says what
        return None
    header = "".join(_json_plain(encoded, 0)).encode()
    parts = [_pack("<QQ", len(header), len(buffers)), header]
    for buffer in buffers:
        parts.append(_pack("<Q", len(buffer)))
        parts.append(buffer)
    return b"".join(parts)


def _encode_plain(value, buffers: list, depth: int):
    """``encode(value, buffers)`` for a tree of exact built-in types; raises _NotPlain otherwise."""
    kind = type(value)
    if kind is _Tensor:
        return _encode_plain_tensor(value, buffers)
    if value is None or kind is _bool or kind is _str or kind is _int:
        return value
    if kind is _float:
        return value if _isfinite(value) else {"__float__": _float_repr(value)}
    if depth >= _MAX_PLAIN_DEPTH:
        raise _NotPlain
    if kind is tuple:
        return {"__tuple__": [_encode_plain(v, buffers, depth + 1) for v in value]}
    if kind is list:
        return [_encode_plain(v, buffers, depth + 1) for v in value]
    if kind is dict:
        items = {}
        for key, v in value.items():
            if type(key) is not _str:
                raise _NotPlain
            items[key] = _encode_plain(v, buffers, depth + 1)
        return {"__dict__": items}
    if kind is _Size:
        return {"__size__": list(value)}
    if kind is _dtype_type and value in _DTYPE_NAMES:
        return {"__dtype__": _DTYPE_NAMES[value]}
    if kind is _device:
        return {"__device__": _str(value)}
    raise _NotPlain


def _encode_plain_tensor(t, buffers: list) -> dict:
    """``_encode_tensor`` for a dense CPU tensor of numpy's dtypes; _NotPlain for any other."""
    dtype = _tensor_dtype(t)
    if dtype not in _NUMPY_DTYPES or _tensor_layout(t) is not _STRIDED or _tensor_device(t).type != "cpu" \
            or _is_conj(t) or _is_neg(t):
        raise _NotPlain
    shape = _tensor_shape(t)
    requires_grad = _tensor_requires_grad(t)
    header = {"dtype": _DTYPE_NAMES[dtype], "shape": list(shape), "device": "cpu", "requires_grad": requires_grad,
              "parameter": False}
    plain = _detach(t) if requires_grad else t
    strides = _stride(plain)
    zero_stride_dims = [d for d, (n, stride) in enumerate(zip(shape, strides)) if stride == 0 and n > 1]
    if zero_stride_dims:
        base = plain
        for d in zero_stride_dims:
            base = _narrow(base, d, 0, 1)
        header["expanded_from"] = _encode_plain_tensor(base, buffers)
        return {"__tensor__": header}
    if not _is_contiguous(plain) and _numel(plain) > 1:
        header["stride"] = list(strides)
    buffers.append(_tobytes(_numpy(plain)))  # in C order, as the copy ``_encode_tensor`` makes
    header["buffer"] = len(buffers) - 1
    return {"__tensor__": header}


PLAIN_ENCODER = (frame_plain, _encode_plain, _encode_plain_tensor)  # the Python code frame_plain runs


# ---------------------------------------------------------------- decoding

@dataclass(frozen=True)
class Acceptance:
    """What the judge accepts from the worker, checked before anything is allocated.

    The worker is hostile: every header field is checked, every size is bounded
    (expanded views by the elements they claim, not the bytes they carry), and only
    dense CPU data of an ordinary dtype is taken, or shapes on ``meta`` where a test
    asked for them."""
    max_bytes: int = 256 << 20
    max_header_bytes: int = 16 << 20  # the JSON part: parsed into objects many times its size
    max_elements: int = 1 << 26
    max_depth: int = 32
    max_items: int = 1 << 20
    allow_meta: bool = False


TRUSTED = Acceptance(max_bytes=MAX_MESSAGE_BYTES, max_header_bytes=MAX_MESSAGE_BYTES, max_elements=1 << 40,
                     allow_meta=True)  # the judge's own requests
_CPU = torch.device("cpu")
_TENSOR_KEYS = {"dtype", "shape", "device", "requires_grad", "parameter", "stride", "buffer", "expanded_from"}


class _Decoder:
    def __init__(self, buffers: list, resolve_handle, accept: Acceptance):
        self.buffers = buffers
        self.resolve_handle = resolve_handle
        self.accept = accept
        self.items = 0

    def value(self, data, depth: int = 0):
        self.items += 1
        if depth > self.accept.max_depth or self.items > self.accept.max_items:
            raise WireError("the reply is nested too deeply or holds too many values")
        if data is None or isinstance(data, (bool, str, int, float)):
            return data
        if isinstance(data, list):
            return [self.value(v, depth + 1) for v in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise WireError("malformed value")
        tag = next(iter(data))
        body = data[tag]
        if tag == "__float__":
            if body not in ("nan", "inf", "-inf"):
                raise WireError("malformed float")
            return float(body)
        if tag == "__size__":
            return _Size([_as_int(n) for n in _as_list(body, 64)])
        if tag == "__tuple__":
            return tuple(self.value(v, depth + 1) for v in _as_list(body))
        if tag == "__dict__":
            if not isinstance(body, dict):
                raise WireError("malformed dict")
            return {str(k): self.value(v, depth + 1) for k, v in body.items()}
        if tag == "__dtype__":
            return _dtype(body)
        if tag == "__device__":
            return self.device(body)
        if tag == "__tensor__":
            return self.tensor(body)
        if tag in ("__ndarray__", "__npscalar__"):
            if not isinstance(body, dict) or "__tensor__" not in body:
                raise WireError("malformed array")
            array = _TensorBase.numpy(self.tensor(body["__tensor__"], for_numpy=True))
            return array if tag == "__ndarray__" else array[()]
        if tag == "__handle__":
            handle = Handle(_as_int(body), str(data.get("type", "object"))[:200])
            return self.resolve_handle(handle) if self.resolve_handle else handle
        raise WireError(f"unknown tag {str(tag)[:50]!r}")

    def device(self, name) -> torch.device:
        if name == "cpu":
            return _CPU
        try:
            device = _device(str(name)[:40])
        except RuntimeError:
            raise WireError(f"unknown device {str(name)[:40]!r}") from None
        if device.type not in ("cpu", "cuda", "meta"):
            raise WireError(f"a value on the {device.type} device came back; only CPU (or CUDA) values are accepted")
        return device

    def tensor(self, header, for_numpy: bool = False) -> torch.Tensor:
        if not isinstance(header, dict) or not set(header) <= _TENSOR_KEYS:
            raise WireError("malformed tensor header")
        dtype = _dtype(header.get("dtype"))
        shape = [_as_int(n) for n in _as_list(header.get("shape"), 32)]
        elements = _prod(shape)
        if elements > self.accept.max_elements:
            raise WireError(f"a tensor of shape {tuple(shape)} ({elements:,} elements) came back; at most "
                            f"{self.accept.max_elements:,} elements are accepted")
        device = self.device(header.get("device", "cpu"))
        if device.type == "meta":
            if not self.accept.allow_meta or for_numpy:
                raise WireError(f"a tensor on the meta device (a shape {tuple(shape)} with no values) came back "
                                f"where values were expected")
            if "buffer" in header or "expanded_from" in header:
                raise WireError("a meta tensor cannot carry data")
            t = _empty(shape, dtype=dtype, device="meta")
        elif "expanded_from" in header:
            base_header = header["expanded_from"]
            if not isinstance(base_header, dict) or "__tensor__" not in base_header:
                raise WireError("malformed expanded tensor")
            base = self.tensor(base_header["__tensor__"])
            base_shape = tuple(_TensorBase.size(base))
            if len(base_shape) != len(shape) or any(b not in (1, s) for b, s in zip(base_shape, shape)):
                raise WireError(f"an expanded tensor of shape {tuple(shape)} cannot come from {base_shape}")
            t = _TensorBase.expand(base, shape)
        else:
            raw = self.buffers[_index(header.get("buffer"), len(self.buffers))]
            expected = elements * dtype.itemsize
            if len(raw) != expected:
                raise WireError(f"tensor of shape {shape} and dtype {dtype} needs {expected} bytes, got {len(raw)}")
            numpy_dtype = _NUMPY_DTYPE_OF.get(dtype)
            if raw and numpy_dtype is not None:  # one torch call, not three: numpy's are cheaper
                t = _from_numpy(_np_copy(_np_reshape(_np_frombuffer(raw, numpy_dtype), shape)))
            else:
                flat = (_TensorBase.view(_frombuffer(bytearray(raw), dtype=_UINT8), dtype) if raw
                        else _empty(0, dtype=dtype))
                t = _TensorBase.reshape(flat, shape)
            if "stride" in header:
                stride = [_as_int(s) for s in _as_list(header["stride"], 32)]
                extent = 1 + sum((n - 1) * st for n, st in zip(shape, stride) if n > 0)
                if len(stride) != len(shape) or extent > max(self.accept.max_elements, 1):
                    raise WireError(f"a tensor of shape {tuple(shape)} with strides {tuple(stride)} came back: "
                                    f"not a valid layout within the limit")
                t = _TensorBase.copy_(_empty_strided(shape, stride, dtype=dtype), t)
            if device.type == "cuda" and _cuda_available():
                t = _TensorBase.to(t, device)
        if header.get("parameter") is True:
            return _Parameter(t, requires_grad=header.get("requires_grad") is True)
        if header.get("requires_grad") is True and (dtype.is_floating_point or dtype.is_complex):
            _TensorBase.requires_grad_(t, True)
        return t


def decode(data, buffers: list, resolve_handle=None, accept: Acceptance = TRUSTED):
    """The inverse of ``encode``; strict about every field it reads."""
    try:
        return _Decoder(buffers, resolve_handle, accept).value(data)
    except RecursionError:
        raise WireError("the reply is nested too deeply") from None


def _as_list(value, max_length: int | None = None) -> list:
    if not isinstance(value, list) or (max_length is not None and len(value) > max_length):
        raise WireError("malformed list")
    return value


def _index(value, length: int) -> int:
    if type(value) is not int or not 0 <= value < length:
        raise WireError("malformed buffer reference")
    return value


def _as_int(n) -> int:
    if type(n) is not int or n < 0:
        raise WireError("expected a non-negative integer")
    return n


def _dtype(name) -> torch.dtype:
    try:
        return _DTYPES[name]
    except (KeyError, TypeError):
        raise WireError(f"unknown dtype {str(name)[:40]!r}") from None


# ---------------------------------------------------------------- framing

def send(fd: int, message: dict, make_handle=None, deadline=None) -> None:
    """Write one message (a dict) to a file descriptor; TimeoutError when the other side
    has not taken it all by ``deadline`` (see ``_remaining``)."""
    _write_all(fd, frame(message, make_handle), deadline)


def frame(message: dict, make_handle=None) -> bytes:
    """``message`` as ``send`` writes it: the worker builds a reply under the built-in guard
    and writes it after (writing bytes runs nothing of the student's)."""
    buffers: list = []
    header = header_of(encode(message, buffers, make_handle))
    parts = [_pack("<QQ", len(header), len(buffers)), header]
    for buffer in buffers:
        parts.append(_pack("<Q", len(buffer)))
        parts.append(buffer)
    return b"".join(parts)


# The judge frames a request in two steps (``frame`` does both, and stays one function: the
# worker frames under the built-in guard): it compares a request, encoded, with one it sent ahead.
def encoded(message: dict) -> tuple[dict, list]:
    """``message`` encoded (``encode``: its JSON-able form, its byte buffers), not yet framed; by
    ``_encode_plain`` where it takes the message (the same, with fewer steps: a request's tensors
    are plain), else by ``encode`` (a handle, a bfloat16 tensor)."""
    buffers: list = []
    try:
        return _encode_plain(message, buffers, 0), buffers
    except Exception:  # _NotPlain
        buffers = []
        return encode(message, buffers), buffers


def header_of(data) -> bytes:
    """The JSON header of encoded ``data``: ``json.dumps(data, allow_nan=False)``, by an encoder
    made once (dumps makes one per call; ``encode``'s trees are fresh, so none is circular)."""
    return "".join(_json_plain(data, 0)).encode()


def assemble(header: bytes, buffers: list) -> bytes:
    """A frame of a JSON header and its buffers, as ``frame`` makes one."""
    parts = [_pack("<QQ", len(header), len(buffers)), header]
    for buffer in buffers:
        parts.append(_pack("<Q", len(buffer)))
        parts.append(buffer)
    return b"".join(parts)


def write_frame(fd: int, data: bytes) -> None:
    """Write a ``frame`` (blocking until the other side has taken it all)."""
    _write_all(fd, data)


def receive(fd: int, resolve_handle=None, deadline=None, accept: Acceptance = TRUSTED) -> dict:
    """Read one message; EOFError when the other side has gone, TimeoutError
    when ``deadline`` (see ``_remaining``) passes first; WireError when it breaks ``accept``."""
    header, buffers = receive_raw(fd, deadline, accept)
    message = decode(header, buffers, resolve_handle, accept)
    if not isinstance(message, dict):
        raise WireError("a message must be a dict")
    return message


def receive_raw(fd: int, deadline=None, accept: Acceptance = TRUSTED) -> tuple:
    """One message's JSON header, parsed, and its byte buffers, not yet decoded into values: the
    worker reads a request so, by functions the student's code cannot replace, then decodes it
    with torch's modes off (``worker.serve``), since decoding makes tensors through torch's API."""
    def read(n):
        return _read_exactly(fd, n, deadline)

    header_len, n_buffers = _unpack("<QQ", read(16))
    if header_len > min(accept.max_bytes, accept.max_header_bytes) or n_buffers > 1 << 20:
        raise WireError(f"a reply of more than {min(accept.max_bytes, accept.max_header_bytes):,} bytes "
                        f"of structure came back")
    try:
        text = read(header_len).decode()
        header, end = _json_raw_decode(text)
        if text[end:].strip():
            raise ValueError("extra data after the JSON header")
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed message header: {exc}") from None
    buffers = []
    total = 0
    for _ in range(n_buffers):
        (size,) = _unpack("<Q", read(8))
        total += size
        if total + header_len > accept.max_bytes:
            raise WireError(f"a reply of more than {accept.max_bytes:,} bytes came back")
        buffers.append(read(size))
    return header, buffers


def _remaining(deadline) -> float | None:
    """Seconds left before ``deadline``: None (no limit), a ``time.monotonic()`` value, or an
    object whose ``remaining()`` says (``cpu_wait.LoadAwareDeadline`` moves with the load)."""
    if deadline is None:
        return None
    if isinstance(deadline, (int, float)):
        return deadline - time.monotonic()
    return deadline.remaining()


def _write_all(fd: int, data: bytes, deadline=None) -> None:
    view = memoryview(data)
    if deadline is None:
        while view:
            view = view[_os_write(fd, view):]
        return
    # A reader that stops reading must not stall the writer past its deadline: write only
    # what the pipe takes without blocking.
    was_blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    try:
        while view:
            remaining = _remaining(deadline)  # a deadline that moves with the load has moved already
            if remaining <= 0:
                raise TimeoutError("the other process did not take the message in time")
            if not _select([], [fd], [], remaining)[1]:
                continue
            try:
                view = view[_os_write(fd, view):]
            except BlockingIOError:
                continue
    finally:
        os.set_blocking(fd, was_blocking)


def _read_exactly(fd: int, n: int, deadline=None) -> bytes:
    chunks = []
    while n:
        while deadline is not None:
            remaining = _remaining(deadline)  # a deadline that moves with the load has moved already
            if remaining <= 0:
                raise TimeoutError("the other process did not answer in time")
            if _select([fd], [], [], remaining)[0]:
                break
        chunk = _os_read(fd, min(n, 1 << 24))
        if not chunk:
            raise EOFError("the other process closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
