"""release/ and solutions/ are generated from source/: they must not be stale, and the
solutions carry the outputs of a run without errors (see instructor/release.py for why
the outputs are checked through the hash of what was executed, not re-executed)."""
import json

import nbformat
import pytest

from instructor import release
from instructor.paths import ROOT, assignments


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    dest = tmp_path_factory.mktemp("regenerated")
    release.build(dest, execute_solutions=False)
    return dest


def notebooks(root, kind, assignment):
    return sorted((root / kind / assignment).rglob("*.ipynb"))


def stale(kind, assignment):
    return f"{kind}/{assignment} is stale: run `python -m instructor.release {assignment}`"


@pytest.mark.parametrize("assignment", assignments())
def test_committed_release_matches_a_fresh_generation(regenerated, assignment):
    fresh, committed = notebooks(regenerated, "release", assignment), notebooks(ROOT, "release", assignment)
    assert [p.name for p in fresh] == [p.name for p in committed], stale("release", assignment)
    for new, old in zip(fresh, committed):
        assert json.loads(new.read_text()) == json.loads(old.read_text()), stale("release", assignment)


@pytest.mark.parametrize("assignment", assignments())
def test_committed_solutions_were_executed_from_the_current_source(regenerated, assignment):
    fresh, committed = notebooks(regenerated, "solutions", assignment), notebooks(ROOT, "solutions", assignment)
    assert [p.name for p in fresh] == [p.name for p in committed], stale("solutions", assignment)
    for new, old in zip(fresh, committed):
        expected = nbformat.read(new, as_version=4)
        executed = nbformat.read(old, as_version=4)
        assert release.unexecuted(executed) == expected, f"{stale('solutions', assignment)} (sources or metadata differ)"
        assert release.recorded_hash(executed) == release.notebook_hash(expected), (
            f"{stale('solutions', assignment)} (its outputs come from another source, or it was never executed)")


@pytest.mark.parametrize("assignment", assignments())
def test_committed_solutions_show_every_output_and_no_error(assignment):
    for path in notebooks(ROOT, "solutions", assignment):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        not_run = [i for i, c in enumerate(nb.cells)
                   if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
        assert not not_run, f"{path.relative_to(ROOT)}: cells {not_run} were never executed"
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.relative_to(ROOT)}: a cell shows {errors[0].ename}: {errors[0].evalue}"
        assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), (
            f"{path.relative_to(ROOT)} shows no picture: were the solutions executed with the inline backend?")


def test_solutions_have_no_markers_and_release_no_solutions():
    for path in (ROOT / "solutions").rglob("*.ipynb"):
        assert "BEGIN SOLUTION" not in path.read_text()
    for path in (ROOT / "release").rglob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
