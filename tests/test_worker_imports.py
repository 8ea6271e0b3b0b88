"""What every worker of an assignment imports ahead (shared/worker_imports.py, recorded by
judge/import_recording.py): the list's file, its recording, and workers that hold exactly
their own assignment's list, forked or fresh, whatever a judge graded before."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from autograder.engine.judge import zygotes
from autograder.engine.judge.import_recording import first_imports
from autograder.engine.judge.student_proxy import Cell, Student, StudentProcess
from autograder.engine.shared import worker_imports
from autograder.engine.shared.limits import Limits, LimitsError
from instructor.paths import HIDDEN_TESTS, ROOT, assignments

# Modules no worker imports at its start (the test below checks it).
AHEAD = ("colorsys", "xml.dom.minidom")
HELD = "import sys\ndef held():\n    return [name for name in NAMES if name in sys.modules]\n".replace(
    "NAMES", repr(AHEAD + ("xml", "xml.dom")))


def test_the_list_is_read_as_written_and_a_missing_one_is_empty(tmp_path):
    assert worker_imports.read(tmp_path) == ()
    worker_imports.write(tmp_path, ["torch.fx.experimental.symbolic_shapes", "colorsys"])
    text = (tmp_path / worker_imports.WORKER_IMPORTS_NAME).read_text()
    assert text.startswith("#")  # says what it is and what writes it
    assert worker_imports.read(tmp_path) == ("torch.fx.experimental.symbolic_shapes", "colorsys")


@pytest.mark.parametrize("line", ["os; import shutil", "../evil", "torch.", "1abc", "a b"])
def test_a_line_that_is_not_a_module_name_is_refused_with_its_line(tmp_path, line):
    (tmp_path / worker_imports.WORKER_IMPORTS_NAME).write_text(f"# a comment\n\ncolorsys\n{line}\n")
    with pytest.raises(worker_imports.WorkerImportsError, match=r"line 4: expected a module name"):
        worker_imports.read(tmp_path)
    with pytest.raises(worker_imports.WorkerImportsError):
        worker_imports.write(tmp_path, ["colorsys", line])


def test_course_config_cannot_set_the_list():
    with pytest.raises(LimitsError, match="worker_imports.txt"):
        Limits.from_overrides({"worker_imports": ["colorsys"]})


@pytest.mark.parametrize("assignment", assignments())
def test_every_assignment_has_its_list_recorded(assignment):
    """Regenerate with ``python -m instructor.record_examples <id>`` (release does it)."""
    assert (HIDDEN_TESTS / assignment / worker_imports.WORKER_IMPORTS_NAME).exists()
    worker_imports.read(HIDDEN_TESTS / assignment)  # module names only


def test_first_imports_are_the_outermost_modules_a_worker_imported():
    """Of a worker's modules, those whose import brings in all the others: here what importing
    xml.dom.minidom and colorsys after a worker's start leaves in sys.modules."""
    run = subprocess.run(
        [sys.executable, "-s", "-P", "-c",
         "import json, sys\nfrom autograder.engine.worker.zygote import import_worker_modules\n"
         "import_worker_modules()\nstart = set(sys.modules)\n"
         f"assert not start & {set(AHEAD)!r}, 'a worker imports these at its start'\n"
         "import xml.dom.minidom, colorsys\nprint(json.dumps(list(sys.modules)))"],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    modules = json.loads(run.stdout)
    assert first_imports(modules, ROOT) == ["colorsys", "xml.dom.minidom"]


def _held(imports: tuple, forked: bool = True) -> tuple[list[str], bool]:
    process = StudentProcess([Cell("answer", HELD)], Limits(worker_imports=imports, forked_workers=forked))
    try:
        return Student(process).call("held"), process.zygote is not None
    finally:
        process.stop()


def test_a_worker_holds_its_own_assignment_s_imports_and_no_other_s():
    """A judge grading two assignments in turn: each worker holds what its own list names
    (the zygote imported it), never what a zygote built for another list imported."""
    try:
        assert _held(("colorsys", "no_such_module_anywhere")) == (["colorsys"], True)  # a failed import is skipped
        assert _held(("xml.dom.minidom",)) == (["xml.dom.minidom", "xml", "xml.dom"], True)
        assert _held(()) == ([], True)
        assert _held(("colorsys", "no_such_module_anywhere")) == (["colorsys"], True)
        assert _held(("colorsys",), forked=False) == (["colorsys"], False)  # a fresh sandbox imports it too
    finally:
        zygotes.stop_all()


def test_recording_our_solution_writes_the_committed_list(tmp_path):
    """What instructor.record_examples does, in a copy of the course: the list it writes for 04
    (whose solution calls torch.broadcast_shapes, which imports sympy) is the committed one."""
    import nbformat

    from autograder.engine.nbgrader_side.judge_client import stop_all
    from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, program_cells
    from instructor.nbgrader_cli import make_course
    from instructor.paths import notebook_of

    assignment = "04_matmul"
    course = make_course(tmp_path / "course")
    listed = course / "autograder" / "hidden" / assignment / worker_imports.WORKER_IMPORTS_NAME
    listed.unlink()
    source_nb = nbformat.read(notebook_of(assignment, course), as_version=4)
    grader = GradeWithHiddenTests.configured(str(course), record_examples=True)
    try:
        results = grader.run_hidden_tests(str(listed.parent), program_cells(source_nb, source_nb),
                                          grader.sandbox_or_refuse())
    finally:
        stop_all()
    assert all(r["passed"] for r in results["tests"])
    assert "torch.fx.experimental.symbolic_shapes" in worker_imports.read(listed.parent)
    assert worker_imports.read(listed.parent) == worker_imports.read(HIDDEN_TESTS / assignment)
