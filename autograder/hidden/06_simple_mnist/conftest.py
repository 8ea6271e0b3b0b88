import pytest


@pytest.fixture(scope="session")
def forbidden_builtins():
    """SimpleMnist.forward is written by hand: no ready-made linear layer, no ready-made ReLU."""
    return {"SimpleMnist.forward": ["torch.nn.Linear", "torch.nn.functional.linear",
                                    "torch.relu", "torch.nn.functional.relu"]}
