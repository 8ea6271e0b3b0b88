"""Simulated submissions for 04_matmul."""
from autograder.simulated_class import Case, with_checks

MATVEC_VALUES = {"matvec_values", "matvec_integer", "matvec_pure"}
MATMUL_VALUES = {"matmul_values", "matmul_integer", "matmul_pure"}
BATCHED_VALUES = {"batched_matmul_same_batch", "batched_matmul_broadcast"}
MARKOV_STEP_VALUES = {"markov_step_example", "markov_step_values"}
SHOP_VALUES = {"shop_totals_example", "shop_totals_values"}
MARKOV_AFTER_VALUES = {"markov_after_example", "markov_after_years"}
CHECKED_MARKOV_STEP = '''
def markov_step(state, transition):
    if transition.dim() != 2 or transition.shape[0] != transition.shape[1] or state.shape != transition.shape[:1]:
        raise ValueError(f"need state (n,) and transition (n, n), got {tuple(state.shape)} and {tuple(transition.shape)}")
'''
CHECKED_SHOP = '''
def shop_totals(quantities, prices):
    if quantities.dim() != 2 or prices.dim() != 2 or quantities.shape[1] != prices.shape[0]:
        raise ValueError(f"{tuple(quantities.shape)} quantities and {tuple(prices.shape)} prices: the items differ")
'''

CHECKED_MATVEC = '''
def matvec(m, v):
    if m.dim() != 2 or v.dim() != 1 or m.shape[1] != v.shape[0]:
        raise ValueError(f"expected (n, k) and (k,), got {tuple(m.shape)} and {tuple(v.shape)}")
'''
CHECKED_MATMUL = '''
def matmul(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"expected (n, k) and (k, p), got {tuple(a.shape)} and {tuple(b.shape)}")
'''
CHECKED_BATCHED = '''
def batched_matmul(a, b):
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"expected (..., n, k) and (..., k, p), got {tuple(a.shape)} and {tuple(b.shape)}")
    try:
        torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except RuntimeError:
        raise ValueError(f"batch axes of {tuple(a.shape)} and {tuple(b.shape)} do not broadcast")
'''


CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_loops", "loops: matvec row by row, matmul column by column, batches flattened and looped, "
         "markov_after by repeated squaring, shop bills person by person", kind="variant", full=True, answers={
             "markov_step_answer": '''
def markov_step(state, transition):
    n = state.shape[0] if state.dim() == 1 else -1
    if tuple(transition.shape) != (n, n):
        raise ValueError(f"markov_step: a state {tuple(state.shape)} needs an (n, n) transition, got {tuple(transition.shape)}")
    return torch.stack([(state * transition[:, j]).sum() for j in range(n)])
''',
             "matvec_answer": with_checks(CHECKED_MATVEC, '''
    return torch.stack([(row * v).sum() for row in m])
'''),
             "matmul_answer": with_checks(CHECKED_MATMUL, '''
    return torch.stack([matvec(a, b[:, j]) for j in range(b.shape[1])], dim=1)
'''),
             "batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a_all = a.expand(batch + a.shape[-2:]).reshape(-1, *a.shape[-2:])
    b_all = b.expand(batch + b.shape[-2:]).reshape(-1, *b.shape[-2:])
    out = torch.stack([matmul(x, y) for x, y in zip(a_all, b_all)])
    return out.reshape(batch + (a.shape[-2], b.shape[-1]))
'''),
             "markov_after_answer": '''
def markov_after(state, transition, years):
    power = None                  # transition ** years, by repeated squaring
    square = transition
    while years > 0:
        if years % 2:
            power = square if power is None else matmul(power, square)
        square = matmul(square, square)
        years //= 2
    if power is None:
        return state.clone()
    return markov_step(state, power)
''',
             "shop_totals_answer": '''
def shop_totals(quantities, prices):
    if quantities.shape[1] != prices.shape[0]:
        raise ValueError(f"{quantities.shape[1]} items bought but {prices.shape[0]} items priced")
    return torch.stack([(q[:, None] * prices).sum(dim=0) for q in quantities])
'''}),
    Case("variant_transposed", "transposed broadcasts: rows of a against columns of b, the state broadcast "
         "down the rows, the shop product computed transposed", kind="variant", full=True, answers={
             "matvec_answer": with_checks(CHECKED_MATVEC, '''
    return torch.sum(v[None, :] * m, dim=-1)
'''),
             "matmul_answer": with_checks(CHECKED_MATMUL, '''
    return (a[:, None, :] * b.T[None, :, :]).sum(dim=-1)
'''),
             "batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    return (a.unsqueeze(-2) * b.transpose(-1, -2).unsqueeze(-3)).sum(dim=-1)
'''),
             "markov_step_answer": '''
def markov_step(state, transition):
    if transition.ndim != 2 or transition.shape[0] != transition.shape[1] or state.shape != transition.shape[:1]:
        raise ValueError(f"need state (n,) and transition (n, n), got {tuple(state.shape)} and {tuple(transition.shape)}")
    return (state[:, None] * transition).sum(dim=0)
''',
             "shop_totals_answer": '''
def shop_totals(quantities, prices):
    return matmul(prices.T, quantities.T).T
'''}),
    Case("variant_float64", "float64 inside for floats (integers kept exact), batches by reshaping, "
         "markov_after by recursion", kind="variant", full=True, answers={
             "matvec_answer": with_checks(CHECKED_MATVEC, '''
    if m.is_floating_point():
        return (m.double() * v.double()).sum(1).to(m.dtype)
    return (m * v).sum(1)
'''),
             "matmul_answer": with_checks(CHECKED_MATMUL, '''
    if a.is_floating_point():
        return torch.sum(a.double().unsqueeze(2) * b.double().unsqueeze(0), 1).to(a.dtype)
    return torch.sum(a.unsqueeze(2) * b.unsqueeze(0), 1)
'''),
             "batched_matmul_answer": '''
def batched_matmul(a, b):
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ValueError("both inputs need at least 2 dimensions, got " + str(list(a.shape)) + " and " + str(list(b.shape)))
    n, k = a.shape[-2:]
    k2, p = b.shape[-2:]
    if k != k2:
        raise ValueError(f"inner sizes {k} and {k2} differ")
    try:
        prod = a[..., :, :, None] * b[..., None, :, :]
    except RuntimeError as e:
        raise ValueError(f"batch axes do not broadcast: {e}")
    return prod.sum(-2)
''',
             "markov_after_answer": '''
def markov_after(state, transition, years):
    if years == 0:
        return state.detach().clone()
    return markov_step(markov_after(state, transition, years - 1), transition)
'''}),
    Case("variant_reuse_matvec", "every product built on matvec, validation in another order, a recursive "
         "markov_after", kind="variant", full=True, answers={
             "matvec_answer": '''
def matvec(m, v):
    if v.dim() != 1:
        raise ValueError(f"matvec: v must be a vector, got shape {tuple(v.shape)}")
    if m.dim() != 2:
        raise ValueError(f"matvec: m must be a matrix, got shape {tuple(m.shape)}")
    if len(v) != m.shape[-1]:
        raise ValueError(f"matvec: m has {m.shape[-1]} columns but v has {len(v)} entries")
    return m.mul(v).sum(-1)
''',
             "matmul_answer": '''
def matmul(a, b):
    if a.dim() != 2 or b.dim() != 2:
        raise ValueError(f"matmul: two matrices please, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul: {tuple(a.shape)} by {tuple(b.shape)}: the inner sizes differ")
    return torch.stack([matvec(b.T, row) for row in a])
''',
             "batched_matmul_answer": '''
def batched_matmul(a, b):
    if min(a.dim(), b.dim()) < 2:
        raise ValueError(f"batched_matmul needs two stacks of matrices, got {tuple(a.shape)} and {tuple(b.shape)}")
    try:
        torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except RuntimeError as error:
        raise ValueError(f"batched_matmul: the batch axes do not broadcast ({error})") from None
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"batched_matmul: inner sizes {a.shape[-1]} and {b.shape[-2]} differ")
    return (a.unsqueeze(-2) * b.transpose(-1, -2).unsqueeze(-3)).sum(-1)
''',
             "markov_step_answer": '''
def markov_step(state, transition):
    if transition.dim() != 2 or transition.shape[0] != transition.shape[1] or state.shape != transition.shape[:1]:
        raise ValueError(f"markov_step: state {tuple(state.shape)} and transition {tuple(transition.shape)} "
                         f"should be (n,) and (n, n)")
    return matvec(transition.T, state)
''',
             "markov_after_answer": '''
def markov_after(state, transition, years):
    if years == 0:
        return state.clone()
    return markov_after(markov_step(state, transition), transition, years - 1)
''',
             "shop_totals_answer": '''
def shop_totals(quantities, prices):
    # matvec refuses mismatched item counts with a ValueError
    return torch.stack([matvec(quantities, prices[:, shop]) for shop in range(prices.shape[1])], dim=1)
'''}),
    Case("variant_float64_sums", "float64 sums for floats (integers kept exact), rows one at a time, the "
         "transition matrix raised to a power with matmul", kind="variant", full=True, answers={
             "matvec_answer": '''
def matvec(m, v):
    if m.ndim != 2 or v.ndim != 1 or m.size(1) != v.size(0):
        raise ValueError(f"matvec: (n, k) times (k,), got {tuple(m.shape)} times {tuple(v.shape)}")
    if m.is_floating_point():
        return (m.double() * v.double()).sum(dim=1)
    return (m * v).sum(dim=1)
''',
             "matmul_answer": '''
def matmul(a, b):
    if a.ndim != 2 or b.ndim != 2 or a.size(1) != b.size(0):
        raise ValueError(f"matmul: (n, k) times (k, p), got {tuple(a.shape)} times {tuple(b.shape)}")
    return torch.stack([(a[i].unsqueeze(1) * b).sum(0) for i in range(a.size(0))])
''',
             "batched_matmul_answer": '''
def batched_matmul(a, b):
    if a.ndim < 2 or b.ndim < 2 or a.size(-1) != b.size(-2):
        raise ValueError(f"batched_matmul: (..., n, k) times (..., k, p), got {tuple(a.shape)} and {tuple(b.shape)}")
    try:
        return a.unsqueeze(-1).mul(b.unsqueeze(-3)).sum(-2)
    except RuntimeError:
        raise ValueError(f"batched_matmul: batch axes {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} do not broadcast") from None
''',
             "markov_step_answer": '''
def markov_step(state, transition):
    n = len(transition)
    if transition.shape != (n, n) or state.shape != (n,):
        raise ValueError(f"markov_step: need a state (n,) and a square transition (n, n), got "
                         f"{tuple(state.shape)} and {tuple(transition.shape)}")
    return torch.sum(state.reshape(-1, 1) * transition, dim=0, dtype=torch.float64)
''',
             "markov_after_answer": '''
def markov_after(state, transition, years):
    if transition.dim() != 2 or transition.shape[0] != transition.shape[1]:
        raise ValueError(f"markov_after: the transition matrix must be square, got {tuple(transition.shape)}")
    power = torch.eye(len(transition), dtype=transition.dtype)
    for _ in range(years):
        power = matmul(power, transition)
    return matvec(power.T, state)
''',
             "shop_totals_answer": '''
def shop_totals(quantities, prices):
    if quantities.shape[-1] != prices.shape[0]:
        raise ValueError(f"shop_totals: {quantities.shape[-1]} items in quantities, {prices.shape[0]} in prices")
    return (quantities.unsqueeze(2) * prices.unsqueeze(0)).sum(1)
'''}),

    # ---- typical mistakes: each loses the cell of the property it breaks
    Case("matvec_wrong_axis", "matrix-vector product summed over axis 0", breaks="matvec.values",
         answers={"matvec_answer": with_checks(CHECKED_MATVEC, '''
    return (m * v).sum(dim=0)
''')}),
    Case("matvec_broadcasts", "matvec without size checks: a size-1 vector broadcasts",
         breaks="matvec.errors", answers={"matvec_answer": '''
def matvec(m, v):
    return (m * v).sum(dim=1)
'''}),
    Case("matvec_float", "matvec converts to float", breaks="matvec.dtype", answers={"matvec_answer": with_checks(CHECKED_MATVEC, '''
    return (m.double() * v.double()).sum(dim=1)
''')}),
    Case("matvec_in_place", "matvec scales m in place", breaks="matvec.pure", answers={"matvec_answer": with_checks(CHECKED_MATVEC, '''
    m *= v
    return m.sum(dim=1)
''')}),
    Case("matmul_elementwise", "m * c is not matrix multiplication", fails={"matmul_values", "matmul_integer"},
         answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return a * b
''')}),
    Case("matmul_broadcasts", "matmul broadcasts instead of checking inner sizes", breaks="matmul.inner",
         fails={"shop_totals_shapes"},
         answers={"matmul_answer": '''
def matmul(a, b):
    if a.dim() != 2 or b.dim() != 2:
        raise ValueError(f"expected two matrices, got {tuple(a.shape)} and {tuple(b.shape)}")
    return (a[:, :, None] * b[None, :, :]).sum(dim=1)
'''}),
    Case("matmul_no_rank_check", "matmul checks inner sizes but accepts vectors and stacks",
         breaks="matmul.rank", answers={"matmul_answer": '''
def matmul(a, b):
    if a.shape[-1] != b.shape[0]:
        raise ValueError(f"inner sizes differ: {tuple(a.shape)} by {tuple(b.shape)}")
    return (a[..., :, None] * b).sum(dim=-2)
'''}),
    Case("batched_equal_batches", "batch axes must be equal instead of broadcast", breaks="batched_matmul.broadcast",
         answers={"batched_matmul_answer": '''
def batched_matmul(a, b):
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"expected (..., n, k) and (..., k, p), got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[:-2] != b.shape[:-2]:
        raise ValueError(f"batch axes differ: {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])}")
    return (a[..., :, :, None] * b[..., None, :, :]).sum(dim=-2)
'''}),
    Case("batched_no_checks", "batched_matmul relies on broadcasting and checks nothing",
         breaks="batched_matmul.errors", answers={"batched_matmul_answer": '''
def batched_matmul(a, b):
    return (a[..., :, :, None] * b[..., None, :, :]).sum(dim=-2)
'''}),
    Case("batched_3d_only", "batched_matmul indexes as if every input were a 3-d stack",
         fails={"batched_matmul_broadcast"}, answers={"batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    return (a[:, :, :, None] * b[:, None, :, :]).sum(dim=2)
''')}),
    Case("markov_transposed", "Markov step with the matrix transposed (where people came from)",
         breaks="markov_step.values", fails=MARKOV_AFTER_VALUES, answers={"markov_step_answer": '''
def markov_step(state, transition):
    if transition.dim() != 2 or transition.shape[0] != transition.shape[1] or state.shape != transition.shape[:1]:
        raise ValueError(f"need (n,) and (n, n), got {tuple(state.shape)} and {tuple(transition.shape)}")
    return matvec(transition, state)
'''}),
    Case("markov_no_square_check", "markov_step accepts a non-square transition matrix", breaks="markov_step.errors",
         fails={"markov_after_errors"},
         answers={"markov_step_answer": '''
def markov_step(state, transition):
    return (state[:, None] * transition).sum(dim=0)
'''}),
    Case("markov_one_year_too_many", "years off by one: range(years + 1)",
         fails={"markov_after_example", "markov_after_years", "markov_after_zero"}, answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    for _ in range(years + 1):
        state = markov_step(state, transition)
    return state
'''}),
    Case("markov_one_year_short", "years off by one: range(1, years)",
         fails={"markov_after_example", "markov_after_years", "markov_after_errors"}, answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    state = state.clone()
    for _ in range(1, years):
        state = markov_step(state, transition)
    return state
'''}),
    Case("markov_zero_years_alias", "markov_after returns state itself when years is 0", breaks="markov_after.zero",
         answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    for _ in range(years):
        state = markov_step(state, transition)
    return state
'''}),
    Case("shop_totals_swapped", "prices times quantities: the bills come out (shops, people)", breaks="shop_totals.values",
         answers={"shop_totals_answer": '''
def shop_totals(quantities, prices):
    return matmul(prices.T, quantities.T)
'''}),

    # ---- one stated rule broken each (issue 24): each loses that rule's points only (and the cells of
    # the exercises that call the broken function)
    Case("matmul_sums_wrong_axis", "matmul sums over the last axis of the (n, k, p) product: an (n, k) result",
         breaks="matmul.values", fails=SHOP_VALUES, answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return (a[:, :, None] * b[None, :, :]).sum(dim=2)
''')}),
    Case("matmul_float", "matmul converts to float64: int64 results come back as floats", breaks="matmul.dtype",
         answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return (a.double()[:, :, None] * b.double()[None, :, :]).sum(dim=1)
''')}),
    Case("matmul_unsqueeze_in_place", "matmul gives a its new axis with unsqueeze_ (in place): the caller's a "
         "becomes (n, k, 1)", breaks="matmul.pure", fails={"shop_totals_values"}, answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    a.unsqueeze_(2)
    return (a * b[None, :, :]).sum(dim=1)
''')}),
    Case("batched_wrong_sum_axis", "batched_matmul sums over the last axis: a (..., n, k) result",
         breaks="batched_matmul.values", answers={"batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    return (a[..., :, :, None] * b[..., None, :, :]).sum(dim=-1)
''')}),
    Case("batched_float", "batched_matmul converts to float64: int64 results come back as floats",
         breaks="batched_matmul.dtype", answers={"batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    return (a.double()[..., :, :, None] * b.double()[..., None, :, :]).sum(dim=-2)
''')}),
    Case("batched_unsqueeze_in_place", "batched_matmul gives a its new axis with unsqueeze_ (in place)",
         breaks="batched_matmul.pure", answers={"batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    a.unsqueeze_(-1)
    return (a * b[..., None, :, :]).sum(dim=-2)
''')}),
    Case("markov_step_float32", "markov_step computes in float32 and casts the result back to the state's dtype",
         breaks="markov_step.dtype", fails=MARKOV_AFTER_VALUES, answers={"markov_step_answer": CHECKED_MARKOV_STEP + '''
    return (state.float()[:, None] * transition.float()).sum(dim=0).to(state.dtype)
'''}),
    Case("markov_step_unsqueeze_in_place", "markov_step gives the state its new axis with unsqueeze_ (in place)",
         breaks="markov_step.pure", answers={"markov_step_answer": CHECKED_MARKOV_STEP + '''
    state.unsqueeze_(1)
    return (state * transition).sum(dim=0)
'''}),
    Case("markov_after_no_feedback", "markov_after steps from the start state every year instead of from the "
         "last year's state: one step, whatever the years", breaks="markov_after.values", answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    out = state.clone()
    for _ in range(years):
        out = markov_step(state, transition)
    return out
'''}),
    Case("markov_after_float32", "markov_after runs the chain in float32 and casts the result back to the state's "
         "dtype", breaks="markov_after.dtype", answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    current = state.clone().float()
    for _ in range(years):
        current = markov_step(current, transition.float())
    return current.to(state.dtype)
'''}),
    Case("markov_after_overwrites_state", "markov_after writes each year into the caller's state (state[:] = ...) "
         "and returns a copy", breaks="markov_after.pure", answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    for _ in range(years):
        state[:] = markov_step(state, transition)
    return state.clone()
'''}),
    Case("markov_after_no_check", "markov_after does the step itself, with no shape check", breaks="markov_after.errors",
         answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    state = state.clone()
    for _ in range(years):
        state = (state[:, None] * transition).sum(dim=0)
    return state
'''}),
    Case("shop_no_check", "shop_totals broadcasts with no check of the item counts", breaks="shop_totals.errors",
         answers={"shop_totals_answer": '''
def shop_totals(quantities, prices):
    return (quantities[:, :, None] * prices[None, :, :]).sum(dim=1)
'''}),
    Case("shop_unsqueeze_in_place", "shop_totals gives quantities its new axis with unsqueeze_ (in place)",
         breaks="shop_totals.pure", answers={"shop_totals_answer": CHECKED_SHOP + '''
    quantities.unsqueeze_(2)
    return (quantities * prices[None, :, :]).sum(dim=1)
'''}),
    Case("shop_float32", "shop_totals computes in float32 and casts the bills back to the inputs' dtype",
         breaks="shop_totals.dtype", answers={"shop_totals_answer": CHECKED_SHOP + '''
    return matmul(quantities.float(), prices.float()).to(quantities.dtype)
'''}),

    # ---- built-ins not allowed: each costs the exercise that uses it, with a message naming it
    Case("uses_at", "matvec with @", breaks="matvec.not_allowed", fails=MATVEC_VALUES, answers={"matvec_answer": with_checks(CHECKED_MATVEC, '''
    return m @ v
''')}),
    Case("uses_torch_mv", "matvec with Tensor.mv", fails=MATVEC_VALUES, answers={"matvec_answer": with_checks(CHECKED_MATVEC, '''
    return m.mv(v)
''')}),
    Case("uses_torch_dot", "matvec with torch.dot per row", fails=MATVEC_VALUES, answers={"matvec_answer": with_checks(CHECKED_MATVEC, '''
    return torch.stack([torch.dot(row, v) for row in m])
''')}),
    Case("uses_numpy_dot", "matvec with numpy.dot", fails=MATVEC_VALUES, answers={"matvec_answer": with_checks(CHECKED_MATVEC, '''
    return torch.from_numpy(np.dot(m.numpy(), v.numpy()))
''')}),
    Case("uses_torch_matmul", "matmul with torch.matmul", breaks="matmul.not_allowed", fails=MATMUL_VALUES | SHOP_VALUES, answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return torch.matmul(a, b)
''')}),
    Case("uses_torch_mm", "matmul with Tensor.mm", fails=MATMUL_VALUES, answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return a.mm(b)
''')}),
    Case("uses_tensordot", "matmul with torch.tensordot", fails=MATMUL_VALUES, answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return torch.tensordot(a, b, dims=1)
''')}),
    Case("uses_linear", "matmul with torch.nn.functional.linear", fails=MATMUL_VALUES,
         answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return torch.nn.functional.linear(a, b.T)
''')}),
    Case("uses_numpy_matmul", "matmul with numpy.matmul", fails=MATMUL_VALUES, answers={"matmul_answer": with_checks(CHECKED_MATMUL, '''
    return torch.from_numpy(np.matmul(a.numpy(), b.numpy()))
''')}),
    Case("uses_torch_bmm", "batched_matmul with torch.bmm", breaks="batched_matmul.not_allowed", fails=BATCHED_VALUES,
         answers={"batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a3 = a.expand(batch + a.shape[-2:]).reshape(-1, *a.shape[-2:])
    b3 = b.expand(batch + b.shape[-2:]).reshape(-1, *b.shape[-2:])
    return torch.bmm(a3, b3).reshape(batch + (a.shape[-2], b.shape[-1]))
''')}),
    Case("uses_torch_einsum", "batched_matmul with torch.einsum", fails=BATCHED_VALUES,
         answers={"batched_matmul_answer": with_checks(CHECKED_BATCHED, '''
    return torch.einsum("...nk,...kp->...np", a, b)
''')}),
    Case("uses_at_in_markov", "markov_step with state @ transition", breaks="markov_step.not_allowed",
         fails=MARKOV_STEP_VALUES | MARKOV_AFTER_VALUES | {"markov_after_zero"},
         answers={"markov_step_answer": '''
def markov_step(state, transition):
    if transition.dim() != 2 or transition.shape[0] != transition.shape[1] or state.shape != transition.shape[:1]:
        raise ValueError(f"need (n,) and (n, n), got {tuple(state.shape)} and {tuple(transition.shape)}")
    return state @ transition
'''}),
    Case("uses_numpy_einsum", "shop_totals with numpy.einsum", breaks="shop_totals.not_allowed", fails=SHOP_VALUES, answers={"shop_totals_answer": '''
def shop_totals(quantities, prices):
    if quantities.shape[1] != prices.shape[0]:
        raise ValueError(f"{quantities.shape[1]} items bought but {prices.shape[0]} priced")
    return torch.from_numpy(np.einsum("pi,is->ps", quantities.numpy(), prices.numpy()))
'''}),
    Case("markov_after_uses_matrix_power", "markov_after as state @ matrix_power(transition, years)",
         breaks="markov_after.not_allowed", fails=MARKOV_AFTER_VALUES | {"markov_after_zero", "markov_after_errors"},
         answers={"markov_after_answer": '''
def markov_after(state, transition, years):
    return state @ torch.linalg.matrix_power(transition, years)
'''}),
]

# A built-in the exercise does not allow works in the student's own kernel, so no check cell
# can catch it; the notebook says, next to the exercise, that the grader refuses it.
for _case in CASES:
    if _case.kind == "mistake" and "uses_" in _case.name:
        _case.hidden_only = "the grader refuses them"
