"""A hidden test's reference, computed once per grading process for each input it is given.

A grading process replays the same recorded examples for every notebook
(``autograder/engine/judge/example_replay.py``), so a reference called with an example's inputs
gets the same inputs again for the next notebook, and the next. Where a reference is costly
(04b's ``fit_reference`` runs torch's SGD with autograd, up to 12 steps and 40 for one problem;
with up to 25 it was a tenth of a replayed 04b notebook's CPU, judge and worker together), ``@reference`` keeps each result for
the life of the process, keyed by the exact value of every argument, and hands out a deep copy
of it, so a test may change what it gets::

    @reference
    def fit_reference(x, y, lr, steps):
        ...

The cache is exact: two calls share a result only when their arguments are the same values
bit for bit (tensors by dtype, shape and bytes, floats by their 8 bytes, so 0.0 and -0.0 or two
NaNs with different payloads are different inputs), and the function is the same code of the
same test file (its content's hash is in the key: the judge imports a test file again for each
notebook, and an edited file is another one). A call with any other kind of argument (an object,
a tensor that needs grad, a view of another device's memory) is computed as if undecorated.

Only for a pure function of its arguments: nothing the student returned (a reference never sees
it), no random numbers (the cache would skip drawing them and change what is drawn next), no
state kept between calls. Then a grade cannot depend on the cache: a kept result is what the
function would return again.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import struct
import sys
from pathlib import Path

import torch

MAX_RESULTS = 20_000  # per process; the oldest is dropped first (a class's examples: a few thousand)
_results: dict[tuple, object] = {}
_ATOMS = (type(None), bool, int, str, bytes)


@functools.lru_cache(maxsize=256)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _function_key(function) -> tuple | None:
    path = getattr(sys.modules.get(function.__module__), "__file__", None) or function.__code__.co_filename
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return function.__module__, function.__qualname__, _file_hash(path, stat.st_mtime_ns, stat.st_size)


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The bytes of a CPU tensor's values, in row-major order (any dtype, bfloat16 included). Copied
    into a fresh 1-d tensor first: a dimension of size 1 may have any stride, and viewing another
    dtype's bytes needs stride 1."""
    if not t.numel():
        return b""
    return torch.empty(t.numel(), dtype=t.dtype).copy_(t.reshape(-1)).view(torch.uint8).numpy().tobytes()


def value_key(value) -> tuple | None:
    """A hashable key equal for two values exactly when they are the same value bit for bit;
    None for a value this cache does not key (the call is then computed)."""
    kind = type(value)
    if kind in _ATOMS:
        return kind.__name__, value
    if kind is float:
        return "float", struct.pack("<d", value)
    if kind is torch.dtype:
        return "dtype", str(value)
    if kind in (tuple, list):
        items = tuple(value_key(item) for item in value)
        return None if any(item is None for item in items) else (kind.__name__, items)
    if kind is dict:
        items = tuple((value_key(k), value_key(v)) for k, v in value.items())
        return None if any(k is None or v is None for k, v in items) else ("dict", items)
    if kind is torch.Tensor and value.layout == torch.strided and value.device.type == "cpu" \
            and not value.requires_grad and not value.is_quantized:
        return "tensor", str(value.dtype), tuple(value.shape), tensor_bytes(value.resolve_conj().resolve_neg())
    return None


def reference(function):
    """Keep ``function``'s result for each distinct input, for this process's life (see above)."""
    # Once, as the test file is imported (again for each notebook): not a file's stat per call.
    function_key = _function_key(function)

    @functools.wraps(function)
    def kept(*args, **kwargs):
        try:
            key = (function_key, value_key(args), value_key(kwargs))
        except Exception:  # the cache never changes a verdict: a value it cannot key is computed
            key = (None,)
        if any(part is None for part in key):
            return function(*args, **kwargs)
        if key not in _results:
            result = function(*args, **kwargs)
            if len(_results) >= MAX_RESULTS:
                del _results[next(iter(_results))]
            _results[key] = result
        return copy.deepcopy(_results[key])

    return kept
