"""Hidden tests for 04_matmul: each test is one property of COURSE.md's API, scoring
the check cell it names, against torch.matmul (computed here, in float64 for float
inputs, exactly for integer inputs).

Float tolerances follow the dtype, with the absolute part scaled by the size of the
sums (k * max|a| * max|b| * eps): a correct product that adds in another order
(a loop, a transposed broadcast, float64 inside) must pass; a wrong one is off by far
more.
"""
import numpy as np
import torch
from hypothesis import example, given, strategies as st
from hypothesis.extra import numpy as hnp

from autograder.testing import (S, expect_close, expect_equal, expect_tensor, fail, graded, leaves_inputs_unchanged,
                                not_allowed, raises_value_error)

FLOATS = (torch.float32, torch.float64)
sides = st.integers(1, 6)
BIG = 2 ** 30  # products up to 2**60: exact in int64, not in float64
# Every exercise is written from scratch, without the built-in products.
NOT_ALLOWED = ["@", "torch.matmul", "torch.mm", "torch.bmm", "torch.mv", "torch.dot", "torch.einsum",
               "torch.tensordot", "torch.nn.functional.linear", "numpy.matmul", "numpy.dot", "numpy.einsum"]
forbidden_builtins = not_allowed(NOT_ALLOWED)  # in every function of the notebook


# ---------------------------------------------------------------- references and checks
def torch_product(a, b):
    """torch.matmul, in float64 for float inputs (then back to their dtype), exact for integers."""
    if a.is_floating_point():
        return torch.matmul(a.double(), b.double()).to(a.dtype)
    return torch.matmul(a, b)


def product_rounding(a, b):
    """How far a correct product may round, in epsilons of the dtype it is returned in (any
    floating dtype is accepted): k terms of size up to max|a| * max|b|, added in any order."""
    if a.numel() == 0 or b.numel() == 0:
        return 0.0
    return 4 * a.shape[-1] * float(a.abs().max()) * float(b.abs().max())


def expect_product(actual, a, b, what="the result", expected=None):
    expected = torch_product(a, b) if expected is None else expected
    if expected.is_floating_point():
        expect_close(actual, expected, what, rounding_scale=product_rounding(a, b))
        return
    actual = expect_tensor(actual, what)
    if actual.dtype != expected.dtype:
        fail(f"{what} should be exact integers: {expected.dtype} inputs give a {expected.dtype} result, "
             f"got {actual.dtype} (do not convert to float).\nExpected: {expected}\nGot:      {actual}")
    expect_equal(actual, expected, what)


def matvec_pairs(dtypes=FLOATS, low=-100, high=100):
    return st.tuples(sides, sides, st.sampled_from(dtypes)).flatmap(
        lambda s: st.tuples(S.tensors((s[0], s[1]), s[2], low, high), S.tensors((s[1],), s[2], low, high)))


def matrix_pairs(dtypes=FLOATS, low=-100, high=100):
    return st.tuples(sides, sides, sides, st.sampled_from(dtypes)).flatmap(
        lambda s: st.tuples(S.tensors((s[0], s[1]), s[3], low, high), S.tensors((s[1], s[2]), s[3], low, high)))


def shapes_text(*shapes):
    return " and ".join(str(tuple(s)) for s in shapes)


# ---------------------------------------------------------------- matvec
@graded("matvec_values", rules=["matvec.values"])
@given(mv=matvec_pairs())
def test_matvec_is_weighted_sum_of_columns(student, mv):
    """matvec(m, v) is the (n,) vector whose entry i is sum over j of m[i, j] * v[j], as torch.mv gives."""
    m, v = mv
    expect_product(student.matvec(m, v), m, v, "matvec(m, v)")


@graded("matvec_values", rules=["matvec.values"])
@given(n=sides, dtype=st.sampled_from(FLOATS), data=st.data())
def test_matvec_on_square_matrices(student, n, dtype, data):
    """matvec sums over the columns of m (axis 1), which matters on square matrices where either axis fits."""
    m = data.draw(S.tensors((n, n), dtype, -10, 10), label="m")
    v = data.draw(S.tensors((n,), dtype, -10, 10), label="v")
    expect_product(student.matvec(m, v), m, v, "matvec(m, v)")


@graded("matvec_integer", rules=["matvec.dtype", "matvec.values"])
@given(mv=st.one_of(matvec_pairs([torch.int64], -100, 100), matvec_pairs([torch.int64], -BIG, BIG)))
def test_matvec_integers_are_exact(student, mv):
    """matvec of int64 inputs is an exact int64 result, even for large values (no detour through float)."""
    m, v = mv
    expect_product(student.matvec(m, v), m, v, "matvec(m, v)")


@graded("matvec_sizes", rules=["matvec.errors"])
@example(shapes=((3, 2), (1,)))
@given(shapes=st.tuples(sides, sides, sides).filter(lambda s: s[1] != s[2]).map(lambda s: ((s[0], s[1]), (s[2],))))
def test_matvec_rejects_mismatched_sizes(student, shapes):
    """matvec raises ValueError when v does not have one entry per column of m (a size-1 v must not broadcast)."""
    raises_value_error(student, "matvec", torch.ones(shapes[0]), torch.ones(shapes[1]),
                       what=f"matvec of shapes {shapes_text(*shapes)}")


@graded("matvec_sizes", rules=["matvec.errors"])
@given(shapes=st.sampled_from([((3,), (3,)), ((2, 3), (3, 1)), ((2, 2, 3), (3,)), ((3,), (3, 2)), ((), (1,))]))
def test_matvec_rejects_wrong_ranks(student, shapes):
    """matvec raises ValueError unless m is a matrix (2-d) and v a vector (1-d)."""
    raises_value_error(student, "matvec", torch.ones(shapes[0]), torch.ones(shapes[1]),
                       what=f"matvec of shapes {shapes_text(*shapes)}")


@graded("matvec_pure", rules=["matvec.pure"])
@given(mv=matvec_pairs())
def test_matvec_leaves_inputs_unchanged(student, mv):
    """matvec does not modify m or v."""
    m, v = mv
    leaves_inputs_unchanged(student, "matvec", m, v, names=["m", "v"])


# ---------------------------------------------------------------- matmul
@graded("matmul_values", rules=["matmul.values"])
@given(ab=matrix_pairs())
def test_matmul_matches_torch(student, ab):
    """matmul(a, b) of (n, k) and (k, p) is the (n, p) matrix product, as torch.matmul gives."""
    a, b = ab
    expect_product(student.matmul(a, b), a, b, "matmul(a, b)")


@graded("matmul_values", rules=["matmul.values"])
@given(n=sides, dtype=st.sampled_from(FLOATS), data=st.data())
def test_matmul_on_square_matrices(student, n, dtype, data):
    """matmul sums over the inner axis (columns of a with rows of b), which matters on square matrices."""
    a = data.draw(S.tensors((n, n), dtype, -10, 10), label="a")
    b = data.draw(S.tensors((n, n), dtype, -10, 10), label="b")
    expect_product(student.matmul(a, b), a, b, "matmul(a, b)")


@graded("matmul_integer", rules=["matmul.dtype", "matmul.values"])
@given(ab=st.one_of(matrix_pairs([torch.int64], -100, 100), matrix_pairs([torch.int64], -BIG, BIG)))
def test_matmul_integers_are_exact(student, ab):
    """matmul of int64 matrices is an exact int64 result, even for large values (no detour through float)."""
    a, b = ab
    expect_product(student.matmul(a, b), a, b, "matmul(a, b)")


@graded("matmul_inner_size", rules=["matmul.inner"])
@example(shapes=((2, 1), (3, 4)))
@given(shapes=st.tuples(sides, sides, sides, sides).filter(lambda s: s[1] != s[2])
       .map(lambda s: ((s[0], s[1]), (s[2], s[3]))))
def test_matmul_rejects_mismatched_inner_sizes(student, shapes):
    """matmul raises ValueError when a's column count differs from b's row count, even where broadcasting would run."""
    raises_value_error(student, "matmul", torch.ones(shapes[0]), torch.ones(shapes[1]),
                       what=f"matmul of shapes {shapes_text(*shapes)}")


@st.composite
def wrong_rank_shapes(draw):
    """Two shapes whose inner sizes agree but at least one of which is not a matrix."""
    rank_a, rank_b = draw(st.sampled_from([(1, 2), (2, 1), (1, 1), (3, 2), (2, 3), (3, 3)]))
    k = draw(sides)
    a = tuple(draw(st.lists(sides, min_size=rank_a - 1, max_size=rank_a - 1))) + (k,)
    b = (k,) + tuple(draw(st.lists(sides, min_size=rank_b - 1, max_size=rank_b - 1)))
    return a, b


@graded("matmul_rank", rules=["matmul.rank"])
@example(shapes=((3,), (3, 2)))
@given(shapes=wrong_rank_shapes())
def test_matmul_rejects_non_matrices(student, shapes):
    """matmul raises ValueError unless both inputs are matrices (2-d)."""
    raises_value_error(student, "matmul", torch.ones(shapes[0]), torch.ones(shapes[1]),
                       what=f"matmul of shapes {shapes_text(*shapes)}")


@graded("matmul_pure", rules=["matmul.pure"])
@given(ab=matrix_pairs())
def test_matmul_leaves_inputs_unchanged(student, ab):
    """matmul does not modify a or b."""
    a, b = ab
    leaves_inputs_unchanged(student, "matmul", a, b, names=["a", "b"])


# ---------------------------------------------------------------- batched_matmul
BATCH_DTYPES = FLOATS  # int64 inputs: test_batched_matmul_integers_are_exact
# numpy.matmul's signature (n?,k),(k,m?)->(n?,m?): batch axes that broadcast, and
# sometimes a 1-d operand (which batched_matmul must refuse).
matmul_shapes = hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3, max_side=4)


def _tensors_for(shapes, dtype):
    return st.tuples(*(S.tensors(tuple(s), dtype, -20, 20) for s in shapes))


broadcast_pairs = st.tuples(
    matmul_shapes.filter(lambda bs: all(len(s) >= 2 for s in bs.input_shapes)).map(lambda bs: bs.input_shapes),
    st.sampled_from(BATCH_DTYPES)).flatmap(lambda sd: _tensors_for(sd[0], sd[1]))


@st.composite
def same_batch_pairs(draw, dtypes=BATCH_DTYPES, low=-20, high=20):
    batch = tuple(draw(S.shapes(min_dims=0, max_dims=2, max_side=3)))
    n, k, p = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(dtypes))
    return draw(st.tuples(S.tensors(batch + (n, k), dtype, low, high), S.tensors(batch + (k, p), dtype, low, high)))


@graded("batched_matmul_same_batch", rules=["batched_matmul.values"])
@given(ab=same_batch_pairs())
def test_batched_matmul_pairs_up_equal_batches(student, ab):
    """batched_matmul multiplies the matrices of two equally long stacks pair by pair (plain matrices included), as torch.matmul does."""
    a, b = ab
    expect_product(student.batched_matmul(a, b), a, b, "batched_matmul(a, b)")


@graded("batched_matmul_same_batch", rules=["batched_matmul.dtype", "batched_matmul.values"])
@example(ab=(torch.tensor([[[2**40, 1]]]), torch.tensor([[[3], [5]]])))
@given(ab=same_batch_pairs(dtypes=(torch.int64,), low=-BIG, high=BIG))
def test_batched_matmul_integers_are_exact(student, ab):
    """batched_matmul of int64 stacks is an exact int64 result, even for large values (no detour through float)."""
    a, b = ab
    expect_product(student.batched_matmul(a, b), a, b, "batched_matmul(a, b)")


@graded("batched_matmul_same_batch", rules=["batched_matmul.pure"])
@given(ab=same_batch_pairs())
def test_batched_matmul_leaves_inputs_unchanged(student, ab):
    """batched_matmul does not modify a or b."""
    a, b = ab
    leaves_inputs_unchanged(student, "batched_matmul", a, b, names=["a", "b"])


@graded("batched_matmul_broadcast", rules=["batched_matmul.broadcast", "batched_matmul.values"])
@example(ab=(torch.ones(2, 1, 3, 4), torch.ones(5, 4, 2)))
@given(ab=broadcast_pairs)
def test_batched_matmul_broadcasts_batch_axes(student, ab):
    """batched_matmul broadcasts the batch axes (all but the last two) as torch.matmul does: they need not be equal."""
    a, b = ab
    expect_product(student.batched_matmul(a, b), a, b, "batched_matmul(a, b)")


@graded("batched_matmul_errors", rules=["batched_matmul.errors"])
@given(bs=matmul_shapes.filter(lambda bs: any(len(s) < 2 for s in bs.input_shapes)))
def test_batched_matmul_rejects_vectors(student, bs):
    """batched_matmul raises ValueError when an input has fewer than 2 dimensions."""
    a, b = bs.input_shapes
    raises_value_error(student, "batched_matmul", torch.ones(a), torch.ones(b),
                       what=f"batched_matmul of shapes {shapes_text(a, b)}")


@graded("batched_matmul_errors", rules=["batched_matmul.errors"])
@example(shapes=((2, 1), (3, 4)))
@given(shapes=st.tuples(matmul_shapes.filter(lambda bs: all(len(s) >= 2 for s in bs.input_shapes)),
                        st.integers(1, 5)).filter(lambda t: t[0].input_shapes[0][-1] != t[1])
       .map(lambda t: (t[0].input_shapes[0], t[0].input_shapes[1][:-2] + (t[1],) + t[0].input_shapes[1][-1:])))
def test_batched_matmul_rejects_mismatched_inner_sizes(student, shapes):
    """batched_matmul raises ValueError when a's last axis differs from b's second-to-last, even where broadcasting would run."""
    raises_value_error(student, "batched_matmul", torch.ones(shapes[0]), torch.ones(shapes[1]),
                       what=f"batched_matmul of shapes {shapes_text(*shapes)}")


@graded("batched_matmul_errors", rules=["batched_matmul.errors"])
@given(sizes=st.tuples(st.integers(2, 4), st.integers(2, 4)).filter(lambda xy: xy[0] != xy[1]),
       lead=st.sampled_from([(), (1,), (3,)]), nkp=st.tuples(sides, sides, sides))
def test_batched_matmul_rejects_incompatible_batches(student, sizes, lead, nkp):
    """batched_matmul raises ValueError when the batch axes cannot broadcast (sizes differ and neither is 1)."""
    n, k, p = nkp
    a, b = lead + (sizes[0], n, k), (sizes[1], k, p)
    raises_value_error(student, "batched_matmul", torch.ones(a), torch.ones(b),
                       what=f"batched_matmul of shapes {shapes_text(a, b)}")


# ---------------------------------------------------------------- Markov chain
START = torch.tensor([0.85, 0.10, 0.05, 0.0], dtype=torch.float64)
TRANSITION = torch.tensor([[0.90, 0.07, 0.02, 0.01],
                           [0.00, 0.93, 0.05, 0.02],
                           [0.00, 0.00, 0.85, 0.15],
                           [0.00, 0.00, 0.00, 1.00]], dtype=torch.float64)


def after_years(state, transition, years):
    """torch's answer: state times the years-th power of the transition matrix, in float64."""
    power = torch.linalg.matrix_power(transition.double(), years)
    return torch.matmul(state.double(), power).to(state.dtype)


def chain_rounding(state, years):
    """How far a correct chain may round, in epsilons of the dtype returned: probabilities
    summed n at a time, years times."""
    return 4 * (years + 1) * state.shape[0]


def expect_as_exact_as_returned(out, expected, what):
    """"Any floating result dtype, graded at the precision of the dtype you return": a float64
    result of float64 inputs is held to float64's precision (float32 arithmetic inside, cast back
    to float64, is not); any other floating result to its own dtype's tolerance."""
    out = expect_tensor(out, what)
    if out.dtype == torch.float64:
        expect_close(out, expected, what, rtol=1e-12, atol=1e-14)
    else:
        expect_close(out, expected, what)


@st.composite
def chains(draw):
    """(state, transition): a probability vector and a matrix whose rows are probability vectors."""
    n = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(FLOATS))
    weights = draw(hnp.arrays(np.int64, (n, n), elements=st.integers(0, 9)).filter(lambda w: (w.sum(1) > 0).all()))
    state = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 9)).filter(lambda w: w.sum() > 0))
    transition = torch.from_numpy(weights).to(dtype)
    state = torch.from_numpy(state).to(dtype)
    return state / state.sum(), transition / transition.sum(dim=1, keepdim=True)


@graded("markov_step_example", rules=["markov_step.values"])
@example(dtype=torch.float32)
@example(dtype=torch.float64)
@given(dtype=st.sampled_from(FLOATS))
def test_markov_step_worked_example(student, dtype):
    """markov_step of the notebook's worked example (85% / 10% / 5% / 0%) gives (0.765, 0.1525, 0.0645, 0.018) after one year."""
    state, transition = START.to(dtype), TRANSITION.to(dtype)
    expected = torch.tensor([0.765, 0.1525, 0.0645, 0.018], dtype=dtype)
    expect_close(student.markov_step(state, transition), expected, "markov_step(state, transition)")


@graded("markov_step_values", rules=["markov_step.values"])
@given(chain=chains())
def test_markov_step_weights_rows(student, chain):
    """markov_step gives new[j] = sum over i of state[i] * transition[i, j] (the state weights the rows, not the columns)."""
    state, transition = chain
    expect_close(student.markov_step(state, transition), after_years(state, transition, 1),
                 "markov_step(state, transition)", rounding_scale=chain_rounding(state, 1))


@graded("markov_step_values", rules=["markov_step.dtype"])
@given(chain=st.just((START, TRANSITION)))  # one chain, shown in the feedback when it fails
def test_markov_step_float64_precision(student, chain):
    """markov_step of float64 inputs is as exact as the dtype it returns: a float64 result to float64's precision (float32 arithmetic inside is not)."""
    state, transition = chain
    expect_as_exact_as_returned(student.markov_step(state, transition), after_years(state, transition, 1),
                                "markov_step(state, transition) of float64 inputs")


@graded("markov_step_values", rules=["markov_step.pure"])
@given(chain=chains())
def test_markov_step_leaves_inputs_unchanged(student, chain):
    """markov_step does not modify state or transition."""
    state, transition = chain
    leaves_inputs_unchanged(student, "markov_step", state, transition, names=["state", "transition"])


BAD_CHAIN_SHAPES = st.one_of(
    st.tuples(sides, sides).filter(lambda nm: nm[0] != nm[1]).map(lambda nm: ((nm[0],), (nm[0], nm[1]))),
    st.tuples(sides, sides).filter(lambda nm: nm[0] != nm[1]).map(lambda nm: ((nm[0],), (nm[1], nm[1]))),
    st.sampled_from([((1, 3), (3, 3)), ((3,), (3,)), ((2, 2), (2, 2))]))


def bad_chain(shapes):
    s, t = shapes
    return torch.ones(s) / max(1, s[-1]), torch.ones(t) / t[-1]


@graded("markov_step_shapes", rules=["markov_step.errors"])
@example(shapes=((3,), (3, 4)))
@example(shapes=((2,), (3, 3)))
@given(shapes=BAD_CHAIN_SHAPES)
def test_markov_step_rejects_bad_shapes(student, shapes):
    """markov_step raises ValueError unless transition is square (n, n) and state has shape (n,)."""
    s, t = shapes
    state, transition = bad_chain(shapes)
    raises_value_error(student, "markov_step", state, transition,
                       what=f"markov_step of a state of shape {tuple(s)} and a transition of shape {tuple(t)}")


@graded("markov_after_example", rules=["markov_after.values", "markov_after.dtype"])
@given(years=st.sampled_from([1, 2, 3, 5, 10, 30]), dtype=st.sampled_from(FLOATS))
def test_markov_after_worked_example(student, years, dtype):
    """markov_after of the notebook's worked example applies exactly `years` steps: 1 year is one step, 2 years two steps."""
    state, transition = START.to(dtype), TRANSITION.to(dtype)
    expect_close(student.markov_after(state, transition, years), after_years(state, transition, years),
                 f"markov_after(state, transition, {years})", rounding_scale=chain_rounding(state, years))


@graded("markov_after_years", rules=["markov_after.values"])
@given(chain=chains(), years=st.integers(0, 8))
def test_markov_after_is_a_matrix_power(student, chain, years):
    """markov_after(state, transition, years) equals state times the transition matrix to the power `years` (no step more, no step less)."""
    state, transition = chain
    expect_close(student.markov_after(state, transition, years), after_years(state, transition, years),
                 f"markov_after(state, transition, {years})", rounding_scale=chain_rounding(state, years))


@graded("markov_after_zero", rules=["markov_after.zero"])
@given(chain=chains())
def test_markov_after_zero_years_is_a_copy(student, chain):
    """markov_after(state, transition, 0) gives back state unchanged, as a new tensor (changing it must not change state)."""
    state, transition = chain
    expect_close(student.markov_after(state, transition, 0), state, "markov_after(state, transition, 0)")
    after = student.run(
        "out = markov_after(state, transition, 0)\n"
        "if isinstance(out, torch.Tensor) and out.shape == state.shape:\n"
        "    out.fill_(-1.0)\n"
        "result = state\n",
        state=state, transition=transition, label="markov_after")
    if not torch.equal(after, state):
        fail("markov_after(state, transition, 0) returned state itself (or a view of it): filling the result "
             f"with -1 changed state to {after}. Return a copy, e.g. state.clone().")


@graded("markov_after_zero", rules=["markov_after.pure"])
@example(chain=(START, TRANSITION), years=0)
@example(chain=(START, TRANSITION), years=3)
@given(chain=chains(), years=st.integers(0, 4))
def test_markov_after_leaves_inputs_unchanged(student, chain, years):
    """markov_after does not modify state or transition."""
    state, transition = chain
    leaves_inputs_unchanged(student, "markov_after", state, transition, years, names=["state", "transition"])


@graded("markov_after_years", rules=["markov_after.dtype"])
@example(years=30)
@given(years=st.sampled_from([1, 5, 30]))
def test_markov_after_float64_precision(student, years):
    """markov_after of float64 inputs is as exact as the dtype it returns: a float64 result to float64's precision (float32 arithmetic inside is not)."""
    state, transition = START, TRANSITION
    expect_as_exact_as_returned(student.markov_after(state, transition, years), after_years(state, transition, years),
                                f"markov_after(state, transition, {years}) of float64 inputs")


@graded("markov_after_errors", rules=["markov_after.errors"])
@example(shapes=((3,), (3, 4)), years=1)
@example(shapes=((2,), (3, 3)), years=2)
@given(shapes=BAD_CHAIN_SHAPES, years=st.integers(1, 3))
def test_markov_after_rejects_bad_shapes(student, shapes, years):
    """markov_after raises ValueError, as markov_step does, for a non-square transition or a state of the wrong shape (years of 1 or more)."""
    s, t = shapes
    state, transition = bad_chain(shapes)
    raises_value_error(student, "markov_after", state, transition, years,
                       what=f"markov_after of a state of shape {tuple(s)} and a transition of shape {tuple(t)}, "
                            f"{years} years")


# ---------------------------------------------------------------- shop_totals
QUANTITIES = [[6, 5, 3, 1], [3, 6, 2, 2], [3, 4, 3, 1]]
PRICES = [[1.5, 1], [2, 2.5], [5, 4.5], [16, 17]]
BILLS = [[50, 49], [58.5, 61], [43.5, 43.5]]


@graded("shop_totals_example", rules=["shop_totals.values"])
@example(dtype=torch.float32)
@example(dtype=torch.float64)
@given(dtype=st.sampled_from(FLOATS))
def test_shop_totals_worked_example(student, dtype):
    """shop_totals of the notebook's example gives the bills (50, 49), (58.5, 61), (43.5, 43.5), exactly."""
    quantities = torch.tensor(QUANTITIES, dtype=dtype)
    prices = torch.tensor(PRICES, dtype=dtype)
    expect_equal(student.shop_totals(quantities, prices), torch.tensor(BILLS, dtype=dtype),
                 "shop_totals(quantities, prices)")


@st.composite
def shops(draw):
    people, items, n_shops = draw(sides), draw(sides), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(FLOATS))
    quantities = draw(S.tensors((people, items), dtype, 0, 20)).round()
    prices = draw(S.tensors((items, n_shops), dtype, 0, 100))
    return quantities, prices


@graded("shop_totals_values", rules=["shop_totals.values"])
@given(qp=shops())
def test_shop_totals_is_quantities_times_prices(student, qp):
    """shop_totals gives bill[person, shop] = sum over items of quantities[person, item] * prices[item, shop], shaped (people, shops)."""
    quantities, prices = qp
    expect_product(student.shop_totals(quantities, prices), quantities, prices, "shop_totals(quantities, prices)")


SHOP64 = (torch.tensor(QUANTITIES, dtype=torch.float64),
          torch.tensor([[1.1, 0.95], [2.05, 2.45], [4.99, 4.55], [16.1, 17.3]], dtype=torch.float64))


@graded("shop_totals_values", rules=["shop_totals.dtype"])
@given(qp=st.just(SHOP64))  # one shop, shown in the feedback when it fails
def test_shop_totals_float64_precision(student, qp):
    """shop_totals of float64 inputs is as exact as the dtype it returns: a float64 result to float64's precision (float32 arithmetic inside is not)."""
    quantities, prices = qp
    expect_as_exact_as_returned(student.shop_totals(quantities, prices), torch.matmul(quantities, prices),
                                "shop_totals(quantities, prices) of float64 inputs")


@graded("shop_totals_values", rules=["shop_totals.pure"])
@given(qp=shops())
def test_shop_totals_leaves_inputs_unchanged(student, qp):
    """shop_totals does not modify quantities or prices."""
    quantities, prices = qp
    leaves_inputs_unchanged(student, "shop_totals", quantities, prices, names=["quantities", "prices"])


@graded("shop_totals_shapes", rules=["shop_totals.errors"])
@example(sizes=(3, 4, 3, 2))
@given(sizes=st.tuples(sides, sides, sides, sides).filter(lambda s: s[1] != s[2]))
def test_shop_totals_rejects_mismatched_items(student, sizes):
    """shop_totals raises ValueError when quantities and prices disagree on the number of items."""
    people, items_q, items_p, n_shops = sizes
    q, p = (people, items_q), (items_p, n_shops)
    raises_value_error(student, "shop_totals", torch.ones(q), torch.ones(p),
                       what=f"shop_totals of quantities {q} and prices {p}")
