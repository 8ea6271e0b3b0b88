"""The fixed and the marginal CPU cost of grading with plain ``nbgrader autograde``, per
assignment, with examples drawn by hypothesis and with examples recorded at release
(``instructor.record_examples``), in one run.

    python benchmarks/bench_fixed_cost.py [ASSIGNMENT ...] [--notebooks 9] [--repeat 1]

For each assignment, one ``nbgrader autograde`` of 1 copy of our solution and one of
``--notebooks`` copies, each a fresh grading process: the marginal cost is the difference
per further notebook, the fixed cost what one notebook costs beyond it (nbgrader's start,
the judge's, the zygote's, and drawing the examples where none are recorded). The same two
gradings with the course's own autograde preprocessors switched off (GradeWithHiddenTests and
FlagInternals: no judge, no zygote, no worker) measure what is nbgrader's: its start, and per
notebook reading, sanitising (RestoreCells is nbgrader's OverwriteCells), its other
preprocessors, the gradebook and writing; "ours" is the rest. The issue's goal for the fixed
cost (the judge's start, the zygote's, the examples) is on ours. CPU is that
of the whole process tree, sandboxed workers and killed processes included: the benchmark
runs its gradings in a cgroup of its own (cgroup v1 ``cpuacct``, as root) and reads its
usage; where it cannot make one, it falls back to the reaped children's rusage and says so.
One ``import torch`` is measured the same way, as the yardstick.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.engine.judge.example_replay import RECORDING_NAME  # noqa: E402
from autograder.simulated_class import load_cases  # noqa: E402
from instructor import nbgrader_cli  # noqa: E402
from instructor.paths import assignments  # noqa: E402
from instructor.record_examples import staleness  # noqa: E402

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class ProcessTreeCpu:
    """CPU-seconds of this process and everything it starts from now on."""

    def __init__(self):
        self.group = None
        if os.geteuid() == 0 and (CPUACCT / "cpuacct.usage").exists():
            group = CPUACCT / f"bench-fixed-cost-{os.getpid()}"
            try:
                group.mkdir(exist_ok=True)
                (group / "tasks").write_text(str(os.getpid()))
                self.group = group
            except OSError:
                self.group = None
        self.how = "cgroup cpuacct (every process, killed ones included)" if self.group else \
            "rusage of reaped children (no cgroup: processes killed rather than reaped are missed)"

    def seconds(self) -> float:
        if self.group:
            return int((self.group / "cpuacct.usage").read_text()) / 1e9
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(u.ru_utime + u.ru_stime for u in usage)

    def close(self) -> None:
        if not self.group:
            return
        (CPUACCT / "tasks").write_text(str(os.getpid()))
        for _ in range(300):  # the last grading's processes may still be exiting
            try:
                self.group.rmdir()
                return
            except OSError:
                time.sleep(0.1)
        print(f"(left {self.group}: processes still in it)", file=sys.stderr)


def measured(cpu: ProcessTreeCpu, run) -> tuple[float, float]:
    start, start_cpu = time.perf_counter(), cpu.seconds()
    run()
    return cpu.seconds() - start_cpu, time.perf_counter() - start


# nbgrader's pipeline alone: the course's own autograde preprocessors off (course_config.py).
NBGRADER_ALONE = ("--GradeWithHiddenTests.enabled=False", "--FlagInternals.enabled=False")


def grade_copies(generated: Path, where: Path, assignment: str, count: int, recorded: bool,
                 cpu: ProcessTreeCpu, options: tuple[str, ...] = ()) -> tuple[float, float]:
    course = nbgrader_cli.copy_course(generated, where)
    recording = course / "autograder" / "hidden" / assignment / RECORDING_NAME
    if not recorded and recording.exists():
        recording.unlink()
    solution = next(c for c in load_cases(assignment) if c.name == "solution")
    cases = [dataclasses.replace(solution, name=f"solution{i}") for i in range(count)]
    nbgrader_cli.submit_class(course, assignment, cases)
    return measured(cpu, lambda: nbgrader_cli.autograde(course, assignment, [c.name for c in cases],
                                                         options=options))


def fixed_and_marginal(generated: Path, where: Path, assignment: str, notebooks: int, recorded: bool,
                       cpu: ProcessTreeCpu, options: tuple[str, ...] = (), repeat: int = 1) -> tuple[float, ...]:
    """(fixed, marginal, CPU of 1 notebook, CPU of ``notebooks``, wall of ``notebooks``), each
    run ``repeat`` times and the least kept (what else the machine does only ever adds CPU)."""
    one = min(grade_copies(generated, where / "one", assignment, 1, recorded, cpu, options)[0]
              for _ in range(repeat))
    many, many_wall = min(grade_copies(generated, where / "many", assignment, notebooks, recorded, cpu, options)
                          for _ in range(repeat))
    marginal = (many - one) / (notebooks - 1)
    return one - marginal, marginal, one, many, many_wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="*", metavar="ASSIGNMENT")
    parser.add_argument("--notebooks", type=int, default=9, help="copies graded by the second process")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each grading; the least CPU is kept")
    args = parser.parse_args(argv)
    which = args.assignment or assignments()
    cpu = ProcessTreeCpu()
    try:
        torch_cpu, _ = measured(cpu, lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True))
        rows = []
        with tempfile.TemporaryDirectory(prefix="bench-fixed-") as tmp:
            generated = nbgrader_cli.make_course(Path(tmp) / "generated")
            nbgrader_cli.generate(generated, "*" if set(which) == set(assignments()) else which[0])
            for assignment in which[1:] if set(which) != set(assignments()) else []:
                nbgrader_cli.generate(generated, assignment)
            for assignment in which:
                stale = staleness(assignment)
                alone = fixed_and_marginal(generated, Path(tmp), assignment, args.notebooks, True, cpu,
                                           NBGRADER_ALONE, args.repeat)
                rows.append((assignment, "nbgrader", *alone, "", None))
                for recorded in (False, True):
                    total = fixed_and_marginal(generated, Path(tmp), assignment, args.notebooks, recorded, cpu,
                                               repeat=args.repeat)
                    rows.append((assignment, "recorded" if recorded else "drawn", *total,
                                 stale if recorded else "", (total[0] - alone[0], total[1] - alone[1])))
    finally:
        cpu.close()
    print(f"\nCPU of the whole process tree, measured by {cpu.how}")
    print(f"one `import torch`: {torch_cpu:.2f} CPU-s; the goal for a grading process's fixed cost: "
          f"{2 * torch_cpu:.2f}\n")
    print("rows: 'nbgrader' is nbgrader's pipeline alone (the course's autograde preprocessors off);\n"
          "'drawn'/'recorded' the whole grading, examples drawn by hypothesis or recorded at release;\n"
          "'ours' what the course's grading adds to nbgrader's: the judge, the zygote, the workers, the\n"
          "examples and the preprocessors' own work (CPU-s; wall of the larger run)\n")
    print(f"{'assignment':26} {'run':9} {'fixed':>7} {'marginal':>9} {'1 nb':>7} "
          f"{str(args.notebooks) + ' nb':>7} {'wall':>6}   {'ours: fixed':>11} {'marginal':>9}")
    for assignment, mode, fixed, marginal, one, many, wall, note, ours in rows:
        print(f"{assignment:26} {mode:9} {fixed:7.2f} {marginal:9.2f} {one:7.2f} {many:7.2f} {wall:6.1f}"
              + (f"   {ours[0]:11.2f} {ours[1]:9.2f}" if ours else "")
              + (f"   recording not used: {note}" if note else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
