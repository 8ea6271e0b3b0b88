"""Built-ins not allowed: refused however they are reached, allowed ops untouched."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.engine.guard import ALIASES, ForbiddenBuiltinError, expand, forbidden

saved_softmax = torch.softmax          # a reference taken before the guard, as a student might
saved_broadcast_shapes = torch.broadcast_shapes
a, b = torch.ones(2, 3), torch.ones(3, 4)

REACHES = {
    "@": [lambda: a @ b, lambda: a.matmul(b), lambda: a.__matmul__(b)],
    "torch.matmul": [lambda: torch.matmul(a, b), lambda: torch.linalg.matmul(a, b)],
    "torch.mm": [lambda: torch.mm(a, b), lambda: a.mm(b), lambda: torch.addmm(torch.zeros(2, 4), a, b)],
    "torch.bmm": [lambda: torch.bmm(a[None], b[None])],
    "torch.mv": [lambda: torch.mv(a, torch.ones(3))],
    "torch.dot": [lambda: torch.dot(torch.ones(3), torch.ones(3)), lambda: torch.inner(a, a)],
    "torch.einsum": [lambda: torch.einsum("ik,kj->ij", a, b)],
    "torch.tensordot": [lambda: torch.tensordot(a, b, dims=1)],
    "torch.nn.functional.linear": [lambda: F.linear(a, b.T)],
    "numpy.dot": [lambda: np.dot(np.ones(2), np.ones(2))],
    "numpy.einsum": [lambda: np.einsum("i,i", np.ones(2), np.ones(2))],
    "numpy.matmul": [lambda: np.matmul(np.ones((2, 2)), np.ones((2, 2)))],
    "torch.broadcast_shapes": [lambda: torch.broadcast_shapes((1, 2), (3, 1)), lambda: saved_broadcast_shapes((2,), (2,))],
    "numpy.broadcast_shapes": [lambda: np.broadcast_shapes((1,), (2,))],
    "torch.broadcast_tensors": [lambda: torch.broadcast_tensors(a, a)],
    "torch.softmax": [lambda: torch.softmax(a, 1), lambda: a.softmax(1), lambda: saved_softmax(a, 1)],
    "torch.nn.functional.softmax": [lambda: F.softmax(a, 1)],
    "torch.log_softmax": [lambda: torch.log_softmax(a, 1), lambda: a.log_softmax(1)],
    "torch.nn.functional.log_softmax": [lambda: F.log_softmax(a, 1)],
    "torch.logsumexp": [lambda: torch.logsumexp(a, 1), lambda: a.logsumexp(1)],
    "torch.nn.functional.cross_entropy": [lambda: F.cross_entropy(a, torch.tensor([0, 1]))],
    "torch.nn.functional.nll_loss": [lambda: F.nll_loss(a, torch.tensor([0, 1]))],
    "torch.nn.functional.binary_cross_entropy": [lambda: F.binary_cross_entropy(torch.full((2,), .5), torch.ones(2))],
    "torch.nn losses": [lambda: torch.nn.CrossEntropyLoss()(a, torch.tensor([0, 1]))],
    "torch.nn.Linear": [lambda: torch.nn.Linear(3, 2)(a)],
    "torch.relu": [lambda: torch.relu(a), lambda: a.relu()],
    "torch.nn.functional.relu": [lambda: F.relu(a), lambda: torch.nn.ReLU()(a)],
}


def test_every_alias_group_is_covered_here():
    assert set(REACHES) == set(ALIASES), "add a way to reach each forbidden name to REACHES"


@pytest.mark.parametrize("name,reach", [(n, r) for n, rs in REACHES.items() for r in rs])
def test_forbidden_builtin_is_refused_and_named(name, reach):
    with forbidden([name]):
        with pytest.raises(ForbiddenBuiltinError) as raised:
            reach()
    assert raised.value.builtin == name
    assert name in str(raised.value)
    reach()  # and allowed again once the call is over


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_from_scratch_arithmetic_stays_allowed(name):
    with forbidden([name]):
        x = torch.randn(4, 3)
        (x[:, :, None] * torch.randn(3, 5)[None]).sum(1)     # a matrix product by broadcasting
        (x.exp() / x.exp().sum(1, keepdim=True)).log()       # softmax by hand
        x.clamp_min(0), x * (x > 0), torch.where(x > 0, x, 0)  # relu by hand
        x.max(dim=1), x.mean(), x.std(), x.sum(dim=0)


def test_unknown_name_is_an_instructor_error():
    with pytest.raises(KeyError, match="unknown forbidden"):
        expand(["torch.nonexistent"])


def test_a_caught_refusal_is_still_recorded():
    """A student's try/except may swallow the error, not the record of it."""
    with forbidden(["torch.broadcast_shapes"]) as refused:
        try:
            torch.broadcast_shapes((1, 2), (2, 1))
        except RuntimeError:
            pass
    assert refused == ["torch.broadcast_shapes"]
