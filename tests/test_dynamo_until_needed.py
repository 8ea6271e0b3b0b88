"""A worker's stand-in for ``torch._dynamo`` (autograder/engine/worker/dynamo_until_needed.py):
eager torch.optim computes exactly what it computes with the real one, without importing it,
and any other use of dynamo gets the real package. Each case runs in a fresh interpreter, since
the stand-in takes the place of a module in ``sys.modules``."""
import json
import os
import subprocess
import sys

import pytest
import torch

from autograder.engine.judge.student_proxy import Cell, Limits, Student, StudentProcess
from instructor.paths import ROOT

TRAIN = """
import json, sys, torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
for opt in (torch.optim.Adam(model.parameters(), lr=1e-2), torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)):
    for _ in range(4):
        x, y = torch.randn(16, 12), torch.randint(0, 3, (16,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    opt.add_param_group({"params": [nn.Parameter(torch.ones(2))]})
    opt.load_state_dict(opt.state_dict())
real = not type(sys.modules["torch._dynamo"]).__name__ == "StandIn"
print(json.dumps({"params": [p.detach().double().flatten().tolist() for p in model.parameters()], "real": real}))
"""


def run(code: str, stand_in: bool = True) -> str:
    prefix = "from autograder.engine.worker import dynamo_until_needed\ndynamo_until_needed.install()\n"
    result = subprocess.run([sys.executable, "-c", (prefix if stand_in else "") + code], capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_eager_training_is_the_same_bit_for_bit_and_never_imports_dynamo():
    with_stand_in, with_real = json.loads(run(TRAIN)), json.loads(run(TRAIN, stand_in=False))
    assert with_stand_in["params"] == with_real["params"]
    assert with_stand_in["real"] is False and with_real["real"] is True


@pytest.mark.parametrize("use", [
    "torch._dynamo.config.suppress_errors",
    "__import__('torch._dynamo.utils').__name__",
    "__import__('importlib').import_module('torch._dynamo.backends.registry').lookup_backend('eager').__name__",
    "torch.compile(lambda a: a * 2, backend='eager')(torch.ones(2)).tolist()",
    "torch._dynamo.reset()",
])
def test_any_other_use_gets_the_real_dynamo_and_the_optimiser_then_uses_its_disable(use):
    code = f"""
import sys, torch
from torch import nn
p = nn.Parameter(torch.ones(3))
opt = torch.optim.Adam([p], lr=0.1)
p.sum().backward(); opt.step()
assert type(sys.modules["torch._dynamo"]).__name__ == "StandIn"
print(repr({use}))
import torch._dynamo, torch._dynamo.utils
assert type(torch._dynamo).__name__ == "module" and sys.modules["torch._dynamo"] is torch._dynamo
assert torch._dynamo.utils.__spec__.name == "torch._dynamo.utils"
p.sum().backward(); opt.step(); opt.zero_grad()  # through the real disable now
print(p.tolist())
"""
    assert run(code).splitlines()[-1] == repr(two_adam_steps())


def two_adam_steps() -> list:
    """What the worker's two steps give with the real dynamo (this process's)."""
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([p], lr=0.1)
    for _ in range(2):
        p.sum().backward()
        opt.step()
    return p.tolist()


def test_probing_every_module_for_its_file_is_not_a_use():
    """inspect.getmodule reads every module's __file__: that must not import dynamo."""
    out = run("""
import inspect, sys, torch
inspect.getmodule(inspect.getmodule)
print(hasattr(torch._dynamo, "__file__"), type(sys.modules["torch._dynamo"]).__name__)
""")
    assert out.split() == ["False", "StandIn"]


def test_a_worker_trains_with_the_stand_in():
    """In a real worker (forked from its zygote), a student's Adam steps leave it in place."""
    answer = ("import sys, torch\n"
              "def train():\n"
              "    p = torch.nn.Parameter(torch.ones(3))\n"
              "    opt = torch.optim.Adam([p], lr=0.1)\n"
              "    p.sum().backward()\n"
              "    opt.step()\n"
              "    return type(sys.modules['torch._dynamo']).__name__, p.tolist()\n")
    process = StudentProcess([Cell("answer", answer)], Limits())
    try:
        assert Student(process).train() == ("StandIn", pytest.approx([0.9] * 3))  # one step of lr 0.1
    finally:
        process.stop()
