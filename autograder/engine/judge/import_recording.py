"""Records what an assignment's workers import ahead (``shared/worker_imports.py``): at the end
of grading our solution with ``--record-examples``, the modules its worker holds that a worker
does not import at its start, cut down to those whose import brings in the rest.

Run by the judge for instructor.record_examples only, on our solution's worker; what the
worker says is checked to be module names, and which of them to import is decided by a fresh
interpreter outside the sandbox that imports what a zygote imports and then the names in turn
from the last to finish importing (the outermost: ``torch.fx.experimental.symbolic_shapes``,
which imports sympy) to the first; one already imported by an earlier one is left out.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.engine.judge.student_proxy import Student, StudentProcess
from autograder.engine.shared import worker_imports

# Run as ``python -s -P -c`` (as the zygote runs) with the worker's module names on stdin;
# writes the names it had to import, in order, to the file named by argv[1].
_FIRST_IMPORTS = """
import importlib, json, sys
from autograder.engine.worker.zygote import import_worker_modules
import_worker_modules()
needed = []
for name in reversed(json.load(sys.stdin)):  # a module enters sys.modules again when its import ends
    if name in sys.modules:
        continue
    try:
        importlib.import_module(name)
    except Exception:
        continue
    needed.append(name)
with open(sys.argv[1], "w") as out:
    json.dump(needed, out)
"""


def first_imports(modules: list[str], course_root: Path, timeout: float = 300.0) -> list[str]:
    """Of ``modules`` (a worker's ``sys.modules``, in its order), those a fresh worker would
    have to import to hold them all."""
    with tempfile.TemporaryDirectory(prefix="worker-imports-") as work:
        out = Path(work) / "needed.json"
        env = dict(os.environ, PYTHONPATH=str(course_root))
        run = subprocess.run([sys.executable, "-s", "-P", "-c", _FIRST_IMPORTS, str(out)],
                             input=json.dumps(modules), capture_output=True, text=True, cwd=work, env=env,
                             timeout=timeout)
        if run.returncode != 0 or not out.exists():
            raise RuntimeError(f"could not find the worker's imports: {run.stderr[-2000:]}")
        return json.loads(out.read_text())


def record(process: StudentProcess, folders: list[Path], course_root: Path) -> None:
    """Write worker_imports.txt into each of ``folders`` (the hidden tests of one assignment)
    from what ``process``'s worker, which graded our solution, has imported."""
    if not process.running:  # our solution's worker does not end before the run does
        return
    modules = Student(process).eval("list(__import__('sys').modules)", label="the worker's modules")
    if not isinstance(modules, list):
        raise RuntimeError(f"the worker's modules came back as {type(modules).__name__}")
    needed = first_imports([name for name in modules if worker_imports.is_module_name(name)], course_root)
    for folder in folders:
        worker_imports.write(folder, needed)
