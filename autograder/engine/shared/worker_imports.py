"""What every worker of one assignment imports before the student's code: the modules torch
imports only on first use that our solution's run needs (``torch.broadcast_shapes`` imports
sympy, 0.4-0.8 CPU-s, and so does a forward pass on the meta device; ``torch.optim``'s classes
would import ``torch._dynamo``, but a worker holds a stand-in for it, ``worker/dynamo_until_needed.py``). Imported by the
zygote once (``worker/zygote.py``), a forked worker finds them imported; without the list,
every notebook's worker would pay them again.

The list is ``autograder/hidden/<id>/worker_imports.txt``, written beside the hidden tests by
``instructor.record_examples`` (the judge's ``judge/import_recording.py``), instructor-only, and
always used where it exists (nbgrader's side reads it into ``Limits.worker_imports``): every
worker of the assignment, forked or fresh, imports the same modules, so a grade never depends
on it, only cost does.
"""
from __future__ import annotations

import re
from pathlib import Path

WORKER_IMPORTS_NAME = "worker_imports.txt"
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_HEADER = ("# Modules every worker of this assignment imports before the student's code, in this order:\n"
           "# those our solution's run imported that a worker does not import at its start.\n"
           "# Written by `python -m instructor.record_examples` (release runs it); not edited by hand.\n")


class WorkerImportsError(ValueError):
    """A worker_imports.txt that holds something other than module names."""


def is_module_name(name: object) -> bool:
    return isinstance(name, str) and _MODULE_NAME.match(name) is not None


def read(folder: str | Path) -> tuple[str, ...]:
    """The module names listed in ``folder``'s worker_imports.txt; none when it is missing."""
    path = Path(folder) / WORKER_IMPORTS_NAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        return ()
    names = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not is_module_name(line):
            raise WorkerImportsError(f"{path}, line {number}: expected a module name (like "
                                     f"torch.fx.experimental.symbolic_shapes), got {line!r}")
        names.append(line)
    return tuple(names)


def write(folder: str | Path, names: list[str]) -> None:
    bad = [name for name in names if not is_module_name(name)]
    if bad:
        raise WorkerImportsError(f"not module names: {bad}")
    path = Path(folder) / WORKER_IMPORTS_NAME
    tmp = path.with_name(f".{WORKER_IMPORTS_NAME}.tmp")
    tmp.write_text(_HEADER + "".join(f"{name}\n" for name in names))
    tmp.replace(path)
