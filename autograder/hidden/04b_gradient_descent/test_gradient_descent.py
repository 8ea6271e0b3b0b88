"""Hidden tests for 04b_gradient_descent: each test is one property the notebook states,
scoring the check cell it names, against torch references computed here:
``torch.optim.SGD`` for the step and the training loop, the central-difference formula
evaluated on the same functions for ``numeric_grad``.

``sgd_step`` changes tensors that require grad and carry a ``.grad``; such tensors
cannot be handed over as plain data, so the grader builds them in the student's
process (``student.run``) from plain values and reads back plain values: each
parameter's value, gradient, and whether it is still a leaf that requires grad.

``numeric_grad`` takes a function; the grader's functions are fixed source text,
evaluated in the student's process for the student's call and here for the
reference. Some are computed with numpy and return Python floats, which autograd
cannot follow, as the notebook says.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import example, given, strategies as st

from autograder.testing import (TOLERANCES, S, expect_close, expect_raises, expect_tensor, expect_unchanged, fail,
                                graded, leaves_inputs_unchanged, not_allowed, raises_value_error, show)

FLOATS = (torch.float32, torch.float64)
# The step and the training loop are written by hand, without torch's optimizers.
NOT_ALLOWED = ["torch.optim"]
forbidden_builtins = not_allowed(NOT_ALLOWED, only=["sgd_step", "fit_line"])
LEARNING_RATES = [0.0, 0.01, 0.1, 0.25, 0.5, 1.0, 3.0]


# ---------------------------------------------------------------- sgd_step
class Parameters:
    """Parameter values and their gradients, with a description a failing example shows."""

    def __init__(self, values, grads):
        self.values, self.grads = values, grads

    def __repr__(self):
        return f"parameters {self.values}, their gradients {self.grads}"


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
    torch.optim.SGD(params, lr=lr).step()
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
@given(parameters=parameter_sets(), lr=st.sampled_from(LEARNING_RATES))
def test_sgd_step_zeroes_the_gradients(student, parameters, lr):
    """After sgd_step, every parameter's gradient is zero (or None)."""
    for index, state in enumerate(states(one_step(student, parameters, lr), "held")):
        grad = state.get("grad")
        if grad is not None and (not isinstance(grad, torch.Tensor) or bool((grad != 0).any())):
            fail(f"parameter {index}'s gradient after sgd_step should be zero (or None), got {show(grad)}")


@graded("sgd_step_zero_grad", rules=["sgd_step.zero_grad"])
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
@given(parameters=parameter_sets(), lr=st.sampled_from([-0.1, -1.0, -1e-3]))
def test_sgd_step_rejects_negative_learning_rates(student, parameters, lr):
    """sgd_step raises ValueError when lr is negative."""
    with expect_raises(ValueError, f"sgd_step with lr = {lr}"):
        one_step(student, parameters, lr)


@graded("sgd_step_errors", rules=["sgd_step.errors"])
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
    return LineProblem(x, y, lr, draw(st.integers(0, 25)))


def fit_reference(x, y, lr, steps):
    """torch.optim.SGD on F.mse_loss from a = b = 0; the losses before each step."""
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.SGD([a, b], lr=lr)
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
@example(shapes=((3,), (4,)), steps=5)
@example(shapes=((0,), (0,)), steps=3)  # "their lengths differ or are 0": the empty case is always tried
@example(shapes=((), ()), steps=3)
@given(shapes=st.one_of(
    st.tuples(sides, sides).filter(lambda nm: nm[0] != nm[1]).map(lambda nm: ((nm[0],), (nm[1],))),
    st.sampled_from([((3, 1), (3,)), ((3,), (3, 1)), ((2, 3), (2, 3)), ((), ()), ((0,), (0,))])),
    steps=st.integers(0, 5))
def test_fit_line_rejects_bad_shapes(student, shapes, steps):
    """fit_line raises ValueError unless x and y are 1-d, of one length, and not empty."""
    raises_value_error(student, "fit_line", torch.ones(shapes[0]), torch.ones(shapes[1]), 0.1, steps,
                       what=f"fit_line with x of shape {shapes[0]} and y of shape {shapes[1]}")


@graded("fit_line_errors", rules=["fit_line.errors"])
@given(n=sides, steps=st.integers(-5, -1))
def test_fit_line_rejects_negative_steps(student, n, steps):
    """fit_line raises ValueError when steps is negative."""
    raises_value_error(student, "fit_line", torch.ones(n), torch.ones(n), 0.1, steps,
                       what=f"fit_line with steps = {steps}")


@graded("fit_line_pure", rules=["fit_line.pure"])
@given(problem=line_problems())
def test_fit_line_leaves_inputs_unchanged(student, problem):
    """fit_line does not modify x or y."""
    leaves_inputs_unchanged(student, "fit_line", problem.x, problem.y, problem.lr, problem.steps, names=["x", "y"])


# ---------------------------------------------------------------- numeric_grad
class Function:
    """A function of a tensor, as source text: run in the student's process and here."""

    def __init__(self, source):
        self.source = source
        self.fn = eval(source, {"torch": torch, "np": np})

    def __call__(self, t):
        return self.fn(t)

    def __repr__(self):
        return self.source


FUNCTIONS = [
    Function("lambda t: (t ** 3).sum()"),
    # weights by position: a gradient with its entries in the wrong places is caught
    Function("lambda t: (t ** 2 * torch.arange(1, t.numel() + 1, dtype=t.dtype).reshape(t.shape)).sum()"),
    # numpy, a Python float: autograd cannot follow it
    Function("lambda t: float(np.sin(t.numpy()).sum())"),
    # entries that interact: only one entry may move at a time
    Function("lambda t: t.reshape(-1)[0] * t.sum() + torch.exp(t / 4).sum()"),
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


SHAPED = Function("lambda t: (t.sum(dim=0) ** 2).sum() + t.shape[0] * t.sum()")  # its value depends on t's shape


@graded("numeric_grad_values", rules=["numeric_grad.whole_tensor"])
@example(x=torch.tensor([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]], dtype=torch.float64))
@example(x=torch.tensor([[[0.5], [-1.5]]], dtype=torch.float64))
@given(x=S.float_tensors(min_dims=2, max_dims=3, max_side=3, dtype=torch.float64, min_value=-3, max_value=3))
def test_numeric_grad_calls_f_with_the_whole_tensor(student, x):
    """numeric_grad calls f with the whole tensor, shaped like x (f may depend on the shape: a flattened copy gives another value)."""
    expected, largest = central_differences(SHAPED, x, 1e-2)
    got = entries_like(numeric_grad_in_worker(student, SHAPED, x, 1e-2)[0], x)
    rtol, atol = numeric_tolerance(x, 1e-2, largest)
    expect_close(got, expected, f"numeric_grad(f, x, eps=0.01) with f = {SHAPED}", rtol=rtol, atol=atol)


@graded("numeric_grad_values", rules=["numeric_grad.central_difference"])
@given(f=st.sampled_from(FUNCTIONS),
       x=S.float_tensors(min_dims=1, max_dims=2, max_side=4, dtype=torch.float64, min_value=-3, max_value=3))
def test_numeric_grad_default_eps(student, f, x):
    """numeric_grad(f, x) without eps uses eps = 1e-3."""
    expected, largest = central_differences(f, x, 1e-3)
    got = entries_like(numeric_grad_in_worker(student, f, x)[0], x)
    rtol, atol = numeric_tolerance(x, 1e-3, largest)
    expect_close(got, expected, "numeric_grad(f, x)", rtol=rtol, atol=atol)


@graded("numeric_grad_shape", rules=["numeric_grad.shape_dtype"])
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
@given(eps=st.sampled_from([0.0, -1e-3, -1.0]), x=S.float_tensors(max_dims=2, max_side=3))
def test_numeric_grad_rejects_non_positive_eps(student, eps, x):
    """numeric_grad raises ValueError when eps is zero or negative."""
    with expect_raises(ValueError, f"numeric_grad with eps = {eps}"):
        numeric_grad_in_worker(student, FUNCTIONS[0], x, eps)


@graded("numeric_grad_errors", rules=["numeric_grad.errors"])
@given(x=S.tensors(S.shapes(max_dims=2, max_side=3), st.sampled_from([torch.int64, torch.int32]), -5, 5))
def test_numeric_grad_rejects_integer_x(student, x):
    """numeric_grad raises ValueError when x is not a floating-point tensor."""
    with expect_raises(ValueError, f"numeric_grad of an {x.dtype} x"):
        numeric_grad_in_worker(student, FUNCTIONS[0], x, 1e-3)


@graded("numeric_grad_pure", rules=["numeric_grad.pure"])
@given(f=st.sampled_from(FUNCTIONS), eps=st.sampled_from(EPSILONS),
       x=S.float_tensors(min_dims=1, max_dims=2, max_side=4, min_value=-3, max_value=3))
def test_numeric_grad_leaves_x_unchanged(student, f, eps, x):
    """numeric_grad does not modify x, not even by rounding (moving an entry of x and back is not exact)."""
    _, x_after = numeric_grad_in_worker(student, f, x, eps)
    expect_unchanged(x, x_after, "x")
