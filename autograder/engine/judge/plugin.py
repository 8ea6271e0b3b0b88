"""The pytest plugin that runs hidden tests against a submission.

Loaded with ``-p autograder.engine.judge.plugin`` in a fresh process in which no student
code has run; the student's cells run in a worker (see ``student.py``). It writes
one JSON record per test: the graded cell it scores, pass or fail, the property
(the test's docstring), the failure message and the smallest failing input.
Never the test's source.
"""
from __future__ import annotations

import json
import os
import re
import resource
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from autograder.engine.judge import example_replay
from autograder.engine.judge.example_replay import (  # noqa: F401  (hooks of this plugin)
    pytest_collection_modifyitems, pytest_pyfunc_call)
from autograder.engine.shared.limits import Limits
from autograder.engine.judge.student_proxy import MAX_EXAMPLES, Cell, Student, StudentProcess

def examples_from_the_tests_alone() -> None:
    """Hypothesis now and then draws a constant it found in the "local" modules loaded so far
    (any module outside site-packages and the standard library), collected once per process
    and never forgotten: a judge that had graded 06 drew other examples for 01 than a fresh
    one, and an edit to the engine changed shrunk examples. Grading draws only from the
    strategies and hypothesis's own constants, so that the examples of a hidden test depend
    on it alone. (Hypothesis has no setting for this: its provider's pool is replaced.)"""
    from hypothesis.internal.conjecture import providers

    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()


examples_from_the_tests_alone()


def load_grading_profile(max_examples: int) -> None:
    """Hypothesis as grading needs it; loaded at import and again for each notebook a
    persistent judge grades."""
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


load_grading_profile(int(os.environ.get("GRADING_MAX_EXAMPLES", MAX_EXAMPLES)))


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
    group.addoption("--record-examples", action="store_true",
                    help="at the end, write the examples kept for each test beside the hidden tests "
                         "(instructor.release does, grading our solution)")


def _cpu(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def pytest_collection_finish(session):
    session.config._judge_cpu_collected = _cpu(resource.RUSAGE_SELF)


def pytest_configure(config):
    config.addinivalue_line("markers", "graded(cell_id, rules=()): the graded notebook cell this test scores, the rules it grades")
    config._grading_records = []
    config._grading_problems = []
    _COLLECTION_ERRORS.clear()  # a persistent judge grades many notebooks in one process
    example_replay.session_report()  # counts from here
    config._judge_cpu_configured = _cpu(resource.RUSAGE_SELF)  # a fresh judge: interpreter and imports


@pytest.fixture(scope="session")
def forbidden_builtins() -> dict:
    """Function name -> built-ins it may not call; a hidden test file declares its own with
    ``forbidden_builtins = autograder.testing.not_allowed([...])``."""
    return {}


@pytest.fixture(scope="session")
def student_process(request):
    path = request.config.getoption("--submission")
    if not path:
        pytest.exit("the hidden tests need --submission=FILE", returncode=4)
    with open(path) as f:
        submission = json.load(f)
    process = StudentProcess([Cell(**c) for c in submission["cells"]],
                             Limits.from_dict(submission["limits"], f"{path}: limits"),
                             log=request.config._grading_problems.append)
    request.config._grading_process = process
    yield process
    process.stop()


@pytest.fixture(scope="session")
def student(student_process, forbidden_builtins) -> Student:
    return Student(student_process, forbidden_builtins)


_FALSIFYING = re.compile(r"^(?:Falsifying (?:explicit )?example|Failing (?:explicit example|test case)): "
                         r"\w+\(\n?(.*)\)\s*$", re.S)


def smallest_failing_input(exc: BaseException, fixtures=("student",)) -> str | None:
    """The arguments hypothesis shrank to, without the fixtures."""
    for note in getattr(exc, "__notes__", []) or []:
        match = _FALSIFYING.match(note.strip())
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


_COLLECTION_ERRORS: list[str] = []


def pytest_collectreport(report):
    if report.failed:  # a broken hidden test is the course's fault: reported, never scored
        _COLLECTION_ERRORS.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")


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
        record = {
            "test": item.name,
            "cell": marker.args[0] if marker else None,
            "property": " ".join((item.function.__doc__ or item.name).split()),
            "passed": report.passed,
            "rules": list(marker.kwargs.get("rules", ())) if marker else [],
        }
        if report.failed and call.excinfo is not None:
            record["rule_texts"] = [text for text in map(_rule_texts(item).get, record["rules"]) if text]
            exc = call.excinfo.value
            record["message"] = describe_failure(exc)
            fixtures = tuple(item.fixturenames)
            record["example"] = (smallest_failing_input(exc, fixtures)
                                 or smallest_failing_input(_first_leaf(exc), fixtures))
            # Structured, for the class report (never parsed back out of the message): what
            # kind of failure, and the expected and returned values where a check gave them.
            leaf = _first_leaf(exc)
            record["failure"] = type(leaf).__name__
            for key in ("expected", "got"):
                if isinstance(getattr(leaf, key, None), str):
                    record[key] = getattr(leaf, key)
        item.config._grading_records.append(record)


def pytest_sessionfinish(session):
    config = session.config
    if config.getoption("record_examples", False):
        for folder in sorted({Path(item.path).parent for item in session.items}):
            example_replay.save_recording(folder, config.rootpath)
    path = config.getoption("--results", None)
    if not path:
        return
    process = getattr(config, "_grading_process", None)
    if process:
        process.stop()  # so that the worker's CPU time is counted below
    configured = getattr(config, "_judge_cpu_configured", 0.0)
    collected = getattr(config, "_judge_cpu_collected", configured)
    cost = {"judge_process_cpu": configured, "judge_collect_cpu": collected - configured,
            "judge_tests_cpu": _cpu(resource.RUSAGE_SELF) - collected,
            **(process.cost if process else {"worker_cpu": 0.0})}
    with open(path, "w") as f:
        json.dump({
            "tests": config._grading_records,
            "collection_errors": _COLLECTION_ERRORS,
            "sandbox_gaps": process.sandbox_gaps if process else [],
            "cell_errors": process.cell_errors if process else {},
            "cost": cost,
            "examples": example_replay.session_report(),
        }, f, indent=1, default=str)  # whatever came from the worker is written as text
