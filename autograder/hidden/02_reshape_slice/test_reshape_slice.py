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
from hypothesis import assume, example, given, strategies as st
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


def expect_dtype(value, dtype, what):
    if expect_tensor(value, what).dtype != dtype:
        fail(f"{what} should keep the input's dtype {dtype}, got {value.dtype}")


def expect_int(value, what):
    if type(value) is not int:
        fail(f"{what} should be a python int, got {type(value).__name__}: {value!r}")


# ---------------------------------------------------------------- rank
@graded("rank_int", rules=["rank.int"])
@given(t=indexed_views())
def test_rank_returns_a_python_int(student, t):
    """rank returns a python int (not a tensor, not a torch.Size)."""
    expect_int(student.rank(t), "rank(t)")


@graded("rank_values", rules=["rank.values"])
@example(t=numbered((0, 3)))  # empty axes are always tried
@example(t=numbered((2, 0, 4), torch.uint8))
@given(t=st.one_of(numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=6, min_side=0, max_side=4)),
                   indexed_views(min_dims=2)))
def test_rank_counts_axes(student, t):
    """rank(t) is the number of axes of t (the length of its shape), for matrices and higher ranks."""
    expect_equal(student.rank(t), t.dim(), what=f"rank of a tensor of shape {tuple(t.shape)}")


@graded("rank_scalar", rules=["rank.scalar"])
@example(shape=(), dtype=torch.float32)  # a scalar and an empty vector are always tried
@example(shape=(0,), dtype=torch.int64)
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


@graded("to_images_shape", rules=["to_images.shape", "to_images.empty"])
@example(batch=(numbered((0, 6)), 2, 3))  # the empty batch is always tried
@example(batch=(numbered((3, 6)), 2, 3))
@given(batch=flat_batches())
def test_to_images_shape(student, batch):
    """to_images turns (N, height*width) into (N, height, width), also for an empty batch (N = 0)."""
    flat, h, w = batch
    expect_shape(student.to_images(flat, h, w), (flat.shape[0], h, w), what=f"to_images(flat, {h}, {w})")


@graded("to_images_shape", rules=["to_images.shape", "to_images.empty"])
@example(n=0)
@given(n=st.integers(0, 3))
def test_to_images_default_size(student, n):
    """to_images uses height=28, width=28 by default."""
    expect_shape(student.to_images(numbered((n, 784))), (n, 28, 28), what="to_images(flat)")


@graded("to_images_rows", rules=["to_images.rows", "to_images.shape", "to_images.dtype"])
@example(batch=(numbered((2, 6), torch.uint8), 2, 3))  # integer pixels are always tried
@given(batch=flat_batches(n=st.integers(1, 4)))
def test_to_images_row_by_row(student, batch):
    """to_images fills each image row by row: pixel k of a row goes to row k // width, column k % width; the dtype is kept."""
    flat, h, w = batch
    what = f"to_images(flat, height={h}, width={w})"
    out = student.to_images(flat, height=h, width=w)
    expect_equal(out, flat.reshape(-1, h, w), what=what)
    expect_dtype(out, flat.dtype, what)


@graded("to_images_rows", rules=["to_images.pure"])
@given(batch=flat_batches(n=st.integers(1, 4)))
def test_to_images_leaves_input_unchanged(student, batch):
    """to_images does not modify flat."""
    flat, h, w = batch
    leaves_inputs_unchanged(student, "to_images", flat, h, w, names=["flat"])


@graded("to_images_rows", rules=["to_images.views", "to_images.rows", "to_images.shape"])
@example(batch=(numbered((3, 6)), 2, 3), layout="transposed")  # a non-contiguous view is always tried
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


@graded("to_images_errors", rules=["to_images.errors"])
@example(wrong=((4, 5), 3, 3))  # each kind of wrong shape is always tried
@example(wrong=((9,), 3, 3))
@example(wrong=((2, 3, 3), 3, 3))
@example(wrong=((9, 2), 3, 3))
@given(wrong=wrong_flat_batches())
def test_to_images_wrong_shape_raises(student, wrong):
    """to_images raises ValueError, with a message, unless flat is (N, height*width)."""
    shape, h, w = wrong
    raises_value_error(student, "to_images", numbered(shape), h, w,
                       what=f"to_images of shape {shape} with height={h}, width={w}")


# ---------------------------------------------------------------- flatten
@graded("flatten_shape", rules=["flatten.shape"])
@given(x=numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=5, min_side=1, max_side=4)))
def test_flatten_shape(student, x):
    """flatten turns (N, ...) into (N, product of the other sizes): the batch axis stays."""
    expect_shape(student.flatten(x), (x.shape[0], math.prod(x.shape[1:])),
                 what=f"flatten of shape {tuple(x.shape)}")


@graded("flatten_order", rules=["flatten.order", "flatten.shape", "flatten.dtype"])
@example(x=numbered((2, 2, 3), torch.uint8))  # integer pixels are always tried
@given(x=numbered_tensors(hnp.array_shapes(min_dims=3, max_dims=5, min_side=1, max_side=4)))
def test_flatten_row_by_row(student, x):
    """flatten puts image i, read row by row (last axis fastest), into row i, keeping the dtype."""
    out = student.flatten(x)
    expect_equal(out, x.reshape(x.shape[0], -1), what=f"flatten of shape {tuple(x.shape)}")
    expect_dtype(out, x.dtype, f"flatten of shape {tuple(x.shape)}")


@graded("flatten_order", rules=["flatten.pure"])
@example(x=numbered((2, 2, 3)))
@given(x=numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4)))
def test_flatten_leaves_input_unchanged(student, x):
    """flatten does not modify images."""
    leaves_inputs_unchanged(student, "flatten", x, names=["images"])


@graded("flatten_edge", rules=["flatten.empty", "flatten.shape"])
@example(x=numbered((0, 28, 28)))  # an empty batch and an empty image are always tried
@example(x=numbered((3, 0, 4)))
@given(x=numbered_tensors(hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=3)
                          .filter(lambda s: 0 in s)))
def test_flatten_empty(student, x):
    """flatten of an empty tensor (a size-0 batch or image axis) gives (N, product of the other sizes)."""
    expect_shape(student.flatten(x), (x.shape[0], math.prod(x.shape[1:])),
                 what=f"flatten of shape {tuple(x.shape)}")


@graded("flatten_edge", rules=["flatten.vector", "flatten.shape"])
@example(x=numbered((4,)))  # a vector is always tried
@given(x=numbered_tensors(hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=6)))
def test_flatten_vector(student, x):
    """flatten of a vector (N,), a batch of N one-pixel images, gives (N, 1)."""
    expect_equal(student.flatten(x), x.reshape(-1, 1), what=f"flatten of shape {tuple(x.shape)}")


@graded("flatten_edge", rules=["flatten.errors"])
@given(x=numbered_tensors(st.just(())))
def test_flatten_scalar_raises(student, x):
    """flatten of a 0-d tensor (no batch axis) raises ValueError, with a message."""
    raises_value_error(student, "flatten", x, what=f"flatten of the 0-d tensor {x!r}")


@graded("flatten_noncontiguous", rules=["flatten.views", "flatten.order", "flatten.shape"])
@example(x=numbered((2, 2, 3)), layout="transposed")  # a non-contiguous view is always tried
@given(x=numbered_tensors(hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=4)),
       layout=st.sampled_from(NON_CONTIGUOUS))
def test_flatten_of_views(student, x, layout):
    """flatten works on a batch that is a view of another tensor (transposed, strided, expanded)."""
    arranged = lay_out(x, layout)
    expect_equal(student.flatten(arranged), arranged.reshape(arranged.shape[0], -1),
                 what=f"flatten of a {layout} batch of shape {tuple(x.shape)}")


@graded("flatten_noncontiguous", rules=["flatten.views", "flatten.order", "flatten.shape"])
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


@graded("crop_shape", rules=["crop.window"])
@example(case=(numbered((2, 4, 6)), (1, 2, 2, 3)))
@given(case=crop_cases())
def test_crop_shape(student, case):
    """crop of a stack (N, H, W) has shape (N, height, width)."""
    images, window = case
    expect_shape(student.crop(images, *window), images.shape[:-2] + window[2:],
                 what=f"crop(images of shape {tuple(images.shape)}, top, left, height, width = {window})")


@graded("crop_values", rules=["crop.window", "crop.dtype"])
@example(case=(numbered((2, 4, 6), torch.uint8), (1, 2, 2, 3)))  # integer pixels are always tried
@given(case=crop_cases())
def test_crop_values(student, case):
    """crop keeps rows top:top+height and columns left:left+width of each image (rows are the second-last axis), and the dtype."""
    images, window = case
    what = f"crop(images of shape {tuple(images.shape)}, top, left, height, width = {window})"
    out = student.crop(images, *window)
    expect_equal(out, reference_crop(images, *window), what=what)
    expect_dtype(out, images.dtype, what)


@graded("crop_values", rules=["crop.pure"])
@example(case=(numbered((1, 4, 6)), (1, 2, 2, 3)))
@given(case=crop_cases())
def test_crop_leaves_input_unchanged(student, case):
    """crop does not modify images."""
    images, window = case
    leaves_inputs_unchanged(student, "crop", images, *window, names=["images"])


@graded("crop_any_rank", rules=["crop.any_rank", "crop.window"])
@example(case=(numbered((4, 6)), (1, 2, 2, 3)))  # one image and a batch of colour images are always tried
@example(case=(numbered((2, 3, 5, 6)), (1, 1, 2, 2)))
@given(case=crop_cases(batch_dims=st.sampled_from([0, 2, 3]), min_size=1))
def test_crop_other_ranks(student, case):
    """crop works on the last two axes of any rank: one image (H, W), a batch (N, C, H, W), more."""
    images, window = case
    expect_equal(student.crop(images, *window), reference_crop(images, *window),
                 what=f"crop(images of shape {tuple(images.shape)}, top, left, height, width = {window})")


@graded("crop_any_rank", rules=["crop.any_rank", "crop.window"])
@example(case=(numbered((2, 4, 6)), (1, 1, 2, 3)), layout="transposed")  # a non-contiguous view is always tried
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


@graded("crop_errors", rules=["crop.errors"])
@example(case=((1, 4, 6), (3, 0, 2, 2)))  # too tall, too wide, negative start, negative size: always tried
@example(case=((1, 4, 6), (0, 5, 1, 2)))
@example(case=((1, 4, 6), (-1, 0, 1, 1)))
@example(case=((1, 4, 6), (0, 0, 1, -1)))
@given(case=bad_windows())
def test_crop_outside_raises(student, case):
    """crop raises ValueError, with a message, when the window does not lie inside the image."""
    shape, window = case
    raises_value_error(student, "crop", numbered(shape), *window,
                       what=f"crop(images of shape {shape}, top, left, height, width = {window})")


@graded("crop_errors", rules=["crop.errors"])
@example(shape=(6,))  # rank 1 and rank 0 are always tried
@example(shape=())
@given(shape=hnp.array_shapes(min_dims=0, max_dims=1, min_side=1, max_side=5))
def test_crop_needs_two_axes(student, shape):
    """crop raises ValueError, with a message, for a tensor of rank 0 or 1 (no rows and columns)."""
    raises_value_error(student, "crop", numbered(shape), 0, 0, 1, 1, what=f"crop of a tensor of shape {tuple(shape)}")


# ---------------------------------------------------------------- channels_last
batches_nchw = numbered_tensors(hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=4))


@graded("channels_last_shape", rules=["channels_last.shape"])
@example(x=numbered((2, 3, 4, 5)))
@given(x=numbered_tensors(hnp.array_shapes(min_dims=4, max_dims=4, min_side=0, max_side=4)))
def test_channels_last_shape(student, x):
    """channels_last turns (N, C, H, W) into (N, H, W, C)."""
    n, c, h, w = x.shape
    expect_shape(student.channels_last(x), (n, h, w, c), what=f"channels_last of shape {tuple(x.shape)}")


@graded("channels_last_values", rules=["channels_last.values", "channels_last.shape", "channels_last.dtype"])
@example(x=numbered((2, 3, 4, 5), torch.uint8))  # integer pixels are always tried
@given(x=batches_nchw)
def test_channels_last_moves_axes(student, x):
    """channels_last keeps every number at its index: out[n, h, w, c] == batch[n, c, h, w] (a permute, not a reshape), and the dtype."""
    out = student.channels_last(x)
    expect_equal(out, x.permute(0, 2, 3, 1), what=f"channels_last of shape {tuple(x.shape)}")
    expect_dtype(out, x.dtype, f"channels_last of shape {tuple(x.shape)}")


@graded("channels_last_values", rules=["channels_last.views", "channels_last.values", "channels_last.shape"])
@example(x=numbered((2, 3, 4, 5)), layout="transposed")  # a non-contiguous view is always tried
@given(x=batches_nchw, layout=st.sampled_from(NON_CONTIGUOUS))
def test_channels_last_of_views(student, x, layout):
    """channels_last works on a batch that is a view of another tensor (transposed, strided, expanded)."""
    arranged = lay_out(x, layout)
    expect_equal(student.channels_last(arranged), arranged.permute(0, 2, 3, 1),
                 what=f"channels_last of a {layout} batch of shape {tuple(x.shape)}")


@graded("channels_last_values", rules=["channels_last.pure"])
@example(x=numbered((2, 3, 4, 5)))
@given(x=batches_nchw)
def test_channels_last_leaves_input_unchanged(student, x):
    """channels_last does not modify batch."""
    leaves_inputs_unchanged(student, "channels_last", x, names=["batch"])


@graded("channels_last_rank", rules=["channels_last.errors"])
@example(shape=(3, 28, 28))  # ranks 3, 0 and 5 are always tried
@example(shape=())
@example(shape=(2, 1, 3, 3, 1))
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


@graded("select_digit_values", rules=["select_digit.values", "select_digit.dtype"])
@example(data=(numbered((5, 2), torch.uint8), torch.tensor([3, 1, 3, 0, 3])), digit=3)  # integer pixels, always tried
@given(data=labelled(min_n=1), digit=digits)
def test_select_digit_values(student, data, digit):
    """select_digit returns the rows of x whose label is digit, in their original order, with x's dtype."""
    x, y = data
    assume(bool((y == digit).any()))
    out = student.select_digit(x, y, digit)
    expect_equal(out, x[y == digit], what=f"select_digit(x, y={y!r}, digit={digit})")
    expect_dtype(out, x.dtype, f"select_digit(x, y={y!r}, digit={digit})")


@graded("select_digit_values", rules=["select_digit.pure"])
@example(data=(numbered((5, 2)), torch.tensor([3, 1, 3, 0, 3])), digit=3)
@given(data=labelled(min_n=1), digit=digits)
def test_select_digit_leaves_inputs_unchanged(student, data, digit):
    """select_digit modifies neither x nor y."""
    x, y = data
    assume(bool((y == digit).any()))
    leaves_inputs_unchanged(student, "select_digit", x, y, digit, names=["x", "y"])


@graded("select_digit_empty", rules=["select_digit.empty", "select_digit.dtype"])
@example(data=(numbered((4, 2, 3), torch.uint8), torch.tensor([1, 2, 1, 2])), digit=7)  # no match, always tried
@example(data=(numbered((0, 3)), torch.zeros(0, dtype=torch.int64)), digit=0)
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


@graded("select_digit_errors", rules=["select_digit.errors"])
@example(data=(numbered((5, 2)), torch.tensor([3, 1, 3, 0, 3])), extra=-1, digit=3)
@given(data=labelled(), extra=st.integers(-3, 3).filter(lambda k: k != 0), digit=digits)
def test_select_digit_length_mismatch_raises(student, data, extra, digit):
    """select_digit raises ValueError, with a message, when x and y have different numbers of rows."""
    x, y = data
    n = y.shape[0] + extra
    assume(n >= 0)
    y = torch.arange(n, dtype=torch.int64) % 10
    raises_value_error(student, "select_digit", x, y, digit,
                       what=f"select_digit(x of shape {tuple(x.shape)}, y of shape {tuple(y.shape)})")


@graded("select_digit_errors", rules=["select_digit.errors"])
@example(data=(numbered((5, 2)), torch.tensor([3, 1, 3, 0, 3])), digit=3, how="a column (N, 1)")  # always tried
@example(data=(numbered((5, 2)), torch.tensor([3, 1, 3, 0, 3])), digit=3, how="one 0-d label")
@given(data=labelled(min_n=1), digit=digits, how=st.sampled_from(["a column (N, 1)", "one 0-d label"]))
def test_select_digit_labels_not_a_vector_raise(student, data, digit, how):
    """select_digit raises ValueError, with a message, when y is not a vector."""
    x, y = data
    y = y.reshape(-1, 1) if how == "a column (N, 1)" else y[0]
    raises_value_error(student, "select_digit", x, y, digit,
                       what=f"select_digit(x of shape {tuple(x.shape)}, y of shape {tuple(y.shape)}: {how})")
