"""Run by tests/test_sandbox.py as root and as a plain grading user: starts real workers
the way the judge does, runs the student code below in them, and prints what it saw
(JSON). Usage: python -m tests.sandbox_probe SECRET_PATH... (paths student code must
not see)."""
from __future__ import annotations

import json
import os
import sys
import time

from autograder.engine.judge.student_proxy import Cell, Limits, Student, StudentProcess

LOOK = r'''
import json, os, socket, subprocess, sys, time

def _try(fn):
    try:
        return fn()
    except Exception as exc:
        return f"{type(exc).__name__}"

def look(secrets, marker):
    seen = {}
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    seen["caps"] = {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    seen["no_new_privs"] = status["NoNewPrivs"].strip()
    seen["uid"] = os.getuid()
    seen["visible_secrets"] = [p for p in secrets if os.path.exists(p)]
    seen["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    seen["network"] = _try(lambda: socket.create_connection(("1.1.1.1", 53), timeout=1) and "connected")
    seen["interfaces"] = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
    seen["hostname"] = socket.gethostname()
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    key = libc.syscall(248, b"user", b"probe-marker", b"1", 1, -4)  # add_key to the user keyring (x86_64)
    seen["add_key"] = "refused" if key == -1 and ctypes.get_errno() == 1 else f"returned {key}"
    writable = []
    for folder in ("/", "/usr", "/etc", "/dev", sys.prefix, os.path.dirname(os.__file__), "/grader"):
        if _try(lambda: open(os.path.join(folder, "planted"), "w").close()) is None:
            writable.append(folder)
    seen["writable_outside_tmp"] = writable
    stat = os.statvfs("/tmp")
    seen["tmp_bytes"] = stat.f_blocks * stat.f_frsize
    stat = os.statvfs("/dev/shm")
    seen["shm_bytes"] = stat.f_blocks * stat.f_frsize
    seen["user_namespace"] = _try(lambda: os.unshare(os.CLONE_NEWUSER) or "created")  if hasattr(os, "unshare") else _try(
        lambda: subprocess.run(["unshare", "--user", "true"], capture_output=True).returncode)
    return seen

def leave_behind(marker):
    """Plant a file, and a process that detaches twice (new session) and lives on."""
    open(f"/tmp/{marker}", "w").write("left by an earlier worker")
    open(f"/dev/shm/{marker}", "w").write("left by an earlier worker")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", f"import time; time.sleep(120)  # {marker}"])
        os._exit(0)
    time.sleep(0.5)
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]

def find_left(marker):
    return {"tmp": os.path.exists(f"/tmp/{marker}"), "shm": os.path.exists(f"/dev/shm/{marker}")}
'''


def surviving(marker: str) -> list[int]:
    """Processes anywhere on this machine whose command line carries ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read() and int(pid) != os.getpid():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def main() -> None:
    secrets = sys.argv[1:]
    marker = f"probe-marker-{os.getpid()}"
    limits = Limits(call_seconds=20, cpu_seconds=20, tmp_bytes=32 << 20, shm_bytes=8 << 20)
    first = StudentProcess([Cell("look", LOOK)], limits)
    second = StudentProcess([Cell("look", LOOK)], limits)
    report = {"grading_uid": os.geteuid()}
    try:
        student, other = Student(first), Student(second)
        report["seen"] = student.look(secrets, marker)
        report["pids_of_first_worker"] = student.leave_behind(marker)
        report["second_worker_sees"] = other.look(secrets, marker)
        report["second_worker_finds"] = other.find_left(marker)
        report["alive_while_running"] = len(surviving(marker))
    finally:
        first.stop()
        second.stop()
    time.sleep(1)
    report["alive_after_stop"] = surviving(marker)
    regraded = StudentProcess([Cell("look", LOOK)], limits)
    try:
        report["regrade_finds"] = Student(regraded).find_left(marker)
    finally:
        regraded.stop()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
