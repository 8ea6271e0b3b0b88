"""Hypothesis strategies shared by the project's own tests."""
import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

WIRE_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
               torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool]


@st.composite
def tensors(draw, dtypes=WIRE_DTYPES, max_dims=4):
    """Tensors of any supported dtype and shape, including size-0 axes and 0-d,
    sometimes non-contiguous (transposed, strided) or expanded (stride 0)."""
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=4))
    n = int(np.prod(shape)) if shape else 1
    values = draw(st.lists(st.integers(-100, 100), min_size=n, max_size=n))
    t = torch.tensor(values).reshape(shape).to(dtype)
    layout = draw(st.sampled_from(["plain", "transposed", "strided", "expanded"]))
    if layout == "transposed" and t.dim() >= 2:
        t = t.transpose(0, -1)
    elif layout == "strided" and t.dim() >= 1:
        t = torch.cat([t, t], dim=-1)[..., ::2]
    elif layout == "expanded":
        t = t.unsqueeze(0).expand(3, *t.shape)
    return t


def plain_values(leaves=None):
    """Nested plain data: what may cross the boundary besides tensors."""
    leaves = leaves or st.one_of(
        st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([torch.float32, torch.int64, torch.bool]),
        st.sampled_from([torch.device("cpu"), torch.device("meta")]),
        hnp.array_shapes(min_dims=0, max_dims=3).map(torch.Size),
    )
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
