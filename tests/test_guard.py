"""Built-ins not allowed: refused however they are reached, allowed ops untouched."""
import functools
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.engine.worker import guard
from autograder.engine.worker.guard import (ALIASES, ForbiddenBuiltinError, _needs_torch_function_mode, _resolve, expand,
                                            forbidden)

saved_softmax = torch.softmax          # a reference taken before the guard, as a student might
saved_broadcast_shapes = torch.broadcast_shapes
a, b = torch.ones(2, 3), torch.ones(3, 4)


def parameter_with_gradient():
    p = torch.ones(2, requires_grad=True)
    p.grad = torch.ones(2)
    return p


REACHES = {
    "@": [lambda: a @ b, lambda: a.matmul(b), lambda: a.__matmul__(b)],
    "torch.matmul": [lambda: torch.matmul(a, b), lambda: torch.linalg.matmul(a, b)],
    "torch.mm": [lambda: torch.mm(a, b), lambda: a.mm(b), lambda: torch.addmm(torch.zeros(2, 4), a, b)],
    "torch.bmm": [lambda: torch.bmm(a[None], b[None])],
    "torch.mv": [lambda: torch.mv(a, torch.ones(3))],
    "torch.dot": [lambda: torch.dot(torch.ones(3), torch.ones(3)), lambda: torch.inner(a, a)],
    "torch.einsum": [lambda: torch.einsum("ik,kj->ij", a, b)],
    "torch.tensordot": [lambda: torch.tensordot(a, b, dims=1)],
    "torch.nn.functional.linear": [lambda: F.linear(a, b.T)],
    "numpy.dot": [lambda: np.dot(np.ones(2), np.ones(2))],
    "numpy.einsum": [lambda: np.einsum("i,i", np.ones(2), np.ones(2))],
    "numpy.matmul": [lambda: np.matmul(np.ones((2, 2)), np.ones((2, 2)))],
    "torch.broadcast_shapes": [lambda: torch.broadcast_shapes((1, 2), (3, 1)), lambda: saved_broadcast_shapes((2,), (2,))],
    "numpy.broadcast_shapes": [lambda: np.broadcast_shapes((1,), (2,))],
    "torch.broadcast_tensors": [lambda: torch.broadcast_tensors(a, a)],
    "torch.softmax": [lambda: torch.softmax(a, 1), lambda: a.softmax(1), lambda: saved_softmax(a, 1)],
    "torch.nn.functional.softmax": [lambda: F.softmax(a, 1)],
    "torch.log_softmax": [lambda: torch.log_softmax(a, 1), lambda: a.log_softmax(1)],
    "torch.nn.functional.log_softmax": [lambda: F.log_softmax(a, 1)],
    "torch.logsumexp": [lambda: torch.logsumexp(a, 1), lambda: a.logsumexp(1)],
    "torch.nn.functional.cross_entropy": [lambda: F.cross_entropy(a, torch.tensor([0, 1]))],
    "torch.nn.functional.nll_loss": [lambda: F.nll_loss(a, torch.tensor([0, 1]))],
    "torch.nn.functional.binary_cross_entropy": [lambda: F.binary_cross_entropy(torch.full((2,), .5), torch.ones(2))],
    "torch.nn losses": [lambda: torch.nn.CrossEntropyLoss()(a, torch.tensor([0, 1]))],
    "torch.nn.Linear": [lambda: torch.nn.Linear(3, 2)(a)],
    "torch.relu": [lambda: torch.relu(a), lambda: a.relu()],
    "torch.nn.functional.relu": [lambda: F.relu(a), lambda: torch.nn.ReLU()(a)],
    "torch.optim": [lambda: torch.optim.SGD([parameter_with_gradient()], lr=0.1).step(),
                    lambda: torch.optim.Adam([parameter_with_gradient()]).step(),
                    # the functional forms, whose modules torch.optim does not name
                    lambda: functional_step(sys.modules["torch.optim.sgd"].sgd, [None], weight_decay=0.0,
                                            momentum=0.0, lr=0.1, dampening=0.0, nesterov=False, maximize=False),
                    lambda: functional_step(sys.modules["torch.optim.adam"]._single_tensor_adam, [torch.zeros(2)],
                                            [torch.zeros(2)], [], [torch.zeros(())], grad_scale=None, found_inf=None, amsgrad=False,
                                            has_complex=False, beta1=0.9, beta2=0.999, lr=0.1, weight_decay=0.0,
                                            eps=1e-8, maximize=False, capturable=False, differentiable=False,
                                            decoupled_weight_decay=False)],
}


def functional_step(update, *state, **hyper):
    """One step of a functional optimizer of torch.optim on a parameter and its gradient."""
    p = parameter_with_gradient()
    with torch.no_grad():
        update([p], [p.grad], *state, **hyper)
    return p


# Named in case a torch defines it; this one does not (`a @= b` runs __matmul__, refused all the same).
ABSENT_HERE = {"torch.Tensor.__imatmul__"}


def test_every_alias_resolves():
    """An alias that names nothing covers nothing, silently (torch.optim.sgd.sgd once did)."""
    assert [path for paths in ALIASES.values() for path in paths if _resolve(path) is None] == sorted(ABSENT_HERE)


def test_every_functional_optimizer_of_torch_optim_is_covered():
    """torch.optim deletes its submodules' names, so each functional form is listed by the path
    of the module that defines it, and each path resolves."""
    paths = ALIASES["torch.optim"]
    for optimizer in ("sgd", "adam", "rmsprop", "adagrad"):
        assert f"torch.optim.{optimizer}.{optimizer}" in paths
        assert f"torch.optim.{optimizer}._single_tensor_{optimizer}" in paths
    assert "torch.optim.adamw.adamw" in paths  # which runs adam's
    assert all(expand(["torch.optim"]).get(_resolve(path)) == "torch.optim" for path in paths)


def test_every_alias_group_is_covered_here():
    assert set(REACHES) == set(ALIASES), "add a way to reach each forbidden name to REACHES"


@pytest.mark.parametrize("name,reach", [(n, r) for n, rs in REACHES.items() for r in rs])
def test_forbidden_builtin_is_refused_and_named(name, reach):
    with forbidden([name]):
        with pytest.raises(ForbiddenBuiltinError) as raised:
            reach()
    assert raised.value.builtin == name
    assert name in str(raised.value)
    reach()  # and allowed again once the call is over


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_from_scratch_arithmetic_stays_allowed(name):
    with forbidden([name]):
        x = torch.randn(4, 3)
        (x[:, :, None] * torch.randn(3, 5)[None]).sum(1)     # a matrix product by broadcasting
        (x.exp() / x.exp().sum(1, keepdim=True)).log()       # softmax by hand
        x.clamp_min(0), x * (x > 0), torch.where(x > 0, x, 0)  # relu by hand
        x.max(dim=1), x.mean(), x.std(), x.sum(dim=0)
        p = parameter_with_gradient()
        with torch.no_grad():                                # a gradient step by hand
            p -= 0.1 * p.grad


# Every Python operator a tensor answers, plain, reflected and in place: only `@` is a
# forbidden name. torch implements several reflected ones (1 - x, 2 ** x) through the same
# decorator as `__rmatmul__`, which must not make them count as `@`.
OPERATOR_EXPRESSIONS = [
    "x + 1", "1 + x", "x - 1", "1 - x", "x * 2", "2 * x", "x / 2", "2 / x", "x // 2", "2 // x", "x % 2", "2 % x",
    "x ** 2", "2 ** x", "-x", "+x", "abs(x)", "x < 1", "1 < x", "x == x", "x != 1",
    "i & 1", "1 & i", "i | 1", "1 | i", "i ^ 1", "1 ^ i", "i << 1", "1 << i", "i >> 1", "1 >> i", "~i",
    "x.T", "x[0]", "x[:, None]",
]
IN_PLACE = ["x += 1", "x -= 1", "x *= 2", "x /= 2", "x **= 2", "x //= 2", "x %= 2", "i &= 1", "i |= 1", "i ^= 1",
            "i <<= 1", "i >>= 1"]


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_every_tensor_operator_but_matmul_stays_allowed(name):
    code = "\n".join(["def every_operator(x, i):", *(f"    {e}" for e in OPERATOR_EXPRESSIONS),
                      *(f"    {e}" for e in IN_PLACE), "    return x, i"])
    namespace = {}
    exec(compile(code, "<answer cell>", "exec"), namespace)  # compiled from a string, as an answer cell is
    with forbidden([name]) as refused:
        namespace["every_operator"](torch.rand(3, 3) + 1, torch.arange(9).reshape(3, 3))
    assert refused == []


def test_unknown_name_is_an_instructor_error():
    with pytest.raises(KeyError, match="unknown forbidden"):
        expand(["torch.nonexistent"])


def test_a_caught_refusal_is_still_recorded():
    """A student's try/except may swallow the error, not the record of it."""
    with forbidden(["torch.broadcast_shapes"]) as refused:
        try:
            torch.broadcast_shapes((1, 2), (2, 1))
        except RuntimeError:
            pass
    assert refused == ["torch.broadcast_shapes"]


MATMUL_04 = ["@", "torch.matmul", "torch.mm", "torch.bmm", "torch.mv", "torch.dot", "torch.einsum",
             "torch.tensordot", "torch.nn.functional.linear", "numpy.matmul", "numpy.dot", "numpy.einsum"]
SOFTMAX_05 = ["torch.softmax", "torch.nn.functional.softmax", "torch.log_softmax", "torch.nn.functional.log_softmax",
              "torch.logsumexp", "torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
              "torch.nn.functional.binary_cross_entropy", "torch.nn losses"]
FORWARD_06 = ["torch.nn.Linear", "torch.nn.functional.linear", "torch.relu", "torch.nn.functional.relu"]
BROADCAST_03 = ["torch.broadcast_shapes", "numpy.broadcast_shapes", "torch.broadcast_tensors"]
sq = torch.ones(3, 3)
logits, targets = torch.randn(2, 3), torch.tensor([0, 2])

# Private, low-level, in-place and out= routes to the same computations (DESIGN.md, point 4).
OTHER_ROUTES = {
    "aten mm": (MATMUL_04, lambda: torch.ops.aten.mm(a, b)),
    "aten mm.default": (MATMUL_04, lambda: torch.ops.aten.mm.default(a, b)),
    "mm out=": (MATMUL_04, lambda: torch.mm(a, b, out=torch.empty(2, 4))),
    "addmm_ in place": (MATMUL_04, lambda: sq.clone().addmm_(sq, sq)),
    "baddbmm": (MATMUL_04, lambda: torch.baddbmm(sq[None], sq[None], sq[None])),
    "_C linear": (MATMUL_04, lambda: torch._C._nn.linear(a, b.T)),
    "aten linear": (FORWARD_06, lambda: torch.ops.aten.linear(a, b.T)),
    "aten matmul": (MATMUL_04, lambda: torch.ops.aten.matmul(a, b)),
    "einsum lowered to bmm": (["torch.mm"], lambda: torch.einsum("ik,kj->ij", a, b)),
    "chain_matmul": (MATMUL_04, lambda: torch.linalg.multi_dot([sq, sq, sq])),
    "ndarray.dot": (MATMUL_04, lambda: np.ones((2, 2)).dot(np.ones((2, 2)))),
    "sparse mm": (MATMUL_04, lambda: torch.sparse.mm(sq.to_sparse(), sq)),
    "tensor method through the instance": (SOFTMAX_05, lambda: logits.softmax(1)),
    "_refs softmax": (SOFTMAX_05, lambda: torch._refs.softmax(logits, 1)),
    "_refs log_softmax": (SOFTMAX_05, lambda: torch._refs.log_softmax(logits, 1)),
    "_refs logsumexp": (SOFTMAX_05, lambda: torch._refs.logsumexp(logits, 1)),
    "_refs nll_loss": (SOFTMAX_05, lambda: torch._refs.nn.functional.nll_loss(logits, targets)),
    "_decomp _softmax": (SOFTMAX_05, lambda: torch._decomp.decompositions._softmax(logits, 1, False)),
    "sparse softmax": (SOFTMAX_05, lambda: torch.sparse.softmax(logits.to_sparse(), 1)),
    "numpy multi_dot": (MATMUL_04, lambda: np.linalg.multi_dot([np.ones((2, 2))] * 3)),
    "numpy linalg.matmul": (MATMUL_04, lambda: np.linalg.matmul(np.ones((2, 2)), np.ones((2, 2)))),
    "numpy vecdot": (MATMUL_04, lambda: np.vecdot(np.ones(2), np.ones(2))),
    "_softmax": (SOFTMAX_05, lambda: torch._softmax(logits, 1, False)),
    "aten _softmax": (SOFTMAX_05, lambda: torch.ops.aten._softmax(logits, 1, False)),
    "aten softmax.int": (SOFTMAX_05, lambda: torch.ops.aten.softmax.int(logits, 1)),
    "_log_softmax": (SOFTMAX_05, lambda: torch._log_softmax(logits, 1, False)),
    "aten logsumexp": (SOFTMAX_05, lambda: torch.ops.aten.logsumexp(logits, [1])),
    "_C nll_loss": (SOFTMAX_05, lambda: torch._C._nn.nll_loss(logits, targets)),
    "_C cross_entropy_loss": (SOFTMAX_05, lambda: torch._C._nn.cross_entropy_loss(logits, targets)),
    "_C binary_cross_entropy": (SOFTMAX_05, lambda: torch._C._nn.binary_cross_entropy(torch.full((2,), .5),
                                                                                      torch.ones(2))),
    "bce with logits": (SOFTMAX_05, lambda: F.binary_cross_entropy_with_logits(torch.zeros(2), torch.ones(2))),
    "relu_ in place": (FORWARD_06, lambda: logits.clone().relu_()),
    "torch.relu_": (FORWARD_06, lambda: torch.relu_(logits.clone())),
    "relu inplace=True": (FORWARD_06, lambda: F.relu(logits.clone(), inplace=True)),
    "aten relu": (FORWARD_06, lambda: torch.ops.aten.relu(logits)),
    "_VF relu": (FORWARD_06, lambda: torch._C._VariableFunctions.relu(logits)),
    "_refs broadcast": (BROADCAST_03, lambda: torch._refs._broadcast_shapes((1, 2), (3, 1))),
    "_C _infer_size": (BROADCAST_03, lambda: torch._C._infer_size(torch.Size((1, 2)), torch.Size((3, 1)))),
    "_VF broadcast_tensors": (BROADCAST_03, lambda: torch._C._VariableFunctions.broadcast_tensors([a, a])),
}


@pytest.mark.parametrize("route", sorted(OTHER_ROUTES))
def test_every_route_to_a_forbidden_computation_is_refused(route):
    names, reach = OTHER_ROUTES[route]
    with forbidden(names) as refused:
        with pytest.raises(ForbiddenBuiltinError) as raised:
            reach()
    assert any(raised.value.builtin.startswith(name) for name in names), raised.value.builtin
    assert refused  # recorded, so a student's try/except cannot hide it
    reach()


# Called from C (map, functools.partial): a C function called so raises no profile event. The
# operator kernels see what it dispatches, composite operators before they lower (F.linear is
# aten::linear, which 06 refuses, and lowers to aten::t and aten::mm, which it allows); the
# torch-function mode sees a C function with no refused operator of its own name
# (torch.broadcast_tensors lowers to expand); a Python function's frame is seen either way,
# which is why no mode is entered for torch.optim alone (its steps are Python).
FROM_C = {
    "torch.nn.functional.linear": lambda: list(map(F.linear, [a], [b.T])),
    "torch.softmax": lambda: list(map(torch.softmax, [a], [1])),
    "torch.log_softmax": lambda: functools.partial(torch.Tensor.log_softmax, dim=1)(a),
    "torch.einsum": lambda: list(map(torch.einsum, ["ij,ij->ij"], [a], [a])),  # lowers to mul: no bmm
    "@": lambda: list(map(torch.Tensor.__matmul__, [a], [b])),
    "torch.matmul": lambda: functools.partial(torch.matmul, a)(b),
    "torch.broadcast_tensors": lambda: functools.partial(torch._C._VariableFunctions.broadcast_tensors)([a, a]),
    "torch.optim": lambda: list(map(torch.optim.SGD.step, [torch.optim.SGD([parameter_with_gradient()], lr=0.1)])),
    "torch.nn.Linear": lambda: list(map(torch.nn.Linear.forward, [torch.nn.Linear(3, 2)], [a])),
}


@pytest.mark.parametrize("name", sorted(FROM_C))
def test_a_builtin_called_from_c_is_refused_and_named(name):
    with forbidden([name]) as refused:
        with pytest.raises(ForbiddenBuiltinError) as raised:
            FROM_C[name]()
    assert raised.value.builtin.startswith(name) and refused == [raised.value.builtin]


def test_the_torch_function_mode_is_entered_only_where_it_sees_what_nothing_else_does():
    for names in [("torch.optim",), ("torch.nn.Linear",), ("numpy.dot",), tuple(sorted(MATMUL_04)),
                  tuple(sorted(SOFTMAX_05)), tuple(sorted(FORWARD_06))]:
        assert not _needs_torch_function_mode(names), names  # Python functions, numpy's, or operators
    assert _needs_torch_function_mode(("torch.broadcast_tensors",))  # lowers to expand
    assert _needs_torch_function_mode(("torch.broadcast_shapes",))  # torch._C._infer_size is no operator


@pytest.mark.parametrize("names", [MATMUL_04, SOFTMAX_05, FORWARD_06, BROADCAST_03], ids=["04", "05", "06", "03"])
def test_from_scratch_solutions_pass_the_operator_guard(names):
    """What each notebook teaches, written by hand, touches none of the refused operators."""
    x = torch.randn(4, 3, requires_grad=True)
    with forbidden(names):
        (x[:, :, None] * torch.randn(3, 5)[None]).sum(1)
        shifted = x - x.max(dim=1, keepdim=True).values
        log_probs = shifted - shifted.exp().sum(1, keepdim=True).log()
        loss = -log_probs[torch.arange(4), torch.tensor([0, 1, 2, 0])].mean()
        loss.backward()
        (x * (x > 0)).sum(), torch.sigmoid(x), F.one_hot(torch.tensor([1, 2]), 3)
        torch.zeros(2, 1).expand(2, 3) + torch.ones(3)


SWITCHED_OFF = {
    "profile hook removed": lambda: (sys.setprofile(None), torch.softmax(logits, 1)),
    "modes disabled": lambda: _with_modes_disabled(lambda: torch.softmax(logits, 1)),
}


def _with_modes_disabled(fn):
    from torch.utils._python_dispatch import _disable_current_modes
    with _disable_current_modes(), torch._C.DisableTorchFunction():
        return fn()


@pytest.mark.parametrize("how", sorted(SWITCHED_OFF))
def test_switching_the_refusal_off_is_refused(how):
    with forbidden(SOFTMAX_05) as refused:
        with pytest.raises(ForbiddenBuiltinError):
            SWITCHED_OFF[how]()
    assert refused


PRE_DISPATCH = torch._C.DispatchKey.PreDispatch
softmax_from_c = lambda: list(map(torch.softmax, [logits], [1]))  # noqa: E731  (seen by the operator kernels only)


def test_the_operator_kernels_watch_only_while_a_guarded_call_runs():
    """The key is in the thread's dispatch keys for the call alone: outside, every operator runs
    as torch runs it, and an allowed operator with a kernel of the guard's (06 allows aten::matmul)
    gives torch's result, gradients included."""
    x = torch.randn(4, 3, requires_grad=True)
    expected = x @ b
    expected.sum().backward()
    expected_grad, x.grad = x.grad, None
    with forbidden(FORWARD_06) as refused:
        assert torch._C._dispatch_tls_is_dispatch_key_included(PRE_DISPATCH)
        product = x @ b
        product.sum().backward()
    assert not refused and not torch._C._dispatch_tls_is_dispatch_key_included(PRE_DISPATCH)
    assert torch.equal(product, expected) and torch.equal(x.grad, expected_grad)
    with forbidden(["torch.optim"]):  # no operator to refuse: no key
        assert not torch._C._dispatch_tls_is_dispatch_key_included(PRE_DISPATCH)


def test_a_key_excluded_before_the_call_is_watched_again():
    """A cell that excludes the key from the worker's thread does not switch the kernels off."""
    torch._C._dispatch_tls_set_dispatch_key_excluded(PRE_DISPATCH, True)
    try:
        with forbidden(SOFTMAX_05) as refused:
            with pytest.raises(ForbiddenBuiltinError):
                softmax_from_c()
    finally:
        torch._C._dispatch_tls_set_dispatch_key_excluded(PRE_DISPATCH, False)
    assert refused == ["torch.softmax"], refused


@pytest.mark.parametrize("switch", [
    lambda: torch._C._dispatch_tls_set_dispatch_key_included(PRE_DISPATCH, False),
    lambda: functools.partial(torch._C._dispatch_tls_set_dispatch_key_included, PRE_DISPATCH, False)(),
    lambda: functools.partial(torch._C._dispatch_tls_set_dispatch_key_excluded, PRE_DISPATCH, True)(),
], ids=["called from Python", "called from C: seen at the call's end", "excluded, from C"])
def test_switching_the_operator_kernels_off_in_the_call_is_refused(switch):
    with forbidden(SOFTMAX_05) as refused:
        try:
            switch()
            softmax_from_c()
        except ForbiddenBuiltinError:
            pass
        finally:
            refused.confirm()
            torch._C._dispatch_tls_set_dispatch_key_excluded(PRE_DISPATCH, False)
    assert refused == [guard._TAMPER_NAME], refused


def test_every_operator_of_the_table_has_a_kernel():
    """OPERATORS names operators of this torch (a name torch dropped would refuse nothing):
    all but the sparse CSR ones, which this build has no operator for, are watched."""
    unwatched = set(guard.OPERATORS) - guard._OPERATORS_WATCHED
    assert unwatched <= {"_sparse_csr_mm", "_sparse_csr_addmm"}, unwatched


def test_saved_references_in_the_students_namespace_are_refused_too():
    namespace = {"combine": np.broadcast, "dot": np.dot, "keep": len}
    with forbidden(BROADCAST_03 + MATMUL_04, namespace=namespace) as refused:
        with pytest.raises(ForbiddenBuiltinError):
            namespace["combine"](np.ones(2), np.ones(2))
        with pytest.raises(ForbiddenBuiltinError):
            namespace["dot"](np.ones(2), np.ones(2))
        assert namespace["keep"] is len
    assert namespace["combine"] is np.broadcast and namespace["dot"] is np.dot  # restored after the call
    assert len(refused) == 2


def test_the_students_own_objects_in_the_namespace_run_nothing_when_a_call_starts():
    """Looking a saved reference up hashes it: a student's ``__hash__`` or ``__eq__`` would run
    before the guard's hooks are on, with the call's inputs in hand. Only values of a type some
    covered built-in has are looked up; a class whose metaclass hashes is not of type ``type``."""
    ran = []

    class Noisy:
        def __hash__(self):
            ran.append("__hash__")
            return hash(np.dot)

        def __eq__(self, other):
            ran.append("__eq__")
            return True

    class NoisyMeta(type):
        def __hash__(cls):
            ran.append("metaclass __hash__")
            return hash(np.broadcast)

    namespace = {"noisy": Noisy(), "noisy_class": NoisyMeta("NoisyClass", (), {}), "dot": np.dot}
    with forbidden(BROADCAST_03 + MATMUL_04, namespace=namespace):
        assert namespace["dot"] is not np.dot  # a real saved reference is still replaced
    assert ran == []
    assert namespace["dot"] is np.dot


def test_the_guard_reads_no_class_of_the_students_to_name_a_method():
    """A method reached through an instance (``a.dot(b)`` on an ndarray) is named by the type of
    the object it is bound to. ``isinstance`` would read the object's ``__class__``, which a
    subclass can make a property: its code would run inside the profile hook, where no Python
    call is seen."""
    ran = []

    class Masked(np.ndarray):
        @property
        def __class__(self):
            ran.append("__class__")
            return int

    masked = np.ones(2).view(Masked)
    with forbidden(MATMUL_04) as refused:
        with pytest.raises(ForbiddenBuiltinError):
            masked.dot(masked)
    assert len(refused) == 1
    assert ran == []


def test_the_guard_reads_nothing_of_an_object_passed_as_an_operator():
    """``torch.ops``' Python entry point called on an object of the student's: the profile hook
    names only torch's own operators, so it reads none of that object's attributes (its
    ``__getattr__`` would run inside the hook, where no Python call is seen)."""
    read = []

    class FakeOperator:
        def __getattr__(self, name):
            read.append(name)
            if name == "_has_torchbind_op_overload":
                return False
            if name == "_op":
                return lambda *args, **kwargs: "ran"
            raise AttributeError(name)

    from torch import _ops
    with forbidden(MATMUL_04) as refused:
        assert _ops.OpOverloadPacket.__call__(FakeOperator(), a, b) == "ran"
    assert refused == []
    assert "_overloadpacket" not in read and "_qualified_op_name" not in read


def test_a_module_with_parameters_runs_under_the_guard():
    layer = torch.nn.Parameter(torch.randn(3, 2))
    with forbidden(FORWARD_06):
        out = torch.randn(4, 3) @ layer + 1
        (out * (out > 0)).sum().backward()


def test_a_python_function_frame_starts_on_its_code_objects_first_line():
    """What the profile hook's cheap first test stands on (``guard._first_lines``): at a Python
    function's "call" event its frame's line is its code object's first line, so a frame on any
    other line runs none of the code objects the hook looks for. A resumed generator or coroutine
    is on a later line (its start was seen on the first), and module code on line 0."""
    seen, other = [], []

    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            resumable = code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
                                         | inspect.CO_ITERABLE_COROUTINE)
            if frame.f_lineno != code.co_firstlineno and not resumable and code.co_name != "<module>":
                other.append((code.co_filename, code.co_name, frame.f_lineno, code.co_firstlineno))
            seen.append(code)

    sys.setprofile(hook)
    try:
        for reaches in REACHES.values():
            for reach in reaches:
                reach()
    finally:
        sys.setprofile(None)
    assert len(set(seen)) > 100, "the workload should run torch's Python code"
    assert other == []
    codes = guard._code_tables(tuple(sorted(ALIASES)))[2]
    assert {code.co_firstlineno for code in codes} <= guard._first_lines(tuple(sorted(ALIASES)))


AUDITED_EVENTS = """
import sys, torch
from autograder.engine.worker.guard import forbidden
names = {names!r}
x = torch.randn(4, 5)

def softmax(x):
    e = (x - x.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=-1, keepdim=True)

for _ in range(20):  # the guard's tables, built once per process
    with forbidden(names):
        softmax(x)
events = []
sys.addaudithook(lambda event, args: events.append(event))
for _ in range(100):
    with forbidden(names):
        softmax(x)
print(len(events) / 100)
"""


def test_a_guarded_call_raises_few_audited_events():
    """A worker refuses audit hooks with one of its own (sealed.refuse_audit_hooks), which Python
    then calls for every audited event: ``id()`` and reading ``frame.f_code`` are such events, and
    the profile hook, called for every Python and C call of the student's function, read both
    for each (some 200 events, 30 µs, a softmax call). It reads them only on a likely hit now."""
    script = AUDITED_EVENTS.format(names=SOFTMAX_05)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert float(out) <= 12, f"{out.strip()} audited events a guarded softmax call"
