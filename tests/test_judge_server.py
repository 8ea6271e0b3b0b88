"""The judges a grading process keeps: one per course, reused, and no more than the
course's ``live_judges`` (EngineSettings) alive at once (a Dask worker or a test process
grades many courses)."""
import json
import os

import pytest

from autograder.engine.nbgrader_side import judge_client as judge_server
from autograder.engine.nbgrader_side.judge_client import JudgeServer
from autograder.engine.shared.limits import EngineSettings
from instructor.paths import ROOT


def course_envs(count: int) -> list[dict]:
    """One environment per "course": each is its own judge, as a course folder would be."""
    return [dict(os.environ, PYTHONPATH=str(ROOT), COURSE_UNDER_TEST=str(n)) for n in range(count)]


def test_a_process_keeps_the_judges_it_used_last_and_stops_the_others():
    judge_server.stop_all()
    live = EngineSettings().live_judges
    envs = course_envs(live + 1)
    try:
        judges = [JudgeServer.for_course(str(ROOT), env) for env in envs[:live]]
        assert JudgeServer.for_course(str(ROOT), envs[0]) is judges[0]  # reused, and now the most recent
        newest = JudgeServer.for_course(str(ROOT), envs[live])
        alive = [j for j in judges + [newest] if j.alive()]
        assert len(alive) == live and len(JudgeServer._servers) == live
        assert judges[0].alive() and newest.alive(), "the least recently used judge is the one stopped"
        assert not judges[1].alive()
    finally:
        judge_server.stop_all()


def test_the_course_settings_choose_how_many_judges_live_and_how_long_one_serves():
    judge_server.stop_all()
    first_env, second_env = course_envs(2)
    settings = EngineSettings(live_judges=1, judge_notebooks=1)
    try:
        first = JudgeServer.for_course(str(ROOT), first_env, settings)
        second = JudgeServer.for_course(str(ROOT), second_env, settings)
        assert second.alive() and not first.alive(), "one live judge: the other course's is stopped"
        second.graded = 1  # as after one notebook
        third = JudgeServer.for_course(str(ROOT), second_env, settings)
        assert third is not second and not second.alive(), "replaced after judge_notebooks notebooks"
    finally:
        judge_server.stop_all()


FIRST = '''
from hypothesis import given, settings, strategies as st

from autograder.engine.judge.plugin import graded


@graded("first")
@given(x=st.integers(0, 10))
def test_first_fails(student, x):
    """the first notebook's property: it fails, so its examples are not kept"""
    assert settings.default.max_examples == 3
    assert student.run(f"result = {x} + offset") == x, "off"


@graded("first")
@given(x=st.integers(0, 10))
def test_first_passes(x):
    """the first notebook's other property: it passes, so its examples are kept"""
'''

SECOND = '''
import json, os

from hypothesis import given, settings, strategies as st

from autograder.engine.judge import example_replay
from autograder.engine.judge.plugin import graded, grading


@graded("second")
@given(x=st.integers(0, 10))
def test_second(student, x):
    """the second notebook's property"""
    assert student.run(f"result = {x}") == x


@graded("second")
def test_what_the_judge_holds_now(request, student_process):
    """what this notebook's run holds (written for the test to compare)"""
    state = grading(request.config)
    seen = {"max_examples": settings.default.max_examples, "records": [r.test for r in state.records],
            "collection_errors": state.collection_errors, "cell_errors": sorted(student_process.cell_errors),
            "examples": example_replay.report(request.config).as_dict(), "problems": state.problems,
            "cells": [cell.id for cell in state.cells]}
    with open(os.environ["JUDGE_SEEN"], "w") as f:
        json.dump(seen, f)
'''


def test_a_judge_grading_two_notebooks_shows_the_second_nothing_of_the_first(tmp_path, monkeypatch):
    """One judge, two notebooks: what the judge holds for one notebook (its records, examples,
    collection errors, cells, worker and settings) is made anew for the next."""
    from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, GradingError
    from autograder.engine.shared.cells import Cell

    seen_file = tmp_path / "seen.json"
    monkeypatch.setenv("JUDGE_SEEN", str(seen_file))  # the judge's environment: started below
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "test_first.py").write_text(FIRST)
    (first / "test_broken.py").write_text("this is not python\n")  # a collection error, the first's only
    (second / "test_second.py").write_text(SECOND)
    judge_server.stop_all()
    grader = GradeWithHiddenTests.configured(str(ROOT))
    sandboxed = grader.sandbox_or_refuse()
    try:
        grader.settings = {"max_examples": 3}
        with pytest.raises(GradingError, match="test_broken.py"):
            grader.run_hidden_tests(str(first), [Cell("answer_first", "offset = 1\nraise ValueError('first')")],
                                    sandboxed)
        (first / "test_broken.py").unlink()
        outcome = grader.run_hidden_tests(str(first), [Cell("answer_first", "offset = 1\nraise ValueError('first')")],
                                          sandboxed)
        assert [r["passed"] for r in outcome["tests"]] == [False, True] and outcome["cell_errors"]
        assert outcome["examples"]["recorded"] == 1
        judge = next(iter(judge_server.JudgeServer._servers.values()))

        grader.settings = {}
        outcome = grader.run_hidden_tests(str(second), [Cell("answer_second", "y = 2")], sandboxed)
        assert next(iter(judge_server.JudgeServer._servers.values())) is judge and judge.graded == 3, \
            "the same judge graded all three"
    finally:
        judge_server.stop_all()
    assert [r["test"] for r in outcome["tests"]] == ["test_second", "test_what_the_judge_holds_now"]
    assert all(r["passed"] for r in outcome["tests"]), [r.get("message") for r in outcome["tests"]]
    assert outcome["collection_errors"] == [] and outcome["cell_errors"] == {}
    assert outcome["examples"] == {"replayed": 0, "recorded": 1, "drawn": 0, "predicted": 0, "drawn_tests": [],
                                   "unwritable": []}
    assert json.loads(seen_file.read_text()) == {
        "max_examples": EngineSettings().max_examples, "records": ["test_second"], "collection_errors": [],
        "cell_errors": [],
        "examples": {"replayed": 0, "recorded": 1, "drawn": 0, "predicted": 0, "drawn_tests": [], "unwritable": []},
        "problems": [],
        "cells": ["answer_second"]}


def graded_by_a_new_judge(tests_dir) -> dict:
    """The hidden tests in ``tests_dir`` run by a judge started for them (with this process's
    environment as it is now) on the answer ``y = 2``."""
    from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests
    from autograder.engine.shared.cells import Cell

    judge_server.stop_all()
    grader = GradeWithHiddenTests.configured(str(ROOT))
    try:
        return grader.run_hidden_tests(str(tests_dir), [Cell("answer", "y = 2")], grader.sandbox_or_refuse())
    finally:
        judge_server.stop_all()


def test_the_judge_loads_no_conftest_above_the_hidden_tests_folder(tmp_path):
    """A conftest.py in a folder above the one that holds every assignment's hidden tests
    (/tmp, /home, the course's parent: anyone may write one there) never runs in the judge;
    the hidden tests' own conftest.py does."""
    marker = tmp_path / "stray conftest ran"
    (tmp_path / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    hidden = tmp_path / "course" / "hidden"
    (hidden / "assignment").mkdir(parents=True)
    (hidden / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture\ndef offset():\n    return 1\n")
    (hidden / "assignment" / "test_assignment.py").write_text('''
from autograder.engine.judge.plugin import graded


@graded("sum")
def test_sum(student, offset):
    """the answer plus the hidden folder's conftest's offset"""
    assert student.run("result = y") + offset == 3
''')
    outcome = graded_by_a_new_judge(hidden / "assignment")
    assert [r["passed"] for r in outcome["tests"]] == [True], outcome
    assert not marker.exists(), "a conftest.py above the hidden tests' folder ran in the judge"


def test_the_judge_takes_no_python_or_pytest_settings_from_the_environment(tmp_path, monkeypatch):
    """pytest's options and plugins from the grading shell's environment (PYTEST_ADDOPTS,
    PYTEST_PLUGINS), the plugins installed beside the course (xdist, anyio, ... by their
    entry points) and Python's own settings (PYTHONWARNINGS, PYTHONOPTIMIZE) never reach the
    judge: only the plugins its arguments name, hypothesis's among them."""
    seen = tmp_path / "judge.json"
    tests_dir = tmp_path / "hidden" / "assignment"
    tests_dir.mkdir(parents=True)
    (tests_dir / "test_assignment.py").write_text(f'''
import json
import sys

from autograder.engine.judge.plugin import graded


@graded("plugins")
def test_plugins(student, request):
    """the answer, and the plugins the judge's session holds (written for the test to compare)"""
    with open({str(seen)!r}, "w") as f:
        json.dump({{"plugins": sorted(name for name, _ in request.config.pluginmanager.list_name_plugin()),
                   "optimize": sys.flags.optimize, "warnoptions": sys.warnoptions}}, f)
    assert student.run("result = y") == 2
''')
    monkeypatch.setenv("PYTEST_ADDOPTS", "-k no_test_is_named_so")
    monkeypatch.setenv("PYTEST_PLUGINS", "no_module_is_named_so")
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    monkeypatch.setenv("PYTHONOPTIMIZE", "1")
    outcome = graded_by_a_new_judge(tests_dir)
    assert [(r["test"], r["passed"]) for r in outcome["tests"]] == [("test_plugins", True)], outcome
    judge = json.loads(seen.read_text())
    assert judge["optimize"] == 0 and judge["warnoptions"] == [], judge
    plugins = judge["plugins"]
    assert "_hypothesis_pytestplugin" in plugins and "autograder.engine.judge.plugin" in plugins, plugins
    assert not {"xdist", "xdist.looponfail", "anyio", "platformdirs"} & set(plugins), plugins
