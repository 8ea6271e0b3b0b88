"""Hidden tests for 05_softmax_cross_entropy: each test is one property of COURSE.md's
API, scoring the check cell it names, against torch's softmax, log_softmax and losses
(computed here in float64 from the same inputs, then brought to their dtype).

Moderate logits (|x| <= 20) test the formulas; huge ones (up to 1e4, and rows with one
gap of 800 to 9990) test the numerics: there the naive exp overflows and
log(softmax) is -inf. Tolerances follow the dtype, widened by eps * max|x| where a
correct formula written in another order rounds differently at that size.
"""
import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import example, given, strategies as st
from hypothesis.extra import numpy as hnp

from autograder.testing import (TOLERANCES, S, expect_close, expect_tensor, fail, graded, graded_dtype,
                                leaves_inputs_unchanged, not_allowed, raises_value_error)

FLOATS = (torch.float32, torch.float64)
# Every exercise is written from scratch, without torch's softmax, log-softmax, log-sum-exp or losses.
NOT_ALLOWED = ["torch.softmax", "torch.nn.functional.softmax", "torch.log_softmax",
               "torch.nn.functional.log_softmax", "torch.logsumexp", "torch.nn.functional.cross_entropy",
               "torch.nn.functional.nll_loss", "torch.nn.functional.binary_cross_entropy", "torch.nn losses"]
forbidden_builtins = not_allowed(NOT_ALLOWED)  # in every function of the notebook


# ---------------------------------------------------------------- inputs
def logits(low, high, min_dims=1, max_dims=3):
    return S.float_tensors(min_dims=min_dims, max_dims=max_dims, max_side=5, min_value=low, max_value=high)


moderate = logits(-20, 20)
huge = logits(-1e4, 1e4)


@st.composite
def gap_rows(draw, min_width=2):
    """(rows, width) logits near 0, except one entry per row 800 to 9990 above or below the rest."""
    dtype = draw(st.sampled_from(FLOATS))
    rows, width = draw(st.integers(1, 4)), draw(st.integers(min_width, 6))
    x = draw(S.tensors((rows, width), dtype, -10, 10)).clone()
    for r in range(rows):
        gap = draw(st.integers(800, 9990)) * draw(st.sampled_from([1, -1]))
        x[r, draw(st.integers(0, width - 1))] += gap
    return x


@st.composite
def with_targets(draw, logits_strategy):
    x = draw(logits_strategy)
    targets = draw(hnp.arrays(np.int64, (x.shape[0],), elements=st.integers(0, x.shape[1] - 1)))
    return x, torch.from_numpy(np.array(targets))


batches = logits(-20, 20, min_dims=2, max_dims=2)
huge_batches = st.one_of(logits(-1e4, 1e4, min_dims=2, max_dims=2), gap_rows())


# ---------------------------------------------------------------- tolerances
def rounding(x):
    """How far a correct formula may round at the size of x, in epsilons of the dtype the
    answer comes in (any floating dtype is accepted): x - max loses about eps * max|x|."""
    return 4 * (float(x.detach().abs().max()) if x.numel() else 0.0)


def softmax_rtol(actual, x):
    """Probabilities are relative: the rounding of x - max scales them, so it widens rtol."""
    dtype = graded_dtype(actual.dtype, x.dtype) if isinstance(actual, torch.Tensor) else x.dtype
    return TOLERANCES.get(dtype, TOLERANCES[x.dtype])[0] + rounding(x) * torch.finfo(
        dtype if dtype.is_floating_point else x.dtype).eps


def torch_softmax(x, dim=-1):
    return torch.softmax(x.double(), dim=dim).to(x.dtype)


def torch_log_softmax(x, dim=-1):
    return torch.log_softmax(x.double(), dim=dim).to(x.dtype)


def expect_finite(actual, what, hint):
    actual = expect_tensor(actual, what)
    if actual.is_floating_point() and not bool(torch.isfinite(actual).all()):
        fail(f"{what} contains nan or inf: {actual}\n{hint}")


def expect_softmax(actual, x, dim=-1, what="softmax(x)"):
    expect_close(actual, torch_softmax(x, dim), what, rtol=softmax_rtol(actual, x))


def expect_log_softmax(actual, x, dim=-1, what="log_softmax(x)"):
    expect_close(actual, torch_log_softmax(x, dim), what, rounding_scale=rounding(x))


# Examples every run tries: float64 logits whose float32 rounding shows (17.3 is no float32),
# and rows up to 1e4 in magnitude, one far below another.
ALONG_COLUMNS = torch.tensor([[17.3, -13.7, 2.9], [17.9, -13.1, 3.6]], dtype=torch.float64)
HUGE_ROWS = torch.tensor([[1e4, -1e4, 9990.3], [-9000.7, -9000.2, -9001.1]], dtype=torch.float64)
CLOSE_PAIRS = torch.tensor([[17.3, 17.9], [-13.7, -13.1]], dtype=torch.float64)
FLOAT64_LOGITS = torch.tensor([[17.3, -13.7, 2.9, 0.1], [19.9, -19.9, 3.3, 3.7]], dtype=torch.float64)


def along(x, axis):
    """Axis number `axis` of the 2 * x.dim() ways to name one (-x.dim() .. x.dim() - 1); 0 is the first axis."""
    return axis % (2 * x.dim()) - x.dim()


def expect_in_its_dtype(actual, expected64, what, atol=1e-12):
    """Any floating result dtype, graded at the precision of the dtype returned: a float64 result
    as exact as float64 makes it (float32 arithmetic cast back to float64 is not), a float32 one at
    float32's precision."""
    actual = expect_tensor(actual, what)
    if actual.dtype == torch.float64:
        expect_close(actual, expected64, f"{what} (a float64 result, graded at float64's precision)",
                     rtol=1e-12, atol=atol)
    else:
        expect_close(actual, expected64, what)


# ---------------------------------------------------------------- softmax
@graded("softmax_values", rules=["softmax.dtype"])
@given(x=st.just(FLOAT64_LOGITS))  # one input, shown in the feedback when it fails
def test_softmax_of_float64_is_float64_exact(student, x):
    """softmax of float64 logits is graded at the precision of the dtype it returns: a float64 result as exact as float64 makes it (not float32 arithmetic cast back)."""
    expect_in_its_dtype(student.softmax(x), torch.softmax(x, dim=-1), "softmax(x) of float64 x")


@graded("softmax_values", rules=["softmax.values", "softmax.dtype"])
@given(x=moderate)
def test_softmax_matches_torch(student, x):
    """softmax(x) is exp(x) / sum(exp(x)) along the last axis: positive, summing to 1 in each row, as torch.softmax gives."""
    expect_softmax(student.softmax(x), x)


@graded("softmax_values", rules=["softmax.values", "softmax.dtype"])
@given(n=st.integers(2, 5), dtype=st.sampled_from(FLOATS), data=st.data())
def test_softmax_of_a_square_batch(student, n, dtype, data):
    """softmax of a square (n, n) batch normalises each ROW (the sum is kept as a column, keepdim=True), not each column."""
    x = data.draw(S.tensors((n, n), dtype, -20, 20), label="x")
    expect_softmax(student.softmax(x), x)


@graded("softmax_dim", rules=["softmax.dim", "softmax.values", "softmax.dtype"])
@example(x=ALONG_COLUMNS, axis=0)  # dim=-2, the first axis: always tried, in float64
@given(x=logits(-20, 20, min_dims=2), axis=st.integers(0, 5))
def test_softmax_along_dim(student, x, axis):
    """softmax(x, dim=d) normalises along axis d, whichever axis d is (negative d counts from the end)."""
    dim = along(x, axis)
    expect_softmax(student.softmax(x, dim=dim), x, dim, f"softmax(x, dim={dim})")


@graded("softmax_large", rules=["softmax.large_logits", "softmax.values", "softmax.dtype"])
@example(x=HUGE_ROWS)
@example(x=HUGE_ROWS.float())
@given(x=st.one_of(huge, gap_rows()))
def test_softmax_of_huge_logits(student, x):
    """softmax gives the exact probabilities, without nan or inf, for logits up to 1e4 in magnitude (subtract the max first)."""
    out = student.softmax(x)
    expect_finite(out, "softmax(x)", "exp overflows above about 88 (float32) or 709 (float64): subtract the max "
                  "along the axis first, which does not change the probabilities.")
    expect_softmax(out, x)


@graded("softmax_pure", rules=["softmax.pure"])
@given(x=moderate, dim=st.sampled_from([-1, 0]))
def test_softmax_leaves_input_unchanged(student, x, dim):
    """softmax does not modify x (no x -= x.max())."""
    leaves_inputs_unchanged(student, "softmax", x, dim=dim, names=["x"])


# ---------------------------------------------------------------- log_softmax
@graded("log_softmax_values", rules=["log_softmax.dtype"])
@given(x=st.just(FLOAT64_LOGITS))
def test_log_softmax_of_float64_is_float64_exact(student, x):
    """log_softmax of float64 logits is graded at the precision of the dtype it returns: a float64 result as exact as float64 makes it (not float32 arithmetic cast back)."""
    expect_in_its_dtype(student.log_softmax(x), torch.log_softmax(x, dim=-1), "log_softmax(x) of float64 x",
                        atol=1e-12 * 40)


@graded("log_softmax_values", rules=["log_softmax.values", "log_softmax.dtype"])
@given(x=moderate)
def test_log_softmax_matches_torch(student, x):
    """log_softmax(x) is the log of softmax along the last axis, as torch.log_softmax gives."""
    expect_log_softmax(student.log_softmax(x), x)


@graded("log_softmax_values", rules=["log_softmax.values", "log_softmax.dtype"])
@given(n=st.integers(2, 5), dtype=st.sampled_from(FLOATS), data=st.data())
def test_log_softmax_of_a_square_batch(student, n, dtype, data):
    """log_softmax of a square (n, n) batch works on each ROW (the log-sum-exp is kept as a column, keepdim=True)."""
    x = data.draw(S.tensors((n, n), dtype, -20, 20), label="x")
    expect_log_softmax(student.log_softmax(x), x)


@graded("log_softmax_dim", rules=["log_softmax.dim", "log_softmax.values", "log_softmax.dtype"])
@example(x=ALONG_COLUMNS, axis=0)  # dim=-2, the first axis: always tried, in float64
@given(x=logits(-20, 20, min_dims=2), axis=st.integers(0, 5))
def test_log_softmax_along_dim(student, x, axis):
    """log_softmax(x, dim=d) works along axis d, whichever axis d is (negative d counts from the end)."""
    dim = along(x, axis)
    expect_log_softmax(student.log_softmax(x, dim=dim), x, dim, f"log_softmax(x, dim={dim})")


LOG_HINT = ("log(softmax(x)) is -inf where a probability rounds to 0, and log(sum(exp(x))) overflows: "
            "use x - max - log(sum(exp(x - max))), the log-sum-exp trick.")


@graded("log_softmax_large", rules=["log_softmax.large_logits", "log_softmax.values", "log_softmax.dtype"])
@example(x=HUGE_ROWS)
@example(x=HUGE_ROWS.float())
@given(x=gap_rows())
def test_log_softmax_with_a_huge_gap(student, x):
    """log_softmax stays finite and exact for rows with one huge gap, where log(softmax(x)) gives -inf."""
    out = student.log_softmax(x)
    expect_finite(out, "log_softmax(x)", LOG_HINT)
    expect_log_softmax(out, x)


@graded("log_softmax_large", rules=["log_softmax.large_logits", "log_softmax.values", "log_softmax.dtype"])
@example(x=torch.tensor([1e4, -1e4, 0.0]))
@given(x=huge)
def test_log_softmax_of_huge_logits(student, x):
    """log_softmax is exact, without nan or inf, for logits up to 1e4 in magnitude."""
    out = student.log_softmax(x)
    expect_finite(out, "log_softmax(x)", LOG_HINT)
    expect_log_softmax(out, x)


@graded("log_softmax_pure", rules=["log_softmax.pure"])
@given(x=moderate, dim=st.sampled_from([-1, 0]))
def test_log_softmax_leaves_input_unchanged(student, x, dim):
    """log_softmax does not modify x."""
    leaves_inputs_unchanged(student, "log_softmax", x, dim=dim, names=["x"])


# ---------------------------------------------------------------- binary_cross_entropy
probabilities = st.floats(0.001, 0.999).map(lambda v: round(v, 3))


@st.composite
def predictions(draw):
    """(p, y): probabilities strictly between 0 and 1 and answers 0. or 1., of one shape and dtype."""
    dtype = draw(st.sampled_from(FLOATS))
    shape = tuple(draw(S.shapes(min_dims=1, max_dims=3, max_side=5)))
    thousandths = draw(hnp.arrays(np.int64, shape, elements=st.integers(1, 999)))
    p = torch.from_numpy(np.array(thousandths)).to(dtype) / 1000
    y = torch.from_numpy(np.array(draw(hnp.arrays(np.bool_, shape)))).to(dtype)
    return p, y


@graded("binary_cross_entropy_terms", rules=["binary_cross_entropy.terms", "binary_cross_entropy.dtype"])
@example(p=0.999, y=1.0, dtype=torch.float64)  # float32 rounding shows at float64's precision
@example(p=0.001, y=0.0, dtype=torch.float64)
# "strictly between 0 and 1", not only in thousandths: a clamp of p (for safety) changes these terms
@example(p=1e-4, y=1.0, dtype=torch.float64)
@example(p=1e-9, y=1.0, dtype=torch.float32)
@example(p=1 - 2 ** -20, y=0.0, dtype=torch.float64)
@given(p=probabilities, y=st.sampled_from([0.0, 1.0]), dtype=st.sampled_from(FLOATS))
def test_binary_cross_entropy_of_one_prediction(student, p, y, dtype):
    """binary_cross_entropy of one prediction is -log(p) when y = 1 and -log(1 - p) when y = 0."""
    p_t, y_t = torch.tensor([p], dtype=dtype), torch.tensor([y], dtype=dtype)
    p64 = p_t.double()[0]
    expected = (-torch.log(p64) if y == 1 else -torch.log(1 - p64)).to(dtype)
    actual = student.binary_cross_entropy(p_t, y_t)
    expect_close(actual, expected, f"binary_cross_entropy(tensor([{p}]), tensor([{y}]))")


@graded("binary_cross_entropy_mean", rules=["binary_cross_entropy.mean", "binary_cross_entropy.terms",
                                            "binary_cross_entropy.dtype"])
@example(py=(torch.tensor([[1e-4, 0.5], [0.9999, 0.25]], dtype=torch.float64),  # near 0 and 1: no clamp
             torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)))
@given(py=predictions())
def test_binary_cross_entropy_is_the_mean(student, py):
    """binary_cross_entropy is the MEAN over all elements of -(y log p + (1 - y) log(1 - p)), a 0-d tensor, as torch's gives."""
    p, y = py
    expected = F.binary_cross_entropy(p.double(), y.double()).to(p.dtype)
    expect_close(student.binary_cross_entropy(p, y), expected, "binary_cross_entropy(p, y)")


@graded("binary_cross_entropy_mean", rules=["binary_cross_entropy.pure"])
@example(py=(torch.tensor([1e-9, 0.5, 1 - 2 ** -20]), torch.tensor([1.0, 0.0, 0.0])))  # a clamp_ would change p
@given(py=predictions())
def test_binary_cross_entropy_leaves_inputs_unchanged(student, py):
    """binary_cross_entropy modifies neither p nor y."""
    p, y = py
    leaves_inputs_unchanged(student, "binary_cross_entropy", p, y, names=["p", "y"])


FLOAT64_P = torch.tensor([[0.999, 0.001, 0.123], [0.7, 0.25, 0.5]], dtype=torch.float64)
FLOAT64_Y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype=torch.float64)


@graded("binary_cross_entropy_mean", rules=["binary_cross_entropy.dtype"])
@given(py=st.just((FLOAT64_P, FLOAT64_Y)))
def test_binary_cross_entropy_of_float64_is_float64_exact(student, py):
    """binary_cross_entropy of float64 p and y is graded at the precision of the dtype it returns: a float64 result as exact as float64 makes it (not float32 arithmetic cast back)."""
    p, y = py
    expect_in_its_dtype(student.binary_cross_entropy(p, y), F.binary_cross_entropy(p, y),
                        "binary_cross_entropy(p, y) of float64 p and y")


@graded("binary_cross_entropy_shapes", rules=["binary_cross_entropy.errors"])
@example(shapes=((3, 1), (3,)))
# shapes of one rank that broadcast: a check of the rank and the first side only lets them through
@example(shapes=((2, 1), (2, 3)))
@example(shapes=((1, 3), (2, 3)))
@given(shapes=st.tuples(S.shapes(max_dims=2, max_side=4), S.shapes(max_dims=2, max_side=4))
       .filter(lambda s: tuple(s[0]) != tuple(s[1])))
def test_binary_cross_entropy_rejects_different_shapes(student, shapes):
    """binary_cross_entropy raises ValueError when p and y have different shapes (no silent broadcasting)."""
    p_shape, y_shape = tuple(shapes[0]), tuple(shapes[1])
    raises_value_error(student, "binary_cross_entropy", torch.full(p_shape, 0.5), torch.ones(y_shape),
                       what=f"binary_cross_entropy of p with shape {p_shape} and y with shape {y_shape}")


# ---------------------------------------------------------------- nll_loss
@st.composite
def log_prob_batches(draw, rows=st.integers(1, 6)):
    dtype = draw(st.sampled_from(FLOATS))
    n, c = draw(rows), draw(st.integers(1, 6))
    log_probs = draw(S.tensors((n, c), dtype, -10, 0))
    targets = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return log_probs, torch.from_numpy(np.array(targets))


@graded("nll_loss_single", rules=["nll_loss.values"])
@given(lt=log_prob_batches(rows=st.just(1)))
def test_nll_loss_of_one_image(student, lt):
    """nll_loss of one row is minus the log-probability of its target class, as a 0-d tensor."""
    log_probs, targets = lt
    expected = -log_probs[0, targets[0]]
    expect_close(student.nll_loss(log_probs, targets), expected, "nll_loss(log_probs, targets)")


@graded("nll_loss_mean", rules=["nll_loss.mean", "nll_loss.values"])
@given(lt=log_prob_batches())
def test_nll_loss_is_the_batch_mean(student, lt):
    """nll_loss is the MEAN over the rows of -log_probs[i, targets[i]] (each row its own target), as torch's nll_loss gives."""
    log_probs, targets = lt
    expected = F.nll_loss(log_probs.double(), targets).to(log_probs.dtype)
    expect_close(student.nll_loss(log_probs, targets), expected, "nll_loss(log_probs, targets)")


@graded("nll_loss_mean", rules=["nll_loss.pure"])
@given(lt=log_prob_batches())
def test_nll_loss_leaves_inputs_unchanged(student, lt):
    """nll_loss modifies neither log_probs nor targets."""
    log_probs, targets = lt
    leaves_inputs_unchanged(student, "nll_loss", log_probs, targets, names=["log_probs", "targets"])


FLOAT64_LOG_PROBS = torch.tensor([[-0.1234567, -2.3456789, -7.7], [-1.1, -0.3333333, -4.4444],
                                  [-0.05, -3.14159, -9.9]], dtype=torch.float64)


@graded("nll_loss_mean", rules=["nll_loss.dtype"])
@given(lt=st.just((FLOAT64_LOG_PROBS, torch.tensor([0, 1, 2]))))
def test_nll_loss_of_float64_is_float64_exact(student, lt):
    """nll_loss of float64 log_probs is graded at the precision of the dtype it returns: a float64 result as exact as float64 makes it (not float32 arithmetic cast back)."""
    log_probs, targets = lt
    expect_in_its_dtype(student.nll_loss(log_probs, targets), F.nll_loss(log_probs, targets),
                        "nll_loss(log_probs, targets) of float64 log_probs")


@graded("nll_loss_shapes", rules=["nll_loss.errors"])
@given(shapes=st.one_of(
    st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 5)).filter(lambda s: s[0] != s[2])
    .map(lambda s: ((s[0], s[1]), (s[2],))),
    st.sampled_from([((4,), (1,)), ((4,), (4,)), ((2, 3, 4), (2,)), ((3, 4), (3, 1)), ((3, 4), ())])))
def test_nll_loss_rejects_bad_shapes(student, shapes):
    """nll_loss raises ValueError unless log_probs is (N, C) and targets is (N,), one class per row."""
    lp_shape, t_shape = shapes
    raises_value_error(student, "nll_loss", torch.full(lp_shape, -1.0), torch.zeros(t_shape, dtype=torch.int64),
                       what=f"nll_loss of log_probs with shape {lp_shape} and targets with shape {t_shape}")


# ---------------------------------------------------------------- cross_entropy
def torch_cross_entropy(x, targets):
    return F.cross_entropy(x.double(), targets).to(x.dtype)


@graded("cross_entropy_values", rules=["cross_entropy.values", "cross_entropy.dtype"])
@given(xt=with_targets(batches))
def test_cross_entropy_matches_torch(student, xt):
    """cross_entropy(logits, targets) is the batch mean of -log_softmax(logits)[i, targets[i]], as torch's cross_entropy gives."""
    x, targets = xt
    expect_close(student.cross_entropy(x, targets), torch_cross_entropy(x, targets),
                 "cross_entropy(logits, targets)", rounding_scale=rounding(x))


@graded("cross_entropy_values", rules=["cross_entropy.dtype"])
@given(xt=st.just((FLOAT64_LOGITS, torch.tensor([2, 3]))))
def test_cross_entropy_of_float64_is_float64_exact(student, xt):
    """cross_entropy of float64 logits is graded at the precision of the dtype it returns: a float64 result as exact as float64 makes it (not float32 arithmetic cast back)."""
    x, targets = xt
    expect_in_its_dtype(student.cross_entropy(x, targets), F.cross_entropy(x, targets),
                        "cross_entropy(logits, targets) of float64 logits", atol=1e-12 * 40)


@graded("cross_entropy_large", rules=["cross_entropy.large_logits", "cross_entropy.values", "cross_entropy.dtype"])
@example(xt=(HUGE_ROWS, torch.tensor([0, 2])))
@example(xt=(HUGE_ROWS.float(), torch.tensor([1, 0])))
@given(xt=with_targets(huge_batches))
def test_cross_entropy_of_huge_logits(student, xt):
    """cross_entropy is finite and exact for logits up to 1e4 in magnitude and rows with one huge gap (no log of a softmax that rounded to 0)."""
    x, targets = xt
    out = student.cross_entropy(x, targets)
    expect_finite(out, "cross_entropy(logits, targets)", LOG_HINT)
    expect_close(out, torch_cross_entropy(x, targets), "cross_entropy(logits, targets)", rounding_scale=rounding(x))


BACKWARD = """
loss = cross_entropy(logits, targets)
if isinstance(loss, torch.Tensor) and loss.requires_grad:
    loss.backward()
    result = (loss.detach(), logits.grad)
else:
    result = (loss, None)
"""


@graded("cross_entropy_grad", rules=["cross_entropy.gradient", "cross_entropy.values", "cross_entropy.dtype"])
@example(xt=(CLOSE_PAIRS, torch.tensor([0, 1])))  # float64: float32 rounding shows in the gradient
@given(xt=with_targets(batches))
def test_cross_entropy_gradient_matches_torch(student, xt):
    """loss.backward() through cross_entropy gives logits the same gradient as torch's cross_entropy: (softmax - one_hot) / N."""
    x, targets = xt
    logits = x.clone().requires_grad_(True)
    value, grad = student.run(BACKWARD, logits=logits, targets=targets, label="cross_entropy")
    reference = x.detach().double().clone().requires_grad_(True)  # a copy: x itself may be a shared constant
    F.cross_entropy(reference, targets).backward()
    if grad is None:
        fail("the loss cross_entropy returns is not connected to logits by autograd, so loss.backward() gives "
             f"logits no gradient (the loss was {value!r}). Compute it with torch operations on logits: no "
             ".item(), .detach(), numpy or torch.tensor(...) on the way.")
    # "Any floating result dtype, graded at the precision of the dtype you return": a float32 loss of
    # float64 logits hands back a float64 gradient with float32's rounding, graded at float32's.
    returned = value.dtype if isinstance(value, torch.Tensor) and value.is_floating_point() else x.dtype
    expect_close(grad, reference.grad.to(graded_dtype(returned, x.dtype)), "the gradient of "
                 "cross_entropy(logits, targets) with respect to logits", rounding_scale=rounding(x))


@graded("cross_entropy_pure", rules=["cross_entropy.pure"])
@given(xt=with_targets(batches))
def test_cross_entropy_leaves_inputs_unchanged(student, xt):
    """cross_entropy modifies neither logits nor targets."""
    x, targets = xt
    leaves_inputs_unchanged(student, "cross_entropy", x, targets, names=["logits", "targets"])


# ---------------------------------------------------------------- cross_entropy_grad
def autograd_of_cross_entropy(x, targets):
    """The reference: what autograd gives torch's cross_entropy (the mean), in float64, in x's dtype."""
    reference = x.detach().double().clone().requires_grad_(True)  # a copy: x itself may be a shared constant
    F.cross_entropy(reference, targets).backward()
    return reference.grad.to(x.dtype)


ONE_ROW = (torch.tensor([[17.3, -13.7, 2.9]], dtype=torch.float64), torch.tensor([1]))
ONE_CLASS = (torch.tensor([[3.0], [-1.5], [0.0]]), torch.tensor([0, 0, 0]))  # probability 1: the gradient is 0


@graded("cross_entropy_grad_values", rules=["cross_entropy_grad.values", "cross_entropy_grad.dtype"])
@example(xt=ONE_ROW)  # a batch of one row: N = 1
@example(xt=ONE_CLASS)  # a single class
@given(xt=with_targets(batches))
def test_cross_entropy_grad_matches_autograd(student, xt):
    """cross_entropy_grad(logits, targets) is (softmax(logits) - one_hot(targets)) / N, the gradient autograd gives torch's cross_entropy (the batch mean) with respect to logits."""
    x, targets = xt
    expect_close(student.cross_entropy_grad(x, targets), autograd_of_cross_entropy(x, targets),
                 "cross_entropy_grad(logits, targets)", rounding_scale=rounding(x))


@graded("cross_entropy_grad_values", rules=["cross_entropy_grad.dtype"])
@given(xt=st.just((FLOAT64_LOGITS, torch.tensor([2, 3]))))
def test_cross_entropy_grad_of_float64_is_float64_exact(student, xt):
    """cross_entropy_grad of float64 logits is graded at the precision of the dtype it returns: a float64 result as exact as float64 makes it (not float32 arithmetic cast back)."""
    x, targets = xt
    expect_in_its_dtype(student.cross_entropy_grad(x, targets), autograd_of_cross_entropy(x, targets),
                        "cross_entropy_grad(logits, targets) of float64 logits")


@graded("cross_entropy_grad_large", rules=["cross_entropy_grad.large_logits", "cross_entropy_grad.values",
                                           "cross_entropy_grad.dtype"])
@example(xt=(HUGE_ROWS, torch.tensor([0, 2])))
@example(xt=(HUGE_ROWS.float(), torch.tensor([1, 0])))
@given(xt=with_targets(huge_batches))
def test_cross_entropy_grad_of_huge_logits(student, xt):
    """cross_entropy_grad is finite and exact for logits up to 1e4 in magnitude and rows with one huge gap (a softmax with each row's max subtracted)."""
    x, targets = xt
    out = student.cross_entropy_grad(x, targets)
    expect_finite(out, "cross_entropy_grad(logits, targets)", "exp overflows above about 88 (float32) or 709 "
                  "(float64): compute the softmax with each row's max subtracted first.")
    expect_close(out, autograd_of_cross_entropy(x, targets), "cross_entropy_grad(logits, targets)",
                 rounding_scale=rounding(x))


@graded("cross_entropy_grad_shapes", rules=["cross_entropy_grad.shapes"])
@example(shapes=((3, 4), (2,)))
@example(shapes=((4,), (1,)))
@given(shapes=st.one_of(
    st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 5)).filter(lambda s: s[0] != s[2])
    .map(lambda s: ((s[0], s[1]), (s[2],))),
    st.sampled_from([((4,), (1,)), ((4,), (4,)), ((2, 3, 4), (2,)), ((3, 4), (3, 1)), ((3, 4), ())])))
def test_cross_entropy_grad_rejects_bad_shapes(student, shapes):
    """cross_entropy_grad raises ValueError unless logits is (N, C) and targets is (N,), one class per row."""
    x_shape, t_shape = shapes
    raises_value_error(student, "cross_entropy_grad", torch.zeros(x_shape), torch.zeros(t_shape, dtype=torch.int64),
                       what=f"cross_entropy_grad of logits with shape {x_shape} and targets with shape {t_shape}")


@st.composite
def targets_out_of_range(draw):
    """(N, C) logits and N targets, one of them outside 0 .. C - 1 (negative or C and above)."""
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    targets = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    bad = draw(st.one_of(st.integers(-c, -1), st.integers(c, c + 3)))
    targets[draw(st.integers(0, n - 1))] = bad
    return torch.zeros(n, c), torch.from_numpy(np.array(targets))


@graded("cross_entropy_grad_targets", rules=["cross_entropy_grad.targets"])
@example(xt=(torch.zeros(2, 3), torch.tensor([0, 3])))  # C itself
@example(xt=(torch.zeros(2, 3), torch.tensor([-1, 0])))  # -1: a valid index, not a class
@given(xt=targets_out_of_range())
def test_cross_entropy_grad_rejects_targets_out_of_range(student, xt):
    """cross_entropy_grad raises ValueError when a target is not a class, outside 0 .. C - 1 (negative ones included)."""
    x, targets = xt
    raises_value_error(student, "cross_entropy_grad", x, targets,
                       what=f"cross_entropy_grad with {x.shape[1]} classes and targets {targets.tolist()}")


@graded("cross_entropy_grad_pure", rules=["cross_entropy_grad.pure"])
@given(xt=with_targets(batches))
def test_cross_entropy_grad_leaves_inputs_unchanged(student, xt):
    """cross_entropy_grad modifies neither logits nor targets."""
    x, targets = xt
    leaves_inputs_unchanged(student, "cross_entropy_grad", x, targets, names=["logits", "targets"])


# ---------------------------------------------------------------- accuracy
def no_ties(x):
    return bool(((x == x.amax(dim=1, keepdim=True)).sum(dim=1) == 1).all())


untied = with_targets(logits(-20, 20, min_dims=2, max_dims=2).filter(no_ties))


@graded("accuracy_values", rules=["accuracy.values", "accuracy.dtype"])
@given(xt=untied)
def test_accuracy_is_fraction_of_argmax_hits(student, xt):
    """accuracy is the fraction of rows whose largest logit (argmax along each row) is at the target class."""
    x, targets = xt
    expected = (x.argmax(dim=1) == targets).double().mean()
    expect_close(student.accuracy(x, targets), expected, "accuracy(logits, targets)")  # at its dtype's precision


# Scores of a few whole numbers: many rows with their largest score tied.
tied = with_targets(logits(-2, 2, min_dims=2, max_dims=2).map(torch.round))


@graded("accuracy_values", rules=["accuracy.values"])
@example(xt=(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])))  # all equal: each row predicts 0
@example(xt=(torch.tensor([[0., 2., 2.], [1., 1., -1.]]), torch.tensor([2, 1])))  # the second of a tie is no hit
@given(xt=tied)
def test_accuracy_counts_a_tie_as_its_first_largest_score(student, xt):
    """accuracy predicts, where a row's largest score is tied, the first of them (argmax's): all-equal scores predict 0, not every class."""
    x, targets = xt
    expected = (x.argmax(dim=1) == targets).double().mean()
    expect_close(student.accuracy(x, targets), expected, "accuracy(logits, targets)")


@graded("accuracy_values", rules=["accuracy.pure"])
@given(xt=untied)
def test_accuracy_leaves_inputs_unchanged(student, xt):
    """accuracy modifies neither logits nor targets."""
    x, targets = xt
    leaves_inputs_unchanged(student, "accuracy", x, targets, names=["logits", "targets"])


@graded("accuracy_fraction", rules=["accuracy.dtype", "accuracy.values"])
@given(xt=untied, hit=st.booleans())
def test_accuracy_is_a_float_tensor(student, xt, hit):
    """accuracy returns a 0-d floating-point tensor between 0 and 1 (not a count, not a python float, no integer division)."""
    x, targets = xt
    if hit:
        targets = x.argmax(dim=1)  # every prediction right: the accuracy is 1.0
    out = student.accuracy(x, targets)
    expect_tensor(out, "accuracy(logits, targets)")
    if out.dim() != 0 or not out.is_floating_point():
        fail(f"accuracy(logits, targets) should be a 0-d floating-point tensor, got shape {tuple(out.shape)} "
             f"and dtype {out.dtype}: {out}")
    expected = (x.argmax(dim=1) == targets).double().mean()
    expect_close(out, expected, "accuracy(logits, targets)")


@graded("accuracy_shapes", rules=["accuracy.errors"])
@given(shapes=st.one_of(
    st.tuples(st.integers(1, 5), st.integers(2, 4), st.integers(1, 5)).filter(lambda s: s[0] != s[2])
    .map(lambda s: ((s[0], s[1]), (s[2],))),
    st.sampled_from([((3, 2), (3, 1)), ((4,), (4,)), ((2, 3, 4), (2,)), ((3, 2), ())])))
def test_accuracy_rejects_bad_shapes(student, shapes):
    """accuracy raises ValueError unless logits is (N, C) and targets is (N,), one class per row."""
    x_shape, t_shape = shapes
    raises_value_error(student, "accuracy", torch.zeros(x_shape), torch.zeros(t_shape, dtype=torch.int64),
                       what=f"accuracy of logits with shape {x_shape} and targets with shape {t_shape}")
