"""Workers forked from one sandboxed zygote are as isolated from each other as fresh
sandboxes, proved with a real zygote as root (CI, a grading host) and as a plain grading
user (the formgrader on a Hub): nothing a worker writes, starts, maps or changes reaches
the next one, and nothing a worker observes depends on the workers before it (a record of
all it can read is the same in the first worker and in one after a hostile worker); a
worker cannot read, trace or reach the zygote's files; and a worker that cannot kill or
stop the zygote, and a zygote that dies costs only the notebook it served."""
import os

import pytest

from tests.hub_support import plain_grading_user, run_probe

GRADING_USER = "course-zygote-test"  # not test_sandbox's: the two modules may run at once


@pytest.fixture(scope="module")
def plain_user():
    with plain_grading_user(GRADING_USER) as user:
        yield user


@pytest.fixture(scope="module", params=["root", "plain user"])
def report(request, plain_user) -> dict:
    if request.param == "root" and os.geteuid() != 0:
        pytest.skip("grading as root is tested where the tests run as root (CI does)")
    return run_probe("tests.zygote_probe", plain_user if request.param == "plain user" else None)


def made_by_the_sandbox(extra=()) -> set[str]:
    """What the sandbox itself puts in its private /tmp, besides nothing: the first folder of
    each read-only bind that lies under /tmp (Python or the course cloned there, as CI may)."""
    from pathlib import Path

    from autograder.engine.judge import sandbox

    return {Path(path).relative_to("/tmp").parts[0] for path in sandbox.readable_paths(extra)
            if path.startswith("/tmp/")}


def writable_on_path(sys_path: list[str]) -> list[str]:
    """The entries of a worker's sys.path a worker could write to: relative ones, and those
    under /tmp or /dev/shm that are not inside a read-only bind."""
    from autograder.engine.judge import sandbox

    binds = sandbox.readable_paths()
    return [p for p in sys_path if not p.startswith("/") or (
        p.startswith(("/tmp", "/dev/shm")) and not any(sandbox._inside(p, b) for b in binds))]


def test_successive_workers_came_from_one_zygote(report):
    # Otherwise the tests below would prove fresh sandboxes, not forked workers.
    assert report["zygote_starts"][:2] == [1, 0]
    assert report["first_sees"]["zygote"] == report["second_sees"]["zygote"]


def test_files_left_in_tmp_and_shm_are_gone_for_the_next_worker(report):
    left, made = report["first_leaves"], made_by_the_sandbox()
    assert len(set(left["tmp"]) - made) == 2 and len(left["shm"]) == 2, left  # the marker and a folder of mode 000
    assert sorted(report["second_sees"]["tmp"]) == sorted(made) and report["second_sees"]["shm"] == []


def test_a_detached_process_is_dead_before_the_next_worker_starts(report):
    assert report["alive_while_running"] == 1, "the worker did not manage to start a detached process"
    assert report["alive_after_stop"] == []


def test_sysv_shared_memory_is_gone_and_posix_queues_cannot_be_made(report):
    assert report["first_leaves"]["shm_segment"] >= 0, "the first worker could not make a SysV segment"
    assert report["second_sees"]["sysv_shm"] == [] and report["second_sees"]["shm_segment"] == "absent"
    assert report["second_sees"]["mq_open"] == "refused"


def test_a_worker_cannot_read_trace_or_reach_the_zygote(report):
    for seen in (report["first_sees"], report["second_sees"]):
        assert seen["zygote_environ"] == "PermissionError" and seen["zygote_mem"] == "PermissionError"
        assert seen["zygote_fds"] == "PermissionError", "the zygote's control channel is reachable"
        assert seen["ptrace_zygote"] == "refused"
        assert seen["zygote_cmdline"][:2] == ["-s", "-P"]  # nothing from /tmp or ~/.local on its path
        assert not writable_on_path(seen["sys_path"]), seen["sys_path"]


def test_a_worker_holds_only_its_own_files(report):
    first, second = report["first_leaves"]["fds"], report["second_sees"]["fds"]
    for fds in (first, second):
        assert sorted(fds, key=int) == ["0", "1", "2", "3", "4"], fds  # stdin, its log twice, its two pipes
        assert not [target for target in fds.values() if target.startswith("socket:")]
    pipes = {target for target in first.values() if target.startswith("pipe:")}
    assert len(pipes) == 2 and not pipes & set(second.values())


def test_torch_state_a_worker_changes_does_not_reach_the_next(report):
    first, second = report["first_sees"], report["second_sees"]
    assert second["default_dtype"] == "torch.float32" and second["threads"] == 1
    assert second["allclose_is_torchs"] and not second["planted"]
    assert second["first_random"] == first["first_random"] == report["first_random"]


def test_a_worker_can_neither_kill_nor_stop_the_zygote(report):
    # The zygote is its namespace's init: SIGKILL, SIGSTOP and kill(-1) from a worker do not reach it.
    assert report["signals_to_the_zygote"] == [1, 1, "no process it may signal"]
    assert report["stop_seconds_after_the_signals"] < 1.5, "the zygote did not answer at once"
    assert report["zygote_starts"][2] == 0 and report["after_the_signals"]["double"] == 42


def test_a_zygote_that_dies_costs_only_the_notebook_it_served(report):
    assert report["zygote_killed_during_a_call"].startswith("crashed:"), report["zygote_killed_during_a_call"]
    after = report["after_the_kill"]
    assert report["zygote_starts"][3] == 1  # a fresh zygote, in a fresh sandbox
    assert after["double"] == 42 and after["sees"]["sysv_shm"] == []
    assert sorted(after["sees"]["tmp"]) == sorted(made_by_the_sandbox())


def test_a_zygote_that_does_not_answer_is_killed_and_replaced(report):
    assert report["stop_seconds_with_a_stopped_zygote"] < 6
    assert not report["stopped_zygote_alive_after_stop"]
    assert report["zygote_starts"][4] == 1 and report["after_the_stop"] == 42


def test_forked_workers_off_gives_fresh_sandboxed_workers(report):
    # Limits.forked_workers=False: today's fresh bwrap per worker (bwrap's own init is pid 1, not the worker).
    assert report["forked_workers_off"] == {"double": 42, "zygote_starts": 0, "pid_1": False}


def test_the_zygote_shares_no_writable_memory_with_its_workers():
    """A worker forked from the zygote gets copies of its memory, except shared writable mappings,
    which it could write and the next worker read: the zygote must hold none."""
    if os.geteuid() != 0:
        pytest.skip("reading a non-dumpable process's memory map needs root (CI runs as root)")
    from autograder.engine.judge import cpu_wait
    from autograder.engine.judge import zygotes
    from autograder.engine.shared.limits import Limits
    from autograder.engine.judge.student_proxy import Cell, Student, StudentProcess

    process = StudentProcess([Cell("answer", "x = 1")], Limits())
    try:
        assert Student(process).eval("x") == 1
        inside = {}
        for pid in cpu_wait.process_tree(process.zygote.proc.pid):
            with open(f"/proc/{pid}/status") as status:
                nspid = next(line.split()[1:] for line in status if line.startswith("NSpid:"))
            if len(nspid) > 1:
                with open(f"/proc/{pid}/maps") as maps:
                    inside[int(nspid[-1])] = [line for line in maps if line.split()[1][1] == "w"
                                              and line.split()[1][3] == "s"]
        assert 1 in inside and len(inside) >= 2, f"expected the zygote (pid 1) and a worker: {sorted(inside)}"
        assert inside[1] == [], f"the zygote maps writable shared memory: {inside[1][:5]}"
    finally:
        process.stop()
        zygotes.stop_all()



def test_a_forked_worker_s_cpu_is_counted_once_its_notebook_is_done():
    """The CPU a worker spent (the cost profile's figure, beside the budget's own count) is the
    zygote's count on reaping it: a worker killed with its PID namespace is reaped by the kernel
    uncounted, so a worker done with its notebook is let end on its own first."""
    from autograder.engine.judge import zygotes
    from autograder.engine.judge.student_proxy import EXIT_GRACE_SECONDS, Cell, Student, StudentProcess
    from autograder.engine.shared.limits import Limits

    burn = "import time\ndef burn(seconds):\n    end = time.process_time() + seconds\n" \
           "    while time.process_time() < end:\n        pass\n    return seconds"
    process = StudentProcess([Cell("answer", burn)], Limits())
    try:
        assert Student(process).call("burn", 0.6) == 0.6
        assert process.zygote is not None, "this test is about workers forked from a zygote"
    finally:
        process.stop(EXIT_GRACE_SECONDS)
        zygotes.stop_all()
    assert 0.6 <= process.cost["worker_cpu"] < 5, process.cost

LEAVE_AROUND_BIND = """
import os
outer = os.path.dirname(BOUND)
for folder in (outer, "/tmp"):
    with open(os.path.join(folder, "planted.txt"), "w") as f:
        f.write("for the next worker")
os.makedirs(os.path.join(outer, "nest", "deeper"))
os.chmod(os.path.join(outer, "nest"), 0)
os.chmod(outer, 0)
"""


def test_a_bind_under_tmp_stays_and_what_a_worker_wrote_around_it_goes():
    """Python or the course cloned under /tmp is bound read-only inside the sandbox's private
    /tmp: each worker's fresh /tmp carries it over (with the folders bwrap made to hold it, in
    their modes), the zygote keeps it on sys.path, and the next worker sees it whole and
    nothing the last one wrote."""
    import tempfile
    from pathlib import Path

    from autograder.engine.judge import zygotes
    from autograder.engine.shared.limits import Limits
    from autograder.engine.judge.student_proxy import Cell, Student, StudentProcess

    outer = Path(tempfile.mkdtemp(prefix="zygote-bind-", dir="/tmp"))
    bound = outer / "inner"
    bound.mkdir()
    (bound / "kept.txt").write_text("part of the course")
    for folder in (outer, bound):
        folder.chmod(0o755)  # as root, the sandbox runs as nobody
    limits = Limits(readable_paths=(str(bound),))
    leave = Cell("answer", f"BOUND = {str(bound)!r}\n" + LEAVE_AROUND_BIND)
    look = Cell("answer", f"BOUND = {str(bound)!r}")
    first, second = StudentProcess([leave], limits), StudentProcess([look], limits)
    try:
        assert Student(first).eval("BOUND") == str(bound)  # its cell ran: files planted, folders closed
        first.stop()
        seen = Student(second).run(
            "import os\nfrom autograder.engine.worker import zygote\nouter = os.path.dirname(BOUND)\n"
            "result = {'tmp': sorted(os.listdir('/tmp')), 'outer': sorted(os.listdir(outer)),\n"
            "          'outer_mode': oct(os.stat(outer).st_mode & 0o777), 'kept': open(BOUND + '/kept.txt').read(),\n"
            "          'bind_writable': zygote._writable(BOUND), 'tmp_writable': zygote._writable('/tmp')}")
        assert second.cost["zygote_starts"] == 0, "the second worker must come from the first one's zygote"
        assert sorted(seen["tmp"]) == sorted(made_by_the_sandbox([str(bound)])) and seen["outer"] == ["inner"], seen
        assert seen["outer_mode"] != "0o0" and seen["kept"] == "part of the course", seen  # its mode given back
        assert seen["bind_writable"] is False and seen["tmp_writable"] is True, seen
    finally:
        first.stop()
        second.stop()
        zygotes.stop_all()
        import shutil
        shutil.rmtree(outer, ignore_errors=True)


HOSTILE_ACTIONS = """What the hostile worker between A and B does (tests/worker_observation_probe.py, ``hostile``):
sets a user xattr, the times (2001) and the mode (1777) of /tmp and /dev/shm; makes 400 files
there, removes half, leaves folders; sends TCP and UDP packets on the loopback; binds an abstract
unix socket; makes and removes 20 SysV segments, queues and semaphore sets each and leaves one of
each behind; forks 40 processes and leaves 3 detached ones running; sets its umask, tries
sethostname and setdomainname, lowers its open-files limit and sets an environment variable."""


@pytest.fixture(scope="module", params=["root", "plain user"])
def observed(request, plain_user) -> dict:
    if request.param == "root" and os.geteuid() != 0:
        pytest.skip("grading as root is tested where the tests run as root (CI does)")
    return run_probe("tests.worker_observation_probe", plain_user if request.param == "plain user" else None)


def _differences(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for key in sorted(set(a) | set(b), key=str) for d in _differences(a.get(key), b.get(key), f"{path}/{key}")]
    return [] if a == b else [f"{path}: {str(a)[:200]} != {str(b)[:200]}"]


def test_a_worker_observes_nothing_of_the_workers_before_it(observed):
    """Nothing a worker can observe depends on earlier workers: a record of all a worker can read
    about its environment (folder metadata and xattrs, statvfs, the inode a new file gets, its
    PID and PPID, the PIDs in /proc, ns_last_pid, /proc/net's counters and sockets, SysV tables and
    the ids new objects get, hostname, mounts, ids, capabilities, rlimits, environment, files,
    working folder, umask) is the same in the first worker of a fresh zygote (A) and in a worker
    forked after a hostile one (B). Normalised only for what two fresh sandboxes differ in too:
    times are taken against the worker's start, kernel-wide counters (pipe inodes, proc's link
    count) and the judge's randomly named log folder are left out.

    """ + HOSTILE_ACTIONS
    assert observed["zygote_starts"] == [1, 0, 0], "A, the hostile worker and B must share one zygote"
    assert observed["hostile"]["/tmp xattr"] == "set" and observed["hostile"]["/tmp utime"] == "set", observed["hostile"]
    assert _differences(observed["A"], observed["B"]) == []


def test_each_forked_worker_has_namespaces_of_its_own(observed):
    """PID 2 under an init of its own (as under bwrap's), a loopback nobody used, no SysV
    object, fresh /tmp and /dev/shm, no capability and no_new_privs, as in a fresh sandbox."""
    for seen in (observed["A"], observed["B"], observed["fresh_sandbox"]):
        assert seen["pid"] == 2 and seen["ppid"] == 1 and seen["pids"] == [1, 2], (seen["pid"], seen["pids"])
        assert seen["sysv_ids"] == {"shm": 0, "msg": 0, "sem": 0} and seen["abstract_sockets"] == []
        assert set(seen["status"][k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) == {"0000000000000000"}
        assert seen["status"]["NoNewPrivs"] == "1" and seen["hostname"] == "sandbox"
        assert seen["listing"]["/tmp"] == sorted(made_by_the_sandbox()) and seen["listing"]["/dev/shm"] == []
    for key in ("new_inode", "sysv_ids", "net", "ids", "cwd", "umask", "domainname", "environ"):
        assert observed["A"][key] == observed["fresh_sandbox"][key], key
    for folder in ("/tmp", "/dev/shm"):
        assert observed["A"]["statvfs"][folder] == observed["fresh_sandbox"]["statvfs"][folder]
