"""Hidden tests for 06_simple_mnist: each test is one property of COURSE.md's API.

References are computed here, in the judge, with torch's own building blocks
(``F.linear``, ``F.relu``, ``F.cross_entropy``, ``argmax``) on the numbers the
student's code produced or used. Training is kept cheap: ``fit`` is probed on
100 random examples with a small network, and trained once on 12,000 real MNIST
images (cached for the session) and measured on 2,000 validation images, so one
student is graded in well under a minute.

Device placement is proven without a GPU: models and inputs on
``torch.device("meta")`` (shapes only, no data) refuse a tensor left on the CPU,
as a GPU would; ``get_device`` is called with ``torch.cuda.is_available`` made to
answer True.
"""
import math

import torch
import torch.nn.functional as F
from hypothesis import example, given, settings, strategies as st

from autograder.testing import (StudentFailure, StudentRaised, expect_close, expect_raises, expect_shape, expect_tensor,
                                expect_unchanged, fail, graded, not_allowed, reference, show)
from mnist_course import load_mnist

# SimpleMnist.forward is written by hand: no ready-made linear layer, no ready-made ReLU.
NOT_ALLOWED = ["torch.nn.Linear", "torch.nn.functional.linear", "torch.relu", "torch.nn.functional.relu"]
forbidden_builtins = not_allowed(NOT_ALLOWED, only=["SimpleMnist.forward"])

PARAMETER_SHAPES = {"l1_w": (784, 256), "l1_b": (256,), "l2_w": (256, 10), "l2_b": (10,)}
SPEC = "l1_w (784, 256), l1_b (256,), l2_w (256, 10) and l2_b (10,)"

# What reading a value out of a meta tensor raises: expected when the code is right
# (loss.item(), preds.cpu()), so it is no failure of the device checks.
META_READ_ERRORS = ("item() cannot be called on meta", "Cannot copy out of meta", "meta device type tensor")


# ---------------------------------------------------------------- data
@reference
def _load_mnist_slices():
    """12,000 training images and the first 2,000 validation images (rows 50,000 to 51,999 of the
    training file, as the notebook splits it), normalised with the statistics of the 50,000 training
    rows (population std). Loaded when the tests are collected: missing data is the course's problem,
    never scored. A @reference: the files are fixed by their checksums, so a grading process reads
    and normalises them once, not again for each notebook as it imports this file. The statistics
    come from the histogram of the 256 pixel values, in float64: exact, and without turning all
    47 million pixels into floats (0.2 CPU-s of a grading process's start, then 0.09)."""
    x_train, y_train = load_mnist("train", download=False)
    counts = torch.bincount(x_train[:50_000].reshape(-1), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64)
    mean = (counts * values).sum() / counts.sum()
    std = ((counts * (values - mean) ** 2).sum() / counts.sum()).sqrt()
    mean, std = mean.float(), std.float()
    return (x_train[:12_000].float().sub_(mean).div_(std), y_train[:12_000].long(),
            x_train[50_000:52_000].float().sub_(mean).div_(std), y_train[50_000:52_000].long())


MNIST_X, MNIST_Y, HELD_OUT_X, HELD_OUT_Y = _load_mnist_slices()
MNIST_ACCURACY = 0.85   # our solution: 0.93-0.94 over seeds; gradients never zeroed: 0.64

_probe_generator = torch.Generator().manual_seed(6)
PROBE_X = torch.randn(100, 784, generator=_probe_generator)
PROBE_Y = torch.randint(0, 10, (100,), generator=_probe_generator)


class Images:
    """A batch of inputs with a short description, so a failing example reads well."""

    def __init__(self, n, shape=(784,), pixels=None, seed=None, scale=1.0):
        self.n, self.shape, self.pixels, self.seed, self.scale = n, tuple(shape), dict(pixels or {}), seed, scale

    def tensor(self):
        if self.seed is not None:
            g = torch.Generator().manual_seed(self.seed)
            return torch.randn(self.n, *self.shape, generator=g) * self.scale
        x = torch.zeros(self.n, math.prod(self.shape))
        for (row, pixel), value in self.pixels.items():
            x[row, pixel] = value
        return x.reshape(self.n, *self.shape)

    def __repr__(self):
        what = f"a tensor of shape {(self.n, *self.shape)}"
        if self.seed is not None:
            return f"{what}: random normal values times {self.scale} (seed {self.seed})"
        if not self.pixels:
            return f"{what}, all zeros"
        listed = ", ".join(f"x[{r}, {p}] = {v}" for (r, p), v in sorted(self.pixels.items()))
        return f"{what}, zeros except {listed}" + (" (pixels counted row by row)" if len(self.shape) > 1 else "")


@st.composite
def images(draw, shape=(784,), max_n=4):
    """Mostly-zero batches with a few pixels set (they shrink to all zeros), or random normal ones.
    Built in a composite so that a failing example shows Images' own description."""
    n = draw(st.integers(1, max_n))
    if draw(st.booleans()):
        return Images(n, shape, seed=draw(st.integers(0, 10_000)), scale=draw(st.sampled_from([1.0, 0.5, 3.0])))
    values = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 2)).filter(lambda v: v != 0)
    where = st.tuples(st.integers(0, n - 1), st.integers(0, math.prod(shape) - 1))
    return Images(n, shape, pixels=draw(st.dictionaries(where, values, max_size=6)))


# ---------------------------------------------------------------- helpers
_once: dict = {}


def once(key, make):
    """make() the first time, its cached value (or failure) after: objects the tests share are
    built inside the tests, not in fixtures, so a failing example shows only the drawn input."""
    if key not in _once:
        try:
            _once[key] = (True, make())
        except StudentFailure as exc:
            _once[key] = (False, str(exc))
    ok, value = _once[key]
    if not ok:
        raise StudentFailure(value)
    return value


def as_number(value, what):
    """A loss as a python float: numbers, numpy scalars and one-element tensors are accepted."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        number = float(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif hasattr(value, "dtype") and getattr(value, "shape", None) == () and hasattr(value, "item"):
        number = float(value.item())
    else:
        fail(f"{what} should be a number (a python float), got {type(value).__name__}: {show(value)}")
    if not math.isfinite(number):
        fail(f"{what} should be a finite number, got {number}")
    return number


def reference_logits(params, x):
    """relu(x @ l1_w + l1_b) @ l2_w + l2_b, with torch's own linear and relu, in float64."""
    x = x.reshape(len(x), 784).double()
    hidden = F.relu(F.linear(x, params["l1_w"].double().T, params["l1_b"].double()))
    return F.linear(hidden, params["l2_w"].double().T, params["l2_b"].double())


def check_parameters_exist(params):
    missing = [name for name, value in params.items() if value is None]
    if missing:
        fail(f"SimpleMnist has no tensor {' or '.join(missing)}: the model needs {SPEC}, "
             f"created with get_weights in __init__")
    wrong = [f"{name} has shape {tuple(params[name].shape)}" for name, shape in PARAMETER_SHAPES.items()
             if tuple(params[name].shape) != shape]
    if wrong:
        fail(f"{'; '.join(wrong)}: the model needs {SPEC} (weights stored (in, out), so a layer is x @ w + b)")


def run_forward(student, model, x):
    out = student.call_method(model, "forward", x)
    expect_shape(out, (len(x), 10), what="forward's output (the logits)")
    return out


def forward_atol(params, x):
    """float32 rounding of the two products grows with the size of their terms: the same
    formula computed in another order must pass, whatever the scale of the weights."""
    x = x.reshape(len(x), 784).double().abs()
    terms = (x @ params["l1_w"].double().abs() + params["l1_b"].double().abs()) @ params["l2_w"].double().abs()
    return 1e-5 + 1e-5 * float((terms + params["l2_b"].double().abs()).max())


def meta_problem(error):
    """None when an error only says that a meta tensor holds no value to read."""
    if error is None or any(text in error for text in META_READ_ERRORS):
        return None
    return error


PARAMS_EXPR = ("{n: (getattr(m, n).detach() if isinstance(getattr(m, n, None), __import__('torch').Tensor) "
               "else None) for n in ('l1_w', 'l1_b', 'l2_w', 'l2_b')}")

SET_PARAMS = """
import torch as _t
_problems = []
for _name, _value in values.items():
    _p = getattr(m, _name, None)
    if not isinstance(_p, _t.Tensor):
        _problems.append(f"SimpleMnist has no tensor {_name}")
    elif tuple(_p.shape) != tuple(_value.shape):
        _problems.append(f"{_name} has shape {tuple(_p.shape)}, not {tuple(_value.shape)}")
if not _problems:
    with _t.no_grad():
        for _name, _value in values.items():
            getattr(m, _name).copy_(_value)
result = _problems
"""

SMALL_NET = """
import torch as _t
_t.manual_seed(seed)
result = _t.nn.Sequential(_t.nn.Linear(784, hidden), _t.nn.ReLU(), _t.nn.Linear(hidden, 10))
"""
STATE_EXPR = "{k: v.detach().clone() for k, v in m.state_dict().items()}"


def sequential_logits(state, x):
    x = x.double()
    hidden = F.relu(F.linear(x, state["0.weight"].double(), state["0.bias"].double()))
    return F.linear(hidden, state["2.weight"].double(), state["2.bias"].double())


# ---------------------------------------------------------------- get_device
GET_DEVICE = """
import torch as _t
_saved = (_t.cuda.is_available, _t.cuda.device_count)
_t.cuda.is_available = lambda: available
_t.cuda.device_count = lambda: 1 if available else 0
try:
    result = get_device()
finally:
    _t.cuda.is_available, _t.cuda.device_count = _saved
"""


def _check_device(student, available):
    device = student.run(GET_DEVICE, label="get_device", available=available)
    if not isinstance(device, torch.device):
        fail(f"get_device should return a torch.device (e.g. torch.device('cpu')), got "
             f"{type(device).__name__}: {show(device)}")
    expected = "cuda" if available else "cpu"
    if device.type != expected:
        fail(f"with torch.cuda.is_available() answering {available}, get_device should return a "
             f"{expected} device, got {device}" +
             (": ask torch.cuda.is_available() instead of hard-coding the CPU" if available else ""))


@graded("get_device_cpu", rules=["get_device.cpu", "get_device.torch_device"])
@given(cuda_available=st.just(False))
def test_get_device_without_cuda(student, cuda_available):
    """get_device returns torch.device("cpu") (a torch.device, not a string) when CUDA is not available."""
    _check_device(student, cuda_available)


@graded("get_device_cuda", rules=["get_device.cuda", "get_device.torch_device", "get_device.each_call"])
@given(cuda_available=st.just(True))
def test_get_device_with_cuda(student, cuda_available):
    """get_device returns a CUDA torch.device when torch.cuda.is_available() says True (asked at each call)."""
    _check_device(student, cuda_available)


# ---------------------------------------------------------------- get_weights
weight_dims = st.lists(st.integers(1, 12), min_size=1, max_size=3).map(tuple)


@graded("get_weights_shape", rules=["get_weights.shape"])
@example(dims=(10,))
@example(dims=(2, 3, 4))
@given(dims=weight_dims)
def test_get_weights_shape(student, dims):
    """get_weights(*dims) returns a tensor of shape dims."""
    expect_shape(student.get_weights(*dims), dims, what=f"get_weights{dims}")


@graded("get_weights_parameter", rules=["get_weights.parameter"])
@given(dims=weight_dims)
def test_get_weights_is_a_parameter(student, dims):
    """get_weights returns an nn.Parameter (registered by a module, requires_grad=True), not a plain tensor."""
    w = expect_tensor(student.get_weights(*dims), f"get_weights{dims}")
    if not isinstance(w, torch.nn.Parameter):
        fail(f"get_weights{dims} returned a plain tensor: wrap it in nn.Parameter, or a module will not "
             f"register it and the optimiser will never update it")
    if not w.requires_grad:
        fail(f"get_weights{dims} returned a parameter with requires_grad=False: backward could not "
             f"compute its gradient")


@graded("get_weights_scale", rules=["get_weights.scale", "get_weights.shape"])
@settings(max_examples=20)
@example(fan_in=300, extra=[])
@example(fan_in=8, extra=[3])  # three sizes: the shape is checked too
@given(fan_in=st.integers(4, 1024), extra=st.lists(st.integers(1, 8), max_size=1))
def test_get_weights_scale(student, fan_in, extra):
    """get_weights draws standard normal values divided by the fan-in dims[0]: mean 0, standard deviation 1 / dims[0]."""
    dims = (fan_in, max(1, math.ceil(40_000 / (fan_in * math.prod(extra)))), *extra)
    w = expect_tensor(student.get_weights(*dims), f"get_weights{dims}").detach().double()
    expect_shape(w, dims, what=f"get_weights{dims}")
    std, mean = w.std(correction=0).item(), w.mean().item()
    target = 1 / fan_in
    if abs(std - target) > 0.05 * target:
        hint = ""
        if abs(std - 1) < 0.05:
            hint = ": the values were not divided by the fan-in"
        elif abs(std - fan_in ** -0.5) < 0.05 * fan_in ** -0.5:
            hint = ": divided by sqrt(fan_in); this exercise divides by the fan-in itself"
        elif abs(std - 1 / dims[-1]) < 0.05 / dims[-1]:
            hint = ": divided by the last size; the fan-in is the first, dims[0]"
        fail(f"over the {w.numel():,} values of get_weights{dims} the standard deviation should be "
             f"1 / {fan_in} = {target:.4g}, got {std:.4g}{hint}")
    if abs(mean) > 0.05 * target:
        fail(f"over the {w.numel():,} values of get_weights{dims} the mean should be about 0 "
             f"(standard normal values), got {mean:.4g}")


# ---------------------------------------------------------------- SimpleMnist
def simple_model(student):
    """One SimpleMnist() of the student's, and its four tensors (None where missing)."""
    def make():
        model = student.SimpleMnist()
        return model, student.eval(PARAMS_EXPR, label="SimpleMnist", m=model)
    return once("simple_model", make)


@graded("simple_mnist_parameters", rules=["SimpleMnist.parameters"])
def test_simple_mnist_parameters(student):
    """SimpleMnist registers exactly the parameters l1_w (784, 256), l1_b (256,), l2_w (256, 10), l2_b (10,)."""
    model, _ = simple_model(student)
    params = student.eval("{n: p.detach() for n, p in m.named_parameters()}", label="SimpleMnist", m=model)
    shapes = {name: tuple(p.shape) for name, p in params.items()}
    if shapes != PARAMETER_SHAPES:
        hint = ""
        if not shapes:
            hint = (" It registers no parameter at all: tensors stored on a module are registered only "
                    "when they are nn.Parameter (get_weights must return one).")
        elif set(PARAMETER_SHAPES) - set(shapes):
            hint = f" Missing: {', '.join(sorted(set(PARAMETER_SHAPES) - set(shapes)))}."
        fail(f"SimpleMnist().named_parameters() should give {PARAMETER_SHAPES}, got {shapes}.{hint}")


@graded("simple_mnist_forward", rules=["SimpleMnist.forward", "SimpleMnist.relu", "SimpleMnist.logits",
                                      "SimpleMnist.parameters"])
@given(x=images())
def test_forward_of_flat_images(student, x):
    """forward of flat images (N, 784) is relu(x @ l1_w + l1_b) @ l2_w + l2_b: (N, 10) logits."""
    model, params = simple_model(student)
    check_parameters_exist(params)
    inputs = x.tensor()
    expect_close(run_forward(student, model, inputs), reference_logits(params, inputs).float(),
                 what="forward's output", rtol=1e-5, atol=forward_atol(params, inputs))


@graded("simple_mnist_images", rules=["SimpleMnist.flatten", "SimpleMnist.forward", "SimpleMnist.relu",
                                     "SimpleMnist.logits", "SimpleMnist.parameters"])
@given(x=images(shape=(28, 28)))
def test_forward_of_28_by_28_images(student, x):
    """forward of 28 x 28 images (N, 28, 28) gives the logits of the same images flattened to (N, 784)."""
    model, params = simple_model(student)
    check_parameters_exist(params)
    inputs = x.tensor()
    expect_close(run_forward(student, model, inputs), reference_logits(params, inputs).float(),
                 what="forward's output for (N, 28, 28) images", rtol=1e-5, atol=forward_atol(params, inputs))


def _probe_values(kind):
    g = torch.Generator().manual_seed(60)
    if kind == "relu":  # the output reads hidden units 0-9, about half of which are negative before the ReLU
        l2_w = torch.zeros(256, 10)
        l2_w[:10] = torch.eye(10)
        return {"l1_w": torch.randn(784, 256, generator=g) / 28, "l1_b": torch.randn(256, generator=g),
                "l2_w": l2_w, "l2_b": torch.zeros(10)}
    # "logits": every hidden unit is positive (ReLU or not), the outputs mostly negative
    return {"l1_w": torch.zeros(784, 256), "l1_b": torch.rand(256, generator=g) + 0.1,
            "l2_w": torch.randn(256, 10, generator=g) / 16, "l2_b": torch.linspace(-3, 0.5, 10)}


def probe_model(student, kind):
    """A SimpleMnist() of the student's with its parameters set to _probe_values(kind)."""
    def make():
        model = student.SimpleMnist()
        values = _probe_values(kind)
        return model, values, student.run(SET_PARAMS, label="SimpleMnist", m=model, values=values)
    return once(("probe_model", kind), make)


def _probe_forward(student, kind, x):
    model, values, problems = probe_model(student, kind)
    if problems:
        fail(f"{'; '.join(problems)}: the model needs {SPEC}")
    inputs = x.tensor()
    return run_forward(student, model, inputs), reference_logits(values, inputs).float()


@graded("simple_mnist_relu", rules=["SimpleMnist.relu", "SimpleMnist.forward", "SimpleMnist.parameters"])
@given(x=images())
def test_hidden_layer_is_rectified(student, x):
    """The hidden layer goes through a ReLU: with l2_w reading hidden units 0-9, the output is relu(x @ l1_w + l1_b)[:, :10]."""
    out, expected = _probe_forward(student, "relu", x)
    if bool((out < -1e-6).any()):
        fail(f"the parameters were set so that the output shows hidden units 0-9, and it shows negative "
             f"values: the hidden layer needs a ReLU (x * (x > 0)) between the two layers.\n"
             f"Expected: {show(expected)}\nGot:      {show(out)}")
    expect_close(out, expected, what="hidden units 0-9 after the ReLU", rtol=1e-4, atol=1e-4)


@graded("simple_mnist_logits", rules=["SimpleMnist.logits", "SimpleMnist.parameters"])
@given(x=images())
def test_output_is_not_rectified(student, x):
    """The output layer has no ReLU: forward returns raw logits, which can be negative."""
    out, expected = _probe_forward(student, "logits", x)
    if not bool((out < 0).any()):
        fail(f"the parameters were set so that most logits are negative, and none is: the output must be "
             f"the raw logits h @ l2_w + l2_b, without a ReLU.\nExpected: {show(expected)}\nGot:      {show(out)}")
    expect_close(out, expected, what="the logits", rtol=1e-4, atol=1e-4)


def meta_model(student):
    def make():
        model = student.SimpleMnist()
        student.run("m.to(__import__('torch').device('meta'))", label="SimpleMnist", m=model)
        return model
    return once("meta_model", make)


@graded("simple_mnist_device", rules=["SimpleMnist.device"])
@given(n=st.integers(1, 5))
def test_forward_on_the_meta_device(student, n):
    """forward computes on the device of its model and input: with both on torch.device("meta") it returns (N, 10) logits on meta."""
    try:
        out = student.call_method(meta_model(student), "forward", torch.empty(n, 784, device="meta"), allow_meta=True)
    except StudentRaised as exc:
        if "device" not in str(exc.error.get("message", "")):
            raise
        fail(f"{exc}\n(the model was moved with model.to(device), then given an input on that device: keep every "
             f"weight an nn.Parameter, which model.to moves, and create no tensor on the CPU inside forward)")
    expect_tensor(out, "forward's output")
    if out.device.type != "meta":
        fail(f"with the model (moved by model.to(device)) and the input on the meta device, forward returned a "
             f"tensor on {out.device}: create no tensor on the CPU inside forward, do not call .cpu(), and keep "
             f"every weight an nn.Parameter (model.to(device) moves parameters, not plain tensors)")
    expect_shape(out, (n, 10), what="forward's output (the logits)")


bad_shapes = st.one_of(
    st.tuples(st.integers(1, 3), st.integers(1, 1000).filter(lambda f: f != 784)),
    st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40)).filter(lambda s: s[1] * s[2] != 784),
)


@graded("simple_mnist_bad_input", rules=["SimpleMnist.errors"])
@given(shape=bad_shapes)
def test_forward_refuses_other_shapes(student, shape):
    """forward raises ValueError, with a message, for images that do not have 784 pixels (neither (N, 784) nor (N, 28, 28))."""
    model, _ = simple_model(student)
    with expect_raises(ValueError, f"forward of an input of shape {shape}"):
        student.call_method(model, "forward", torch.zeros(shape))


# ---------------------------------------------------------------- fit
FIT_PROBE = """
import torch as _t
import torch.optim.optimizer as _optim
_t.manual_seed(0)
_model = _t.nn.Sequential(_t.nn.Linear(784, 32), _t.nn.ReLU(), _t.nn.Linear(32, 10))
_forwards, _accumulated, _steps, _fresh = [], [], [], {}
def _on_forward(module, inputs, output):
    if _t.is_grad_enabled() and isinstance(output, _t.Tensor) and output.requires_grad:
        _forwards.append((inputs[0].detach().clone(), output.detach().clone()))
_model.register_forward_hook(_on_forward)
for _i, _p in enumerate(_model.parameters()):
    _p.register_hook(lambda g, _i=_i: _fresh.__setitem__(_i, g.detach().clone()))
    _p.register_post_accumulate_grad_hook(
        lambda p, _i=_i: _accumulated.append(_i in _fresh and bool(_t.equal(p.grad, _fresh[_i]))))
_ids = sorted(id(p) for p in _model.parameters())
_optimizers = []  # kept alive here, so that two optimisers never share an id
def _on_step(opt, args, kwargs):
    _steps.append((type(opt).__name__, [float(g["lr"]) for g in opt.param_groups],
                   sorted(id(p) for g in opt.param_groups for p in g["params"]) == _ids))
    if not any(opt is seen for seen in _optimizers):
        _optimizers.append(opt)
_handle = _optim.register_optimizer_step_pre_hook(_on_step)
try:
    _given = {_k: _v for _k, _v in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size)) if _v is not None}
    _losses = fit(_model, x, y, **_given)
finally:
    _handle.remove()
result = {"losses": _losses, "forwards": _forwards, "accumulated": _accumulated, "steps": _steps,
          "optimizers": len(_optimizers), "x": x, "y": y}
"""


FIT_DEFAULTS = {"epochs": 1, "lr": 1e-3, "batch_size": 64}  # the signature's: fit(model, x, y, epochs=1, lr=1e-3, batch_size=64)


def fit_call(epochs, batch_size, lr) -> str:
    """The call as the probe makes it: an argument that is None is left out."""
    given = [f"{name}={value}" for name, value in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size))
             if value is not None]
    return f"fit({', '.join(['model', 'x', 'y'] + given)})"


def with_defaults(epochs, batch_size, lr):
    """The arguments fit runs with: those left out (None) take the signature's defaults."""
    return (FIT_DEFAULTS["epochs"] if epochs is None else epochs,
            FIT_DEFAULTS["batch_size"] if batch_size is None else batch_size,
            FIT_DEFAULTS["lr"] if lr is None else lr)


def fit_probe(student, epochs, batch_size, lr):
    """fit on 100 random examples with a small network, watched by hooks; cached per arguments
    (None: left out of the call)."""
    return once(("fit_probe", epochs, batch_size, lr), lambda: student.run(
        FIT_PROBE, label="fit", timeout=20, x=PROBE_X.clone(), y=PROBE_Y.clone(), epochs=epochs, lr=lr,
        batch_size=batch_size))


def _rows_of(inputs, x):
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != tuple(PROBE_X.shape):
        return None
    distance, rows = torch.cdist(inputs.double(), x.double()).min(dim=1)
    return rows if float(distance.max()) <= 1e-3 else None


def training_batches(probe):
    """(row indices into x, logits) of every forward pass that fit trained on."""
    batches = []
    for inputs, logits in probe["forwards"]:
        if inputs.dim() != 2 or inputs.shape[1] != 784:
            fail(f"fit gave the model a batch of shape {tuple(inputs.shape)}; it should pass rows of x "
                 f"as they are, shape (batch, 784) here")
        rows = _rows_of(inputs, PROBE_X)
        if rows is None:  # x changed in place: that is another property's failure, not this one's
            rows = _rows_of(inputs, probe["x"])
        if rows is None:
            fail("fit gave the model inputs that are not rows of x: pass x[indices] as it is")
        batches.append((rows, logits))
    if not batches:
        fail("fit never ran the model with gradients enabled: call model(xb) on each batch, then backward")
    return batches


def split_epochs(batches):
    """Group consecutive batches into epochs: an epoch ends when an example comes back."""
    epochs, seen = [], set()
    for rows, logits in batches:
        current = set(rows.tolist())
        if not epochs or current & seen or len(seen) >= len(PROBE_X):
            epochs.append([])
            seen = set()
        epochs[-1].append((rows, logits))
        seen |= current
    return epochs


fit_epochs = st.integers(1, 3)
fit_batch_sizes = st.sampled_from([16, 25, 32, 64])
fit_lrs = st.sampled_from([2e-3, 5e-4])


LEFT_OUT = dict(epochs=None, batch_size=None, lr=None)  # fit(model, x, y): the defaults, always tried


@graded("fit_losses", rules=["fit.losses", "fit.dtype", "fit.signature"])
@example(**LEFT_OUT)
@settings(max_examples=4)
@given(epochs=fit_epochs, batch_size=fit_batch_sizes, lr=fit_lrs)
def test_fit_returns_the_mean_loss_of_each_epoch(student, epochs, batch_size, lr):
    """fit returns a list with one number per epoch (epochs left out: 1): the mean of the batch losses of that epoch."""
    probe = fit_probe(student, epochs, batch_size, lr)
    call, (epochs, batch_size, lr) = fit_call(epochs, batch_size, lr), with_defaults(epochs, batch_size, lr)
    losses = probe["losses"]
    if not isinstance(losses, (list, tuple)):
        fail(f"fit should return a list of {epochs} floats, one per epoch; got {type(losses).__name__}: {show(losses)}")
    batches = training_batches(probe)
    if len(losses) != epochs:
        hint = " (one per batch? return the mean of each epoch's batch losses)" if len(losses) == len(batches) else ""
        fail(f"{call} should return {epochs} losses, one per epoch; got {len(losses)}{hint}")
    for e, v in enumerate(losses):
        if not isinstance(v, float):  # a python float (numpy's float64 is one too), as the notebook says
            fail(f"the loss of epoch {e + 1} should be a python float (loss.item()), got "
                 f"{type(v).__name__}: {show(v)}")
    values = [as_number(v, f"the loss of epoch {e + 1}") for e, v in enumerate(losses)]
    epochs_seen = split_epochs(batches)
    if len(epochs_seen) != epochs:
        fail(f"{call} went {len(epochs_seen)} times through the examples; epochs={epochs}")
    for e, (value, epoch) in enumerate(zip(values, epochs_seen)):
        batch_losses = torch.stack([F.cross_entropy(logits.double(), PROBE_Y[rows]) for rows, logits in epoch])
        sizes = torch.tensor([len(rows) for rows, _ in epoch], dtype=torch.float64)
        plain, weighted = batch_losses.mean().item(), ((batch_losses * sizes).sum() / sizes.sum()).item()
        if not any(math.isclose(value, m, rel_tol=1e-3, abs_tol=1e-4) for m in (plain, weighted)):
            fail(f"epoch {e + 1}: fit returned {value:.6g}, but the mean of that epoch's {len(epoch)} batch "
                 f"losses is {plain:.6g} (their losses, first ones: "
                 f"{[round(v, 4) for v in batch_losses[:4].tolist()]})")


@graded("fit_batches", rules=["fit.batches", "fit.signature"])
@example(**LEFT_OUT)
@settings(max_examples=4)
@given(epochs=st.integers(2, 3), batch_size=fit_batch_sizes, lr=fit_lrs)
def test_fit_uses_shuffled_mini_batches(student, epochs, batch_size, lr):
    """fit trains on mini-batches of batch_size examples (left out: 64; the last of an epoch may be smaller), every example once per epoch, in a new random order every epoch (epochs left out: 1)."""
    probe = fit_probe(student, epochs, batch_size, lr)
    call, (epochs, batch_size, lr) = fit_call(epochs, batch_size, lr), with_defaults(epochs, batch_size, lr)
    batches = training_batches(probe)
    sizes = [len(rows) for rows, _ in batches]
    if any(size > batch_size for size in sizes):
        fail(f"{call} gave the model batches of sizes {sizes}; batch_size={batch_size}")
    epochs_seen = split_epochs(batches)
    orders = []
    for e, epoch in enumerate(epochs_seen):
        epoch_sizes = [len(rows) for rows, _ in epoch]
        if any(size != batch_size for size in epoch_sizes[:-1]):
            fail(f"{call}, {len(PROBE_X)} examples: epoch {e + 1} used batches of sizes {epoch_sizes}; every "
                 f"batch but the last should have batch_size={batch_size} examples")
        order = torch.cat([rows for rows, _ in epoch])
        if len(order) != len(set(order.tolist())):
            fail(f"epoch {e + 1} used some examples twice: each example once per epoch (a permutation)")
        if len(order) != len(PROBE_X):
            fail(f"{call}: epoch {e + 1} used {len(order)} of the {len(PROBE_X)} examples (batches of sizes "
                 f"{epoch_sizes}); every example once per epoch: keep the last, smaller batch")
        orders.append(order)
    if len(epochs_seen) != epochs:
        fail(f"{call} went {len(epochs_seen)} times through the examples; epochs={epochs}")
    if orders and torch.equal(orders[0], torch.arange(len(orders[0]))):
        fail("the first epoch took the examples in their original order: shuffle them (torch.randperm)")
    if any(torch.equal(a, b) for a, b in zip(orders, orders[1:])):
        fail("two epochs took the examples in the same order: draw a new random order every epoch")


@graded("fit_batches", rules=["fit.pure"])
@settings(max_examples=2)
@given(epochs=fit_epochs, batch_size=fit_batch_sizes, lr=fit_lrs)
def test_fit_leaves_x_and_y_unchanged(student, epochs, batch_size, lr):
    """fit does not modify x or y."""
    probe = fit_probe(student, epochs, batch_size, lr)
    expect_unchanged(PROBE_X, probe["x"], "x")
    expect_unchanged(PROBE_Y, probe["y"], "y")


@graded("fit_zero_grad", rules=["fit.zero_grad"])
@settings(max_examples=4)
@given(epochs=fit_epochs, batch_size=fit_batch_sizes, lr=fit_lrs)
def test_fit_zeroes_the_gradients(student, epochs, batch_size, lr):
    """fit zeroes the gradients for every batch: after each backward, .grad holds that batch's gradient only."""
    probe = fit_probe(student, epochs, batch_size, lr)
    accumulated = probe["accumulated"]
    if not accumulated:
        fail("fit never called backward on a loss of the model's output")
    stale = accumulated.count(False)
    if stale:
        fail(f"in {stale} of {len(accumulated)} gradient updates, .grad still held gradients from earlier "
             f"batches (backward adds to .grad): call opt.zero_grad() for every batch")


@graded("fit_optimizer", rules=["fit.optimizer", "fit.signature"])
@example(**LEFT_OUT)
@settings(max_examples=4)
@given(epochs=fit_epochs, batch_size=fit_batch_sizes, lr=fit_lrs)
def test_fit_takes_one_adam_step_per_batch(student, epochs, batch_size, lr):
    """fit takes one torch.optim.Adam step per mini-batch, on all the model's parameters, with learning rate lr (left out: 1e-3), all with one optimiser created for the whole fit."""
    probe = fit_probe(student, epochs, batch_size, lr)
    call, (epochs, batch_size, lr) = fit_call(epochs, batch_size, lr), with_defaults(epochs, batch_size, lr)
    steps, batches = probe["steps"], training_batches(probe)
    if not steps:
        fail("fit never called the optimiser's step(): use torch.optim.Adam(model.parameters(), lr=lr)")
    names = sorted({name for name, _, _ in steps})
    if names != ["Adam"]:
        fail(f"fit used the optimiser {', '.join(names)}; this exercise uses torch.optim.Adam")
    rates = sorted({rate for _, group_rates, _ in steps for rate in group_rates})
    if any(not math.isclose(rate, lr, rel_tol=1e-9) for rate in rates):
        fail(f"{call} used the learning rate {rates}; lr={lr}: pass lr to Adam")
    if not all(same for _, _, same in steps):
        fail("the optimiser does not hold exactly the model's parameters: torch.optim.Adam(model.parameters(), lr=lr)")
    if len(steps) != len(batches):
        fail(f"fit took {len(steps)} optimiser steps for {len(batches)} batches: one step per batch")
    optimizers = probe.get("optimizers")
    if optimizers != 1:
        fail(f"{call} stepped {optimizers} different optimisers: create one "
             f"torch.optim.Adam before the loops and use it for every step (Adam's running averages of "
             f"the gradients live in the optimiser, and a new one starts them again)")


FIT_META = """
import torch as _t
import torch.optim.optimizer as _optim
_model = _t.nn.Sequential(_t.nn.Linear(784, 32), _t.nn.ReLU(), _t.nn.Linear(32, 10)).to(_t.device("meta"))
_devices, _counts = [], {"backward": 0, "step": 0}
_model.register_forward_pre_hook(lambda module, inputs: _devices.append(str(inputs[0].device)))
for _p in _model.parameters():
    _p.register_post_accumulate_grad_hook(lambda p: _counts.__setitem__("backward", _counts["backward"] + 1))
_handle = _optim.register_optimizer_step_pre_hook(
    lambda opt, args, kwargs: _counts.__setitem__("step", _counts["step"] + 1))
_error = None
try:
    fit(_model, x, y, epochs=1, batch_size=batch_size)
except Exception as _e:
    _error = f"{type(_e).__name__}: {_e}"
finally:
    _handle.remove()
result = {"devices": _devices, "error": _error, **_counts}
"""


@graded("fit_device", rules=["fit.device"])
@settings(max_examples=2)
@given(batch_size=st.sampled_from([32, 50]))
def test_fit_trains_on_the_models_device(student, batch_size):
    """fit trains on the model's device: with the model on torch.device("meta") and x, y on the CPU, every batch reaches the model on meta and the loss is computed there."""
    outcome = student.run(FIT_META, label="fit", timeout=20, x=PROBE_X[:64].clone(), y=PROBE_Y[:64].clone(),
                          batch_size=batch_size)
    others = sorted(set(outcome["devices"]) - {"meta"})
    if others:
        fail(f"the model is on the meta device, but fit gave it batches on {', '.join(others)}: move each "
             f"batch to the model's device, next(model.parameters()).device (not a fixed device)")
    problem = meta_problem(outcome["error"])
    if problem:
        fail(f"with the model on the meta device and x, y on the CPU, fit raised {problem}\n(the meta device "
             f"stands in for a GPU: move x and y batches to the model's device; do not move the model)")
    if not outcome["devices"]:
        fail("with the model on the meta device, fit never ran the model")
    # Reading loss.item() on meta ends the run early, which is fine; otherwise a step must have happened.
    if outcome["error"] is None and not outcome["step"]:
        fail("with the model on the meta device, fit did not complete one training step (forward, backward, "
             "optimiser step)")


def tiny_net(student):
    return once("tiny_net", lambda: student.run(SMALL_NET, label="the grader's model", seed=0, hidden=8))


@graded("fit_bad_input", rules=["fit.errors"])
@given(n=st.integers(2, 10), extra=st.sampled_from([-1, 1, 3]))
def test_fit_refuses_mismatched_lengths(student, n, extra):
    """fit raises ValueError, with a message, when x and y have different lengths."""
    x, y = PROBE_X[:n].clone(), PROBE_Y[:n + extra].clone()
    with expect_raises(ValueError, f"fit with {len(x)} examples in x and {len(y)} labels in y"):
        student.call("fit", tiny_net(student), x, y)


def mnist_run(student, train_images, epochs):
    """fit on real MNIST, once per session: (what fit returned, the trained weights)."""
    def make():
        model = student.run(SMALL_NET, label="the grader's model", seed=0, hidden=256)
        losses = student.call("fit", model, MNIST_X[:train_images], MNIST_Y[:train_images], epochs=epochs,
                              timeout=45)
        return losses, student.eval(STATE_EXPR, label="the grader's model", m=model)
    return once(("mnist_run", train_images, epochs), make)


@graded("fit_mnist", rules=["fit.learns", "fit.zero_grad", "fit.optimizer"])
@settings(max_examples=1)
@given(train_images=st.just(12_000), epochs=st.just(2))
def test_fit_learns_mnist(student, train_images, epochs):
    """On 12,000 real MNIST images, fit(model, x, y, epochs=2) with its defaults lowers the loss (its last returned loss is below its first) and reaches at least 85% accuracy on 2,000 validation images."""
    losses, state = mnist_run(student, train_images, epochs)
    if not isinstance(losses, (list, tuple)) or len(losses) < 2:
        fail(f"fit(..., epochs={epochs}) should return {epochs} losses, one per epoch; got {show(losses)}")
    first, second = as_number(losses[0], "the first loss"), as_number(losses[-1], "the last loss")
    accuracy = (sequential_logits(state, HELD_OUT_X).argmax(dim=1) == HELD_OUT_Y).double().mean().item()
    if not second < first:
        fail(f"the loss did not go down: fit returned {first:.4f} for the first epoch and {second:.4f} for the last")
    if accuracy < MNIST_ACCURACY:
        fail(f"after fit the network gets {accuracy:.1%} of the 2,000 validation images right; a correct "
             f"fit reaches about 94% (at least {MNIST_ACCURACY:.0%} is required). Losses returned: first "
             f"{first:.4f}, last {second:.4f}")


# ---------------------------------------------------------------- predict
def predict_net(student):
    def make():
        model = student.run(SMALL_NET, label="the grader's model", seed=1, hidden=32)
        return model, student.eval(STATE_EXPR, label="the grader's model", m=model)
    return once("predict_net", make)


@graded("predict_indices", rules=["predict.indices", "predict.dtype"])
@given(x=images(max_n=6))
def test_predict_returns_class_indices(student, x):
    """predict returns the class indices (N,), the argmax of the model's logits, as integers (not logits, not probabilities)."""
    model, state = predict_net(student)
    inputs = x.tensor()
    preds = expect_tensor(student.predict(model, inputs), "predict's result")
    n = len(inputs)
    if tuple(preds.shape) == (n, 10):
        fail(f"predict returned shape {(n, 10)}: those are 10 scores per image; return the index of the "
             f"largest, argmax(dim=1), shape ({n},)")
    expect_shape(preds, (n,), what="predict's result")
    if preds.is_floating_point() or preds.dtype == torch.bool:
        fail(f"predict should return integer class indices, got dtype {preds.dtype}")
    logits = sequential_logits(state, inputs)
    expected = logits.argmax(dim=1)
    for i in (preds != expected).nonzero().flatten().tolist():
        p = int(preds[i])
        if not 0 <= p < 10 or float(logits[i].max() - logits[i, p]) > 1e-5:  # a tie within rounding may go either way
            fail(f"predict is wrong for row {i}.\nExpected: {show(expected)}\nGot:      {show(preds)}\n"
                 f"Logits of row {i}: {show(logits[i].float())}")


PREDICT_WATCHED = """
import torch as _t
_t.manual_seed(1)
_model = _t.nn.Sequential(_t.nn.Linear(784, 32), _t.nn.ReLU(), _t.nn.Linear(32, 10))
if on_meta:
    _model = _model.to(_t.device("meta"))
_seen = []
_model.register_forward_pre_hook(lambda module, inputs: _seen.append((str(inputs[0].device), _t.is_grad_enabled())))
_error, _out = None, None
try:
    _out = predict(_model, x)
except Exception as _e:
    if not on_meta:
        raise
    _error = f"{type(_e).__name__}: {_e}"
result = {"seen": _seen, "error": _error, "out": None if on_meta else _out}  # a meta tensor holds no values to send
"""


@graded("predict_no_grad", rules=["predict.no_grad"])
@given(n=st.integers(1, 5))
def test_predict_does_not_track_gradients(student, n):
    """predict runs the model without tracking gradients (inside torch.no_grad()), and its result needs no gradient."""
    outcome = student.run(PREDICT_WATCHED, label="predict", x=PROBE_X[:n].clone(), on_meta=False)
    if not outcome["seen"]:
        fail("predict never called the model: model(x)")
    if any(grad for _, grad in outcome["seen"]):
        fail("predict ran the model with gradient tracking on: PyTorch recorded every operation for a "
             "backward that never comes. Run the model inside `with torch.no_grad():`")
    out = outcome["out"]
    if isinstance(out, torch.Tensor) and out.requires_grad:
        fail("predict's result requires a gradient: compute it inside torch.no_grad()")


@graded("predict_device", rules=["predict.device"])
@given(n=st.integers(1, 5))
def test_predict_on_the_models_device(student, n):
    """predict computes on the model's device: with the model on torch.device("meta") and x on the CPU, the model gets x on meta."""
    outcome = student.run(PREDICT_WATCHED, label="predict", x=PROBE_X[:n].clone(), on_meta=True)
    devices = sorted({device for device, _ in outcome["seen"]})
    if devices and devices != ["meta"]:
        fail(f"the model is on the meta device, but predict gave it x on {', '.join(devices)}: move x to the "
             f"model's device, next(model.parameters()).device")
    problem = meta_problem(outcome["error"])
    if problem:
        fail(f"with the model on the meta device and x on the CPU, predict raised {problem}")
    if not devices:
        fail("predict never called the model: model(x)")
