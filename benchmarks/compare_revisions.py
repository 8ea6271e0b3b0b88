"""One notebook's grading CPU at two revisions of the course, runs alternated, in one run.

    python benchmarks/compare_revisions.py REV [ASSIGNMENT ...] [--runs 3]

The CPU this machine gives the same work moves by a tenth or more from run to run (docs/performance.md,
"the fixed and the marginal cost"), so a change of that size shows only against the code before
it, measured beside it: this checks REV out into a temporary git worktree (sharing this
checkout's virtual environment), then runs ``benchmarks/grading_profile.py`` for each assignment
at REV and here in turn (which goes first alternates), ``--runs`` times, and prints, per run and
as medians with their ratio,
what a replayed notebook of our solution costs (every later notebook of a grading process):
the judge's CPU, the worker's per call and in all, and the notebook's (judge and worker).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("judge", "worker ms/call", "worker", "notebook")


def replayed_row(checkout: Path, assignment: str) -> dict[str, float]:
    """grading_profile's replayed line for ``assignment``, as run in ``checkout``."""
    out = subprocess.run([sys.executable, "benchmarks/grading_profile.py", assignment], cwd=checkout,
                         capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == [assignment]]
    if len(rows) < 2:
        raise RuntimeError(f"grading_profile at {checkout} printed no replayed line for {assignment}:\n{out}")
    row = rows[1]  # drawn first, then replayed
    return {"judge": float(row[4]), "worker ms/call": float(row[-3]), "worker": float(row[-2]),
            "notebook": float(row[-1])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the code to compare against (a commit, branch or tag)")
    parser.add_argument("assignment", nargs="*", default=["05_softmax_cross_entropy"])
    parser.add_argument("--runs", type=int, default=3, help="runs of each revision, alternated")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="compare-revisions-") as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.revision], cwd=ROOT, check=True)
        try:
            venv = ROOT / ".venv"
            if venv.exists():
                (before / ".venv").symlink_to(venv)
            for assignment in args.assignment:
                runs: dict[str, list[dict]] = {"before": [], "now": []}
                for run in range(args.runs):
                    pair = (("before", before), ("now", ROOT))
                    for label, checkout in pair if run % 2 == 0 else pair[::-1]:  # neither always goes first
                        row = replayed_row(checkout, assignment)
                        runs[label].append(row)
                        print(f"{assignment} run {run + 1} {label:>6}: " +
                              "  ".join(f"{field} {row[field]:.2f}" for field in FIELDS), flush=True)
                medians = {label: {f: statistics.median(r[f] for r in rows) for f in FIELDS}
                           for label, rows in runs.items()}
                print(f"{assignment} medians of {args.runs} (before -> now, ratio): " + "  ".join(
                    f"{f} {medians['before'][f]:.2f} -> {medians['now'][f]:.2f} "
                    f"({medians['now'][f] / medians['before'][f]:.2f})" for f in FIELDS))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
