"""Every source notebook runs top to bottom with our solutions, teaching cells and
pictures included, on real MNIST: what students read must work."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.simulated_class import solution_source
from instructor.paths import assignments, notebook_of


@pytest.mark.parametrize("assignment", assignments())
def test_source_notebook_executes(assignment, mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(notebook_of(assignment), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = solution_source(cell.source)
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{assignment}: {errors[0].ename}: {errors[0].evalue}"
    if os.environ.get("KEEP_EXECUTED"):
        nbformat.write(nb, str(tmp_path / f"{assignment}.ipynb"))
