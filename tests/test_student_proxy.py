"""The worker that runs student code: each failure costs only the call that caused
it, and the student's code sees nothing of the course."""
import os

import pytest
import torch

from autograder.engine.judge.student_proxy import Cell, Limits, Student, StudentCrashed, StudentFailure, StudentProcess
from instructor.paths import ROOT

AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="the full sandbox needs root (CI runs as root)")

FAST = Limits(call_seconds=3, cpu_seconds=5, cells_seconds=20, memory_bytes=2 << 30)


def student_with(*sources, limits=FAST, forbidden=None):
    process = StudentProcess([Cell(f"cell{i}", s) for i, s in enumerate(sources)], limits)
    return process, Student(process, forbidden or {})


@pytest.fixture
def make_student():
    made = []

    def make(*sources, **kwargs):
        process, student = student_with(*sources, **kwargs)
        made.append(process)
        return student
    yield make
    for process in made:
        process.stop()


def test_calls_cross_as_plain_data(make_student):
    student = make_student("import torch\ndef double(x):\n    return x * 2, {'n': x.numel()}")
    out, info = student.double(torch.arange(3.0))
    assert torch.equal(out, torch.tensor([0.0, 2.0, 4.0])) and info == {"n": 3}


def test_infinite_loop_costs_that_function_only(make_student):
    student = make_student("def spin():\n    while True: pass\ndef ok():\n    return 1")
    with pytest.raises(StudentCrashed, match="did not finish within 3"):
        student.spin()
    with pytest.raises(StudentCrashed):  # poisoned: fails at once, no second wait
        student.spin()
    assert student.ok() == 1  # a fresh worker serves the rest


def test_a_call_given_more_time_meets_its_wall_clock_before_its_cpu_limit(make_student):
    """A loop on one thread in a call given more time than the CPU limit (06's fit): the
    message names its time, whichever limit the machine's load would let fire first."""
    student = make_student("def spin():\n    while True: pass\ndef ok():\n    return 1",
                           limits=Limits(call_seconds=1, cpu_seconds=1, cells_seconds=20, memory_bytes=2 << 30))
    for _ in range(2):
        with pytest.raises(StudentCrashed, match="spin did not finish within 2 seconds"):
            student.call("spin", timeout=2)
        student._process.poisoned.clear()  # the same call again, in a fresh worker
    assert student.ok() == 1


def test_os_exit_in_a_call_costs_that_function_only(make_student):
    student = make_student("import os\ndef die():\n    os._exit(7)\ndef ok():\n    return 2")
    with pytest.raises(StudentCrashed, match="status 7"):
        student.die()
    assert student.ok() == 2


def test_sys_exit_is_an_error_not_the_end(make_student):
    student = make_student("import sys\ndef leave():\n    sys.exit(0)\ndef ok():\n    return 3")
    with pytest.raises(StudentFailure, match="SystemExit"):
        student.leave()
    assert student.ok() == 3


def test_a_cell_that_kills_the_process_loses_only_that_cell(make_student):
    student = make_student("def a():\n    return 'a'", "import os\nos._exit(1)", "def c():\n    return 'c'")
    assert student.a() == "a" and student.c() == "c"
    with pytest.raises(StudentFailure, match="cell1"):
        student.b()


def test_a_cell_that_never_ends_is_skipped(make_student):
    limits = Limits(call_seconds=3, cpu_seconds=5, cells_seconds=3)
    student = make_student("while True: pass", "def c():\n    return 'c'", limits=limits)
    assert student.c() == "c"


def test_memory_bomb_fails_inside_the_worker(make_student):
    student = make_student("import torch\ndef hog():\n    return torch.ones(2**36).sum()\ndef ok():\n    return 4")
    with pytest.raises(StudentFailure):  # 256 GiB, far beyond the 2 GiB limit
        student.hog()
    assert student.ok() == 4


def test_cpu_time_is_limited_even_without_a_wall_clock_wait(make_student):
    limits = Limits(call_seconds=30, cpu_seconds=1, cells_seconds=20)
    student = make_student("def burn():\n    x = 0\n    while True: x += 1", limits=limits)
    with pytest.raises(StudentCrashed, match="CPU time"):
        student.burn()


def test_seeded_before_every_call_so_results_repeat(make_student):
    student = make_student("import torch\ndef noise():\n    return torch.rand(3)")
    assert torch.equal(student.noise(), student.noise())


def test_grader_code_run_again_starts_afresh_each_time(make_student):
    """The worker keeps grader statements compiled between runs (serve.Worker._compiled): each
    run still has its own scope, and other statements are other code."""
    student = make_student("import torch\ncalls = []\ndef step(x):\n    calls.append(1)\n    return x + 1")
    statements = "y = step(x)\nresult = (y, len(calls), 'z' in dir())\nz = 1"
    for n in range(1, 4):
        y, count, z_seen = student.run(statements, x=torch.tensor([float(n)]))
        assert torch.equal(y, torch.tensor([n + 1.0])) and count == n and not z_seen
    assert student.run("result = step(x) * 2", x=torch.tensor([1.0])).tolist() == [4.0]
    assert student.eval("len(calls)") == 4 and student.eval("len(calls) + k", k=1) == 5


def test_output_on_stdout_and_stderr_is_harmless(make_student):
    student = make_student("import sys, warnings\ndef noisy():\n    print('x' * 10000)\n"
                           "    print('warn', file=sys.stderr)\n    warnings.warn('careful')\n    return 5")
    assert student.noisy() == 5


def test_objects_stay_in_the_worker_and_are_used_by_handle(make_student):
    student = make_student("import torch\nclass Box(torch.nn.Module):\n    def __init__(self):\n"
                           "        super().__init__()\n        self.w = torch.nn.Parameter(torch.ones(2))\n"
                           "    def forward(self, x):\n        return x * self.w")
    box = student.Box()
    assert torch.equal(student.call_method(box, "forward", torch.tensor([2.0, 3.0])), torch.tensor([2.0, 3.0]))
    params = student.eval("dict(m.named_parameters())", m=box)
    assert isinstance(params["w"], torch.nn.Parameter)


def test_forbidden_builtin_fails_the_call_with_its_name(make_student):
    student = make_student("import torch\ndef sm(x):\n    return torch.softmax(x, -1)",
                           forbidden={"sm": ["torch.softmax"]})
    with pytest.raises(StudentFailure, match="used torch.softmax"):
        student.sm(torch.ones(3))


@needs_root
def test_student_code_cannot_see_the_course_or_the_network(make_student):
    student = make_student(f"""
import os, socket
def look():
    seen = {{p: os.path.exists(p) for p in {[str(ROOT / 'autograder'), str(ROOT / 'source'), str(ROOT / 'course_config.py'), str(ROOT / '.git')]!r}}}
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=1)
        seen["network"] = True
    except OSError:
        seen["network"] = False
    seen["uid"] = os.getuid()
    try:
        open({str(ROOT / 'README.md')!r}, "a")
        seen["write"] = True
    except OSError:
        seen["write"] = False
    return seen
""")
    readme = (ROOT / "README.md").read_bytes()
    seen = student.look()
    # Opening the path may succeed inside the worker's private /tmp (a course cloned under
    # /tmp): what matters is that the real file is untouched.
    assert not any(v for k, v in seen.items() if k not in ("uid", "write")), seen
    assert (ROOT / "README.md").read_bytes() == readme
    assert seen["uid"] != 0


@needs_root
def test_a_burst_of_processes_is_stopped_by_the_process_limit(make_student):
    limits = Limits(call_seconds=20, cpu_seconds=20, processes=32)
    student = make_student("""
import os, time
def burst():
    children, refused = [], 0
    for _ in range(300):
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            continue
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        children.append(pid)
    return len(children), refused
""", limits=limits)
    started, refused = student.burst()
    assert started < 32 and refused > 0


def test_a_refusal_caught_by_the_student_still_fails_the_call(make_student):
    student = make_student("import torch\ndef shape(a, b):\n    try:\n        return tuple(torch.broadcast_shapes(a, b))\n"
                           "    except Exception as e:\n        raise ValueError(str(e))",
                           forbidden={"shape": ["torch.broadcast_shapes"]})
    with pytest.raises(StudentFailure, match="used torch.broadcast_shapes"):
        student.shape((1, 2), (2, 1))


def test_where_no_zygote_can_make_a_worker_each_worker_starts_a_fresh_sandbox(monkeypatch):
    """A zygote that cannot fork a worker (a kernel without what it needs to give each worker
    namespaces of its own) is the machine's problem: the grading process starts fresh sandboxes,
    says so in the log, and the student's calls are answered as usual."""
    from autograder.engine.judge import student_proxy
    from autograder.engine.judge import zygotes

    def cannot_fork(self, *args, **kwargs):
        self.kill()
        raise zygotes.ZygoteGone("it ended (no namespaces here)")

    monkeypatch.setattr(zygotes.Zygote, "fork", cannot_fork)
    monkeypatch.setattr(student_proxy, "_forking_failed", None)
    logged = []
    process = StudentProcess([Cell("cell0", "def double(x):\n    return 2 * x")], FAST, log=logged.append)
    try:
        assert Student(process).double(21) == 42
        assert process.proc is not None and process.zygote is None, "a fresh sandbox serves the calls"
        assert any("cannot be forked" in line and "no namespaces here" in line for line in logged), logged
    finally:
        process.stop()
