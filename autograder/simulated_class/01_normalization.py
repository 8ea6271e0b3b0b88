"""Simulated submissions for 01_normalization."""
from autograder.simulated_class import Case, drop_cells, edit_cells

SPLITS = {"normalize_splits_train_result", "normalize_splits_train_stats", "normalize_splits_pure"}
# normalize_splits calls the student's mean_std and normalize: a mistake in them costs these cells too
SPLITS_VALUES = {"normalize_splits_train_result", "normalize_splits_train_stats"}

UNBIASED_MEAN_STD = '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.float()
    return x.mean(), x.std()
'''

CASES = [
    Case("solution", "our solution", full=True, kind="solution"),
    Case("blank", "the released notebook, untouched", blank=True, zero=True, kind="blank"),

    # ---- correct, written differently: full marks
    Case("variant_std_mean", "torch.std_mean with correction=0, clamp by torch.maximum", kind="variant", full=True,
         answers={
             "mean_std_answer": '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("mean_std: expected a non-empty tensor, got shape " + str(tuple(x.shape)))
    std, mean = torch.std_mean(x.to(torch.float64), correction=0)
    return mean, std
''',
             "per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.ndim < 2:
        raise ValueError(f"expected a batch of at least 2 dimensions, got {x.ndim}")
    std, mean = torch.std_mean(x.double(), dim=0, correction=0)
    return mean, torch.maximum(std, torch.tensor(eps, dtype=std.dtype))
'''}),
    Case("variant_numpy", "numpy for the statistics, converted back to tensors", kind="variant", full=True,
         answers={
             "mean_std_answer": '''
def mean_std(x):
    a = x.numpy().astype(np.float64)
    if a.size == 0:
        raise ValueError("cannot compute statistics of an empty tensor")
    return torch.tensor(a.mean()), torch.tensor(a.std())
''',
             "normalize_answer": '''
def normalize(x, mean, std):
    return torch.sub(x.to(torch.float64) if x.dtype == torch.float64 else x.to(torch.float32), mean).div(std)
''',
             "per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if len(x.shape) < 2:
        raise ValueError("per_pixel_stats: need shape (N, features), got " + str(list(x.shape)))
    a = x.numpy().astype(np.float64)
    return torch.from_numpy(a.mean(axis=0)), torch.from_numpy(np.maximum(a.std(axis=0), eps))
'''}),
    Case("variant_var", "variance without correction, where() for the clamp, splits written out", kind="variant",
         full=True, answers={
             "mean_std_answer": '''
def mean_std(x):
    if not x.numel():
        raise ValueError(f"mean_std expects at least one element; got shape {tuple(x.shape)}")
    xf = x.double()
    return xf.mean(), xf.var(unbiased=False).sqrt()
''',
             "normalize_splits_answer": '''
def normalize_splits(train, valid):
    m, s = mean_std(train)
    train_n = (train.double() - m) / s
    valid_n = (valid.double() - m) / s
    return train_n, valid_n
''',
             "per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.dim() <= 1:
        raise ValueError("expected (N, ...) with at least two dimensions, got a " + str(x.dim()) + "-d tensor")
    xf = x.double()
    m = xf.mean(0)
    s = xf.var(0, unbiased=False).sqrt()
    return m, torch.where(s < eps, torch.full_like(s, eps), s)
'''}),
    Case("variant_float32", "float32 throughout, as the notebook allows: x.float() first in every exercise",
         kind="variant", full=True, answers={
             "mean_std_answer": '''
def mean_std(x):
    x = x.float()
    if x.numel() == 0:
        raise ValueError(f"mean_std of an empty tensor (shape {tuple(x.shape)}) is undefined")
    return x.mean(), x.std(correction=0)
''',
             "normalize_answer": '''
def normalize(x, mean, std):
    return (x.float() - mean) / std
''',
             "normalize_splits_answer": '''
def normalize_splits(train, valid):
    stats = mean_std(train)
    return tuple(normalize(t, *stats) for t in (train, valid))
''',
             "per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    x = x.float()
    if x.ndim < 2:
        raise ValueError(f"per_pixel_stats: x must be (N, features...), got shape {tuple(x.shape)}")
    return x.mean(0), x.std(0, unbiased=False).clamp(min=eps)
'''}),
    Case("variant_own_imports", "answer cells that import what they use (math, torch functions by name), "
         "statistics by hand, validation last", kind="variant", full=True, answers={
             "mean_std_answer": '''
import math
def mean_std(x):
    values = x.double().flatten()
    n = values.numel()
    if n == 0:
        raise ValueError("mean_std: x has no elements, so it has no mean")
    mean = values.sum() / n
    return mean, torch.sqrt(((values - mean) ** 2).sum() / n)
''',
             "normalize_answer": '''
from torch import div, sub
def normalize(x, mean, std):
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    return div(sub(x, mean), std)
''',
             "normalize_splits_answer": '''
def normalize_splits(train, valid):
    if train.numel() == 0:
        raise ValueError(f"normalize_splits: train is empty (shape {tuple(train.shape)})")
    mean = train.double().mean()
    std = ((train.double() - mean) ** 2).mean().sqrt()
    return (train - mean) / std, (valid - mean) / std
''',
             "per_pixel_stats_answer": '''
import numpy
def per_pixel_stats(x, eps=1e-8):
    xf = x.double()
    mean = xf.sum(dim=0) / len(xf) if xf.dim() >= 2 else None
    if mean is None:
        raise ValueError(f"per_pixel_stats needs a batch of at least two dimensions, got {xf.dim()}")
    std = ((xf - mean) ** 2).mean(dim=0).sqrt()
    return mean, std.clamp(min=float(numpy.float64(eps)))
'''}),
    Case("variant_numpy_splits", "numpy for the splits, torch.true_divide for normalize, float64 statistics",
         kind="variant", full=True, answers={
             "normalize_answer": '''
def normalize(x, mean, std):
    return torch.true_divide(x - torch.as_tensor(mean), torch.as_tensor(std))
''',
             "normalize_splits_answer": '''
def normalize_splits(train, valid):
    t = train.numpy().astype(np.float64)
    if t.size == 0:
        raise ValueError("normalize_splits: the training set is empty")
    m, s = t.mean(), t.std()
    return torch.from_numpy((t - m) / s), torch.from_numpy((valid.numpy().astype(np.float64) - m) / s)
'''}),

    # ---- typical mistakes: each loses the cell of the property it breaks
    Case("unbiased_std", "torch's default (unbiased) std", answers={"mean_std_answer": UNBIASED_MEAN_STD},
         breaks="mean_std.population_std", fails=SPLITS_VALUES),
    Case("python_floats", "mean_std returns python floats", answers={"mean_std_answer": '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.float()
    return x.mean().item(), x.std(correction=0).item()
'''}, breaks="mean_std.returns"),
    Case("no_float_conversion", "mean_std on uint8 without converting to float", answers={"mean_std_answer": '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    return x.mean(), x.std(correction=0)
'''}, breaks="mean_std.dtype", fails={"normalize_splits_train_result"}),
    Case("no_empty_check", "no ValueError for an empty tensor", answers={"mean_std_answer": '''
def mean_std(x):
    x = x.double()
    return x.mean(), x.std(correction=0)
'''}, breaks="mean_std.errors", fails={"normalize_splits_train_result"}),
    Case("in_place_normalize", "normalize modifies x in place", answers={"normalize_answer": '''
def normalize(x, mean, std):
    if not x.is_floating_point():
        x = x.float()
    x -= mean
    x /= std
    return x
'''}, breaks="normalize.pure", fails={"normalize_splits_pure"}),
    Case("normalize_keeps_dtype", "normalize casts back to the input dtype", answers={"normalize_answer": '''
def normalize(x, mean, std):
    return ((x.float() - mean) / std).to(x.dtype)
'''}, breaks="normalize.dtype", fails={"normalize_splits_train_result"}),
    Case("normalize_swapped", "normalize multiplies by std instead of dividing", answers={"normalize_answer": '''
def normalize(x, mean, std):
    return (x.float() - mean) * std if not x.is_floating_point() else (x - mean) * std
'''}, breaks="normalize.values", fails=SPLITS_VALUES),
    Case("valid_own_stats", "validation set normalised with its own statistics", answers={"normalize_splits_answer": '''
def normalize_splits(train, valid):
    m, s = mean_std(train)
    vm, vs = mean_std(valid)
    return normalize(train, m, s), normalize(valid, vm, vs)
'''}, breaks="normalize_splits.valid"),
    Case("combined_stats", "statistics of train and valid together", answers={"normalize_splits_answer": '''
def normalize_splits(train, valid):
    m, s = mean_std(torch.cat([train.reshape(-1), valid.reshape(-1)]))
    return normalize(train, m, s), normalize(valid, m, s)
'''}, fails={"normalize_splits_train_stats", "normalize_splits_train_result"}),
    Case("per_image_stats", "per-image (axis 1) instead of per-pixel statistics", answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.dim() < 2:
        raise ValueError(f"expected a batch, got shape {tuple(x.shape)}")
    x = x.float()
    return x.mean(dim=1), x.std(dim=1, correction=0).clamp_min(eps)
'''}, breaks="per_pixel_stats.axis"),
    Case("no_clamp", "zero-variance pixels not clamped", answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.dim() < 2:
        raise ValueError(f"expected a batch, got shape {tuple(x.shape)}")
    x = x.float()
    return x.mean(dim=0), x.std(dim=0, correction=0)
'''}, breaks="per_pixel_stats.clamp"),
    Case("eps_added", "eps added to every std instead of a lower bound", answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.dim() < 2:
        raise ValueError(f"expected a batch, got shape {tuple(x.shape)}")
    x = x.float()
    return x.mean(dim=0), x.std(dim=0, correction=0) + eps
'''}, breaks="per_pixel_stats.clamp"),
    Case("per_pixel_default_eps_1e-5", "per_pixel_stats' eps defaults to 1e-5, not the 1e-8 of its signature: a "
         "pixel that never changes gets the std 1e-5", fails={"per_pixel_stats_clamp"}, rest_full=True,
         answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-5):
    if x.dim() < 2:
        raise ValueError(f"expected a batch, got shape {tuple(x.shape)}")
    x = x.float()
    return x.mean(dim=0), x.std(dim=0, correction=0).clamp_min(eps)
'''}),
    Case("per_pixel_unbiased", "per-pixel std with torch's unbiased default", answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.dim() < 2:
        raise ValueError(f"expected a batch, got shape {tuple(x.shape)}")
    x = x.float()
    return x.mean(dim=0), x.std(dim=0).clamp_min(eps)
'''}, breaks="per_pixel_stats.population_std"),
    Case("per_pixel_in_place", "per_pixel_stats converts and centres x in place", answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.dim() < 2:
        raise ValueError(f"expected a batch, got shape {tuple(x.shape)}")
    mean = x.double().mean(dim=0).to(x.dtype) if x.is_floating_point() else x.float().mean(dim=0)
    if x.is_floating_point():
        x -= mean
        std = (x.double() ** 2).mean(dim=0).sqrt().to(x.dtype)
    else:
        std = x.float().std(dim=0, correction=0)
    return mean, std.clamp_min(eps)
'''}, breaks="per_pixel_stats.pure"),

    # ---- one stated rule broken each (issue 24): each loses that rule's cells only (and, for mean_std and
    # normalize, the cells of normalize_splits, which calls them)
    Case("mean_over_first_axis_length", "mean_std divides the sum by len(x), the size of the first axis, not by "
         "the number of elements", breaks="mean_std.mean", fails=SPLITS_VALUES, answers={"mean_std_answer": '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError(f"mean_std needs at least one element, got shape {tuple(x.shape)}")
    x = x.double()
    return x.sum() / len(x), x.std(correction=0)
'''}),
    Case("mean_std_centres_x_in_place", "mean_std centres x in place (x -= mean) to compute the std",
         breaks="mean_std.pure", fails={"normalize_splits_train_result", "normalize_splits_pure"},
         answers={"mean_std_answer": '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError(f"mean_std needs at least one element, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.float()
    mean = x.mean()
    x -= mean
    return mean, (x ** 2).mean().sqrt()
'''}),
    Case("splits_train_unnormalised", "normalize_splits normalises valid with train's statistics but hands "
         "train back as it came", breaks="normalize_splits.train", answers={"normalize_splits_answer": '''
def normalize_splits(train, valid):
    mean, std = mean_std(train)
    return train, normalize(valid, mean, std)
'''}),
    Case("splits_keep_dtype", "normalize_splits casts both results back to the inputs' dtypes (uint8 pixels "
         "come back as uint8)", breaks="normalize_splits.dtype", answers={"normalize_splits_answer": '''
def normalize_splits(train, valid):
    mean, std = mean_std(train)
    return normalize(train, mean, std).to(train.dtype), normalize(valid, mean, std).to(valid.dtype)
'''}),
    Case("splits_no_empty_check", "normalize_splits computes train's statistics itself, with no ValueError for "
         "an empty train", breaks="normalize_splits.errors", answers={"normalize_splits_answer": '''
def normalize_splits(train, valid):
    t = train.double()
    mean = t.mean()
    std = ((t - mean) ** 2).mean().sqrt()
    return normalize(train, mean, std), normalize(valid, mean, std)
'''}),
    Case("splits_in_place", "normalize_splits normalises train in place (train -= mean; train /= std)",
         breaks="normalize_splits.pure", answers={"normalize_splits_answer": '''
def normalize_splits(train, valid):
    mean, std = mean_std(train)
    valid_n = normalize(valid, mean, std)
    if not train.is_floating_point():
        train = train.float()
    train -= mean
    train /= std
    return train, valid_n
'''}),
    Case("per_pixel_no_float", "per_pixel_stats without converting integer pixels to floating point",
         breaks="per_pixel_stats.dtype", answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    if x.dim() < 2:
        raise ValueError(f"expected a batch, got shape {tuple(x.shape)}")
    return x.mean(dim=0), x.std(dim=0, correction=0).clamp_min(eps)
'''}),
    Case("per_pixel_no_rank_check", "per_pixel_stats with no ValueError for a 0-d tensor or a single vector",
         breaks="per_pixel_stats.errors", answers={"per_pixel_stats_answer": '''
def per_pixel_stats(x, eps=1e-8):
    x = x.double() if x.dtype == torch.float64 else x.float()
    return x.mean(dim=0), x.std(dim=0, correction=0).clamp_min(eps)
'''}),

    # ---- attacks: tampering with the grader gains nothing over the same mistake without it
    Case("attack_allclose", "unbiased std, with torch.allclose, assert_close and numpy.allclose forced true",
         kind="attack", same_as="unbiased_std", fails={"mean_std_population_std"}, answers={"mean_std_answer": '''
import numpy
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
torch.isclose = lambda a, b, *r, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
torch.std = lambda x, *a, **k: torch.Tensor.std(x, correction=0)
''' + UNBIASED_MEAN_STD}),
    Case("attack_fake_modules", "unbiased std, with stand-ins for the grader, pytest and hypothesis in sys.modules",
         kind="attack", same_as="unbiased_std", fails={"mean_std_population_std"}, answers={"mean_std_answer": '''
import sys, types
for name in ["autograder", "autograder.checks", "autograder.engine", "pytest", "hypothesis", "nbgrader"]:
    fake = types.ModuleType(name)
    fake.__getattr__ = lambda attr: (lambda *a, **k: True)
    sys.modules[name] = fake
''' + UNBIASED_MEAN_STD}),
    Case("attack_read_hidden_tests", "unbiased std; tries to read the hidden tests and the gradebook and to "
         "write into the course, and would switch to a correct answer if it could", kind="attack",
         same_as="unbiased_std", fails={"mean_std_population_std"}, answers={"mean_std_answer": '''
import glob
stolen = []
targets = ["autograder/hidden/*/*.py", "gradebook.db", "course_config.py", "source/*/*.ipynb"]
for depth in range(0, 6):  # wherever the course folder is, a few levels below /
    for target in targets:
        for path in glob.glob("/" + "*/" * depth + target)[:20]:
            try:
                stolen.append(open(path, "rb").read(100))
                open(path, "ab").write(b"# tampered")
            except OSError:
                pass
''' + UNBIASED_MEAN_STD + '''
if stolen:  # what a cheat would do with the hidden tests in hand
    def mean_std(x):
        if x.numel() == 0:
            raise ValueError("empty tensor has no mean")
        x = x.double()
        return x.mean(), x.std(correction=0)
'''}),
    Case("infinite_loop", "normalize never returns; the rest is correct (normalize_splits calls normalize)",
         kind="attack", rest_full=True, fails={"normalize_values", "normalize_float", "normalize_pure", *SPLITS}, answers={"normalize_answer": '''
def normalize(x, mean, std):
    while True:
        pass
'''}),
    Case("os_exit_in_function", "per_pixel_stats kills its process; the rest is correct", kind="attack",
         rest_full=True, fails={"per_pixel_stats_axis", "per_pixel_stats_population", "per_pixel_stats_clamp",
                "per_pixel_stats_rank", "per_pixel_stats_pure"}, answers={"per_pixel_stats_answer": '''
import os
def per_pixel_stats(x, eps=1e-8):
    os._exit(3)
'''}),
    Case("os_exit_at_import", "an answer cell that kills the process when it runs: only that cell's exercise is lost",
         kind="attack", rest_full=True, fails={"normalize_splits_train_result", "normalize_splits_train_stats",
                               "normalize_splits_pure"}, answers={"normalize_splits_answer": '''
import os
os._exit(1)
'''}),

    # ---- tampering with the notebook: restored by nbgrader's sanitising, graded as usual
    Case("deleted_check_cells", "our solution with two check cells deleted", kind="attack", full=True,
         mutate=drop_cells("mean_std_population_std", "per_pixel_stats_clamp")),
    Case("deleted_answer_and_checks", "the normalize answer cell and all its check cells deleted",
         kind="attack", rest_full=True, fails={"normalize_values", "normalize_float", "normalize_pure", *SPLITS},
         mutate=drop_cells("normalize_answer", "normalize_values", "normalize_float", "normalize_pure")),
    Case("edited_checks", "unbiased std, with every check cell replaced by a fake score",
         kind="attack", same_as="unbiased_std", fails={"mean_std_population_std"},
         answers={"mean_std_answer": UNBIASED_MEAN_STD}, mutate=edit_cells("print('all good')\n2.0")),
    Case("variant_noisy", "our solution, printing to stderr and warning while it works", kind="variant",
         full=True, answers={"mean_std_answer": '''
import sys, warnings
def mean_std(x):
    print("computing statistics...", file=sys.stderr)
    warnings.warn("this is only a warning")
    if x.numel() == 0:
        raise ValueError(f"mean_std needs at least one element, got shape {tuple(x.shape)}")
    x = x.double() if x.dtype == torch.float64 else x.float()
    return x.mean(), ((x - x.mean()) ** 2).mean().sqrt()
'''}),
]
