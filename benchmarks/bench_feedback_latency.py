"""Submit to feedback on a real JupyterHub: three students submitting at once, round after
round, and the first submission after the feedback service starts again.

    python benchmarks/bench_feedback_latency.py [--rounds 5] [--workers N] [--look file|tab]

As root (it creates unix users and starts JupyterHub with the course's
``jupyterhub_config.py``, as tests/test_jupyterhub_feedback_on_submit.py does; the Hub's
tools come from ``scripts/install_hub_test_tools.sh``). The instructor releases
01_normalization through the formgrader; each student fetches it through the Assignments
tab's API and writes a submission (our solution, or a typical mistake); then, each round,
all three submit at the same moment and the benchmark times each from its submit to its
feedback waiting in the exchange (the file the Assignments tab looks for to show feedback to
fetch: ``feedback/<md5 of the submission's secret and the notebook's name>.html``), looking
every 0.05 s on the filesystem, as root; the student's own Assignments tab is then asked once,
untimed, that it shows the feedback. (``--look tab`` asks the tab every 0.2 s instead, as an
earlier version did: three servers list the exchange 15 times a second, hashing every
submission, a load on the grading cores that no student makes.) Then the service is stopped,
the Hub starts it again, and one student submits as soon as the new service process runs:
that submission pays the grading cluster's start and its worker's warm-up. No rate limit (``--feedback-limit 0``).

Prints each submission's seconds, the median and 95th percentile of the rounds, the first
after the restart, the CPU-seconds the service's process tree spent (cgroup-free: the
service's and its Dask workers' own counters, read while they run), and where the service's
seconds went (the median of each of ``feedback_service.PHASES``, from its ledger).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nbgrader.utils import notebook_hash  # noqa: E402

from tests import hub_support  # noqa: E402

sys.path.insert(0, str(hub_support.DEPLOY))
from feedback_service import PHASES  # noqa: E402

ASSIGNMENT, NOTEBOOK = "01_normalization", "normalization.ipynb"
INSTRUCTOR = "bench-teacher"
STUDENTS = ["bench-ana", "bench-ben", "bench-cyd"]
WRITES = {"bench-ana": "solution", "bench-ben": "unbiased_std", "bench-cyd": "no_clamp"}
LOOK_EVERY_S = 0.05
GIVE_UP_S = 300


def service_process(hub) -> psutil.Process | None:
    return next(iter(hub_support.feedback_service_processes(hub)), None)


def tree_cpu(proc: psutil.Process | None) -> float:
    """CPU-seconds of a process and its living descendants (their own and reaped children's)."""
    if proc is None:
        return 0.0
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def feedback_file(hub, student: hub_support.Student, timestamp: str) -> Path:
    """Where nbgrader's list looks for this submission's feedback (``ExchangeList``): named by
    the md5 of the submission's secret and the notebook's name."""
    exchange = Path(hub.course["exchange"]) / hub.course["course_id"]
    [folder] = (exchange / "inbound").glob(f"{student.name}+{ASSIGNMENT}+{timestamp}*")
    secret = (folder / "submission_secret.txt").read_text()
    return exchange / "feedback" / f"{notebook_hash(secret=secret, notebook_id=Path(NOTEBOOK).stem)}.html"


def submit_and_time(hub, student: hub_support.Student, look: str = "file") -> float:
    """Seconds from this student's submit to its feedback waiting in the exchange."""
    timestamp, made = student.submit()
    if look == "tab":
        student.wait_for_released_feedback(timestamp, GIVE_UP_S, every=0.2)
        return time.monotonic() - made
    feedback, deadline = feedback_file(hub, student, timestamp), made + GIVE_UP_S
    while not feedback.is_file():
        assert time.monotonic() < deadline, f"no feedback for {student.name} within {GIVE_UP_S} s"
        time.sleep(LOOK_EVERY_S)
    seconds = time.monotonic() - made
    student.wait_for_released_feedback(timestamp, 10)  # what the student's Assignments tab shows
    return seconds


def all_at_once(hub, students: list[hub_support.Student], look: str) -> list[float]:
    seconds: dict[str, float] = {}
    errors: list[BaseException] = []

    def one(student: hub_support.Student) -> None:
        try:
            seconds[student.name] = submit_and_time(hub, student, look)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(s,)) for s in students]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [seconds[s.name] for s in students]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None, help="the service's grading workers (default: cores)")
    parser.add_argument("--look", choices=["file", "tab"], default="file",
                        help="for the feedback: its file, every 0.05 s (default), or the Assignments tab, every 0.2 s")
    args = parser.parse_args(argv)
    hub_support.require_root()
    hub_support.require_node_tools()
    mnist_dir = Path(os.environ.get("MNIST_DIR") or REPO.parent / "shared" / "data" / "mnist")
    options = ["--feedback-limit", "0"] + (["--feedback-workers", str(args.workers)] if args.workers else [])
    with hub_support.running_hub("bench_feedback_latency", INSTRUCTOR, STUDENTS, mnist_dir,
                                 setup_options=options) as hub:
        course_id = hub.course["course_id"]
        hub.start_servers(INSTRUCTOR, *STUDENTS)
        teach = hub.session(INSTRUCTOR)
        for action in ("assign", "release"):
            assert teach.formgrader("POST", f"assignment/{ASSIGNMENT}/{action}").get("success"), action
        released_at = time.monotonic()
        students = [hub_support.Student(hub, name, course_id, ASSIGNMENT, NOTEBOOK) for name in STUDENTS]
        for student in students:
            student.fetch()
            student.write_case(WRITES[student.name])
        service = service_process(hub)
        cpu_before = tree_cpu(service)
        print(f"{ASSIGNMENT} released and fetched in {time.monotonic() - released_at:.1f} s; "
              f"{len(STUDENTS)} students submit at once, {args.rounds} rounds", flush=True)
        rounds = []
        for index in range(args.rounds):
            seconds = all_at_once(hub, students, args.look)
            rounds.append(seconds)
            print(f"  round {index + 1}: " + ", ".join(f"{s:.1f}" for s in seconds) + " s", flush=True)
        cpu_rounds = tree_cpu(service) - cpu_before
        later = [s for seconds in rounds[1:] for s in seconds]

        # ---- the service stopped; the Hub starts it again; one submission as soon as it runs
        service.send_signal(signal.SIGTERM)
        service.wait(60)
        deadline = time.monotonic() + 120
        while (restarted := service_process(hub)) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert restarted is not None, "the Hub did not start the service again"
        after_restart = submit_and_time(hub, students[0], args.look)
        ledger = json.loads((Path(hub.course["course_dir"]) / "onsubmit" / "ledger.json").read_text())

    every = [s for seconds in rounds for s in seconds]
    print(f"\nsubmit to feedback, {len(STUDENTS)} students submitting at once (seconds; the Hub on "
          f"{os.cpu_count()} cores):")
    print(f"  every round        median {statistics.median(every):5.1f}   95th percentile {percentile(every, 0.95):5.1f}"
          f"   ({len(every)} submissions)")
    if later:
        print(f"  after the first    median {statistics.median(later):5.1f}   95th percentile {percentile(later, 0.95):5.1f}")
    print(f"  first after a service restart: {after_restart:.1f}")
    print(f"  the service's CPU over the rounds: {cpu_rounds:.1f} CPU-s, "
          f"{cpu_rounds / len(every):.1f} a submission")
    timed = [entry["phases"] for entry in ledger.values() if entry.get("phases")]
    print(f"\nwhere the service's seconds went, median of {len(timed)} gradings (its ledger):")
    for name, meaning in PHASES.items():
        values = [p[name] for p in timed if name in p]
        if values:
            print(f"  {name:17} {statistics.median(values):5.2f}  (max {max(values):5.2f})   {meaning}")


if __name__ == "__main__":
    main()
