"""Hidden tests for 02_reshape_slice: each test is one property of COURSE.md's API,
scoring the check cell it names, against torch's own reshape, slicing, permute and masks.

Most inputs are *numbered* tensors (0, 1, 2, ... in memory order), so that any pixel
put in the wrong place shows in the failing example; hypothesis draws the shapes
(``hypothesis.extra.numpy``): non-square images, empty axes, rank-0 to rank-6
tensors, and views of other tensors (transposed, strided, expanded or cut by a basic
index), which cross to the student's code with their strides kept.
"""
import math

import torch
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp

from autograder.testing import (expect_equal, expect_shape, expect_tensor, fail, graded, leaves_inputs_unchanged,
                                raises_value_error)

DTYPES = (torch.float32, torch.int64, torch.uint8)
sides = st.integers(1, 6)


def numbered(shape, dtype=torch.float32) -> torch.Tensor:
    """0, 1, 2, ... in row-major order (modulo 256 for uint8)."""
    t = torch.arange(math.prod(shape), dtype=torch.int64)
    if dtype == torch.uint8:
        t = t % 256
    return t.to(dtype).reshape(tuple(shape))


@st.composite
def numbered_tensors(draw, shape_strategy, dtypes=DTYPES):
    return numbered(draw(shape_strategy), draw(st.sampled_from(dtypes)))


NON_CONTIGUOUS = ("transposed", "every other element of a wider tensor", "expanded from size 1")


def lay_out(x: torch.Tensor, layout: str) -> torch.Tensor:
    """The same values as x, stored another way (a view that is not contiguous)."""
    if layout == "transposed" and x.dim() >= 2:
        return x.transpose(-1, -2).contiguous().transpose(-1, -2)
    if layout == "every other element of a wider tensor" and x.dim() >= 1:
        return torch.stack([x, torch.zeros_like(x)], dim=-1)[..., 0]
    if layout == "expanded from size 1" and x.dim() >= 1:
        return x[:1].expand(x.shape) if x.shape[0] >= 1 else x
    return x


def positive_steps(index):
    """torch slices need positive steps; a basic index with the steps made positive."""
    index = index if isinstance(index, tuple) else (index,)
    return tuple(slice(i.start, i.stop, abs(i.step)) if isinstance(i, slice) and i.step is not None else i
                 for i in index)


@st.composite
def indexed_views(draw, min_dims=0, max_dims=6, base_dims=(1, 5), min_side=0, max_side=4, dtypes=DTYPES):
    """A view of a numbered tensor by a basic index (ints, slices with steps, ..., None)."""
    shape = draw(hnp.array_shapes(min_dims=base_dims[0], max_dims=base_dims[1], min_side=min_side,
                                  max_side=max_side))
    base = numbered(shape, draw(st.sampled_from(dtypes)))
    index = draw(hnp.basic_indices(shape, min_dims=min_dims, max_dims=max_dims, allow_newaxis=True))
    return base[positive_steps(index)]


def expect_int(value, what):
    if type(value) is not int:
        fail(f"{what} should be a python int, got {type(value).__name__}: {value!r}")


# ---------------------------------------------------------------- rank
@graded("rank_int")
@given(t=indexed_views())
def test_rank_returns_a_python_int(student, t):
    """rank returns a python int (not a tensor, not a torch.Size)."""
    expect_int(student.rank(t), "rank(t)")


@graded("rank_values")
@given(t=st.one_of(numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=6, min_side=0, max_side=4)),
                   indexed_views(min_dims=2)))
def test_rank_counts_axes(student, t):
    """rank(t) is the number of axes of t (the length of its shape), for matrices and higher ranks."""
    expect_equal(student.rank(t), t.dim(), what=f"rank of a tensor of shape {tuple(t.shape)}")


@graded("rank_scalar")
@given(shape=hnp.array_shapes(min_dims=0, max_dims=1, min_side=0, max_side=6), dtype=st.sampled_from(DTYPES))
def test_rank_of_scalars_and_vectors(student, shape, dtype):
    """rank is 0 for a scalar (0-d tensor) and 1 for a vector, even an empty one."""
    t = numbered(shape, dtype)
    expect_equal(student.rank(t), t.dim(), what=f"rank of a tensor of shape {tuple(t.shape)}")


# ---------------------------------------------------------------- to_images
@st.composite
def flat_batches(draw, n=st.integers(0, 4)):
    n, h, w = draw(n), draw(sides), draw(sides)
    return numbered((n, h * w), draw(st.sampled_from(DTYPES))), h, w


@graded("to_images_shape")
@given(batch=flat_batches())
def test_to_images_shape(student, batch):
    """to_images turns (N, height*width) into (N, height, width), also for an empty batch (N = 0)."""
    flat, h, w = batch
    expect_shape(student.to_images(flat, h, w), (flat.shape[0], h, w), what=f"to_images(flat, {h}, {w})")


@graded("to_images_shape")
@given(n=st.integers(0, 3))
def test_to_images_default_size(student, n):
    """to_images uses height=28, width=28 by default."""
    expect_shape(student.to_images(numbered((n, 784))), (n, 28, 28), what="to_images(flat)")


@graded("to_images_rows")
@given(batch=flat_batches(n=st.integers(1, 4)))
def test_to_images_row_by_row(student, batch):
    """to_images fills each image row by row: pixel k of a row goes to row k // width, column k % width."""
    flat, h, w = batch
    expect_equal(student.to_images(flat, height=h, width=w), flat.reshape(-1, h, w),
                 what=f"to_images(flat, height={h}, width={w})")


@graded("to_images_rows")
@given(batch=flat_batches(n=st.integers(1, 4)))
def test_to_images_leaves_input_unchanged(student, batch):
    """to_images does not modify flat."""
    flat, h, w = batch
    leaves_inputs_unchanged(student, "to_images", flat, h, w, names=["flat"])


@graded("to_images_rows")
@given(batch=flat_batches(n=st.integers(1, 4)), layout=st.sampled_from(NON_CONTIGUOUS))
def test_to_images_of_views(student, batch, layout):
    """to_images works on a flat batch that is a view of another tensor (transposed, strided, expanded)."""
    flat, h, w = batch
    arranged = lay_out(flat, layout)
    expect_equal(student.to_images(arranged, h, w), arranged.reshape(-1, h, w),
                 what=f"to_images of a {layout} flat batch of shape {tuple(flat.shape)}")


@st.composite
def wrong_flat_batches(draw):
    h, w = draw(sides), draw(sides)
    kind = draw(st.sampled_from(["rows of the wrong length", "one flat image (rank 1)",
                                 "already images (rank 3)", "rows of the wrong length that -1 could regroup"]))
    if kind == "rows of the wrong length":
        shape = (draw(st.integers(0, 3)), draw(st.integers(1, 12).filter(lambda c: c != h * w)))
    elif kind == "one flat image (rank 1)":
        shape = (h * w,)
    elif kind == "already images (rank 3)":
        shape = (draw(st.integers(1, 3)), h, w)
    else:  # h*w rows of c pixels hold c whole images: reshape(-1, h, w) would not complain
        shape = (h * w, draw(st.integers(1, 12).filter(lambda c: c != h * w)))
    return shape, h, w


@graded("to_images_errors")
@given(wrong=wrong_flat_batches())
def test_to_images_wrong_shape_raises(student, wrong):
    """to_images raises ValueError, with a message, unless flat is (N, height*width)."""
    shape, h, w = wrong
    raises_value_error(student, "to_images", numbered(shape), h, w,
                       what=f"to_images of shape {shape} with height={h}, width={w}")


# ---------------------------------------------------------------- flatten
@graded("flatten_shape")
@given(x=numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=5, min_side=1, max_side=4)))
def test_flatten_shape(student, x):
    """flatten turns (N, ...) into (N, product of the other sizes): the batch axis stays."""
    expect_shape(student.flatten(x), (x.shape[0], math.prod(x.shape[1:])),
                 what=f"flatten of shape {tuple(x.shape)}")


@graded("flatten_order")
@given(x=numbered_tensors(hnp.array_shapes(min_dims=3, max_dims=5, min_side=1, max_side=4)))
def test_flatten_row_by_row(student, x):
    """flatten puts image i, read row by row (last axis fastest), into row i."""
    expect_equal(student.flatten(x), x.reshape(x.shape[0], -1), what=f"flatten of shape {tuple(x.shape)}")


@graded("flatten_order")
@given(x=numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4)))
def test_flatten_leaves_input_unchanged(student, x):
    """flatten does not modify images."""
    leaves_inputs_unchanged(student, "flatten", x, names=["images"])


@graded("flatten_edge")
@given(x=numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=3)
                          .filter(lambda s: 0 in s)))
def test_flatten_empty(student, x):
    """flatten of an empty tensor (a size-0 batch or image axis) gives (N, product of the other sizes)."""
    expect_shape(student.flatten(x), (x.shape[0], math.prod(x.shape[1:])),
                 what=f"flatten of shape {tuple(x.shape)}")


@graded("flatten_edge")
@given(x=numbered_tensors(hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=6)))
def test_flatten_vector(student, x):
    """flatten of a vector (N,), a batch of N one-pixel images, gives (N, 1)."""
    expect_equal(student.flatten(x), x.reshape(-1, 1), what=f"flatten of shape {tuple(x.shape)}")


@graded("flatten_edge")
@given(x=numbered_tensors(st.just(())))
def test_flatten_scalar_raises(student, x):
    """flatten of a 0-d tensor (no batch axis) raises ValueError, with a message."""
    raises_value_error(student, "flatten", x, what=f"flatten of the 0-d tensor {x!r}")


@graded("flatten_noncontiguous")
@given(x=numbered_tensors(hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=4)),
       layout=st.sampled_from(NON_CONTIGUOUS))
def test_flatten_of_views(student, x, layout):
    """flatten works on a batch that is a view of another tensor (transposed, strided, expanded)."""
    arranged = lay_out(x, layout)
    expect_equal(student.flatten(arranged), arranged.reshape(arranged.shape[0], -1),
                 what=f"flatten of a {layout} batch of shape {tuple(x.shape)}")


@graded("flatten_noncontiguous")
@given(x=indexed_views(min_dims=2, min_side=1).filter(lambda t: t.numel() > 0))
def test_flatten_of_sliced_views(student, x):
    """flatten works on any basic slice of another tensor (ints, steps, ..., None)."""
    expect_equal(student.flatten(x), x.reshape(x.shape[0], -1),
                 what=f"flatten of a view of shape {tuple(x.shape)} and strides {x.stride()}")


# ---------------------------------------------------------------- crop
@st.composite
def windows(draw, h, w, min_size=0):
    top = draw(st.integers(0, h - min_size))
    left = draw(st.integers(0, w - min_size))
    return top, left, draw(st.integers(min_size, h - top)), draw(st.integers(min_size, w - left))


@st.composite
def crop_cases(draw, batch_dims=st.just(1), dtypes=DTYPES, min_size=0):
    k = draw(batch_dims)
    batch = tuple(draw(hnp.array_shapes(min_dims=k, max_dims=k, min_side=1, max_side=3)))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    return numbered(batch + (h, w), draw(st.sampled_from(dtypes))), draw(windows(h, w, min_size))


def reference_crop(images, top, left, height, width):
    return images[..., top:top + height, left:left + width]


@graded("crop_shape")
@given(case=crop_cases())
def test_crop_shape(student, case):
    """crop of a stack (N, H, W) has shape (N, height, width)."""
    images, window = case
    expect_shape(student.crop(images, *window), images.shape[:-2] + window[2:],
                 what=f"crop(images of shape {tuple(images.shape)}, top, left, height, width = {window})")


@graded("crop_values")
@given(case=crop_cases())
def test_crop_values(student, case):
    """crop keeps rows top:top+height and columns left:left+width of each image (rows are the second-last axis)."""
    images, window = case
    expect_equal(student.crop(images, *window), reference_crop(images, *window),
                 what=f"crop(images of shape {tuple(images.shape)}, top, left, height, width = {window})")


@graded("crop_values")
@given(case=crop_cases())
def test_crop_leaves_input_unchanged(student, case):
    """crop does not modify images."""
    images, window = case
    leaves_inputs_unchanged(student, "crop", images, *window, names=["images"])


@graded("crop_any_rank")
@given(case=crop_cases(batch_dims=st.sampled_from([0, 2, 3]), min_size=1))
def test_crop_other_ranks(student, case):
    """crop works on the last two axes of any rank: one image (H, W), a batch (N, C, H, W), more."""
    images, window = case
    expect_equal(student.crop(images, *window), reference_crop(images, *window),
                 what=f"crop(images of shape {tuple(images.shape)}, top, left, height, width = {window})")


@graded("crop_any_rank")
@given(case=crop_cases(batch_dims=st.sampled_from([0, 1, 2]), min_size=1), layout=st.sampled_from(NON_CONTIGUOUS))
def test_crop_of_views(student, case, layout):
    """crop works on images that are a view of another tensor (transposed, strided, expanded)."""
    images, window = case
    arranged = lay_out(images, layout)
    expect_equal(student.crop(arranged, *window), reference_crop(arranged, *window),
                 what=f"crop(a {layout} tensor of shape {tuple(images.shape)}, top, left, height, width = {window})")


@st.composite
def bad_windows(draw):
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    top, left, height, width = draw(windows(h, w))
    how = draw(st.sampled_from(["too tall", "too wide", "negative top", "negative left", "negative size"]))
    if how == "too tall":
        height = h - top + draw(st.integers(1, 3))
    elif how == "too wide":
        width = w - left + draw(st.integers(1, 3))
    elif how == "negative top":
        top = -draw(st.integers(1, h))
    elif how == "negative left":
        left = -draw(st.integers(1, w))
    else:
        height, width = draw(st.sampled_from([(-1, width), (height, -1)]))
    return (draw(st.integers(1, 3)), h, w), (top, left, height, width)


@graded("crop_errors")
@given(case=bad_windows())
def test_crop_outside_raises(student, case):
    """crop raises ValueError, with a message, when the window does not lie inside the image."""
    shape, window = case
    raises_value_error(student, "crop", numbered(shape), *window,
                       what=f"crop(images of shape {shape}, top, left, height, width = {window})")


@graded("crop_errors")
@given(shape=hnp.array_shapes(min_dims=0, max_dims=1, min_side=1, max_side=5))
def test_crop_needs_two_axes(student, shape):
    """crop raises ValueError, with a message, for a tensor of rank 0 or 1 (no rows and columns)."""
    raises_value_error(student, "crop", numbered(shape), 0, 0, 1, 1, what=f"crop of a tensor of shape {tuple(shape)}")


# ---------------------------------------------------------------- channels_last
batches_nchw = numbered_tensors(hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=4))


@graded("channels_last_shape")
@given(x=numbered_tensors(hnp.array_shapes(min_dims=4, max_dims=4, min_side=0, max_side=4)))
def test_channels_last_shape(student, x):
    """channels_last turns (N, C, H, W) into (N, H, W, C)."""
    n, c, h, w = x.shape
    expect_shape(student.channels_last(x), (n, h, w, c), what=f"channels_last of shape {tuple(x.shape)}")


@graded("channels_last_values")
@given(x=batches_nchw)
def test_channels_last_moves_axes(student, x):
    """channels_last keeps every number at its index: out[n, h, w, c] == batch[n, c, h, w] (a permute, not a reshape)."""
    expect_equal(student.channels_last(x), x.permute(0, 2, 3, 1), what=f"channels_last of shape {tuple(x.shape)}")


@graded("channels_last_values")
@given(x=batches_nchw, layout=st.sampled_from(NON_CONTIGUOUS))
def test_channels_last_of_views(student, x, layout):
    """channels_last works on a batch that is a view of another tensor (transposed, strided, expanded)."""
    arranged = lay_out(x, layout)
    expect_equal(student.channels_last(arranged), arranged.permute(0, 2, 3, 1),
                 what=f"channels_last of a {layout} batch of shape {tuple(x.shape)}")


@graded("channels_last_values")
@given(x=batches_nchw)
def test_channels_last_leaves_input_unchanged(student, x):
    """channels_last does not modify batch."""
    leaves_inputs_unchanged(student, "channels_last", x, names=["batch"])


@graded("channels_last_rank")
@given(shape=hnp.array_shapes(min_dims=0, max_dims=6, min_side=1, max_side=3).filter(lambda s: len(s) != 4))
def test_channels_last_needs_rank_4(student, shape):
    """channels_last raises ValueError, with a message, for any rank other than 4."""
    raises_value_error(student, "channels_last", numbered(shape),
                       what=f"channels_last of a tensor of shape {tuple(shape)}")


# ---------------------------------------------------------------- select_digit
digits = st.integers(0, 9)


@st.composite
def labelled(draw, min_n=0):
    n = draw(st.integers(min_n, 8))
    trailing = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    x = numbered((n,) + tuple(trailing), draw(st.sampled_from(DTYPES)))
    y = torch.from_numpy(draw(hnp.arrays("int64", (n,), elements=st.integers(0, 9))).copy())
    return x, y


@graded("select_digit_values")
@given(data=labelled(min_n=1), digit=digits)
def test_select_digit_values(student, data, digit):
    """select_digit returns the rows of x whose label is digit, in their original order."""
    x, y = data
    assume(bool((y == digit).any()))
    expect_equal(student.select_digit(x, y, digit), x[y == digit],
                 what=f"select_digit(x, y={y!r}, digit={digit})")


@graded("select_digit_values")
@given(data=labelled(min_n=1), digit=digits)
def test_select_digit_leaves_inputs_unchanged(student, data, digit):
    """select_digit modifies neither x nor y."""
    x, y = data
    assume(bool((y == digit).any()))
    leaves_inputs_unchanged(student, "select_digit", x, y, digit, names=["x", "y"])


@graded("select_digit_empty")
@given(data=labelled(), digit=digits)
def test_select_digit_no_match(student, data, digit):
    """select_digit with no matching label returns an empty (0, ...) tensor with x's trailing shape and dtype."""
    x, y = data
    y = y.clone()
    y[y == digit] = (digit + 1) % 10
    out = expect_tensor(student.select_digit(x, y, digit), f"select_digit(x, y={y!r}, digit={digit})")
    expect_shape(out, (0,) + tuple(x.shape[1:]), what=f"select_digit(x, y={y!r}, digit={digit})")
    if out.dtype != x.dtype:
        fail(f"select_digit should keep x's dtype {x.dtype}, got {out.dtype}")


@graded("select_digit_errors")
@given(data=labelled(), extra=st.integers(-3, 3).filter(lambda k: k != 0), digit=digits)
def test_select_digit_length_mismatch_raises(student, data, extra, digit):
    """select_digit raises ValueError, with a message, when x and y have different numbers of rows."""
    x, y = data
    n = y.shape[0] + extra
    assume(n >= 0)
    y = torch.arange(n, dtype=torch.int64) % 10
    raises_value_error(student, "select_digit", x, y, digit,
                       what=f"select_digit(x of shape {tuple(x.shape)}, y of shape {tuple(y.shape)})")
