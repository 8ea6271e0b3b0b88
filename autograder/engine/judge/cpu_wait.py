"""Deadlines that do not count the time a worker waited for a CPU (runs in the judge).

A call's wall-clock limit stops a student's code that sleeps or spins forever. On a busy
machine (a class graded on every core, CI running tests in parallel) a correct call can
spend most of its wall time runnable but not running, and a plain wall-clock limit would
then fail it on one run and pass it on the next: a grade that depends on the load. So a
deadline here is extended by the time the worker's processes spent waiting on the kernel's
run queue (``/proc/<pid>/task/<tid>/schedstat``, second field), which is what load costs
and what sleeping does not. The extension is capped (``max_extension`` times the limit), so
a student who starts busy processes to make its own code wait cannot stretch a call without
bound; each process's CPU-time limit still holds as well.

Where ``/proc`` cannot be read (another kernel, ``hidepid``) the deadline is plain wall clock.
"""
from __future__ import annotations

import os
import time


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                text = stat.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces or ")": fields follow the last ")".
        fields = text[text.rfind(b")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    return children


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children, tree, stack = _children_by_parent(), [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def threads_of(pids) -> list[tuple[int, int]]:
    """The (pid, tid) of every thread of the processes ``pids``, as they are now."""
    threads = []
    for pid in pids:
        try:
            threads.extend((pid, int(tid)) for tid in os.listdir(f"/proc/{pid}/task"))
        except (OSError, ValueError):
            continue
    return threads


def _read_small(path: str) -> bytes:
    # os.open and one read: a text file object costs more than the read itself, and a deadline
    # reads these files for every call a notebook makes.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 256)
    finally:
        os.close(fd)


def thread_waits(threads) -> dict[tuple[int, int], float]:
    """Seconds each thread ``(pid, tid)`` has spent runnable but not running; threads that
    have ended are left out."""
    waits = {}
    for pid, tid in threads:
        try:
            waits[(pid, tid)] = int(_read_small(f"/proc/{pid}/task/{tid}/schedstat").split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return waits


def run_queue_waits(pids) -> dict[tuple[int, int], float]:
    """Seconds each thread of the processes ``pids`` has spent runnable but not running,
    keyed by (pid, tid)."""
    return thread_waits(threads_of(pids))


class LoadAwareDeadline:
    """``seconds`` of wall clock from now, plus the longest time any one thread of the
    process tree under ``root`` has since waited for a CPU (at most ``max_extension`` times
    ``seconds`` more). ``known`` are the tree's threads as last seen, (pid, tid): reading their
    counters now is cheap (microseconds), where the whole tree is looked up in ``/proc`` only
    once the limit is reached (a thread not known now counts from its start: at worst a
    longer deadline, within the cap). ``remaining()`` is what ``wire`` waits with."""

    def __init__(self, seconds: float, root: int | None, known=(), max_extension: float = 3.0):
        self.seconds, self.root = seconds, root
        self.start = time.monotonic()
        self.limit = self.start + seconds
        self.cap = self.start + seconds * (1 + max_extension)
        self.baseline = thread_waits(known)

    def waited(self) -> float:
        """The longest run-queue wait of one thread since this deadline was set."""
        if not self.root:
            return 0.0
        now = run_queue_waits(process_tree(self.root))
        return max((wait - self.baseline.get(key, 0.0) for key, wait in now.items()), default=0.0)

    def remaining(self) -> float:
        remaining = self.limit - time.monotonic()
        if remaining > 0:
            return remaining
        # The limit is reached: move it by the CPU wait seen so far, then look again when it is
        # reached once more (the wait keeps growing while the machine stays busy).
        self.limit = min(self.start + self.seconds + self.waited(), self.cap)
        return self.limit - time.monotonic()
