"""04_matmul: every exercise is written from scratch, without the built-in products."""
import pytest

NOT_ALLOWED = ["@", "torch.matmul", "torch.mm", "torch.bmm", "torch.mv", "torch.dot", "torch.einsum",
               "torch.tensordot", "torch.nn.functional.linear", "numpy.matmul", "numpy.dot", "numpy.einsum"]
EXERCISES = ["matvec", "matmul", "batched_matmul", "markov_step", "markov_after", "shop_totals"]


@pytest.fixture(scope="session")
def forbidden_builtins():
    return {name: list(NOT_ALLOWED) for name in EXERCISES}
