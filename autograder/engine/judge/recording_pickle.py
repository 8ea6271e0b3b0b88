"""How a recording of examples is written (``example_replay.save_recording``): pickle, except
that a tensor owning its storage alone is written as its dtype, shape and bytes.

torch's own pickling writes each storage as a little ``torch.save`` archive and reads it back
with ``torch.load``: 0.1 ms a tensor, most of a grading process's reading of a recording
(0.06-0.21 CPU-s per assignment, once per process; written so, 0.01-0.08). A plain tensor that owns its storage
(``example_replay._owns_its_storage``: dense, contiguous, on the CPU, no grad, no view, no
subclass) and shares it with no other tensor of the recording is read back as exactly what
``copy.deepcopy`` gives: the same dtype, shape, strides and bytes (negative zeros and NaN
payloads included), a storage of its own. Everything else (views, tensors sharing memory,
parameters, other types) is pickled as pickle does, so sharing is kept where there is any.
"""
from __future__ import annotations

import io
import pickle

import torch

from autograder.engine.shared.wire import _DTYPE_NAMES, _DTYPES


def tensor_from_bytes(dtype_name: str, shape: tuple, raw: bytes) -> torch.Tensor:
    """The inverse of ``_RecordingPickler``'s reduction of a tensor."""
    dtype = _DTYPES[dtype_name]
    flat = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    return flat.reshape(shape).clone()  # its own storage, not the bytearray's


class _TensorCensus(pickle.Pickler):
    """Pickles into nothing, counting the tensors that share each storage."""

    def __init__(self):
        super().__init__(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL)
        self.tensors: list = []
        self.sharing: dict[int, int] = {}

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            self.tensors.append(obj)  # kept alive, so that no id is reused while counting
            if obj.device.type == "cpu" and obj.layout == torch.strided and obj.numel():
                pointer = obj.untyped_storage().data_ptr()
                self.sharing[pointer] = self.sharing.get(pointer, 0) + 1
        return NotImplemented


class _RecordingPickler(pickle.Pickler):
    def __init__(self, file, alone: set[int]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.alone = alone

    def reducer_override(self, obj):
        if type(obj) is torch.Tensor and id(obj) in self.alone:
            raw = obj.reshape(-1).view(torch.uint8).numpy().tobytes() if obj.numel() else b""
            return tensor_from_bytes, (_DTYPE_NAMES[obj.dtype], tuple(obj.shape), raw)
        return NotImplemented


def dumps(value, owns_its_storage) -> bytes:
    """``pickle.dumps(value)``, with each tensor for which ``owns_its_storage`` holds and whose
    storage no other tensor in ``value`` shares written as bytes."""
    census = _TensorCensus()
    census.dump(value)
    alone = {id(t) for t in census.tensors
             if type(t) is torch.Tensor and t.dtype in _DTYPE_NAMES and owns_its_storage(t)
             and (not t.numel() or census.sharing[t.untyped_storage().data_ptr()] == 1)}
    out = io.BytesIO()
    _RecordingPickler(out, alone).dump(value)
    return out.getvalue()
