"""Generate ``release/`` (student notebooks) and ``solutions/`` from ``source/``.

``source/`` is the single source of truth; both outputs are committed and a test
fails when they are stale. Generation runs in a scratch copy of the course so the
instructor's own gradebook is never touched.

``solutions/`` is what students get after the deadline: our answers, executed top to
bottom in a real kernel (``instructor.execute``: inline pictures, fixed seeds), so
every picture and printed result is there to compare with. Executing is the slow
part (06 trains a network), so the freshness test does not re-execute. Instead each
executed notebook records in its metadata (``SOURCE_HASH_KEY``) the SHA-256 of the
unexecuted notebook it was executed from, and everything but the outputs is kept
exactly as in that unexecuted notebook (execution's own notebook metadata, such as
the kernel's Python version, is dropped). The test regenerates the unexecuted
notebook, which takes no kernel, and checks three things: with outputs and execution
counts removed, the committed notebook equals it (sources and metadata exactly); the
recorded hash is its hash, so the outputs came from this very source and not from an
older one; and every code cell ran, none with an error. Outputs themselves are not
compared: the last digits of a training loss or the bytes of a PNG may differ from
one machine (or BLAS, or thread count) to another, while on one machine the seeds
make a regeneration print the same numbers.

    python -m instructor.release [ASSIGNMENT ...] [--no-execute]

Then it records the hidden tests' examples (``instructor.record_examples``).
"""
from __future__ import annotations

import copy
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograder.cell_conventions import solution_source
from autograder.engine.nbgrader_side.judge_client import stop_all
from instructor import record_examples
from instructor.execute import execute
from instructor.nbgrader_cli import generate, make_course
from instructor.paths import ROOT, assignments, notebook_of

SOURCE_HASH_KEY = "executed_from_sha256"  # in the notebook metadata's "solutions" entry


class ExecutionFailed(RuntimeError):
    pass


def solution_notebook(source_nb):
    """The solved notebook students get after the deadline, before it is executed: our
    answers (written answers included), no markers, no outputs, no grading metadata."""
    nb = nbformat.from_dict(copy.deepcopy(source_nb))
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("deletable", None)
        cell.metadata.pop("editable", None)
        if cell.cell_type == "code":
            cell.source = solution_source(cell.source)
            cell.outputs = []
            cell.execution_count = None
    return nb


def notebook_hash(nb) -> str:
    return hashlib.sha256(nbformat.writes(nb).encode()).hexdigest()


def unexecuted(executed_nb):
    """An executed solution notebook as it was before execution: outputs, execution
    counts and the recorded source hash removed."""
    nb = nbformat.from_dict(copy.deepcopy(executed_nb))
    nb.metadata.get("solutions", {}).pop(SOURCE_HASH_KEY, None)
    if "solutions" in nb.metadata and not nb.metadata["solutions"]:
        del nb.metadata["solutions"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def recorded_hash(executed_nb) -> str | None:
    return executed_nb.metadata.get("solutions", {}).get(SOURCE_HASH_KEY)


def executed_solution(nb, name: str):
    """``nb`` executed in a scratch folder, its notebook metadata as before plus the
    hash of what was executed; prints the CPU time (and the slowest cells)."""
    before = copy.deepcopy(nb.metadata)
    source_hash = notebook_hash(nb)
    with tempfile.TemporaryDirectory(prefix="solution-") as workdir:
        execution = execute(nb, Path(workdir))
    tqdm.write(execution.report(name))
    errors = execution.errors()
    if errors:
        raise ExecutionFailed(f"{name}: a cell raised {errors[0].ename}: {errors[0].evalue}")
    nb.metadata = before
    nb.metadata.setdefault("solutions", {})[SOURCE_HASH_KEY] = source_hash
    return nb


def build(dest_root: Path, which: list[str] | None = None, execute_solutions: bool = True) -> None:
    """Write ``release/`` and ``solutions/`` for ``which`` assignments under ``dest_root``;
    the solutions executed unless ``execute_solutions`` is False (the freshness test)."""
    which = which or assignments()
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp) / "course")
        every_assignment = set(which) == set(assignments())
        if every_assignment:
            generate(course, "*")  # one nbgrader command: its start is most of one assignment's cost
        for assignment in tqdm(which, desc="release/ and solutions/", unit="assignment", file=sys.stderr):
            if not every_assignment:
                generate(course, assignment)
            source = notebook_of(assignment, course)
            nb = solution_notebook(nbformat.read(source, as_version=4))
            if execute_solutions:  # first, so that a notebook that fails leaves the committed files alone
                nb = executed_solution(nb, assignment)
            for kind in ("release", "solutions"):
                target = dest_root / kind / assignment
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir(parents=True)
            shutil.copytree(course / "release" / assignment, dest_root / "release" / assignment,
                            dirs_exist_ok=True)
            nbformat.write(nb, str(dest_root / "solutions" / assignment / source.name))


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="default: all of source/")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the solutions without executing them (they will fail the freshness test)")
    args = parser.parse_args(argv)
    which = args.assignments or assignments()
    build(ROOT, which, execute_solutions=not args.no_execute)
    print(f"release/ and solutions/ regenerated for {', '.join(which)}")
    try:  # the hidden tests' examples, for grading to replay from its first notebook
        for assignment in which:
            try:
                print(f"{assignment}: examples of {record_examples.record(assignment)} hidden tests recorded")
            except record_examples.RecordingFailed as exc:  # grading draws them instead: slower, same grades
                print(f"examples not recorded: {exc}", file=sys.stderr)
    finally:
        stop_all()


if __name__ == "__main__":
    main()
