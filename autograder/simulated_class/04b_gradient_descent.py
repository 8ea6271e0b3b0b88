"""Simulated submissions for 04b_gradient_descent."""
from autograder.simulated_class import Case, with_checks

SGD_ALL = {"sgd_step_update", "sgd_step_zero_grad", "sgd_step_no_graph"}
FIT_VALUES = {"fit_line_values", "fit_line_losses"}

SGD_CHECKS = '''
def sgd_step(params, lr):
    if lr < 0:
        raise ValueError(f"the learning rate must not be negative, got {lr}")
    params = list(params)
    if any(p.grad is None for p in params):
        raise ValueError("every parameter needs a gradient: call backward() first")
'''
NUMERIC_CHECKS = '''
def numeric_grad(f, x, eps=1e-3):
    if not torch.is_floating_point(x):
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
'''
FIT_CHECKS = '''
def fit_line(x, y, lr, steps):
    if x.ndim != 1 or y.shape != x.shape or len(x) == 0:
        raise ValueError(f"x and y must be non-empty vectors of one length, got {tuple(x.shape)} and {tuple(y.shape)}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
'''

REL_CHECKS = '''
def relative_error(a, b):
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"a and b must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
'''
MOMENTUM_CHECKS = '''
def momentum_step(params, velocities, lr, beta=0.9):
    if lr < 0:
        raise ValueError(f"the learning rate must not be negative, got {lr}")
    if not (0 <= beta < 1):
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    params = list(params)
    if len(velocities) != len(params):
        raise ValueError(f"{len(params)} parameters need {len(params)} velocities, got {len(velocities)}")
    if any(p.grad is None for p in params):
        raise ValueError("every parameter needs a gradient: call backward() first")
'''
FIT_BODY = '''
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((a * x + b - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        sgd_step([a, b], lr)
    return a.item(), b.item(), losses
'''
MOMENTUM_BODY = '''
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.mul_(beta).add_(p.grad)
            p -= lr * v
            p.grad.zero_()
'''
ADAM_BODY = '''
    state["step"] += 1
    t = state["step"]
    with torch.no_grad():
        for p, m, v in zip(params, state["m"], state["v"]):
            m.mul_(betas[0]).add_((1 - betas[0]) * p.grad)
            v.mul_(betas[1]).add_((1 - betas[1]) * p.grad ** 2)
            p -= lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
            p.grad.zero_()
'''
ADAM_CHECKS = '''
def adam_step(params, state, lr, betas=(0.9, 0.999), eps=1e-8):
    if lr < 0:
        raise ValueError(f"the learning rate must not be negative, got {lr}")
    if not all(0 <= beta < 1 for beta in betas):
        raise ValueError(f"betas must be in [0, 1), got {betas}")
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    params = list(params)
    if any(p.grad is None for p in params):
        raise ValueError("every parameter needs a gradient: call backward() first")
'''


MOMENTUM_CELLS = {"momentum_step_update", "momentum_step_zero_grad", "momentum_step_no_graph"}
ADAM_CELLS = {"adam_step_update", "adam_step_state", "adam_step_zero_grad", "adam_step_no_graph"}


CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_data_and_formula", "sgd_step through .data with p.grad = None; fit_line with the gradient "
         "derived by hand; numeric_grad moving a flat copy", kind="variant", full=True, answers={
             "relative_error_answer": with_checks(REL_CHECKS, """
    worst = 0.0
    for u, w in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist()):
        worst = max(worst, abs(u - w) / max(abs(u), abs(w), 1e-12))
    return float(worst)
"""),
             "momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    for i, p in enumerate(params):
        velocities[i] = beta * velocities[i] + p.grad
        p.data -= lr * velocities[i]
        p.grad = None
"""),
             "adam_step_answer": with_checks(ADAM_CHECKS, """
    state["step"] = state["step"] + 1
    t = state["step"]
    b1, b2 = betas
    for i, p in enumerate(params):
        g = p.grad
        state["m"][i] = b1 * state["m"][i] + (1 - b1) * g
        state["v"][i] = b2 * state["v"][i] + (1 - b2) * g * g
        m_hat = state["m"][i] / (1 - b1 ** t)
        v_hat = state["v"][i] / (1 - b2 ** t)
        p.data -= lr * m_hat / (torch.sqrt(v_hat) + eps)
        p.grad = None
"""),
             "sgd_step_answer": with_checks(SGD_CHECKS, '''
    for p in params:
        p.data -= lr * p.grad
        p.grad = None
'''),
             "fit_line_answer": with_checks(FIT_CHECKS, '''
    a = torch.tensor(0.0, dtype=x.dtype)
    b = torch.tensor(0.0, dtype=x.dtype)
    losses = []
    for _ in range(steps):
        residual = a * x + b - y
        losses.append(float((residual ** 2).mean()))
        grad_a, grad_b = (2 * residual * x).mean(), (2 * residual).mean()
        a, b = a - lr * grad_a, b - lr * grad_b
    return float(a), float(b), losses
'''),
             "numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    flat = x.detach().clone().reshape(-1)
    grad = torch.empty_like(flat)
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        up = f(flat.reshape(x.shape))
        flat[i] = original - eps
        down = f(flat.reshape(x.shape))
        flat[i] = original
        grad[i] = (up - down) / (2 * eps)
    return grad.reshape(x.shape)
''')}),
    Case("variant_add_and_stack", "sgd_step with add_(alpha=-lr) and zero_(); fit_line with both parameters "
         "in one tensor; numeric_grad building every e_i from an identity matrix", kind="variant", full=True,
         answers={
             "relative_error_answer": with_checks(REL_CHECKS, """
    u, w = a.numpy().astype(np.float64), b.numpy().astype(np.float64)
    if u.size == 0:
        return 0.0
    return float(np.max(np.abs(u - w) / np.maximum(np.maximum(np.abs(u), np.abs(w)), 1e-12)))
"""),
             "momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.mul_(beta)
            v.add_(p.grad)
            p.add_(v, alpha=-lr)
    for p in params:
        p.grad.zero_()
"""),
             "adam_step_answer": with_checks(ADAM_CHECKS, """
    beta1, beta2 = betas
    state["step"] += 1
    correction1 = 1 - beta1 ** state["step"]
    correction2 = 1 - beta2 ** state["step"]
    with torch.no_grad():
        for p, m, v in zip(params, state["m"], state["v"]):
            m.lerp_(p.grad, 1 - beta1)
            v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
            denominator = v.sqrt() / correction2 ** 0.5 + eps
            p.addcdiv_(m, denominator, value=-lr / correction1)
    for p in params:
        p.grad.zero_()
"""),
             "sgd_step_answer": with_checks(SGD_CHECKS, '''
    with torch.no_grad():
        for p in params:
            p.add_(p.grad, alpha=-lr)
    for p in params:
        p.grad.zero_()
'''),
             "fit_line_answer": with_checks(FIT_CHECKS, '''
    w = torch.zeros(2, dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = torch.mean((w[0] * x + w[1] - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        sgd_step([w], lr)
    return w[0].item(), w[1].item(), losses
'''),
             "numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    basis = torch.eye(x.numel(), dtype=x.dtype) * eps
    values = [(f(x + e.reshape(x.shape)) - f(x - e.reshape(x.shape))) / (2 * eps) for e in basis]
    return torch.tensor([float(v) for v in values], dtype=x.dtype).reshape(x.shape)
''')}),
    Case("variant_float64_inside", "numeric_grad dividing in float64 then casting back; sgd_step with "
         "torch.no_grad as a decorator and zeros_like", kind="variant", full=True, answers={
             "relative_error_answer": with_checks(REL_CHECKS, """
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    denominator = torch.stack([a64.abs(), b64.abs(), torch.full_like(a64, 1e-12)]).amax(dim=0)
    ratios = (a64 - b64).abs() / denominator
    return ratios.max().item() if ratios.numel() else 0.0
"""),
             "momentum_step_answer": """
@torch.no_grad()
def momentum_step(params, velocities, lr, beta=0.9):
    if lr < 0 or not 0 <= beta < 1:
        raise ValueError("need lr >= 0 and 0 <= beta < 1, got lr=" + str(lr) + ", beta=" + str(beta))
    if len(velocities) != len(params):
        raise ValueError("one velocity per parameter: " + str(len(params)) + " != " + str(len(velocities)))
    for p in params:
        if p.grad is None:
            raise ValueError("a parameter of shape " + str(tuple(p.shape)) + " has no gradient")
    for index in range(len(params)):
        p, v = params[index], velocities[index]
        v.copy_(beta * v + p.grad)
        p.sub_(lr * v)
        p.grad = torch.zeros_like(p)
""",
             "adam_step_answer": """
@torch.no_grad()
def adam_step(params, state, lr, betas=(0.9, 0.999), eps=1e-8):
    if lr < 0 or eps <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
        raise ValueError("need lr >= 0, eps > 0 and betas in [0, 1), got " + str((lr, betas, eps)))
    for p in params:
        if p.grad is None:
            raise ValueError("a parameter of shape " + str(tuple(p.shape)) + " has no gradient")
    state["step"] += 1
    t = state["step"]
    c1, c2 = 1 - betas[0] ** t, 1 - betas[1] ** t
    for p, m, v in zip(params, state["m"], state["v"]):
        m.copy_(betas[0] * m + (1 - betas[0]) * p.grad)
        v.copy_(betas[1] * v + (1 - betas[1]) * p.grad.square())
        p.sub_(lr * (m / c1) / ((v / c2).sqrt() + eps))
        p.grad = torch.zeros_like(p)
""",
             "sgd_step_answer": '''
@torch.no_grad()
def sgd_step(params, lr):
    if lr < 0:
        raise ValueError("learning rate " + str(lr) + " is negative")
    for p in params:
        if p.grad is None:
            raise ValueError("a parameter of shape " + str(tuple(p.shape)) + " has no gradient")
    for p in params:
        p.sub_(lr * p.grad)
        p.grad = torch.zeros_like(p)
''',
             "numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    grad = torch.zeros(x.shape, dtype=torch.float64)
    for index in torch.cartesian_prod(*[torch.arange(n) for n in x.shape]).reshape(x.numel(), -1).tolist() if x.dim() else [[]]:
        up, down = x.clone(), x.clone()
        up[tuple(index)] += eps
        down[tuple(index)] -= eps
        grad[tuple(index)] = (float(f(up)) - float(f(down))) / (2 * eps)
    return grad.to(x.dtype)
''')}),

    Case("variant_copy_and_autograd_grad", "sgd_step copying the new values in and dropping the gradients; "
         "fit_line with torch.autograd.grad and fresh leaves each step; numeric_grad with one-hot steps, stacked",
         kind="variant", full=True, answers={
             "relative_error_answer": with_checks(REL_CHECKS, """
    u, w = a.double().flatten(), b.double().flatten()
    r = (u - w).abs() / torch.clamp(torch.max(u.abs(), w.abs()), min=1e-12)
    return float(r.max()) if len(r) else 0.0
"""),
             "momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v *= beta
            v += p.grad
            p -= lr * v
            p.grad.mul_(0)
"""),
             "adam_step_answer": with_checks(ADAM_CHECKS, """
    state["step"] = state["step"] + 1
    t = state["step"]
    for i in range(len(params)):
        p, g = params[i], params[i].grad
        with torch.no_grad():
            state["m"][i].mul_(betas[0]).add_(g, alpha=1 - betas[0])
            state["v"][i].mul_(betas[1]).add_(g ** 2, alpha=1 - betas[1])
            m_hat = state["m"][i] / (1 - betas[0] ** t)
            v_hat = state["v"][i] / (1 - betas[1] ** t)
            p -= lr * m_hat / (v_hat ** 0.5 + eps)
        g.mul_(0)
"""),
             "sgd_step_answer": with_checks(SGD_CHECKS, '''
    with torch.no_grad():
        for p in params:
            p.copy_(p - lr * p.grad)
    for p in params:
        p.grad = None
'''),
             "fit_line_answer": with_checks(FIT_CHECKS, '''
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(a * x + b, y)
        losses.append(float(loss))
        grad_a, grad_b = torch.autograd.grad(loss, [a, b])
        a = (a - lr * grad_a).detach().requires_grad_(True)
        b = (b - lr * grad_b).detach().requires_grad_(True)
    return float(a), float(b), losses
'''),
             "numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    flat = x.reshape(-1)
    slopes = []
    for i in range(flat.numel()):
        e = torch.nn.functional.one_hot(torch.tensor(i), flat.numel()).to(x.dtype) * eps
        slope = (f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / (2 * eps)
        slopes.append(torch.as_tensor(slope, dtype=x.dtype))
    return torch.stack(slopes).reshape(x.shape)
''')}),
    Case("variant_numpy_indices", "sgd_step through the gradients' zip, zeroing with mul_(0); fit_line with the "
         "squared residuals summed and divided and a while loop; numeric_grad over numpy's ndindex", kind="variant",
         full=True, answers={
             "sgd_step_answer": with_checks(SGD_CHECKS, '''
    grads = [p.grad for p in params]
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(g, alpha=lr)
            g.mul_(0)
'''),
             "fit_line_answer": with_checks(FIT_CHECKS, '''
    params = [torch.tensor(0.0, dtype=x.dtype).requires_grad_(), torch.tensor(0.0, dtype=x.dtype).requires_grad_()]
    losses = []
    step = 0
    while step < steps:
        residual = params[0] * x + params[1] - y
        loss = (residual * residual).sum() / len(x)
        losses.append(loss.item())
        loss.backward()
        sgd_step(params, lr)
        step += 1
    return params[0].item(), params[1].item(), losses
'''),
             "numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    grad = np.zeros(tuple(x.shape), dtype=np.float64)
    for index in np.ndindex(*x.shape):
        up, down = x.clone(), x.clone()
        up[index] += eps
        down[index] -= eps
        grad[index] = (float(f(up)) - float(f(down))) / (2 * eps)
    return torch.from_numpy(grad).to(x.dtype)
''')}),

    # ---- typical mistakes: each loses the cells of the property it breaks
    Case("lr_ignored", "sgd_step forgets the learning rate: p -= p.grad", fails={"sgd_step_update"} | FIT_VALUES,
         breaks="sgd_step.update", answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    with torch.no_grad():
        for p in params:
            p -= p.grad
            p.grad.zero_()
''')}),
    Case("gradients_not_zeroed", "sgd_step never zeroes the gradients, so they pile up",
         fails={"sgd_step_zero_grad"} | FIT_VALUES, breaks="sgd_step.zero_grad", answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
''')}),
    Case("update_outside_no_grad", "sgd_step updates in place without torch.no_grad(): torch refuses",
         fails=SGD_ALL | FIT_VALUES, answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    for p in params:
        p -= lr * p.grad
        p.grad.zero_()
''')}),
    Case("update_rebinds", "sgd_step writes p = p - lr * p.grad: a new tensor, the parameter never changes",
         fails={"sgd_step_update"} | FIT_VALUES, answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    for p in params:
        p = p - lr * p.grad
    for p in params:
        p.grad.zero_()
''')}),
    Case("requires_grad_switched_off", "sgd_step turns requires_grad off to update and never back on",
         breaks="sgd_step.no_graph", fails=FIT_VALUES | {"fit_line_pure"}, answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    for p in params:
        p.requires_grad_(False)
        p -= lr * p.grad
        p.grad.zero_()
''')}),
    Case("sgd_no_checks", "sgd_step checks neither the learning rate nor the gradients", breaks="sgd_step.errors", answers={"sgd_step_answer": '''
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()
'''}),
    Case("fit_line_loss_after_step", "fit_line records the loss after each step instead of before",
         breaks="fit_line.losses", answers={"fit_line_answer": with_checks(FIT_CHECKS, '''
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(steps):
        ((a * x + b - y) ** 2).mean().backward()
        sgd_step([a, b], lr)
        with torch.no_grad():
            losses.append(((a * x + b - y) ** 2).mean().item())
    return a.item(), b.item(), losses
''')}),
    Case("fit_line_one_step_short", "fit_line loops over range(steps - 1)", fails=FIT_VALUES,
         breaks="fit_line.descent", answers={"fit_line_answer": with_checks(FIT_CHECKS, '''
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(steps - 1):
        loss = ((a * x + b - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        sgd_step([a, b], lr)
    return a.item(), b.item(), losses
''')}),
    Case("fit_line_no_checks", "fit_line checks no shapes and accepts negative steps", fails={"fit_line_errors"},
         answers={"fit_line_answer": '''
def fit_line(x, y, lr, steps):
''' + FIT_BODY}),
    # ---- one stated rule broken each (issue 24): each loses that rule's points only
    Case("fit_line_accepts_empty", "fit_line checks shapes and steps but lets empty x and y through (the "
         "notebook says their lengths must not be 0)", breaks="fit_line.errors", answers={"fit_line_answer": '''
def fit_line(x, y, lr, steps):
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"x and y must be vectors of one length, got {tuple(x.shape)} and {tuple(y.shape)}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
''' + FIT_BODY}),
    Case("fit_line_accepts_matrices", "fit_line checks that x and y have one shape, not empty, not 0-d, so two "
         "matrices of one shape pass (the notebook says 1-d)", breaks="fit_line.errors", answers={"fit_line_answer": '''
def fit_line(x, y, lr, steps):
    if x.shape != y.shape or x.numel() == 0 or x.dim() == 0:
        raise ValueError(f"x and y must be of one shape and not empty, got {tuple(x.shape)} and {tuple(y.shape)}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
''' + FIT_BODY}),
    Case("fit_line_returns_tensors", "fit_line returns a and b as 0-d tensors and the losses as tensors (the "
         "notebook says Python floats, .item())", fails=FIT_VALUES, rest_full=True, breaks="fit_line.floats", answers={"fit_line_answer": with_checks(FIT_CHECKS, '''
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((a * x + b - y) ** 2).mean()
        losses.append(loss.detach())
        loss.backward()
        sgd_step([a, b], lr)
    return a.detach(), b.detach(), losses
''')}),
    Case("fit_line_in_float32", "fit_line computes in float32 whatever x's dtype (the notebook says x's dtype)",
         breaks="fit_line.dtype", answers={"fit_line_answer": with_checks(FIT_CHECKS, '''
    x32, y32 = x.float(), y.float()
    a = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((a * x32 + b - y32) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        sgd_step([a, b], lr)
    return a.item(), b.item(), losses
''')}),
    Case("numeric_grad_flattens_x", "numeric_grad calls f on a flattened copy of x (the notebook says f is always "
         "called with the whole tensor)", breaks="numeric_grad.whole_tensor", answers={"numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    flat = x.reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        grad[i] = (float(f(flat + step)) - float(f(flat - step))) / (2 * eps)
    return grad.reshape(x.shape)
''')}),
    Case("one_sided_differences", "numeric_grad with the one-sided difference (f(x + eps e_i) - f(x)) / eps",
         breaks="numeric_grad.central_difference", answers={"numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        step = torch.zeros_like(x)
        step.view(-1)[i] = eps
        grad.view(-1)[i] = (f(x + step) - f(x)) / eps
    return grad
''')}),
    Case("numeric_grad_by_autograd", "numeric_grad asks autograd instead of taking differences",
         breaks="numeric_grad.no_autograd", fails={"numeric_grad_shape", "numeric_grad_pure"}, answers={"numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    x = x.detach().clone().requires_grad_(True)
    value = f(x)
    value.backward()
    return x.grad
''')}),
    Case("numeric_grad_moves_x", "numeric_grad moves the entries of x itself and back", breaks="numeric_grad.pure", answers={"numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    grad = torch.zeros_like(x)
    flat = x.view(-1)
    for i in range(x.numel()):
        flat[i] += eps
        up = f(x)
        flat[i] -= 2 * eps
        down = f(x)
        flat[i] += eps
        grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad
''')}),
    Case("numeric_grad_moves_a_double_alias", "numeric_grad works on x.double() for precision, moving its entries "
         "and back: for a float64 x that is x itself, not a copy", breaks="numeric_grad.pure",
         answers={"numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    xd = x.double()
    grad = torch.zeros_like(xd)
    flat = xd.view(-1)
    for i in range(flat.numel()):
        flat[i] += eps
        up = float(f(xd))
        flat[i] -= eps
        flat[i] -= eps
        down = float(f(xd))
        flat[i] += eps
        grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad.to(x.dtype)
''')}),
    Case("numeric_grad_rows_matrix", "numeric_grad works on x as a matrix of rows, x.reshape(len(x), -1), and "
         "calls f with that matrix (the notebook says f gets the whole tensor, shaped like x)",
         breaks="numeric_grad.whole_tensor", answers={"numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    if x.dim() == 0:
        return numeric_grad(lambda t: f(t.reshape(())), x.reshape(1), eps).reshape(())
    m = x.reshape(len(x), -1)
    grad = torch.zeros_like(m)
    for r in range(m.shape[0]):
        for c in range(m.shape[1]):
            step = torch.zeros_like(m)
            step[r, c] = eps
            grad[r, c] = (f(m + step) - f(m - step)) / (2 * eps)
    return grad.reshape(x.shape)
''')}),
    Case("numeric_grad_eps_per_dtype", "numeric_grad's default eps is 1e-3 for float64 but 1e-2 for float32 (the "
         "notebook says 1e-3)", breaks="numeric_grad.central_difference", answers={"numeric_grad_answer": '''
def numeric_grad(f, x, eps=None):
    if eps is None:
        eps = 1e-3 if x.dtype == torch.float64 else 1e-2
    if not torch.is_floating_point(x):
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        step = torch.zeros_like(x)
        step.view(-1)[i] = eps
        grad.view(-1)[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad
'''}),
    Case("numeric_grad_flat", "numeric_grad returns the gradient flattened", breaks="numeric_grad.shape_dtype", answers={"numeric_grad_answer": with_checks(NUMERIC_CHECKS, '''
    grad = torch.zeros(x.numel(), dtype=x.dtype)
    for i in range(x.numel()):
        step = torch.zeros_like(x)
        step.view(-1)[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad
''')}),
    Case("numeric_grad_no_checks", "numeric_grad accepts eps <= 0 and integer x", breaks="numeric_grad.errors", answers={"numeric_grad_answer": '''
def numeric_grad(f, x, eps=1e-3):
    grad = torch.zeros(x.shape, dtype=torch.float64 if not x.is_floating_point() else x.dtype)
    for i in range(x.numel()):
        step = torch.zeros(x.shape, dtype=grad.dtype)
        step.view(-1)[i] = eps
        grad.view(-1)[i] = (f(x + step) - f(x - step)) / (2 * eps) if eps else 0.0
    return grad
'''}),

    Case("sgd_step_casts_to_float32", "sgd_step stores each new value as float32 (the notebook says each parameter "
         "keeps its dtype); fit_line, which uses it, then leaves float64", breaks="sgd_step.dtype",
         fails={"fit_line_values"}, answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    with torch.no_grad():
        for p in params:
            p.data = (p - lr * p.grad).float()
            p.grad = None
''')}),
    Case("fit_line_centres_x_in_place", "fit_line centres x in place before fitting (the notebook says do not modify "
         "x or y), and undoes nothing", breaks="fit_line.pure", answers={"fit_line_answer": with_checks(FIT_CHECKS, '''
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    shift = x.mean()
    x -= shift
    losses = []
    for _ in range(steps):
        loss = ((a * (x + shift) + b - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        sgd_step([a, b], lr)
    return a.item(), b.item(), losses
''')}),
    # ---- relative_error
    Case("relative_error_cs231n_sum", "relative_error divides by |a| + |b| (CS231n's code), not by the larger of them as "
         "the notebook states", breaks="relative_error.values", answers={"relative_error_answer": with_checks(REL_CHECKS, """
    if a.numel() == 0:
        return 0.0
    a, b = a.double(), b.double()
    return ((a - b).abs() / (a.abs() + b.abs()).clamp(min=1e-12)).max().item()
""")}),
    Case("relative_error_returns_tensor", "relative_error returns a 0-d tensor, not a Python float",
         fails={"relative_error_values"}, rest_full=True, answers={"relative_error_answer": with_checks(REL_CHECKS, """
    if a.numel() == 0:
        return torch.tensor(0.0)
    a, b = a.double(), b.double()
    return ((a - b).abs() / torch.maximum(a.abs(), b.abs()).clamp(min=1e-12)).max()
""")}),
    Case("relative_error_casts_to_a", "relative_error converts b to a's dtype (an integer a rounds 2.5 to 2)",
         breaks="relative_error.dtype", answers={"relative_error_answer": with_checks(REL_CHECKS, """
    if a.numel() == 0:
        return 0.0
    b = b.to(a.dtype)
    scale = torch.maximum(a.abs(), b.abs()).double().clamp(min=1e-12)
    return ((a - b).abs().double() / scale).max().item()
""")}),
    Case("relative_error_broadcasts", "relative_error checks no shapes: broadcastable shapes give a number, others a "
         "RuntimeError", breaks="relative_error.errors", answers={"relative_error_answer": """
def relative_error(a, b):
    if a.numel() == 0 and b.numel() == 0:
        return 0.0
    a, b = a.double(), b.double()
    return ((a - b).abs() / torch.maximum(a.abs(), b.abs()).clamp(min=1e-12)).max().item()
"""}),
    Case("relative_error_abs_in_place", "relative_error takes abs_() in place: .double() of a float64 tensor is that "
         "tensor, so the caller's a and b lose their signs", breaks="relative_error.pure",
         answers={"relative_error_answer": with_checks(REL_CHECKS, """
    if a.numel() == 0:
        return 0.0
    a, b = a.double(), b.double()
    difference = (a - b).abs()
    return (difference / torch.maximum(a.abs_(), b.abs_()).clamp(min=1e-12)).max().item()
""")}),
    # ---- momentum_step
    Case("momentum_velocity_rebound", "momentum_step computes v = beta * v + g into a local name: the velocities never "
         "build up, every step is a plain SGD step", breaks="momentum_step.update",
         answers={"momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v = beta * v + p.grad
            p -= lr * v
            p.grad.zero_()
""")}),
    Case("momentum_dampened", "momentum_step averages, v = beta * v + (1 - beta) * g (torch's dampening), instead of "
         "summing as the notebook states", fails={"momentum_step_update"}, rest_full=True,
         answers={"momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.mul_(beta).add_((1 - beta) * p.grad)
            p -= lr * v
            p.grad.zero_()
""")}),
    Case("momentum_gradients_not_zeroed", "momentum_step never zeroes the gradients", breaks="momentum_step.zero_grad",
         answers={"momentum_step_answer": with_checks(MOMENTUM_CHECKS, MOMENTUM_BODY.replace("            p.grad.zero_()\n", ""))}),
    Case("momentum_requires_grad_switched_off", "momentum_step turns requires_grad off to update and never back on",
         breaks="momentum_step.no_graph", answers={"momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    for p, v in zip(params, velocities):
        p.requires_grad_(False)
        v.mul_(beta).add_(p.grad)
        p -= lr * v
        p.grad.zero_()
""")}),
    Case("momentum_casts_to_float32", "momentum_step stores each new parameter as float32 (the notebook says each keeps "
         "its dtype)", breaks="momentum_step.dtype", answers={"momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.mul_(beta).add_(p.grad)
            p.data = (p - lr * v).float()
            p.grad = None
""")}),
    Case("momentum_no_checks", "momentum_step checks neither lr, beta, the gradients nor the velocities' count",
         breaks="momentum_step.errors", answers={"momentum_step_answer": """
def momentum_step(params, velocities, lr, beta=0.9):""" + MOMENTUM_BODY}),
    Case("momentum_uses_torch_optim", "momentum_step with torch.optim.SGD(momentum=beta), its buffers set from the "
         "velocities", breaks="momentum_step.not_allowed", fails=MOMENTUM_CELLS, hidden_only="the grader refuses it",
         answers={"momentum_step_answer": with_checks(MOMENTUM_CHECKS, """
    optimizer = torch.optim.SGD(params, lr=lr, momentum=beta)
    for p, v in zip(params, velocities):
        optimizer.state[p]["momentum_buffer"] = v
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
""")}),
    Case("momentum_default_beta_0_99", "momentum_step's beta defaults to 0.99, not the 0.9 the signature states",
         breaks="momentum_step.signature", answers={"momentum_step_answer": with_checks(
             MOMENTUM_CHECKS.replace("beta=0.9", "beta=0.99"), MOMENTUM_BODY)}),
    # ---- adam_step
    Case("adam_moments_rebound", "adam_step computes m and v into local names: the averages are never stored, so every "
         "step starts from zero", breaks="adam_step.state", answers={"adam_step_answer": with_checks(ADAM_CHECKS, """
    state["step"] += 1
    t = state["step"]
    with torch.no_grad():
        for p, m, v in zip(params, state["m"], state["v"]):
            m = betas[0] * m + (1 - betas[0]) * p.grad
            v = betas[1] * v + (1 - betas[1]) * p.grad ** 2
            p -= lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
            p.grad.zero_()
""")}),
    Case("adam_default_eps_1e-6", "adam_step's eps defaults to 1e-6, not the 1e-8 the signature states (it shows "
         "only where gradients are as small as eps)", breaks="adam_step.signature",
         answers={"adam_step_answer": with_checks(ADAM_CHECKS.replace("eps=1e-8", "eps=1e-6"), ADAM_BODY)}),
    Case("adam_default_betas_0_8_0_99", "adam_step's betas default to (0.8, 0.99), not the (0.9, 0.999) the signature "
         "states", breaks="adam_step.signature",
         answers={"adam_step_answer": with_checks(ADAM_CHECKS.replace("(0.9, 0.999)", "(0.8, 0.99)"), ADAM_BODY)}),
    Case("adam_no_bias_correction", "adam_step steps along m / (sqrt(v) + eps), without the bias correction",
         breaks="adam_step.update", answers={"adam_step_answer": with_checks(ADAM_CHECKS, """
    state["step"] += 1
    with torch.no_grad():
        for p, m, v in zip(params, state["m"], state["v"]):
            m.mul_(betas[0]).add_((1 - betas[0]) * p.grad)
            v.mul_(betas[1]).add_((1 - betas[1]) * p.grad ** 2)
            p -= lr * m / (v.sqrt() + eps)
            p.grad.zero_()
""")}),
    Case("adam_eps_inside_sqrt", "adam_step divides by sqrt(v_hat + eps) instead of sqrt(v_hat) + eps",
         fails={"adam_step_update"}, rest_full=True, answers={"adam_step_answer": with_checks(ADAM_CHECKS, ADAM_BODY.replace(
             "((v / (1 - betas[1] ** t)).sqrt() + eps)", "(v / (1 - betas[1] ** t) + eps).sqrt()"))}),
    Case("adam_step_counted_after", "adam_step adds 1 to the step count after the update, so the first step divides "
         "by 1 - beta ** 0 = 0", fails={"adam_step_update"}, rest_full=True, answers={"adam_step_answer": with_checks(
             ADAM_CHECKS, ADAM_BODY.replace('    state["step"] += 1\n', "", 1) + '    state["step"] += 1\n')}),
    Case("adam_gradients_not_zeroed", "adam_step never zeroes the gradients", breaks="adam_step.zero_grad",
         answers={"adam_step_answer": with_checks(ADAM_CHECKS, ADAM_BODY.replace("            p.grad.zero_()\n", ""))}),
    Case("adam_requires_grad_switched_off", "adam_step turns requires_grad off to update and never back on",
         breaks="adam_step.no_graph", answers={"adam_step_answer": with_checks(ADAM_CHECKS, """
    state["step"] += 1
    t = state["step"]
    for p, m, v in zip(params, state["m"], state["v"]):
        p.requires_grad_(False)
        m.mul_(betas[0]).add_((1 - betas[0]) * p.grad)
        v.mul_(betas[1]).add_((1 - betas[1]) * p.grad ** 2)
        p -= lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
        p.grad.zero_()
""")}),
    Case("adam_casts_to_float32", "adam_step stores each new parameter as float32 (the notebook says each keeps its "
         "dtype)", breaks="adam_step.dtype", answers={"adam_step_answer": with_checks(ADAM_CHECKS, """
    state["step"] += 1
    t = state["step"]
    with torch.no_grad():
        for p, m, v in zip(params, state["m"], state["v"]):
            m.mul_(betas[0]).add_((1 - betas[0]) * p.grad)
            v.mul_(betas[1]).add_((1 - betas[1]) * p.grad ** 2)
            p.data = (p - lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)).float()
            p.grad = None
""")}),
    Case("adam_no_checks", "adam_step checks neither lr, betas, eps nor the gradients", breaks="adam_step.errors",
         answers={"adam_step_answer": """
def adam_step(params, state, lr, betas=(0.9, 0.999), eps=1e-8):
    state["step"] += 1
    t = state["step"]
    with torch.no_grad():
        for p, m, v in zip(params, state["m"], state["v"]):
            if p.grad is None:
                continue
            m.mul_(betas[0]).add_((1 - betas[0]) * p.grad)
            v.mul_(betas[1]).add_((1 - betas[1]) * p.grad ** 2)
            p -= lr * (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
            p.grad.zero_()
"""}),
    Case("adam_uses_torch_optim", "adam_step with torch.optim.Adam, its state copied in and out",
         breaks="adam_step.not_allowed", fails=ADAM_CELLS, hidden_only="the grader refuses it",
         answers={"adam_step_answer": with_checks(ADAM_CHECKS, """
    optimizer = torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
    for p, m, v in zip(params, state["m"], state["v"]):
        optimizer.state[p] = {"step": torch.tensor(float(state["step"])), "exp_avg": m, "exp_avg_sq": v}
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    state["step"] += 1
""")}),
    Case("adam_uses_functional_adam", "adam_step with torch.optim's functional adam (torch.optim.adam.adam), "
         "on its own state", fails=ADAM_CELLS, hidden_only="the grader refuses it",
         answers={"adam_step_answer": "from torch.optim.adam import adam as functional_adam\n" + with_checks(ADAM_CHECKS, """
    steps = [torch.tensor(float(state["step"])) for _ in params]
    with torch.no_grad():
        functional_adam(params, [p.grad for p in params], state["m"], state["v"], [], steps, foreach=False,
                        amsgrad=False, beta1=betas[0], beta2=betas[1], lr=lr, weight_decay=0.0, eps=eps,
                        maximize=False)
    for p in params:
        p.grad.zero_()
    state["step"] += 1
""")}),

    # ---- built-ins not allowed
    Case("uses_torch_optim", "sgd_step with torch.optim.SGD", fails=SGD_ALL | FIT_VALUES | {"fit_line_pure"},
         hidden_only="the grader refuses it", breaks="sgd_step.not_allowed", answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    optimizer = torch.optim.SGD(params, lr=lr)
    optimizer.step()
    optimizer.zero_grad()
''')}),
    Case("fit_line_uses_torch_optim", "fit_line steps with torch.optim.SGD instead of sgd_step",
         breaks="fit_line.not_allowed", fails=FIT_VALUES | {"fit_line_pure"}, hidden_only="the grader refuses it",
         answers={"fit_line_answer": with_checks(FIT_CHECKS, '''
    a = torch.zeros((), dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.SGD([a, b], lr=lr)
    losses = []
    for _ in range(steps):
        loss = ((a * x + b - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return a.item(), b.item(), losses
''')}),

    # ---- attacks: they must gain nothing
    Case("swallows_optim_refusal", "sgd_step tries torch.optim.SGD, catches the refusal and does nothing else",
         kind="attack", same_as="uses_torch_optim", fails=SGD_ALL | FIT_VALUES, answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    try:
        optimizer = torch.optim.SGD(params, lr=lr)
        optimizer.step()
        optimizer.zero_grad()
    except Exception:
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
''')}),
    Case("optim_step_called_from_c", "sgd_step runs torch.optim.SGD's step through map and functools.partial "
         "(called from C: the grader sees the step's Python frame without a torch-function mode)", kind="attack",
         same_as="uses_torch_optim", fails=SGD_ALL | FIT_VALUES | {"fit_line_pure"},
         answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    import functools
    optimizer = torch.optim.SGD(params, lr=lr)
    list(map(functools.partial(type(optimizer).step), [optimizer]))
    optimizer.zero_grad()
''')}),
    Case("forged_gradients", "gradients never zeroed, and torch.Tensor.grad replaced so that they read as None "
         "after each step", kind="attack", fails={"sgd_step_zero_grad"},
         answers={"sgd_step_answer": with_checks(SGD_CHECKS, '''
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    for p in params:
        _STEPPED.add(id(p))
    if not isinstance(torch.Tensor.__dict__.get("grad"), _ForgedGrad):
        torch.Tensor.grad = _ForgedGrad(torch._C.TensorBase.grad)


_STEPPED = set()


class _ForgedGrad:
    """Reads None for a stepped parameter, the real gradient for everything else."""
    def __init__(self, real):
        self.real = real
    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if id(obj) in _STEPPED:
            return None
        return self.real.__get__(obj, owner)
    def __set__(self, obj, value):
        _STEPPED.discard(id(obj))
        self.real.__set__(obj, value)
''')}),
]
