"""Replaying the examples hypothesis drew for a hidden test, instead of drawing them again.

Hypothesis is derandomised (``plugin.load_grading_profile``): for one hidden test it draws
the same sequence of examples for every submission, up to the first that fails. Drawing
them is most of the judge's CPU (70-80% of its tests' CPU for 01-05: the engine's
bookkeeping and tensors drawn element by element), and a judge grades many notebooks. So
the judge keeps, for each test, the inputs hypothesis drew the first time the test passed,
and for each later notebook calls the test with those inputs, in the same order:

- every example passes: hypothesis would have drawn exactly these examples, and each
  would have passed, so the test passes;
- one fails, or anything differs from the recording (an example ``assume()`` rejected then
  is accepted now or the other way round; a strategy drawn inside the test with
  ``data.draw`` is not the one recorded; fewer or more draws): hypothesis runs the test
  from the start, as if nothing had been kept, so the verdict, the shrunk example and the
  feedback are a plain run's.

Why that is exact: with the test, its settings and its source fixed, derandomised
hypothesis chooses each next example from the choices and outcomes of the earlier ones;
while every example passes, the only outcome that varies is whether it was rejected, and
that is checked. A strategy drawn inside a test must depend only on inputs drawn before
it, never on the student's results (``autograder/testing.py`` says so to test authors); a
dependence that shows in the strategy's repr is caught here and falls back to hypothesis.

Inputs are deep-copied (``fresh_copy``) when recorded and again for each replay, so a test that modifies
its inputs sees fresh ones. Nothing here comes from the student's process: only what the
judge's own strategies drew is kept. Kept in this process's memory, for its life; what a
notebook's run did with them (``ReplayReport``) is that run's, in its pytest ``config.stash``.
The hypothesis internals this needs are behind ``hypothesis_internals``.

Recorded once per release: ``instructor.release`` grades our solution with
``--record-examples``, which writes the examples of every test beside the hidden tests
(``RECORDING_NAME``, instructor-only like them: never inside a sandbox). Every grading
process then replays from its first notebook instead of drawing. The file is used only
when its stamp matches this judge (hypothesis, torch, numpy and Python versions, the
shared strategies and checks the tests import, this module) and each test's key matches
(its file's hash, its settings); otherwise the test is drawn as if no file existed. Either
way the verdicts are a plain run's: the same examples, in the same order.
"""
from __future__ import annotations

import copy
import copyreg
import functools
import hashlib
import lzma
import pickle
import platform
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from hypothesis.errors import HypothesisDeprecationWarning

from autograder.engine.judge import calls_ahead, hypothesis_internals as internals, recording_pickle
from autograder.engine.judge.hypothesis_internals import StopTest, UnsatisfiedAssumption
from autograder.engine.judge.student_proxy import StudentProcess

MAX_CALLS = 2_000  # a test whose passing run made more calls than this is not kept
RECORDING_NAME = "recorded_examples.pickle.xz"  # beside a hidden test file, written by instructor.release
# What a test's examples depend on beyond its own file and settings (both in its key).
STAMPED_SOURCES = ("autograder/strategies.py", "autograder/checks.py", "autograder/testing.py",
                   "autograder/engine/judge/example_replay.py", "autograder/engine/judge/hypothesis_internals.py",
                   "autograder/engine/judge/plugin.py", "autograder/hidden/conftest.py")

_kept: dict[tuple, list["Example"]] = {}  # for this process's life: what later notebooks replay
_kept_changes = [0]  # how many times _kept gained examples: each change is predicted again (below)


@dataclass
class ReplayReport:
    """How one pytest session's (one notebook's) hypothesis tests ran: made with the session's
    config (``report``), so that nothing of one notebook's is counted in the next."""
    replayed: int = 0
    recorded: int = 0
    drawn: int = 0
    predicted: int = 0  # replayed tests whose calls went ahead as this judge predicted them
    drawn_tests: list[str] = field(default_factory=list)  # drawn afresh although kept, or not keepable
    unwritable: list[str] = field(default_factory=list)  # recorded, but not written to the recording

    def as_dict(self) -> dict:
        return {"replayed": self.replayed, "recorded": self.recorded, "drawn": self.drawn, "predicted": self.predicted,
                "drawn_tests": list(self.drawn_tests), "unwritable": list(self.unwritable)}


_REPORT = pytest.StashKey[ReplayReport]()


def report(config) -> ReplayReport:
    """This pytest session's report (made at its first use)."""
    return config.stash.setdefault(_REPORT, ReplayReport())


_ATOMS = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)


def _tensors_in(value, found: list) -> bool:
    """Collect the tensors in ``value`` (tuples, lists, dicts of atoms and tensors); False if it
    holds anything else."""
    if type(value) in (tuple, list):
        return all(_tensors_in(item, found) for item in value)
    if type(value) is dict:  # keys as deepcopy copies them: atoms, whose copy is themselves
        return all(type(key) in _ATOMS for key in value) and all(_tensors_in(item, found) for item in value.values())
    if type(value) is torch.Tensor:
        found.append(value)
        return True
    return type(value) in _ATOMS


def _owns_its_storage(t: torch.Tensor) -> bool:
    """A plain dense tensor that is the whole of its own storage, with nothing deepcopy keeps
    that clone would not: ``clone()`` gives what ``deepcopy`` gives."""
    return (t.layout == torch.strided and t.device.type == "cpu" and not t.requires_grad and t._base is None
            and not t.is_conj() and not t.is_neg() and not t.is_quantized
            and t.grad is None and not t.__dict__ and t.storage_offset() == 0 and t.is_contiguous()
            and t.untyped_storage().nbytes() == t.numel() * t.element_size())


def _clonable(tensors: list) -> bool:
    """Whether cloning each of ``tensors`` copies them as deepcopy would: each the whole of its
    own storage, and no two distinct tensors on one memory (one tensor met twice is one)."""
    distinct = list({id(t): t for t in tensors}.values())
    if not all(_owns_its_storage(t) for t in distinct):
        return False
    pointers = [t.data_ptr() for t in distinct if t.numel()]
    return len(set(pointers)) == len(pointers)


_DEEPCOPY_ATOMIC = (types.FunctionType, types.BuiltinFunctionType, type)


def _tensors_deepcopy_meets(value, found: list, seen: dict) -> bool:
    """Collect the tensors ``copy.deepcopy(value)`` copies, walking what it walks: containers,
    and other objects through their ``__reduce_ex__(4)`` (an object's ``__dict__``, a class's own
    reduction); False if it meets anything whose copy it could not follow (a ``__deepcopy__`` of
    its own, a reduction with items, a tensor subclass). ``seen`` keeps what was walked alive, by
    id: a reduction's tuples are made for the walk, and a freed one's id could come again."""
    if type(value) in _ATOMS or isinstance(value, _DEEPCOPY_ATOMIC):
        return True
    if id(value) in seen:
        return True
    seen[id(value)] = value
    if type(value) is torch.Tensor:
        found.append(value)
        return True
    if type(value) in (tuple, list):
        return all(_tensors_deepcopy_meets(item, found, seen) for item in value)
    if type(value) is dict:
        return all(type(key) in _ATOMS for key in value) and \
            all(_tensors_deepcopy_meets(item, found, seen) for item in value.values())
    cls = type(value)
    if isinstance(value, torch.Tensor) or cls in copy._deepcopy_dispatch or copyreg.dispatch_table.get(cls) \
            or getattr(value, "__deepcopy__", None) is not None:
        return False
    try:
        reduced = value.__reduce_ex__(4)
    except Exception:
        return False
    if isinstance(reduced, str):
        return True
    if type(reduced) is not tuple or len(reduced) < 2 or any(item is not None for item in reduced[3:]):
        return False
    state = reduced[2] if len(reduced) > 2 else None
    return _tensors_deepcopy_meets(reduced[1], found, seen) and _tensors_deepcopy_meets(state, found, seen)


def copy_plan(value) -> tuple:
    """How ``fresh_copy`` copies ``value``: ``("rebuild",)`` (containers of atoms and of tensors
    that own their storage: each tensor cloned), ``("memo", tensors)`` (objects deepcopy follows:
    deep-copied with those tensors cloned in advance) or ``("deepcopy",)``. Worked out once per
    recorded example (``_fresh``): a recorded example never changes, only its copies are used."""
    tensors: list = []
    if _tensors_in(value, tensors) and _clonable(tensors):
        return ("rebuild",)
    tensors = []
    if _tensors_deepcopy_meets(value, tensors, {}) and _clonable(tensors):
        return ("memo", tensors)
    return ("deepcopy",)


def fresh_copy(value, plan: tuple | None = None):
    """``copy.deepcopy(value)``, in a fraction of the time for what examples usually are
    (tuples, lists and dicts of numbers and of tensors that own their storage): each such
    tensor cloned. Examples that hold objects (04b's parameter sets and problems) are
    deep-copied with those tensors cloned in advance (deepcopy takes a copy it was handed in its
    memo): a tensor's own ``__deepcopy__`` was a quarter of 04b's judge CPU. Anything else (a
    view, two tensors sharing memory, an object whose copy deepcopy does not follow here) is
    deep-copied as it is, so the copy is always deepcopy's: the same values, strides, sharing
    and flags, and nothing shared with ``value``. A replay copies its recorded inputs for every
    notebook, so this was a sixth of a replayed notebook's judge CPU. ``plan``: ``copy_plan(value)``,
    worked out before for this very value."""
    plan = plan or copy_plan(value)
    if plan[0] == "deepcopy":
        return copy.deepcopy(value)
    if plan[0] == "memo":
        tensors = plan[1]
        memo = {id(t): t.clone() for t in tensors}
        memo[id(memo)] = list(tensors)  # deepcopy's keep-alive list: the originals outlive the copy
        return copy.deepcopy(value, memo)
    clones: dict = {}  # the same tensor twice stays one tensor, as with deepcopy

    def rebuilt(item):
        if type(item) is torch.Tensor:
            if id(item) not in clones:
                clones[id(item)] = item.clone()
            return clones[id(item)]
        if type(item) is tuple:
            return tuple(rebuilt(i) for i in item)
        if type(item) is list:
            return [rebuilt(i) for i in item]
        if type(item) is dict:
            return {key: rebuilt(i) for key, i in item.items()}
        return item

    return rebuilt(value)


@dataclass
class Example:
    inputs: dict                      # the drawn arguments, without fixtures and data objects
    data_names: tuple = ()            # arguments that were ``st.data()`` objects
    draws: list = field(default_factory=list)  # (repr of strategy, label, value) per data.draw
    rejected: bool = False            # assume() rejected it
    aborted: bool = False             # hypothesis ended it at the draw after the last kept (StopTest)


class _Differs(BaseException):
    """The replay met something the recording does not hold: hypothesis decides instead.
    A BaseException, so that a test's ``except Exception`` does not swallow it."""


class _Aborted(BaseException):
    """Where hypothesis ended the recorded example (StopTest, inside a ``data.draw``)."""


def forget() -> None:
    _kept.clear()
    _COPY_PLANS.clear()
    _predicted.clear()
    _predicted_at.clear()


_SOURCE_HASHES: dict = {}  # (path, mtime, size) -> sha256: a test file is hashed once, not per test per notebook


def _source_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _SOURCE_HASHES:
        _SOURCE_HASHES[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _SOURCE_HASHES[key]


def _key(item) -> tuple:
    test = item.obj
    return item.nodeid, _source_hash(Path(item.path)), repr(internals.settings_of(test))


# ---------------------------------------------------------------- recorded once per release
def recording_stamp(course_root: Path) -> dict:
    """What must be equal for examples recorded by one judge to be those another draws."""
    import hypothesis
    import numpy
    import torch

    sources = {name: hashlib.sha256((Path(course_root) / name).read_bytes()).hexdigest()
               for name in STAMPED_SOURCES if (Path(course_root) / name).exists()}
    return {"hypothesis": hypothesis.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "sources": sources}


def save_recording(folder: Path, course_root: Path) -> list[str]:
    """Write the examples kept for the tests of ``folder``; the node ids of the tests whose
    examples could not be written (they hold what pickle cannot write, a lambda say: those
    tests draw afresh in every grading process)."""
    folder = Path(folder).resolve()
    mine, unwritable = {}, []
    for key, examples in _kept.items():
        if not _in_folder(key, folder, course_root):
            continue
        # Loaded from the last recording for a test edited since: its key holds the old file's hash.
        if key[1] != _source_hash(Path(course_root) / key[0].split("::", 1)[0]):
            continue
        try:
            mine[key] = pickle.loads(pickle.dumps(examples, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:
            unwritable.append(key[0])
    payload = {"stamp": recording_stamp(course_root), "kept": mine}
    tmp = folder / f".{RECORDING_NAME}.tmp"
    tmp.write_bytes(lzma.compress(recording_pickle.dumps(payload, _owns_its_storage)))
    tmp.replace(folder / RECORDING_NAME)
    return unwritable


def _in_folder(key: tuple, folder: Path, course_root: Path) -> bool:
    path = (Path(course_root) / key[0].split("::", 1)[0]).resolve()
    return path.parent == folder


def read_recording(path: Path) -> dict:
    """A recording as written by ``save_recording`` (by instructor.release: instructor-only)."""
    return pickle.loads(lzma.decompress(Path(path).read_bytes()))


_loaded: dict = {}  # recording path -> (mtime, size) of the file loaded


def load_recording(folder: Path, course_root: Path) -> str:
    """Keep the examples recorded beside the tests of ``folder``, where this judge would draw
    the same; returns what happened, for the log."""
    path = Path(folder) / RECORDING_NAME
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "no recording"
    if _loaded.get(path) == (stat.st_mtime_ns, stat.st_size):
        return "recording kept"
    try:
        payload = read_recording(path)
    except Exception as exc:
        return f"recording unreadable ({type(exc).__name__}): examples drawn"
    _loaded[path] = (stat.st_mtime_ns, stat.st_size)
    if payload.get("stamp") != recording_stamp(course_root):
        return "recording stale: examples drawn"
    for key, examples in payload.get("kept", {}).items():
        if key not in _kept:  # a test's key holds its file's hash: an edited test draws
            _kept[key] = examples
            _kept_changes[0] += 1
    return "recording loaded"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    if config.getoption("draw_afresh", False):
        return
    for folder in sorted({Path(item.path).parent for item in items}):
        load_recording(folder, config.rootpath)


class _RecordingData:
    """``data`` as the test sees it while recording: the real object's draws, noted."""

    def __init__(self, data, example: Example, recording: "_Recording"):
        self._data, self._example, self._recording = data, example, recording

    def draw(self, strategy, label=None):
        try:
            value = self._data.draw(strategy, label)
        except StopTest:  # hypothesis ends this example here (it ran out of choices): so will a replay
            self._example.aborted = True
            raise
        try:
            self._example.draws.append((repr(strategy), label, fresh_copy(value)))
        except Exception:
            self._recording.usable = False
        return value

    def __getattr__(self, name):
        return getattr(self._data, name)

    def __repr__(self):
        return repr(self._data)


class _ReplayData:
    """``data`` as the test sees it in a replay: the recorded draws, in order."""

    def __init__(self, draws: list, aborted: bool):
        self._draws, self._aborted = list(draws), aborted

    def draw(self, strategy, label=None):
        if not self._draws:
            raise _Aborted if self._aborted else _Differs
        kept_repr, kept_label, value = self._draws.pop(0)
        if kept_label != label or kept_repr != repr(strategy):
            raise _Differs
        return value

    def exhausted(self) -> bool:
        return not self._draws


class _Recording:
    """Wraps a test's inner function (``hypothesis_internals.inner_test``) to note each call's inputs."""

    def __init__(self, inner, fixture_names):
        self.inner, self.fixture_names = inner, set(fixture_names)
        self.examples: list[Example] = []
        self.usable = True

        @functools.wraps(inner)
        def recorded(*args, **kwargs):
            if not self.usable or args or len(self.examples) >= MAX_CALLS:
                self.usable = False
                return inner(*args, **kwargs)
            drawn = {name: value for name, value in kwargs.items() if name not in self.fixture_names}
            data_names = tuple(name for name, value in drawn.items() if internals.is_data_object(value))
            try:
                example = Example(fresh_copy({name: value for name, value in drawn.items()
                                                 if name not in data_names}), data_names)
            except Exception:
                self.usable = False
                return inner(*args, **kwargs)
            for name in data_names:
                kwargs[name] = _RecordingData(kwargs[name], example, self)
            self.examples.append(example)
            try:
                return inner(*args, **kwargs)
            except UnsatisfiedAssumption:
                example.rejected = True
                raise
            except StopTest:
                if not example.aborted:
                    self.usable = False
                raise
            except BaseException:  # it failed: there is no passing run to keep
                self.usable = False
                raise

        self.wrapper = recorded


@dataclass
class Replay:
    """How a replay ended: every example passed again exactly as recorded (``passed``), or
    the student's code failed one (``failure``, with that example's ``inputs``), or something
    differed from the recording (neither)."""
    passed: bool = False
    failure: BaseException | None = None
    inputs: dict = field(default_factory=dict)


def _fixtures(item) -> dict:
    """The fixtures ``item``'s test function takes, by name, as pytest made them."""
    return {name: item.funcargs[name] for name in item._fixtureinfo.argnames}


def _student_process(fixtures: dict) -> StudentProcess | None:
    """The judge's link to the student's worker behind a test's ``student`` fixture, if it has one."""
    process = getattr(fixtures.get("student"), "_process", None)
    return process if isinstance(process, StudentProcess) else None


def _replayed(inner, fixtures: dict, examples: list[Example], key: tuple | None = None,
              counts: ReplayReport | None = None) -> Replay:
    """Call the test with each recorded example, in order, until one fails or differs. Where
    the first example made one call of the student's, the later ones' first calls are sent to
    the worker ahead (``calls_ahead.py``), as many at a time as that call's speed allows; a test
    that makes several calls an example is replayed one call at a time, as it would only drop
    what was sent ahead."""
    process = _student_process(fixtures)
    if process is None or not process.can_send_ahead() or len(examples) < 2:
        return _replay_examples(inner, fixtures, examples)
    made, seconds = process.cost["calls"], process.cost["call_seconds"]
    ended = _replay_example(inner, fixtures, examples[0])
    if ended is not None:
        return ended
    rest = examples[1:]
    depth = process.depth_ahead(process.cost["call_seconds"] - seconds)
    if process.cost["calls"] - made != 1 or depth < 2 or not process.can_send_ahead():
        return _replay_examples(inner, fixtures, rest)
    process.send_ahead(_calls_ahead(inner, fixtures, examples, process, key, counts), depth)
    try:
        return _replay_examples(inner, fixtures, rest)
    finally:
        process.settle()


# id(example) -> (example, its copy_plan): an example is copied twice a notebook where its test's
# calls go ahead, for every notebook; the entry keeps the example alive, so its id is not reused.
_COPY_PLANS: dict = {}


def _fresh(example: Example) -> tuple[dict, "_ReplayData"]:
    """A fresh copy of ``example``'s inputs, and of its draws (one order of draws, whichever
    object drew): the test may modify them."""
    value = (example.inputs, example.draws)
    known = _COPY_PLANS.get(id(example))
    if known is None or known[0] is not example:
        known = _COPY_PLANS[id(example)] = (example, copy_plan(value))
    inputs, draws = fresh_copy(value, known[1])
    return inputs, _ReplayData(draws, example.aborted)


def _run_example(inner, fixtures: dict, example: Example, inputs: dict, data: "_ReplayData") -> None:
    with warnings.catch_warnings():  # assume() outside hypothesis's own run: it works, and says so
        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        inner(**fixtures, **inputs, **{name: data for name in example.data_names})


def _calls_ahead(inner, fixtures: dict, examples: list[Example], process: StudentProcess, key,
                 counts: ReplayReport | None) -> list:
    """The first calls of ``examples`` but the first's: as predicted for the test (``_predict``)
    where a notebook has confirmed them, else found by running the test up to them, in this
    notebook's run, which confirms or refutes the prediction for the notebooks after it."""
    predicted = _predicted.get(key)
    if predicted is not None and predicted.examples is not examples:
        predicted = None
    if predicted is not None and predicted.confirmed:
        if counts is not None:
            counts.predicted += 1
        return predicted.calls
    calls = _first_calls(inner, fixtures, examples[1:], process)
    if predicted is not None:
        if len(calls) == len(predicted.calls) and all(map(calls_ahead.Predicted.same, calls, predicted.calls)):
            predicted.confirmed = True
        else:  # this test's first calls depend on its run (a cache of the student's objects): found each time
            del _predicted[key]
    return calls


def _first_calls(inner, fixtures: dict, examples: list[Example], process: StudentProcess) -> list:
    """The first call each example's run will make, in order: the test run up to it, on a fresh
    copy of the example, with the call taken and not sent. Stops at a call that may not be sent
    ahead (``calls_ahead.can_go_ahead``); an example whose run raises before a call, or makes
    none, has none (its replay will do the same, or differ from what was sent, which is then
    dropped)."""
    calls = []
    for example in examples:
        with process.taking_first_call() as taken:
            try:
                _run_example(inner, fixtures, example, *_fresh(example))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # FirstCall, or whatever the test raised before a call
                pass
        if len(taken) > 1:  # the test caught FirstCall and went on: its calls are not known
            break
        if taken:
            label, request, timeout, allow_meta = taken[0]
            if not calls_ahead.can_go_ahead(request):
                break
            calls.append(calls_ahead.predicted(label, request, timeout, allow_meta))
    return calls


def _replay_examples(inner, fixtures: dict, examples: list[Example]) -> Replay:
    for example in examples:
        ended = _replay_example(inner, fixtures, example)
        if ended is not None:
            return ended
    return Replay(passed=True)


def _replay_example(inner, fixtures: dict, example: Example) -> Replay | None:
    """None: ``example`` went as recorded, go on; else how the replay ended."""
    inputs, data = _fresh(example)
    try:
        _run_example(inner, fixtures, example, inputs, data)
    except UnsatisfiedAssumption:
        return None if example.rejected else Replay()
    except _Aborted:
        return None
    except _Differs:
        return Replay()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # the property failed on this example: so does a plain run
        return Replay(failure=exc, inputs=example.inputs)  # as drawn: the test may modify its copy
    if example.rejected or example.aborted or not data.exhausted():
        return Replay()
    return None


def _with_example(exc: BaseException, test_name: str, inputs: dict) -> BaseException:
    """``exc`` with the failing example noted as hypothesis notes it, so that feedback shows it."""
    exc.add_note(internals.falsifying_note(test_name, inputs))
    return exc


def run(item) -> bool:
    """Run the hypothesis test ``item`` (its examples replayed where kept); raises as pytest's call would."""
    test = item.obj
    counts = report(item.config)
    fixtures = _fixtures(item)
    key = _key(item)
    examples = _kept.get(key)
    if examples is not None:
        replay = _replayed(internals.inner_test(test), fixtures, examples, key, counts)
        if replay.passed:
            counts.replayed += 1
            return True
        counts.drawn += 1
        counts.drawn_tests.append(f"{item.name} (a replayed example failed or differed)")
        # Hypothesis runs the test from the start, for its shrunk example and message. Where a
        # replayed example failed, a plain run fails too (it drew the same examples, and the
        # student's code met them in the same state), and hypothesis never turns a failure
        # into a pass; but its second run meets code that has been called once more, so code
        # that keeps state between calls may pass it. The verdict stays the replay's.
        test(**fixtures)
        if replay.failure is not None:
            raise _with_example(replay.failure, item.name, replay.inputs)
        return True
    original = internals.inner_test(test)
    recording = _Recording(original, fixtures)
    # The seed of a derandomised test is the digest of its inner function: the wrapper must
    # have the same, or hypothesis would draw other examples while recording.
    if internals.function_digest(recording.wrapper) != internals.function_digest(original):
        counts.drawn += 1
        counts.drawn_tests.append(f"{item.name} (not recordable)")
        test(**fixtures)
        return True
    internals.set_inner_test(test, recording.wrapper)
    try:
        test(**fixtures)
    finally:
        internals.set_inner_test(test, original)
    if recording.usable:
        _kept[key] = recording.examples
        _kept_changes[0] += 1
        counts.recorded += 1
    else:
        counts.drawn_tests.append(f"{item.name} (not kept)")
        counts.drawn += 1
    return True


# ---------------------------------------------------------------- first calls, predicted once per process
# The calls sent ahead for a test's examples (calls_ahead.py) are its examples' first calls, found by
# running each example's test body up to its first call: a fifth of a replayed notebook's judge CPU
# when done for every notebook. The kept examples are the same for every notebook a judge grades,
# and so, for a test whose body does not depend on what an earlier call returned, are those calls.
# So a judge predicts them once, in a session of their own that grades nothing and in which no call
# is ever answered (``prediction_args``): every call asked of the student's process raises
# ``FirstCall``, no worker starts, and the hidden tests' modules are imported afresh. What it finds
# holds nothing of any submission's, nor of our solution's: only the hidden tests' code run on the
# kept examples. A test's prediction is used only once a notebook's own run of the test (up to each
# example's first call, after its first example ran, as before) found exactly the same calls; where
# one found others (a test that keeps the student's objects across examples: 06's model, made by
# the first example, is what the others call), the test finds them in every notebook's run, as
# before. Each call a test makes is still compared, byte for byte, with what was sent ahead.
@dataclass
class _Prediction:
    examples: list        # the test's kept examples (the very list in ``_kept``)
    calls: list           # the first calls of those examples but the first's
    confirmed: bool = False  # a notebook's own run of the test found the same calls


_predicted: dict[tuple, _Prediction] = {}  # a test's key -> its first calls, predicted
_predicted_at: dict[str, int] = {}  # a tests folder -> _kept_changes when its first calls were last predicted
PREDICT_OPTION = "--predict-calls-ahead"


def prediction_args(tests_dir: str, args: list[str]) -> list[str] | None:
    """The pytest arguments of a session that predicts the first calls of the tests in
    ``tests_dir`` (``args``: a notebook's grading session's), where this judge has not predicted
    them since its kept examples last changed; None where there is nothing to predict (a session
    that draws afresh or records, or nothing new kept)."""
    if "--draw-afresh" in args or "--record-examples" in args or _predicted_at.get(tests_dir) == _kept_changes[0]:
        return None
    kept, skip = [], False
    for arg in args:  # no results written: ``--results=FILE`` or ``--results FILE`` left out
        if not skip and not arg.startswith("--results"):
            kept.append(arg)
        skip = arg == "--results"
    return kept + [PREDICT_OPTION]


def predicted_now(tests_dir: str) -> None:
    """The session ``prediction_args`` asked for has run: later notebooks use what it found."""
    _predicted_at[tests_dir] = _kept_changes[0]


def _predict(item) -> None:
    """In a prediction session: note the first calls of ``item``'s kept examples but the first."""
    key = _key(item)
    examples = _kept.get(key)
    fixtures = _fixtures(item)
    process = _student_process(fixtures)
    if examples is None or len(examples) < 2 or process is None:
        return
    _predicted[key] = _Prediction(examples, _first_calls(internals.inner_test(item.obj), fixtures, examples[1:], process))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if pyfuncitem.config.getoption("predict_calls_ahead", False):
        if getattr(pyfuncitem.obj, "hypothesis", None) is not None:
            _predict(pyfuncitem)
        return True  # a prediction session runs no test
    if getattr(pyfuncitem.obj, "hypothesis", None) is None or pyfuncitem.config.getoption("draw_afresh", False):
        return None
    return run(pyfuncitem)
