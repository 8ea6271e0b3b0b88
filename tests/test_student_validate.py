"""What a student sees with nbgrader's Validate button (its Python API, since the
command exits 0 either way): the released notebook fails its visible checks until
it is answered, and our answers pass them."""
import nbformat
import pytest
from nbgrader.validator import Validator

from autograder.simulated_class import Case, build_submission
from instructor.paths import ROOT, notebook_of


def validate(nb, tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = tmp_path / "notebook.ipynb"
    nbformat.write(nb, str(path))
    return Validator().validate(str(path))


@pytest.fixture
def notebooks():
    assignment = "01_normalization"
    source = nbformat.read(notebook_of(assignment), as_version=4)
    release = nbformat.read(ROOT / "release" / assignment / notebook_of(assignment).name, as_version=4)
    return source, release


def test_answered_notebook_passes_validation(notebooks, tmp_path, monkeypatch, mnist_dir):
    source, release = notebooks
    answered = build_submission(Case("solution", "our answers"), source, release)
    assert validate(answered, tmp_path, monkeypatch, mnist_dir) == {}


def test_released_notebook_fails_validation(notebooks, tmp_path, monkeypatch, mnist_dir):
    _, release = notebooks
    results = validate(release, tmp_path, monkeypatch, mnist_dir)
    assert results.get("failed"), results
