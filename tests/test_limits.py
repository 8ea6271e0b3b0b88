"""``Limits``, the one value that bounds a submission's grading: built from course_config.py's
overrides (a typo is an error naming it), serialised by itself with its own field names,
and applied as configured inside a real sandboxed worker. ``EngineSettings``, everything
else the engine lets a course tune: overridden and refused the same way, and reaching the
judge that uses it."""
import dataclasses
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traitlets.config import Config

from autograder.engine.shared.limits import EngineSettings, Limits, LimitsError
from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests
from autograder.engine.judge.student_proxy import Cell
from instructor.paths import ROOT


def configured_with(limits=None, settings=None) -> GradeWithHiddenTests:
    """The preprocessor as course_config.py's ``c.GradeWithHiddenTests.limits = limits`` (and
    ``.settings = settings``) makes it."""
    traits = {name: value for name, value in (("limits", limits), ("settings", settings)) if value is not None}
    return GradeWithHiddenTests(config=Config({"GradeWithHiddenTests": traits}))


@pytest.mark.parametrize("trait, overrides, message", [
    ("limits", {"memry_bytes": 1 << 30}, "unknown limit 'memry_bytes' (did you mean 'memory_bytes'?)"),
    ("limits", {"call_secs": 20}, "unknown limit 'call_secs' (did you mean 'call_seconds'?)"),
    ("limits", {"memory_bytes": "4G"}, "memory_bytes must be a whole number, not '4G' (str)"),
    ("limits", {"memory_bytes": 4e9}, "memory_bytes must be a whole number, not 4000000000.0 (float)"),
    ("limits", {"call_seconds": -1}, "call_seconds must be positive, not -1"),
    ("limits", {"threads": True}, "threads must be a whole number, not True (bool)"),
    ("limits", {"sandbox": False}, "'sandbox' is not a limit; it is set by c.GradeWithHiddenTests.allow_unsandboxed"),
    # The engine's settings are refused the same way.
    ("settings", {"max_exampels": 10}, "unknown setting 'max_exampels' (did you mean 'max_examples'?)"),
    ("settings", {"timeout": 600}, "unknown setting 'timeout'; the settings are max_examples, notebook_seconds"),
    ("settings", {"max_examples": 10.0}, "max_examples must be a whole number, not 10.0 (float)"),
    ("settings", {"notebook_seconds": "10 min"}, "notebook_seconds must be a number of seconds, not '10 min' (str)"),
    ("settings", {"live_judges": 0}, "live_judges must be positive, not 0"),
    ("settings", {"judge_threads": True}, "judge_threads must be a whole number, not True (bool)"),
])
def test_a_typo_in_the_course_config_is_an_error_that_names_it(trait, overrides, message):
    with pytest.raises(LimitsError) as refused:
        configured_with(**{trait: overrides})
    assert str(refused.value).startswith(f"c.GradeWithHiddenTests.{trait}: ")
    assert message in str(refused.value)


def test_the_course_config_grades_with_the_dataclass_defaults():
    grader = GradeWithHiddenTests.configured(str(ROOT))
    assert grader.course_root == str(ROOT)  # course_config.py was read, not just the traits' defaults
    assert grader.worker_limits(sandboxed=True) == Limits()
    assert grader.engine_settings() == EngineSettings()


def test_a_setting_overridden_by_name_changes_only_that_setting():
    settings = configured_with(settings={"max_examples": 7, "notebook_seconds": 90}).engine_settings()
    assert settings == dataclasses.replace(EngineSettings(), max_examples=7, notebook_seconds=90.0)
    assert EngineSettings.from_json(settings.to_json()) == settings


def test_overrides_change_only_the_fields_they_name():
    limits = configured_with({"call_seconds": 20, "memory_bytes": 4 << 30}).worker_limits(sandboxed=False)
    assert limits == dataclasses.replace(Limits(), call_seconds=20.0, memory_bytes=4 << 30, sandbox=False)
    assert type(limits.call_seconds) is float  # an int given for seconds is the same value after JSON


def _any_field(item: dataclasses.Field):
    kind = type(item.default)
    if kind is bool:
        return st.booleans()
    if kind is tuple:
        return st.lists(st.text(), max_size=3)
    if kind is float:
        return st.floats(min_value=1e-3, max_value=1e9, allow_nan=False)
    return st.integers(min_value=1, max_value=1 << 62)


@settings(max_examples=50, deadline=None)
@given(st.fixed_dictionaries({item.name: _any_field(item) for item in dataclasses.fields(Limits)}))
def test_a_round_trip_through_json_is_identity(fields):
    limits = Limits(**fields)
    assert Limits.from_json(limits.to_json()) == limits
    assert Limits.from_dict(limits.to_dict()) == limits
    assert set(limits.to_dict()) == {item.name for item in dataclasses.fields(Limits)}


def test_json_with_a_field_renamed_or_missing_is_refused():
    fields = Limits().to_dict()
    fields["sandboxed"] = fields.pop("sandbox")  # the name the worker's old policy dict used
    with pytest.raises(LimitsError, match=r"unknown fields \['sandboxed'\], missing fields \['sandbox'\]"):
        Limits.from_dict(fields)


# What the worker is to see, configured as a course would in its course_config.py; every
# value differs from the default, so a field that fell back to it on the way would show.
OVERRIDES = {"memory_bytes": 2 << 30, "file_bytes": 8 << 20, "open_files": 200, "processes": 48,
             "threads": 2, "tmp_bytes": 48 << 20, "shm_bytes": 12 << 20, "call_seconds": 2}

HIDDEN_TESTS = '''
LOOK = """
import os, resource, torch
def bytes_of(folder):
    fs = os.statvfs(folder)
    return fs.f_blocks * fs.f_frsize
result = {name: resource.getrlimit(getattr(resource, name))
          for name in ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC")}
result.update(threads=torch.get_num_threads(), omp=os.environ["OMP_NUM_THREADS"],
              tmp=bytes_of("/tmp"), shm=bytes_of("/dev/shm"))
"""


def test_the_worker_runs_under_the_course_limits(student):
    seen = student.run(LOOK)
    expected = {EXPECTED}
    assert seen == expected, f"seen {seen}, expected {expected}"


def test_the_judge_runs_under_the_course_settings(student, student_process):
    import os
    from hypothesis import settings
    student.run("x = 2")  # a worker, forked from a zygote where this machine can
    seen = {"max_examples": settings.default.max_examples, "omp": os.environ["OMP_NUM_THREADS"],
            "worker_start_seconds": student_process.settings.worker_start_seconds}
    expected = {"max_examples": 2, "omp": "3", "worker_start_seconds": 45.0}
    if student_process.zygote is not None:
        seen["zygote_answer_seconds"] = student_process.zygote.answer_seconds
        expected["zygote_answer_seconds"] = 3.0
    assert seen == expected, f"seen {seen}, expected {expected}"


def test_a_call_stops_at_the_course_call_seconds(student):  # last: it ends the worker
    student.run("import time\\ntime.sleep(60)")
'''
# The engine's settings for that grading: each differs from its default.
SETTINGS = {"max_examples": 2, "judge_threads": 3, "worker_start_seconds": 45, "zygote_answer_seconds": 3}


def grader_with(tmp_path, limits: dict) -> GradeWithHiddenTests:
    """The preprocessor as course_config.py plus ``limits`` makes it (the way an instructor sets them)."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        c = get_config()
        load_subconfig({str(ROOT / "course_config.py")!r})
        c.GradeWithHiddenTests.limits = {limits!r}
        c.GradeWithHiddenTests.settings = {SETTINGS!r}
        """))
    return GradeWithHiddenTests.configured(str(course))


def test_an_override_in_the_course_config_reaches_the_sandboxed_worker(tmp_path):
    """The whole way: nbgrader's config file, the preprocessor, the judge's submission
    file, the worker's command line, and the limits the worker sets on itself; and the
    engine's settings the same way to the judge's hypothesis, environment, worker and zygote."""
    tests = tmp_path / "hidden" / "limits_probe"
    tests.mkdir(parents=True)
    expected = {"RLIMIT_AS": (2 << 30,) * 2, "RLIMIT_FSIZE": (8 << 20,) * 2, "RLIMIT_NOFILE": (200,) * 2,
                "RLIMIT_NPROC": (48,) * 2, "threads": 2, "omp": "2", "tmp": 48 << 20, "shm": 12 << 20}
    (tests / "test_limits_probe.py").write_text(HIDDEN_TESTS.replace("{EXPECTED}", repr(expected)))

    grader = grader_with(tmp_path, OVERRIDES)
    assert grader.course_root == str(ROOT)
    outcome = grader.run_hidden_tests(str(tests), [Cell("answer", "x = 1")], grader.sandbox_or_refuse())

    assert outcome["collection_errors"] == []
    records = {r["test"]: r for r in outcome["tests"]}
    looked = records["test_the_worker_runs_under_the_course_limits"]
    assert looked["passed"], looked.get("message")
    stopped = records["test_a_call_stops_at_the_course_call_seconds"]
    assert not stopped["passed"]
    assert "did not finish within 2 seconds" in stopped["message"], stopped["message"]
    judged = records["test_the_judge_runs_under_the_course_settings"]
    assert judged["passed"], judged.get("message")


def test_the_budget_and_feedback_bounds_are_limits_like_the_others():
    """Set in course_config.py by name like every limit, and checked the same way."""
    overrides = {"notebook_cpu_seconds": 5, "notebook_wall_seconds": 7.5, "feedback_message_chars": 100,
                 "feedback_cell_bytes": 1000, "feedback_bytes": 5000}
    limits = configured_with(overrides).worker_limits(sandboxed=True)
    assert limits == dataclasses.replace(Limits(), **overrides)
    with pytest.raises(LimitsError, match="notebook_wall_seconds must be positive"):
        configured_with({"notebook_wall_seconds": 0})
    with pytest.raises(LimitsError, match="did you mean 'feedback_bytes'"):
        configured_with({"feedback_byte": 1000})
