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

import numpy as np
import torch

MAX_MESSAGE_BYTES = 1 << 31  # a worker that claims more is lying or broken

_DTYPES = {
    name: getattr(torch, name)
    for name in (
        "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
        "uint8", "int8", "int16", "int32", "int64", "bool",
    )
}
_DTYPE_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


class WireError(Exception):
    """The other side sent something that is not a valid message."""


class Handle:
    """An object that lives in the worker; only its id and type name cross."""

    def __init__(self, handle_id: int, type_name: str, description: str = ""):
        self.handle_id = handle_id
        self.type_name = type_name
        self.description = description

    def __repr__(self):
        return f"<{self.type_name} in the student's process>"


# ---------------------------------------------------------------- encoding

def encode(value, buffers: list, make_handle=None):
    """Turn ``value`` into JSON-able data, appending raw bytes to ``buffers``.

    ``make_handle(obj) -> Handle`` keeps unknown objects on this side (the
    worker passes one); without it an unknown type is an error.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) in (int, bool):
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
        return {"__float__": repr(value)}
    if isinstance(value, torch.Size):
        return {"__size__": [int(n) for n in value]}
    if type(value) is tuple:
        return {"__tuple__": [encode(v, buffers, make_handle) for v in value]}
    if type(value) is list:
        return [encode(v, buffers, make_handle) for v in value]
    if type(value) is dict and all(type(k) is str for k in value):
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
        return {"__handle__": handle.handle_id, "type": handle.type_name,
                "description": handle.description}
    raise WireError(f"cannot send a value of type {type(value).__name__}")


def _encode_tensor(t: torch.Tensor, buffers: list, make_handle=None) -> dict:
    if t.dtype not in _DTYPE_NAMES:
        raise WireError(f"tensors of dtype {t.dtype} are not supported")
    header = {
        "dtype": _DTYPE_NAMES[t.dtype],
        "shape": list(t.shape),
        "device": str(t.device),
        "requires_grad": bool(t.requires_grad),
        "parameter": isinstance(t, torch.nn.Parameter),
    }
    plain = torch.Tensor._make_subclass(torch.Tensor, t.detach()) if type(t) is not torch.Tensor else t.detach()
    zero_stride_dims = [d for d in range(plain.dim()) if plain.stride(d) == 0 and plain.shape[d] > 1]
    if zero_stride_dims and plain.device.type != "meta":
        # An expanded tensor: send the one real slice and let the other side expand it,
        # so "broadcasting copies nothing" stays visible to the student's code.
        base = plain
        for d in zero_stride_dims:
            base = base.narrow(d, 0, 1)
        header["expanded_from"] = _encode_tensor(base, buffers)
        return {"__tensor__": header}
    if not plain.is_contiguous() and plain.numel() > 1:
        header["stride"] = list(plain.stride())
    if plain.device.type != "meta":
        # A fresh dense copy: .contiguous() may keep a stride-0 size-1 axis.
        data = torch.empty(plain.shape, dtype=plain.dtype).copy_(plain.cpu()).reshape(-1)
        buffers.append(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        header["buffer"] = len(buffers) - 1
    return {"__tensor__": header}


# ---------------------------------------------------------------- decoding

def decode(data, buffers: list, resolve_handle=None):
    """The inverse of ``encode``; strict about every field it reads."""
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode(v, buffers, resolve_handle) for v in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise WireError("malformed value")
    tag = next(iter(data))
    body = data[tag]
    if tag == "__float__":
        if body not in ("nan", "inf", "-inf"):
            raise WireError("malformed float")
        return float(body)
    if tag == "__size__":
        return torch.Size([_as_int(n) for n in body])
    if tag == "__tuple__":
        return tuple(decode(v, buffers, resolve_handle) for v in body)
    if tag == "__dict__":
        return {str(k): decode(v, buffers, resolve_handle) for k, v in body.items()}
    if tag == "__dtype__":
        return _dtype(body)
    if tag == "__device__":
        return torch.device(str(body))
    if tag == "__tensor__":
        return _decode_tensor(body, buffers)
    if tag == "__ndarray__":
        return _decode_tensor(body["__tensor__"], buffers).numpy()
    if tag == "__npscalar__":
        return _decode_tensor(body["__tensor__"], buffers).numpy()[()]
    if tag == "__handle__":
        handle = Handle(_as_int(body), str(data.get("type", "object")), str(data.get("description", ""))[:200])
        return resolve_handle(handle) if resolve_handle else handle
    raise WireError(f"unknown tag {tag!r}")


def _as_int(n) -> int:
    if type(n) is not int or n < 0:
        raise WireError("expected a non-negative integer")
    return n


def _dtype(name) -> torch.dtype:
    try:
        return _DTYPES[name]
    except (KeyError, TypeError):
        raise WireError(f"unknown dtype {name!r}") from None


def _device_for(name: str) -> torch.device:
    device = torch.device(str(name))
    if device.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return device


def _decode_tensor(header: dict, buffers: list) -> torch.Tensor:
    dtype = _dtype(header["dtype"])
    shape = [_as_int(n) for n in header["shape"]]
    device = _device_for(header.get("device", "cpu"))
    if "expanded_from" in header:
        base = _decode_tensor(header["expanded_from"]["__tensor__"], buffers)
        t = base.expand(*shape)
    elif device.type == "meta":
        t = torch.empty(shape, dtype=dtype, device="meta")
    else:
        raw = buffers[_as_int(header["buffer"])]
        expected = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        if len(raw) != expected:
            raise WireError(f"tensor of shape {shape} and dtype {dtype} needs {expected} bytes, got {len(raw)}")
        flat = (torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype) if raw
                else torch.empty(0, dtype=dtype))
        t = flat.reshape(shape)
        if "stride" in header:
            strided = torch.empty_strided(shape, [_as_int(s) for s in header["stride"]], dtype=dtype)
            t = strided.copy_(t)
        t = t.to(device)
    if header.get("parameter"):
        return torch.nn.Parameter(t, requires_grad=bool(header.get("requires_grad")))
    if header.get("requires_grad") and (dtype.is_floating_point or dtype.is_complex):
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------- framing

def send(fd: int, message: dict, make_handle=None) -> None:
    """Write one message (a dict) to a file descriptor."""
    buffers: list = []
    header = json.dumps(encode(message, buffers, make_handle), allow_nan=False).encode()
    parts = [struct.pack("<QQ", len(header), len(buffers)), header]
    for buffer in buffers:
        parts.append(struct.pack("<Q", len(buffer)))
        parts.append(buffer)
    _write_all(fd, b"".join(parts))


def receive(fd: int, resolve_handle=None, deadline: float | None = None) -> dict:
    """Read one message; EOFError when the other side has gone, TimeoutError
    when ``deadline`` (a ``time.monotonic()`` value) passes first."""
    def read(n):
        return _read_exactly(fd, n, deadline)

    header_len, n_buffers = struct.unpack("<QQ", read(16))
    if header_len > MAX_MESSAGE_BYTES or n_buffers > 1 << 20:
        raise WireError("message too large")
    try:
        header = json.loads(read(header_len))
    except ValueError as exc:
        raise WireError(f"malformed message header: {exc}") from None
    buffers = []
    total = 0
    for _ in range(n_buffers):
        (size,) = struct.unpack("<Q", read(8))
        total += size
        if total > MAX_MESSAGE_BYTES:
            raise WireError("message too large")
        buffers.append(read(size))
    message = decode(header, buffers, resolve_handle)
    if not isinstance(message, dict):
        raise WireError("a message must be a dict")
    return message


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, n: int, deadline: float | None = None) -> bytes:
    chunks = []
    while n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError("the other process did not answer in time")
        chunk = os.read(fd, min(n, 1 << 24))
        if not chunk:
            raise EOFError("the other process closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
