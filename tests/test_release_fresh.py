"""release/ and solutions/ are generated from source/: they must not be stale."""
import json

import pytest

from instructor import release
from instructor.paths import ROOT, assignments


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    dest = tmp_path_factory.mktemp("regenerated")
    release.build(dest)
    return dest


@pytest.mark.parametrize("kind", ["release", "solutions"])
@pytest.mark.parametrize("assignment", assignments())
def test_committed_notebooks_match_a_fresh_generation(regenerated, kind, assignment):
    fresh = sorted((regenerated / kind / assignment).rglob("*.ipynb"))
    committed = sorted((ROOT / kind / assignment).rglob("*.ipynb"))
    assert [p.name for p in fresh] == [p.name for p in committed], (
        f"{kind}/{assignment} is stale: run `python -m instructor.release {assignment}`")
    for new, old in zip(fresh, committed):
        assert json.loads(new.read_text()) == json.loads(old.read_text()), (
            f"{old.relative_to(ROOT)} is stale: run `python -m instructor.release {assignment}`")


def test_solutions_have_no_markers_and_release_no_solutions():
    for path in (ROOT / "solutions").rglob("*.ipynb"):
        assert "BEGIN SOLUTION" not in path.read_text()
    for path in (ROOT / "release").rglob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text
