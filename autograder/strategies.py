"""Hypothesis strategies shared by every hidden test: tensors, shapes and images.

Values are drawn as numpy arrays (so hypothesis can shrink them element by
element) and handed to tests as torch tensors, whose repr is what a student sees
as the smallest failing input.

Strategies are built once per set of arguments and reused (``_reused``): a hidden test's
composite strategy asks for ``tensors((n, k), dtype)`` on every example, and building and
validating a new strategy each time cost the judge as much as drawing from it. A strategy
is an immutable description, so reusing one draws exactly the same examples.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT_DTYPES = (torch.float32, torch.float64)
_NP = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64,
       torch.int32: np.int32, torch.uint8: np.uint8, torch.bool: np.bool_}


def _reused(build):
    """``build``, remembering what it built for each set of hashable arguments."""
    remembered = functools.lru_cache(maxsize=4096)(build)

    @functools.wraps(build)
    def build_or_reuse(*args, **kwargs):
        try:
            return remembered(*args, **kwargs)
        except TypeError:  # an unhashable argument (a list of sides, say): built anew
            return build(*args, **kwargs)
    return build_or_reuse


@_reused
def shapes(min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 5):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@_reused
def dtypes(options=FLOAT_DTYPES):
    return st.sampled_from(options)


@_reused
def tensors(shape, dtype=torch.float32, min_value: float = -100.0, max_value: float = 100.0):
    """Tensors of ``shape`` (a tuple or a strategy for one) with finite values in range.

    Floats are kept to a few significant digits so that failing inputs read well."""
    if isinstance(dtype, torch.dtype):
        dtype = st.just(dtype)
    return st.tuples(st.just(shape) if isinstance(shape, tuple) else shape, dtype).flatmap(
        lambda sd: _arrays(sd[0], sd[1], min_value, max_value))


@_reused
def _arrays(shape, dtype, min_value, max_value):
    np_dtype = _NP[dtype]
    if dtype.is_floating_point:
        width = 32 if dtype == torch.float32 else 64
        elements = st.floats(min_value, max_value, width=width, allow_nan=False, allow_infinity=False)
        elements = elements.map(lambda v: float(np.format_float_positional(v, precision=3)))
    elif dtype == torch.bool:
        elements = st.booleans()
    else:
        info = np.iinfo(np_dtype)
        elements = st.integers(max(int(min_value), int(info.min)), min(int(max_value), int(info.max)))
    return hnp.arrays(np_dtype, shape, elements=elements).map(lambda a: torch.from_numpy(np.array(a)))


@_reused
def float_tensors(min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 5,
                  dtype=None, min_value: float = -100.0, max_value: float = 100.0):
    return tensors(shapes(min_dims, max_dims, min_side, max_side),
                   dtypes() if dtype is None else dtype, min_value, max_value)


def non_constant(strategy):
    """Only tensors with at least two different values (a std above zero)."""
    return strategy.filter(lambda t: t.numel() >= 2 and bool((t != t.reshape(-1)[0]).any()))
