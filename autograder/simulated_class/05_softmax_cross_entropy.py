"""Simulated submissions for 05_softmax_cross_entropy."""
from autograder.simulated_class import Case, with_checks

SOFTMAX = {"softmax_values", "softmax_dim", "softmax_large", "softmax_pure"}
LOG_SOFTMAX = {"log_softmax_values", "log_softmax_dim", "log_softmax_large", "log_softmax_pure"}
BCE_VALUES = {"binary_cross_entropy_terms", "binary_cross_entropy_mean"}
NLL_VALUES = {"nll_loss_single", "nll_loss_mean"}
CROSS_ENTROPY = {"cross_entropy_values", "cross_entropy_large", "cross_entropy_grad", "cross_entropy_pure"}
GRAD_VALUES = {"cross_entropy_grad_values", "cross_entropy_grad_large"}

CHECKED_BCE = '''
def binary_cross_entropy(p, y):
    if p.shape != y.shape:
        raise ValueError(f"p and y must have the same shape, got {tuple(p.shape)} and {tuple(y.shape)}")
'''
CHECKED_NLL = '''
def nll_loss(log_probs, targets):
    if log_probs.dim() != 2 or targets.shape != (log_probs.shape[0],):
        raise ValueError(f"expected (N, C) and (N,), got {tuple(log_probs.shape)} and {tuple(targets.shape)}")
'''
CHECKED_GRAD = '''
def cross_entropy_grad(logits, targets):
    if logits.dim() != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"expected (N, C) and (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
    if ((targets < 0) | (targets >= logits.shape[1])).any():
        raise ValueError(f"targets must be classes 0..{logits.shape[1] - 1}, got {targets.tolist()}")
'''
CHECKED_ACCURACY = '''
def accuracy(logits, targets):
    if logits.dim() != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"expected (N, C) and (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
'''


CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_one_hot", "one-hot times log-softmax for the losses, softmax as exp(log_softmax), "
         "log-softmax as x - (max + log-sum-exp), max(...).indices for accuracy", kind="variant", full=True, answers={
             "softmax_answer": '''
def softmax(x, dim=-1):
    return torch.exp(log_softmax(x, dim))
''',
             "log_softmax_answer": '''
def log_softmax(x, dim=-1):
    m = x.max(dim=dim, keepdim=True).values
    lse = m + torch.log(torch.sum(torch.exp(x - m), dim=dim, keepdim=True))
    return x - lse
''',
             "binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    return torch.where(y == 1, -torch.log(p), -torch.log(1 - p)).mean()
'''),
             "nll_loss_answer": with_checks(CHECKED_NLL, '''
    one_hot = torch.nn.functional.one_hot(targets, log_probs.shape[1]).to(log_probs.dtype)
    return -(one_hot * log_probs).sum(dim=1).mean()
'''),
             "cross_entropy_answer": '''
def cross_entropy(logits, targets):
    one_hot = torch.nn.functional.one_hot(targets, logits.shape[-1]).to(logits.dtype)
    return -(one_hot * log_softmax(logits)).sum(dim=-1).mean()
''',
             "cross_entropy_grad_answer": '''
def cross_entropy_grad(logits, targets):
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(f"logits (N, C) and targets (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
    if targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError(f"targets must be classes 0..{logits.shape[1] - 1}, got {targets.tolist()}")
    one_hot = torch.nn.functional.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return (torch.exp(log_softmax(logits)) - one_hot) / len(logits)
''',
             "accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    hits = logits.max(dim=1).indices == targets
    return hits.sum() / len(targets)
''')}),
    Case("variant_gather_loops", "gather for the losses, a loop over rows for cross_entropy, softmax on the "
         "last axis after movedim, log1p for the binary loss", kind="variant", full=True, answers={
             "softmax_answer": '''
def softmax(x, dim=-1):
    moved = x.movedim(dim, -1)
    e = (moved - moved.max(-1, keepdim=True).values).exp()
    return (e / e.sum(-1, keepdim=True)).movedim(-1, dim)
''',
             "log_softmax_answer": '''
def log_softmax(x, dim=-1):
    m = x.amax(dim, keepdim=True).detach()
    return (x - m) - (x - m).exp().sum(dim, keepdim=True).log()
''',
             "binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    return torch.mean(-(y * p.log() + (1 - y) * torch.log1p(-p)))
'''),
             "nll_loss_answer": with_checks(CHECKED_NLL, '''
    return -log_probs.gather(1, targets[:, None]).squeeze(1).mean()
'''),
             "cross_entropy_answer": '''
def cross_entropy(logits, targets):
    losses = []
    for row, t in zip(logits, targets):
        m = row.max()
        losses.append(m + (row - m).exp().sum().log() - row[t])
    return torch.stack(losses).mean()
''',
             "cross_entropy_grad_answer": '''
def cross_entropy_grad(logits, targets):
    if logits.dim() != 2 or tuple(targets.shape) != (logits.shape[0],):
        raise ValueError(f"cross_entropy_grad: (N, C) and (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
    n, c = logits.shape
    rows = []
    for row, t in zip(logits, targets.tolist()):
        if not 0 <= t < c:
            raise ValueError(f"cross_entropy_grad: target {t} is not one of the classes 0..{c - 1}")
        rows.append(softmax(row, dim=0) - torch.eye(c, dtype=row.dtype)[t])
    return torch.stack(rows) / n
''',
             "accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    return torch.eq(torch.argmax(logits, dim=1), targets).to(torch.float32).mean()
''')}),
    Case("variant_half_accuracy_float32_loss", "accuracy in float16 (any floating dtype); cross_entropy computed "
         "in float32 whatever the logits' dtype, its loss returned as float32 (graded at float32's precision)",
         kind="variant", full=True, answers={
             "accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    return (logits.argmax(dim=1) == targets).half().mean()
'''),
             "cross_entropy_answer": '''
def cross_entropy(logits, targets):
    return nll_loss(log_softmax(logits.float(), dim=-1), targets)
'''}),
    Case("variant_float64", "float64 inside, cast back; accuracy through numpy", kind="variant", full=True, answers={
             "nll_loss_answer": '''
def nll_loss(log_probs, targets):
    if log_probs.dim() != 2:
        raise ValueError(f"nll_loss: log_probs must be (N, C), got {tuple(log_probs.shape)}")
    if targets.shape != log_probs.shape[:1]:
        raise ValueError(f"nll_loss: one target per row: {log_probs.shape[0]} rows, targets {tuple(targets.shape)}")
    picked = torch.stack([log_probs[i, t] for i, t in enumerate(targets.tolist())])
    return -picked.double().mean()
''',
             "softmax_answer": '''
def softmax(x, dim=-1):
    d = x.double()
    e = (d - d.max(dim, keepdim=True)[0]).exp()
    return (e / e.sum(dim, keepdim=True)).to(x.dtype)
''',
             "log_softmax_answer": '''
def log_softmax(x, dim=-1):
    d = x.double()
    d = d - d.max(dim, keepdim=True)[0]
    return (d - d.exp().sum(dim, keepdim=True).log()).to(x.dtype)
''',
             "binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    pd, yd = p.double(), y.double()
    return (-(yd * pd.log() + (1 - yd) * (1 - pd).log())).mean().to(p.dtype)
'''),
             "cross_entropy_answer": '''
def cross_entropy(logits, targets):
    return nll_loss(log_softmax(logits.double()), targets).to(logits.dtype)
''',
             "cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    grad = softmax(logits.double())
    grad[torch.arange(len(targets)), targets] -= 1
    return (grad / len(targets)).to(logits.dtype)
'''),
             "accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    predictions = np.argmax(logits.detach().numpy(), axis=1)
    return torch.tensor(float(np.mean(predictions == targets.numpy())))
''')}),
    Case("variant_own_import_one_hot", "max().values, torch.where for the binary loss, F.one_hot from the "
         "import cell for nll_loss, one_hot imported in the answer cell for cross_entropy, a true division for "
         "accuracy", kind="variant", full=True, answers={
             "softmax_answer": '''
def softmax(x, dim=-1):
    e = (x - x.max(dim=dim, keepdim=True).values).exp()
    return e / e.sum(dim, keepdim=True)
''',
             "log_softmax_answer": '''
def log_softmax(x, dim=-1):
    m = x.max(dim, keepdim=True).values
    return x - m - (x - m).exp().sum(dim, keepdim=True).log()
''',
             "binary_cross_entropy_answer": '''
def binary_cross_entropy(p, y):
    if tuple(p.shape) != tuple(y.shape):
        raise ValueError(f"binary_cross_entropy: p {tuple(p.shape)} and y {tuple(y.shape)} must have one shape")
    return torch.where(y == 1, -p.log(), -(1 - p).log()).mean()
''',
             "nll_loss_answer": '''
def nll_loss(log_probs, targets):
    if log_probs.ndim != 2 or targets.ndim != 1 or len(targets) != len(log_probs):
        raise ValueError(f"nll_loss: log_probs (N, C) and targets (N,), got {tuple(log_probs.shape)} and {tuple(targets.shape)}")
    return -(log_probs * F.one_hot(targets, log_probs.shape[1])).sum(1).mean()
''',
             "cross_entropy_answer": '''
from torch.nn.functional import one_hot as onehot
def cross_entropy(logits, targets):
    lp = log_softmax(logits, dim=1)
    return -(lp * onehot(targets, logits.shape[-1]).to(lp.dtype)).sum(dim=1).mean()
''',
             "cross_entropy_grad_answer": '''
def cross_entropy_grad(logits, targets):
    if logits.ndim != 2 or targets.ndim != 1 or len(targets) != len(logits):
        raise ValueError(f"cross_entropy_grad: logits (N, C) and targets (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
    c = logits.shape[1]
    if any(t < 0 or t >= c for t in targets.tolist()):
        raise ValueError(f"cross_entropy_grad: every target must be in 0..{c - 1}, got {targets.tolist()}")
    e = (logits - logits.max(dim=1, keepdim=True).values).exp()
    y = torch.zeros_like(logits).scatter(1, targets[:, None], 1.0)
    return (e / e.sum(1, keepdim=True) - y).div(logits.shape[0])
''',
             "accuracy_answer": '''
def accuracy(logits, targets):
    if logits.ndim != 2 or tuple(targets.shape) != (len(logits),):
        raise ValueError(f"accuracy: logits (N, C) and targets (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
    return (logits.argmax(1) == targets).sum() / len(targets)
'''}),

    # ---- typical mistakes: each loses the cell of the property it breaks
    Case("softmax_no_max", "softmax without subtracting the max: exp overflows", breaks="softmax.large_logits",
         answers={"softmax_answer": '''
def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
'''}),
    Case("softmax_global_max", "softmax subtracting the max of the whole tensor, not of each row: a row far "
         "below the others underflows to 0 / 0", fails={"softmax_large"}, answers={"softmax_answer": '''
def softmax(x, dim=-1):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)
'''}),
    Case("log_softmax_global_max", "log_softmax subtracting the max of the whole tensor: log(0) for a row far below",
         breaks="log_softmax.large_logits", fails={"cross_entropy_large"}, answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    shifted = x - x.max()
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))
'''}),
    Case("softmax_no_keepdim", "the sum without keepdim: wrong on square inputs", fails={"softmax_values"},
         answers={"softmax_answer": '''
def softmax(x, dim=-1):
    e = torch.exp(x - x.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim)
'''}),
    Case("softmax_wrong_dim", "softmax over axis 0 whatever dim says", fails={"softmax_values"},
         answers={"softmax_answer": '''
def softmax(x, dim=-1):
    e = torch.exp(x - x.max(dim=0, keepdim=True).values)
    return e / e.sum(dim=0, keepdim=True)
'''}),
    Case("softmax_ignores_dim", "softmax always over the last axis", breaks="softmax.dim",
         answers={"softmax_answer": '''
def softmax(x, dim=-1):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)
'''}),
    Case("softmax_in_place", "softmax subtracts the max from x in place", breaks="softmax.pure",
         answers={"softmax_answer": '''
def softmax(x, dim=-1):
    x -= x.amax(dim=dim, keepdim=True)
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
'''}),
    Case("log_of_softmax", "log_softmax as log(softmax): -inf where a probability underflows",
         fails={"log_softmax_large", "cross_entropy_large"}, answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    return torch.log(softmax(x, dim))
'''}),
    Case("log_softmax_no_max", "log-sum-exp without the max: log(sum(exp(x))) overflows",
         breaks="log_softmax.large_logits", fails={"cross_entropy_large"},
         answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    return x - torch.log(torch.exp(x).sum(dim=dim, keepdim=True))
'''}),
    Case("log_softmax_no_keepdim", "the log-sum-exp without keepdim", fails={"log_softmax_values"},
         answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    return x - m - torch.log(torch.exp(x - m).sum(dim=dim))
'''}),
    Case("bce_swapped", "binary cross-entropy with the two terms swapped", breaks="binary_cross_entropy.terms",
         answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    return -(y * torch.log(1 - p) + (1 - y) * torch.log(p)).mean()
''')}),
    Case("bce_summed", "binary cross-entropy summed instead of averaged",
         breaks="binary_cross_entropy.mean",
         answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()
''')}),
    Case("bce_broadcasts", "binary cross-entropy without a shape check: (N, 1) against (N,) broadcasts",
         breaks="binary_cross_entropy.errors", answers={"binary_cross_entropy_answer": '''
def binary_cross_entropy(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
'''}),
    Case("bce_checks_rank_and_length", "binary_cross_entropy checks the rank and the length, not the whole shape: "
         "(2, 1) against (2, 3) broadcasts", breaks="binary_cross_entropy.errors", answers={"binary_cross_entropy_answer": '''
def binary_cross_entropy(p, y):
    if p.dim() != y.dim() or len(p) != len(y):
        raise ValueError(f"p and y must have the same shape, got {tuple(p.shape)} and {tuple(y.shape)}")
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
'''}),
    Case("bce_clamps_p", "binary_cross_entropy clamps p to [1e-3, 1 - 1e-3] \"for safety\": p is strictly between "
         "0 and 1 already, and the terms change below 1e-3", breaks="binary_cross_entropy.terms",
         answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    p = p.clamp(1e-3, 1 - 1e-3)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
''')}),
    Case("bce_clamps_p_in_place", "binary_cross_entropy clamps p in place, p.clamp_(1e-7, 1 - 1e-7): the caller's p "
         "changes, and so do the terms below 1e-7", fails=BCE_VALUES, rest_full=True,
         answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    p = p.clamp_(1e-7, 1 - 1e-7)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
''')}),
    Case("nll_no_minus", "NLL without the minus sign", breaks="nll_loss.values", fails={"cross_entropy_values", "cross_entropy_large", "cross_entropy_grad"}, answers={"nll_loss_answer": with_checks(CHECKED_NLL, '''
    return log_probs[torch.arange(len(targets)), targets].mean()
''')}),
    Case("nll_summed", "NLL summed instead of averaged", breaks="nll_loss.mean",
         fails={"cross_entropy_values", "cross_entropy_large", "cross_entropy_grad"}, answers={"nll_loss_answer": with_checks(CHECKED_NLL, '''
    return -log_probs[torch.arange(len(targets)), targets].sum()
''')}),
    Case("nll_columns", "targets used as column indices of every row: log_probs[:, targets]", fails={"nll_loss_mean"},
         answers={"nll_loss_answer": with_checks(CHECKED_NLL, '''
    return -log_probs[:, targets].mean()
''')}),
    Case("cross_entropy_of_probabilities", "cross_entropy on softmax instead of log_softmax (the log forgotten)",
         breaks="cross_entropy.values",
         answers={"cross_entropy_answer": '''
def cross_entropy(logits, targets):
    return nll_loss(softmax(logits), targets)
'''}),
    Case("cross_entropy_no_grad", "cross_entropy through .item(): the right value, no gradient",
         breaks="cross_entropy.gradient", answers={"cross_entropy_answer": '''
def cross_entropy(logits, targets):
    value = nll_loss(log_softmax(logits), targets).item()
    return torch.tensor(value, dtype=logits.dtype)
'''}),
    Case("grad_summed", "cross_entropy_grad without the / N: the gradient of the summed loss",
         breaks="cross_entropy_grad.values", answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))
    return e / e.sum(dim=1, keepdim=True) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)
''')}),
    Case("grad_sign_flipped", "cross_entropy_grad as one_hot - softmax: the direction of descent, not the gradient",
         fails=GRAD_VALUES, answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))
    return (F.one_hot(targets, logits.shape[1]).to(logits.dtype) - e / e.sum(dim=1, keepdim=True)) / len(logits)
''')}),
    Case("grad_divided_by_classes", "cross_entropy_grad divided by the number of classes C, not the batch size N",
         fails=GRAD_VALUES, answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))
    return (e / e.sum(dim=1, keepdim=True) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)) / logits.shape[1]
''')}),
    Case("grad_softmax_over_batch", "cross_entropy_grad with the softmax taken down each column (dim=0)",
         fails=GRAD_VALUES, answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    e = torch.exp(logits - logits.amax(dim=0, keepdim=True))
    return (e / e.sum(dim=0, keepdim=True) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)) / len(logits)
''')}),
    Case("grad_naive_softmax", "cross_entropy_grad with exp(logits) / sum: nan for huge logits",
         breaks="cross_entropy_grad.large_logits", answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    e = torch.exp(logits)
    return (e / e.sum(dim=1, keepdim=True) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)) / len(logits)
''')}),
    Case("grad_in_float32", "cross_entropy_grad computes in float32 and casts back to the logits' dtype",
         breaks="cross_entropy_grad.dtype", hidden_only="graded at the precision of the dtype you return",
         answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    x = logits.float()
    e = torch.exp(x - x.amax(dim=1, keepdim=True))
    return ((e / e.sum(dim=1, keepdim=True) - F.one_hot(targets, x.shape[1]).float()) / len(x)).to(logits.dtype)
''')}),
    Case("grad_no_shape_check", "cross_entropy_grad checks the targets' range but no shape: a 1-d logits broadcasts",
         breaks="cross_entropy_grad.shapes", answers={"cross_entropy_grad_answer": '''
def cross_entropy_grad(logits, targets):
    c = logits.shape[-1]
    if ((targets < 0) | (targets >= c)).any():
        raise ValueError(f"targets must be classes 0..{c - 1}, got {targets.tolist()}")
    e = torch.exp(logits - logits.amax(dim=-1, keepdim=True))
    return (e / e.sum(dim=-1, keepdim=True) - F.one_hot(targets, c).to(logits.dtype)) / len(logits)
'''}),
    Case("grad_no_range_check", "cross_entropy_grad checks shapes but not the targets' range: F.one_hot raises a "
         "RuntimeError", breaks="cross_entropy_grad.targets", answers={"cross_entropy_grad_answer": '''
def cross_entropy_grad(logits, targets):
    if logits.dim() != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"expected (N, C) and (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))
    return (e / e.sum(dim=1, keepdim=True) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)) / len(logits)
'''}),
    Case("grad_negative_target_indexes", "cross_entropy_grad rejects targets >= C only, and indexes: -1 silently "
         "takes the last class", fails={"cross_entropy_grad_targets"}, answers={"cross_entropy_grad_answer": '''
def cross_entropy_grad(logits, targets):
    if logits.dim() != 2 or targets.shape != (logits.shape[0],):
        raise ValueError(f"expected (N, C) and (N,), got {tuple(logits.shape)} and {tuple(targets.shape)}")
    if (targets >= logits.shape[1]).any():
        raise ValueError(f"targets must be below {logits.shape[1]}, got {targets.tolist()}")
    e = torch.exp(logits - logits.amax(dim=1, keepdim=True))
    grad = e / e.sum(dim=1, keepdim=True)
    grad[torch.arange(len(targets)), targets] -= 1
    return grad / len(targets)
'''}),
    Case("grad_shifts_in_place", "cross_entropy_grad subtracts each row's max from logits in place",
         breaks="cross_entropy_grad.pure", answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    logits -= logits.amax(dim=1, keepdim=True)
    e = torch.exp(logits)
    return (e / e.sum(dim=1, keepdim=True) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)) / len(logits)
''')}),
    Case("grad_uses_torch_softmax", "cross_entropy_grad with torch.softmax", breaks="cross_entropy_grad.not_allowed",
         fails=GRAD_VALUES | {"cross_entropy_grad_pure"}, answers={"cross_entropy_grad_answer": with_checks(CHECKED_GRAD, '''
    return (torch.softmax(logits, dim=1) - F.one_hot(targets, logits.shape[1]).to(logits.dtype)) / len(logits)
''')}),
    Case("accuracy_wrong_axis", "argmax over the batch axis", breaks="accuracy.values",
         answers={"accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    return (logits.argmax(dim=0) == targets).float().mean()
''')}),
    Case("accuracy_count", "the number of hits, not the fraction", fails={"accuracy_values"},
         answers={"accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    return (logits.argmax(dim=1) == targets).float().sum()
''')}),
    Case("accuracy_integer_division", "hits // N: integer division", fails={"accuracy_values", "accuracy_fraction"},
         answers={"accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    return (logits.argmax(dim=1) == targets).sum() // len(targets)
''')}),
    Case("accuracy_ties_hit", "a row hits when the target's score equals the row's largest, so a tied row "
         "hits for every tied class (all-equal scores score 1)", fails={"accuracy_values"},
         answers={"accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    picked = logits.gather(1, targets[:, None]).squeeze(1)
    return (picked == logits.amax(dim=1)).float().mean()
''')}),
    Case("accuracy_python_float", "accuracy returns a python float", breaks="accuracy.dtype",
         answers={"accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    return (logits.argmax(dim=1) == targets).float().mean().item()
''')}),

    # ---- one stated rule broken each (issue 24): each loses that rule's cells only (and the cells
    # of cross_entropy, which calls the student's log_softmax and nll_loss)
    Case("softmax_sum_of_everything", "softmax divides by the sum over the whole tensor, not along dim",
         breaks="softmax.values", answers={"softmax_answer": '''
def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum()
'''}),
    Case("softmax_in_float32", "softmax computes in float32 and casts back to x's dtype: a float64 result with "
         "float32's rounding", breaks="softmax.dtype", hidden_only="graded at the precision of the dtype you return",
         answers={"softmax_answer": '''
def softmax(x, dim=-1):
    x32 = x.float()
    e = torch.exp(x32 - x32.amax(dim=dim, keepdim=True))
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
'''}),
    Case("log_softmax_sum_of_everything", "log_softmax takes the log-sum-exp over the whole tensor, not along dim",
         breaks="log_softmax.values", fails={"cross_entropy_values", "cross_entropy_large", "cross_entropy_grad"},
         answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    shifted = x - x.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum())
'''}),
    Case("log_softmax_ignores_dim", "log_softmax always over the last axis", breaks="log_softmax.dim",
         answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    shifted = x - x.amax(dim=-1, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))
'''}),
    Case("log_softmax_in_float32", "log_softmax computes in float32 and casts back to x's dtype",
         breaks="log_softmax.dtype", fails={"cross_entropy_values", "cross_entropy_large", "cross_entropy_grad"},
         hidden_only="graded at the precision of the dtype you return", answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    x32 = x.float()
    shifted = x32 - x32.amax(dim=dim, keepdim=True)
    return (shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))).to(x.dtype)
'''}),
    Case("log_softmax_in_place", "log_softmax subtracts the max from x in place", breaks="log_softmax.pure",
         fails={"cross_entropy_pure", "cross_entropy_grad"}, answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    x -= x.amax(dim=dim, keepdim=True)
    return x - torch.log(torch.exp(x).sum(dim=dim, keepdim=True))
'''}),
    Case("bce_in_float32", "binary_cross_entropy computes in float32 and casts back to p's dtype",
         breaks="binary_cross_entropy.dtype", hidden_only="graded at the precision of the dtype you return",
         answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    p32, y32 = p.float(), y.float()
    return (-(y32 * torch.log(p32) + (1 - y32) * torch.log(1 - p32)).mean()).to(p.dtype)
''')}),
    Case("bce_flips_p_in_place", "binary_cross_entropy turns p into the probability of what happened in place, "
         "p[y == 0] = 1 - p[y == 0]", breaks="binary_cross_entropy.pure",
         answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    p[y == 0] = 1 - p[y == 0]
    return -torch.log(p).mean()
''')}),
    Case("nll_no_shape_check", "nll_loss checks no shape: a 1-d log_probs fails with an IndexError",
         breaks="nll_loss.errors", answers={"nll_loss_answer": '''
def nll_loss(log_probs, targets):
    return -log_probs[torch.arange(len(targets)), targets].mean()
'''}),
    Case("nll_in_float32", "nll_loss picks from a float32 copy of log_probs and casts back: a float64 loss with "
         "float32's rounding", breaks="nll_loss.dtype", fails={"cross_entropy_values"},
         hidden_only="graded at the precision of the dtype you return", answers={"nll_loss_answer": with_checks(CHECKED_NLL, '''
    picked = log_probs.float()[torch.arange(len(targets)), targets]
    return -picked.double().mean().to(log_probs.dtype)
''')}),
    Case("nll_negates_in_place", "nll_loss negates log_probs in place before picking", breaks="nll_loss.pure",
         answers={"nll_loss_answer": with_checks(CHECKED_NLL, '''
    log_probs.neg_()
    return log_probs[torch.arange(len(targets)), targets].mean()
''')}),
    Case("cross_entropy_log_of_softmax", "cross_entropy as nll_loss(log(softmax(logits))): -inf where a "
         "probability underflows", breaks="cross_entropy.large_logits", answers={"cross_entropy_answer": '''
def cross_entropy(logits, targets):
    return nll_loss(torch.log(softmax(logits)), targets)
'''}),
    Case("cross_entropy_in_float32", "cross_entropy computes in float32 and casts back to the logits' dtype",
         breaks="cross_entropy.dtype", hidden_only="graded at the precision of the dtype you return",
         answers={"cross_entropy_answer": '''
def cross_entropy(logits, targets):
    return nll_loss(log_softmax(logits.float()), targets).to(logits.dtype)
'''}),
    Case("cross_entropy_shifts_in_place", "cross_entropy subtracts each row's max from logits in place (under "
         "no_grad, so autograd does not complain)", breaks="cross_entropy.pure", answers={"cross_entropy_answer": '''
def cross_entropy(logits, targets):
    with torch.no_grad():
        logits -= logits.amax(dim=-1, keepdim=True)
    return nll_loss(log_softmax(logits), targets)
'''}),
    Case("accuracy_no_shape_check", "accuracy checks no shape: targets of shape (N, 1) broadcast",
         breaks="accuracy.errors", answers={"accuracy_answer": '''
def accuracy(logits, targets):
    return (logits.argmax(dim=-1) == targets).float().mean()
'''}),
    Case("accuracy_shifts_in_place", "accuracy subtracts each row's max from logits in place before comparing",
         breaks="accuracy.pure", answers={"accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    logits -= logits.amax(dim=1, keepdim=True)
    return (logits.argmax(dim=1) == targets).float().mean()
''')}),
    Case("accuracy_uses_softmax", "accuracy takes the argmax of torch.softmax of the logits", breaks="accuracy.not_allowed",
         fails={"accuracy_values", "accuracy_fraction"}, answers={"accuracy_answer": with_checks(CHECKED_ACCURACY, '''
    return (torch.softmax(logits, dim=1).argmax(dim=1) == targets).float().mean()
''')}),

    # ---- built-ins not allowed: each costs the exercise that uses it, with a message naming it
    Case("uses_torch_softmax", "softmax with torch.softmax", fails=SOFTMAX, breaks="softmax.not_allowed", answers={"softmax_answer": '''
def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)
'''}),
    Case("uses_tensor_softmax", "softmax with the tensor method x.softmax", fails=SOFTMAX, answers={"softmax_answer": '''
def softmax(x, dim=-1):
    return x.softmax(dim)
'''}),
    Case("uses_F_softmax", "softmax with torch.nn.functional.softmax", fails=SOFTMAX, answers={"softmax_answer": '''
import torch.nn.functional as F
def softmax(x, dim=-1):
    return F.softmax(x, dim=dim)
'''}),
    Case("uses_torch_log_softmax", "log_softmax with torch.log_softmax",
         fails=LOG_SOFTMAX | CROSS_ENTROPY, breaks="log_softmax.not_allowed",
         answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    return torch.log_softmax(x, dim)
'''}),
    Case("uses_F_log_softmax", "log_softmax with torch.nn.functional.log_softmax", fails=LOG_SOFTMAX,
         answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    return torch.nn.functional.log_softmax(x, dim=dim)
'''}),
    Case("uses_logsumexp", "log_softmax with torch.logsumexp", fails=LOG_SOFTMAX, answers={"log_softmax_answer": '''
def log_softmax(x, dim=-1):
    return x - torch.logsumexp(x, dim=dim, keepdim=True)
'''}),
    Case("uses_F_binary_cross_entropy", "binary_cross_entropy with torch.nn.functional.binary_cross_entropy",
         fails=BCE_VALUES, breaks="binary_cross_entropy.not_allowed", answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    return torch.nn.functional.binary_cross_entropy(p, y)
''')}),
    Case("uses_BCELoss", "binary_cross_entropy with the nn.BCELoss module", fails=BCE_VALUES,
         answers={"binary_cross_entropy_answer": with_checks(CHECKED_BCE, '''
    return torch.nn.BCELoss()(p, y)
''')}),
    Case("uses_F_nll_loss", "nll_loss with torch.nn.functional.nll_loss",
         fails=NLL_VALUES | CROSS_ENTROPY, breaks="nll_loss.not_allowed",
         answers={"nll_loss_answer": with_checks(CHECKED_NLL, '''
    return torch.nn.functional.nll_loss(log_probs, targets)
''')}),
    Case("uses_F_cross_entropy", "cross_entropy with torch.nn.functional.cross_entropy", fails=CROSS_ENTROPY,
         breaks="cross_entropy.not_allowed",
         answers={"cross_entropy_answer": '''
def cross_entropy(logits, targets):
    return torch.nn.functional.cross_entropy(logits, targets)
'''}),
    Case("uses_CrossEntropyLoss", "cross_entropy with the nn.CrossEntropyLoss module", fails=CROSS_ENTROPY,
         answers={"cross_entropy_answer": '''
from torch import nn
loss_module = nn.CrossEntropyLoss()
def cross_entropy(logits, targets):
    return loss_module(logits, targets)
'''}),
]

# A built-in the exercise does not allow works in the student's own kernel, so no check cell
# can catch it; the notebook says, next to the exercise, that the grader refuses it.
for _case in CASES:
    if _case.kind == "mistake" and "uses_" in _case.name:
        _case.hidden_only = "the grader refuses them"
