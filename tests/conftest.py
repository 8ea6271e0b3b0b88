"""Fixtures shared by the project's tests."""

import os
from pathlib import Path

import pytest

from mnist_course.data import MNIST_FILES


@pytest.fixture(scope="session")
def generated_course(tmp_path_factory) -> Path:
    """This course with every assignment generated, once per test process: tests that grade
    a class copy it (``nbgrader_cli.copy_course``) instead of paying nbgrader's start for each
    assignment they generate. Never graded in itself."""
    from instructor import nbgrader_cli

    course = nbgrader_cli.make_course(tmp_path_factory.mktemp("generated") / "course")
    nbgrader_cli.generate(course, "*")
    return course


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory holding the four MNIST IDX files.

    $MNIST_DIR when set, else ``shared/data/mnist`` beside the checkout (the
    repository is cloned as ``<x>/main`` with ``<x>/shared`` next to it).
    """
    from_env = os.environ.get("MNIST_DIR")
    if from_env:
        directory = Path(from_env).expanduser().resolve()
    else:
        directory = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    missing = [name for name in MNIST_FILES if not (directory / name).is_file()]
    if missing:
        pytest.fail(
            f"MNIST test data not found: {directory} lacks {', '.join(missing)}. "
            f"Set MNIST_DIR to a directory holding the four MNIST .gz files."
        )
    return directory


# Spreading the suite over cores: run_tests.sh uses pytest-xdist's --dist loadscope, which
# keeps each module on one worker, so a module-scoped graded class is computed once.
# (--dist loadgroup with xdist_group markers does not group with pytest 9.2 + xdist 3.8: a
# module fixture was computed on every worker.)
#
# loadscope hands scopes out in collection order (run_tests.sh turns its reordering by test
# count off), so the longest go first (longest-first scheduling): a long scope started last
# would leave the other workers idle at the end. By the seconds their scopes took in CI (three
# workers, 2 cores): catalog groups of 420-700 (5 groups; now 6), 17 graded shards of 90-440, parallel
# grading 535, feedback on submit 300, replay 146, order independence 101+, e2e 135, recorded
# examples 83, class report 67+, fairness 160, scaffold 145.
LONGEST_FIRST = ("test_integrity_catalog.py", "test_grading.py", "test_parallel_grading.py",
                 "test_jupyterhub_feedback_on_submit.py", "test_fairness.py", "test_example_replay.py",
                 "test_order_independence.py", "test_scaffold.py", "test_jupyterhub_e2e.py",
                 "test_recorded_examples.py", "test_class_report.py",
                 "test_gradebook_concurrency.py", "test_notebooks_execute.py",
                 "test_jupyterhub_browser.py", "test_zygote.py", "test_release_fresh.py",
                 "test_student_validate.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each module keeps its order


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Where every tool must be present (CI sets TESTS_REQUIRE_EVERY_TOOL=1), a test that
    skips for a missing tool (root, chromium, node, PostgreSQL...) fails, saying what was missing."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("TESTS_REQUIRE_EVERY_TOOL") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but TESTS_REQUIRE_EVERY_TOOL=1 asks for every tool: {reason}"
