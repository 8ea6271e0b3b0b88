"""Run by tests/test_zygote.py as root and as a plain grading user: grades successive
workers forked from one real zygote the way the judge does, has the first leave behind
everything it can, the next ones look for it and attack the zygote, and prints what they
saw (JSON). Usage: python -m tests.zygote_probe"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import time

from autograder.engine.judge import cpu_wait
from autograder.engine.judge.student_proxy import Cell, Limits, Student, StudentCrashed, StudentProcess
from tests.sandbox_probe import surviving

STUDENT = r'''
import ctypes, json, os, signal, sys, time, torch

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, SHM_KEY = 0o1000, 0x5EED

def _try(fn):
    try:
        return fn()
    except Exception as exc:
        return type(exc).__name__

def fds():
    """This process's open files: number -> what it is (pipe:[inode], socket:[inode], a path)."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the folder listdir had open
    return found

def leave_behind(marker):
    """Everything a worker can leave for the next one: files (one in a folder it then
    closes with mode 000), a process that detaches twice, SysV shared memory, and changes to
    torch's state and functions."""
    for top in ("/tmp", "/dev/shm"):
        open(f"{top}/{marker}", "w").write("left by an earlier worker")
        os.makedirs(f"{top}/locked/deeper")
        open(f"{top}/locked/deeper/{marker}", "w").write("left by an earlier worker")
        os.chmod(f"{top}/locked/deeper", 0)
        os.chmod(f"{top}/locked", 0)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", f"import time; time.sleep(120)  # {marker}"])
        os._exit(0)
    segment = libc.shmget(SHM_KEY, 4096, IPC_CREAT | 0o600)
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(3)
    torch.allclose = lambda *args, **kwargs: True
    torch.planted_by_an_earlier_worker = True
    time.sleep(0.5)
    return {"shm_segment": segment, "fds": fds(), "tmp": sorted(os.listdir("/tmp")),
            "shm": sorted(os.listdir("/dev/shm"))}

def look():
    zygote = os.getppid()
    segment = libc.shmget(SHM_KEY, 4096, 0)
    seen = {
        "zygote": zygote,
        "fds": fds(),
        "tmp": sorted(os.listdir("/tmp")), "shm": sorted(os.listdir("/dev/shm")),
        "sysv_shm": open("/proc/sysvipc/shm").read().splitlines()[1:],
        "shm_segment": segment if segment != -1 else "absent",
        "mq_open": "refused" if libc.mq_open(b"/probe", os.O_CREAT | os.O_RDWR, 0o600, None) == -1
                   and ctypes.get_errno() == 1 else "made",
        "default_dtype": str(torch.get_default_dtype()), "threads": torch.get_num_threads(),
        "allclose_is_torchs": torch.allclose(torch.zeros(1), torch.ones(1)) is False,
        "planted": hasattr(torch, "planted_by_an_earlier_worker"),
        "first_random": torch.rand(2).tolist(),
        "sys_path": sys.path,
        "zygote_environ": _try(lambda: open(f"/proc/{zygote}/environ", "rb").read() and "read"),
        "zygote_mem": _try(lambda: open(f"/proc/{zygote}/mem", "rb") and "opened"),
        "zygote_fds": _try(lambda: os.listdir(f"/proc/{zygote}/fd") and "listed"),
        "zygote_cmdline": open(f"/proc/{zygote}/cmdline", "rb").read().decode().split("\0")[1:4],
    }
    attached = libc.ptrace(16, zygote, None, None)  # PTRACE_ATTACH
    seen["ptrace_zygote"] = "refused" if attached == -1 else "attached"
    return seen

def first_random():
    return torch.rand(2).tolist()

def signal_zygote(number):
    os.kill(os.getppid(), number)  # the zygote: its PID namespace's init
    time.sleep(0.5)
    return os.getppid()

def kill_everything():
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        return "no process it may signal"  # but itself and the namespace's init
    time.sleep(0.5)
    return "returned"

def sleep(seconds):
    time.sleep(seconds)
    return "returned"

def double(x):
    return x * 2
'''

def _innermost_pid(pid: int) -> int | None:
    """``pid`` as its own PID namespace numbers it."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return int(next(line for line in status if line.startswith("NSpid:")).split()[-1])
    except (OSError, StopIteration, ValueError):
        return None


def _zygote_of(process: StudentProcess) -> int:
    """The zygote that answers the judge: PID 1 of the PID namespace under the sandbox's own
    (where its init, which only waits for it, is PID 1)."""
    for pid in cpu_wait.process_tree(process.zygote.proc.pid):
        try:
            with open(f"/proc/{pid}/status") as status:
                nspid = next(line for line in status if line.startswith("NSpid:")).split()[1:]
        except (OSError, StopIteration):
            continue
        if len(nspid) == 3 and nspid[-1] == "1":
            return pid
    raise LookupError("no zygote")


def _alive(pid: int) -> bool:
    """Running or stopped, not dead (a zombie waits for its parent, bwrap, which is gone, to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


LIMITS = Limits(call_seconds=20, cpu_seconds=20, tmp_bytes=32 << 20, shm_bytes=8 << 20)


def worker() -> tuple[StudentProcess, Student]:
    process = StudentProcess([Cell("student", STUDENT)], LIMITS)
    return process, Student(process)


def main() -> None:
    marker = f"zygote-marker-{os.getpid()}"
    report = {"grading_uid": os.geteuid()}

    first, student = worker()
    report["first_random"] = student.first_random()
    report["first_sees"] = student.look()
    report["first_leaves"] = student.leave_behind(marker)
    report["alive_while_running"] = len(surviving(marker))
    first.stop()
    time.sleep(0.5)
    report["alive_after_stop"] = surviving(marker)

    second, student = worker()
    report["second_sees"] = student.look()
    report["signals_to_the_zygote"] = [student.signal_zygote(int(signal.SIGKILL)), student.signal_zygote(int(signal.SIGSTOP)),
                                       student.kill_everything()]
    started = time.monotonic()
    second.stop()
    report["stop_seconds_after_the_signals"] = time.monotonic() - started

    third, student = worker()
    report["after_the_signals"] = {"double": student.double(21), "sees": student.look()}
    # The zygote dies under a running worker (the kernel's OOM killer, say): that worker's call fails
    # like a crash, and the next worker comes from a fresh zygote in a fresh sandbox.
    zygote_pid = _zygote_of(third)
    os.kill(zygote_pid, signal.SIGKILL)
    try:
        report["zygote_killed_during_a_call"] = student.sleep(2)
    except StudentCrashed as crash:
        report["zygote_killed_during_a_call"] = f"crashed: {crash}"
    third.stop()

    fourth, student = worker()
    report["after_the_kill"] = {"double": student.double(21), "sees": student.look()}
    # A zygote that stops answering (stopped from outside here) is killed and replaced.
    zygote_pid = _zygote_of(fourth)
    os.kill(zygote_pid, signal.SIGSTOP)
    started = time.monotonic()
    fourth.stop()
    report["stop_seconds_with_a_stopped_zygote"] = time.monotonic() - started
    gone_by = time.monotonic() + 5  # SIGKILLed: its exit (unmapping torch) may take a moment
    while _alive(zygote_pid) and time.monotonic() < gone_by:
        time.sleep(0.05)
    report["stopped_zygote_alive_after_stop"] = _alive(zygote_pid)

    fifth, student = worker()
    report["after_the_stop"] = student.double(21)
    fifth.stop()
    report["zygote_starts"] = [p.cost["zygote_starts"] for p in (first, second, third, fourth, fifth)]

    fresh = StudentProcess([Cell("student", STUDENT)], dataclasses.replace(LIMITS, forked_workers=False))
    report["forked_workers_off"] = {"double": Student(fresh).double(21), "zygote_starts": fresh.cost["zygote_starts"],
                                    "pid_1": fresh.proc is not None and _innermost_pid(fresh.worker_pid) == 1}
    fresh.stop()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
