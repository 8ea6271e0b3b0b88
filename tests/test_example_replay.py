"""The judge's replay of hypothesis examples (autograder/engine/judge/example_replay.py).

The law: a test run with replayed examples receives exactly the inputs, in exactly the
order, that hypothesis would draw afresh, and reports exactly what a fresh run reports:
pass, or the same failure with the same shrunk example. Checked here on a small hidden
test file run by pytest in this process, as the judge runs them, with a stand-in for the
student whose behaviour each run sets (a file the test reads); the real hidden tests and
simulated classes are compared in tests/test_grading.py.
"""
from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autograder.engine.judge import example_replay

HIDDEN = textwrap.dedent('''
    import json, os
    from hypothesis import assume, given, settings, strategies as st

    def student():
        """The stand-in student: what this run's behaviour file says."""
        with open(os.environ["REPLAY_BEHAVIOUR"]) as f:
            return json.load(f)

    def seen(name, *values):
        with open(os.environ["REPLAY_SEEN"], "a") as f:
            f.write(json.dumps([name, repr(values)]) + "\\n")

    @settings(max_examples=30, derandomize=True, database=None, deadline=None)
    @given(xs=st.lists(st.integers(-50, 50), max_size=6), k=st.integers(0, 9))
    def test_sum(xs, k):
        """sum is sum"""
        seen("sum", xs, k)
        fails_above = student().get("sum_fails_above")
        xs.append(0)  # a test may modify what it was given: the next replay gets fresh inputs
        assert fails_above is None or sum(xs) <= fails_above, f"sum {sum(xs)} too big"

    @settings(max_examples=30, derandomize=True, database=None, deadline=None)
    @given(n=st.integers(1, 6), data=st.data())
    def test_draws_inside(n, data):
        """draws inside the test"""
        upper = n if not student().get("strategy_from_result") else n + 1
        v = data.draw(st.lists(st.integers(0, 100), min_size=upper, max_size=upper), label="v")
        seen("draws", n, v)

    @settings(max_examples=30, derandomize=True, database=None, deadline=None)
    @given(a=st.integers(0, 20))
    def test_assumes(a):
        """rejects odd numbers, or what the student says"""
        reject = student().get("reject_multiples_of_3") and a % 3 == 0
        assume(a % 2 == 0 and not reject)
        seen("assumes", a)

    def counted_call():
        """The stand-in student's function keeps state between calls: how many came before."""
        path = os.environ["REPLAY_CALLS"]
        calls = int(open(path).read() or 0) + 1 if os.path.exists(path) else 1
        with open(path, "w") as f:
            f.write(str(calls))
        return calls

    @settings(max_examples=30, derandomize=True, database=None, deadline=None)
    @given(a=st.integers(0, 1000))
    def test_stateful(a):
        """a function that is wrong on some calls, counted across the run"""
        calls = counted_call()
        wrong = student().get("wrong_on_calls", [])
        after = student().get("wrong_after")
        assert calls not in wrong and (after is None or calls <= after), f"wrong on call {calls}"
''')


@pytest.fixture
def hidden(tmp_path, monkeypatch):
    folder = tmp_path / "hidden"
    folder.mkdir()
    (folder / "test_hidden.py").write_text(HIDDEN)
    behaviour, seen, calls = tmp_path / "behaviour.json", tmp_path / "seen.jsonl", tmp_path / "calls"
    monkeypatch.setenv("REPLAY_BEHAVIOUR", str(behaviour))
    monkeypatch.setenv("REPLAY_SEEN", str(seen))
    monkeypatch.setenv("REPLAY_CALLS", str(calls))
    example_replay.forget()

    def run(afresh: bool = False, **student) -> tuple[dict, list]:
        """One run of the hidden tests, as the judge does it: (outcome per test, inputs each got)."""
        behaviour.write_text(json.dumps(student))
        seen.write_text("")
        calls.write_text("")  # each run is a fresh worker: the student's state starts anew
        outcomes: dict = {}

        class Collect:
            def pytest_sessionfinish(self, session):
                run.reports.append(example_replay.report(session.config))

            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_makereport(self, item, call):
                report = (yield).get_result()
                if report.when == "call":
                    notes = getattr(call.excinfo.value, "__notes__", []) if call.excinfo else []
                    outcomes[item.name] = (report.outcome, str(call.excinfo.value) if call.excinfo else None,
                                           [n for n in notes if n.startswith("Falsifying")])

        args = [str(folder), "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-c", "/dev/null",
                f"--rootdir={tmp_path}", "-p", "autograder.engine.judge.example_replay"]
        if afresh:
            example_replay.forget()
        pytest.main(args, plugins=[Collect()])
        import sys
        for name in [n for n, m in sys.modules.items() if (getattr(m, "__file__", "") or "").startswith(str(folder))]:
            del sys.modules[name]  # as the judge server does between notebooks
        return outcomes, [json.loads(line) for line in seen.read_text().splitlines()]

    run.reports = []  # each run's ReplayReport, in order
    return run


def test_a_replay_gives_the_inputs_and_verdicts_of_a_fresh_draw(hidden):
    first = hidden()
    replayed = hidden()
    replayed_again = hidden()  # test_sum modifies its input: each replay must get the input as drawn
    assert [report.replayed for report in hidden.reports] == [0, 4, 4], "all four tests replayed, twice"
    assert hidden.reports[0].recorded == 4
    fresh = hidden(afresh=True)
    assert replayed == replayed_again == fresh == first
    assert all(outcome[0] == "passed" for outcome in fresh[0].values())
    assert len([entry for entry in fresh[1] if entry[0] == "sum"]) >= 30


def test_a_failure_found_in_a_replay_is_reported_as_a_fresh_run_reports_it(hidden):
    hidden()  # recorded: everything passes
    replayed = hidden(sum_fails_above=60)
    fresh = hidden(afresh=True, sum_fails_above=60)
    assert replayed[0]["test_sum"][0] == "failed"
    assert replayed[0] == fresh[0], "same verdict, message and shrunk example"
    # the replay's calls up to the failure, then hypothesis's own run: which ends as the fresh one does
    assert replayed[1][-len(fresh[1]):] == fresh[1]


def inputs_replayed_and_drawn(hidden, test: str, **student) -> tuple[list, list]:
    """After a run that records, the inputs ``test`` got with this student in a replay, and in a fresh draw."""
    hidden()
    replayed, fresh = hidden(**student), hidden(afresh=True, **student)
    return [v for name, v in replayed[1] if name == test], [v for name, v in fresh[1] if name == test]


def test_a_strategy_that_depends_on_the_student_is_drawn_afresh(hidden):
    replayed, fresh = inputs_replayed_and_drawn(hidden, "draws", strategy_from_result=True)
    assert replayed == fresh
    assert all(len(eval(values)[1]) == eval(values)[0] + 1 for values in replayed)


def test_examples_rejected_differently_than_recorded_are_drawn_afresh(hidden):
    replayed, fresh = inputs_replayed_and_drawn(hidden, "assumes", reject_multiples_of_3=True)
    assert replayed == fresh
    assert replayed and all(eval(values)[0] % 3 for values in replayed)


def test_a_failed_first_run_keeps_nothing(hidden):
    hidden(sum_fails_above=10)
    assert hidden()[0]["test_sum"][0] == "passed"
    hidden()
    assert hidden.reports[-1].replayed == 4


@pytest.mark.parametrize("student", [
    {"wrong_on_calls": [1]},        # wrong only on its first call
    {"wrong_on_calls": [7]},        # wrong only on its n-th call
    {"wrong_on_calls": [3, 4, 5]},  # wrong on a run of calls
    {"wrong_after": 12},            # right for k calls, wrong after
], ids=["first call", "n-th call", "calls 3-5", "after k calls"])
def test_a_function_that_keeps_state_gets_one_verdict_whether_replayed_or_drawn(hidden, student):
    """The verdict of a property is the notebook's alone: replayed after a passing run, or drawn
    afresh, a function that keeps state between calls gets the same one. (A replayed example that
    fails is followed by hypothesis's own run from the start, which meets the function once more
    called: wrong only on its first call, it would pass that run.)"""
    drawn = hidden(**student)[0]["test_stateful"]
    hidden()  # a passing run: its examples are kept
    replayed = hidden(**student)[0]["test_stateful"]
    assert drawn[0] == "failed"
    assert replayed[0] == drawn[0], (replayed, drawn)


def test_a_class_graded_with_replayed_examples_gets_what_fresh_draws_give():
    """The real engine on a real class: 05's representative class (data.draw, forbidden
    built-ins, several mistakes, a variant), our solution first so that its examples are
    kept, graded with replay and with every example drawn afresh: the same records, message
    and shrunk example included."""
    from autograder.engine.nbgrader_side.judge_client import stop_all
    from autograder.simulated_class.representative import REPRESENTATIVE
    from instructor import try_hidden

    assignment = "05_softmax_cross_entropy"
    graded = {}
    for replay in (True, False):
        stop_all()
        try:
            runs = [try_hidden.run(assignment, name, replay_examples=replay) for name in REPRESENTATIVE[assignment]]
        finally:
            stop_all()
        graded[replay] = [[{k: r.get(k) for k in ("test", "cell", "passed", "message", "example")}
                           for r in run["tests"]] for run in runs]
        if replay:
            replayed = sum(run["examples"]["replayed"] for run in runs[1:])
            assert replayed >= 20 * (len(runs) - 1), f"only {replayed} tests replayed after the solution's"
    assert graded[True] == graded[False]
    assert any(not record["passed"] for run in graded[True] for record in run), "the class has mistakes"


def test_the_examples_drawn_do_not_depend_on_the_modules_loaded_before(tmp_path, monkeypatch):
    """Hypothesis draws now and then a constant found in the "local" modules loaded so far; the
    judge grades many notebooks (and assignments) in one process, so a hidden test's examples
    would depend on what it graded before. The judge keeps that pool empty."""
    import inspect
    import sys

    from hypothesis import given, settings, strategies as st
    from hypothesis.internal.conjecture import providers

    import autograder.engine.judge.plugin  # noqa: F401  (what the judge does at import)

    assert "_get_local_constants()" in inspect.getsource(providers.HypothesisProvider), \
        "hypothesis no longer draws local constants this way: check autograder.engine.judge.hypothesis_internals"
    drawn: list = []

    @settings(max_examples=100, derandomize=True, database=None, deadline=None)
    @given(st.integers(-10**6, 10**6))
    def property_(x):
        drawn.append(x)

    property_()
    before = list(drawn)
    module = tmp_path / "many_constants.py"  # a local module, as another assignment's hidden tests are
    module.write_text("VALUES = " + repr([123_457 + n for n in range(300)]) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import many_constants  # noqa: F401
    try:
        drawn.clear()
        property_()
        assert drawn == before
    finally:
        sys.modules.pop("many_constants", None)


class _Plain:
    """An object deepcopy copies through its __dict__ (04b's parameter sets and problems)."""

    def __init__(self, items):
        self.items, self.note = items, "n"


class _Reduced:
    """An object with a reduction of its own (SourceFunction's kind)."""

    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return _Reduced, (self.items,)


class _Slotted:
    """An object whose state deepcopy finds in slots."""
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


class _OwnDeepcopy(_Plain):
    def __deepcopy__(self, memo):
        import copy
        return _OwnDeepcopy(copy.deepcopy(self.items, memo))


_HOLDERS = (_Plain, _Reduced, _Slotted, _OwnDeepcopy)


def _leaves(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, _HOLDERS):
        return _leaves(value.items)
    return [value]


@st.composite
def _example_values(draw):
    """What a recorded example may hold: numbers, strings, dtypes and tensors, among them views,
    expanded and transposed ones, two names for one tensor, tensors sharing memory (detached
    ones too, which are no views by ``_base``), ones that need grad, and numpy arrays, in
    tuples, lists, dicts and objects (copied through their __dict__, a reduction of their own,
    slots, or a __deepcopy__ of their own)."""
    import numpy as np
    import torch

    base = torch.arange(draw(st.integers(0, 12)), dtype=draw(st.sampled_from([torch.float32, torch.int64])))
    pool = [base]
    for _ in range(draw(st.integers(0, 4))):
        source = draw(st.sampled_from([t for t in pool if isinstance(t, torch.Tensor)]))
        kind = draw(st.sampled_from(["clone", "view", "slice", "expand", "transpose", "grad", "numpy", "same",
                                     "detach", "detached_slice"]))
        if kind == "detach":  # another tensor on the same memory, not a view by its _base
            pool.append(source.detach())
        elif kind == "detached_slice" and source.numel():  # part of a memory, not a view by its _base
            pool.append(source.reshape(-1)[1:].detach())
        elif kind == "view":
            pool.append(source.unsqueeze(0))
        elif kind == "slice" and source.numel():
            pool.append(source.reshape(-1)[1:])
        elif kind == "expand" and source.dim() == 1 and source.numel():
            pool.append(source[:1].expand(3))
        elif kind == "transpose" and source.numel() % 2 == 0 and source.numel():
            pool.append(source.reshape(2, -1).t())
        elif kind == "grad" and source.is_floating_point():
            pool.append(source.detach().clone().requires_grad_(True))
        elif kind == "numpy" and source.dtype == torch.int64:
            pool.append(np.array(source.detach().tolist(), dtype=np.int64))
        elif kind == "same":
            pool.append(source)
        else:
            pool.append(source.detach().clone())
    atoms = [1, 2.5, float("nan"), "x", None, torch.float64]
    items = draw(st.lists(st.sampled_from(pool + atoms), max_size=6))
    for _ in range(draw(st.integers(0, 2))):  # some of them held by objects, as 04b's examples are
        if items:
            at = draw(st.integers(0, len(items) - 1))
            holder = draw(st.sampled_from(_HOLDERS))
            items[at] = holder(draw(st.sampled_from([[items[at]], (items[at], 1), {"v": items[at]}])))
    shape = draw(st.sampled_from(["tuple", "list", "dict", "object"]))
    return (tuple(items) if shape == "tuple" else items if shape == "list" else _Plain(items) if shape == "object"
            else {f"k{i}": item for i, item in enumerate(items)}, draw(st.sampled_from(atoms)))


def _holders(value) -> list:
    if isinstance(value, (tuple, list)):
        return [h for item in value for h in _holders(item)]
    if isinstance(value, dict):
        return [h for item in value.values() for h in _holders(item)]
    if isinstance(value, _HOLDERS):
        return [value, *_holders(value.items)]
    return []


def _two_names_for_one_memory():
    import torch

    x = torch.arange(6.0)
    return (x, x.detach()), x.reshape(2, 3)[1:].detach()  # a whole memory twice; a part of one


@given(value=_example_values())
@example(value=(_two_names_for_one_memory()[0], 1))
@example(value=(_two_names_for_one_memory()[1], 1))
@settings(max_examples=150, deadline=None, database=None, derandomize=True)
def test_a_fresh_copy_is_what_deepcopy_gives(value):
    """fresh_copy (a replay's copy of its recorded inputs, by a plan worked out once) is
    copy.deepcopy: the same structure, values, dtypes, shapes, strides and grad flags, the same
    pattern of shared memory, and nothing shared with what it copied."""
    import copy

    import numpy as np
    import torch

    try:
        deep = copy.deepcopy(value)
    except RuntimeError:  # a view of a tensor that needs grad: deepcopy refuses, and so must fresh_copy
        with pytest.raises(RuntimeError):
            example_replay.fresh_copy(value)
        return
    plan = example_replay.copy_plan(value)
    example_replay.fresh_copy(value, plan)  # a replay works the plan out once and copies by it again
    fresh = example_replay.fresh_copy(value, plan)
    assert repr(type(fresh)) == repr(type(deep))
    assert [type(x) for x in _holders(fresh)] == [type(x) for x in _holders(deep)]
    assert not {id(x) for x in _holders(fresh)} & {id(x) for x in _holders(value)}, "an object shared with the original"
    fresh_leaves, deep_leaves, originals = _leaves(fresh), _leaves(deep), _leaves(value)
    assert [type(leaf) for leaf in fresh_leaves] == [type(leaf) for leaf in deep_leaves]

    def memory(leaf):
        if isinstance(leaf, torch.Tensor):
            return leaf.untyped_storage().data_ptr() if leaf.numel() else None
        return leaf.__array_interface__["data"][0] if isinstance(leaf, np.ndarray) and leaf.size else None

    for a, b in zip(fresh_leaves, deep_leaves):
        if isinstance(a, torch.Tensor):
            assert (a.dtype, a.shape, a.stride(), a.storage_offset(), a.requires_grad) == \
                   (b.dtype, b.shape, b.stride(), b.storage_offset(), b.requires_grad)
            assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes()
        elif isinstance(a, np.ndarray):
            assert a.tobytes() == b.tobytes() and a.dtype == b.dtype
        else:
            assert repr(a) == repr(b)

    def sharing(leaves):
        return [[memory(x) is not None and memory(x) == memory(y) for y in leaves] for x in leaves]

    assert sharing(fresh_leaves) == sharing(deep_leaves), "memory shared differently than deepcopy shares it"
    original_memory = {memory(leaf) for leaf in originals} - {None}
    assert not original_memory & {memory(leaf) for leaf in fresh_leaves}, "the copy shares memory with the original"


def test_a_test_whose_examples_cannot_be_written_is_named_not_dropped(tmp_path):
    """A recording leaves out a test whose examples hold what pickle cannot write (a bare lambda);
    save_recording names it, so that the instructor's record step fails instead of shipping a
    recording that makes every grading process draw that test afresh."""
    import pickle

    from autograder.engine.judge.example_replay import RECORDING_NAME, read_recording, save_recording

    folder = tmp_path / "hidden" / "x"
    folder.mkdir(parents=True)
    (folder / "test_x.py").write_text("# a hidden test file\n")
    file_hash = example_replay._source_hash(folder / "test_x.py")
    written, unwritten = ("hidden/x/test_x.py::test_written", file_hash, "s"), \
        ("hidden/x/test_x.py::test_lambda", file_hash, "s")
    saved = dict(example_replay._kept)
    try:
        example_replay._kept[written] = [{"x": 1}]
        example_replay._kept[unwritten] = [{"f": lambda t: t}]
        assert save_recording(folder, tmp_path) == ["hidden/x/test_x.py::test_lambda"]
    finally:
        example_replay._kept.clear()
        example_replay._kept.update(saved)
    kept = read_recording(folder / RECORDING_NAME)["kept"]
    assert list(kept) == [written] and pickle.loads(pickle.dumps(kept[written])) == [{"x": 1}]
