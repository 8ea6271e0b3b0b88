"""torch.optim's SGD and Adam as references, without their classes (hidden tests use them
through ``autograder.testing``).

Each runs torch's own update, the functional ``torch.optim.sgd.sgd`` and
``torch.optim.adam.adam`` that ``SGD.step`` and ``Adam.step`` call, on the state those classes
keep, built as they build it. What it leaves out is the classes' wrapping for
``torch.compile``: constructing or stepping a ``torch.optim`` optimizer imports
``torch._dynamo``, about 1.7 CPU-seconds that a judge would pay at its first 04b notebook
for nothing (the judge never compiles). ``tests/test_optim_references.py`` checks that every
parameter and every state tensor is the classes' own, bit for bit, over drawn parameters,
gradients, dtypes, hyperparameters and numbers of steps.

Only what the hidden tests use: one parameter group, the defaults the notebook's exercises
state (no weight decay, dampening, nesterov, amsgrad or maximize), ``step``, ``zero_grad``
and ``state[p]``.
"""
from __future__ import annotations

from collections import defaultdict

import torch
from torch.optim.adam import adam
from torch.optim.sgd import sgd


class _Optimizer:
    def __init__(self, params, lr: float):
        self.params = list(params)
        self.lr = lr
        self.state: defaultdict = defaultdict(dict)  # keyed by parameter, as torch.optim's (by identity)

    def zero_grad(self) -> None:
        for p in self.params:  # set_to_none, torch.optim's default
            p.grad = None

    def _with_grad(self) -> list:
        return [p for p in self.params if p.grad is not None]


class SGD(_Optimizer):
    """``torch.optim.SGD(params, lr, momentum=momentum)``."""

    def __init__(self, params, lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        self.momentum = momentum

    @torch.no_grad()
    def step(self) -> None:
        params = self._with_grad()
        buffers = [self.state[p].get("momentum_buffer") for p in params] if self.momentum != 0 else []
        sgd(params, [p.grad for p in params], buffers, has_sparse_grad=any(p.grad.is_sparse for p in params),
            foreach=None, fused=None, grad_scale=None, found_inf=None, weight_decay=0.0, momentum=self.momentum,
            lr=self.lr, dampening=0.0, nesterov=False, maximize=False)
        if self.momentum != 0:
            for p, buffer in zip(params, buffers):
                self.state[p]["momentum_buffer"] = buffer


class Adam(_Optimizer):
    """``torch.optim.Adam(params, lr, betas, eps)``."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        self.betas, self.eps = betas, eps

    @torch.no_grad()
    def step(self) -> None:
        params = self._with_grad()
        for p in params:
            if not self.state[p]:  # as Adam._init_group makes it
                self.state[p] = {
                    "step": torch.tensor(0.0, dtype=torch.float64 if torch.get_default_dtype() == torch.float64
                                         else torch.float32),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
        states = [self.state[p] for p in params]
        adam(params, [p.grad for p in params], [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
             [], [s["step"] for s in states], foreach=None, capturable=False, differentiable=False, fused=None,
             grad_scale=None, found_inf=None, has_complex=any(torch.is_complex(p) for p in params),
             decoupled_weight_decay=False, amsgrad=False, beta1=self.betas[0], beta2=self.betas[1], lr=self.lr,
             weight_decay=0.0, eps=self.eps, maximize=False)
