"""Call deadlines do not count the time a worker waited for a CPU: a busy machine never
changes a verdict, and a student cannot use the extension to run without bound."""
import contextlib
import multiprocessing
import os
import time

import pytest

from autograder.engine.judge import cpu_wait
from autograder.engine.shared import wire
from autograder.engine.judge import zygotes
from tests.test_student_proxy import student_with
from autograder.engine.judge.student_proxy import Limits, StudentCrashed

CPU = min(os.sched_getaffinity(0))


def _spin_forever():
    while True:
        pass


@contextlib.contextmanager
def crowded_cpu(hogs: int):
    """This process and ``hogs`` busy processes share one CPU, so whatever this process
    starts waits for that CPU most of the time."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CPU})
    zygotes.stop_all()  # an idle zygote started before would fork workers that do not share the CPU
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_spin_forever, daemon=True) for _ in range(hogs)]
    for proc in procs:
        proc.start()
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.join()
        os.sched_setaffinity(0, before)


def test_process_tree_finds_children_and_grandchildren():
    context = multiprocessing.get_context("fork")
    ready = context.Event()

    def parent():
        child = context.Process(target=time.sleep, args=(30,))
        child.start()
        ready.set()
        child.join()

    proc = context.Process(target=parent)
    proc.start()
    try:
        assert ready.wait(10)
        tree = cpu_wait.process_tree(proc.pid)
        assert tree[0] == proc.pid and len(tree) == 2, tree
        assert cpu_wait.process_tree(os.getpid())[:1] == [os.getpid()]
    finally:
        for pid in reversed(cpu_wait.process_tree(proc.pid)):
            os.kill(pid, 9)
        proc.join()


def test_a_sleeping_worker_gets_no_extension():
    context = multiprocessing.get_context("fork")
    proc = context.Process(target=time.sleep, args=(30,))
    proc.start()
    try:
        deadline = cpu_wait.LoadAwareDeadline(0.5, proc.pid, cpu_wait.threads_of([proc.pid]))
        time.sleep(0.6)
        assert deadline.remaining() <= 0 and deadline.waited() < 0.05
    finally:
        proc.kill()
        proc.join()


def test_a_starved_worker_gets_the_time_it_waited_up_to_the_cap():
    with crowded_cpu(hogs=3):
        context = multiprocessing.get_context("fork")
        proc = context.Process(target=_spin_forever)
        proc.start()
        try:
            deadline = cpu_wait.LoadAwareDeadline(1.0, proc.pid, cpu_wait.threads_of([proc.pid]), max_extension=2.0)
            time.sleep(1.2)
            waited = deadline.waited()
            assert waited > 0.3, f"a process sharing one CPU with three others waited only {waited:.2f} s"
            assert deadline.remaining() > 0  # moved by the wait
            while deadline.remaining() > 0:
                time.sleep(0.2)
            spent = time.monotonic() - deadline.start
            assert 1.5 < spent < 3.5, f"the deadline ended after {spent:.1f} s; capped at 3 s"
        finally:
            proc.kill()
            proc.join()


def test_a_correct_call_on_a_crowded_cpu_is_not_failed_for_the_load():
    """The same call, on a CPU shared with three busy processes: it needs about 1.2 s of
    CPU, which is 4-5 s of wall clock, over its 2 s limit; it passes because it waited."""
    work = ("def work():\n    n = 0\n    import time\n    end = time.process_time() + 1.2\n"
            "    while time.process_time() < end:\n        n += 1\n    return 'done'\n"
            "def spin():\n    while True: pass\n")
    limits = Limits(call_seconds=2, cpu_seconds=20, cells_seconds=30, memory_bytes=2 << 30)
    with crowded_cpu(hogs=3):
        process, student = student_with(work, limits=limits)
        try:
            started = time.monotonic()
            assert student.work() == "done"
            assert time.monotonic() - started > 2, "the CPU was not crowded: the test shows nothing"
            started = time.monotonic()
            with pytest.raises(StudentCrashed, match="did not finish within 2 seconds"):
                student.spin()  # an infinite loop still ends, at most 4 times its limit later
            assert time.monotonic() - started < 2 * 4 + 2
        finally:
            process.stop()


def test_a_reader_that_stops_reading_cannot_stall_the_sender():
    read_end, write_end = os.pipe()
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.send(write_end, {"data": "x" * (4 << 20)}, deadline=time.monotonic() + 0.3)
        assert time.monotonic() - started < 5
        assert os.get_blocking(write_end), "the pipe is left as it was found"
    finally:
        os.close(read_end)
        os.close(write_end)
