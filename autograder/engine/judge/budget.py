"""One notebook's grading budget: CPU and wall time across all its calls (runs in the judge).

Each call has its own limits, but a submission whose every call is legal and slow (just under
those limits) would otherwise hold a grader for as long as the judge's own timeout. So the
judge counts, per notebook, the wall time of every call and of every run of the answer cells
(less the time the worker waited for a CPU, as the calls' own deadlines do, see cpu_wait.py),
and the CPU time of the worker's processes, and once either reaches its limit
(``Limits.notebook_cpu_seconds``, ``Limits.notebook_wall_seconds``) every further call fails at
once (``StudentProcess.request``) with ``message()``, so the remaining properties fail and the
notebook finishes quickly.

The CPU is read by the judge from ``/proc/<pid>/stat`` of the worker's process tree (its own
time and that of the children it reaped), never taken from what the worker reports, which is
the student's to forge. Reading the known processes costs tens of microseconds a call; the
tree is looked up again in ``/proc`` at most once a second, so a process that starts and ends
between two looks is counted only through its parent's count of reaped children. Where
``/proc`` cannot be read, the wall-time budget still holds.
"""
from __future__ import annotations

import os
import time

from autograder.engine.judge import cpu_wait

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
RESCAN_SECONDS = 1.0  # how often the worker's whole process tree is looked up again
SAMPLE_SECONDS = 0.1  # how often calls' run-queue waits and the worker's CPU are read


def _read_stat(pid: int) -> tuple[int, float, int] | None:
    """(its start time, its CPU seconds with its reaped children's, its parent) from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2:].split()  # the command name may hold spaces or ")"
    try:
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
        return int(fields[19]), ticks / _TICK, int(fields[1])
    except (IndexError, ValueError):
        return None


class NotebookBudget:
    """What one notebook's grading has spent of its budget, as the judge counts it."""

    def __init__(self, cpu_seconds: float, wall_seconds: float):
        self.cpu_seconds, self.wall_seconds = cpu_seconds, wall_seconds
        self.wall = 0.0           # seconds of calls and of runs of the answer cells
        self.cpu_ended = 0.0      # CPU of the processes of earlier workers (restarts after a crash)
        self._root: int | None = None
        self._seen: dict[tuple[int, int], tuple[float, int]] = {}  # (pid, start) -> (CPU, parent)
        self._known: list[int] = []
        self._scanned = float("-inf")
        self.pending = 0.0        # wall time of calls since the last sample (account_call)
        self._sampled, self._waited, self._wait_pid = float("-inf"), None, None

    @property
    def cpu(self) -> float:
        return self.cpu_ended + sum(cpu for cpu, _ in self._seen.values())

    def spent(self) -> bool:
        return self.wall + self.pending >= self.wall_seconds or self.cpu >= self.cpu_seconds

    def wall_left(self) -> float:
        return max(self.wall_seconds - self.wall - self.pending, 0.0)

    def wall_ran_out(self) -> None:
        """A deadline set to ``wall_left()`` fired: the budget is spent. The deadline and
        ``add_wall`` discount the time spent waiting for a CPU each in their own way (all the
        worker's threads, against the main thread's, at most three quarters), so the count may
        fall a little short of the limit; the student must read that the budget ran out, not
        that their call looped."""
        self.wall, self.pending = max(self.wall + self.pending, self.wall_seconds), 0.0

    def cpu_left(self) -> float:
        return max(self.cpu_seconds - self.cpu, 0.0)

    def message(self) -> str:
        return (f"this notebook's grading budget ({self.cpu_seconds:g} CPU-seconds / {self.wall_seconds:g} "
                f"seconds across all calls of your code) ran out, so this property could not be checked; "
                f"your code used {self.cpu:.1f} CPU-seconds and {self.wall:.1f} seconds before it stopped")

    def account_call(self, seconds: float, pid: int | None) -> None:
        """A call of ``seconds`` by the worker ``pid``, counted at most every SAMPLE_SECONDS in
        ``/proc`` (a notebook makes hundreds of calls of a millisecond: reading their run-queue
        waits and CPU each time cost the judge a quarter more CPU); until then its wall time
        waits in ``pending`` and counts towards ``spent()`` all the same."""
        self.pending += seconds
        now = time.monotonic()
        if now - self._sampled < SAMPLE_SECONDS and pid == self._wait_pid:
            return
        waited = self.run_queue_wait(pid)
        before = self._waited if pid == self._wait_pid else None
        self.add_wall(self.pending, waited - before if None not in (waited, before) else None)
        self.pending, self._sampled, self._waited, self._wait_pid = 0.0, now, waited, pid
        self.look(pid)

    def add_wall(self, seconds: float, waited: float | None = None) -> None:
        """``seconds`` of a call or cell run, less ``waited``, the time the worker waited for
        a CPU meanwhile (a busy machine must not spend a notebook's budget), at most three
        quarters of it (so that a submission cannot make its own code wait without bound)."""
        discount = min(max(waited or 0.0, 0.0), 0.75 * seconds)
        self.wall += max(seconds - discount, 0.0)

    @staticmethod
    def run_queue_wait(pid: int | None) -> float | None:
        """Seconds the main thread of ``pid`` has waited on the run queue (None: unreadable)."""
        if not pid:
            return None
        try:
            with open(f"/proc/{pid}/schedstat") as schedstat:
                return int(schedstat.read().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

    def ended(self, cpu: float) -> None:
        """The current worker has ended and ``cpu`` is its CPU, itself and every process it
        started, as its zygote (which never runs student code) counted them on reaping it."""
        self.cpu_ended += max(sum(seen for seen, _ in self._seen.values()), cpu)
        self._seen, self._known, self._root = {}, [], None

    def look(self, root: int | None) -> None:
        """Count the CPU of the worker whose process (as the judge sees it) is ``root``, and
        of every process below it, up to now."""
        if root != self._root:  # a new worker: what the last one's processes used stays counted
            self.cpu_ended = self.cpu
            self._seen, self._known, self._root = {}, [root] if root else [], root
            self._scanned = float("-inf")
        if not root:
            return
        now = time.monotonic()
        if now - self._scanned >= RESCAN_SECONDS:
            self._known, self._scanned = cpu_wait.process_tree(root), now
        current: dict[tuple[int, int], tuple[float, int]] = {}
        alive = []
        for pid in self._known:
            stat = _read_stat(pid)
            if stat is not None:
                start, cpu, parent = stat
                current[(pid, start)] = (cpu, parent)
                alive.append(pid)
        self._known = alive
        pids = {pid for pid, _ in current}
        for key, (cpu, parent) in list(self._seen.items()):
            if key not in current and parent in pids:
                # Gone while its parent lives: reaped, so the parent's count of its children holds it.
                del self._seen[key]
        for key, (cpu, parent) in current.items():
            before = self._seen.get(key, (0.0, parent))[0]
            self._seen[key] = (max(cpu, before), parent)
