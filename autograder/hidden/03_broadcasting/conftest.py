"""03_broadcasting: broadcast_shape is written from the rules, not asked of torch or numpy."""
import pytest


@pytest.fixture(scope="session")
def forbidden_builtins():
    return {"broadcast_shape": ["torch.broadcast_shapes", "numpy.broadcast_shapes", "torch.broadcast_tensors"]}
