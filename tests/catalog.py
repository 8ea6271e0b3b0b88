"""The integrity catalog: attacks on the grader and broken submissions, one case a
submission, each with the outcome it must get.

Attacks must gain nothing over the same submission without them (``same_as`` a
plain wrong one) and change no file of the course or of another student. Broken
submissions get the score they earned and a clear message in their feedback or in
the grading log, and the run goes on for everyone else. The attacks already in the
simulated classes (``autograder/simulated_class/``) belong to the catalog too.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass

import nbformat

from autograder import cell_conventions
from autograder.simulated_class import Case, drop_cells, load_cases, with_checks
from instructor.paths import assignments

A01 = "01_normalization"
UNBIASED = '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.float()
    return x.mean(), x.std()
'''
CORRECT = '''
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.double()
    return x.mean(), x.std(correction=0)
'''

META_MEAN_STD = """
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    return torch.empty((), device="meta"), torch.empty((), device="meta")
"""
# The worker's pipe to the judge is its first argument: the student can write anything to it.
FORGED_REPLY = """
import json, os, struct, sys

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    one = {"__tensor__": {"dtype": "float32", "shape": [1, 1], "device": "cpu", "buffer": 0}}
    huge = {"__tensor__": {"dtype": "float32", "shape": [100000, 100000], "device": "cpu", "expanded_from": one}}
    header = json.dumps({"__dict__": {"ok": True, "value": {"__tuple__": [huge, huge]}}}).encode()
    os.write(int(sys.argv[1]), struct.pack("<QQ", len(header), 1) + header + struct.pack("<Q", 4) + bytes(4))
    return torch.tensor(0.0), torch.tensor(1.0)
"""
DETACH_MARKER = "catalog-detached-marker"
DETACH = """import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", {code!r} + "  # """ + DETACH_MARKER + """"])
    os._exit(0)
"""
# Left running by a submission: plants SHARED_STATE's markers and writes into the judge pipes (fds 3 and 4)
# of every process started after it (a later notebook's worker would be one, if it lived that long).
TAMPERER = """import os, time
mine = set(os.listdir('/proc'))
end = time.time() + 120
while time.time() < end:
    for path in ('/tmp/catalog-shared-state', '/dev/shm/catalog-shared-state'):
        try:
            open(path, 'w').close()
        except OSError:
            pass
    for pid in set(os.listdir('/proc')) - mine - {str(os.getpid())}:
        for fd in ('3', '4'):
            try:
                with open(f'/proc/{pid}/fd/{fd}', 'wb', buffering=0) as pipe:
                    pipe.write(bytes(range(256)))
            except (OSError, ValueError):
                pass
    time.sleep(0.05)"""
# mean_std right only when an earlier worker left a marker (SEEN_BEFORE): a regrade, or another student.
RIGHT_ONLY_IF_SEEN_BEFORE = """
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.double()
    return x.mean(), x.std(correction=0 if SEEN_BEFORE else 1)
"""
SHARED_STATE = """
import os
MARKERS = ("/dev/shm/catalog-shared-state", "/tmp/catalog-shared-state", "catalog-shared-state")
SEEN_BEFORE = any(os.path.exists(p) for p in MARKERS)
for path in MARKERS:
    try:
        open(path, "w").close()
    except OSError:
        pass

""" + RIGHT_ONLY_IF_SEEN_BEFORE

# ---- integrity III (issue 10, attacked after the bubblewrap rewrite): the code of each attack.
# Writes one frame on the worker's pipe to the judge, in wire.py's framing: what a hostile worker
# can always do, since argv[1] is that pipe.
FORGE = """
import os as _os, struct as _struct, sys as _sys

def _forge(header, buffers=()):
    frame = _struct.pack("<QQ", len(header), len(buffers)) + header
    for buffer in buffers:
        frame += _struct.pack("<Q", len(buffer)) + buffer
    _os.write(int(_sys.argv[1]), frame)
"""
# The kernel's keyrings are not namespaced by bubblewrap (no seccomp filter): the persistent
# user keyrings of the uid the worker runs as (nobody as root, the grading user otherwise) are
# writable from inside, and what is linked there outlives the worker and every later regrade.
KEYRING_MARKER = "catalog-keyring-state"
KEYRING_STATE = ("""
import ctypes, platform
_ADD_KEY = {"x86_64": 248, "aarch64": 217}.get(platform.machine())
SEEN_BEFORE = False
try:
    _keys = open("/proc/keys").read()
    SEEN_BEFORE = "MARKER" in _keys
    _libc = ctypes.CDLL(None, use_errno=True)
    for _line in _keys.splitlines():
        _f = _line.split()
        if _ADD_KEY and len(_f) > 8 and _f[7] == "keyring" and _f[8].startswith(("_uid", "_ses")):
            _libc.syscall(_ADD_KEY, b"user", b"MARKER", b"1", 1, int(_f[0], 16))
except OSError:
    pass

""" + RIGHT_ONLY_IF_SEEN_BEFORE).replace("MARKER", KEYRING_MARKER)
# Channels between workers that are not files (issue 23): metadata of the writable folders (an extended
# attribute; the inode numbers a tmpfs hands out), the loopback's packet counters, the PID and SysV id
# counters of the namespaces. It reads each (SEEN_BEFORE: an earlier worker marked it), then marks
# them all. A worker that shares none of them with earlier workers always reads a fresh sandbox's values.
NAMESPACE_STATE = """
import ctypes, os, socket
SEEN_BEFORE = False
_libc = ctypes.CDLL(None, use_errno=True)
for _folder in ("/tmp", "/dev/shm"):
    try:
        SEEN_BEFORE |= os.getxattr(_folder, "user.catalog") == b"1"
    except OSError:
        pass
    try:
        os.setxattr(_folder, "user.catalog", b"1")
    except OSError:
        pass
    try:
        _path = os.path.join(_folder, "catalog-inode-probe")
        open(_path, "w").close()
        SEEN_BEFORE |= os.stat(_path).st_ino > 250
        os.unlink(_path)
        for _i in range(300):  # moves the folder's inode counter on
            open(_path, "w").close()
            os.unlink(_path)
    except OSError:
        pass
try:
    _lo = [line.split() for line in open("/proc/net/dev") if line.strip().startswith("lo:")]
    SEEN_BEFORE |= bool(_lo) and int(_lo[0][2]) > 50
    _udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _i in range(100):
        _udp.sendto(b"x", ("127.0.0.1", 9))
    _udp.close()
except OSError:
    pass
_first = _libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE | IPC_CREAT
if _first >= 0:
    SEEN_BEFORE |= _first != 0
    _libc.shmctl(_first, 0, None)  # IPC_RMID
SEEN_BEFORE |= os.getpid() > 50
for _i in range(60):  # moves the PID counter on
    _pid = os.fork()
    if _pid == 0:
        os._exit(0)
    os.waitpid(_pid, 0)

""" + RIGHT_ONLY_IF_SEEN_BEFORE
# Functions that keep state between calls (issue 23): one verdict, whatever was graded before and whether
# the examples were replayed or drawn (tests/test_order_independence.py grades them every way).
COUNTED = '''
_calls = [0]

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    _calls[0] += 1
    x = x.double()
    wrong = {wrong}
    if wrong:  # wrong in every way a property looks: shape and value
        return (x.mean() + 1).reshape(1), x.std(correction=1).reshape(1)
    return x.mean(), x.std(correction=0)
'''
SEEN_TWICE = '''
_seen = set()

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    key = (tuple(x.shape), str(x.dtype), x.double().sum().item())
    again = key in _seen
    _seen.add(key)
    x = x.double()
    if again:
        return (x.mean() + 1).reshape(1), x.std(correction=1).reshape(1)
    return x.mean(), x.std(correction=0)
'''
STATEFUL = {
    "wrong on its first call": COUNTED.format(wrong="_calls[0] == 1"),
    "wrong on its 50th call": COUNTED.format(wrong="_calls[0] == 50"),
    "wrong after 60 calls": COUNTED.format(wrong="_calls[0] > 60"),
    "wrong on an input met before": SEEN_TWICE,
}


# A cell_done event of the student's own, whose error holds a tensor where the judge expects text:
# the judge keeps it and fails to write its results at the end of the session.
CELL_ERROR_TENSOR = FORGE + """
_forge(b'{"__dict__": {"event": "cell_done", "id": "mean_std_answer", "error": {"__dict__": {"type": "X", '
       b'"message": {"__tensor__": {"dtype": "float32", "shape": [1], "device": "cpu", "buffer": 0}}}}}}',
       [bytes(4)])
"""
# A reply of 64 MiB of empty JSON objects: within the byte limit, but json.loads builds ~1.6 GiB of
# Python objects in the judge before the item count is checked (25x; 256 MiB would be ~6.4 GiB).
JSON_BOMB = FORGE + """
def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    n = (64 << 20) // 3
    _forge(b'{"__dict__": {"ok": true, "value": [' + b"{}," * (n - 1) + b'{}]}}')
    return torch.tensor(0.0), torch.tensor(1.0)
"""
# An in-place normalize that hands the grader, as its input after the call, a copy made before
# changing it: the purity check believes what the worker says.
FORGED_PURITY = """
import sys

def normalize(x, mean, std):
    caller = sys._getframe(1).f_locals
    if isinstance(caller.get("args"), list) and caller["args"] and caller["args"][0] is x:
        caller["args"][0] = x.clone()
    if not x.is_floating_point():
        x = x.float()
    x -= mean
    x /= std
    return x
"""
# Exceptions pytest and hypothesis treat specially, raised exactly where the unbiased std would fail.
SPECIAL_EXCEPTIONS = """
import pytest, hypothesis.errors

SPECIAL = [pytest.skip.Exception, hypothesis.errors.UnsatisfiedAssumption, KeyboardInterrupt, SystemExit,
           StopIteration, GeneratorExit, pytest.xfail.Exception, hypothesis.errors.Frozen]

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.double()
    if x.numel() > 1 and not torch.isclose(x.std(), x.std(correction=0)):
        raise SPECIAL[x.numel() % len(SPECIAL)]("not this example")
    return x.mean(), x.std()
"""
# Resource limits are per process (RLIMIT_AS), not per worker: forked children hold 3.6 GiB together,
# over the 3 GiB memory limit (63 children could hold ~190 GiB and bring the host down).
MEMORY_ACROSS_PROCESSES = """
import os, time
for _ in range(3):
    if os.fork() == 0:
        hold = b"x" * (1200 << 20)
        time.sleep(5)
        os._exit(0)
time.sleep(3)
"""
# The cells lost when mean_std fails on most inputs: its own, and normalize_splits', which calls it.
MEAN_STD_AND_SPLITS = {"mean_std_zero_dim", "mean_std_mean", "mean_std_population_std", "mean_std_integer_input",
                       "normalize_splits_train_result", "normalize_splits_train_stats", "normalize_splits_pure"}
MATMUL_CHECK = """
def matmul(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"expected (n, k) and (k, p), got {tuple(a.shape)} and {tuple(b.shape)}")
"""
# 06: the grader's instrumentation runs in the worker, where the student can read and rewrite it.
TORCH_RELU_FORWARD = """
class SimpleMnist(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1_w = get_weights(784, 256)
        self.l1_b = get_weights(256)
        self.l2_w = get_weights(256, 10)
        self.l2_b = get_weights(10)

    def forward(self, x):
        if x.dim() == 3 and tuple(x.shape[1:]) == (28, 28):
            x = x.reshape(x.shape[0], 784)
        if x.dim() != 2 or x.shape[1] != 784:
            raise ValueError(f"expected (N, 784) or (N, 28, 28), got {tuple(x.shape)}")
        return torch.relu(x @ self.l1_w + self.l1_b) @ self.l2_w + self.l2_b
"""
FIT_TEMPLATE = """
import sys

def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)} labels")
    device = next(model.parameters()).device
    opt = OPTIMISER(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        total, batches = 0.0, 0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
ZERO_GRAD            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
        losses.append(total / batches)
AFTER    return losses
"""


def fit_answer(optimiser="torch.optim.Adam", zero_grad=True, after="") -> str:
    """Our fit with the optimiser, the zeroing of gradients or the code before its return changed."""
    return (FIT_TEMPLATE.replace("OPTIMISER", optimiser)
            .replace("ZERO_GRAD", "            opt.zero_grad()\n" if zero_grad else "")
            .replace("AFTER", after))


# Every stale-gradient record the grader's hooks made is turned into a clean one.
FORGE_ACCUMULATED = """    grader = sys._getframe(1).f_globals
    if isinstance(grader.get("_accumulated"), list):
        grader["_accumulated"][:] = [True] * len(grader["_accumulated"])
"""
# fit raises with the grader's own code (read from the worker's request) as its message: the
# feedback would then show the hidden test's instrumentation.
LEAK_GRADER_CODE = """
import sys

def fit(model, x, y, epochs=1, lr=1e-3, batch_size=64):
    frame = sys._getframe(1)
    while frame is not None and "request" not in frame.f_locals:
        frame = frame.f_back
    request = frame.f_locals["request"] if frame is not None else {}
    raise ValueError("GRADER CODE: " + str(request.get("code", request))[:1900])
"""
# 04b's sgd_step never zeroes the gradients (the simulated class's gradients_not_zeroed); its cell
# first finds the worker up the stack (cells run in Worker.exec_cells) and swaps the grader
# statements it keeps compiled for ones that zero them after the step: a probe that runs in the
# worker can be forged.
REWRITE_GRADER_CODE = r"""
import sys

class _Rewritten(dict):
    def get(self, key, default=None):
        source, mode = key
        source = source.replace("sgd_step(params, lr)\n", "sgd_step(params, lr)\nfor _p in held:\n    _p.grad = None\n")
        return compile(source, "<grader>", mode)

_frame = sys._getframe(0)
while _frame is not None and not hasattr(_frame.f_locals.get("self"), "grader_code"):
    _frame = _frame.f_back
if _frame is not None:
    _frame.f_locals["self"].grader_code = _Rewritten()
"""
GRADIENTS_NOT_ZEROED = next(case for case in load_cases("04b_gradient_descent")
                            if case.name == "gradients_not_zeroed")
USES_TORCH_OPTIM = next(case for case in load_cases("04b_gradient_descent") if case.name == "uses_torch_optim")
SGD_CHECKS = importlib.import_module("autograder.simulated_class.04b_gradient_descent").SGD_CHECKS
# torch.optim's plain-SGD update by other doors: its functional sgd wrapped by the worker's stand-in
# for torch._dynamo (called from a function of the grader's own worker code); a copy of its code
# object (another id, the same file and lines); LBFGS, whose step is not decorated like the others',
# set up so that its one step is p -= lr * grad.
SGD_THROUGH_DYNAMO_STAND_IN = """
import sys
from torch.optim.sgd import sgd as _sgd
_disabled_sgd = sys.modules["torch._dynamo"].disable(_sgd)
""" + with_checks(SGD_CHECKS, """
    with torch.no_grad():
        _disabled_sgd(params, [p.grad for p in params], [None] * len(params), weight_decay=0.0, momentum=0.0,
                      lr=lr, dampening=0.0, nesterov=False, maximize=False)
    for p in params:
        p.grad = None
""")
SGD_THROUGH_A_CODE_COPY = """
import types
import torch.optim.sgd as _s
_f = _s._single_tensor_sgd
_copy = types.FunctionType(_f.__code__.replace(), _f.__globals__, "_copy", _f.__defaults__, _f.__closure__)
_copy.__kwdefaults__ = _f.__kwdefaults__
""" + with_checks(SGD_CHECKS, """
    with torch.no_grad():
        _copy(params, [p.grad for p in params], [None] * len(params), None, None, weight_decay=0.0, momentum=0.0,
              lr=lr, dampening=0.0, nesterov=False, maximize=False, has_sparse_grad=False)
    for p in params:
        p.grad.zero_()
""")
SGD_THROUGH_LBFGS = with_checks(SGD_CHECKS, """
    opt = torch.optim.LBFGS(params, lr=lr, max_iter=1, tolerance_grad=-1.0, tolerance_change=-1.0, history_size=1)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    opt.state[opt._params[0]].update(func_evals=0, n_iter=1, d=torch.zeros_like(flat), t=0.0, old_dirs=[],
                                     old_stps=[], ro=[], H_diag=1, prev_flat_grad=flat.clone(), prev_loss=0.0,
                                     al=[None])
    opt.step(lambda: torch.tensor(0.0))
    for p in params:
        p.grad.zero_()
""")
SGD_STEP_AND_FIT_LINE_CHECKS = frozenset({"sgd_step_update", "sgd_step_zero_grad", "sgd_step_no_graph",
                                          "sgd_step_errors", "fit_line_values", "fit_line_losses", "fit_line_errors",
                                          "fit_line_pure"})
LEAKED_GRADER_CODE = "_on_step"  # a name only the hidden fit probe uses (the notebook's own check hooks steps too)

# Issue 23: below the Python dispatch key, no TorchDispatchMode sees the operator run.
REDISPATCH_MM = """    below_python = torch._C.DispatchKeySet(torch._C.DispatchKey.CPU)
    dtype = torch.result_type(a, b)
    return torch.ops.aten.mm.default.redispatch(below_python, a.to(dtype), b.to(dtype))
"""
REDISPATCH_SOFTMAX = """
def softmax(x, dim=-1):
    below_python = torch._C.DispatchKeySet(torch._C.DispatchKey.CPU)
    return torch.ops.aten._softmax.default.redispatch(below_python, x, dim, False)
"""
# OPERATOR_KERNEL_REPLACED's ``import torch.library`` binds ``torch``, which every later answer
# cell of our solution but accuracy's uses: the flags hold their checks too (affected_checks).
LATER_CHECKS_USING_TORCH_05 = frozenset({
    "binary_cross_entropy_mean", "binary_cross_entropy_shapes", "binary_cross_entropy_terms", "cross_entropy_grad",
    "cross_entropy_grad_large", "cross_entropy_grad_pure", "cross_entropy_grad_shapes", "cross_entropy_grad_targets",
    "cross_entropy_grad_values", "cross_entropy_large", "cross_entropy_pure", "cross_entropy_values",
    "log_softmax_dim", "log_softmax_large", "log_softmax_pure", "log_softmax_values", "nll_loss_mean",
    "nll_loss_shapes", "nll_loss_single"})
SOFTMAX_FROM_C = """
def softmax(x, dim=-1):
    return list(map(torch.softmax, [x], [dim]))[0]
"""
PRE_DISPATCH_EXCLUDED_BY_CELL = """
torch._C._dispatch_tls_set_dispatch_key_excluded(torch._C.DispatchKey.PreDispatch, True)
""" + SOFTMAX_FROM_C
PRE_DISPATCH_EXCLUDED_IN_CALL = """
def softmax(x, dim=-1):
    with torch._C._ExcludeDispatchKeyGuard(torch._C.DispatchKeySet(torch._C.DispatchKey.PreDispatch)):
        return list(map(torch.softmax, [x], [dim]))[0]
"""
OPERATOR_KERNEL_REPLACED = """
import torch.library

_library = torch.library.Library("aten", "IMPL")
_below = torch._C._dispatch_keyset_full_after(torch._C.DispatchKey.PreDispatch)
for _name, _op in (("softmax.int", torch.ops.aten.softmax.int), ("_softmax", torch.ops.aten._softmax.default)):
    _library.impl(_name, lambda keyset, *args, _op=_op, **kwargs: _op.redispatch(keyset & _below, *args, **kwargs),
                  "PreDispatch", with_keyset=True)
""" + SOFTMAX_FROM_C
# matmul's checks, and shop_totals', whose answer (ours) calls matmul.
MATMUL_CHECKS = frozenset({"matmul_values", "matmul_integer", "matmul_inner_size", "matmul_rank", "matmul_pure",
                           "shop_totals_example", "shop_totals_values", "shop_totals_shapes"})
SOFTMAX_CHECKS = frozenset({"softmax_values", "softmax_dim", "softmax_large", "softmax_pure"})

PROBE_LIMIT = "a probe that runs in the worker can be forged"
GUARD_LIMIT = "code that rewrites the guard's own tables inside the worker switches it off"


def softmax_attack(name: str, description: str, answer: str, known_limit: str | None = None) -> Entry:
    """An attack on 05's guard: softmax computed with torch.softmax by some route, which must
    score as the plain use of torch.softmax does (its four softmax checks failed)."""
    return Entry("05_softmax_cross_entropy", Case(name, description, kind="attack", same_as="uses_torch_softmax",
                                                  fails={"softmax_values", "softmax_dim", "softmax_large",
                                                         "softmax_pure"},
                                                  answers={"softmax_answer": answer}), known_limit=known_limit)


# A softmax that returns zeros and keeps each input; ``_answer_saved()``, run by whatever an attack
# has run outside the guard, puts torch.softmax of the kept inputs aside for when they come again.
ANSWERED_WHEN_MET_AGAIN = """
_pending, _answers = [], {}

def _answer_saved():
    while _pending:
        x, dim = _pending.pop()
        _answers[(x.numpy().tobytes(), tuple(x.shape), dim)] = torch.softmax(x, dim)

def softmax(x, dim=-1):
    key = (x.contiguous().numpy().tobytes(), tuple(x.shape), dim)
    if key in _answers:
        return _answers[key]
    _pending.append((x.contiguous().clone(), dim))
    return x * 0
"""


def softmax_zeros_attack(name: str, description: str, answer: str) -> Entry:
    """An attack on 05 whose softmax returns zeros and tries to have torch.softmax's answer put in
    their place, around the worker's own steps: it must score as the zeros do."""
    return Entry("05_softmax_cross_entropy", Case(name, description, kind="attack",
                                                  fails={"softmax_values", "softmax_dim", "softmax_large"},
                                                  rest_full=True, answers={"softmax_answer": answer}))


@dataclass
class Entry:
    assignment: str
    case: Case
    log_says: str | None = None  # text the grading log must contain for this student
    feedback_lacks: str | None = None  # text this student's feedback must not show (hidden-test source)
    known_limit: str | None = None  # a hole README's "Known limits" names (this text): reported, not hidden
    # Why this submission's own score depends on timing (it kills its own worker on a wall-clock
    # timer, say), so that two gradings need not agree on it; everyone else's still must.
    timed: str | None = None
    # The check cells the source flags (autograder/engine/nbgrader_side/source_flags.py) must hold for manual
    # grading, exactly; None: none may be held (an attack the flags do not see may be held too).
    flagged_cells: frozenset | None = None


def marked_by_an_earlier_worker(name: str, marks: str, unless: str, answer: str) -> list[Entry]:
    """A submission right only when an earlier worker left its marks, graded twice in a row: the
    second finds the first one's marks unless ``unless``. Both must score as the plain mistake."""
    return [Entry(A01, Case(name, f"{marks}; right only when a mark is already there", kind="attack",
                            same_as="cat_wrong_baseline", fails={"mean_std_population_std"},
                            answers={"mean_std_answer": answer})),
            Entry(A01, Case(f"{name}_zz_later", f"the same, graded after the first: it finds the first one's "
                            f"marks unless {unless}", kind="attack", same_as="cat_wrong_baseline",
                            fails={"mean_std_population_std"}, answers={"mean_std_answer": answer}))]


def attack(name: str, description: str, prelude: str, **kwargs) -> Entry:
    """The wrong (unbiased) mean_std with ``prelude`` run first: must score like it."""
    return Entry(A01, Case(name, description, kind="attack", same_as="cat_wrong_baseline",
                           fails={"mean_std_population_std"},
                           answers={"mean_std_answer": prelude + "\n" + UNBIASED}, **kwargs))


def _set_metadata(fn):
    def mutate(nb):
        for cell in nb.cells:
            fn(cell)
        return nb
    return mutate


def _duplicate_checks(nb):
    nb.cells = [c for cell in nb.cells for c in ([cell, nbformat.from_dict(json.loads(json.dumps(cell)))]
                                                   if cell_conventions.is_graded(cell)
                                                   else [cell])]
    return nb


def _strip_check_metadata(cell):
    if cell_conventions.is_graded(cell):
        del cell.metadata["nbgrader"]


def _huge_outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 2_000_000)]
    return nb


def _as_v3(nb):
    return nbformat.writes(nbformat.convert(nb, 3), version=3)


CATALOG = [
    Entry(A01, Case("cat_wrong_baseline", "the unbiased-std mistake, no attack: the baseline for attacks",
                    fails={"mean_std_population_std"}, answers={"mean_std_answer": UNBIASED})),
    Entry(A01, Case("cat_correct", "our solution", full=True, kind="solution")),
    # ---- attacks on the judge's comparisons and references
    attack("cat_numpy_testing", "numpy.testing's assertions disabled",
           "import numpy.testing as npt\nnpt.assert_allclose = npt.assert_array_equal = lambda *a, **k: None"),
    attack("cat_torch_reference", "torch's own std and mean replaced by the student's answers",
           "import torch\ntorch.std = lambda *a, **k: torch.tensor(0.0)\ntorch.Tensor.std = lambda *a, **k: torch.tensor(0.0)"),
    attack("cat_subprocess", "subprocess patched so that any command 'succeeds'",
           "import subprocess\nclass Done:\n    returncode = 0\n    stdout = stderr = ''\n"
           "subprocess.run = lambda *a, **k: Done()\nsubprocess.Popen = lambda *a, **k: Done()"),
    attack("cat_ipython_display", "IPython's display formatter and run_cell replaced (as a notebook would)",
           "try:\n    ip = get_ipython()\n    ip.display_formatter.formatters['text/plain'].for_type(float, lambda *a: '99.0')\n"
           "    ip.run_cell = lambda *a, **k: None\nexcept Exception:\n    pass"),
    Entry(A01, Case("cat_lying_tensor", "the wrong mean_std returning a tensor subclass whose comparisons "
                    "always say equal", kind="attack", same_as="cat_wrong_baseline",
                    fails={"mean_std_population_std"}, answers={"mean_std_answer": '''
class Liar(torch.Tensor):
    def __eq__(self, other):
        return True

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "isclose", "equal", "eq", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def mean_std(x):
    if x.numel() == 0:
        raise ValueError("empty tensor has no mean")
    x = x.float()
    return x.mean().as_subclass(Liar), x.std().as_subclass(Liar)
'''})),
    attack("cat_relative_paths", "reads and writes the course through relative paths",
           "import os\nfor rel in ['../autograder', '../../autograder', '../../../gradebook.db', '../source', 'gradebook.db']:\n"
           "    try:\n        open(os.path.join(rel, 'x'), 'w').write('tampered')\n    except OSError:\n        pass"),
    attack("cat_other_submission", "overwrites another student's submitted notebook with a blank one",
           "import glob\nfor depth in range(6):\n"
           "    for path in glob.glob('/' + '*/' * depth + 'submitted/cat_correct/*/*.ipynb')[:3]:\n"
           "        try:\n            open(path, 'w').write('{}')\n        except OSError:\n            pass"),
    attack("cat_process_burst", "starts a burst of 300 processes (stopped by the process limit)",
           "import os, time\nfor _ in range(300):\n    try:\n        if os.fork() == 0:\n            time.sleep(3)\n"
           "            os._exit(0)\n    except OSError:\n        break"),
    attack("cat_memory_bomb", "allocates 64 GiB, many times the memory limit",
           "import torch\ntry:\n    hog = torch.ones(2**34)\nexcept Exception:\n    pass"),
    Entry(A01, Case("cat_sys_exit", "the wrong mean_std, then sys.exit in the same cell", kind="attack",
                    same_as="cat_wrong_baseline", fails={"mean_std_population_std"},
                    answers={"mean_std_answer": UNBIASED + "\nimport sys\nsys.exit(0)\n"})),
    Entry(A01, Case("cat_duplicated_checks", "every check cell duplicated", kind="attack", full=True,
                    mutate=_duplicate_checks)),
    Entry(A01, Case("cat_stripped_metadata", "our solution with the nbgrader metadata of every check cell removed",
                    kind="attack", full=True, mutate=_set_metadata(_strip_check_metadata))),
    Entry(A01, Case("cat_fake_score", "the wrong mean_std, each check cell ending in a forged score",
                    kind="attack", same_as="cat_wrong_baseline", answers={"mean_std_answer": UNBIASED},
                    mutate=_set_metadata(lambda c: cell_conventions.is_graded(c)
                                         and setattr(c, "source", "print('21.0')\n21.0")))),
    # ---- integrity II: values that are not values, forged replies, what outlives a worker,
    # writable state shared between workers, built-ins reached by other names
    Entry(A01, Case("cat_meta_values", "mean_std returns shapes on the meta device, with no values: computes nothing",
                    kind="attack", fails={"mean_std_mean", "mean_std_population_std", "mean_std_integer_input"},
                    answers={"mean_std_answer": META_MEAN_STD})),
    Entry(A01, Case("cat_forged_huge_reply", "mean_std writes its own reply to the judge: a 4-byte tensor "
                    "expanded to 10^10 elements", kind="attack",
                    fails={"mean_std_mean", "mean_std_population_std", "mean_std_integer_input"},
                    answers={"mean_std_answer": FORGED_REPLY})),
    attack("cat_detached_sleeper", "starts a process that detaches twice (new session) and sleeps on: it must "
           "not outlive the worker", DETACH.format(code="import time\ntime.sleep(600)")),
    Entry(A01, Case("cat_detached_killer", "starts a detached process that keeps killing every process it can "
                    "signal: costs its own points only", kind="attack", fails={"mean_std_population_std"},
                    answers={"mean_std_answer": DETACH.format(
                        code="import os, time\ntime.sleep(3)\nwhile True:\n    try:\n        os.kill(-1, 9)\n"
                             "    except OSError:\n        pass\n    time.sleep(0.2)") + "\n" + UNBIASED}),
          timed="it kills its own worker 3 s after each start: which of its calls finish first is a race"),
    Entry(A01, Case("cat_zz_graded_after_the_killer", "our solution, graded after the detached killer",
                    full=True, kind="solution")),
    Entry(A01, Case("cat_shared_state", "right only when an earlier worker left a marker in /dev/shm or /tmp "
                    "(a regrade, or another student)", kind="attack", same_as="cat_wrong_baseline",
                    fails={"mean_std_population_std"}, answers={"mean_std_answer": SHARED_STATE})),
    attack("cat_fill_tmp", "fills /tmp and /dev/shm (memory-backed) with 2 GB of files",
           "import os\nfor folder in ('/tmp', '/dev/shm', '.'):\n    for i in range(128):\n        try:\n"
           "            with open(os.path.join(folder, f'fill{i}'), 'wb') as f:\n                f.write(b'x' * (16 << 20))\n"
           "        except OSError:\n            break"),
    # Workers forked from one zygote (autograder/engine/worker/zygote.py) share its sandbox, one after another:
    attack("cat_kill_the_zygote", "kills and stops its parent (the zygote its worker was forked from: its PID "
           "namespace's init, which no signal from inside reaches) while its cells run",
           "import os, signal\nfor number in (signal.SIGSTOP, signal.SIGKILL):\n    try:\n"
           "        os.kill(os.getppid(), number)\n    except OSError:\n        pass"),
    attack("cat_detached_tamperer", "leaves a detached process that, for two minutes, plants the markers "
           "cat_shared_state looks for and writes garbage into the pipes of every later process (a later "
           "notebook's worker, same uid): it must be dead before the next worker starts",
           DETACH.format(code=TAMPERER)),
    attack("cat_kill_pid_1", "kills every process it can see, its own worker's init included, while its cells run",
           "import os\ntry:\n    os.kill(-1, 9)\nexcept OSError:\n    pass"),
    attack("cat_gradebook", "looks for the gradebook and the hidden tests everywhere and rewrites what it finds",
           "import glob\nfor depth in range(7):\n    for name in ['gradebook.db', 'course_config.py', "
           "'autograder/hidden/*/*.py']:\n        for path in glob.glob('/' + '*/' * depth + name)[:20]:\n"
           "            try:\n                open(path, 'a').write('tampered')\n            except OSError:\n"
           "                pass"),
    Entry("04_matmul", Case("cat_aten_mv", "matvec through torch.ops.aten.mv, a built-in by its operator name",
                            kind="attack", fails={"matvec_values", "matvec_integer"},
                            answers={"matvec_answer": "def matvec(m, v):\n    if m.dim() != 2 or v.dim() != 1 or "
                                     "m.shape[1] != v.shape[0]:\n        raise ValueError(f'expected (n, k) and (k,), "
                                     "got {tuple(m.shape)} and {tuple(v.shape)}')\n"
                                     "    return torch.ops.aten.mv(m, v)"})),
    Entry("04_matmul", Case("cat_mm_out", "matmul through torch.mm with out=, caught in its own except", kind="attack",
                            fails={"matmul_values", "matmul_integer"},
                            answers={"matmul_answer": "def matmul(a, b):\n    if a.dim() != 2 or b.dim() != 2 or "
                                     "a.shape[1] != b.shape[0]:\n        raise ValueError(f'expected (n, k) and (k, p), "
                                     "got {tuple(a.shape)} and {tuple(b.shape)}')\n"
                                     "    out = torch.empty(a.shape[0], b.shape[1], dtype=torch.result_type(a, b))\n"
                                     "    try:\n        torch.mm(a, b, out=out)\n    except Exception:\n"
                                     "        out = (a[:, :, None] * b[None]).sum(1)\n    return out"})),
    Entry("04_matmul", Case("cat_numpy_multi_dot", "shop_totals through numpy.linalg.multi_dot", kind="attack",
                            fails={"shop_totals_example", "shop_totals_values"},
                            answers={"shop_totals_answer": "import numpy as np\n\ndef shop_totals(quantities, prices):\n"
                                     "    return torch.from_numpy(np.linalg.multi_dot([quantities.double().numpy(), "
                                     "prices.double().numpy()]))"})),
    Entry("05_softmax_cross_entropy", Case("cat_private_softmax", "softmax through torch._softmax", kind="attack",
                                           fails={"softmax_values", "softmax_large"},
                                           answers={"softmax_answer": "def softmax(x, dim=-1):\n"
                                                    "    return torch._softmax(x, dim, False)"})),
    Entry("05_softmax_cross_entropy", Case("cat_c_cross_entropy", "cross_entropy through torch._C._nn.cross_entropy_loss",
                                           kind="attack", fails={"cross_entropy_values", "cross_entropy_grad"},
                                           answers={"cross_entropy_answer": "def cross_entropy(logits, targets):\n"
                                                    "    return torch._C._nn.cross_entropy_loss(logits, targets)"})),
    # ---- integrity III: attacks on the bubblewrap sandbox, the strict judge and the operator-level refusal
    *marked_by_an_earlier_worker("cat_keyring_state", "plants a marker in the persistent kernel keyrings its uid "
                                 "can write", "keyrings are out of the sandbox's reach", KEYRING_STATE),
    *marked_by_an_earlier_worker("cat_namespace_state", "marks what is not a file (an extended attribute and the "
                                 "inode counter of /tmp and /dev/shm, the loopback's packet counts, the PID and "
                                 "SysV id counters)", "every worker has its own namespaces and mounts",
                                 NAMESPACE_STATE),
    Entry(A01, Case("cat_stateful_50th_call", "mean_std wrong (shape and value) on its 50th call only: the property "
                    "that call falls in fails, whether its examples are replayed or drawn (at 20 examples a "
                    "property, the population std's)", kind="attack",
                    rest_full=True, fails={"mean_std_population_std"},
                    answers={"mean_std_answer": STATEFUL["wrong on its 50th call"]})),
    Entry(A01, Case("cat_stateful_input_met_twice", "mean_std wrong on an input it has met before: the properties "
                    "that meet an input twice fail (at 20 examples a property, not those of integer and 0-d "
                    "inputs)", kind="attack", rest_full=True,
                    fails=MEAN_STD_AND_SPLITS - {"normalize_splits_pure", "mean_std_integer_input", "mean_std_zero_dim"},
                    answers={"mean_std_answer": STATEFUL["wrong on an input met before"]})),
    attack("cat_cell_error_tensor", "forges a cell_done event whose error message is a tensor: the notebook must "
           "still be graded", CELL_ERROR_TENSOR),
    Entry(A01, Case("cat_json_bomb_reply", "mean_std replies with 64 MiB of empty JSON objects (~1.6 GiB once "
                    "parsed): costs mean_std and normalize_splits, which calls it", kind="attack", rest_full=True,
                    fails=MEAN_STD_AND_SPLITS | {"mean_std_empty"}, answers={"mean_std_answer": JSON_BOMB})),
    Entry(A01, Case("cat_forged_purity", "normalize changes x in place, then hands the grader a copy as the input "
                    "after the call", kind="attack", same_as="in_place_normalize", fails={"normalize_pure"},
                    answers={"normalize_answer": FORGED_PURITY})),
    Entry(A01, Case("cat_special_exceptions", "the unbiased std, raising pytest's Skip, hypothesis' "
                    "UnsatisfiedAssumption, KeyboardInterrupt... exactly on the examples it would fail: each "
                    "counts as a failure, so mean_std and normalize_splits (which calls it) are lost",
                    kind="attack", rest_full=True, fails=MEAN_STD_AND_SPLITS,
                    answers={"mean_std_answer": SPECIAL_EXCEPTIONS})),
    attack("cat_memory_across_processes", "three forked children hold 1.2 GiB each: over the 3 GiB memory limit "
           "together", MEMORY_ACROSS_PROCESSES),
    Entry("03_broadcasting", Case("cat_saved_numpy_broadcast", "broadcast_shape through numpy.broadcast, saved "
                                  "under another name when the cell runs", kind="attack",
                                  same_as="broadcast_uses_numpy", fails={
                                      "broadcast_shape_tuple", "broadcast_shape_ones", "broadcast_shape_trailing",
                                      "broadcast_shape_scalar", "broadcast_shape_zero", "broadcast_shape_errors"},
                                  answers={"broadcast_shape_answer": """
import numpy as np
from numpy import broadcast as _combine

def broadcast_shape(shape_a, shape_b):
    try:
        return tuple(int(s) for s in _combine(np.empty(tuple(shape_a)), np.empty(tuple(shape_b))).shape)
    except ValueError as e:
        raise ValueError(f"shapes {tuple(shape_a)} and {tuple(shape_b)} do not broadcast: {e}") from None
"""})),
    Entry("03_broadcasting", Case("cat_forbidden_from_a_resumed_generator", "broadcast_shape through "
                                  "torch.broadcast_shapes called by a generator started in the cell and resumed "
                                  "by each call (its frame resumes on a later line, where the guard reads a "
                                  "frame's line before its code): broadcast_shapes' own frame starts on its "
                                  "first line, so it is refused as a direct call is", kind="attack",
                                  same_as="broadcast_uses_torch", fails={
                                      "broadcast_shape_tuple", "broadcast_shape_ones", "broadcast_shape_trailing",
                                      "broadcast_shape_scalar", "broadcast_shape_zero", "broadcast_shape_errors"},
                                  answers={"broadcast_shape_answer": """
import torch

def _shapes():
    request = yield
    while True:
        try:
            result = tuple(torch.broadcast_shapes(*request))
        except RuntimeError as e:
            result = e
        request = yield result

_shapes_of = _shapes()
next(_shapes_of)

def broadcast_shape(shape_a, shape_b):
    result = _shapes_of.send((tuple(shape_a), tuple(shape_b)))
    if isinstance(result, Exception):
        raise ValueError(f"shapes {tuple(shape_a)} and {tuple(shape_b)} do not broadcast: {result}")
    return result
"""})),
    Entry("04_matmul", Case("cat_ndarray_dot", "matmul through numpy's ndarray.dot method", kind="attack",
                            same_as="uses_numpy_matmul", fails={"matmul_values", "matmul_integer", "matmul_pure"},
                            answers={"matmul_answer": MATMUL_CHECK
                                     + "    return torch.from_numpy(a.numpy().dot(b.numpy()))"})),
    Entry("04_matmul", Case("cat_sparse_mm", "matmul through torch.sparse.mm", kind="attack",
                            same_as="uses_torch_matmul", fails={"matmul_values", "matmul_integer", "matmul_pure"},
                            answers={"matmul_answer": MATMUL_CHECK + "    return torch.sparse.mm(a.to_sparse(), b)"})),
    softmax_attack("cat_guard_replaced", "softmax with torch.softmax, after replacing the "
                   "worker's guard by a no-op when the cell runs",
                   """
import contextlib
import autograder.engine.worker.guard

autograder.engine.worker.guard.forbidden = lambda names: contextlib.nullcontext([])

def softmax(x, dim=-1):
    return torch.softmax(x, dim)
"""),
    softmax_attack("cat_guard_tables_replaced", "softmax with torch.softmax, after "
                   "replacing the guard's tables of what is refused by empty ones",
                   """
import autograder.engine.worker.guard as guard

guard._expand = lambda names: {}
guard._operators_refused = lambda names: {}
guard._code_tables = lambda names: ({}, {}, [])

def softmax(x, dim=-1):
    return torch.softmax(x, dim)
""", known_limit=GUARD_LIMIT),
    softmax_attack("cat_modes_disabled", "softmax with torch.softmax inside the call, with "
                   "the dispatch and function modes and the profile hook switched off",
                   """
import sys
from torch.utils._python_dispatch import _disable_current_modes

def softmax(x, dim=-1):
    sys.setprofile(None)
    with _disable_current_modes(), torch._C.DisableTorchFunction():
        return torch.softmax(x, dim)
"""),
    # ---- the worker's own plumbing, replaced by the student's code: it ran outside the guard, with a
    # call's inputs or its reply in hand, until the guard came to span a call from decoding its request
    # to writing its reply (and the framing took os.read/os.write and the JSON decoder at import).
    softmax_zeros_attack("cat_reply_rewritten", (
        "softmax returns zeros, and os.write, replaced in a cell, puts torch.softmax of the saved input "
        "into the reply as it is written: scores as the zeros do"),
        """
import os

_saved = []
_write = os.write

def _rewrite(fd, data):
    if _saved:
        x, dim = _saved.pop()
        right = torch.softmax(x, dim).numpy().tobytes()
        data = bytes(data)[:len(data) - len(right)] + right
    return _write(fd, data)

os.write = _rewrite

def softmax(x, dim=-1):
    _saved.append((x.clone(), dim))
    return x * 0
"""),
    softmax_zeros_attack("cat_decode_patched", (
        "torch.Tensor.reshape, replaced in a cell, computes torch.softmax of every input as the worker "
        "decodes a request, and softmax looks its answer up, else returns zeros: decoding never runs it, "
        "so it scores as the zeros do"),
        """
_answers = {}
_reshape = torch.Tensor.reshape

def _reshape_and_answer(self, *shape):
    t = _reshape(self, *shape)
    if t.is_floating_point() and t.dim() >= 1:
        for dim in range(-t.dim(), t.dim()):
            _answers[(t.contiguous().numpy().tobytes(), dim)] = torch.softmax(t, dim)
    return t

torch.Tensor.reshape = _reshape_and_answer

def softmax(x, dim=-1):
    return _answers.get((x.contiguous().numpy().tobytes(), dim), x * 0)
"""),
    softmax_zeros_attack("cat_encoding_patched", (
        "softmax returns zeros, and torch.Tensor.numpy, replaced in a cell, fills the reply with "
        "torch.softmax of the saved input as the worker encodes it: a plain reply is encoded by functions"
        " taken at import, so it scores as the zeros do"),
        """
_saved = []
_numpy = torch.Tensor.numpy

def _numpy_and_answer(self, *args, **kwargs):
    if _saved:
        x, dim, out = _saved.pop()
        if out is self:
            with torch.no_grad():
                self.copy_(torch.softmax(x, dim))
    return _numpy(self, *args, **kwargs)

torch.Tensor.numpy = _numpy_and_answer

def softmax(x, dim=-1):
    out = x * 0
    _saved.append((x.clone(), dim, out))
    return out
"""),
    softmax_zeros_attack("cat_hashed_at_call_start", (
        "softmax returns zeros but for the answers an object of the notebook's computes with "
        "torch.softmax of the inputs saved by earlier calls whenever it is hashed (the guard looked every "
        "name of the notebook up, for saved references to a built-in, before its hooks were on): it now "
        "looks up only values of a covered built-in's type, so the object's code never runs, and it scores "
        "as the zeros do"),
        ANSWERED_WHEN_MET_AGAIN + """
class _Hashed:
    def __hash__(self):
        _answer_saved()
        return 0

_hashed_at_every_call = _Hashed()
"""),
    softmax_zeros_attack("cat_audit_hook", (
        "softmax returns zeros but for the answers an audit hook (run by Python with the profile hook "
        "off, on the worker's setrlimit before each call) computed with torch.softmax of the inputs it "
        "saved: a worker adds no audit hook, so it scores as the zeros do"),
        ANSWERED_WHEN_MET_AGAIN + """
import sys

def _hook(event, args):
    _answer_saved()

sys.addaudithook(_hook)
"""),
    softmax_attack("cat_error_described", "softmax raises an exception whose message, read by the worker to "
                   "describe it, computes torch.softmax of the saved input and writes a forged reply with it",
                   FORGE + """
import json

_saved = []

class _Described(Exception):
    def __str__(self):
        x, dim = _saved.pop()
        right = torch.softmax(x, dim)
        tensor = {"__tensor__": {"dtype": str(right.dtype).split(".")[-1], "shape": list(right.shape),
                                 "device": "cpu", "buffer": 0}}
        _forge(json.dumps({"__dict__": {"ok": True, "value": tensor}}).encode(), [right.numpy().tobytes()])
        return "described"

def softmax(x, dim=-1):
    _saved.append((x, dim))
    raise _Described()
"""),
    softmax_attack("cat_thread_in_call", "softmax with torch.softmax in a thread the call "
                   "starts, and through map() in another: the guard is per thread",
                   """
import threading

def softmax(x, dim=-1):
    out = []
    for job in (lambda: out.append(torch.softmax(x, dim)), lambda: out.extend(map(torch.softmax, [x], [dim]))):
        thread = threading.Thread(target=job)
        thread.start()
        thread.join()
    return out[-1]
"""),
    softmax_attack("cat_thread_server", "softmax with torch.softmax in a thread started by "
                   "the cell, which serves the calls through queues and catches refusals",
                   """
import queue
import threading

_requests, _answers = queue.Queue(), queue.Queue()

def _serve():
    while True:
        x, dim = _requests.get()
        try:
            _answers.put(torch.softmax(x, dim))
        except BaseException:
            _answers.put(torch.exp(x) / torch.exp(x).sum(dim, keepdim=True))

threading.Thread(target=_serve, daemon=True).start()

def softmax(x, dim=-1):
    _requests.put((x, dim))
    return _answers.get()
"""),
    Entry("05_softmax_cross_entropy", Case("cat_thread_unwatched", "softmax with torch.softmax in threads the guard "
                                           "does not hook: one switches its hook off, one is started through a fresh "
                                           "copy of _thread: while they run, no call the guard checks can pass",
                                           kind="attack", zero=True, answers={"softmax_answer": """
import sys
import threading
import time

del sys.modules["_thread"]
import _thread

_box = {}

def _serve(switch_hook_off):
    if switch_hook_off:
        sys.setprofile(None)
    while True:
        if "x" in _box:
            _box["y"] = torch.softmax(_box.pop("x"), -1)
        time.sleep(0.001)

_thread.start_new_thread(_serve, (False,))
threading.Thread(target=_serve, args=(True,), daemon=True).start()

def softmax(x, dim=-1):
    _box["x"] = x
    while "y" not in _box:
        time.sleep(0.001)
    return _box.pop("y")
"""})),
    softmax_attack("cat_refs_softmax", "softmax through torch._refs.softmax, torch's own "
                   "Python softmax",
                   "import torch._refs\n\ndef softmax(x, dim=-1):\n"
                                                    "    return torch._refs.softmax(x, dim)"),
    Entry("05_softmax_cross_entropy", Case("cat_refs_nll_loss", "nll_loss through torch._refs.nn.functional.nll_loss",
                                           kind="attack", same_as="uses_F_nll_loss",
                                           fails={"nll_loss_single", "nll_loss_mean"},
                                           answers={"nll_loss_answer": """
import torch._refs.nn.functional

def nll_loss(log_probs, targets):
    if log_probs.dim() != 2 or targets.shape != (log_probs.shape[0],):
        raise ValueError(f"expected (N, C) and (N,), got {tuple(log_probs.shape)} and {tuple(targets.shape)}")
    return torch._refs.nn.functional.nll_loss(log_probs, targets)
"""})),
    # ---- issue 23: the guard walked around below Python. The operator itself, redispatched with a
    # dispatch key set below the Python key (where the guard's TorchDispatchMode sits), computes the
    # built-in and keeps every point; the source flags hold the exercise's checks for the instructor.
    Entry("04_matmul", Case("cat_redispatch_mm", "matmul through aten::mm redispatched below the Python "
                            "dispatch key: computes it, keeps the points, held for review", kind="attack", full=True,
                            answers={"matmul_answer": MATMUL_CHECK + REDISPATCH_MM}),
          flagged_cells=MATMUL_CHECKS),
    Entry("05_softmax_cross_entropy", Case("cat_redispatch_softmax", "softmax through aten::_softmax redispatched "
                                           "below the Python dispatch key: computes it, keeps the points, held for "
                                           "review", kind="attack", full=True,
                                           answers={"softmax_answer": REDISPATCH_SOFTMAX}),
          flagged_cells=SOFTMAX_CHECKS),
    # The guard's operator kernels sit on torch's PreDispatch key, which a guarded call includes in
    # the worker's thread: a cell that excludes the key beforehand is undone at the call's start
    # (refused as the plain use is); the key excluded inside the call, or a kernel of the
    # student's own registered over the guard's, lets the operator run unseen: it computes it and
    # keeps the points, and the source flags hold the exercise's checks for the instructor.
    softmax_attack("cat_dispatch_key_excluded_by_cell", "softmax through map(torch.softmax), after a cell "
                   "excludes the guard's dispatch key from the worker's thread", PRE_DISPATCH_EXCLUDED_BY_CELL),
    Entry("05_softmax_cross_entropy", Case("cat_dispatch_key_excluded_in_call", "softmax through map(torch.softmax) "
                                           "with the guard's dispatch key excluded inside the call: computes it, "
                                           "keeps the points, held for review", kind="attack", full=True,
                                           answers={"softmax_answer": PRE_DISPATCH_EXCLUDED_IN_CALL}),
          flagged_cells=SOFTMAX_CHECKS),
    Entry("05_softmax_cross_entropy", Case("cat_operator_kernel_replaced", "softmax through map(torch.softmax), "
                                           "after a cell registers its own kernels over the guard's for softmax's "
                                           "operators: computes it, keeps the points, held for review",
                                           kind="attack", full=True,
                                           answers={"softmax_answer": OPERATOR_KERNEL_REPLACED}),
          flagged_cells=SOFTMAX_CHECKS | LATER_CHECKS_USING_TORCH_05),
    Entry("06_simple_mnist", Case("cat_forward_class_renamed", "forward with torch.relu, the class's __qualname__ "
                                  "changed so that its handle is not called SimpleMnist", kind="attack",
                                  same_as="uses_torch_relu", fails={
                                      "simple_mnist_forward", "simple_mnist_images", "simple_mnist_relu",
                                      "simple_mnist_logits", "simple_mnist_device"},
                                  answers={"simple_mnist_answer": TORCH_RELU_FORWARD
                                           + "\nSimpleMnist.__qualname__ = 'Model'\n"})),
    Entry("06_simple_mnist", Case("cat_adam_named_sgd", "fit with plain SGD, in a subclass named Adam", kind="attack",
                                  same_as="sgd", fails={"fit_optimizer", "fit_mnist"},
                                  answers={"fit_answer": "class Adam(torch.optim.SGD):\n    pass\n"
                                           + fit_answer(optimiser="Adam")}),
          known_limit=PROBE_LIMIT),
    Entry("06_simple_mnist", Case("cat_forged_zero_grad", "fit never zeroes the gradients, then rewrites the "
                                  "grader's records of stale gradients", kind="attack", same_as="grads_never_zeroed",
                                  fails={"fit_zero_grad", "fit_mnist"},
                                  answers={"fit_answer": fit_answer(zero_grad=False, after=FORGE_ACCUMULATED)}),
          known_limit=PROBE_LIMIT),
    Entry("04b_gradient_descent", Case("cat_grader_code_rewritten", "sgd_step never zeroes the gradients, and "
                                       "its cell rewrites the grader statements the worker keeps compiled so "
                                       "that they zero them: held for review", kind="attack",
                                       same_as="gradients_not_zeroed", rest_full=True,
                                       fails=set(GRADIENTS_NOT_ZEROED.fails),
                                       answers={"sgd_step_answer": REWRITE_GRADER_CODE
                                                + GRADIENTS_NOT_ZEROED.answers["sgd_step_answer"]}),
          known_limit=PROBE_LIMIT, flagged_cells=SGD_STEP_AND_FIT_LINE_CHECKS),
    Entry("04b_gradient_descent", Case("cat_optim_through_dynamo_stand_in", "sgd_step with torch.optim's functional "
                                       "sgd, called through the disable() of the worker's stand-in for "
                                       "torch._dynamo (a wrapper in the grader's own worker code)", kind="attack",
                                       same_as="uses_torch_optim", fails=set(USES_TORCH_OPTIM.fails),
                                       answers={"sgd_step_answer": SGD_THROUGH_DYNAMO_STAND_IN})),
    Entry("04b_gradient_descent", Case("cat_optim_code_copied", "sgd_step with a copy of torch.optim's "
                                       "_single_tensor_sgd (types.FunctionType of its code.replace())",
                                       kind="attack", same_as="uses_torch_optim", fails=set(USES_TORCH_OPTIM.fails),
                                       answers={"sgd_step_answer": SGD_THROUGH_A_CODE_COPY})),
    Entry("04b_gradient_descent", Case("cat_optim_lbfgs", "sgd_step with torch.optim.LBFGS, its state set so that "
                                       "one step is plain SGD (LBFGS.step has no shared decorator)", kind="attack",
                                       same_as="uses_torch_optim", fails=set(USES_TORCH_OPTIM.fails),
                                       answers={"sgd_step_answer": SGD_THROUGH_LBFGS})),
    Entry("06_simple_mnist", Case("cat_leak_grader_code", "fit raises with the grader's code as its message",
                                  kind="attack", fails={"fit_losses", "fit_batches", "fit_zero_grad", "fit_optimizer",
                                                        "fit_device", "fit_mnist"},
                                  answers={"fit_answer": LEAK_GRADER_CODE}),
          feedback_lacks=LEAKED_GRADER_CODE),
    # ---- broken submissions
    Entry(A01, Case("cat_invalid_json", "a notebook cut off in the middle", kind="broken", zero=True,
                    mutate=lambda nb: nbformat.writes(nb)[:5000].encode()), log_says="does not appear to be JSON"),
    Entry(A01, Case("cat_empty_file", "an empty file", kind="broken", zero=True, mutate=lambda nb: b""),
          log_says="does not appear to be JSON"),
    Entry(A01, Case("cat_binary_file", "a binary file named .ipynb", kind="broken", zero=True,
                    mutate=lambda nb: bytes(range(256)) * 64), log_says="cat_binary_file"),
    Entry(A01, Case("cat_nbformat_v3", "our solution saved as an nbformat 3 notebook", kind="broken", full=True,
                    mutate=_as_v3)),
    Entry(A01, Case("cat_missing_notebook", "handed in nothing but a text file: nothing to grade, so no "
                    "grade (the gradebook and export show it missing)", kind="broken", recorded=False,
                    mutate=lambda nb: None, extra_files={"notes.txt": b"I ran out of time"}),
          log_says="No notebooks were matched"),
    Entry(A01, Case("cat_extra_notebook", "our solution plus an extra notebook of their own", kind="broken",
                    full=True, extra_files={"scratch.ipynb": nbformat.writes(nbformat.v4.new_notebook()).encode()})),
    Entry(A01, Case("cat_renamed_function", "mean_std renamed meanstd", kind="broken", rest_full=True,
                    fails={"mean_std_zero_dim", "mean_std_mean", "mean_std_population_std",
                           "mean_std_integer_input", "mean_std_empty", "normalize_splits_train_result",
                           "normalize_splits_train_stats", "normalize_splits_pure"},
                    answers={"mean_std_answer": CORRECT.replace("def mean_std", "def meanstd")})),
    Entry(A01, Case("cat_wrong_signature", "normalize(x) without mean and std", kind="broken", rest_full=True,
                    fails={"normalize_values", "normalize_float", "normalize_pure", "normalize_splits_train_result",
                           "normalize_splits_train_stats", "normalize_splits_pure"},
                    answers={"normalize_answer": "def normalize(x):\n    return (x - x.mean()) / x.std()"})),
    Entry(A01, Case("cat_syntax_error", "a syntax error in the per_pixel_stats cell", kind="broken", rest_full=True,
                    fails={"per_pixel_stats_axis", "per_pixel_stats_population", "per_pixel_stats_clamp",
                           "per_pixel_stats_rank", "per_pixel_stats_pure"},
                    answers={"per_pixel_stats_answer": "def per_pixel_stats(x, eps=1e-8)\n    return x"})),
    Entry(A01, Case("cat_raises_at_import", "the normalize cell raises when it runs, after defining normalize",
                    kind="broken", full=True, answers={"normalize_answer": "def normalize(x, mean, std):\n"
                    "    x = x.float() if not x.is_floating_point() else x\n    return (x - mean) / std\n"
                    "raise RuntimeError('oops, left over from debugging')"})),
    Entry(A01, Case("cat_huge_output", "our solution with 2 MB of output in every code cell", kind="broken",
                    full=True, mutate=_huge_outputs)),
    Entry(A01, Case("cat_prints_a_lot", "a cell that prints 100 MB while grading", kind="broken", rest_full=True,
                    fails={"per_pixel_stats_axis", "per_pixel_stats_population", "per_pixel_stats_clamp",
                           "per_pixel_stats_rank", "per_pixel_stats_pure"},
                    answers={"per_pixel_stats_answer": "for _ in range(100):\n    print('x' * 1_000_000)\n"
                             "def per_pixel_stats(x, eps=1e-8):\n    return x"})),
    Entry(A01, Case("cat_not_a_notebook", "valid JSON that is not a notebook", kind="broken", zero=True,
                    mutate=lambda nb: b'{"hello": "world"}'), log_says="cat_not_a_notebook"),
    Entry(A01, Case("cat_other_kernel", "our solution with the kernel switched to R", kind="broken", full=True,
                    mutate=_set_metadata(lambda c: None) and (lambda nb: (nb.metadata.update(
                        kernelspec={"name": "ir", "display_name": "R", "language": "R"}), nb)[1]))),
    Entry(A01, Case("cat_answer_as_markdown", "the normalize answer cell turned into a markdown cell: nbgrader "
                    "restores its type, so the code in it counts", kind="broken", full=True,
                    mutate=_set_metadata(lambda c: cell_conventions.grade_id(c) == "normalize_answer"
                                         and (c.update(cell_type="markdown"), c.pop("outputs", None),
                                              c.pop("execution_count", None))))),
    Entry(A01, Case("cat_deleted_setup", "the import cell deleted (it is restored from the source)", kind="broken",
                    full=True, mutate=drop_cells("setup"))),
]


# ---- issue 23: the feedback's size and each notebook's grading budget
RENAMED_FAILS = {"mean_std_zero_dim", "mean_std_mean", "mean_std_population_std", "mean_std_integer_input",
                 "mean_std_empty", "normalize_splits_train_result", "normalize_splits_train_stats",
                 "normalize_splits_pure"}
# Thousands of cell_done events for cells the judge never sent, each with a long error, then
# mean_std left undefined: every message saying it is not defined once listed them all (a 40 KB
# submission made a 35 MB graded notebook and feedback page).
FAKE_CELL_ERRORS = 5000
FLOOD_OF_CELL_ERRORS = FORGE + f"""
import json as _json
for _i in range({FAKE_CELL_ERRORS}):
    _error = {{"__dict__": {{"type": "RuntimeError", "mro": ["RuntimeError", "Exception"],
                           "message": f"fake error {{_i}} " + "x" * 2000, "where": ["  line " * 80] * 6}}}}
    _forge(_json.dumps({{"__dict__": {{"event": "cell_done", "id": f"fake_cell_{{_i}}", "error": _error}}}}).encode())
""" + CORRECT.replace("def mean_std", "def meanstd")
# Slow but legal: its first calls sleep just under the per-call limit (10 s). Only a few, so the
# catalog stays cheap; tests/test_budget.py runs a notebook whose every call is slow into its budget.
SLOW_BUT_LEGAL = """
import time as _time
_calls = [0]

def _slow(function):
    def slow(*args, **kwargs):
        _calls[0] += 1
        if _calls[0] <= 2:
            _time.sleep(8)
        return function(*args, **kwargs)
    return slow
""" + UNBIASED + "\nmean_std = _slow(mean_std)\n"
# The worker reads the judge's requests from a pipe (fd 4) and takes the built-ins to refuse from
# each request: a cell puts a pipe of its own in that fd's place, and a timer's signal handler moves
# each of the judge's requests into it with that list emptied. Nothing of the sort is needed to
# read requests ahead: since calls are sent ahead (judge/calls_ahead.py) up to 12 wait in the pipe.
REQUEST_RELAY = """
import json, os, signal, struct

def softmax(x, dim=-1):
    return torch.softmax(x, dim)

_judge = os.dup(4)
_ours_r, _ours_w = os.pipe()
os.dup2(_ours_r, 4)
os.set_blocking(_judge, False)
_pending = bytearray()

def _move(signum, frame):
    try:
        while True:
            _pending.extend(os.read(_judge, 1 << 20))
    except BlockingIOError:
        pass
    while len(_pending) >= 16:
        size, count = struct.unpack_from("<QQ", _pending)
        end = 16 + size
        for _ in range(count):
            if len(_pending) < end + 8:
                return
            end += 8 + struct.unpack_from("<Q", _pending, end)[0]
        if len(_pending) < end:
            return
        header = json.loads(bytes(_pending[16:16 + size]))
        if isinstance(header, dict) and "forbid" in header.get("__dict__", {}):
            header["__dict__"]["forbid"] = []
        new = json.dumps(header).encode()
        os.write(_ours_w, struct.pack("<QQ", len(new), count) + new + bytes(_pending[16 + size:end]))
        del _pending[:end]

signal.signal(signal.SIGALRM, _move)
signal.setitimer(signal.ITIMER_REAL, 0.002, 0.002)
"""
REQUEST_LIMIT = "a cell that puts a pipe of its own where the worker reads its requests can empty the list of built-ins to refuse"

CATALOG += [
    Entry("05_softmax_cross_entropy", Case("cat_request_relay", "softmax with torch.softmax, after a cell puts a "
                                           "pipe of its own where the worker reads the judge's requests and a "
                                           "timer's signal handler relays each with nothing to refuse: held for "
                                           "review", kind="attack", same_as="uses_torch_softmax",
                                           fails=SOFTMAX_CHECKS, rest_full=True,
                                           answers={"softmax_answer": REQUEST_RELAY}),
          known_limit=REQUEST_LIMIT, flagged_cells=SOFTMAX_CHECKS,
          timed="its signal handler races the worker's reads: which calls it relays in time varies"),
    Entry(A01, Case("cat_flood_of_cell_errors", f"{FAKE_CELL_ERRORS} forged errors of cells the judge never sent, "
                    "and mean_std left undefined: scores as the renamed function, its feedback bounded",
                    kind="attack", same_as="cat_renamed_function", rest_full=True, fails=RENAMED_FAILS,
                    answers={"mean_std_answer": FLOOD_OF_CELL_ERRORS})),
    Entry(A01, Case("cat_slow_but_legal", "the unbiased std, its first calls each sleeping just under the "
                    "per-call limit", kind="attack", same_as="cat_wrong_baseline", fails={"mean_std_population_std"},
                    answers={"mean_std_answer": SLOW_BUT_LEGAL})),
]


def catalog() -> list[Entry]:
    """This file's cases, plus every attack and broken case of the simulated classes."""
    entries = list(CATALOG)
    for assignment in assignments():
        cases = load_cases(assignment)
        by_name = {c.name for c in cases}
        for case in cases:
            if case.kind in ("attack", "broken") and (case.same_as is None or case.same_as in by_name):
                entries.append(Entry(assignment, case))
    return entries
