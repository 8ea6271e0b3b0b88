"""Deleted check cells put back (autograder/engine/nbgrader_side/restore_cells.py), on a
gradebook's record of the source notebook, without nbgrader's whole pipeline."""
from types import SimpleNamespace

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import cell_conventions
from autograder.engine.nbgrader_side.restore_cells import RestoreCells


def source_cell(name, source, cell_type="code"):
    return SimpleNamespace(name=name, source=source, cell_type=cell_type, locked=True, checksum="x")


SOURCE = [source_cell("intro", "# Exercise", "markdown"), source_cell("answer", "def f(x):\n    return x"),
          source_cell("check_a", "assert f(1) == 1"), source_cell("check_b", "assert f(2) == 2"),
          source_cell("task", "Explain.", "markdown")]


class FakeGradebook:
    def find_notebook(self, notebook_id, assignment_id):
        return SimpleNamespace(
            source_cells=SOURCE,
            grade_cells=[SimpleNamespace(name=n, max_score=1) for n in ("answer", "check_a", "check_b")],
            solution_cells=[SimpleNamespace(name="answer")],
            task_cells=[SimpleNamespace(name="task", max_score=2)])


def cell(kind, grade_id, source):
    made = (new_code_cell if kind == "code" else new_markdown_cell)(source)
    made.metadata["nbgrader"] = {"grade_id": grade_id}
    return made


def restore(cells):
    restorer = RestoreCells()
    restorer.gradebook, restorer.notebook_id, restorer.assignment_id = FakeGradebook(), "nb", "a1"
    nb = new_notebook(cells=cells)
    for step in (restorer.add_missing_grade_cells, restorer.add_missing_task_cells):
        nb, _ = step(nb, {})
    return [cell_conventions.grade_id(c) for c in nb.cells], nb


def test_a_deleted_check_cell_is_put_back_after_its_neighbour():
    ids, nb = restore([cell("markdown", "intro", "# Exercise"), cell("code", "answer", "def f(x): return x"),
                       cell("code", "check_b", "assert f(2) == 2"), cell("markdown", "task", "Explained.")])
    assert ids == ["intro", "answer", "check_a", "check_b", "task"]
    restored = nb.cells[2]
    assert "assert f(1) == 1" in restored.source and cell_conventions.is_check(restored)
    assert cell_conventions.points(restored) == 1 and restored.metadata["editable"] is False


def test_a_check_cell_deleted_with_its_answer_cell_goes_after_the_nearest_earlier_cell():
    """nbgrader 0.9.6 fails with a KeyError here, scoring the whole notebook 0."""
    ids, _ = restore([cell("markdown", "intro", "# Exercise"), cell("markdown", "task", "Explained.")])
    assert ids == ["intro", "answer", "check_a", "check_b", "task"]
    assert restore([])[0] == ["answer", "check_a", "check_b", "task"]  # nothing left: first, in order


def test_a_deleted_task_cell_is_added_at_the_end():
    ids, nb = restore([cell("markdown", "intro", "# Exercise"), cell("code", "answer", "def f(x): return x"),
                       cell("code", "check_a", "assert f(1) == 1"), cell("code", "check_b", "assert f(2) == 2")])
    assert ids == ["intro", "answer", "check_a", "check_b", "task"]
    assert cell_conventions.nbgrader_metadata(nb.cells[-1])["task"] is True


def test_a_duplicate_cell_stripped_of_its_grade_id_does_not_reject_the_notebook(monkeypatch):
    """DeduplicateIds leaves a duplicated cell an empty nbgrader dict; it is dropped before the
    metadata check, which would take it for an old format."""
    duplicate = new_code_cell("x = 1")
    duplicate.metadata["nbgrader"] = {}
    seen = []
    monkeypatch.setattr("nbgrader.preprocessors.OverwriteCells.preprocess",
                        lambda self, nb, resources: seen.append([dict(c.metadata) for c in nb.cells]) or (nb, resources))
    RestoreCells().preprocess(new_notebook(cells=[duplicate]), {})
    assert seen == [[{}]]
