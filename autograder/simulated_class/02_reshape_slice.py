"""Simulated submissions for 02_reshape_slice."""
from autograder.simulated_class import Case

TO_IMAGES_CHECK = '''
    if flat.dim() != 2 or flat.shape[1] != height * width:
        raise ValueError(f"expected (N, {height * width}), got {tuple(flat.shape)}")
'''
CROP_CHECK = '''
    if images.dim() < 2:
        raise ValueError(f"expected (..., H, W), got {tuple(images.shape)}")
    H, W = images.shape[-2:]
    if min(top, left, height, width) < 0 or top + height > H or left + width > W:
        raise ValueError(f"window {top, left, height, width} does not fit in {H} x {W}")
'''
CHANNELS_CHECK = '''
    if batch.dim() != 4:
        raise ValueError(f"expected (N, C, H, W), got {tuple(batch.shape)}")
'''
SELECT_CHECK = '''
    if x.dim() == 0 or y.dim() != 1 or len(x) != len(y):
        raise ValueError(f"x and y need the same number of rows, got {tuple(x.shape)} and {tuple(y.shape)}")
'''

CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_narrow_movedim", "ndim, unflatten, flatten(start_dim=1), narrow, movedim, nonzero + index_select",
         kind="variant", full=True, answers={
             "rank_answer": '''
def rank(t):
    return t.ndim
''',
             "to_images_answer": '''
def to_images(flat, height=28, width=28):
    if flat.ndim != 2:
        raise ValueError("to_images: expected a matrix (N, pixels), got rank " + str(flat.ndim))
    if flat.size(1) != height * width:
        raise ValueError(f"to_images: rows of {flat.size(1)} pixels cannot be {height} x {width} images")
    return flat.unflatten(1, (height, width))
''',
             "flatten_answer": '''
def flatten(images):
    if images.ndim == 0:
        raise ValueError("flatten: a 0-d tensor has no batch axis")
    if images.ndim == 1:
        return images.unsqueeze(1)
    return torch.flatten(images, start_dim=1)
''',
             "crop_answer": '''
def crop(images, top, left, height, width):
    if images.ndim < 2:
        raise ValueError("crop needs at least two axes, got shape " + str(tuple(images.shape)))
    if top < 0 or left < 0 or height < 0 or width < 0:
        raise ValueError("crop: negative window " + str((top, left, height, width)))
    if top + height > images.shape[-2] or left + width > images.shape[-1]:
        raise ValueError("crop: the window goes past the edge of the image " + str(tuple(images.shape[-2:])))
    return images.narrow(-2, top, height).narrow(-1, left, width)
''',
             "channels_last_answer": '''
def channels_last(batch):
    if batch.ndim != 4:
        raise ValueError(f"channels_last needs (N, C, H, W); got {batch.ndim} axes")
    return batch.movedim(1, -1)
''',
             "select_digit_answer": '''
def select_digit(x, y, digit):
    if y.ndim != 1 or x.ndim < 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"select_digit: {x.shape[0] if x.ndim else 'no'} rows but {tuple(y.shape)} labels")
    rows = (y == digit).nonzero().reshape(-1)
    return x.index_select(0, rows)
'''}),
    Case("variant_loops", "rows stacked by a loop, math.prod, transposes, a list of kept rows",
         kind="variant", full=True, answers={
             "rank_answer": '''
def rank(t):
    n = 0
    for _ in t.shape:
        n += 1
    return n
''',
             "to_images_answer": '''
def to_images(flat, height=28, width=28):
    if len(flat.shape) != 2 or flat.shape[1] != height * width:
        raise ValueError("to_images expected shape (N, %d), got %s" % (height * width, list(flat.shape)))
    rows = [flat[:, r * width:(r + 1) * width] for r in range(height)]
    return torch.stack(rows, dim=1)
''',
             "flatten_answer": '''
def flatten(images):
    if len(images.shape) == 0:
        raise ValueError("cannot flatten a scalar: there is no batch axis")
    n = images.shape[0]
    rest = 1
    for size in images.shape[1:]:
        rest *= size
    return images.contiguous().view(n, rest)
''',
             "crop_answer": '''
def crop(images, top, left, height, width):
    if len(images.shape) < 2:
        raise ValueError("crop: images must have rows and columns, got " + str(list(images.shape)))
    H, W = images.shape[-2], images.shape[-1]
    if not (0 <= top and 0 <= height and top + height <= H):
        raise ValueError(f"crop: rows {top}..{top + height} outside 0..{H}")
    if not (0 <= left and 0 <= width and left + width <= W):
        raise ValueError(f"crop: columns {left}..{left + width} outside 0..{W}")
    out = images[..., top:, left:]
    return out[..., :height, :width]
''',
             "channels_last_answer": '''
def channels_last(batch):
    if len(batch.shape) != 4:
        raise ValueError("channels_last expects 4 axes (N, C, H, W), got shape " + str(list(batch.shape)))
    return batch.transpose(1, 2).transpose(2, 3)
''',
             "select_digit_answer": '''
def select_digit(x, y, digit):
    if len(y.shape) != 1 or len(x.shape) == 0 or len(x) != len(y):
        raise ValueError("select_digit: x and y must have the same length, got %s and %s" % (list(x.shape), list(y.shape)))
    keep = [i for i in range(len(y)) if int(y[i]) == digit]
    return x[torch.tensor(keep, dtype=torch.long)]
'''}),
    Case("variant_numpy_einsum", "numpy reshape, einsum for the permute, torch.where for the mask",
         kind="variant", full=True, answers={
             "rank_answer": '''
def rank(t):
    return int(np.ndim(t.numpy()))
''',
             "to_images_answer": '''
def to_images(flat, height=28, width=28):
    shape = tuple(flat.shape)
    if len(shape) != 2 or shape[-1] != height * width:
        raise ValueError(f"to_images: cannot make {height}x{width} images out of shape {shape}")
    return torch.from_numpy(np.reshape(flat.numpy(), (shape[0], height, width)).copy())
''',
             "flatten_answer": '''
def flatten(images):
    if images.dim() < 1:
        raise ValueError("flatten expects (N, ...), got a 0-d tensor")
    a = images.numpy()
    return torch.from_numpy(np.ascontiguousarray(a.reshape(a.shape[0], int(np.prod(a.shape[1:])))))
''',
             "crop_answer": '''
def crop(images, top, left, height, width):''' + CROP_CHECK + '''
    rows = torch.arange(top, top + height)
    cols = torch.arange(left, left + width)
    return images.index_select(-2, rows).index_select(-1, cols)
''',
             "channels_last_answer": '''
def channels_last(batch):''' + CHANNELS_CHECK + '''
    return torch.einsum("nchw->nhwc", batch) if batch.is_floating_point() else batch.permute(0, 2, 3, 1)
''',
             "select_digit_answer": '''
def select_digit(x, y, digit):''' + SELECT_CHECK + '''
    return x[torch.where(y == digit)[0]]
'''}),
    Case("variant_validate_late", "validation written after other work, slices as objects, two transposes, "
         "a flatten that adds an axis first, a mask compared with a 0-d tensor", kind="variant", full=True, answers={
             "rank_answer": '''
def rank(t):
    return t.dim()
''',
             "to_images_answer": '''
def to_images(flat, height=28, width=28):
    n, pixels = tuple(flat.shape) if flat.dim() == 2 else (None, None)
    if pixels != height * width:
        raise ValueError(f"to_images wants rows of {height} * {width} pixels, got a tensor of shape {tuple(flat.shape)}")
    return flat.reshape(n, height, width).clone()
''',
             "flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError(f"flatten: {images!r} is 0-d, so it has no batch axis to keep")
    return torch.flatten(images.unsqueeze(-1), start_dim=1)
''',
             "crop_answer": '''
def crop(images, top, left, height, width):
    if images.dim() < 2:
        raise ValueError(f"crop works on the last two axes, but the input has shape {tuple(images.shape)}")
    H, W = images.shape[-2:]
    if not (0 <= top <= top + height <= H and 0 <= left <= left + width <= W):
        raise ValueError(f"crop: the window ({top}, {left}, {height}, {width}) is not inside {H} x {W}")
    rows, cols = slice(top, top + height), slice(left, left + width)
    return images[..., rows, cols]
''',
             "channels_last_answer": '''
def channels_last(batch):
    if batch.dim() == 4:
        return batch.transpose(1, 3).transpose(1, 2)
    raise ValueError(f"channels_last needs a 4-d batch (N, C, H, W), got shape {tuple(batch.shape)}")
''',
             "select_digit_answer": '''
def select_digit(x, y, digit):
    if x.dim() == 0 or y.dim() != 1 or x.size(0) != y.size(0):
        raise ValueError(f"select_digit: x has shape {tuple(x.shape)} but y has shape {tuple(y.shape)}")
    return x[y.eq(torch.tensor(digit))]
'''}),

    # ---- typical mistakes: each loses the cell of the property it breaks
    Case("rank_len", "len(t): the size of the first axis, not the number of axes", answers={"rank_answer": '''
def rank(t):
    return len(t)
'''}, fails={"rank_values", "rank_scalar"}),
    Case("rank_tensor", "rank returned as a 0-d tensor", answers={"rank_answer": '''
def rank(t):
    return torch.tensor(t.dim())
'''}, breaks="rank.int"),
    Case("to_images_by_columns", "reshape by columns instead of rows (transposed images)",
         answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):''' + TO_IMAGES_CHECK + '''
    return flat.reshape(flat.shape[0], width, height).transpose(1, 2)
'''}, breaks="to_images.rows"),
    Case("to_images_swapped", "height and width swapped in the reshape",
         answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):''' + TO_IMAGES_CHECK + '''
    return flat.reshape(flat.shape[0], width, height)
'''}, breaks="to_images.shape"),
    Case("to_images_minus_one", "reshape(-1, height, width) with no check of the row length",
         answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):
    return flat.reshape(-1, height, width)
'''}, fails={"to_images_errors"}),
    Case("flatten_batch_too", "flatten that also flattens the batch axis", answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    return images.reshape(-1)
'''}, breaks="flatten.shape"),
    Case("flatten_columns", "each image read column by column", answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    if images.dim() == 1:
        return images.reshape(-1, 1)
    return images.transpose(-1, -2).reshape(images.shape[0], -1)
'''}, fails={"flatten_order"}),
    Case("flatten_view", "view(len(x), -1): fails on views and on empty tensors", answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    return images.view(len(images), -1)
'''}, fails={"flatten_noncontiguous", "flatten_edge"}),
    Case("flatten_minus_one", "reshape(N, -1): cannot guess -1 for an empty tensor", answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    return images.reshape(images.shape[0], -1)
'''}, breaks="flatten.empty"),
    Case("crop_off_by_one", "one row and one column too many (top:top+height+1)", answers={"crop_answer": '''
def crop(images, top, left, height, width):''' + CROP_CHECK + '''
    return images[..., top:top + height + 1, left:left + width + 1]
'''}, breaks="crop.window"),
    Case("crop_end_as_size", "height and width used as end indices (top:height)", answers={"crop_answer": '''
def crop(images, top, left, height, width):''' + CROP_CHECK + '''
    return images[..., top:height, left:width]
'''}, fails={"crop_shape", "crop_values"}),
    Case("crop_wrong_axes", "crops axes 1 and 2 (right only for a stack of images)", answers={"crop_answer": '''
def crop(images, top, left, height, width):''' + CROP_CHECK + '''
    return images[:, top:top + height, left:left + width]
'''}, breaks="crop.any_rank"),
    Case("crop_xy", "(x, y) convention: left/width on the rows, top/height on the columns",
         answers={"crop_answer": '''
def crop(images, top, left, height, width):''' + CROP_CHECK + '''
    return images[..., left:left + width, top:top + height]
'''}, fails={"crop_shape", "crop_values"}),
    Case("crop_no_check", "slicing with no check of the window", answers={"crop_answer": '''
def crop(images, top, left, height, width):
    return images[..., top:top + height, left:left + width]
'''}, breaks="crop.errors"),
    Case("channels_last_reshape", "reshape used where permute is needed", answers={"channels_last_answer": '''
def channels_last(batch):''' + CHANNELS_CHECK + '''
    n, c, h, w = batch.shape
    return batch.reshape(n, h, w, c)
'''}, breaks="channels_last.values"),
    Case("channels_last_wrong_order", "permute(0, 3, 2, 1): width and height swapped",
         answers={"channels_last_answer": '''
def channels_last(batch):''' + CHANNELS_CHECK + '''
    return batch.permute(0, 3, 2, 1)
'''}, breaks="channels_last.shape"),
    Case("channels_last_no_check", "no ValueError for the wrong rank", answers={"channels_last_answer": '''
def channels_last(batch):
    return batch.permute(0, 2, 3, 1)
'''}, breaks="channels_last.errors"),
    Case("select_by_label_value", "x indexed by the matching labels instead of the mask",
         answers={"select_digit_answer": '''
def select_digit(x, y, digit):''' + SELECT_CHECK + '''
    return x[y[y == digit]]
'''}, breaks="select_digit.values"),
    Case("select_nonzero", "x[mask.nonzero()] keeps an extra axis", answers={"select_digit_answer": '''
def select_digit(x, y, digit):''' + SELECT_CHECK + '''
    return x[(y == digit).nonzero()]
'''}, fails={"select_digit_values", "select_digit_empty"}),
    Case("select_stack", "torch.stack of the matching rows: fails when none match", answers={"select_digit_answer": '''
def select_digit(x, y, digit):''' + SELECT_CHECK + '''
    return torch.stack([row for row, label in zip(x, y) if label == digit])
'''}, breaks="select_digit.empty"),
    Case("select_no_check", "no ValueError when x and y differ in length", answers={"select_digit_answer": '''
def select_digit(x, y, digit):
    return x[y == digit]
'''}, breaks="select_digit.errors"),
    Case("select_in_place", "select_digit relabels y in place", answers={"select_digit_answer": '''
def select_digit(x, y, digit):''' + SELECT_CHECK + '''
    mask = y == digit
    y[mask] = -1
    return x[mask]
'''}, breaks="select_digit.pure"),

    # ---- one stated rule broken each (issue 24): each loses that rule's cells only
    Case("rank_atleast_1d", "len(torch.atleast_1d(t).shape): a scalar counted as a vector of one number",
         breaks="rank.scalar", answers={"rank_answer": '''
def rank(t):
    return len(torch.atleast_1d(t).shape)
'''}),
    Case("rank_nested_lists", "the depth of t.tolist(), going into the first element: stops early at an empty axis",
         breaks="rank.values", answers={"rank_answer": '''
def rank(t):
    depth, value = 0, t.tolist()
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth
'''}),
    Case("to_images_stack_rows", "each row reshaped and the rows stacked: torch.stack fails on an empty batch",
         breaks="to_images.empty", answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):''' + TO_IMAGES_CHECK + '''
    return torch.stack([row.reshape(height, width) for row in flat])
'''}),
    Case("to_images_no_check", "reshape(N, height, width) with no check: a stack of images or a wrong row length "
         "fails with torch's RuntimeError, or not at all", breaks="to_images.errors", answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):
    return flat.reshape(flat.shape[0], height, width)
'''}),
    Case("to_images_to_float", "to_images converts the pixels to float32 first", breaks="to_images.dtype",
         answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):''' + TO_IMAGES_CHECK + '''
    return flat.float().reshape(flat.shape[0], height, width)
'''}),
    Case("to_images_as_strided", "as_strided with the strides of a contiguous tensor: wrong for a view",
         breaks="to_images.views", answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):''' + TO_IMAGES_CHECK + '''
    return flat.as_strided((flat.shape[0], height, width), (height * width, width, 1))
'''}),
    Case("to_images_resize_in_place", "flat.resize_(...) (numpy's a.resize habit): the caller's tensor changes shape",
         breaks="to_images.pure", answers={"to_images_answer": '''
def to_images(flat, height=28, width=28):''' + TO_IMAGES_CHECK + '''
    return flat.resize_(flat.shape[0], height, width)
'''}),
    Case("flatten_columns_prod", "each image read column by column, with math.prod for the size",
         breaks="flatten.order", answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    if images.dim() == 1:
        return images.reshape(-1, 1)
    return images.transpose(-1, -2).reshape(images.shape[0], math.prod(images.shape[1:]))
'''}),
    Case("flatten_to_float", "flatten converts the pixels to float32", breaks="flatten.dtype",
         answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    return images.float().reshape(images.shape[0], math.prod(images.shape[1:]))
'''}),
    Case("flatten_start_dim", "torch.flatten(images, start_dim=1): fails on a vector (N,)", breaks="flatten.vector",
         answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    return torch.flatten(images, start_dim=1)
'''}),
    Case("flatten_no_check", "no ValueError for a 0-d tensor (images.shape[0] raises IndexError)",
         breaks="flatten.errors", answers={"flatten_answer": '''
def flatten(images):
    return images.reshape(images.shape[0], math.prod(images.shape[1:]))
'''}),
    Case("flatten_view_prod", "view(N, math.prod(...)): right for empty tensors, fails on a transposed view",
         breaks="flatten.views", answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    return images.view(images.shape[0], math.prod(images.shape[1:]))
'''}),
    Case("flatten_contiguous_resize", "contiguous() then resize_: contiguous() returns the caller's own tensor "
         "when it already is contiguous, so resize_ changes it", breaks="flatten.pure", answers={"flatten_answer": '''
def flatten(images):
    if images.dim() == 0:
        raise ValueError("flatten needs a batch axis")
    n, size = images.shape[0], math.prod(images.shape[1:])
    return images.contiguous().resize_(n, size)
'''}),
    Case("crop_to_float", "crop converts the pixels to float32", breaks="crop.dtype", answers={"crop_answer": '''
def crop(images, top, left, height, width):''' + CROP_CHECK + '''
    return images[..., top:top + height, left:left + width].float()
'''}),
    Case("crop_transpose_in_place", "crop turns images to (x, y) with transpose_ (in place) and never back",
         breaks="crop.pure", answers={"crop_answer": '''
def crop(images, top, left, height, width):''' + CROP_CHECK + '''
    images.transpose_(-2, -1)
    return images[..., left:left + width, top:top + height].transpose(-2, -1)
'''}),
    Case("channels_last_to_float", "channels_last converts the pixels to float32", breaks="channels_last.dtype",
         answers={"channels_last_answer": '''
def channels_last(batch):''' + CHANNELS_CHECK + '''
    return batch.permute(0, 2, 3, 1).float()
'''}),
    Case("channels_last_view_merge", "view(N, C, H * W), transpose, reshape: view fails on a transposed batch",
         breaks="channels_last.views", answers={"channels_last_answer": '''
def channels_last(batch):''' + CHANNELS_CHECK + '''
    n, c, h, w = batch.shape
    return batch.view(n, c, h * w).transpose(1, 2).reshape(n, h, w, c)
'''}),
    Case("channels_last_transpose_in_place", "transpose_ (in place) twice: the right result, and the caller's "
         "batch permuted too", breaks="channels_last.pure", answers={"channels_last_answer": '''
def channels_last(batch):''' + CHANNELS_CHECK + '''
    return batch.transpose_(1, 2).transpose_(2, 3)
'''}),
    Case("select_to_float", "select_digit converts the rows to float32", breaks="select_digit.dtype",
         answers={"select_digit_answer": '''
def select_digit(x, y, digit):''' + SELECT_CHECK + '''
    return x[y == digit].float()
'''}),
]
