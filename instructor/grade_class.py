"""Grade an assignment's submissions in parallel on Dask, each through nbgrader's own Autograde.

    python -m instructor.grade_class 01_normalization              # a LocalCluster on this machine's cores
    python -m instructor.grade_class 01_normalization --workers 4
    python -m instructor.grade_class 01_normalization --scheduler tcp://grader-0:8786 \\
        --db-url postgresql+psycopg://grader@db-host/mnist_course

One Dask task grades one submission: nbgrader's ``Autograde`` app, configured exactly as
``nbgrader autograde ASSIGNMENT --student STUDENT --force`` run in the course's root is
(the Jupyter config paths, then the course's ``nbgrader_config.py``), run inside the Dask
worker process through nbgrader's Python API. Grades, autograded notebooks and logs are
what plain ``nbgrader autograde`` gives, so the formgrader, ``generate_feedback`` and
``export`` see no difference. nbgrader, its configuration and the grading engine's imports
are loaded once per Dask worker, not once per submission.

Before the fan-out the gradebook is created or migrated and every student added, once
(see ``instructor/gradebook.py``). A submission whose grading fails costs that submission
only: it is reported, and running the command again grades what is not graded yet
(already graded submissions are skipped, as nbgrader skips them, unless ``--force``).
With a scheduler address, the Dask workers must see the course folder at the same path
(a shared filesystem, as nbgrader's exchange usually is) and reach the database: a shared
SQLite file over a network filesystem is unsafe, give them PostgreSQL.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from instructor import gradebook
from instructor.paths import add_course_arguments

# nbgrader's API per (course root, database URL), loaded once per process (a Dask worker).
_COURSE_APIS: dict = {}


@dataclass
class Outcome:
    """What happened to one submission."""
    student: str
    status: str  # graded | failed | skipped
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process and the grading processes it started
    worker: str = ""
    error: str = ""
    log: str = ""


@dataclass
class Report:
    assignment: str
    workers: int
    wall_seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> bool:
        return not self.of("failed")


# ----------------------------------------------------------------------------- configuration
def course_api(course_root: str, db_url: str | None = None):
    """nbgrader's API for a course, configured as ``nbgrader`` run in its root is; once per process."""
    key = (course_root, db_url)
    if key not in _COURSE_APIS:
        from jupyter_core.application import JupyterApp
        from nbgrader.apps import NbGraderAPI
        from nbgrader.apps.nbgraderapp import NbGraderApp
        from nbgrader.auth import Authenticator

        if not os.path.isfile(os.path.join(course_root, "nbgrader_config.py")):
            raise FileNotFoundError(f"{course_root} has no nbgrader_config.py: not a course folder")

        class CourseConfig(NbGraderApp):
            # The course root is given, not taken from this process's working directory.
            load_cwd_config = False

            def load_config_file(self, **kwargs):
                # The Jupyter config paths, without nbgrader's warning that none of them holds an
                # nbgrader_config.py: NbGrader.initialize loads the course's own next, from its root.
                JupyterApp.load_config_file(self, **kwargs)

        # nbgrader calls `alembic` by name: this environment's bin must be on PATH.
        bin_dir = os.path.dirname(sys.executable)
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        argv = [f"--CourseDirectory.root={course_root}"]
        if db_url:
            argv.append(f"--CourseDirectory.db_url={db_url}")
        app = CourseConfig()
        app.initialize(argv)
        _COURSE_APIS[key] = NbGraderAPI(coursedir=app.coursedir, authenticator=Authenticator(parent=app),
                                        parent=app)
    return _COURSE_APIS[key]


# ----------------------------------------------------------------------------- one Dask task
def process_tree_cpu_seconds() -> float:
    """CPU-seconds of this process and every process it started, finished or still running.

    The grading engine keeps its judge running from one notebook to the next, so the
    children this process has waited for are not all of it.
    """
    import psutil

    own, waited = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # it ended meanwhile: its parent's waited-for times will hold it
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return str(get_worker().name)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def failure_summary(log: str, error: str) -> str:
    """The lines of nbgrader's log that say why a submission failed."""
    lines = [line.strip() for line in log.splitlines()]
    said = [line for line in lines if line.startswith("[ERROR]") and "Please see the" not in line
            and "error processing assignment" not in line]
    raised = [line for line in lines + error.splitlines()
              if re.match(r"^[\w.]*(Error|Exception|Exit)\b", line.strip())]
    return "; ".join(dict.fromkeys(said[:2] + raised[-1:])) or (error.strip().splitlines() or ["unknown"])[-1]


def warm_up(course_root: str, db_url: str) -> None:
    """Load nbgrader and the course's configuration in this worker before its first task."""
    course_api(course_root, db_url)


def warm_judge(course_root: str, assignment: str) -> dict:
    """This worker's grading engine made ready for ``assignment`` before a student waits on it:
    our solution (the course's source notebook) graded once through the engine, never through
    nbgrader and never into a gradebook. The judge that nbgrader's Autograde in this process
    then uses (one per course and process, ``judge_server``) has started, with its sandbox's
    zygote, and holds the assignment's hidden tests and recorded examples, so the next
    submission pays only for its own notebook. Grades do not depend on it: a grade is a
    function of the notebook alone, whatever a grading process graded before
    (tests/test_order_independence.py). Returns {"assignment", "passed", "tests", "seconds"}."""
    import nbformat
    from nbgrader.utils import setenv

    from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, program_cells
    from instructor.paths import notebook_of

    start = time.monotonic()
    source_nb = nbformat.read(notebook_of(assignment, Path(course_root)), as_version=4)
    grader = GradeWithHiddenTests.configured(course_root)
    # In the environment nbgrader's Autograde grades in: the judge is kept per course and
    # environment, and one started without nbgrader's variable would not be the one it uses.
    with setenv(NBGRADER_EXECUTION="autograde"):
        results = grader.run_hidden_tests(os.path.join(grader.hidden_tests, assignment),
                                          program_cells(source_nb, source_nb), grader.sandbox_or_refuse())
    return {"assignment": assignment, "passed": sum(r["passed"] for r in results["tests"]),
            "tests": len(results["tests"]), "seconds": round(time.monotonic() - start, 1)}


def grade_submission(course_root: str, db_url: str, assignment: str, student: str) -> Outcome:
    """``nbgrader autograde ASSIGNMENT --student STUDENT --force``, in this (Dask worker) process."""
    api = course_api(course_root, db_url)
    start, cpu = time.monotonic(), process_tree_cpu_seconds()
    # Warnings (nbgrader's SQLAlchemy warnings on every new submission, say) go to this
    # submission's log rather than the worker's stderr. One task at a time per worker process.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        result = api.autograde(assignment, student, force=True, create=True)
    log = (result.get("log") or "") + "".join(
        f"[WARNING] {w.category.__name__}: {w.message}\n" for w in caught)
    return Outcome(student, "graded" if result["success"] else "failed",
                   seconds=time.monotonic() - start, cpu_seconds=process_tree_cpu_seconds() - cpu,
                   worker=_worker_name(),
                   error="" if result["success"] else failure_summary(log, result.get("error") or ""), log=log)


# ----------------------------------------------------------------------------- the class
def submissions(api, assignment: str, force: bool) -> tuple[list[str], list[str]]:
    """(students to grade, students already graded), by nbgrader's own rules.

    nbgrader's Autograde finds the submissions (its configured directory structure) and
    decides what is graded already: the autograded folder exists and nothing was handed in
    since. A folder whose notebooks are not all autograded (a grading killed half-way) is
    graded again.
    """
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.utils import temp_attrs

    coursedir = api.coursedir
    excluded = set(filter(None, coursedir.student_id_exclude.split(",")))
    to_grade, done = [], []
    with temp_attrs(coursedir, assignment_id=assignment, student_id="*"):
        app = Autograde(coursedir=coursedir, parent=api)
        try:
            app.init_notebooks()
        except NbGraderException:
            return [], []  # nothing handed in (nbgrader has logged where it looked)
        pattern = re.compile(app._format_source(re.escape(assignment), "(?P<student_id>[^/]+)", escape=True) + "$")
        for folder, notebooks in sorted(app.assignments.items()):
            match = pattern.match(folder)
            if match is None or match["student_id"] in excluded:
                continue
            student = match["student_id"]
            app.notebooks = sorted(notebooks)
            dest = app._format_dest(assignment, student)
            complete = all(os.path.exists(os.path.join(dest, os.path.basename(nb))) for nb in notebooks)
            if force or not complete or app.init_destination(assignment, student):
                to_grade.append(student)
            else:
                done.append(student)
    return to_grade, done


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None):
    """A client of the cluster at ``scheduler``, or of a new LocalCluster of worker processes."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            client.wait_for_workers(1, timeout=120)
            yield client
        return
    # One thread per worker process: each grading runs its own judge and sandboxed worker,
    # about one core's worth, and nbgrader's configuration is per process.
    with LocalCluster(n_workers=workers or usable_cores(), threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def grade_assignments(course: Path, assignments: list[str], *, scheduler: str | None = None,
                      workers: int | None = None, db_url: str | None = None, force: bool = False,
                      students: list[str] | None = None, log: Path | None = None,
                      progress: bool = True) -> dict[str, Report]:
    """Grade every submission of these assignments not graded yet, in parallel, on one cluster."""
    from distributed import as_completed

    course = Path(course).resolve()
    log = log or course / "grade_class.log"
    configured = course_api(str(course), db_url)
    url = gradebook.for_concurrent_writers(configured.coursedir.db_url)
    api = course_api(str(course), url)
    reports, work = {}, []
    for assignment in assignments:
        to_grade, done = submissions(api, assignment, force)
        if students is not None:
            to_grade, done = [s for s in to_grade if s in students], [s for s in done if s in students]
        reports[assignment] = Report(assignment, workers=0, outcomes=[Outcome(s, "skipped") for s in done])
        if to_grade:
            gradebook.prepare(url, api.coursedir.course_id, assignment, to_grade)
            work += [(assignment, student) for student in to_grade]
    if not work:
        return reports

    start = time.monotonic()
    with dask_client(scheduler, workers) as client, open(log, "a") as log_file:
        cluster_size = len(client.scheduler_info(n_workers=-1)["workers"])
        # Every worker pays nbgrader's imports and the configuration now, all at once, so a
        # worker that cannot (the course or the environment missing there) stops the run here.
        client.run(warm_up, str(course), url)
        log_file.write(f"==== grade_class {' '.join(assignments)}: {len(work)} submission(s) on "
                       f"{cluster_size} Dask worker(s), {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        futures = {client.submit(grade_submission, str(course), url, assignment, student, pure=False,
                                 key=f"autograde-{assignment}-{student}-{time.time_ns()}"): (assignment, student)
                   for assignment, student in work}
        bar = tqdm(total=len(futures), desc=f"grading {' '.join(assignments)}"[:60], unit="submission",
                   file=sys.stderr, disable=not progress)
        failed = 0
        for future in as_completed(futures):
            assignment, student = futures[future]
            try:
                outcome = future.result()
            except Exception as error:  # the task itself died (e.g. its worker was killed, repeatedly)
                outcome = Outcome(student, "failed", error=f"{type(error).__name__}: {error}")
            failed += outcome.status == "failed"
            reports[assignment].outcomes.append(outcome)
            log_file.write(f"---- {assignment} {student}: {outcome.status} on {outcome.worker or '?'} "
                           f"in {outcome.seconds:.1f} s\n{outcome.log}"
                           f"{outcome.error and 'error: ' + outcome.error + chr(10)}")
            bar.set_postfix_str(f"{student[:24]}{f', {failed} failed' if failed else ''}")
            bar.update(1)
        bar.close()
    for report in reports.values():
        report.workers, report.wall_seconds = cluster_size, time.monotonic() - start
    return reports


def grade_class(course: Path, assignment: str, **options) -> Report:
    """Grade every submission of ``assignment`` not graded yet, in parallel (see grade_assignments)."""
    return grade_assignments(course, [assignment], **options)[assignment]


def print_reports(reports: dict[str, Report], log: Path) -> None:
    from autograder.engine.nbgrader_side.flag_internals import LOG_TAG as FLAG_LOG_TAG

    for report in reports.values():
        graded, failed, skipped = report.of("graded"), report.of("failed"), report.of("skipped")
        if not report.outcomes:
            print(f"{report.assignment}: no submissions found")
        if graded:
            cpu = sum(o.cpu_seconds for o in graded) / len(graded)
            print(f"{report.assignment}: graded {len(graded)} submission(s), {cpu:.1f} CPU-s each")
            flagged = [o.student for o in graded if FLAG_LOG_TAG in o.log]
            if flagged:  # FlagInternals logged these: their affected check cells wait in manual grading
                print(f"{report.assignment}: FLAGGED for review (the source uses internals no exercise needs; "
                      f"see {log}): {', '.join(flagged)}")
        for outcome in failed:
            print(f"{report.assignment}: FAILED {outcome.student}: {outcome.error}")
        if skipped:
            print(f"{report.assignment}: {len(skipped)} already graded, skipped (--force grades them again)")
    ran = [r for r in reports.values() if r.of("graded") or r.of("failed")]
    if ran:
        count = sum(len(r.of("graded")) + len(r.of("failed")) for r in ran)
        print(f"{count} submission(s) in {ran[0].wall_seconds:.0f} s on {ran[0].workers} Dask worker(s)")
    failed = sum(len(r.of("failed")) for r in reports.values())
    if failed:
        print(f"{failed} failed; nbgrader's log of each is in {log}. Once fixed, run the command again: "
              f"it grades what is not graded yet.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="+", metavar="assignment",
                        help="one or more assignments, graded on one cluster")
    add_course_arguments(parser)
    parser.add_argument("--scheduler", help="address of a Dask scheduler (default: a LocalCluster here)")
    parser.add_argument("--workers", type=int, help="LocalCluster worker processes (default: the usable cores)")
    parser.add_argument("--student", action="append", dest="students",
                        help="grade only this student (repeat for more)")
    parser.add_argument("--force", action="store_true", help="grade again what is graded already")
    parser.add_argument("--log", type=Path, help="nbgrader's log of every submission (default: "
                        "grade_class.log in the course folder)")
    args = parser.parse_args(argv)
    if args.scheduler and args.workers:
        parser.error("--workers starts a LocalCluster; with --scheduler the cluster's workers are used")
    log = args.log or args.course.resolve() / "grade_class.log"
    try:
        reports = grade_assignments(args.course, args.assignments, scheduler=args.scheduler, workers=args.workers,
                                    db_url=args.db_url, force=args.force, students=args.students, log=log)
    except gradebook.GradebookNotReady as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_reports(reports, log)
    print_class_report(args.course, args.assignments, args.db_url)
    return 0 if all(report.ok for report in reports.values()) else 1


def print_class_report(course: Path, assignments: list[str], db_url: str | None = None) -> None:
    """Write the class report of what was graded and print where it is (instructor.class_report).
    A report that cannot be written is said, and changes nothing about the grading."""
    from instructor.class_report import write_reports

    try:
        index = write_reports(course, assignments, db_url=db_url)
    except Exception as error:  # the grades are in the gradebook whatever happens here
        print(f"The class report could not be written: {type(error).__name__}: {error}", file=sys.stderr)
        return
    print(f"Class report: {index}")


if __name__ == "__main__":
    # Run as the importable module, not as __main__: Dask then sends the task by reference
    # (a worker imports it, and keeps its once-per-process caches) instead of by value.
    from instructor.grade_class import main as module_main
    sys.exit(module_main())
