"""autograder/optim_references.py: torch.optim's SGD and Adam without their classes. The law:
after every step, every parameter and every state tensor is the class's own, bit for bit."""
from __future__ import annotations

import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from autograder import optim_references


@st.composite
def problems(draw):
    """Parameters of any rank (0-d included) and dtype, and the gradients of each of 1-4 steps."""
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    shapes = draw(st.lists(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), min_size=1, max_size=3))
    steps = draw(st.integers(1, 4))
    numbers = st.floats(-10, 10, allow_nan=False, width=32)

    def tensor(shape):
        n = 1
        for side in shape:
            n *= side
        return torch.tensor(draw(st.lists(numbers, min_size=n, max_size=n)), dtype=dtype).reshape(shape)

    return [tensor(s) for s in shapes], [[tensor(s) for s in shapes] for _ in range(steps)]


def run(make, values, grads_per_step):
    params = [v.clone().requires_grad_(True) for v in values]
    optimizer = make(params)
    trace = []
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = g.clone()
        optimizer.step()
        optimizer.zero_grad()
        trace.append([p.detach().clone() for p in params]
                     + [t.clone() for p in params for _, t in sorted(optimizer.state.get(p, {}).items())])
    return trace


def same(a, b) -> bool:
    return len(a) == len(b) and all(len(x) == len(y) and all(
        s.dtype == t.dtype and s.shape == t.shape and torch.equal(s, t) for s, t in zip(x, y)) for x, y in zip(a, b))


@settings(max_examples=60, deadline=None)
@given(problem=problems(), lr=st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0, 3.0]),
       momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]))
def test_sgd_is_torch_optim_sgd_bit_for_bit(problem, lr, momentum):
    values, grads = problem
    assert same(run(lambda ps: optim_references.SGD(ps, lr=lr, momentum=momentum), values, grads),
                run(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum), values, grads))


@settings(max_examples=60, deadline=None)
@given(problem=problems(), lr=st.sampled_from([0.0, 0.001, 0.01, 0.1, 1.0]),
       betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99), (0.8, 0.0)]),
       eps=st.sampled_from([1e-8, 1e-3, 0.1, 1.0]))
def test_adam_is_torch_optim_adam_bit_for_bit(problem, lr, betas, eps):
    values, grads = problem
    assert same(run(lambda ps: optim_references.Adam(ps, lr=lr, betas=betas, eps=eps), values, grads),
                run(lambda ps: torch.optim.Adam(ps, lr=lr, betas=betas, eps=eps), values, grads))


def test_stepping_them_does_not_import_torch_dynamo():
    """The point of them: in a fresh interpreter (the judge), neither imports torch._dynamo."""
    import subprocess
    import sys

    code = ("import sys, torch\nfrom autograder import optim_references as o\n"
            "p = [torch.ones(2, requires_grad=True)]\n"
            "for make in (lambda: o.SGD(p, lr=0.1, momentum=0.9), lambda: o.Adam(p, lr=0.1)):\n"
            "    opt = make(); p[0].grad = torch.ones(2); opt.step(); opt.zero_grad()\n"
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
