"""The pytest plugin that runs hidden tests against a submission.

Loaded with ``-p autograder.engine.judge.plugin`` in a fresh process in which no student
code has run; the student's cells run in a worker (see ``student.py``). It writes
one JSON record per test: the graded cell it scores, pass or fail, the property
(the test's docstring), the failure message and the smallest failing input.
Never the test's source.

A judge server grades many notebooks in one process, one pytest run each: what the judge
holds for one notebook (its submission, the records written so far, its worker, its
collection errors, what its run cost) is one ``NotebookGrading``, made by
``pytest_configure`` for each run and kept in that run's ``config.stash``, so nothing of
one notebook's can be seen by the next. What outlives a run is meant to: the examples
``example_replay`` keeps, and caches keyed by the files they were read from.
"""
from __future__ import annotations

import json
import re
import resource
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from autograder.engine.judge import example_replay, hypothesis_internals, import_recording
from autograder.engine.judge.example_replay import (  # noqa: F401  (hooks of this plugin)
    pytest_collection_modifyitems, pytest_pyfunc_call)
from autograder.engine.judge.student_proxy import EXIT_GRACE_SECONDS, Cell, Student, StudentProcess
from autograder.engine.shared.limits import EngineSettings, Limits
from autograder.engine.shared.protocol import HiddenTestRecord, JudgeResults

# Hypothesis now and then draws a constant it found in the "local" modules loaded so far,
# collected once per process and never forgotten: a judge that had graded 06 drew other
# examples for 01 than a fresh one, and an edit to the engine changed shrunk examples.
# Grading draws only from the strategies and hypothesis's own constants, so that the
# examples of a hidden test depend on it alone.
hypothesis_internals.draw_no_local_constants()


def load_grading_profile(max_examples: int) -> None:
    """Hypothesis as grading needs it; loaded at import and again for each notebook
    (``pytest_configure``), with the course's ``max_examples``."""
    settings.register_profile(
        "grading",
        derandomize=True,          # the same submission gets the same examples, every run
        database=None,             # and no memory of earlier runs
        deadline=None,             # the student's speed is limited by the worker, not here
        max_examples=max_examples,
        print_blob=False,
        # No "explain" phase: it re-runs the student's code many times to annotate the
        # failing input, which costs seconds per failed property and teaches little.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    settings.load_profile("grading")


load_grading_profile(EngineSettings().max_examples)


def graded(cell_id: str, *, rules=()):
    """Mark a hidden test as scoring the notebook's graded cell ``cell_id``, and as grading
    the notebook's ``rules`` (ids stated in the spec: ``autograder/rules.py``)."""
    return pytest.mark.graded(cell_id, rules=tuple(rules))


def pytest_addoption(parser):
    group = parser.getgroup("grading")
    group.addoption("--submission", help="JSON file: the cells to run as the student's code")
    group.addoption("--results", help="where to write the JSON results")
    group.addoption("--draw-afresh", action="store_true",
                    help="let hypothesis draw every example, even where this judge kept a test's "
                         "examples from an earlier notebook (see example_replay.py)")
    group.addoption(example_replay.PREDICT_OPTION, action="store_true", dest="predict_calls_ahead",
                    help="run no test: find the first calls of each test's kept examples, to send ahead in "
                         "the notebooks this judge grades next (example_replay.prediction_args)")
    group.addoption("--record-examples", action="store_true",
                    help="at the end, write the examples kept for each test beside the hidden tests "
                         "(instructor.release does, grading our solution)")


def _cpu(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass(eq=False)  # a plugin of its run: hashed by identity
class NotebookGrading:
    """What the judge holds for the notebook it grades now, and nothing else: one per pytest
    run (``pytest_configure``), in its ``config.stash`` (``grading(config)``)."""
    submission: str | None            # the --submission file, as nbgrader's side wrote it
    cells: list[Cell]
    limits: Limits | None
    settings: EngineSettings
    cpu_configured: float             # the judge's CPU when this run began (a fresh judge: its start)
    cpu_collected: float | None = None
    records: list[HiddenTestRecord] = field(default_factory=list)  # one per test run, as results.json has them
    collection_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)      # what the student's process logged
    process: StudentProcess | None = None

    def pytest_collectreport(self, report):  # a hook: this object is a plugin of its run
        if report.failed:  # a broken hidden test is the course's fault: reported, never scored
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    @classmethod
    def read(cls, path: str | None, cpu: float) -> "NotebookGrading":
        if not path:
            return cls(None, [], None, EngineSettings(), cpu)
        with open(path) as f:
            submission = json.load(f)
        return cls(path, [Cell(**c) for c in submission["cells"]],
                   Limits.from_dict(submission["limits"], f"{path}: limits"),
                   EngineSettings.from_dict(submission["settings"], f"{path}: settings"), cpu)


_GRADING = pytest.StashKey[NotebookGrading]()


def grading(config) -> NotebookGrading:
    return config.stash[_GRADING]


def pytest_collection_finish(session):
    grading(session.config).cpu_collected = _cpu(resource.RUSAGE_SELF)


def pytest_configure(config):
    config.addinivalue_line("markers", "graded(cell_id, rules=()): the graded notebook cell this test scores, the rules it grades")
    state = NotebookGrading.read(config.getoption("--submission", None), _cpu(resource.RUSAGE_SELF))
    config.stash[_GRADING] = state
    config.pluginmanager.register(state, "notebook-grading")
    load_grading_profile(state.settings.max_examples)


@pytest.fixture(scope="session")
def forbidden_builtins() -> dict:
    """Function name -> built-ins it may not call; a hidden test file declares its own with
    ``forbidden_builtins = autograder.testing.not_allowed([...])``."""
    return {}


@pytest.fixture(scope="session")
def student_process(request):
    state = grading(request.config)
    if not state.submission:
        pytest.exit("the hidden tests need --submission=FILE", returncode=4)
    state.process = StudentProcess(state.cells, state.limits, log=state.problems.append, settings=state.settings)
    state.process.predicting = request.config.getoption("predict_calls_ahead", False)
    yield state.process
    if request.config.getoption("record_examples", False):  # our solution's worker, before it ends
        import_recording.record(state.process, _test_folders(request.session), Path(request.config.rootpath))
    state.process.stop(EXIT_GRACE_SECONDS)


def _test_folders(session) -> list[Path]:
    return sorted({Path(item.path).parent for item in session.items})


@pytest.fixture(scope="session")
def student(student_process, forbidden_builtins) -> Student:
    return Student(student_process, forbidden_builtins)


def smallest_failing_input(exc: BaseException, fixtures=("student",)) -> str | None:
    """The arguments hypothesis shrank to, without the fixtures."""
    for note in getattr(exc, "__notes__", []) or []:
        match = hypothesis_internals.FALSIFYING.match(note.strip())
        if match:
            # One argument per unindented line, its value continued on indented ones (a tensor's
            # rows); hypothesis ends each argument, not each line, with a comma.
            args: list[list[str]] = []
            for line in textwrap.dedent(match.group(1)).strip("\n").splitlines():
                if line.startswith((" ", "\t")) and args:
                    args[-1].append(line)
                else:
                    args.append([line])
            for arg in args:
                if arg[-1].endswith(","):
                    arg[-1] = arg[-1][:-1]
            kept = ["\n".join(arg) for arg in args if not arg[0].startswith(tuple(f"{name}=" for name in fixtures))]
            return "\n".join(kept) or None
    return None


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe_failure(exc: BaseException) -> str:
    """What the student reads: our own message, never the hidden test's source."""
    leaf = _first_leaf(exc)
    if isinstance(leaf, AssertionError):
        return str(leaf) or "the property does not hold"
    return (f"the grader could not check your result: {type(leaf).__name__}: {leaf}"[:2000])


_RULE_TEXTS: dict = {}  # (notebook path, mtime) -> rule id -> the bullet the student reads


def _rule_texts(item) -> dict:
    """The rules the notebook states, by id, for a failed property's feedback: read from the
    course's source notebook (the same words as the student's), once per notebook version."""
    from autograder.rules import notebook_rules

    folder = Path(item.config.rootpath) / "source" / Path(item.path).parent.name
    notebooks = sorted(folder.glob("*.ipynb"))
    if len(notebooks) != 1:
        return {}
    key = (str(notebooks[0]), notebooks[0].stat().st_mtime_ns)
    if key not in _RULE_TEXTS:
        try:
            import nbformat

            rules, _ = notebook_rules(nbformat.read(str(notebooks[0]), as_version=4))
            _RULE_TEXTS[key] = {rule.id: " ".join(rule.text.split()) for rule in rules}
        except Exception:  # feedback goes on without the rule's words
            _RULE_TEXTS[key] = {}
    return _RULE_TEXTS[key]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.failed):
        marker = item.get_closest_marker("graded")
        record = HiddenTestRecord(
            test=item.name,
            cell=marker.args[0] if marker else None,
            property=" ".join((item.function.__doc__ or item.name).split()),
            passed=report.passed,
            rules=list(marker.kwargs.get("rules", ())) if marker else [],
        )
        if report.failed and call.excinfo is not None:
            record.rule_texts = [text for text in map(_rule_texts(item).get, record.rules) if text]
            exc = call.excinfo.value
            record.message = describe_failure(exc)
            fixtures = tuple(item.fixturenames)
            record.example = (smallest_failing_input(exc, fixtures)
                              or smallest_failing_input(_first_leaf(exc), fixtures))
            # Structured, for the class report (never parsed back out of the message): what
            # kind of failure, and the expected and returned values where a check gave them.
            leaf = _first_leaf(exc)
            record.failure = type(leaf).__name__
            for key in ("expected", "got"):
                if isinstance(getattr(leaf, key, None), str):
                    setattr(record, key, getattr(leaf, key))
        grading(item.config).records.append(record)


def pytest_sessionfinish(session):
    config = session.config
    if config.getoption("record_examples", False):
        for folder in _test_folders(session):
            example_replay.report(config).unwritable += example_replay.save_recording(folder, config.rootpath)
    path = config.getoption("--results", None)
    if not path:
        return
    state = grading(config)
    process = state.process
    if process:
        process.stop(EXIT_GRACE_SECONDS)  # so that the worker's CPU time is counted below
    configured = state.cpu_configured
    collected = configured if state.cpu_collected is None else state.cpu_collected
    cost = {"judge_process_cpu": configured, "judge_collect_cpu": collected - configured,
            "judge_tests_cpu": _cpu(resource.RUSAGE_SELF) - collected,
            **(process.cost if process else {"worker_cpu": 0.0})}
    results = JudgeResults(tests=state.records, collection_errors=state.collection_errors,
                           sandbox_gaps=process.sandbox_gaps if process else [],
                           cell_errors=process.cell_errors if process else {}, cost=cost,
                           examples=example_replay.report(config).as_dict())
    with open(path, "w") as f:
        f.write(results.to_json())
