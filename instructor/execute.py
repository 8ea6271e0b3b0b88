"""Run a notebook top to bottom in a real Jupyter kernel, as a student would, and
measure what each cell costs.

One place for how the course executes notebooks: ``instructor.release`` uses it to
write ``solutions/`` with every output and picture, and the notebooks-execute test
uses it to prove each source notebook runs. The kernel gets:

- matplotlib's inline backend, whatever ``MPLBACKEND`` says outside (tests set Agg,
  which would leave the executed notebooks without their pictures);
- fixed seeds for ``random``, numpy and torch, set by an IPython startup file before
  the first cell, and ``PYTHONHASHSEED=0``, so a notebook that does not seed
  everything itself still prints the same numbers on every run on one machine;
- no cell timing metadata (``record_timing`` off), and the pieces of one cell's
  printed output merged into one, so re-executing changes nothing but what the code
  computes.

The CPU time of each cell is read from the kernel process (and its children) before
and after the cell, so a slow cell is named, not just a slow notebook.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
SEED_STARTUP = """\
# Written by instructor/execute.py: the same random numbers on every execution.
import random as _random
import numpy as _np
import torch as _torch
_random.seed(0)
_np.random.seed(0)
_torch.manual_seed(0)
del _random, _np, _torch
"""


@dataclass
class CellCost:
    index: int
    cpu_seconds: float
    first_line: str


@dataclass
class Execution:
    notebook: nbformat.NotebookNode
    cpu_seconds: float
    wall_seconds: float
    cells: list[CellCost] = field(default_factory=list)

    def errors(self) -> list:
        return error_outputs(self.notebook)

    def report(self, name: str, slowest: int = 3) -> str:
        """One line: total CPU and wall time, and the slowest cells."""
        top = sorted(self.cells, key=lambda c: -c.cpu_seconds)[:slowest]
        cells = ", ".join(f"cell {c.index} {c.cpu_seconds:.1f} s ({c.first_line[:40]!r})" for c in top)
        return (f"{name}: {self.cpu_seconds:.1f} s CPU, {self.wall_seconds:.1f} s wall; "
                f"slowest: {cells or 'none'}")


def coalesce_streams(nb) -> None:
    """Merge consecutive stdout (stderr) outputs of a cell into one: how a print is split
    into messages depends on timing, and the executed notebook must not."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.outputs:
            if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == output.name):
                merged[-1].text += output.text
            else:
                merged.append(output)
        cell.outputs = merged


def error_outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def execute(nb, workdir: Path, timeout: int = 1800, env: dict | None = None) -> Execution:
    """Execute ``nb`` (changed in place) in a fresh python3 kernel started in ``workdir``.

    Errors do not stop the run: every cell executes and error outputs stay in the
    notebook, for the caller to report (``Execution.errors``)."""
    with tempfile.TemporaryDirectory(prefix="ipython-") as ipython_dir:
        startup = Path(ipython_dir, "profile_default", "startup")
        startup.mkdir(parents=True)
        (startup / "00-seeds.py").write_text(SEED_STARTUP)
        kernel_env = dict(os.environ, MPLBACKEND=INLINE_BACKEND, PYTHONHASHSEED="0",
                          IPYTHONDIR=ipython_dir, **(env or {}))
        costs: list[CellCost] = []
        started: dict = {}
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                record_timing=False, resources={"metadata": {"path": str(workdir)}})

        def kernel_process():
            if "process" not in started:
                started["process"] = psutil.Process(client.km.provisioner.process.pid)
            return started["process"]

        def on_cell_start(cell, cell_index):
            started["cpu"] = _cpu_seconds(kernel_process())

        def on_cell_executed(cell, cell_index, execute_reply):
            spent = _cpu_seconds(kernel_process()) - started.pop("cpu", 0.0)
            costs.append(CellCost(cell_index, spent, cell.source.strip().split("\n")[0]))

        client.on_cell_start = on_cell_start
        client.on_cell_executed = on_cell_executed
        wall = time.monotonic()
        client.execute(env=kernel_env)
        wall = time.monotonic() - wall
    coalesce_streams(nb)
    return Execution(nb, sum(c.cpu_seconds for c in costs), wall, costs)
