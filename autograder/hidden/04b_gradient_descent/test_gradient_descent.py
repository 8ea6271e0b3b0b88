"""Hidden tests for 04b_gradient_descent: each test is one property the notebook states,
scoring the check cell it names, against torch references computed here:
``torch.optim.SGD`` for the step and the training loop, ``torch.optim.SGD(momentum=beta)``
and ``torch.optim.Adam`` run on the same parameters and gradients for several steps for
``momentum_step`` and ``adam_step`` (their own updates, through ``torch_optim``: bit for bit
theirs, without their import of ``torch._dynamo``), the central-difference formula evaluated on the same
functions for ``numeric_grad``, the stated formula in float64 for ``relative_error``.

``sgd_step`` changes tensors that require grad and carry a ``.grad``; such tensors
cannot be handed over as plain data, so the grader builds them in the student's
process (``student.run``) from plain values and reads back plain values: each
parameter's value, gradient, and whether it is still a leaf that requires grad.

``numeric_grad`` takes a function; the grader's functions are fixed source text,
evaluated in the student's process for the student's call and here for the
reference. Some are computed with numpy and return Python floats, which autograd
cannot follow, as the notebook says.

A property whose verdict hardly depends on the values drawn (a check that raises, inputs left
alone, a default, a shape, a dtype, whether ``f`` sees the whole tensor) is tried on fewer
examples (its ``@settings``) than one that compares values (the course's 20, or more): this
notebook's calls, each an autograd step or a training loop in the student's process, are the
course's dearest. Graded with the fewer, every mutant of our solution
(``python -m instructor.mutants``) failed the same tests as with 20 each. Where a mistake
shows only on some values (an entry that rounds when moved by eps and back, float32, a 2-d
pair of one shape), those values are pinned with ``@example``: always tried, whatever the draws.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume, example, given, settings, strategies as st

from autograder.testing import (TOLERANCES, S, expect_close, expect_raises, expect_tensor, expect_unchanged, fail,
                                graded, leaves_inputs_unchanged, not_allowed, raises_value_error, reference, show,
                                SourceFunction, torch_optim)

FLOATS = (torch.float32, torch.float64)
# The step and the training loop are written by hand, without torch's optimizers.
NOT_ALLOWED = ["torch.optim"]
forbidden_builtins = not_allowed(NOT_ALLOWED, only=["sgd_step", "fit_line", "momentum_step", "adam_step"])
LEARNING_RATES = [0.0, 0.01, 0.1, 0.25, 0.5, 1.0, 3.0]


class Parameters:
    """Parameter values and their gradients, with a description a failing example shows;
    ``per_step``: ``grads`` holds the gradients each step hands an optimiser, a list a step."""

    def __init__(self, values, grads, per_step=False):
        self.values, self.grads, self.per_step = values, grads, per_step

    def __repr__(self):
        their = "their gradients at each step" if self.per_step else "their gradients"
        return f"parameters {self.values}, {their} {self.grads}"


# ---------------------------------------------------------------- sgd_step
@st.composite
def parameter_sets(draw):
    """One to three parameters of one float dtype, of any shape (0-d included), with gradients."""
    dtype = draw(st.sampled_from(FLOATS))
    values, grads = [], []
    for _ in range(draw(st.integers(1, 3))):
        shape = tuple(draw(S.shapes(min_dims=0, max_dims=2, max_side=3)))
        values.append(draw(S.tensors(shape, dtype, -10, 10)))
        grads.append(draw(S.tensors(shape, dtype, -10, 10)))
    return Parameters(values, grads)


# Runs in the student's process: the parameters are made there, the step taken, and
# what the grader needs read back as plain data. ``held`` keeps the tensors the caller
# (a model) holds; ``params`` is the list handed to sgd_step, which it could rebind.
MAKE_PARAMETERS = '''
held = [value.clone().requires_grad_(True) for value in values]
for p, g in zip(held, grads):
    p.grad = g.clone()
params = list(held)
'''
READ_STATE = '''
def _state(p):
    if not isinstance(p, torch.Tensor):
        return {"type": type(p).__name__}
    return {"type": "Tensor", "value": p.detach().clone(), "leaf": bool(p.is_leaf),
            "requires_grad": bool(p.requires_grad), "graph": p.grad_fn is not None,
            "grad": None if not p.is_leaf or p.grad is None else p.grad.detach().clone()}
result = {"held": [_state(p) for p in held], "list": [_state(p) for p in params]}
'''
ONE_STEP = MAKE_PARAMETERS + "sgd_step(params, lr)\n" + READ_STATE
# A step, then a backward: the gradients must then be those of the new loss alone.
STEP_THEN_BACKWARD = MAKE_PARAMETERS + '''
sgd_step(params, lr)
trainable = [(p, c) for p, c in zip(held, coefficients) if p.requires_grad]
if trainable:
    sum((p * c).sum() for p, c in trainable).backward()
result = [(bool(p.requires_grad), None if p.grad is None else p.grad.detach().clone()) for p in held]
'''


def sgd_reference(values, grads, lr):
    """torch.optim.SGD's step from these values and gradients."""
    params = [v.clone().requires_grad_(True) for v in values]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch_optim.SGD(params, lr=lr).step()
    return [p.detach() for p in params]


def one_step(student, parameters, lr):
    return student.run(ONE_STEP, label="sgd_step",
                       values=parameters.values, grads=parameters.grads, lr=lr)


def states(state, which):
    if not isinstance(state, dict) or not isinstance(state.get(which), list):
        fail(f"the grader could not read the parameters back after sgd_step, got {show(state)}")
    return state[which]


@graded("sgd_step_update", rules=["sgd_step.update", "sgd_step.dtype"])
@given(parameters=parameter_sets(), lr=st.sampled_from(LEARNING_RATES))
def test_sgd_step_moves_each_parameter_against_its_gradient(student, parameters, lr):
    """sgd_step(params, lr) changes each parameter p, in place, to p - lr * p.grad, as torch.optim.SGD does, keeping its dtype and shape."""
    expected = sgd_reference(parameters.values, parameters.grads, lr)
    for index, (state, want) in enumerate(zip(states(one_step(student, parameters, lr), "held"), expected)):
        what = f"parameter {index} after sgd_step (the tensor the caller holds)"
        if state.get("type") != "Tensor":
            fail(f"{what} is no longer a tensor")
        value = state["value"]
        if value.dtype != want.dtype:
            fail(f"{what} should keep its dtype {want.dtype}, got {value.dtype}")
        expect_close(value, want, what)


@graded("sgd_step_zero_grad", rules=["sgd_step.zero_grad"])
@settings(max_examples=8)
@given(parameters=parameter_sets(), lr=st.sampled_from(LEARNING_RATES))
def test_sgd_step_zeroes_the_gradients(student, parameters, lr):
    """After sgd_step, every parameter's gradient is zero (or None)."""
    for index, state in enumerate(states(one_step(student, parameters, lr), "held")):
        grad = state.get("grad")
        if grad is not None and (not isinstance(grad, torch.Tensor) or bool((grad != 0).any())):
            fail(f"parameter {index}'s gradient after sgd_step should be zero (or None), got {show(grad)}")


@graded("sgd_step_zero_grad", rules=["sgd_step.zero_grad"])
@settings(max_examples=8)
@given(parameters=parameter_sets(), lr=st.sampled_from(LEARNING_RATES), data=st.data())
def test_sgd_step_next_backward_starts_afresh(student, parameters, lr, data):
    """After sgd_step, a backward() of a new loss, sum(p * c), leaves each parameter's gradient equal to c alone, not c plus the old gradient."""
    coefficients = [data.draw(S.tensors(tuple(v.shape), v.dtype, -5, 5), label=f"coefficients[{i}]")
                    for i, v in enumerate(parameters.values)]
    grads = student.run(STEP_THEN_BACKWARD, label="sgd_step", values=parameters.values,
                        grads=parameters.grads, lr=lr, coefficients=coefficients)
    if not isinstance(grads, list) or len(grads) != len(coefficients):
        fail(f"the grader could not read the gradients back, got {show(grads)}")
    for index, (reply, want) in enumerate(zip(grads, coefficients)):
        if not isinstance(reply, tuple) or len(reply) != 2:
            fail(f"the grader could not read parameter {index}'s gradient back, got {show(reply)}")
        trainable, grad = reply
        if not trainable:  # no longer requires grad: sgd_step_no_graph's property, not this one
            continue
        expect_close(grad, want, f"parameter {index}'s gradient after sgd_step and a backward() of sum(p * c)")


@graded("sgd_step_no_graph", rules=["sgd_step.no_graph"])
@settings(max_examples=8)
@given(parameters=parameter_sets(), lr=st.sampled_from(LEARNING_RATES))
def test_sgd_step_leaves_leaves_that_require_grad(student, parameters, lr):
    """sgd_step builds no graph: afterwards each parameter, in the caller's tensors and in the list passed, is still a leaf that requires grad, with no grad_fn."""
    state = one_step(student, parameters, lr)
    for which, where in (("held", "the tensor the caller holds"), ("list", "the list passed to sgd_step")):
        for index, p in enumerate(states(state, which)):
            what = f"parameter {index} after sgd_step ({where})"
            if p.get("type") != "Tensor":
                fail(f"{what} should still be a tensor, got a {p.get('type')}")
            if p.get("graph") or not p.get("leaf"):
                fail(f"{what} has a grad_fn: the update was recorded in the graph. "
                     f"Update in place under torch.no_grad().")
            if not p.get("requires_grad"):
                fail(f"{what} no longer requires grad, so the next backward() cannot reach it")


@graded("sgd_step_errors", rules=["sgd_step.errors"])
@settings(max_examples=5)
@given(parameters=parameter_sets(), lr=st.sampled_from([-0.1, -1.0, -1e-3]))
def test_sgd_step_rejects_negative_learning_rates(student, parameters, lr):
    """sgd_step raises ValueError when lr is negative."""
    with expect_raises(ValueError, f"sgd_step with lr = {lr}"):
        one_step(student, parameters, lr)


@graded("sgd_step_errors", rules=["sgd_step.errors"])
@settings(max_examples=5)
@given(parameters=parameter_sets(), data=st.data())
def test_sgd_step_rejects_parameters_without_gradient(student, parameters, data):
    """sgd_step raises ValueError when a parameter has no gradient (p.grad is None: backward() was not called)."""
    missing = data.draw(st.integers(0, len(parameters.values) - 1), label="parameter without a gradient")
    code = MAKE_PARAMETERS + "held[missing].grad = None\nsgd_step(params, 0.1)\n"
    with expect_raises(ValueError, f"sgd_step when parameter {missing} has no gradient"):
        student.run(code, label="sgd_step", values=parameters.values,
                    grads=parameters.grads, missing=missing)


# ---------------------------------------------------------------- fit_line
class LineProblem:
    def __init__(self, x, y, lr, steps):
        self.x, self.y, self.lr, self.steps = x, y, lr, steps

    def __repr__(self):
        return f"x = {self.x}, y = {self.y}, lr = {self.lr}, steps = {self.steps}"


@st.composite
def line_problems(draw):
    """Data and a learning rate that converges: lr * (largest curvature) stays below 2."""
    n = draw(st.integers(1, 8))
    dtype = draw(st.sampled_from(FLOATS))
    x = draw(S.tensors((n,), dtype, -3, 3))
    y = draw(S.tensors((n,), dtype, -10, 10))
    # The curvature's largest eigenvalue is at most its trace, 2 (mean x² + 1).
    lr = round(draw(st.sampled_from([0.05, 0.2, 0.5, 0.9])) / (1 + float((x.double() ** 2).mean())), 4)
    # Up to 12 steps: every mistake of the loop (its order, its lr, its gradient) shows from the
    # first step or two; a long run is FLOAT64_PROBLEM's (40 steps), and fit_line was a third of
    # the worker's CPU with 25.
    return LineProblem(x, y, lr, draw(st.integers(0, 12)))


# "With steps = 0 you get (0.0, 0.0, [])": always tried.
NO_STEPS = LineProblem(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 5.0]), 0.1, 0)


@reference  # the same problems for every notebook a grading process replays
def fit_reference(x, y, lr, steps):
    """torch.optim.SGD on F.mse_loss from a = b = 0; the losses before each step."""
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    optimizer = torch_optim.SGD([a, b], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(a * x + b, y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return a.item(), b.item(), losses


def fit_tolerance(problem):
    """Float rounding differs between correct loops (autograd or a hand-derived gradient,
    another order of sums) by a few units of the dtype, carried through the steps."""
    rtol, _ = TOLERANCES[problem.x.dtype]
    scale = 1 + float(problem.y.abs().max()) ** 2
    return 10 * rtol, 10 * rtol * scale


def as_number(value, what):
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        number = float(value.detach())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        fail(f"{what} should be a Python float, got {type(value).__name__}: {show(value)}")
    if not math.isfinite(number):
        fail(f"{what} should be a finite number, got {number}")
    return number


def python_float(value, what):
    """The notebook says "Python floats (`.item()`)": a tensor, even of one element, is not one."""
    if not isinstance(value, float):
        fail(f"{what} should be a Python float (`.item()` gives one), got {type(value).__name__}: {show(value)}")
    if not math.isfinite(value):
        fail(f"{what} should be a finite number, got {value}")
    return value


def fit_result(value):
    """(a, b, losses): two Python floats and a list of them, as the notebook states."""
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        fail(f"fit_line should return (a, b, losses), got {show(value)}")
    a, b, losses = value
    if not isinstance(losses, list):
        fail(f"losses should be a list of Python floats, got {type(losses).__name__}: {show(losses)}")
    return (python_float(a, "a"), python_float(b, "b"),
            [python_float(v, f"losses[{k}]") for k, v in enumerate(losses)])


@graded("fit_line_values", rules=["fit_line.descent", "fit_line.floats"])
@example(problem=NO_STEPS)
@given(problem=line_problems())
def test_fit_line_takes_steps_of_gradient_descent(student, problem):
    """fit_line(x, y, lr, steps) returns the a and b that `steps` steps of gradient descent on the MSE reach from a = b = 0, as torch.optim.SGD gives."""
    a, b, _ = fit_result(student.fit_line(problem.x, problem.y, problem.lr, problem.steps))
    want_a, want_b, _ = fit_reference(problem.x, problem.y, problem.lr, problem.steps)
    rtol, atol = fit_tolerance(problem)
    expect_close(torch.tensor([a, b], dtype=torch.float64), torch.tensor([want_a, want_b], dtype=torch.float64),
                 "(a, b) returned by fit_line", rtol=rtol, atol=atol)


_X64 = torch.linspace(-1, 1, 11, dtype=torch.float64) + 1 / 3
FLOAT64_PROBLEM = LineProblem(_X64, 3 * _X64 + 1 + torch.sin(7 * _X64) / 10, 0.3, 40)


@graded("fit_line_values", rules=["fit_line.dtype"])
@given(problem=st.just(FLOAT64_PROBLEM))  # one problem, shown in the feedback when it fails
def test_fit_line_computes_in_x_dtype(student, problem):
    """fit_line computes in x's dtype: on float64 data, a and b are as exact as float64 makes them (float32 arithmetic inside is not)."""
    dtype = torch.float64
    x, y = problem.x, problem.y
    a, b, losses = fit_result(student.fit_line(x, y, problem.lr, problem.steps))
    want_a, want_b, want_losses = fit_reference(x, y, problem.lr, problem.steps)
    # Correct float64 loops differ by a few units of 1e-16 per step; float32 inside, by about 1e-7.
    expect_close(torch.tensor([a, b], dtype=dtype), torch.tensor([want_a, want_b], dtype=dtype),
                 "(a, b) returned by fit_line on float64 data", rtol=1e-10, atol=1e-10)


@graded("fit_line_losses", rules=["fit_line.losses", "fit_line.floats"])
@example(problem=NO_STEPS)
@given(problem=line_problems())
def test_fit_line_records_the_loss_before_each_step(student, problem):
    """fit_line's losses hold `steps` numbers: losses[k] is the MSE at the start of step k, before its update."""
    _, _, losses = fit_result(student.fit_line(problem.x, problem.y, problem.lr, problem.steps))
    _, _, expected = fit_reference(problem.x, problem.y, problem.lr, problem.steps)
    if len(losses) != len(expected):
        fail(f"losses should hold one loss per step ({len(expected)}), got {len(losses)}: {losses}")
    if expected:
        rtol, atol = fit_tolerance(problem)
        expect_close(torch.tensor(losses, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                     "losses returned by fit_line", rtol=rtol, atol=atol)


sides = st.integers(1, 5)


@graded("fit_line_errors", rules=["fit_line.errors"])
@settings(max_examples=10)
@example(shapes=((3,), (4,)), steps=5)
@example(shapes=((0,), (0,)), steps=3)  # "their lengths differ or are 0": the empty case is always tried
@example(shapes=((), ()), steps=3)
@example(shapes=((2, 3), (2, 3)), steps=3)  # "1-d": one shape is not enough
@given(shapes=st.one_of(
    st.tuples(sides, sides).filter(lambda nm: nm[0] != nm[1]).map(lambda nm: ((nm[0],), (nm[1],))),
    st.sampled_from([((3, 1), (3,)), ((3,), (3, 1)), ((2, 3), (2, 3)), ((), ()), ((0,), (0,))])),
    steps=st.integers(0, 5))
def test_fit_line_rejects_bad_shapes(student, shapes, steps):
    """fit_line raises ValueError unless x and y are 1-d, of one length, and not empty."""
    raises_value_error(student, "fit_line", torch.ones(shapes[0]), torch.ones(shapes[1]), 0.1, steps,
                       what=f"fit_line with x of shape {shapes[0]} and y of shape {shapes[1]}")


@graded("fit_line_errors", rules=["fit_line.errors"])
@settings(max_examples=5)
@given(n=sides, steps=st.integers(-5, -1))
def test_fit_line_rejects_negative_steps(student, n, steps):
    """fit_line raises ValueError when steps is negative."""
    raises_value_error(student, "fit_line", torch.ones(n), torch.ones(n), 0.1, steps,
                       what=f"fit_line with steps = {steps}")


@graded("fit_line_pure", rules=["fit_line.pure"])
@settings(max_examples=8)
@given(problem=line_problems())
def test_fit_line_leaves_inputs_unchanged(student, problem):
    """fit_line does not modify x or y."""
    leaves_inputs_unchanged(student, "fit_line", problem.x, problem.y, problem.lr, problem.steps, names=["x", "y"])


# ---------------------------------------------------------------- numeric_grad
FUNCTIONS = [
    SourceFunction("lambda t: (t ** 3).sum()"),
    # weights by position: a gradient with its entries in the wrong places is caught
    SourceFunction("lambda t: (t ** 2 * torch.arange(1, t.numel() + 1, dtype=t.dtype).reshape(t.shape)).sum()"),
    # numpy, a Python float: autograd cannot follow it
    SourceFunction("lambda t: float(np.sin(t.numpy()).sum())"),
    # entries that interact: only one entry may move at a time
    SourceFunction("lambda t: t.reshape(-1)[0] * t.sum() + torch.exp(t / 4).sum()"),
]
EPSILONS = [1e-3, 1e-2, 0.1, 0.5, 1.0]


def central_differences(f, x, eps):
    """(f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for each entry i, in x's dtype."""
    grad = torch.zeros_like(x)
    largest = 0.0
    for i in range(x.numel()):
        step = torch.zeros_like(x)
        step.view(-1)[i] = eps
        up, down = float(f(x + step)), float(f(x - step))
        largest = max(largest, abs(up), abs(down))
        grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad, largest


def numeric_tolerance(x, eps, largest):
    """The reference's own rounding: f's values are exact to a few units of the dtype, and
    dividing their difference by 2 eps magnifies that error by 1 / eps."""
    rtol, atol = TOLERANCES[x.dtype]
    return rtol, atol + 8 * largest * torch.finfo(x.dtype).eps / eps


def numeric_grad_in_worker(student, f, x, eps=None):
    """numeric_grad(f, x[, eps]) in the student's process; returns (gradient, x after the call)."""
    call = "numeric_grad(f, x)" if eps is None else "numeric_grad(f, x, eps)"
    return student.run(f"f = {f.source}\nresult = ({call}, x)", label="numeric_grad", x=x, eps=eps)


def entries_like(got, x):
    """The gradient's entries in x's shape: its shape and dtype are numeric_grad.shape_dtype's
    rule, graded by its own property, so a value property does not fail on them too."""
    if isinstance(got, torch.Tensor) and got.numel() == x.numel() and got.is_floating_point():
        return got.reshape(x.shape)
    return got


@graded("numeric_grad_values", rules=["numeric_grad.central_difference", "numeric_grad.no_autograd"])
@given(f=st.sampled_from(FUNCTIONS), eps=st.sampled_from(EPSILONS),
       x=S.float_tensors(min_dims=1, max_dims=2, max_side=4, dtype=torch.float64, min_value=-3, max_value=3))
def test_numeric_grad_is_the_central_difference(student, f, eps, x):
    """numeric_grad(f, x, eps) gives (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for each entry i of x, one entry moved at a time, for any eps (a one-sided difference, or autograd's exact gradient, differs)."""
    expected, largest = central_differences(f, x, eps)
    got, _ = numeric_grad_in_worker(student, f, x, eps)
    got = entries_like(got, x)
    rtol, atol = numeric_tolerance(x, eps, largest)
    expect_close(got, expected, f"numeric_grad(f, x, eps={eps})", rtol=rtol, atol=atol)


# Its value depends on t's whole shape: a flattened copy, trailing axes merged (a matrix of rows),
# or an axis added or dropped (a 0-d x made (1,), a vector made a column) gives another.
SHAPED = SourceFunction("lambda t: (t.sum(dim=0) ** 2).sum() + (t.sum(dim=-1) ** 2).sum() + t.dim() * t.sum()")


@graded("numeric_grad_values", rules=["numeric_grad.whole_tensor"])
@settings(max_examples=10)
@example(x=torch.tensor([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]], dtype=torch.float64))
@example(x=torch.tensor([[[0.5], [-1.5]]], dtype=torch.float64))
@example(x=torch.tensor([[[1.0, -0.5], [2.0, 0.25]], [[-1.0, 0.5], [0.75, 3.0]]], dtype=torch.float64))
@example(x=torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
@example(x=torch.tensor(1.5, dtype=torch.float64))  # "0-d included"
@given(x=S.float_tensors(min_dims=0, max_dims=3, max_side=3, dtype=torch.float64, min_value=-3, max_value=3))
def test_numeric_grad_calls_f_with_the_whole_tensor(student, x):
    """numeric_grad calls f with the whole tensor, shaped like x (f may depend on the shape: a flattened copy gives another value)."""
    expected, largest = central_differences(SHAPED, x, 1e-2)
    got = entries_like(numeric_grad_in_worker(student, SHAPED, x, 1e-2)[0], x)
    rtol, atol = numeric_tolerance(x, 1e-2, largest)
    expect_close(got, expected, f"numeric_grad(f, x, eps=0.01) with f = {SHAPED}", rtol=rtol, atol=atol)


@graded("numeric_grad_values", rules=["numeric_grad.central_difference"])
@settings(max_examples=10)
# float32 too: at 0, f = sum(t³) gives the central difference eps² exactly enough to tell eps
# apart in float32 (a default that depends on the dtype breaks the rule)
@example(f=FUNCTIONS[0], x=torch.zeros(3))
@given(f=st.sampled_from(FUNCTIONS),
       x=S.float_tensors(min_dims=1, max_dims=2, max_side=4, dtype=torch.float64, min_value=-3, max_value=3))
def test_numeric_grad_default_eps(student, f, x):
    """numeric_grad(f, x) without eps uses eps = 1e-3."""
    expected, largest = central_differences(f, x, 1e-3)
    got = entries_like(numeric_grad_in_worker(student, f, x)[0], x)
    rtol, atol = numeric_tolerance(x, 1e-3, largest)
    expect_close(got, expected, "numeric_grad(f, x)", rtol=rtol, atol=atol)


@graded("numeric_grad_shape", rules=["numeric_grad.shape_dtype"])
@settings(max_examples=10)
@given(f=st.sampled_from(FUNCTIONS), eps=st.sampled_from([1e-2, 0.1, 0.5]),
       x=S.float_tensors(min_dims=0, max_dims=3, max_side=3, min_value=-2, max_value=2))
def test_numeric_grad_is_shaped_like_x(student, f, eps, x):
    """numeric_grad returns a tensor of x's shape (any rank, 0-d included) and x's dtype, float32 as well as float64."""
    got, _ = numeric_grad_in_worker(student, f, x, eps)
    got = expect_tensor(got, f"numeric_grad(f, x, eps={eps})")
    if tuple(got.shape) != tuple(x.shape) or got.dtype != x.dtype:
        fail(f"numeric_grad(f, x, eps={eps}) should have x's shape {tuple(x.shape)} and dtype {x.dtype}, "
             f"got shape {tuple(got.shape)} and dtype {got.dtype}")


@graded("numeric_grad_errors", rules=["numeric_grad.errors"])
@settings(max_examples=5)
@given(eps=st.sampled_from([0.0, -1e-3, -1.0]), x=S.float_tensors(max_dims=2, max_side=3))
def test_numeric_grad_rejects_non_positive_eps(student, eps, x):
    """numeric_grad raises ValueError when eps is zero or negative."""
    with expect_raises(ValueError, f"numeric_grad with eps = {eps}"):
        numeric_grad_in_worker(student, FUNCTIONS[0], x, eps)


@graded("numeric_grad_errors", rules=["numeric_grad.errors"])
@settings(max_examples=8)
@given(x=S.tensors(S.shapes(max_dims=2, max_side=3), st.sampled_from([torch.int64, torch.int32]), -5, 5))
def test_numeric_grad_rejects_integer_x(student, x):
    """numeric_grad raises ValueError when x is not a floating-point tensor."""
    with expect_raises(ValueError, f"numeric_grad of an {x.dtype} x"):
        numeric_grad_in_worker(student, FUNCTIONS[0], x, 1e-3)


@graded("numeric_grad_pure", rules=["numeric_grad.pure"])
@settings(max_examples=10)
# Moving an entry and back by 0.5 changes 0.793 and 0.016 in float64 (not every entry rounds):
# an x.double() that is x itself, moved in place, is caught whatever the draws
@example(f=FUNCTIONS[0], eps=0.5, x=torch.tensor([0.793, 0.016], dtype=torch.float64))
@given(f=st.sampled_from(FUNCTIONS), eps=st.sampled_from(EPSILONS),
       x=S.float_tensors(min_dims=1, max_dims=2, max_side=4, min_value=-3, max_value=3))
def test_numeric_grad_leaves_x_unchanged(student, f, eps, x):
    """numeric_grad does not modify x, not even by rounding (moving an entry of x and back is not exact)."""
    _, x_after = numeric_grad_in_worker(student, f, x, eps)
    expect_unchanged(x, x_after, "x")


# ---------------------------------------------------------------- relative_error
class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __repr__(self):
        return f"a = {self.a}, b = {self.b}"


RELATIVE_FLOOR = 1e-12


def relative_reference(a, b):
    """max over entries of |a - b| / max(|a|, |b|, 1e-12), in float64; 0.0 when empty."""
    a, b = a.double(), b.double()
    if a.numel() == 0:
        return 0.0
    scale = torch.maximum(a.abs(), b.abs()).clamp(min=RELATIVE_FLOOR)
    return float(((a - b).abs() / scale).max())


@st.composite
def float_pairs(draw):
    """Two float tensors of one shape (0-d included), of either float dtype each; b is often a
    near copy of a (a small relative error, as a gradient check gives), sometimes anything."""
    shape = tuple(draw(S.shapes(min_dims=0, max_dims=2, max_side=4)))
    a = draw(S.tensors(shape, draw(st.sampled_from(FLOATS)), -10, 10))
    b_dtype = draw(st.sampled_from(FLOATS))
    if draw(st.booleans()):
        b = draw(S.tensors(shape, b_dtype, -10, 10))
    else:
        wiggle = draw(S.tensors(shape, torch.float64, -1, 1))
        b = (a.double() * (1 + wiggle * draw(st.sampled_from([1e-2, 1e-4, 1e-7])))).to(b_dtype)
    return Pair(a, b)


def relative_result(value, what):
    if not isinstance(value, float):
        fail(f"{what} should be a Python float (`.item()` gives one), got {type(value).__name__}: {show(value)}")
    return value


def expect_relative(student, pair, what):
    got = relative_result(student.relative_error(pair.a, pair.b), what)
    want = relative_reference(pair.a, pair.b)
    expect_close(torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64), what,
                 rtol=1e-5, atol=1e-12)


@graded("relative_error_values", rules=["relative_error.values"])
@example(pair=Pair(torch.tensor([0.0, 3.0]), torch.tensor([0.0, 3.0])))          # two zeros agree
@example(pair=Pair(torch.tensor([0.0, 1.0]), torch.tensor([5e-3, 1.0])))          # a zero against a non-zero: 1
@example(pair=Pair(torch.tensor([1e-13]), torch.tensor([0.0])))                    # below the floor: / 1e-12
@example(pair=Pair(torch.zeros(0), torch.zeros(0)))                                # empty: 0.0
@example(pair=Pair(torch.tensor(2.0), torch.tensor(-2.0)))                         # 0-d
@example(pair=Pair(torch.tensor([1.0, 2.0, -4.0]), torch.tensor([1.1, 2.0, -4.0])))
@given(pair=float_pairs())
def test_relative_error_is_the_worst_entrys(student, pair):
    """relative_error(a, b) returns, as a Python float, the largest |a_i - b_i| / max(|a_i|, |b_i|, 1e-12) over the entries (two zeros agree, empty tensors give 0.0)."""
    expect_relative(student, pair, "relative_error(a, b)")


@graded("relative_error_dtype", rules=["relative_error.dtype"])
@settings(max_examples=10)
@example(pair=Pair(torch.tensor([2]), torch.tensor([2.5], dtype=torch.float64)))   # converting b to a's dtype gives 0
@example(pair=Pair(torch.tensor([2.5]), torch.tensor([2])))
@example(pair=Pair(torch.tensor([1, 2]), torch.tensor([1, 3])))
@given(pair=st.tuples(S.shapes(min_dims=0, max_dims=2, max_side=4),
                      st.sampled_from([(torch.int64, torch.int64), (torch.int32, torch.float32),
                                       (torch.int64, torch.float64), (torch.float32, torch.int64)])).flatmap(
    lambda sd: st.tuples(S.tensors(tuple(sd[0]), sd[1][0], -20, 20), S.tensors(tuple(sd[0]), sd[1][1], -20, 20)))
    .map(lambda ab: Pair(*ab)))
def test_relative_error_compares_values_whatever_the_dtypes(student, pair):
    """relative_error gives for integer tensors, and tensors of two dtypes, what it gives for the same values in float64."""
    what = f"relative_error(a, b) with a of {pair.a.dtype} and b of {pair.b.dtype}"
    got = as_number(student.relative_error(pair.a, pair.b), what)
    same = as_number(student.relative_error(pair.a.double(), pair.b.double()), "relative_error(a.double(), b.double())")
    expect_close(torch.tensor(got, dtype=torch.float64), torch.tensor(same, dtype=torch.float64),
                 f"{what} (against relative_error(a.double(), b.double()) = {same})", rtol=1e-5, atol=1e-12)


@graded("relative_error_errors", rules=["relative_error.errors"])
@settings(max_examples=10)
@example(shapes=((3,), (4,)))
@example(shapes=((1,), ()))
@example(shapes=((2, 3), (3,)))
@given(shapes=st.tuples(S.shapes(min_dims=0, max_dims=2, max_side=4), S.shapes(min_dims=0, max_dims=2, max_side=4))
       .filter(lambda ab: tuple(ab[0]) != tuple(ab[1])))
def test_relative_error_rejects_different_shapes(student, shapes):
    """relative_error raises ValueError when a and b differ in shape, broadcastable or not."""
    raises_value_error(student, "relative_error", torch.ones(shapes[0]), torch.ones(shapes[1]),
                       what=f"relative_error with a of shape {tuple(shapes[0])} and b of shape {tuple(shapes[1])}")


@graded("relative_error_pure", rules=["relative_error.pure"])
@settings(max_examples=10)
@given(pair=float_pairs())
def test_relative_error_leaves_inputs_unchanged(student, pair):
    """relative_error does not modify a or b."""
    leaves_inputs_unchanged(student, "relative_error", pair.a, pair.b, names=["a", "b"])


# ---------------------------------------------------------------- momentum_step and adam_step
@st.composite
def step_sequences(draw, max_steps=4):
    """One to three parameters of one float dtype (0-d included), and one to max_steps steps' gradients."""
    dtype = draw(st.sampled_from(FLOATS))
    shapes = [tuple(draw(S.shapes(min_dims=0, max_dims=2, max_side=3))) for _ in range(draw(st.integers(1, 3)))]
    values = [draw(S.tensors(shape, dtype, -10, 10)) for shape in shapes]
    grads = [[draw(S.tensors(shape, dtype, -10, 10)) for shape in shapes]
             for _ in range(draw(st.integers(1, max_steps)))]
    return Parameters(values, grads, per_step=True)


def tiny_gradients(steps):
    """The same steps with every gradient times 1e-8: as small as Adam's default eps."""
    return Parameters(steps.values, [[g * 1e-8 for g in step] for step in steps.grads], per_step=True)


def one_step_of(steps):
    return Parameters(steps.values, steps.grads[:1], per_step=True)


# Runs in the student's process: the parameters, and the optimiser's state as the notebook
# says the caller makes it, then each step's gradients put in .grad and the step taken.
OPTIMISER_SETUP = '''
held = [value.clone().requires_grad_(True) for value in values]
params = list(held)
velocities = [torch.zeros_like(value) for value in values]
state = {"step": 0, "m": [torch.zeros_like(value) for value in values],
         "v": [torch.zeros_like(value) for value in values]}
'''
TAKE_STEPS = OPTIMISER_SETUP + '''
for step_grads in grads:
    for p, g in zip(held, step_grads):
        p.grad = g.clone().to(p.dtype)   # as backward() would give it, in the parameter's dtype
    STEP
''' + READ_STATE + '''
def _plain(t):
    return t.detach().clone() if isinstance(t, torch.Tensor) else {"type": type(t).__name__}
def _list(ts):
    return [_plain(t) for t in ts] if isinstance(ts, (list, tuple)) else {"type": type(ts).__name__}
step_count = state.get("step") if isinstance(state, dict) else None
result["velocities"] = _list(velocities)
result["m"] = _list(state.get("m")) if isinstance(state, dict) else None
result["v"] = _list(state.get("v")) if isinstance(state, dict) else None
result["step"] = (float(step_count) if isinstance(step_count, (int, float, torch.Tensor))
                  and not isinstance(step_count, bool) and getattr(step_count, "numel", lambda: 1)() == 1 else repr(step_count))
'''
STEP_THEN_NEW_BACKWARD = OPTIMISER_SETUP + '''
for p, g in zip(held, grads[0]):
    p.grad = g.clone()
STEP
trainable = [(p, c) for p, c in zip(held, coefficients) if p.requires_grad]
if trainable:
    sum((p * c).sum() for p, c in trainable).backward()
result = [(bool(p.requires_grad), None if p.grad is None else p.grad.detach().clone()) for p in held]
'''
MOMENTUM_CALL = "momentum_step(params, velocities, lr, beta)"
ADAM_CALL = "adam_step(params, state, lr, betas, eps)"


def take_steps(student, function, call, steps, **hyper):
    return student.run(TAKE_STEPS.replace("STEP", call), label=function,
                       values=steps.values, grads=steps.grads, **hyper)


def optim_reference(make, steps):
    """torch.optim's optimiser from make(params), stepped with each step's gradients."""
    params = [v.clone().requires_grad_(True) for v in steps.values]
    optimizer = make(params)
    for step_grads in steps.grads:
        for p, g in zip(params, step_grads):
            p.grad = g.clone()
        optimizer.step()
        optimizer.zero_grad()
    return params, optimizer


def tensor_list(reply, which, count, what):
    if not isinstance(reply, dict) or not isinstance(reply.get(which), list) or len(reply[which]) != count:
        got = reply.get(which) if isinstance(reply, dict) else reply
        fail(f"{what} should be a list of {count} tensors after the steps, got {show(got)}")
    for index, item in enumerate(reply[which]):
        if not isinstance(item, torch.Tensor):
            fail(f"{what}[{index}] should be a tensor after the steps, got a {item.get('type')}")
    return reply[which]


def expect_parameters(reply, params, function, count):
    for index, (state, want) in enumerate(zip(states(reply, "held"), params)):
        what = f"parameter {index} after {count} {function} call{'s' if count > 1 else ''} (the tensor the caller holds)"
        if state.get("type") != "Tensor":
            fail(f"{what} is no longer a tensor")
        value = state["value"]
        if value.dtype != want.dtype:
            fail(f"{what} should keep its dtype {want.dtype}, got {value.dtype}")
        expect_close(value, want.detach(), what)


def expect_state_tensors(got, want, what):
    for index, (g, w) in enumerate(zip(got, want)):
        if g.dtype != w.dtype:
            fail(f"{what}[{index}] should keep its dtype {w.dtype}, got {g.dtype}")
        expect_close(g, w, f"{what}[{index}]")


def expect_zeroed(reply, function):
    for index, state in enumerate(states(reply, "held")):
        grad = state.get("grad")
        if grad is not None and (not isinstance(grad, torch.Tensor) or bool((grad != 0).any())):
            fail(f"parameter {index}'s gradient after {function} should be zero (or None), got {show(grad)}")


def expect_fresh_backward(student, function, call, steps, data, **hyper):
    coefficients = [data.draw(S.tensors(tuple(v.shape), v.dtype, -5, 5), label=f"coefficients[{i}]")
                    for i, v in enumerate(steps.values)]
    grads = student.run(STEP_THEN_NEW_BACKWARD.replace("STEP", call), label=function, values=steps.values,
                        grads=steps.grads[:1], coefficients=coefficients, **hyper)
    if not isinstance(grads, list) or len(grads) != len(coefficients):
        fail(f"the grader could not read the gradients back, got {show(grads)}")
    for index, (reply, want) in enumerate(zip(grads, coefficients)):
        if not isinstance(reply, tuple) or len(reply) != 2:
            fail(f"the grader could not read parameter {index}'s gradient back, got {show(reply)}")
        trainable, grad = reply
        if not trainable:  # no longer requires grad: the no_graph property's, not this one
            continue
        expect_close(grad, want, f"parameter {index}'s gradient after {function} and a backward() of sum(p * c)")


def expect_leaves(reply, function):
    for which, where in (("held", "the tensor the caller holds"), ("list", f"the list passed to {function}")):
        for index, p in enumerate(states(reply, which)):
            what = f"parameter {index} after {function} ({where})"
            if p.get("type") != "Tensor":
                fail(f"{what} should still be a tensor, got a {p.get('type')}")
            if p.get("graph") or not p.get("leaf"):
                fail(f"{what} has a grad_fn: the update was recorded in the graph. "
                     f"Update in place under torch.no_grad().")
            if not p.get("requires_grad"):
                fail(f"{what} no longer requires grad, so the next backward() cannot reach it")


MOMENTUM_LRS = [0.0, 0.01, 0.1, 0.5, 1.0]
BETAS = [0.0, 0.5, 0.9, 0.99]


@graded("momentum_step_update", rules=["momentum_step.update", "momentum_step.dtype"])
@settings(max_examples=25)
@given(steps=step_sequences(), lr=st.sampled_from(MOMENTUM_LRS), beta=st.sampled_from(BETAS))
def test_momentum_step_matches_torch_sgd_with_momentum(student, steps, lr, beta):
    """After k calls of momentum_step (velocities starting at zero), each parameter and each velocity in the list are those torch.optim.SGD(params, lr, momentum=beta) reaches (its momentum buffers), in the parameter's dtype and shape."""
    reply = take_steps(student, "momentum_step", MOMENTUM_CALL, steps, lr=lr, beta=beta)
    expect_sgd_with_momentum(reply, steps, lr, beta)


def expect_sgd_with_momentum(reply, steps, lr, beta):
    params, optimizer = optim_reference(lambda ps: torch_optim.SGD(ps, lr=lr, momentum=beta), steps)
    count = len(steps.grads)
    expect_parameters(reply, params, "momentum_step", count)
    velocities = tensor_list(reply, "velocities", len(params), "velocities")
    # with momentum 0 torch keeps no buffer: the velocity is then the last gradient, 0 * v + g
    buffers = [optimizer.state[p].get("momentum_buffer", g) for p, g in zip(params, steps.grads[-1])]
    expect_state_tensors(velocities, buffers,
                         f"velocities after {count} momentum_step call{'s' if count > 1 else ''}: velocities")


@graded("momentum_step_update", rules=["momentum_step.signature", "momentum_step.update", "momentum_step.dtype"])
@settings(max_examples=6)
@given(steps=step_sequences(), lr=st.sampled_from(MOMENTUM_LRS))
def test_momentum_step_beta_defaults_to_0_9(student, steps, lr):
    """momentum_step(params, velocities, lr), with beta left out, steps as with beta=0.9: each parameter and velocity are those torch.optim.SGD(params, lr, momentum=0.9) reaches."""
    reply = take_steps(student, "momentum_step", "momentum_step(params, velocities, lr)", steps, lr=lr)
    expect_sgd_with_momentum(reply, steps, lr, 0.9)


@graded("momentum_step_zero_grad", rules=["momentum_step.zero_grad"])
@settings(max_examples=8)
@given(steps=step_sequences(max_steps=1), lr=st.sampled_from(MOMENTUM_LRS), beta=st.sampled_from(BETAS))
def test_momentum_step_zeroes_the_gradients(student, steps, lr, beta):
    """After momentum_step, every parameter's gradient is zero (or None)."""
    expect_zeroed(take_steps(student, "momentum_step", MOMENTUM_CALL, steps, lr=lr, beta=beta), "momentum_step")


@graded("momentum_step_zero_grad", rules=["momentum_step.zero_grad"])
@settings(max_examples=8)
@given(steps=step_sequences(max_steps=1), lr=st.sampled_from(MOMENTUM_LRS), beta=st.sampled_from(BETAS),
       data=st.data())
def test_momentum_step_next_backward_starts_afresh(student, steps, lr, beta, data):
    """After momentum_step, a backward() of a new loss, sum(p * c), leaves each parameter's gradient equal to c alone."""
    expect_fresh_backward(student, "momentum_step", MOMENTUM_CALL, steps, data, lr=lr, beta=beta)


@graded("momentum_step_no_graph", rules=["momentum_step.no_graph"])
@settings(max_examples=8)
@given(steps=step_sequences(max_steps=1), lr=st.sampled_from(MOMENTUM_LRS), beta=st.sampled_from(BETAS))
def test_momentum_step_leaves_leaves_that_require_grad(student, steps, lr, beta):
    """momentum_step builds no graph: afterwards each parameter, in the caller's tensors and in the list passed, is still a leaf that requires grad, with no grad_fn."""
    expect_leaves(take_steps(student, "momentum_step", MOMENTUM_CALL, steps, lr=lr, beta=beta), "momentum_step")


@graded("momentum_step_errors", rules=["momentum_step.errors"])
@settings(max_examples=5)
@given(steps=step_sequences(max_steps=1), lr=st.sampled_from([-0.1, -1.0, -1e-3]))
def test_momentum_step_rejects_negative_learning_rates(student, steps, lr):
    """momentum_step raises ValueError when lr is negative."""
    with expect_raises(ValueError, f"momentum_step with lr = {lr}"):
        take_steps(student, "momentum_step", MOMENTUM_CALL, steps, lr=lr, beta=0.9)


@graded("momentum_step_errors", rules=["momentum_step.errors"])
@settings(max_examples=6)
@example(steps=Parameters([torch.tensor([1.0])], [[torch.tensor([1.0])]], per_step=True),
         beta=1.0)
@given(steps=step_sequences(max_steps=1), beta=st.sampled_from([1.0, 1.5, -0.1, -1.0]))
def test_momentum_step_rejects_beta_outside_0_1(student, steps, beta):
    """momentum_step raises ValueError when beta is not in [0, 1) (1 included)."""
    with expect_raises(ValueError, f"momentum_step with beta = {beta}"):
        take_steps(student, "momentum_step", MOMENTUM_CALL, steps, lr=0.1, beta=beta)


@graded("momentum_step_errors", rules=["momentum_step.errors"])
@settings(max_examples=5)
@given(steps=step_sequences(max_steps=1), data=st.data())
def test_momentum_step_rejects_parameters_without_gradient(student, steps, data):
    """momentum_step raises ValueError when a parameter has no gradient (p.grad is None)."""
    missing = data.draw(st.integers(0, len(steps.values) - 1), label="parameter without a gradient")
    code = OPTIMISER_SETUP + '''
for p, g in zip(held, grads[0]):
    p.grad = g.clone()
held[missing].grad = None
momentum_step(params, velocities, 0.1, 0.9)
'''
    with expect_raises(ValueError, f"momentum_step when parameter {missing} has no gradient"):
        student.run(code, label="momentum_step", values=steps.values, grads=steps.grads, missing=missing)


@graded("momentum_step_errors", rules=["momentum_step.errors"])
@settings(max_examples=5)
@given(steps=step_sequences(max_steps=1), extra=st.sampled_from([-1, 1]))
def test_momentum_step_rejects_a_velocity_list_of_another_length(student, steps, extra):
    """momentum_step raises ValueError when velocities does not hold one tensor per parameter."""
    code = OPTIMISER_SETUP + '''
for p, g in zip(held, grads[0]):
    p.grad = g.clone()
velocities = velocities[:-1] if extra < 0 else velocities + [torch.zeros_like(velocities[-1])]
momentum_step(params, velocities, 0.1, 0.9)
'''
    count = len(steps.values) + extra
    with expect_raises(ValueError, f"momentum_step with {len(steps.values)} parameters and {count} velocities"):
        student.run(code, label="momentum_step", values=steps.values, grads=steps.grads, extra=extra)


ADAM_LRS = [0.0, 0.001, 0.01, 0.1, 1.0]
ADAM_BETAS = [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99), (0.8, 0.0)]
ADAM_EPS = [1e-8, 1e-3, 0.1, 1.0]


def adam_reference(steps, lr, betas, eps):
    return optim_reference(lambda ps: torch_optim.Adam(ps, lr=lr, betas=betas, eps=eps), steps)


@graded("adam_step_update", rules=["adam_step.update", "adam_step.state", "adam_step.dtype"])
@settings(max_examples=25)
@given(steps=step_sequences(), lr=st.sampled_from(ADAM_LRS), betas=st.sampled_from(ADAM_BETAS),
       eps=st.sampled_from(ADAM_EPS))
def test_adam_step_matches_torch_adam(student, steps, lr, betas, eps):
    """After k calls of adam_step (state starting at step 0 with zero averages), each parameter is what torch.optim.Adam(params, lr, betas, eps) reaches, in its dtype and shape: p -= lr * m_hat / (sqrt(v_hat) + eps), with the bias-corrected averages."""
    reply = take_steps(student, "adam_step", ADAM_CALL, steps, lr=lr, betas=betas, eps=eps)
    params, _ = adam_reference(steps, lr, betas, eps)
    expect_parameters(reply, params, "adam_step", len(steps.grads))


@graded("adam_step_update", rules=["adam_step.signature", "adam_step.update", "adam_step.dtype"])
@settings(max_examples=8)
@given(steps=step_sequences().map(tiny_gradients), lr=st.sampled_from(ADAM_LRS[1:]))
def test_adam_step_defaults_to_torch_adams(student, steps, lr):
    """adam_step(params, state, lr), with betas and eps left out, steps as with betas=(0.9, 0.999) and eps=1e-8: each parameter is what torch.optim.Adam(params, lr) reaches. The gradients are tiny (at most 1e-7), so that eps, added to sqrt(v_hat), changes every step."""
    reply = take_steps(student, "adam_step", "adam_step(params, state, lr)", steps, lr=lr)
    params, _ = adam_reference(steps, lr, (0.9, 0.999), 1e-8)
    expect_parameters(reply, params, "adam_step", len(steps.grads))


@graded("adam_step_state", rules=["adam_step.state"])
@settings(max_examples=15)
@given(steps=step_sequences(), betas=st.sampled_from(ADAM_BETAS))
def test_adam_step_keeps_the_count_and_the_averages(student, steps, betas):
    """After k calls of adam_step, state["step"] is k, and state["m"] and state["v"] hold the running averages of the gradients and of their squares that torch.optim.Adam keeps (exp_avg, exp_avg_sq)."""
    reply = take_steps(student, "adam_step", ADAM_CALL, steps, lr=0.01, betas=betas, eps=1e-8)
    params, optimizer = adam_reference(steps, 0.01, betas, 1e-8)
    count = len(steps.grads)
    if not isinstance(reply, dict) or reply.get("step") != float(count):
        got = reply.get("step") if isinstance(reply, dict) else reply
        fail(f'state["step"] after {count} adam_step call{"s" if count > 1 else ""} should be {count}, got {got}')
    for key, name in (("m", "exp_avg"), ("v", "exp_avg_sq")):
        got = tensor_list(reply, key, len(params), f'state["{key}"]')
        want = [optimizer.state[p][name] for p in params]
        for index, (g, w) in enumerate(zip(got, want)):
            expect_close(g, w, f'state["{key}"][{index}] after {count} adam_step call{"s" if count > 1 else ""}')


@graded("adam_step_zero_grad", rules=["adam_step.zero_grad"])
@settings(max_examples=8)
@given(steps=step_sequences(max_steps=1), lr=st.sampled_from(ADAM_LRS))
def test_adam_step_zeroes_the_gradients(student, steps, lr):
    """After adam_step, every parameter's gradient is zero (or None)."""
    expect_zeroed(take_steps(student, "adam_step", ADAM_CALL, steps, lr=lr, betas=(0.9, 0.999), eps=1e-8),
                  "adam_step")


@graded("adam_step_zero_grad", rules=["adam_step.zero_grad"])
@settings(max_examples=8)
@given(steps=step_sequences(max_steps=1), lr=st.sampled_from(ADAM_LRS), data=st.data())
def test_adam_step_next_backward_starts_afresh(student, steps, lr, data):
    """After adam_step, a backward() of a new loss, sum(p * c), leaves each parameter's gradient equal to c alone."""
    expect_fresh_backward(student, "adam_step", ADAM_CALL, steps, data, lr=lr, betas=(0.9, 0.999), eps=1e-8)


@graded("adam_step_no_graph", rules=["adam_step.no_graph"])
@settings(max_examples=8)
@given(steps=step_sequences(max_steps=1), lr=st.sampled_from(ADAM_LRS))
def test_adam_step_leaves_leaves_that_require_grad(student, steps, lr):
    """adam_step builds no graph: afterwards each parameter, in the caller's tensors and in the list passed, is still a leaf that requires grad, with no grad_fn."""
    expect_leaves(take_steps(student, "adam_step", ADAM_CALL, steps, lr=lr, betas=(0.9, 0.999), eps=1e-8),
                  "adam_step")


def each_condition_broken_alone(test):
    """``adam_step``'s stated conditions, each broken with every other hyperparameter valid: a
    check that misses one condition is caught whatever the draws meet (a draw that breaks two
    hides a check missing for one of them)."""
    one = Parameters([torch.tensor([1.0])], [[torch.tensor([1.0])]], per_step=True)
    for lr, betas, eps in [(-0.1, (0.9, 0.999), 1e-8), (0.1, (1.0, 0.999), 1e-8), (0.1, (-0.1, 0.999), 1e-8),
                           (0.1, (0.9, 1.0), 1e-8), (0.1, (0.9, -0.5), 1e-8), (0.1, (0.9, 0.999), 0.0),
                           (0.1, (0.9, 0.999), -1e-8)]:
        test = example(steps=one, lr=lr, betas=betas, eps=eps)(test)
    return test


@graded("adam_step_errors", rules=["adam_step.errors"])
@settings(max_examples=10)
@each_condition_broken_alone
@given(steps=step_sequences(max_steps=1),
       lr=st.sampled_from([-0.1, 0.1]), betas=st.sampled_from([(0.9, 0.999), (1.0, 0.999), (0.9, 1.0), (-0.1, 0.999),
                                                              (0.9, -0.5)]),
       eps=st.sampled_from([1e-8, 0.0, -1e-8]))
def test_adam_step_rejects_bad_hyperparameters(student, steps, lr, betas, eps):
    """adam_step raises ValueError when lr is negative, beta1 or beta2 is not in [0, 1), or eps is not positive."""
    assume(lr < 0 or not all(0 <= beta < 1 for beta in betas) or eps <= 0)
    with expect_raises(ValueError, f"adam_step with lr = {lr}, betas = {betas}, eps = {eps}"):
        take_steps(student, "adam_step", ADAM_CALL, steps, lr=lr, betas=betas, eps=eps)


@graded("adam_step_errors", rules=["adam_step.errors"])
@settings(max_examples=5)
@given(steps=step_sequences(max_steps=1), data=st.data())
def test_adam_step_rejects_parameters_without_gradient(student, steps, data):
    """adam_step raises ValueError when a parameter has no gradient (p.grad is None)."""
    missing = data.draw(st.integers(0, len(steps.values) - 1), label="parameter without a gradient")
    code = OPTIMISER_SETUP + '''
for p, g in zip(held, grads[0]):
    p.grad = g.clone()
held[missing].grad = None
adam_step(params, state, 0.1)
'''
    with expect_raises(ValueError, f"adam_step when parameter {missing} has no gradient"):
        student.run(code, label="adam_step", values=steps.values, grads=steps.grads, missing=missing)
