"""Every source notebook runs top to bottom with our solutions, teaching cells and
pictures included, on real MNIST, in a real kernel: what students read must work.
Each notebook's CPU time and its slowest cells are printed, so a slow cell shows."""
import os

import nbformat
import pytest

from instructor.execute import execute
from instructor.paths import assignments, notebook_of
from instructor.release import solution_notebook


@pytest.mark.parametrize("assignment", assignments())
def test_source_notebook_executes(assignment, mnist_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    nb = solution_notebook(nbformat.read(notebook_of(assignment), as_version=4))
    execution = execute(nb, tmp_path)
    with capsys.disabled():
        print("\n" + execution.report(assignment))
    errors = execution.errors()
    assert not errors, f"{assignment}: {errors[0].ename}: {errors[0].evalue}"
    if os.environ.get("KEEP_EXECUTED"):
        nbformat.write(nb, str(tmp_path / f"{assignment}.ipynb"))
