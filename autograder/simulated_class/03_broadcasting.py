"""Simulated submissions for 03_broadcasting."""
from autograder.simulated_class import Case

ALL_BROADCAST_SHAPE = {"broadcast_shape_tuple", "broadcast_shape_ones", "broadcast_shape_trailing",
                       "broadcast_shape_scalar", "broadcast_shape_zero", "broadcast_shape_errors"}

ROW_CHECK = '''
    if m.dim() != 2 or v.dim() != 1 or len(v) != m.shape[1]:
        raise ValueError(f"expected m (rows, cols) and v (cols,), got {tuple(m.shape)} and {tuple(v.shape)}")
'''
COLUMN_CHECK = '''
    if m.dim() != 2 or v.dim() != 1 or len(v) != m.shape[0]:
        raise ValueError(f"expected m (rows, cols) and v (rows,), got {tuple(m.shape)} and {tuple(v.shape)}")
'''
DISTANCE_CHECK = '''
    if a.dim() < 2 or b.dim() < 2:
        raise ValueError(f"expected images (..., H, W), got {tuple(a.shape)} and {tuple(b.shape)}")
    try:
        torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from None
'''
PREDICT_CHECK = '''
    if images.dim() != 3 or means.dim() != 3 or images.shape[1:] != means.shape[1:]:
        raise ValueError(f"expected (N, H, W) and (K, H, W), got {tuple(images.shape)} and {tuple(means.shape)}")
'''


def broadcast_shape_using(body):
    return "def broadcast_shape(shape_a, shape_b):\n" + body


# The aligned axes, a and b padded to one length: each size the common one, or a ValueError.
ALIGNED_AXES = '''
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"shapes {shape_a} and {shape_b} do not broadcast")
        out.append(int(y if x == 1 else x))
'''
RETURN_TUPLE = "    return tuple(out)\n"


def sum_then_shape_checked(total):
    """A body that adds (``total``), turns torch's error into a ValueError and checks the result's shape."""
    return f'''
    try:
        out = {total}
    except RuntimeError:
        raise ValueError(f"v of shape {{tuple(v.shape)}} does not fit m of shape {{tuple(m.shape)}}") from None
    if out.shape != m.shape:
        raise ValueError(f"v of shape {{tuple(v.shape)}} does not fit m of shape {{tuple(m.shape)}}")
    return out
'''


CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_zip_longest", "zip_longest over reversed shapes, unsqueeze, flatten + mean, torch.cdist",
         kind="variant", full=True, answers={
             "broadcast_shape_answer": '''
from itertools import zip_longest

def broadcast_shape(shape_a, shape_b):
    out = []
    for x, y in zip_longest(reversed(list(shape_a)), reversed(list(shape_b)), fillvalue=1):
        if x != y and 1 not in (x, y):
            raise ValueError(f"cannot broadcast {list(shape_a)} with {list(shape_b)}: {x} vs {y}")
        out.append(y if x == 1 else x)
    return tuple(reversed(out))
''',
             "add_row_vector_answer": '''
def add_row_vector(m, v):''' + ROW_CHECK + '''
    return m + v.unsqueeze(0)
''',
             "add_column_vector_answer": '''
def add_column_vector(m, v):''' + COLUMN_CHECK + '''
    return m + v.unsqueeze(1)
''',
             "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    return (a.double() - b.double()).abs().flatten(-2).mean(-1).to(
        torch.promote_types(a.dtype, b.dtype) if a.is_floating_point() and b.is_floating_point() else torch.float32)
''',
             "nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    n, k = len(images), len(means)
    if n == 0:
        return torch.zeros(0, dtype=torch.long)
    d = torch.cdist(images.reshape(n, -1).double(), means.reshape(k, -1).double(), p=1)
    return d.argmin(dim=1)
'''}),
    Case("variant_while_loops", "index arithmetic from the end, expand_as, transposes, sum / count, min().indices",
         kind="variant", full=True, answers={
             "broadcast_shape_answer": '''
def broadcast_shape(shape_a, shape_b):
    a, b = list(shape_a), list(shape_b)
    result = []
    i = 1
    while i <= len(a) or i <= len(b):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == 1:
            result.insert(0, y)
        elif y == 1 or y == x:
            result.insert(0, x)
        else:
            raise ValueError("incompatible shapes %s and %s (axis -%d: %d vs %d)" % (a, b, i, x, y))
        i += 1
    return tuple(int(s) for s in result)
''',
             "add_row_vector_answer": '''
def add_row_vector(m, v):''' + ROW_CHECK + '''
    return m + v.expand_as(m)
''',
             "add_column_vector_answer": '''
def add_column_vector(m, v):''' + COLUMN_CHECK + '''
    return (m.T + v).T
''',
             "mnist_distance_answer": '''
def mnist_distance(a, b):
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError("mnist_distance needs images with at least two axes, got %s and %s" % (list(a.shape), list(b.shape)))
    shape = broadcast_shape(a.shape, b.shape)          # raises ValueError for incompatible shapes
    h, w = shape[-2], shape[-1]
    af = a.to(torch.float64) if a.dtype == torch.float64 else a.to(torch.float32)
    bf = b.to(torch.float64) if b.dtype == torch.float64 else b.to(torch.float32)
    return torch.sub(af, bf).abs().sum(dim=(-1, -2)) / (h * w)
''',
             "nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    return mnist_distance(images.unsqueeze(1), means.unsqueeze(0)).min(dim=1).indices
'''}),
    Case("variant_recursive", "a recursive rule, reshape(-1, 1), numpy for the distance, sort for the argmin",
         kind="variant", full=True, answers={
             "add_row_vector_answer": '''
def add_row_vector(m, v):
    if len(m.shape) != 2 or len(v.shape) != 1 or len(v) != m.shape[1]:
        raise ValueError("add_row_vector: v of shape %s does not fit the rows of m, shape %s" % (list(v.shape), list(m.shape)))
    return m + v.expand(m.shape[0], -1)
''',
             "broadcast_shape_answer": '''
def broadcast_shape(shape_a, shape_b):
    a, b = tuple(shape_a), tuple(shape_b)
    if not a:
        return tuple(int(s) for s in b)
    if not b:
        return tuple(int(s) for s in a)
    x, y = a[-1], b[-1]
    if x != y and x != 1 and y != 1:
        raise ValueError(f"broadcast_shape: {a} and {b} differ at their last axis ({x} vs {y})")
    return broadcast_shape(a[:-1], b[:-1]) + (int(y if x == 1 else x),)
''',
             "add_column_vector_answer": '''
def add_column_vector(m, v):''' + COLUMN_CHECK + '''
    return m + v.reshape(-1, 1)
''',
             "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    out = np.abs(a.numpy().astype(np.float64) - b.numpy().astype(np.float64)).mean(axis=(-2, -1))
    dtype = torch.float64 if torch.float64 in (a.dtype, b.dtype) else torch.float32
    return torch.as_tensor(out).to(dtype)
''',
             "nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    d = (images.unsqueeze(1).double() - means.unsqueeze(0).double()).abs().mean((2, 3))
    return torch.sort(d, dim=1, stable=True).indices[:, 0]
'''}),
    Case("variant_float64_reuse", "sizes checked after they are chosen, torch.add and a transpose, float64 "
         "distances that reuse broadcast_shape, argmin of mnist_distance", kind="variant", full=True, answers={
             "broadcast_shape_answer": '''
def broadcast_shape(shape_a, shape_b):
    a, b = list(shape_a)[::-1], list(shape_b)[::-1]
    out = []
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else 1
        y = b[i] if i < len(b) else 1
        size = y if x == 1 else x
        if y not in (1, size):
            raise ValueError(f"{tuple(shape_a)} and {tuple(shape_b)} do not broadcast: {x} against {y}")
        out.append(int(size))
    return tuple(reversed(out))
''',
             "add_row_vector_answer": '''
def add_row_vector(m, v):
    if m.dim() != 2 or tuple(v.shape) != (m.shape[1],):
        raise ValueError(f"add_row_vector: v must have shape ({m.shape[-1]},) for m of shape {tuple(m.shape)}, "
                         f"got {tuple(v.shape)}")
    return torch.add(m, v.unsqueeze(0))
''',
             "add_column_vector_answer": '''
def add_column_vector(m, v):
    if m.dim() != 2 or tuple(v.shape) != (m.shape[0],):
        raise ValueError(f"add_column_vector: v must have shape ({m.shape[0]},) for m of shape {tuple(m.shape)}, "
                         f"got {tuple(v.shape)}")
    return (m.T + v).T
''',
             "mnist_distance_answer": '''
def mnist_distance(a, b):
    if a.dim() < 2 or b.dim() < 2:
        raise ValueError(f"mnist_distance needs images (..., H, W), got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    broadcast_shape(a.shape, b.shape)   # raises ValueError when they do not broadcast
    return (a.double() - b.double()).abs().mean(dim=(-1, -2))
''',
             "nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):
    if images.dim() != 3 or means.dim() != 3 or images.shape[-2:] != means.shape[-2:]:
        raise ValueError(f"nearest_mean_predict: images {tuple(images.shape)} and means {tuple(means.shape)} "
                         f"must be (N, H, W) and (K, H, W)")
    return mnist_distance(images.unsqueeze(1), means).argmin(1)
'''}),

    # ---- typical mistakes: each loses the cell of the property it breaks
    Case("broadcast_leading", "aligns the leading axes (pads the shorter shape at the end)", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    a, b = list(shape_a), list(shape_b)
    n = max(len(a), len(b))
    a, b = a + [1] * (n - len(a)), b + [1] * (n - len(b))
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"shapes {shape_a} and {shape_b} do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(out)
''')}, breaks="broadcast_shape.trailing"),
    Case("broadcast_zip_no_padding", "zip without padding: the extra axes of the longer shape are lost", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    out = []
    for x, y in zip(reversed(tuple(shape_a)), reversed(tuple(shape_b))):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"shapes {shape_a} and {shape_b} do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(reversed(out))
''')}, fails={"broadcast_shape_trailing", "broadcast_shape_scalar"}),
    Case("broadcast_max", "the larger size on every axis: no error, and 0 with 1 gives 1", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    a, b = tuple(shape_a), tuple(shape_b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b))
''')}, fails={"broadcast_shape_zero", "broadcast_shape_errors"}),
    Case("broadcast_zero_like_one", "treats a size of 0 like a size of 1", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    a, b = tuple(shape_a), tuple(shape_b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x in (0, 1):
            out.append(y)
        elif y in (0, 1) or x == y:
            out.append(x)
        else:
            raise ValueError(f"shapes {shape_a} and {shape_b} do not broadcast")
    return tuple(out)
''')}, breaks="broadcast_shape.zero"),
    Case("broadcast_no_error", "incompatible sizes give the first shape's size instead of an error", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    a, b = tuple(shape_a), tuple(shape_b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return tuple(y if x == 1 else x for x, y in zip(a, b))
''')}, breaks="broadcast_shape.errors"),
    Case("broadcast_returns_list", "returns a list", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    a, b = list(shape_a), list(shape_b)
    n = max(len(a), len(b))
    a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"shapes {shape_a} and {shape_b} do not broadcast")
        out.append(y if x == 1 else x)
    return out
''')}, breaks="broadcast_shape.tuple"),
    Case("broadcast_exact_sizes", "aligned sizes must be equal: a 1 is not stretched (the extra leading axes of "
         "the longer shape are kept)", breaks="broadcast_shape.ones", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    a, b = tuple(shape_a), tuple(shape_b)
    n = min(len(a), len(b))
    lead = a[:len(a) - n] if len(a) > len(b) else b[:len(b) - n]
    tail = []
    for x, y in zip(a[len(a) - n:], b[len(b) - n:]):
        if x != y:
            raise ValueError(f"shapes {a} and {b} do not broadcast: {x} and {y}")
        tail.append(int(x))
    return tuple(int(s) for s in lead) + tuple(tail)
''')}),
    Case("broadcast_refuses_scalar", "refuses the empty shape () of a 0-d tensor", breaks="broadcast_shape.scalar",
         answers={"broadcast_shape_answer": broadcast_shape_using('''
    a, b = tuple(shape_a), tuple(shape_b)
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"a shape needs at least one axis, got {a} and {b}")
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
''' + ALIGNED_AXES + RETURN_TUPLE)}),
    Case("broadcast_pads_lists_in_place", "converts only what is not already a list, then pads the shorter list in "
         "place with insert(0, 1): a list handed in is changed", breaks="broadcast_shape.pure", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    a = shape_a if isinstance(shape_a, list) else list(shape_a)
    b = shape_b if isinstance(shape_b, list) else list(shape_b)
    while len(a) < len(b):
        a.insert(0, 1)
    while len(b) < len(a):
        b.insert(0, 1)
''' + ALIGNED_AXES + RETURN_TUPLE)}),
    Case("broadcast_uses_torch", "torch.broadcast_shapes, which the exercise refuses; its refusal caught and "
         "turned into a ValueError", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    try:
        return tuple(torch.broadcast_shapes(tuple(shape_a), tuple(shape_b)))
    except RuntimeError as e:
        raise ValueError(str(e)) from None
''')}, breaks="broadcast_shape.not_allowed", fails=ALL_BROADCAST_SHAPE),
    Case("broadcast_uses_numpy", "numpy.broadcast_shapes, which the exercise refuses", answers={
        "broadcast_shape_answer": broadcast_shape_using('''
    return tuple(int(s) for s in np.broadcast_shapes(tuple(shape_a), tuple(shape_b)))
''')}, fails=ALL_BROADCAST_SHAPE),
    Case("broadcast_uses_broadcast_tensors", "torch.broadcast_tensors on empty tensors, which the exercise refuses",
         answers={"broadcast_shape_answer": broadcast_shape_using('''
    try:
        a, _ = torch.broadcast_tensors(torch.empty(tuple(shape_a)), torch.empty(tuple(shape_b)))
    except RuntimeError as e:
        raise ValueError(str(e)) from None
    return tuple(a.shape)
''')}, fails=ALL_BROADCAST_SHAPE),
    Case("row_vector_in_place", "m += v changes the caller's matrix", answers={"add_row_vector_answer": '''
def add_row_vector(m, v):''' + ROW_CHECK + '''
    m += v
    return m
'''}, breaks="add_row_vector.pure"),
    Case("row_vector_as_column", "v made a column (v[:, None]): added down the columns", answers={
        "add_row_vector_answer": '''
def add_row_vector(m, v):''' + ROW_CHECK + '''
    return m + v[:, None]
'''}, breaks="add_row_vector.values"),
    Case("row_vector_float32", "converts m and v to float32 before adding: large integers lose digits",
         breaks="add_row_vector.dtype", answers={"add_row_vector_answer": '''
def add_row_vector(m, v):''' + ROW_CHECK + '''
    return m.float() + v.float()
'''}),
    Case("row_vector_no_check", "m + v with no check of v's length", answers={"add_row_vector_answer": '''
def add_row_vector(m, v):
    return m + v
'''}, breaks="add_row_vector.errors"),
    Case("column_vector_as_row", "m + v: broadcasting adds along the rows", answers={"add_column_vector_answer": '''
def add_column_vector(m, v):''' + COLUMN_CHECK + '''
    return m + v
'''}, breaks="add_column_vector.values"),
    Case("column_vector_in_place", "m += v[:, None] changes the caller's matrix", breaks="add_column_vector.pure",
         answers={"add_column_vector_answer": '''
def add_column_vector(m, v):''' + COLUMN_CHECK + '''
    m += v[:, None]
    return m
'''}),
    Case("column_vector_float32", "converts m and v to float32 before adding: large integers lose digits",
         breaks="add_column_vector.dtype", answers={"add_column_vector_answer": '''
def add_column_vector(m, v):''' + COLUMN_CHECK + '''
    return m.float() + v.float()[:, None]
'''}),
    Case("column_vector_no_check", "m + v[:, None] with no check of v's length", answers={
        "add_column_vector_answer": '''
def add_column_vector(m, v):
    return m + v[:, None]
'''}, breaks="add_column_vector.errors"),
    Case("distance_all_axes", "the mean over every axis, batch axes included", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    return (a.float() - b.float()).abs().mean()
'''}, breaks="mnist_distance.axes"),
    Case("distance_first_axes", "the mean over the first two axes instead of the last two", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    return (a.float() - b.float()).abs().mean(dim=(0, 1))
'''}, fails={"mnist_distance_stack", "mnist_distance_broadcast"}),
    Case("distance_same_image_size", "raises unless the two images have the same size, where a row (1, W) "
         "broadcasts against (H, W)", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    if a.shape[-2:] != b.shape[-2:]:
        raise ValueError(f"images of different sizes: {tuple(a.shape[-2:])} and {tuple(b.shape[-2:])}")
    return (a.float() - b.float()).abs().mean(dim=(-2, -1))
'''}, fails={"mnist_distance_broadcast"}),
    Case("distance_over_a_pixels", "sums |a - b| over the last two axes and divides by a's number of pixels, "
         "not the broadcast difference's", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    return (a.float() - b.float()).abs().sum(dim=(-2, -1)) / (a.shape[-2] * a.shape[-1])
'''}, fails={"mnist_distance_broadcast"}),
    Case("distance_rmse", "root mean squared difference instead of mean absolute", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    return ((a.float() - b.float()) ** 2).mean(dim=(-2, -1)).sqrt()
'''}, breaks="mnist_distance.values"),
    Case("distance_uint8_wrap", "subtracts uint8 pixels before converting: wrap-around", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    return (a - b).abs().float().mean(dim=(-2, -1))
'''}, breaks="mnist_distance.dtype"),
    Case("distance_no_check", "relies on torch's RuntimeError for incompatible shapes", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):
    return (a.float() - b.float()).abs().mean(dim=(-2, -1))
'''}, breaks="mnist_distance.errors"),
    Case("distance_negates_b_in_place", "adds a and -b, negating b in place (b.float() of a float32 tensor is "
         "that very tensor, so the caller's b changes)", breaks="mnist_distance.pure", answers={
        "mnist_distance_answer": '''
def mnist_distance(a, b):''' + DISTANCE_CHECK + '''
    a, b = a.float(), b.float()
    b.mul_(-1)
    return (a + b).abs().mean(dim=(-2, -1))
'''}),
    Case("predict_argmax", "argmax: the farthest mean", answers={"nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    return (images[:, None].float() - means[None].float()).abs().mean(dim=(-2, -1)).argmax(dim=1)
'''}, breaks="nearest_mean_predict.closest"),
    Case("predict_wrong_axis", "distances (K, N) with argmin over the images", answers={
        "nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    return (images[None].float() - means[:, None].float()).abs().mean(dim=(-2, -1)).argmin(dim=1)
'''}, breaks="nearest_mean_predict.shape"),
    Case("predict_distance_wrong_axes", "distances averaged over the wrong axes before argmin", answers={
        "nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    d = (images[:, None].float() - means[None].float()).abs().mean(dim=(1, 2))   # (N, W)
    return d.argmin(dim=1)
'''}, fails={"nearest_mean_closest", "nearest_mean_exact"}),
    Case("predict_float_indices", "indices returned as floats", answers={"nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    return (images[:, None] - means[None]).abs().mean(dim=(-2, -1)).argmin(dim=1).float()
'''}, breaks="nearest_mean_predict.dtype"),
    Case("predict_no_check", "flattened images are not refused", answers={"nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):
    return (images[:, None].float() - means[None].float()).abs().mean(dim=(-2, -1)).argmin(dim=1)
'''}, breaks="nearest_mean_predict.errors"),
    Case("predict_unsqueeze_in_place", "gives the images their new axis with unsqueeze_ (in place): the caller's "
         "images become (N, 1, H, W)", breaks="nearest_mean_predict.pure", answers={"nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):''' + PREDICT_CHECK + '''
    images.unsqueeze_(1)
    return (images.float() - means[None].float()).abs().mean(dim=(-2, -1)).argmin(dim=1)
'''}),
    # ---- found by a second reader's answers: each breaks one stated rule, and only a value the
    # draws rarely or never made shows it (now pinned or drawn)
    Case("broadcast_shape_returns_the_other_as_given", "broadcast_shape returns the other shape as it was given when "
         "one is (): a list or a torch.Size, not a tuple", breaks="broadcast_shape.tuple", answers={
             "broadcast_shape_answer": broadcast_shape_using('''
    if len(shape_a) == 0:
        return shape_b
    if len(shape_b) == 0:
        return shape_a
    a, b = tuple(shape_a), tuple(shape_b)
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
''' + ALIGNED_AXES + RETURN_TUPLE)}),
    Case("broadcast_shape_pads_lists_and_restores", "broadcast_shape pads a list handed in and removes the padding "
         "before it returns, but not when it raises", breaks="broadcast_shape.pure", answers={
             "broadcast_shape_answer": broadcast_shape_using('''
    a = shape_a if isinstance(shape_a, list) else list(shape_a)
    b = shape_b if isinstance(shape_b, list) else list(shape_b)
    pad_a, pad_b = max(0, len(b) - len(a)), max(0, len(a) - len(b))
    a[:0] = [1] * pad_a
    b[:0] = [1] * pad_b
''' + ALIGNED_AXES + '''
    del a[:pad_a]
    del b[:pad_b]
''' + RETURN_TUPLE)}),
    Case("broadcast_shape_leading_axes_at_least_1", "broadcast_shape takes the longer shape's leading axes as "
         "max(size, 1), so a 0 there becomes 1", breaks="broadcast_shape.zero", answers={
             "broadcast_shape_answer": '''
def broadcast_shape(shape_a, shape_b):
    a, b = tuple(shape_a), tuple(shape_b)
    k = min(len(a), len(b))
    lead = a[:len(a) - k] if len(a) > len(b) else b[:len(b) - k]
    out = [max(int(s), 1) for s in lead]
    for x, y in zip(a[len(a) - k:], b[len(b) - k:]):
        if x == y or y == 1:
            out.append(int(x))
        elif x == 1:
            out.append(int(y))
        else:
            raise ValueError(f"shapes {a} and {b} do not broadcast: {x} and {y}")
    return tuple(out)
'''}),
    Case("add_row_vector_checks_the_result_shape", "add_row_vector turns torch's error into a ValueError and checks "
         "the result's shape: a v of length 1 broadcasts to every column", breaks="add_row_vector.errors",
         answers={"add_row_vector_answer": "def add_row_vector(m, v):" + sum_then_shape_checked("m + v")}),
    Case("add_column_vector_checks_the_result_shape", "add_column_vector turns torch's error into a ValueError and "
         "checks the result's shape: a v of length 1 broadcasts to every row", breaks="add_column_vector.errors",
         answers={"add_column_vector_answer": "def add_column_vector(m, v):" + sum_then_shape_checked("m + v[:, None]")}),
    Case("nearest_mean_compares_the_shapes_only", "nearest_mean_predict checks only that images and means are of "
         "one size, not that each is a stack (N, H, W)", breaks="nearest_mean_predict.errors", answers={
             "nearest_mean_predict_answer": '''
def nearest_mean_predict(images, means):
    if images.shape[1:] != means.shape[1:]:
        raise ValueError(f"images {tuple(images.shape)} and means {tuple(means.shape)} are not images of one size")
    return (images[:, None].float() - means[None].float()).abs().mean(dim=(-2, -1)).argmin(dim=1)
'''}),
]

# A built-in the exercise does not allow works in the student's own kernel, so no check cell
# can catch it; the notebook says, next to the exercise, that the grader refuses it.
for _case in CASES:
    if _case.kind == "mistake" and "uses_" in _case.name:
        _case.hidden_only = "the grader refuses them"
