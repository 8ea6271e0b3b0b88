"""nbgrader's way in: a preprocessor that grades a notebook with the hidden tests.

It takes the place of nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``
(see ``course_config.py``), so plain ``nbgrader autograde`` and the formgrader's
button produce the grades. The student's kernel never runs: the answer cells go to
a sandboxed worker, the hidden tests run in a clean judge process, and each graded
cell gets an output that nbgrader's own ``SaveAutoGrades`` scores (an error output
is zero, anything else full marks) and ``generate_feedback`` shows.
"""
from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from dataclasses import asdict

from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Dict, List, Unicode, default, validate
from traitlets.config.loader import PyFileConfigLoader

from autograder import cell_conventions
from autograder.engine.judge import sandbox
from autograder.engine.nbgrader_side.judge_client import JudgeServer, JudgeServerFailed
from autograder.engine.shared.limits import EngineSettings, Limits
from autograder.engine.shared.cells import Cell
from autograder.engine.shared import worker_imports
from autograder.engine.shared.protocol import JudgeResults

# The per-property results written beside each autograded notebook, for the class report.
RESULTS_SUFFIX = ".results.json"
RESULTS_VERSION = 1
# What Python and pytest take from the environment, kept from the judge: a grade must not depend
# on the grading shell (PYTHONWARNINGS=error, PYTHONOPTIMIZE, PYTEST_ADDOPTS="-k ...") or on the
# pytest plugins installed beside the course (pytest-randomly reorders tests and reseeds): the
# judge loads only the plugins its arguments name (autoload off), hypothesis's among them.
PYTEST_FROM_ENVIRONMENT = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


def judge_environment(course_root: str, threads: str) -> dict:
    """The judge's environment: the grading process's, without any PYTHON* variable or pytest's
    own, with the course on the path, a fixed hash seed and plugin autoload off."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PYTHON") and name not in PYTEST_FROM_ENVIRONMENT}
    env.update(PYTHONPATH=course_root, PYTHONHASHSEED="0", OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return env


class GradingError(RuntimeError):
    """The course's side failed (a broken hidden test, a missing folder, no sandbox): never scored."""


class JudgeFailed(RuntimeError):
    """The judge of one notebook died or ran out of time: that notebook scores zero, with a note."""


class GradeWithHiddenTests(NbGraderPreprocessor):
    """Score each graded test cell from the hidden pytest + hypothesis tests."""

    course_root = Unicode(help="The course's root folder.").tag(config=True)
    hidden_tests = Unicode(help="Folder with one folder of hidden tests per assignment.").tag(config=True)
    replay_examples = Bool(True, help="Within one grading process, call each hidden test with the examples "
                           "hypothesis drew for it in an earlier notebook (same verdicts, far less CPU; "
                           "hypothesis draws afresh where anything fails or differs). False: it draws "
                           "every time; examples recorded at release (example_replay.RECORDING_NAME) are "
                           "replayed from the first notebook.").tag(config=True)
    record_examples = Bool(False, help="Write the examples of every hidden test beside the tests after "
                           "grading (instructor.release does, with our solution).").tag(config=True)
    limits = Dict(help="Overrides of the worker's limits by field name (the fields, their defaults and "
                  "meaning: autograder.engine.shared.limits.Limits); an unknown name or a value that is not "
                  "a positive number of the field's type is an error.").tag(config=True)
    settings = Dict(help="Overrides of the engine's settings by field name (hypothesis's examples, the "
                    "judge's time, memory, threads and reuse, the sandbox's start: the fields, their "
                    "defaults and meaning are autograder.engine.shared.limits.EngineSettings); refused as "
                    "limits are.").tag(config=True)
    readable_paths = List(Unicode(), help="Absolute paths student code may read, beyond Python, "
                          "its packages and the course's helper package.").tag(config=True)
    allow_unsandboxed = Bool(False, help="Grade even where no sandbox can be built (student code then "
                             "runs with the grading user's rights; every run logs it). Off by default: "
                             "grading refuses instead.").tag(config=True)

    _reported_gaps: set = set()

    @classmethod
    def configured(cls, course_root: str, **traits) -> "GradeWithHiddenTests":
        """The preprocessor as ``nbgrader autograde`` run in ``course_root`` configures it
        (its ``nbgrader_config.py``, which loads ``course_config.py``), with ``traits`` on top:
        for tools that grade without nbgrader, under the course's own limits."""
        config = PyFileConfigLoader("nbgrader_config.py", path=course_root).load_config()
        return cls(config=config, **traits)

    @default("course_root")
    def _default_course_root(self):
        return os.getcwd()

    @validate("limits")
    def _valid_limits(self, proposal):
        Limits.from_overrides(proposal.value)  # raises LimitsError, naming the field, on a typo
        return proposal.value

    @validate("settings")
    def _valid_settings(self, proposal):
        EngineSettings.from_overrides(proposal.value)  # as limits: LimitsError, naming the field
        return proposal.value

    @default("hidden_tests")
    def _default_hidden_tests(self):
        return os.path.join(self.course_root, "autograder", "hidden")

    # ------------------------------------------------------------------ steps
    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        tests_dir = os.path.join(self.hidden_tests, info["assignment"])
        if not os.path.isdir(tests_dir):
            raise GradingError(f"no hidden tests for assignment {info['assignment']!r}: expected "
                               f"a folder {tests_dir}")
        sandboxed = self.sandbox_or_refuse()
        cells = self.student_cells(nb, info["db_url"], info["notebook"], info["assignment"])
        started = time.monotonic()
        try:
            results = self.run_hidden_tests(tests_dir, cells, sandboxed)
        except JudgeFailed as exc:
            self.log.error("Grading %s of %s failed, scored 0: %s", info["notebook"], info["student"], exc)
            results = JudgeResults.failed(str(exc)).to_message()
        self.write_outputs(nb, results)
        # nbconvert's writer puts resources["outputs"] beside the autograded notebook (never in
        # feedback: course_config.py's CourseDirectory.ignore keeps generate_feedback from copying it).
        resources.setdefault("outputs", {})[info["notebook"] + RESULTS_SUFFIX] = results_file(
            results, time.monotonic() - started, self.worker_limits(sandboxed))
        return nb, resources

    def sandbox_or_refuse(self) -> bool:
        """Whether student code runs sandboxed; refuses when it cannot and the course
        has not explicitly allowed grading without one."""
        problem = sandbox.probe(self.engine_settings().sandbox_probe_seconds)
        if problem is None:
            return True
        if not self.allow_unsandboxed:
            raise GradingError(f"grading refused: no sandbox can be built for student code: {problem}. "
                               f"(To grade without one anyway, which lets student code read and write "
                               f"whatever the grading user can, set "
                               f"c.GradeWithHiddenTests.allow_unsandboxed = True in course_config.py.)")
        self.log.warning("UNSANDBOXED grading (allowed by course_config.py): %s", problem)
        return False

    def student_cells(self, nb, db_url: str, notebook_id: str, assignment_id: str) -> list[Cell]:
        """Setup cells as the instructor wrote them, then the student's answer cells."""
        with Gradebook(db_url) as gb:
            source = gb.find_notebook(notebook_id, assignment_id)
            setup = [Cell(c.name, c.source) for c in source.source_cells
                     if c.cell_type == "code" and cell_conventions.is_setup_id(c.name)]
            answer_ids = {c.name for c in source.solution_cells}
        return setup + answer_cells(nb, answer_ids)

    def worker_limits(self, sandboxed: bool = True, tests_dir: str | None = None) -> Limits:
        """The one value that bounds a submission's grading, as the judge and its worker get it;
        with the assignment's ``tests_dir``, what its workers import ahead (shared/worker_imports.py)."""
        try:
            imports = worker_imports.read(tests_dir) if tests_dir else ()
        except worker_imports.WorkerImportsError as exc:
            raise GradingError(str(exc)) from None
        return Limits.from_overrides(self.limits, readable_paths=list(self.readable_paths), sandbox=sandboxed,
                                     worker_imports=list(imports))

    def engine_settings(self) -> EngineSettings:
        """How the engine grades (the judge's side and nbgrader's), as the course configured it."""
        return EngineSettings.from_overrides(self.settings)

    def _limit_judge(self):
        memory = self.engine_settings().judge_memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def run_hidden_tests(self, tests_dir: str, cells: list[Cell], sandboxed: bool = True) -> dict:
        settings = self.engine_settings()
        # Recording, the worker imports nothing ahead: what it holds at the end is then what our
        # solution's run imported, in the order it did (judge/import_recording.py).
        limits = self.worker_limits(sandboxed, None if self.record_examples else tests_dir)
        with tempfile.TemporaryDirectory(prefix="grading-") as work:
            submission = os.path.join(work, "submission.json")
            results = os.path.join(work, "results.json")
            with open(submission, "w") as f:
                json.dump({"cells": [asdict(c) for c in cells], "limits": limits.to_dict(),
                           "settings": settings.to_dict()}, f)
            args = [tests_dir, "-p", "autograder.engine.judge.plugin", "-p", "_hypothesis_pytestplugin",
                    f"--submission={submission}",
                    f"--results={results}", "--assert=plain", "-p", "no:cacheprovider", "-q", "--no-header",
                    # pytest's unraisable-exception plugin runs gc.collect() twice at the end of
                    # every session: ~1 CPU-s per notebook in a judge that holds torch.
                    "-p", "no:unraisableexception",
                    # No student code runs here, so there are no logs to capture: its per-test
                    # handlers cost ~0.1 CPU-s a notebook.
                    "-p", "no:logging",
                    "-rN", f"--rootdir={self.course_root}", "-c", os.devnull, "--import-mode=importlib",
                    # Without it, "-c /dev/null" puts the limit at /dev, and pytest would list every
                    # folder from / down to the tests (/tmp's or /home's thousands of entries: up to
                    # 0.07 CPU-s a notebook) and import any conftest.py it met there into the judge.
                    # (A relative tests_dir is the judge's, whose folder is the course's.)
                    f"--confcutdir={os.path.dirname(os.path.join(self.course_root, tests_dir))}",
                    *([] if self.replay_examples else ["--draw-afresh"]),
                    *(["--record-examples"] if self.record_examples else [])]
            threads = str(settings.judge_threads)
            env = judge_environment(self.course_root, threads)
            try:
                judge = JudgeServer.for_course(self.course_root, env, settings, preexec_fn=self._limit_judge)
                run = judge.grade(tests_dir, args, settings.notebook_seconds)
            except JudgeServerFailed as exc:
                raise JudgeFailed(str(exc)) from None
            if run.exit < 0 or "MemoryError" in run.output:
                raise JudgeFailed(f"the judge stopped: {run.output.strip()[-500:]}")
            if run.exit not in (0, 1) or not os.path.exists(results):
                raise GradingError(f"the hidden tests in {tests_dir} could not run "
                                   f"(pytest exit {run.exit}):\n{run.output[-3000:]}")
            try:
                with open(results) as f:
                    outcome = JudgeResults.parse(json.load(f))  # ProtocolError: a ValueError
            except ValueError as exc:
                raise JudgeFailed(f"the judge's results could not be read: {exc}") from None
        if outcome.collection_errors:
            raise GradingError("broken hidden tests:\n" + "\n".join(outcome.collection_errors))
        for gap in outcome.sandbox_gaps:
            if gap not in self._reported_gaps:
                self._reported_gaps.add(gap)
                self.log.warning("Sandbox: %s", gap)
        # As results.json holds them (what write_outputs, the results file and the tools read).
        return outcome.to_message()

    def write_outputs(self, nb, results: dict) -> None:
        """Each check cell's output; the feedback of each cell and of the notebook in all is
        bounded by the course's limits (``feedback_*``), whatever the submission sent."""
        limits = Limits.from_overrides(self.limits)
        room = limits.feedback_bytes  # what is left of the notebook's feedback
        by_cell: dict[str, list] = {}
        for record in results["tests"]:
            by_cell.setdefault(record["cell"], []).append(record)
        for cell in nb.cells:
            if not cell_conventions.is_check(cell):
                continue
            grade_id = cell_conventions.grade_id(cell)
            if results.get("judge_failed"):
                cell.outputs = [new_output("error", ename="GradingFailed", evalue=results["judge_failed"],
                                           traceback=["The grader could not grade this notebook, so it "
                                                      "scores 0 for now; your instructor has been told.",
                                                      results["judge_failed"]])]
                cell.execution_count = None
                continue
            records = by_cell.get(grade_id)
            if not records:
                raise GradingError(f"graded cell {grade_id!r} has no hidden test")
            output = feedback_output(records, limits, room)
            room -= output_bytes(output)
            cell.outputs = [output]
            cell.execution_count = None


def results_file(results: dict, wall_seconds: float, limits: Limits) -> bytes:
    """What the class report reads of one notebook's grading: each hidden test's record (test,
    graded cell, passed, the property's sentence, message, smallest failing input, expected and
    got where a check gave them), the grading's cost and what went wrong on the grader's side.
    Grader-written; never part of what the student receives."""
    cost = {key: float(value) for key, value in (results.get("cost") or {}).items()
            if isinstance(value, (int, float))}
    # This notebook's own CPU (as benchmarks/grading_profile.py counts it): the judge's collection
    # and tests and the student's worker; not judge_process_cpu, a persistent judge's start.
    cpu = sum(cost.get(key, 0.0) for key in ("judge_collect_cpu", "judge_tests_cpu", "worker_cpu"))
    budget_spent = (cost.get("budget_cpu", 0.0) >= limits.notebook_cpu_seconds
                    or cost.get("budget_seconds", 0.0) >= limits.notebook_wall_seconds)
    return json.dumps({
        "version": RESULTS_VERSION,
        "tests": results.get("tests", []),
        "judge_failed": results.get("judge_failed"),
        "cell_errors": results.get("cell_errors", {}),
        "cost": {**cost, "cpu_seconds": cpu, "wall_seconds": wall_seconds},
        "budget": {"cpu_seconds": limits.notebook_cpu_seconds, "wall_seconds": limits.notebook_wall_seconds,
                   "spent": budget_spent},
    }, indent=1, default=str).encode()


def answer_cells(nb, answer_ids: set) -> list[Cell]:
    """The student's code cells that answer the source's answer cells ``answer_ids``: all
    of the student's code that grading runs, besides the instructor's setup cells."""
    answers = []
    for cell in nb.cells:
        grade_id = cell_conventions.grade_id(cell)
        if cell_conventions.is_answer(cell) and grade_id in answer_ids:
            answers.append(Cell(grade_id, cell.source))
    return answers


def program_cells(source_nb, nb) -> list[Cell]:
    """What grading runs for notebook ``nb`` of the assignment whose source notebook is
    ``source_nb``, read from the notebooks rather than the gradebook (for tools and tests)."""
    setup = [Cell(cell_conventions.grade_id(c), c.source) for c in source_nb.cells if cell_conventions.is_setup(c)]
    answer_ids = {cell_conventions.grade_id(c) for c in source_nb.cells if cell_conventions.is_answer(c)}
    return setup + answer_cells(nb, answer_ids)


def output_bytes(output) -> int:
    """The size of a check cell's feedback: its lines in UTF-8."""
    lines = output.get("traceback") if output.get("output_type") == "error" else [output.get("text", "")]
    return sum(len(line.encode("utf-8", "replace")) + 1 for line in lines)


def _cut_text(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters with a note saying how much was cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit:,} characters cut]"


def _fold_runs(lines: list[str]) -> list[str]:
    """Runs of one line repeated, as that line once and a count."""
    folded: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j + 1 < len(lines) and lines[j + 1] == lines[i]:
            j += 1
        folded.append(lines[i])
        if j > i:
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            folded.append(f"{indent}[the line above repeated {j - i:,} more times]")
        i = j + 1
    return folded


def _failure_lines(records: list[dict], failed: list[dict], message_chars: int, fold: bool) -> list[str]:
    """Each failed property with its message and smallest failing input (each cut at
    ``message_chars``), then the passed ones; with ``fold``, runs of a repeated line and a
    message that repeats an earlier one's are folded."""
    lines: list[str] = []
    seen: dict[str, str] = {}
    for record in failed:
        lines.append(f"✗ {record['property']}")
        for text in record.get("rule_texts") or []:  # the notebook's words for the rule broken
            lines.append("    " + _cut_text(f"The notebook's rule: {text}", message_chars))
        message = _cut_text(str(record.get("message") or ""), message_chars)
        if fold and message and message in seen:
            lines.append(f"    [the same message as for {seen[message]!r}]")
        else:
            seen.setdefault(message, record["property"])
            body = ["    " + line for line in message.splitlines()]
            lines.extend(_fold_runs(body) if fold else body)
        if record.get("example"):
            lines.append("    Smallest failing input:")
            body = ["        " + line for line in _cut_text(str(record["example"]), message_chars).splitlines()]
            lines.extend(_fold_runs(body) if fold else body)
    for record in records:
        if record["passed"]:
            lines.append(f"✓ {record['property']}")
    return lines


def _bounded(lines: list[str], room: int, note: str) -> list[str]:
    """``lines`` within ``room`` bytes: the property lines (ours, one per test) always kept,
    details kept in order while they fit, and a note saying what was cut."""
    size = lambda line: len(line.encode("utf-8", "replace")) + 1  # noqa: E731
    if sum(map(size, lines)) <= room:
        return lines
    headers = sum(size(line) for line in lines if not line.startswith(" "))
    left = room - headers - 200  # the note's own room
    kept, cut_lines, cut_bytes = [], 0, 0
    for line in lines:
        if not line.startswith(" "):
            kept.append(line)
        elif cut_lines == 0 and size(line) <= left:
            kept.append(line)
            left -= size(line)
        else:
            cut_lines, cut_bytes = cut_lines + 1, cut_bytes + size(line)
    if cut_lines:
        kept.append(f"[... {cut_lines:,} lines ({cut_bytes:,} bytes) of details cut: {note}]")
    return kept


def feedback_output(records: list[dict], limits: Limits | None = None, room: int | None = None):
    """One output for a graded cell: a pass note, or an error that teaches. Its size is
    bounded whatever the records hold (they carry what the student's code sent): each message
    at ``limits.feedback_message_chars``, the cell at ``limits.feedback_cell_bytes`` or ``room``
    (what is left of the notebook's ``feedback_bytes``), if less. Over its bound, repeated
    lines and messages are folded first, then details are cut, with a note saying so; within
    it, the feedback is as written."""
    limits = limits or Limits()
    failed = [r for r in records if not r["passed"]]
    if not failed:
        lines = [f"✓ {r['property']}" for r in records]
        return new_output("stream", name="stdout", text="\n".join(lines) + "\n")
    cell_room = limits.feedback_cell_bytes if room is None else max(min(room, limits.feedback_cell_bytes), 0)
    lines = _failure_lines(records, failed, limits.feedback_message_chars, fold=False)
    if sum(len(line.encode("utf-8", "replace")) + 1 for line in lines) > cell_room:
        if cell_room < limits.feedback_cell_bytes:
            note = f"this notebook's feedback is limited to {limits.feedback_bytes:,} bytes in all"
        else:
            note = f"the feedback of one check cell is limited to {limits.feedback_cell_bytes:,} bytes"
        lines = _bounded(_failure_lines(records, failed, limits.feedback_message_chars, fold=True), cell_room, note)
    return new_output("error", ename="PropertyFailed", evalue=failed[0]["property"], traceback=lines)
