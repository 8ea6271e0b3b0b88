"""Hidden tests for 01_normalization: each test is one property of COURSE.md's API,
scoring the check cell it names, against torch's own statistics."""
import torch
from hypothesis import example, given, strategies as st

from autograder.testing import (S, expect_close, expect_shape, expect_tensor, fail, graded, leaves_inputs_unchanged,
                                raises_value_error, returns_pair)


def population_std(x, dim=None):
    x = x.double()
    return x.std(correction=0) if dim is None else x.std(dim=dim, correction=0)


spread_tensors = S.non_constant(S.float_tensors(max_dims=3, max_side=6))


def scale_atol(x):
    """Float32 rounding grows with the size of the values; a correct formula other
    than ours must not fail on it (the properties tested differ by far more)."""
    return 1e-5 * (1 + float(x.double().abs().max())) if x.numel() else 1e-5


def normalize_rounding(x, mean, std):
    """How far a correct (x - mean) / std may round, in epsilons of the dtype returned: any
    floating dtype is accepted (the notebook says so), and float32 arithmetic on float64
    inputs rounds x and mean before they cancel."""
    size = (float(x.double().abs().max()) if x.numel() else 0.0) + float(torch.as_tensor(mean).double().abs().max())
    return 4 * size / float(torch.as_tensor(std).double().abs().min())


def float32_allowed(expected):
    """The notebook allows ``x.float()`` first for a floating x: a result is held to float32
    precision at least, even when it comes back float64 (float64 statistics promote it)."""
    return expected.float() if expected.is_floating_point() else expected


def _as_reference_dtype(expected, x):
    return expected.to(x.dtype if x.is_floating_point() else torch.float32)


# ---------------------------------------------------------------- mean_std
@graded("mean_std_zero_dim", rules=["mean_std.returns"])
@given(x=S.float_tensors())
def test_mean_std_returns_two_zero_dim_tensors(student, x):
    """mean_std returns a pair of 0-d tensors (not python floats, not shape (1,))."""
    result = returns_pair(student, "mean_std", x, names=("mean", "std"))
    for name, value in zip(("mean", "std"), result):
        expect_shape(value, (), what=name)


@graded("mean_std_mean", rules=["mean_std.mean", "mean_std.returns"])
@given(x=S.float_tensors())
def test_mean_is_over_all_elements(student, x):
    """mean_std's mean is the mean of all elements of x."""
    mean, _ = student.mean_std(x)
    expect_close(mean, _as_reference_dtype(x.double().mean(), x), what="mean", atol=scale_atol(x))


@graded("mean_std_population_std", rules=["mean_std.population_std", "mean_std.returns"])
@given(x=S.float_tensors())
def test_std_is_population_std(student, x):
    """mean_std's std is the population standard deviation (divide by n, ddof=0), not torch's unbiased default."""
    _, std = student.mean_std(x)
    expect_close(std, _as_reference_dtype(population_std(x), x), what="std", atol=scale_atol(x))


@graded("mean_std_integer_input", rules=["mean_std.dtype", "mean_std.returns", "mean_std.mean",
                                         "mean_std.population_std"])
@example(x=torch.tensor([[0, 255, 3], [17, 0, 255]], dtype=torch.uint8))  # uint8 pixels, always tried
@example(x=torch.tensor([[0, 255], [3, 200]], dtype=torch.int64))
@given(x=S.tensors(S.shapes(max_dims=2, max_side=8), st.sampled_from([torch.uint8, torch.int64]), 0, 255))
def test_mean_std_of_pixels(student, x):
    """mean_std works on integer pixels (uint8, int64), computing in floating point (no overflow, no integer division)."""
    mean, std = student.mean_std(x)
    expect_tensor(mean, "mean")
    if not mean.is_floating_point() or not expect_tensor(std, "std").is_floating_point():
        fail(f"mean and std should be floating point for {x.dtype} input, got {mean.dtype} and {std.dtype}")
    expect_close(mean, x.double().mean().float(), what="mean")
    expect_close(std, population_std(x).float(), what="std")


@graded("mean_std_empty", rules=["mean_std.errors"])
@example(shape=(0,))  # the empty tensor is always tried
@example(shape=(2, 0))
@given(shape=st.sampled_from([(0,), (0, 3), (2, 0)]))
def test_mean_std_of_nothing_raises(student, shape):
    """mean_std raises ValueError, with a message, for an empty tensor."""
    raises_value_error(student, "mean_std", torch.empty(shape), what=f"mean_std of an empty tensor of shape {shape}")


@graded("mean_std_zero_dim", rules=["mean_std.pure"])
@given(x=S.float_tensors())
def test_mean_std_leaves_input_unchanged(student, x):
    """mean_std does not modify its input."""
    leaves_inputs_unchanged(student, "mean_std", x, names=["x"])


# ---------------------------------------------------------------- normalize
scales = st.floats(0.5, 50, allow_nan=False).map(lambda v: round(v, 2))
centres = st.floats(-50, 50, allow_nan=False).map(lambda v: round(v, 2))


@graded("normalize_values", rules=["normalize.values"])
@given(x=S.float_tensors(), mean=centres, std=scales, as_tensor=st.booleans())
def test_normalize_values(student, x, mean, std, as_tensor):
    """normalize(x, mean, std) equals (x - mean) / std, for numbers and 0-d tensors."""
    m, s = (torch.tensor(mean, dtype=x.dtype), torch.tensor(std, dtype=x.dtype)) if as_tensor else (mean, std)
    expect_close(student.normalize(x, m, s), float32_allowed((x - m) / s), rounding_scale=normalize_rounding(x, mean, std))


@graded("normalize_values", rules=["normalize.values"])
@given(x=S.float_tensors(min_dims=2, max_dims=2), data=st.data())
def test_normalize_broadcasts_per_feature_stats(student, x, data):
    """normalize broadcasts per-feature mean and std (shape x.shape[1:]) over the rows."""
    features = x.shape[1:]
    mean = data.draw(S.tensors(tuple(features), x.dtype, -10, 10))
    std = data.draw(S.tensors(tuple(features), x.dtype, 0.5, 10))
    expect_close(student.normalize(x, mean, std), float32_allowed((x - mean) / std), rounding_scale=normalize_rounding(x, mean, std))


@graded("normalize_float", rules=["normalize.dtype", "normalize.values"])
@example(x=torch.tensor([0, 255, 17], dtype=torch.uint8), mean=127.5, std=127.5)  # uint8 pixels, always tried
@given(x=S.tensors(S.shapes(max_dims=2), torch.uint8, 0, 255), mean=centres, std=scales)
def test_normalize_pixels_gives_floats(student, x, mean, std):
    """normalize of uint8 pixels gives a floating-point result with the right values."""
    out = expect_tensor(student.normalize(x, mean, std))
    if not out.is_floating_point():
        fail(f"normalize should return floats for uint8 input, got {out.dtype}")
    expect_close(out, (x.double() - mean) / std, rounding_scale=normalize_rounding(x, mean, std))


@graded("normalize_pure", rules=["normalize.pure"])
@given(x=S.float_tensors(), mean=centres, std=scales)
def test_normalize_leaves_input_unchanged(student, x, mean, std):
    """normalize does not modify x in place."""
    leaves_inputs_unchanged(student, "normalize", x, torch.tensor(mean, dtype=x.dtype), torch.tensor(std, dtype=x.dtype),
                            names=["x"])


# ---------------------------------------------------------------- normalize_splits
train_valid = st.tuples(spread_tensors, S.float_tensors(max_dims=3, max_side=6)).filter(
    lambda tv: population_std(tv[0]) > 1e-2 * (1 + tv[0].abs().max()))


def _splits_reference(train, valid):
    mean = train.double().mean()
    std = population_std(train)
    return ((train.double() - mean) / std).to(train.dtype), ((valid.double() - mean) / std).to(valid.dtype)


@graded("normalize_splits_train_result", rules=["normalize_splits.train"])
@given(train_and_valid=train_valid)
def test_train_split_is_standardised(student, train_and_valid):
    """normalize_splits returns train normalised with its own mean and population std."""
    train, valid = train_and_valid
    result = returns_pair(student, "normalize_splits", train, valid, names=("train_n", "valid_n"))
    expect_close(result[0], _splits_reference(train, valid)[0], what="train_n", atol=1e-3)


@graded("normalize_splits_train_stats", rules=["normalize_splits.valid"])
@given(train_and_valid=train_valid)
def test_valid_split_uses_training_statistics(student, train_and_valid):
    """normalize_splits normalises valid with the TRAINING mean and std, never its own."""
    train, valid = train_and_valid
    result = returns_pair(student, "normalize_splits", train, valid, names=("train_n", "valid_n"))
    expect_close(result[1], _splits_reference(train, valid)[1], what="valid_n", atol=1e-3)


@graded("normalize_splits_pure", rules=["normalize_splits.pure"])
@given(train_and_valid=train_valid)
def test_normalize_splits_leaves_inputs_unchanged(student, train_and_valid):
    """normalize_splits modifies neither train nor valid."""
    train, valid = train_and_valid
    leaves_inputs_unchanged(student, "normalize_splits", train, valid, names=["train", "valid"])


pixel_splits = st.tuples(S.non_constant(S.tensors(S.shapes(max_dims=2, max_side=6), torch.uint8, 0, 255)),
                         S.tensors(S.shapes(max_dims=2, max_side=6), torch.uint8, 0, 255)).filter(
    lambda tv: population_std(tv[0]) > 1e-2 * (1 + float(tv[0].double().abs().max())))


@graded("normalize_splits_train_result", rules=["normalize_splits.dtype", "normalize_splits.train"])
@example(train_and_valid=(torch.tensor([0, 255], dtype=torch.uint8), torch.tensor([255, 0, 3], dtype=torch.uint8)))
@given(train_and_valid=pixel_splits)
def test_normalize_splits_of_pixels_gives_floats(student, train_and_valid):
    """normalize_splits of uint8 pixels gives floating-point train_n and valid_n, train_n with mean 0 and std 1."""
    train, valid = train_and_valid
    train_n, valid_n = returns_pair(student, "normalize_splits", train, valid, names=("train_n", "valid_n"))
    for name, value in (("train_n", train_n), ("valid_n", valid_n)):
        if not expect_tensor(value, name).is_floating_point():
            fail(f"{name} should be floating point for uint8 input, got {value.dtype}")
    mean, std = train.double().mean(), population_std(train)
    expect_close(train_n, ((train.double() - mean) / std).float(), what="train_n", atol=1e-3)


@graded("normalize_splits_train_result", rules=["normalize_splits.errors"])
@example(shape=(0,))  # the empty train is always tried
@given(shape=st.sampled_from([(0,), (0, 3), (2, 0)]))
def test_normalize_splits_of_an_empty_train_raises(student, shape):
    """normalize_splits raises ValueError, with a message, when train is empty (as mean_std does)."""
    raises_value_error(student, "normalize_splits", torch.empty(shape), torch.tensor([1.0, 2.0]),
                       what=f"normalize_splits with an empty train of shape {shape}")


# ---------------------------------------------------------------- per_pixel_stats
batches = S.float_tensors(min_dims=2, max_dims=3, max_side=6)


@graded("per_pixel_stats_axis", rules=["per_pixel_stats.axis", "per_pixel_stats.population_std"])
@given(x=batches)
def test_per_pixel_mean_and_std_over_axis_0(student, x):
    """per_pixel_stats gives one mean and std per feature, computed over the images (axis 0)."""
    mean, std = returns_pair(student, "per_pixel_stats", x, names=("mean", "std"))
    expect_close(mean, x.double().mean(dim=0).to(x.dtype), what="mean", atol=scale_atol(x))
    expected_std = population_std(x, dim=0).clamp_min(1e-8).to(x.dtype)
    expect_close(std, expected_std, what="std", atol=10 * scale_atol(x))


@graded("per_pixel_stats_population", rules=["per_pixel_stats.population_std", "per_pixel_stats.axis"])
@given(x=S.non_constant(S.float_tensors(min_dims=2, max_dims=2, min_side=2, max_side=6)))
def test_per_pixel_std_is_population_std(student, x):
    """per_pixel_stats uses the population std (ddof=0) for each feature."""
    _, std = student.per_pixel_stats(x)
    expect_close(std, population_std(x, dim=0).clamp_min(1e-8).to(x.dtype), what="std", atol=10 * scale_atol(x))


@graded("per_pixel_stats_clamp", rules=["per_pixel_stats.clamp", "per_pixel_stats.axis",
                                        "per_pixel_stats.population_std"])
@given(x=batches, eps=st.sampled_from([1e-8, 1e-3, 0.5, 2.0]), constant=st.floats(-5, 5).map(round))
def test_zero_variance_features_get_eps(student, x, eps, constant):
    """per_pixel_stats clamps the std below by eps, so constant features (the MNIST border) give eps, not 0."""
    x = x.clone()
    x[:, 0] = constant  # one feature that never changes, like a border pixel
    _, std = student.per_pixel_stats(x, eps=eps)
    expect_close(std, population_std(x, dim=0).clamp_min(eps).to(x.dtype), what=f"std with eps={eps}",
                 atol=10 * scale_atol(x))


@graded("per_pixel_stats_clamp", rules=["per_pixel_stats.dtype", "per_pixel_stats.clamp", "per_pixel_stats.axis",
                                        "per_pixel_stats.population_std"])
@example(x=torch.tensor([[0, 255, 7], [0, 255, 9]], dtype=torch.uint8))  # uint8 pixels, always tried
@given(x=S.tensors(S.shapes(min_dims=2, max_dims=2), torch.uint8, 0, 255))
def test_per_pixel_stats_default_eps_on_pixels(student, x):
    """per_pixel_stats on uint8 pixels uses the default eps=1e-8 and floating point: a pixel that never changes gets the std 1e-8 itself."""
    mean, std = student.per_pixel_stats(x)
    expect_close(mean, x.double().mean(dim=0).float(), what="mean", atol=scale_atol(x))
    expect_close(std, population_std(x, dim=0).clamp_min(1e-8).float(), what="std", atol=10 * scale_atol(x))
    # Whole numbers that never change have a std of exactly 0 however it is computed, so the clamped
    # std is eps itself: compared relatively, since eps is far below the tolerance of the others.
    constant = (x == x[:1]).all(dim=0)
    if len(x) and bool(constant.any()):
        got = std[constant]
        expect_close(got, torch.full_like(got, 1e-8), rtol=1e-3, atol=0.0,
                     what="the std of the pixels that never change (eps left out: 1e-8)")


@graded("per_pixel_stats_rank", rules=["per_pixel_stats.errors"])
@example(x=torch.tensor(3.0))  # a 0-d tensor and a single vector are always tried
@example(x=torch.tensor([1.0, 2.0, 4.0]))
@given(x=S.float_tensors(min_dims=0, max_dims=1))
def test_per_pixel_stats_needs_a_batch(student, x):
    """per_pixel_stats raises ValueError, with a message, for a 0-d or 1-d input."""
    raises_value_error(student, "per_pixel_stats", x, what=f"per_pixel_stats of a tensor of shape {tuple(x.shape)}")


@graded("per_pixel_stats_pure", rules=["per_pixel_stats.pure"])
@given(x=batches)
def test_per_pixel_stats_leaves_input_unchanged(student, x):
    """per_pixel_stats does not modify x."""
    leaves_inputs_unchanged(student, "per_pixel_stats", x, names=["x"])
