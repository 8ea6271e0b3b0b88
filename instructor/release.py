"""Generate ``release/`` (student notebooks) and ``solutions/`` from ``source/``.

``source/`` is the single source of truth; both outputs are committed and a test
fails when they are stale. Generation runs in a scratch copy of the course so the
instructor's own gradebook is never touched.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.simulated_class import solution_source
from instructor.grading import generate, make_course
from instructor.paths import ROOT, assignments, notebook_of


def solution_notebook(source_nb):
    """The solved notebook students get after the deadline: our answers, no markers,
    no outputs, no grading metadata."""
    nb = nbformat.from_dict(source_nb)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("deletable", None)
        cell.metadata.pop("editable", None)
        if cell.cell_type == "code":
            cell.source = solution_source(cell.source)
            cell.outputs = []
            cell.execution_count = None
    return nb


def build(dest_root: Path, which: list[str] | None = None) -> None:
    """Write ``release/`` and ``solutions/`` for ``which`` assignments under ``dest_root``."""
    which = which or assignments()
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp) / "course")
        for assignment in which:
            generate(course, assignment)
            for kind in ("release", "solutions"):
                target = dest_root / kind / assignment
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir(parents=True)
            shutil.copytree(course / "release" / assignment, dest_root / "release" / assignment,
                            dirs_exist_ok=True)
            source = notebook_of(assignment, course)
            nb = solution_notebook(nbformat.read(source, as_version=4))
            nbformat.write(nb, str(dest_root / "solutions" / assignment / source.name))


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("assignments", nargs="*", help="default: all of source/")
    args = parser.parse_args(argv)
    build(ROOT, args.assignments or None)
    print(f"release/ and solutions/ regenerated for {', '.join(args.assignments or assignments())}")


if __name__ == "__main__":
    main()
