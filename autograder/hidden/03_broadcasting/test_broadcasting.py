"""Hidden tests for 03_broadcasting: each test is one property of COURSE.md's API,
scoring the check cell it names, against torch's own broadcasting
(``torch.broadcast_shapes``, ``+`` and ``argmin``).

Shapes come from ``hypothesis.extra.numpy`` (``mutually_broadcastable_shapes``,
``broadcastable_shapes``, ``array_shapes``): different ranks, size-1 and size-0
axes, rank-0 shapes, rank-4 batches of images.
"""
import torch
from hypothesis import example, given, strategies as st
from hypothesis.extra import numpy as hnp

from autograder.testing import (S, expect_close, expect_equal, expect_shape, expect_tensor, fail, graded,
                                leaves_inputs_unchanged, not_allowed, raises_value_error)

# Written from the rules, not asked of torch or numpy.
NOT_ALLOWED = ["torch.broadcast_shapes", "numpy.broadcast_shapes", "torch.broadcast_tensors"]
forbidden_builtins = not_allowed(NOT_ALLOWED, only=["broadcast_shape"])


def torch_broadcast(a, b):
    """torch's answer: the shape, or None when the shapes do not broadcast."""
    try:
        return tuple(torch.broadcast_shapes(tuple(a), tuple(b)))
    except RuntimeError:
        return None


def pair(mbs):
    return tuple(mbs.input_shapes)


shape_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=5, min_side=1, max_side=4).map(pair)


def expect_shape_tuple(result, what):
    """A broadcast_shape result as a tuple (lists are the tuple cell's business)."""
    if isinstance(result, (tuple, list, torch.Size)) and all(type(s) is int for s in result):
        return tuple(result)
    fail(f"{what} should be a tuple of python ints, got {type(result).__name__}: {result!r}")


def call_broadcast(student, a, b):
    what = f"broadcast_shape({a!r}, {b!r})"
    return expect_shape_tuple(student.broadcast_shape(a, b), what), what


def expect_refused(student, a, b):
    """broadcast_shape(a, b) raises ValueError, while a with itself still broadcasts: the
    error must come from the shapes (an error raised for every input is no rule)."""
    result, what = call_broadcast(student, a, a)
    expect_equal(result, tuple(a), what=what)
    raises_value_error(student, "broadcast_shape", a, b, what=f"broadcast_shape({a!r}, {b!r})")


# ---------------------------------------------------------------- broadcast_shape
@st.composite
def same_rank_pairs(draw, min_side=1):
    """Shapes of one rank whose sizes are, axis by axis, equal or 1 on one side."""
    full = draw(hnp.array_shapes(min_dims=1, max_dims=5, min_side=min_side, max_side=5))
    a, b = [], []
    for size in full:
        which = draw(st.sampled_from(["both", "a is 1", "b is 1"]))
        a.append(1 if which == "a is 1" else size)
        b.append(1 if which == "b is 1" else size)
    return tuple(a), tuple(b)


@graded("broadcast_shape_tuple", rules=["broadcast_shape.tuple", "broadcast_shape.scalar"])  # () as well
@example(shape=(2, 3), kind="list")
@example(shape=(2, 3), kind="torch.Size")
@example(shape=(), kind="list")  # "including ()": a shortcut that returns the other shape as given is caught
@example(shape=(), kind="torch.Size")
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=5),
       kind=st.sampled_from(["tuple", "list", "torch.Size"]))
def test_broadcast_shape_returns_a_tuple(student, shape, kind):
    """broadcast_shape accepts tuples, lists or torch.Size and returns a tuple (a plain tuple: not a list, not a torch.Size) of python ints."""
    make = {"tuple": tuple, "list": list, "torch.Size": torch.Size}[kind]
    a, b = make(shape), make(shape)
    result = student.broadcast_shape(a, b)
    if type(result) is not tuple or not all(type(s) is int for s in result):
        fail(f"broadcast_shape({a!r}, {b!r}) should return a tuple of python ints, "
             f"got {type(result).__name__}: {result!r}")
    expect_equal(result, tuple(shape), what=f"broadcast_shape({a!r}, {b!r})")


@graded("broadcast_shape_tuple", rules=["broadcast_shape.pure"])
@example(shapes=((2, 1), (3,)))
@example(shapes=((2, 3), (4,)))  # a call that raises must leave them too (padded in place, never restored)
@example(shapes=((4,), (2, 3)))
@given(shapes=shape_pairs.filter(lambda ab: len(ab[0]) != len(ab[1])))
def test_broadcast_shape_leaves_lists_unchanged(student, shapes):
    """broadcast_shape leaves shapes given as lists as they were (a list is mutable)."""
    a, b = list(shapes[0]), list(shapes[1])
    # Only the arguments are graded here: whether the call returns or raises is the other rules' business.
    a_after, b_after = student.run("try:\n    broadcast_shape(a, b)\nexcept Exception:\n    pass\nresult = (a, b)",
                                   a=list(a), b=list(b), label="broadcast_shape")
    for name, before, now in (("shape_a", a, a_after), ("shape_b", b, b_after)):
        if list(now) != before:
            fail(f"broadcast_shape({a!r}, {b!r}) modified its argument {name}: it was {before!r}, "
                 f"after the call it is {now!r}. Work on a copy (tuple(shape_a)) instead.")


@graded("broadcast_shape_ones", rules=["broadcast_shape.ones"])
@example(shapes=((4, 1), (1, 3)))
@given(shapes=same_rank_pairs())
def test_broadcast_shape_stretches_ones(student, shapes):
    """For shapes of the same rank, each size of the result is the common size, a 1 being stretched to the other."""
    result, what = call_broadcast(student, *shapes)
    expect_equal(result, torch_broadcast(*shapes), what=what)


@graded("broadcast_shape_trailing", rules=["broadcast_shape.trailing", "broadcast_shape.ones"])
@example(shapes=((3,), (4, 2, 3)))
@given(shapes=shape_pairs.filter(lambda ab: len(ab[0]) != len(ab[1]) and len(ab[0]) and len(ab[1])))
def test_broadcast_shape_aligns_trailing_axes(student, shapes):
    """broadcast_shape aligns shapes of different ranks on their trailing (last) axes; missing leading axes count as 1."""
    result, what = call_broadcast(student, *shapes)
    expect_equal(result, torch_broadcast(*shapes), what=what)


@st.composite
def shape_and_broadcastable(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=4))
    return shape, draw(hnp.broadcastable_shapes(shape, min_dims=1, max_dims=5, max_side=4))


@graded("broadcast_shape_trailing", rules=["broadcast_shape.trailing", "broadcast_shape.ones"])
@given(shapes=shape_and_broadcastable())
def test_broadcast_shape_of_a_broadcastable_shape(student, shapes):
    """broadcast_shape(shape, other) matches torch for any other shape broadcast-compatible with shape, in either order."""
    shape, other = shapes
    for a, b in [(shape, other), (other, shape)]:
        result, what = call_broadcast(student, a, b)
        expect_equal(result, torch_broadcast(a, b), what=what)


@graded("broadcast_shape_scalar", rules=["broadcast_shape.scalar"])
@example(shape=(), first=True)
@example(shape=(2, 3), first=False)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4), first=st.booleans())
def test_broadcast_shape_with_a_scalar(student, shape, first):
    """The shape () of a 0-d tensor broadcasts with any shape, giving that shape (and () with () gives ())."""
    a, b = ((), shape) if first else (shape, ())
    result, what = call_broadcast(student, a, b)
    expect_equal(result, tuple(shape), what=what)


@graded("broadcast_shape_zero", rules=["broadcast_shape.zero", "broadcast_shape.ones",
                                      "broadcast_shape.trailing"])  # and a 0 where the other shape has no axis
@example(shapes=((0, 3), (1, 3)))
@example(shapes=((0,), (0,)))
@example(shapes=((0, 3), (3,)))  # a 0 on an axis the other shape lacks: a missing axis is a 1, and 1 stretches to 0
@example(shapes=((4,), (2, 0, 4)))
@given(shapes=same_rank_pairs(min_side=0).filter(lambda ab: 0 in ab[0] + ab[1]))
def test_broadcast_shape_with_size_zero(student, shapes):
    """A size-0 axis is a size like any other: 0 with 1 gives 0 (the 1 stretches to 0), 0 with 0 gives 0."""
    result, what = call_broadcast(student, *shapes)
    expect_equal(result, torch_broadcast(*shapes), what=what)


@st.composite
def zero_against_more(draw):
    """Shapes whose aligned axes hold 0 and a size of at least 2: they do not broadcast."""
    a, b = draw(same_rank_pairs())
    axis = -draw(st.integers(1, len(a)))
    a, b = list(a), list(b)
    a[axis], b[axis] = 0, draw(st.integers(2, 5))
    return (tuple(a), tuple(b)) if draw(st.booleans()) else (tuple(b), tuple(a))


@graded("broadcast_shape_zero", rules=["broadcast_shape.zero", "broadcast_shape.errors"])
@example(shapes=((0,), (5,)))
@given(shapes=zero_against_more())
def test_broadcast_shape_zero_does_not_stretch(student, shapes):
    """A size-0 axis does not stretch: 0 against a size of 2 or more raises ValueError, like any other mismatch."""
    expect_refused(student, *shapes)


@st.composite
def incompatible_pairs(draw):
    """Two shapes of one rank that broadcast except on one axis, where the sizes differ and neither is 1."""
    a, b = draw(same_rank_pairs())
    axis = -draw(st.integers(1, len(a)))
    x = draw(st.integers(2, 5))
    y = draw(st.integers(2, 5).filter(lambda v: v != x))
    a, b = list(a), list(b)
    a[axis], b[axis] = x, y
    return tuple(a), tuple(b)


@graded("broadcast_shape_errors", rules=["broadcast_shape.errors"])
@example(shapes=((2, 3, 4), (3, 3, 4)))
@given(shapes=incompatible_pairs())
def test_broadcast_shape_incompatible_raises(student, shapes):
    """broadcast_shape raises ValueError, with a message, when two aligned sizes differ and neither is 1 (and only then)."""
    expect_refused(student, *shapes)


# ---------------------------------------------------------------- add_row_vector / add_column_vector
VALUE_DTYPES = (torch.float32, torch.float64, torch.int64)


@st.composite
def matrix_and_vector(draw, along, square=False, min_side=0):
    rows = draw(st.integers(min_side, 5))
    cols = rows if square else draw(st.integers(min_side, 5))
    dtype = draw(st.sampled_from(VALUE_DTYPES))
    m = draw(S.tensors((rows, cols), dtype, -100, 100))
    v = draw(S.tensors((cols if along == "row" else rows,), dtype, -100, 100))
    return m, v


@graded("add_row_vector_values", rules=["add_row_vector.values"])
@example(mv=(torch.zeros(0, 3), torch.ones(3)))
@example(mv=(torch.zeros(2, 0), torch.ones(0)))
@given(mv=matrix_and_vector("row"))
def test_add_row_vector_values(student, mv):
    """add_row_vector adds v[j] to every element of column j: v is added to every row."""
    m, v = mv
    expect_close(student.add_row_vector(m, v), m + v, what=f"add_row_vector(m of shape {tuple(m.shape)}, v)")


@graded("add_row_vector_values", rules=["add_row_vector.pure"])
@given(mv=matrix_and_vector("row", min_side=1))
def test_add_row_vector_leaves_inputs_unchanged(student, mv):
    """add_row_vector modifies neither m nor v."""
    m, v = mv
    leaves_inputs_unchanged(student, "add_row_vector", m, v, names=["m", "v"])


@st.composite
def large_integer_matrix_and_vector(draw, along):
    """int64 values near 2**40: exact in int64 (and float64), not in float32."""
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    m = draw(S.tensors((rows, cols), torch.int64, -2**40, 2**40))
    v = draw(S.tensors((cols if along == "row" else rows,), torch.int64, -2**40, 2**40))
    return m, v


BIG = 2**40
LARGE_ROW = (torch.tensor([[BIG, 1], [3, -BIG]]), torch.tensor([3, BIG + 1]))
LARGE_COLUMN = (torch.tensor([[BIG, 1], [3, -BIG]]), torch.tensor([3, BIG + 1]))


def expect_exact_integers(out, expected, what):
    """Integer inputs: exactly the integer values (a float result holding them exactly passes too)."""
    out = expect_tensor(out, what)
    expect_equal(out, expected, what=what)


@graded("add_row_vector_values", rules=["add_row_vector.dtype"])
@example(mv=LARGE_ROW)
@given(mv=large_integer_matrix_and_vector("row"))
def test_add_row_vector_exact_integers(student, mv):
    """add_row_vector of int64 inputs gives the exact integer sums, also for values near 2**40 (no detour through float32)."""
    m, v = mv
    expect_exact_integers(student.add_row_vector(m, v), m + v, f"add_row_vector(m, v) with m = {m.tolist()}, v = {v.tolist()}")


@graded("add_column_vector_values", rules=["add_column_vector.dtype"])
@example(mv=LARGE_COLUMN)
@given(mv=large_integer_matrix_and_vector("column"))
def test_add_column_vector_exact_integers(student, mv):
    """add_column_vector of int64 inputs gives the exact integer sums, also for values near 2**40 (no detour through float32)."""
    m, v = mv
    expect_exact_integers(student.add_column_vector(m, v), m + v[:, None],
                          f"add_column_vector(m, v) with m = {m.tolist()}, v = {v.tolist()}")


@st.composite
def wrong_vectors(draw, along):
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    expected = cols if along == "row" else rows
    # 1 included: m + v broadcasts a v of length 1 to every column (or row) without an error
    length = draw(st.integers(0, 6).filter(lambda k: k != expected))
    return counting(rows, cols), counting(length)


def counting(*shape):
    """0., 1., 2., ... in the given shape."""
    return torch.arange(float(torch.Size(shape).numel())).reshape(shape)


@graded("add_row_vector_errors", rules=["add_row_vector.errors"])
@given(mv=wrong_vectors("row"))
def test_add_row_vector_wrong_length_raises(student, mv):
    """add_row_vector raises ValueError, with a message, when v's length is not the number of columns."""
    m, v = mv
    raises_value_error(student, "add_row_vector", m, v,
                       what=f"add_row_vector(m of shape {tuple(m.shape)}, v of shape {tuple(v.shape)})")


@graded("add_column_vector_values", rules=["add_column_vector.values"])
@example(mv=(torch.zeros(0, 3), torch.ones(0)))
@example(mv=(torch.zeros(2, 0), torch.ones(2)))
@given(mv=matrix_and_vector("column"))
def test_add_column_vector_values(student, mv):
    """add_column_vector adds v[i] to every element of row i: v is added to every column."""
    m, v = mv
    expect_close(student.add_column_vector(m, v), m + v[:, None],
                 what=f"add_column_vector(m of shape {tuple(m.shape)}, v)")


@graded("add_column_vector_values", rules=["add_column_vector.pure"])
@given(mv=matrix_and_vector("column", min_side=1))
def test_add_column_vector_leaves_inputs_unchanged(student, mv):
    """add_column_vector modifies neither m nor v."""
    m, v = mv
    leaves_inputs_unchanged(student, "add_column_vector", m, v, names=["m", "v"])


@graded("add_column_vector_square", rules=["add_column_vector.values"])
@given(mv=matrix_and_vector("column", square=True, min_side=2))
def test_add_column_vector_square(student, mv):
    """add_column_vector adds v down the columns of a square matrix too, where m + v silently adds along the rows."""
    m, v = mv
    expect_close(student.add_column_vector(m, v), m + v[:, None],
                 what=f"add_column_vector(m of shape {tuple(m.shape)}, v)")


@graded("add_column_vector_errors", rules=["add_column_vector.errors"])
@given(mv=wrong_vectors("column"))
def test_add_column_vector_wrong_length_raises(student, mv):
    """add_column_vector raises ValueError, with a message, when v's length is not the number of rows."""
    m, v = mv
    raises_value_error(student, "add_column_vector", m, v,
                       what=f"add_column_vector(m of shape {tuple(m.shape)}, v of shape {tuple(v.shape)})")


# ---------------------------------------------------------------- mnist_distance
def reference_distance(a, b):
    """Mean absolute difference over the last two axes, in float64, returned in the inputs' float dtype."""
    out = (a.double() - b.double()).abs().mean(dim=(-2, -1))
    floating = [t.dtype for t in (a, b) if t.is_floating_point()]
    return out.to(torch.promote_types(*floating) if len(floating) == 2 else (floating or [torch.float32])[0])


image_sizes = st.tuples(st.integers(1, 5), st.integers(1, 5))


@st.composite
def image_pair(draw, batch_shapes, dtypes=S.FLOAT_DTYPES, low=-100, high=100,
               image_shapes=image_sizes.map(lambda hw: (hw, hw))):
    """Two stacks of images whose batch axes broadcast, of one size (H, W) unless
    ``image_shapes`` draws two that broadcast."""
    image_a, image_b = draw(image_shapes)
    batch_a, batch_b = draw(batch_shapes)
    dtype = draw(st.sampled_from(dtypes))
    a = draw(S.tensors(tuple(batch_a) + tuple(image_a), dtype, low, high))
    b = draw(S.tensors(tuple(batch_b) + tuple(image_b), dtype, low, high))
    return a, b


def check_distance(student, a, b):
    """float32 tolerance even for float64 images: this exercise is about axes, not precision."""
    expect_close(student.mnist_distance(a, b), reference_distance(a, b), rtol=1e-4, atol=1e-4,
                 what=f"mnist_distance(a of shape {tuple(a.shape)}, b of shape {tuple(b.shape)})")


@graded("mnist_distance_pair", rules=["mnist_distance.values"])
@given(ab=image_pair(st.just(((), ()))))
def test_mnist_distance_of_two_images(student, ab):
    """mnist_distance of two images (H, W) is one number (a 0-d tensor): the mean of |a - b| over all pixels."""
    check_distance(student, *ab)


@graded("mnist_distance_stack", rules=["mnist_distance.values", "mnist_distance.axes"])
@given(ab=image_pair(st.integers(1, 5).flatmap(lambda n: st.sampled_from([((n,), ()), ((), (n,))]))))
def test_mnist_distance_stack_against_one(student, ab):
    """mnist_distance of a stack (N, H, W) and one image (H, W), in either order, gives one distance per image: (N,)."""
    check_distance(student, *ab)


@graded("mnist_distance_stack", rules=["mnist_distance.pure"])
@example(ab=(torch.tensor([[[1., 2.], [3., 4.]], [[5., 6.], [7., 8.]]]), torch.tensor([[1., -1.], [2., -2.]])))
@given(ab=image_pair(st.integers(1, 5).map(lambda n: ((n,), ()))))
def test_mnist_distance_leaves_inputs_unchanged(student, ab):
    """mnist_distance modifies neither a nor b."""
    a, b = ab
    leaves_inputs_unchanged(student, "mnist_distance", a, b, names=["a", "b"])


@graded("mnist_distance_broadcast", rules=["mnist_distance.values", "mnist_distance.axes"])
@given(ab=image_pair(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, min_side=1,
                                                       max_side=3).map(pair)))
def test_mnist_distance_broadcasts_batch_axes(student, ab):
    """mnist_distance broadcasts all axes before the last two, e.g. (N, 1, H, W) with (K, H, W) gives (N, K), rank-4 batches included."""
    check_distance(student, *ab)


# One or both image axes of size 1 where the other image's are not: a row (1, W) against (H, W),
# a column (H, 1), a pixel (1, 1), a row against a column; either way round.
image_axes_of_size_1 = st.tuples(st.integers(2, 5), st.integers(2, 5)).flatmap(lambda hw: st.sampled_from([
    ((1, hw[1]), hw), ((hw[0], 1), hw), ((1, 1), hw), ((1, hw[1]), (hw[0], 1))])).flatmap(
    lambda shapes: st.sampled_from([shapes, shapes[::-1]]))


@graded("mnist_distance_broadcast", rules=["mnist_distance.values", "mnist_distance.axes"])
@example(ab=(torch.tensor([[1., 2., 3.]]), torch.tensor([[1., 2., 3.], [2., 2., 2.]])))
@example(ab=(torch.arange(6.).reshape(2, 3), torch.tensor([[10.], [-10.]])))
@example(ab=(torch.arange(24.).reshape(2, 3, 4), torch.tensor([[7.]])))
@given(ab=image_pair(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=1, max_side=3).map(pair),
                     image_shapes=image_axes_of_size_1))
def test_mnist_distance_broadcasts_image_axes_of_size_1(student, ab):
    """mnist_distance broadcasts the image axes too: a row (1, W) against (H, W) is compared with every row, and the mean is over the H x W pixels of the broadcast difference."""
    check_distance(student, *ab)


@graded("mnist_distance_broadcast", rules=["mnist_distance.axes"])
@example(ab=(torch.zeros(0, 1, 3, 5), torch.ones(6, 3, 5)))
@given(ab=image_pair(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, min_side=0,
                                                       max_side=3).map(pair)
                     .filter(lambda ab: 0 in ab[0] + ab[1])))
def test_mnist_distance_of_empty_batches(student, ab):
    """mnist_distance of empty stacks (a batch axis of size 0) gives an empty result of the broadcast batch shape."""
    check_distance(student, *ab)


@graded("mnist_distance_pixels", rules=["mnist_distance.dtype", "mnist_distance.values", "mnist_distance.axes"])
@given(ab=image_pair(st.sampled_from([((), ()), ((3,), ()), ((2, 1), (3,))]), dtypes=(torch.uint8,),
                     low=0, high=255))
def test_mnist_distance_of_uint8_pixels(student, ab):
    """mnist_distance of uint8 images is computed in floating point: no wrap-around when subtracting bytes."""
    a, b = ab
    out = expect_tensor(student.mnist_distance(a, b))
    if not out.is_floating_point():
        fail(f"mnist_distance of uint8 images should be floating point, got {out.dtype}")
    check_distance(student, a, b)


@st.composite
def non_broadcasting_images(draw):
    kind = draw(st.sampled_from(["batch axes", "image sizes", "rank 1", "one of rank below 2"]))
    if kind == "batch axes":
        h, w = draw(image_sizes)
        a, b = draw(incompatible_pairs())
        return a + (h, w), b + (h, w)
    if kind == "image sizes":  # widths that differ, neither of them 1
        h, w = draw(st.integers(1, 5)), draw(st.integers(2, 5))
        other = draw(st.integers(2, 5).filter(lambda v: v != w))
        return (draw(st.integers(1, 3)), h, w), (h, other)
    if kind == "one of rank below 2":  # against an image it broadcasts with: only the rank is wrong
        h, w = draw(image_sizes)
        low = draw(st.sampled_from([(), (w,)]))
        return draw(st.sampled_from([(low, (h, w)), ((h, w), low)]))
    n = draw(st.integers(1, 4))
    return (n,), (n,)


@graded("mnist_distance_errors", rules=["mnist_distance.errors"])
@example(shapes=((3,), (3,)))
@example(shapes=((), (2, 2)))
# Each tensor's rank checked alone: the other an image it broadcasts with.
@example(shapes=((3,), (2, 3)))
@example(shapes=((2, 3), (3,)))
@example(shapes=((2, 2), ()))
@example(shapes=((3, 4, 4), (2, 4, 4)))
@given(shapes=non_broadcasting_images())
def test_mnist_distance_incompatible_raises(student, shapes):
    """mnist_distance raises ValueError, with a message, for tensors of rank below 2 or shapes that do not broadcast."""
    a, b = (counting(*s) for s in shapes)
    raises_value_error(student, "mnist_distance", a, b,
                       what=f"mnist_distance(a of shape {shapes[0]}, b of shape {shapes[1]})")


# ---------------------------------------------------------------- nearest_mean_predict
@st.composite
def images_and_means(draw, min_n=0):
    n, k = draw(st.integers(min_n, 6)), draw(st.integers(1, 5))
    h, w = draw(image_sizes)
    dtype = draw(st.sampled_from(S.FLOAT_DTYPES))
    images = draw(S.tensors((n, h, w), dtype, 0, 255))
    means = draw(S.tensors((k, h, w), dtype, 0, 255))
    return images, means


def all_distances(images, means):
    return (images.double()[:, None] - means.double()[None]).abs().mean(dim=(-2, -1))


@graded("nearest_mean_shape", rules=["nearest_mean_predict.shape", "nearest_mean_predict.dtype"])
@example(im=(torch.zeros(0, 3, 4), torch.ones(2, 3, 4)))
@given(im=images_and_means())
def test_nearest_mean_shape_and_dtype(student, im):
    """nearest_mean_predict returns one torch.int64 index per image: shape (N,), empty batches included."""
    images, means = im
    pred = expect_tensor(student.nearest_mean_predict(images, means))
    expect_shape(pred, (images.shape[0],), what=f"nearest_mean_predict(images of shape {tuple(images.shape)}, "
                                                f"means of shape {tuple(means.shape)})")
    if pred.dtype != torch.int64:
        fail(f"nearest_mean_predict should return torch.int64 indices (what argmin gives), got {pred.dtype}")


@graded("nearest_mean_shape", rules=["nearest_mean_predict.pure"])
@given(im=images_and_means(min_n=1))
def test_nearest_mean_leaves_inputs_unchanged(student, im):
    """nearest_mean_predict modifies neither images nor means."""
    images, means = im
    leaves_inputs_unchanged(student, "nearest_mean_predict", images, means, names=["images", "means"])


@graded("nearest_mean_closest", rules=["nearest_mean_predict.closest", "nearest_mean_predict.shape"])
@given(im=images_and_means(min_n=1))
def test_nearest_mean_picks_a_closest_mean(student, im):
    """nearest_mean_predict picks, for each image, a mean at the smallest mean absolute distance (any one of them if tied)."""
    images, means = im
    what = f"nearest_mean_predict(images of shape {tuple(images.shape)}, means of shape {tuple(means.shape)})"
    pred = expect_tensor(student.nearest_mean_predict(images, means), what)
    expect_shape(pred, (images.shape[0],), what=what)
    d = all_distances(images, means)
    if pred.dtype == torch.bool or (pred.dtype.is_floating_point and not bool((pred == pred.round()).all())):
        fail(f"{what} should hold integer indices, got {pred}")
    if bool(((pred < 0) | (pred >= means.shape[0])).any()):
        fail(f"{what} should hold indices from 0 to {means.shape[0] - 1}, got {pred}")
    best = d.min(dim=1).values
    chosen = d.gather(1, pred.long().cpu()[:, None])[:, 0]
    wrong = chosen > best * (1 + 1e-5) + 1e-6
    if bool(wrong.any()):
        i = int(wrong.nonzero()[0])
        fail(f"{what} is wrong for image {i}: it predicts mean {int(pred[i])} at distance {chosen[i]:.4g}, "
             f"but mean {int(d[i].argmin())} is closer, at distance {best[i]:.4g}.\n"
             f"Distances of image {i} to each mean: {d[i].float()}\nExpected: {d.argmin(dim=1)}\nGot:      {pred}")


@st.composite
def means_and_picks(draw):
    """K different mean images (mean j is a pattern plus 10 j) and a list of indices into them."""
    k, size = draw(st.integers(1, 6)), draw(image_sizes)
    pattern = draw(S.tensors(size, torch.float32, 0, 50))
    means = torch.stack([pattern + 10 * j for j in range(k)])
    return means, draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=6))


@graded("nearest_mean_exact", rules=["nearest_mean_predict.closest", "nearest_mean_predict.shape"])
@given(case=means_and_picks())
def test_nearest_mean_recognises_the_means(student, case):
    """An image equal to mean k is predicted k."""
    means, which = case
    expect_equal(student.nearest_mean_predict(means[which], means), torch.tensor(which),
                 what=f"nearest_mean_predict(means[{which}], means) with means of shape {tuple(means.shape)}")


@st.composite
def wrong_stacks(draw):
    h, w = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["flattened images", "flattened means", "both flattened", "one image",
                                 "a rank-4 batch", "rank-4 means", "both rank 4", "images of another size"]))
    images, means = (n, h, w), (k, h, w)
    if kind == "flattened images":
        images = (n, h * w)
    elif kind == "flattened means":
        means = (k, h * w)
    elif kind == "one image":
        images = (h, w)
    elif kind == "both flattened":
        images, means = (n, h * w), (k, h * w)
    elif kind == "a rank-4 batch":
        images = (n, 1, h, w)
    elif kind == "rank-4 means":
        means = (k, 1, h, w)
    elif kind == "both rank 4":
        images, means = (n, 1, h, w), (k, 1, h, w)
    else:
        images = (n, h + 1, w)
    return images, means


@graded("nearest_mean_errors", rules=["nearest_mean_predict.errors"])
# both of one wrong rank: a check that they match each other, not that each is (., H, W), lets them through
@example(shapes=((4, 9), (10, 9)))
@example(shapes=((2, 1, 3, 3), (5, 1, 3, 3)))
@example(shapes=((2, 3, 3), (5, 1, 3, 3)))
@given(shapes=wrong_stacks())
def test_nearest_mean_wrong_shapes_raise(student, shapes):
    """nearest_mean_predict raises ValueError, with a message, unless images are (N, H, W) and means (K, H, W) of the same H and W."""
    images, means = (counting(*s) for s in shapes)
    raises_value_error(student, "nearest_mean_predict", images, means,
                       what=f"nearest_mean_predict(images of shape {shapes[0]}, means of shape {shapes[1]})")
