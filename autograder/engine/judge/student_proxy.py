"""The judge's handle on the student's code: a worker process it starts, talks to
in plain data, restarts when it dies, and never trusts.

Hidden tests use it through the ``student`` fixture::

    mean, std = student.mean_std(x)                 # call a function of the notebook
    out, (x_after,) = student.call("normalize", x, return_inputs=True)
    model = student.SimpleMnist()                    # an object stays in the worker...
    logits = student.call_method(model, "forward", x)  # ...and is used through handles
    shapes = student.eval("{n: tuple(p.shape) for n, p in m.named_parameters()}", m=model)
    device = student.run("torch.cuda.is_available = lambda: True\nresult = str(get_device())")

Built-ins an exercise may not use are listed per function in the ``forbidden_builtins``
fixture (a hidden test file declares it with ``autograder.testing.not_allowed``); calling one fails the call
with a message naming it.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

from autograder.engine.judge import budget, calls_ahead, cpu_wait, sandbox, zygotes
from autograder.engine.shared import protocol, wire
from autograder.engine.shared.cells import Cell  # noqa: F401  (part of this module's interface)
from autograder.engine.shared.limits import EngineSettings, Limits


EXIT_GRACE_SECONDS = 0.2  # how long a worker done with its notebook may take to end before it is killed


class StudentFailure(AssertionError):
    """The student's code did not produce a value (it raised, hung or crashed).

    An AssertionError, so hypothesis and pytest treat it as the property failing."""


class StudentRaised(StudentFailure):
    def __init__(self, function: str, error: dict):
        error = protocol.WorkerError.parse(error).to_message()  # the student's to forge: cut to size
        self.function = function
        self.error = error
        self.type_name = error.get("type", "Exception")
        self.mro = error.get("mro", [])
        self.forbidden = error.get("forbidden")
        where = "\n".join(error.get("where", []))
        if self.forbidden:
            text = f"{function} used {self.forbidden}, which this exercise does not allow."
        else:
            text = f"{function} raised {self.type_name}: {error.get('message', '')}"
        super().__init__(text + (f"\n{where}" if where else ""))

    def is_instance_of(self, exc_type: type) -> bool:
        return exc_type.__name__ in self.mro


class StudentCrashed(StudentFailure):
    """The worker died or ran out of time during the call."""



NOT_STARTED = "the grading worker did not start"
_forking_failed: str | None = None  # why this process's zygotes could not make a worker, once they could not


class StudentProcess:
    """One worker at a time, running the submission's cells; restarted after a crash."""

    def __init__(self, cells: list[Cell], limits: Limits, log=None, settings: EngineSettings = EngineSettings()):
        self.cells = cells
        self.limits = limits
        self.settings = settings  # the worker's and its zygote's start
        self.log = log or (lambda message: None)
        self.proc: subprocess.Popen | None = None  # a fresh worker's process
        self.zygote: zygotes.Zygote | None = None   # or the zygote a forked worker came from
        self.worker_pid: int | None = None         # the worker's pid as the judge sees it
        self._ended: protocol.Ended | None = None  # what the zygote said when it ended the worker
        self.cell_errors: dict[str, dict] = {}
        self.broken_cells: dict[str, str] = {}  # cells that kill the worker are skipped on restart
        self.poisoned: dict[str, str] = {}      # functions that hung or crashed: fail at once
        self.sandbox_gaps: list[str] = []
        self.logdir: str | None = None
        self.cost = {"worker_starts": 0, "worker_start_seconds": 0.0, "calls": 0, "call_seconds": 0.0,
                     "worker_cpu": 0.0, "worker_ready_cpu": 0.0, "zygote_starts": 0, "zygote_cpu": 0.0,
                     "cells_seconds": 0.0, "budget_cpu": 0.0, "budget_seconds": 0.0,
                     "calls_ahead": 0, "calls_ahead_dropped": 0}  # sent ahead; of those, never made
        # The notebook's budget across all its calls and cell runs, counted here (budget.py).
        self.budget = budget.NotebookBudget(limits.notebook_cpu_seconds, limits.notebook_wall_seconds)
        self._worker_cpu = 0.0  # as the current worker reports it (profiling only: it could lie)
        self._tree: list[tuple[int, int]] | None = None  # the current worker's threads, for its deadlines
        self.ahead = calls_ahead.CallsAhead(settings.calls_ahead)  # calls sent before a test makes them
        self._first_calls: list | None = None  # while example_replay takes a test's first calls (calls_ahead.py)
        self.predicting = False  # a session that only predicts first calls: no call is made, no worker starts

    # -- life cycle
    def _spawn(self) -> None:
        global _forking_failed
        started = time.perf_counter()
        try:
            try:
                self._start_worker()
            except StudentCrashed as exc:
                # Nothing of the student's has run before a worker is ready: a zygote that cannot
                # make one (a kernel without what it needs to give each worker namespaces of its
                # own, say) is the machine's problem, never the student's. This grading process
                # then starts a fresh sandbox for every worker.
                if not self._forks() or not str(exc).startswith(NOT_STARTED):
                    raise
                _forking_failed = str(exc)
                self.log(f"sandbox: workers cannot be forked from a zygote here, so each starts a fresh "
                         f"sandbox (slower, as safe): {exc}")
                self._start_worker()
        finally:
            self.cost["worker_starts"] += 1
            self.cost["worker_start_seconds"] += time.perf_counter() - started

    def _start_worker(self) -> None:
        self.logdir = tempfile.mkdtemp(prefix="grading-worker-")  # the judge's, never the worker's
        to_judge_r, to_judge_w = os.pipe()
        from_judge_r, from_judge_w = os.pipe()
        engine_root = os.path.dirname(os.path.dirname(sandbox.ENGINE_DIR))
        env = {
            "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
            "PYTHONPATH": engine_root, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": str(self.limits.threads), "LANG": "C.UTF-8",
            "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp", "MPLBACKEND": "Agg",
            "USER": "student", "LOGNAME": "student",
        }
        argv = [sys.executable, "-m", "autograder.engine.worker.serve", str(to_judge_w), str(from_judge_r),
                self.limits.to_json()]
        launch, command = {}, None
        protected = [os.path.join(engine_root, "autograder", "hidden")]
        if self.limits.sandbox:
            env["PYTHONPATH"] = sandbox.ENGINE_MOUNT
        log_file = open(os.path.join(self.logdir, "worker.log"), "wb")
        try:
            if self._forks():
                self._fork_worker(env, protected, to_judge_w, from_judge_r, log_file.fileno())
            else:
                if self.limits.sandbox:
                    command = sandbox.worker_command(
                        argv, tmp_bytes=self.limits.tmp_bytes, shm_bytes=self.limits.shm_bytes, env=env,
                        readable=sandbox.readable_paths(self.limits.readable_paths), protected=protected)
                    argv, launch = command.argv, sandbox.launch_user()
                try:
                    self.proc = subprocess.Popen(
                        argv, pass_fds=(to_judge_w, from_judge_r, *(command.pass_fds if command else ())), env=env,
                        cwd="/" if command else self.logdir, stdin=subprocess.DEVNULL, stdout=log_file,
                        stderr=log_file, start_new_session=True, **launch)
                finally:
                    if command:
                        command.close()
                self.worker_pid = self.proc.pid
        except BaseException:
            os.close(from_judge_w)
            os.close(to_judge_r)
            raise
        finally:
            log_file.close()
            os.close(to_judge_w)
            os.close(from_judge_r)
        self.to_worker, self.from_worker = from_judge_w, to_judge_r
        try:
            ready = protocol.WorkerReady.parse(self._receive(time.monotonic() + self.settings.worker_start_seconds))
        except (EOFError, TimeoutError, wire.WireError, protocol.ProtocolError):
            ready = None
        if ready is None:
            reason = self._death_reason()
            self.stop()
            raise StudentCrashed(f"{NOT_STARTED}: {reason}")
        self.cost["worker_ready_cpu"] += self._worker_cpu  # its start: interpreter and imports
        gaps = ready.gaps
        if gaps != self.sandbox_gaps:
            self.sandbox_gaps = gaps
            for gap in gaps:
                self.log(f"sandbox: {gap}")
        self._run_cells()

    def _forks(self) -> bool:
        """Whether the next worker is forked from a zygote (else a fresh sandbox, or no sandbox)."""
        return self.limits.sandbox and self.limits.forked_workers and _forking_failed is None

    def _fork_worker(self, env: dict, protected: list[str], to_judge: int, from_judge: int, log: int) -> None:
        """The worker, forked by a zygote that has already imported what it needs. A zygote
        that died (the OOM killer, a clean-up that failed) or does not answer is replaced
        once; a second failure is this worker's failure to start."""
        for attempt in (1, 2):
            try:
                self.zygote = zygotes.lease(env, self.limits, protected, self.settings)
            except zygotes.ZygoteGone as exc:
                raise StudentCrashed(str(exc)) from None
            if self.zygote.start_cpu:
                self.cost["zygote_starts"] += 1
                self.cost["zygote_cpu"] += self.zygote.start_cpu
                self.zygote.start_cpu = 0.0  # counted once, by the notebook that started it
            try:
                self.worker_pid = self.zygote.fork(to_judge, from_judge, log, self.limits)
                self._ended = None
                return
            except zygotes.ZygoteGone as exc:
                self.zygote = None
                if attempt == 2:
                    raise StudentCrashed(f"the grading worker did not start: {exc}") from None

    @property
    def running(self) -> bool:
        return self.proc is not None or self.zygote is not None

    def _end_forked(self, wait: float) -> protocol.Ended:
        """Have the zygote end the worker and everything it started (once)."""
        if self._ended is None:
            try:
                self._ended = self.zygote.end(wait)
            except zygotes.ZygoteGone:
                # The zygote died or hung and was killed: the worker died with its PID namespace.
                self._ended = protocol.Ended(-9, None)
        return self._ended

    def _run_cells(self) -> None:
        cells = [c for c in self.cells if c.id not in self.broken_cells]
        self._send(protocol.ExecRequest([{"id": c.id, "source": c.source} for c in cells],
                                        self.limits.cells_seconds).to_message())
        # The cells' own limit, or what is left of the notebook's budget if that is less.
        cut_by_budget = self.budget.wall_left() < self.limits.cells_seconds
        deadline = self._deadline(min(self.limits.cells_seconds, self.budget.wall_left()))
        # Cell events are the student's to forge: only the cells sent, each reported once per run.
        sent, reported = {c.id for c in cells}, set()
        current, crash = None, None
        started, waited = time.perf_counter(), self.budget.run_queue_wait(self.worker_pid)
        try:
            while True:
                event = protocol.parse_cell_event(self._receive(deadline), sent)
                if isinstance(event, protocol.ExecDone):
                    break
                if event is None or event.id in reported:
                    continue
                if isinstance(event, protocol.CellStart):
                    current = event.id
                else:
                    reported.add(event.id)
                    if event.error:
                        self.cell_errors[event.id] = event.error.to_message()
                    if event.id == current:
                        current = None
        except (EOFError, TimeoutError, wire.WireError, protocol.ProtocolError) as exc:
            crash = exc
        finally:
            elapsed, now_waited = time.perf_counter() - started, self.budget.run_queue_wait(self.worker_pid)
            self.cost["cells_seconds"] += elapsed
            self.budget.add_wall(elapsed, now_waited - waited if None not in (waited, now_waited) else None)
            self.budget.look(self.worker_pid)
            self.cost["budget_cpu"], self.cost["budget_seconds"] = self.budget.cpu, self.budget.wall
        if crash is not None:
            if isinstance(crash, TimeoutError) and cut_by_budget:
                self.budget.wall_ran_out()
            reason = ("ran longer than the time limit" if isinstance(crash, TimeoutError)
                      else self._death_reason())
            forked, counted = self.zygote is not None, self.cost["worker_cpu"]
            self.stop()
            if forked:
                self.budget.ended(self.cost["worker_cpu"] - counted)
            if self.budget.spent():  # no restart: the notebook's budget is spent
                raise StudentCrashed(self.budget.message())
            if current is None:
                raise StudentCrashed(f"the answer cells could not be run: {reason}") from None
            self.broken_cells[current] = reason
            self.cell_errors[current] = {"type": "CellCrashed", "message": reason, "where": []}
            self._spawn()

    def stop(self, grace: float = 0.0) -> None:
        """End the worker and everything it started: killing bwrap ends the worker's PID
        namespace, so even a detached process of the student's dies with it; a zygote
        kills every process of its namespace but itself, and empties /tmp, /dev/shm and
        SysV IPC, before it forks the next worker. ``grace``: seconds a forked worker may take
        to end on its own first (``EXIT_GRACE_SECONDS`` once the notebook's tests are done)."""
        self.ahead.forget()
        if not self.running:
            return
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.zygote is not None:
            # With its pipes closed the worker ends on its own at once; its init then reaps it and
            # the zygote's count (wait4) covers it and what it started. Killed with its PID
            # namespace instead, it is reaped by the kernel uncounted (a cost figure only: the
            # notebook's budget reads /proc).
            ended = self._end_forked(grace)
            self.cost["worker_cpu"] += ended.cpu if ended.cpu is not None else self._worker_cpu
            zygotes.give_back(self.zygote, self.settings.idle_zygotes)
            self.zygote, self._ended = None, None
        else:
            self.cost["worker_cpu"] += self._worker_cpu
            for kill in (lambda: os.killpg(self.proc.pid, 9), self.proc.kill):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
            self.proc.wait()
        self._worker_cpu = 0.0
        self.proc, self.worker_pid, self._tree = None, None, None
        if self.logdir:
            shutil.rmtree(self.logdir, ignore_errors=True)
            self.logdir = None

    def _death_reason(self) -> str:
        if not self.running:
            return "the process stopped"
        if self.zygote is not None:
            code = self._end_forked(2.0).returncode
            if code is None:
                return "the process stopped answering"
        else:
            try:
                code = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                return "the process stopped answering"
        signal_number = -code if code < 0 else code - 128 if code > 128 else 0  # bwrap reports 128 + signal
        if signal_number == 9:
            return "the process was killed (out of memory or over a limit)"
        if signal_number == 24:  # SIGXCPU
            return "it used more CPU time than allowed"
        if signal_number:
            return f"the process was killed by signal {signal_number}"
        return f"the process exited with status {code} (os._exit or a crash)"

    # -- messages
    def _deadline(self, seconds: float) -> cpu_wait.LoadAwareDeadline:
        """``seconds`` of wall clock, not counting the time the worker waits for a CPU: a
        busy machine must not change a verdict."""
        if self._tree is None:
            self._tree = cpu_wait.threads_of(cpu_wait.process_tree(self.worker_pid)) if self.worker_pid else []
        return cpu_wait.LoadAwareDeadline(seconds, self.worker_pid, self._tree)

    def _send(self, message: dict, deadline: float | None = None) -> None:
        try:
            wire.send(self.to_worker, message, deadline=deadline)
        except (BrokenPipeError, OSError):
            raise EOFError("the worker is gone") from None

    def _receive(self, deadline: float, allow_meta: bool = False) -> dict:
        accept = wire.Acceptance(max_bytes=self.limits.reply_bytes, max_elements=self.limits.reply_elements,
                                 allow_meta=allow_meta)
        message = wire.receive(self.from_worker, deadline=deadline, accept=accept)
        cpu = protocol.reported_cpu(message)
        if cpu is not None:
            self._worker_cpu = cpu
        return message

    def request(self, label: str, request: protocol.CallRequest, timeout: float | None = None,
                allow_meta: bool = False) -> protocol.CallReply:
        """Send one call; returns the reply, or raises StudentCrashed (it did not answer)
        or StudentFailure (it answered with something the judge does not accept)."""
        if self._first_calls is not None or self.predicting:
            if self._first_calls is not None:
                self._first_calls.append((label, request, timeout, allow_meta))
            raise calls_ahead.FirstCall()
        if self.budget.spent():  # the notebook's budget: every further call fails at once
            raise StudentFailure(self.budget.message())
        if label in self.poisoned:
            raise StudentCrashed(self.poisoned[label])
        ahead, taken = None, None
        if self.ahead:  # calls were sent ahead: is this the next of them?
            ahead = calls_ahead.predicted(label, request, timeout, allow_meta)
            taken = self.ahead.take(ahead)
            if taken is None:  # the test went another way: what was sent ahead is dropped
                self.settle()
        if not self.running:
            self._spawn()
        if self.budget.spent():
            raise StudentFailure(self.budget.message())
        timeout, cpu, cut_by_budget = self._call_limits(timeout)
        frame = ahead.frame(cpu) if taken == "unsent" else None
        failure = StudentCrashed
        self.cost["calls"] += 1
        started = time.perf_counter()
        try:
            deadline = self._deadline(timeout)
            if frame is not None:
                self._send_frame(frame, deadline)
            elif taken != "sent":
                message = request.to_message()
                message.setdefault("cpu_seconds", cpu)
                self._send(message, deadline)  # a worker that stops reading cannot stall the judge
            self._send_ahead()
            return protocol.CallReply.parse(self._receive(deadline, allow_meta))
        except TimeoutError:
            reason = f"{label} did not finish within {timeout:g} seconds (an infinite loop?)"
            if cut_by_budget:  # its deadline was what was left of the notebook's budget
                self.budget.wall_ran_out()
        except EOFError:
            reason = f"{label} stopped the grading process: {self._death_reason()}"
        except (wire.WireError, protocol.ProtocolError) as exc:  # the stream may be out of step: a fresh worker serves the rest
            reason, failure = f"{label} gave back something the grader does not accept: {exc}", StudentFailure
        finally:
            elapsed = time.perf_counter() - started
            self.cost["call_seconds"] += elapsed
            self.budget.account_call(elapsed, self.worker_pid)
            self.cost["budget_cpu"], self.cost["budget_seconds"] = self.budget.cpu, self.budget.wall + self.budget.pending
        self._stop_counted()
        if self.budget.spent():  # cut short by the budget, or over it now: say so
            reason, failure = self.budget.message(), StudentFailure
        self.poisoned[label] = reason
        raise failure(reason)

    def _call_limits(self, timeout: float | None) -> tuple[float, float, bool]:
        """A call's wall-clock and CPU limits (``timeout``: the time the test gives it, if any),
        and whether its wall clock is cut to what is left of the notebook's budget."""
        cpu = self.limits.cpu_seconds
        if timeout:  # a call given more time (training, say) gets the CPU time to use it, and some
            # more, so that a loop on one thread always meets the wall clock first: its message
            # ("did not finish within") must not depend on which limit the machine's load fires first.
            cpu = max(cpu, timeout * self.limits.threads + max(1.0, timeout / 4))
        timeout = timeout or self.limits.call_seconds
        # No call runs past the notebook's budget: its limits are cut to what is left of it.
        wall_left = self.budget.wall_left()
        return min(timeout, wall_left), min(cpu, self.budget.cpu_left()), wall_left < timeout

    def _stop_counted(self) -> None:
        """Stop the worker, its CPU counted in the notebook's budget."""
        forked, counted = self.zygote is not None, self.cost["worker_cpu"]
        self.stop()
        if forked:  # the zygote's count of the ended worker's CPU (its own, never the worker's word)
            self.budget.ended(self.cost["worker_cpu"] - counted)

    def _send_frame(self, frame: bytes, deadline) -> None:
        try:
            wire._write_all(self.to_worker, frame, deadline)
        except (BrokenPipeError, OSError):
            raise EOFError("the worker is gone") from None

    # -- calls sent ahead (calls_ahead.py)
    @contextlib.contextmanager
    def taking_first_call(self):
        """While the block runs, a call raises ``calls_ahead.FirstCall`` and is sent nowhere, but
        noted in the list yielded (more than one: the block caught FirstCall and went on)."""
        self._first_calls = []
        try:
            yield self._first_calls
        finally:
            self._first_calls = None

    def can_send_ahead(self) -> bool:
        return self.ahead.depth > 1 and self.running and not self.budget.spent()

    def depth_ahead(self, first_call_seconds: float) -> int:
        """How many calls may wait ahead for a test whose first call took ``first_call_seconds``."""
        return calls_ahead.depth_for(first_call_seconds, self.ahead.depth, self.settings.calls_ahead_seconds)

    def send_ahead(self, calls: list[calls_ahead.Predicted], depth: int) -> None:
        """Send ``calls`` (a test's next ones, in order) before the test makes them, at most
        ``depth`` waiting at a time."""
        self.settle()
        if self.can_send_ahead():
            self.ahead.expect(calls, depth)
            self._send_ahead()

    def _send_ahead(self) -> None:
        """Send what is due of the calls predicted. A worker gone or a pipe full stops sending
        ahead; the call whose reply is read next says what happened, if anything did."""
        if not self.ahead.due():
            return
        try:
            while self.ahead.unsent:
                call = self.ahead.unsent[0]
                if call.label in self.poisoned:
                    break
                timeout, cpu, _ = self._call_limits(call.timeout)
                frame = call.frame(cpu)
                if not self.ahead.next_to_send(len(frame)):
                    return
                # A plain deadline: what is sent ahead fits in the pipe (calls_ahead.MAX_BYTES_AHEAD).
                self._send_frame(frame, time.monotonic() + timeout)
                self.ahead.mark_sent(len(frame))
                self.cost["calls_ahead"] += 1
            else:
                return
        except (EOFError, TimeoutError):
            pass
        self.ahead.unsent.clear()

    def settle(self) -> None:
        """Read and drop the replies of calls sent ahead that the test did not make (it stopped,
        or made another call): the worker runs them all the same, and they count towards the
        notebook's budget. A worker that does not answer them within a call's time is stopped."""
        if not self.ahead.sent:  # every way out forgets what was predicted
            self.ahead.forget()
            return
        self.cost["calls_ahead_dropped"] += len(self.ahead.sent)
        if not self.running or self.budget.spent():
            self._stop_counted()
            return
        started, answered = time.perf_counter(), False
        seconds, _, cut_by_budget = self._call_limits(None)
        try:
            deadline = self._deadline(seconds)
            while self.ahead.sent:
                call, _ = self.ahead.sent.popleft()
                self._receive(deadline, call.allow_meta)
            answered = True
        except TimeoutError:
            if cut_by_budget:
                self.budget.wall_ran_out()
        except (EOFError, wire.WireError, protocol.ProtocolError):
            pass
        finally:
            self.ahead.forget()
            elapsed = time.perf_counter() - started
            self.cost["call_seconds"] += elapsed
            self.budget.account_call(elapsed, self.worker_pid)
        if not answered:
            self._stop_counted()


def _map_leaves(value, fn):
    if type(value) is tuple:  # not torch.Size, which is a tuple too
        return tuple(_map_leaves(v, fn) for v in value)
    if isinstance(value, list):
        return [_map_leaves(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_leaves(v, fn) for k, v in value.items()}
    return fn(value)


class RemoteObject:
    """An object the student's code made; it stays in the worker. ``origin``: the name the
    judge called to get it (e.g. "SimpleMnist"), which labels its methods' calls; never
    the type name the worker reports, which the student controls."""

    def __init__(self, handle: wire.Handle, student: "Student"):
        self.handle = handle
        self.student = student
        self.origin: str | None = None

    def __repr__(self):
        return f"<{self.handle.type_name} object>"


class Student:
    """The API hidden tests use; every call crosses to the worker as plain data."""

    def __init__(self, process: StudentProcess, forbidden_builtins: dict | None = None):
        self._process = process
        self._forbidden = forbidden_builtins or {}

    def __repr__(self):
        return "student"

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def _decode_reply(self, label: str, reply: protocol.CallReply, code: str | None = None):
        if not reply.ok:
            error = reply.error.to_message()
            if code:  # grader code the student's code could read by walking up its frames
                for line in {line.strip() for line in code.splitlines() if len(line.strip()) >= 8}:
                    error["message"] = error["message"].replace(line, "[grader code]")
            if error.get("type") == "NameError" and label.split(".")[0] in str(error.get("message", "")):
                raise StudentFailure(self._missing_message(label.split(".")[0]))
            raise StudentRaised(label, error)
        return self._wrap(reply.value)

    def _wrap(self, value):
        """Handles from the worker become RemoteObjects, inside containers too."""
        return _map_leaves(value, lambda v: RemoteObject(v, self) if isinstance(v, wire.Handle) else v)

    def _unwrap(self, value):
        """RemoteObjects go back to the worker as their handles."""
        return _map_leaves(value, lambda v: v.handle if isinstance(v, RemoteObject) else v)

    def _missing_message(self, name: str) -> str:
        problems = [f"answer cell '{cell}' raised {e.get('type')}: {e.get('message', '')}".rstrip()
                    for cell, e in self._process.cell_errors.items()]
        text = f"{name} is not defined by your answer cells."
        if problems:
            text += " " + "; ".join(problems)
        return text

    def call(self, name: str, *args, return_inputs: bool = False, timeout: float | None = None,
             forbid: list | None = None, allow_meta: bool = False, **kwargs):
        """Call the student's function ``name``; with ``return_inputs`` also return
        the arguments as they are after the call, to see in-place changes."""
        request = protocol.CallRequest("call", target=name, args=self._unwrap(list(args)), kwargs=self._unwrap(kwargs),
                                       return_inputs=return_inputs,
                                       forbid=self._forbidden.get(name, []) if forbid is None else forbid)
        reply = self._process.request(name, request, timeout, allow_meta)
        value = self._decode_reply(name, reply)
        if isinstance(value, RemoteObject) and value.origin is None:
            value.origin = name
        if return_inputs:
            return value, reply.input_args()
        return value

    def call_method(self, obj: RemoteObject, method: str, *args, timeout: float | None = None,
                    forbid: list | None = None, label: str | None = None, allow_meta: bool = False, **kwargs):
        """Call ``obj.method(*args)`` in the worker (e.g. a module's ``forward``)."""
        label = label or f"{obj.origin or 'object'}.{method}"
        forbidden = self._forbidden.get(label, []) if forbid is None else forbid
        request = protocol.CallRequest("call_method", target=obj.handle, method=method, args=self._unwrap(list(args)),
                                       kwargs=self._unwrap(kwargs), forbid=forbidden)
        return self._decode_reply(label, self._process.request(label, request, timeout, allow_meta))

    def eval(self, expression: str, *, label: str = "your code", timeout: float | None = None,
             forbid: list | None = None, **bindings):
        """Evaluate a grader expression in the student's namespace (e.g. to list a
        module's parameters); the result crosses back as plain data."""
        request = protocol.CallRequest("eval", code=expression, bindings=self._unwrap(bindings),
                                       forbid=self._forbidden.get(label, []) if forbid is None else forbid)
        return self._decode_reply(label, self._process.request(label, request, timeout), expression)

    def run(self, statements: str, *, label: str = "your code", timeout: float | None = None,
            forbid: list | None = None, **bindings):
        """Run grader statements in the student's namespace; returns their ``result``
        variable as plain data (e.g. to call get_device with CUDA made to look present)."""
        request = protocol.CallRequest("run", code=statements, bindings=self._unwrap(bindings),
                                       forbid=self._forbidden.get(label, []) if forbid is None else forbid)
        return self._decode_reply(label, self._process.request(label, request, timeout), statements)

