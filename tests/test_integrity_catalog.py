"""The integrity catalog graded with plain ``nbgrader autograde``, twice: once as root
(CI, a grading host) and once as an unprivileged grading user (the formgrader on a Hub
grades as the instructor). Every attack gains nothing and touches nothing, every broken
submission gets what it earned and a clear message, nothing a submission started is
alive afterwards, the two grade tables are identical, and the source flags hold for manual
grading exactly the check cells an entry names (``flagged_cells``), never an honest submission's.

The catalog is graded in ``GROUPS`` groups, each its own test class, which pytest-xdist's
loadscope sends to different workers: graded as one class it held CI's longest worker for 35
minutes, as three each took 9 to 10 minutes of four workers. Each group grades its entries
with the plain cases they are compared with, in both modes at once (a copy of the course
each), and every check holds within each group."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograder.simulated_class import load_cases
from instructor import nbgrader_cli
from tests.catalog import DETACH_MARKER, Entry, catalog
from tests.hub_support import UnixUsers
from instructor.paths import ROOT
from tests.sandbox_probe import surviving

README = ROOT / "README.md"

ENTRIES = catalog()
GROUPS = 6
MODES = ["root", "plain user"]


def leaves_processes(entry: Entry) -> bool:
    """Whether the entry starts processes meant to outlive its worker (they carry the marker)."""
    return DETACH_MARKER in json.dumps(entry.case.answers or {})


def in_first_group(entry: Entry) -> bool:
    """Entries the first group's class alone checks: those that leave processes behind (the
    check that none survives looks for their marker machine-wide, so only the group that
    grades them may look, and no other group may be running one meanwhile) and those whose
    feedback is checked for hidden-test source (a check with no entries would be skipped)."""
    return leaves_processes(entry) or bool(entry.feedback_lacks)


# Rough CPU-seconds to grade one notebook of an assignment, and to start grading an assignment
# (its judge, its sandbox's zygote, the examples drawn): only to share the groups out evenly.
NOTEBOOK_COST = {"06_simple_mnist": 5.0, "05_softmax_cross_entropy": 2.5, "04_matmul": 2.5,
                 "04b_gradient_descent": 2.5}
DEFAULT_NOTEBOOK_COST = 1.5
ASSIGNMENT_START_COST = 6.0


def grouped(entries: list[Entry]) -> list[list[Entry]]:
    """The entries dealt to GROUPS groups: those that must be in the first, then the others in
    runs of one assignment, cut where the estimated cost so far reaches the next even share.
    Each group pays for starting every assignment it grades (twice, one per mode), so the
    fewer each holds, the less the catalog costs."""
    first = [e for e in entries if in_first_group(e)]
    rest = sorted((e for e in entries if not in_first_group(e)), key=lambda e: e.assignment, reverse=True)

    def cost(group: list[Entry]) -> float:
        return (sum(NOTEBOOK_COST.get(e.assignment, DEFAULT_NOTEBOOK_COST) for e in group)
                + ASSIGNMENT_START_COST * len({e.assignment for e in group}))

    groups: list[list[Entry]] = [first] + [[] for _ in range(GROUPS - 1)]
    share = (cost(first) + cost(rest)) / GROUPS
    index, done = 0, 0.0  # done: the estimated cost of the groups before groups[index]
    for entry in rest:
        if index < GROUPS - 1 and done + cost(groups[index] + [entry]) > (index + 1) * share:
            done += cost(groups[index])
            index += 1
        groups[index].append(entry)
    return groups


ENTRY_GROUPS = grouped(ENTRIES)


def held_for_review(course: Path, assignments) -> dict:
    """(assignment, student) -> the check cells held for manual grading (the source flags')."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        # A notebook nbgrader could not read has no automatic scores: its cells wait for a human
        # too, but only a notebook the source flags marked (``flagged``) is held by them.
        return {(a, s.student_id): {g.name for nb in s.notebooks if nb.flagged for g in nb.grades
                                    if g.needs_manual_grade and g.cell_type == "code"}
                for a in assignments for s in gb.assignment_submissions(a)}


def snapshot(course: Path) -> dict:
    watched = [course / "course_config.py", *(course / "autograder").rglob("*"), *(course / "source").rglob("*"),
               *(course / "submitted").rglob("*")]
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in watched
            if p.is_file() and "__pycache__" not in p.parts}


def cases_to_grade(entries: list[Entry]) -> dict[str, list]:
    """Per assignment, the entries' cases and the plain cases they are compared with
    (``same_as``: another catalog entry or a case of the simulated class)."""
    by_assignment = defaultdict(list)
    for entry in entries:
        by_assignment[entry.assignment].append(entry.case)
    for assignment, cases in by_assignment.items():
        names = {c.name for c in cases}
        wanted = {c.same_as for c in cases if c.same_as and c.same_as not in names}
        others = [e.case for e in ENTRIES if e.assignment == assignment] + load_cases(assignment)
        for case in others:
            if case.name in wanted:
                cases.append(case)
                wanted.discard(case.name)
        assert not wanted, f"{assignment}: no case named {sorted(wanted)} to compare with"
    return dict(by_assignment)


@pytest.fixture(scope="class")
def graded(request, generated_course):
    """The group's entries graded in both modes at once, each in its own copy of the course:
    most of a group's time is its entries waiting (for a per-call limit, a budget, a process
    that must die), and two waiting gradings leave the cores to the rest of the suite."""
    group = request.param
    if os.geteuid() != 0:
        pytest.fail("the catalog is graded as root and as a plain user: run the tests as root (CI does)")
    grading_user = f"course-catalog-grader{group + 1}"
    users = UnixUsers([grading_user]).create()
    workdir = Path(tempfile.mkdtemp(prefix=f"catalog{group + 1}-", dir="/tmp"))
    os.chmod(workdir, 0o755)  # the plain grading user must reach the course
    entries = ENTRY_GROUPS[group]
    try:
        by_assignment = cases_to_grade(entries)
        courses = {mode: nbgrader_cli.copy_course(generated_course, workdir / f"course-{index}")
                   for index, mode in enumerate(MODES)}
        for course in courses.values():
            for assignment, cases in by_assignment.items():
                nbgrader_cli.submit_class(course, assignment, cases)
        subprocess.run(["chown", "-R", f"{grading_user}:{grading_user}", str(courses["plain user"])], check=True)
        before = {mode: snapshot(course) for mode, course in courses.items()}
        students = [c.name for cases in by_assignment.values() for c in cases]

        def grade(mode: str) -> str:
            # Every assignment of the group in one nbgrader command (`nbgrader autograde "*"`): one
            # grading process, so its judge, zygote and drawn examples serve them all.
            return nbgrader_cli.autograde(courses[mode], "*", students,
                                          run_as=grading_user if mode == "plain user" else None)

        with ThreadPoolExecutor(len(MODES)) as pool:  # the gradings are subprocesses: threads only wait
            logs = dict(zip(MODES, pool.map(grade, MODES)))
        # Both gradings are over: nothing either started may be alive (the marker, machine-wide).
        alive = surviving(DETACH_MARKER) if any(leaves_processes(e) for e in entries) else None
        logs = {mode: {assignment: log for assignment in by_assignment} for mode, log in logs.items()}
        runs = {mode: {assignment: nbgrader_cli.read_grades(courses[mode], assignment) for assignment in by_assignment}
                for mode in MODES}
        held = {mode: held_for_review(courses[mode], by_assignment) for mode in MODES}
        # Feedback of the group's first assignment, and of every assignment whose feedback is checked below.
        for assignment in {next(iter(by_assignment))} | {e.assignment for e in entries if e.feedback_lacks}:
            nbgrader_cli.generate_feedback(courses["root"], assignment)
        yield courses, by_assignment, runs, logs, before, alive, held
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        users.remove()


def pytest_generate_tests(metafunc):
    """Each group's class grades its own entries (the ``graded`` fixture, once per class)."""
    group = getattr(metafunc.cls, "group", None)
    if group is None:
        return
    metafunc.parametrize("graded", [group], indirect=True, scope="class", ids=[f"group{group + 1}of{GROUPS}"])
    entries = ENTRY_GROUPS[group]
    if "entry" in metafunc.fixturenames:
        if metafunc.function.__name__ == "test_feedback_never_shows_hidden_test_source":
            entries = [e for e in entries if e.feedback_lacks]
            assert entries, "the first group holds every entry whose feedback is checked"
        metafunc.parametrize("entry", entries, ids=[f"{e.assignment}:{e.case.name}" for e in entries])
    if "mode" in metafunc.fixturenames:
        metafunc.parametrize("mode", MODES)


def test_the_catalog_is_large_enough():
    kinds = defaultdict(int)
    for entry in ENTRIES:
        kinds[entry.case.kind] += 1
    assert kinds["attack"] >= 30 and kinds["broken"] >= 15, dict(kinds)
    assert len(ENTRIES) >= 45


def test_every_entry_is_in_exactly_one_group():
    names = [(e.assignment, e.case.name) for group in ENTRY_GROUPS for e in group]
    assert sorted(names) == sorted((e.assignment, e.case.name) for e in ENTRIES)
    assert len(set(names)) == len(names), "two entries share a name: one would hide the other's grade"
    assert all(ENTRY_GROUPS), "an empty group grades nothing"
    assert not [e for group in ENTRY_GROUPS[1:] for e in group if in_first_group(e)]


class CatalogChecks:
    group: int

    def test_entry_scores_as_expected(self, graded, entry, mode):
        _, _, runs, logs, _, _, _ = graded
        grades = runs[mode][entry.assignment]
        problems = nbgrader_cli.check_case(entry.case, grades)
        if problems and entry.known_limit:
            assert entry.known_limit in " ".join(README.read_text().split()), (
                f"README must name the known limit {entry.known_limit!r}")
            pytest.xfail(f"known limit, stated in README: {entry.known_limit}: {problems}")
        assert not problems, f"{entry.case.name}: {problems}"
        if entry.log_says:
            assert entry.log_says in logs[mode][entry.assignment], f"the grading log does not say {entry.log_says!r}"

    def test_grading_twice_gives_identical_tables(self, graded):
        _, by_assignment, runs, _, _, _, _ = graded
        timed = {(e.assignment, e.case.name) for e in ENTRY_GROUPS[self.group] if e.timed}
        flat = [{(a, s): (g.score, g.cells) for a, grades in run.items() for s, g in grades.items() if (a, s) not in timed}
                for run in runs.values()]
        differing = {key: (flat[0].get(key), flat[1].get(key)) for key in flat[0].keys() | flat[1].keys()
                     if flat[0].get(key) != flat[1].get(key)}
        assert not differing, f"graded as {' and as '.join(runs)}, these differ: {differing}"
        recorded = {(a, c.name) for a, cases in by_assignment.items() for c in cases if c.recorded} - timed
        assert set(flat[0]) == recorded, "the tables must hold every recorded submission of the group"

    def test_source_flags_hold_exactly_what_they_must(self, graded, entry, mode):
        """The grading side's reading of the source (autograder/engine/nbgrader_side/source_flags.py): an entry
        with ``flagged_cells`` has exactly those check cells in manual grading; no solution,
        variant, mistake or broken submission has any."""
        held = graded[6][mode].get((entry.assignment, entry.case.name), set())
        if entry.flagged_cells is not None:
            assert held == set(entry.flagged_cells), f"{entry.case.name}: held {sorted(held)}"
        elif entry.case.kind != "attack":
            assert not held, f"{entry.case.name} ({entry.case.kind}) is flagged: {sorted(held)}"

    def test_no_file_of_the_course_or_of_another_student_changed(self, graded):
        courses, _, _, _, before, _, _ = graded
        for mode, course in courses.items():
            after = snapshot(course)
            changed = sorted(str(p.relative_to(course)) for p in before[mode] if after.get(p) != before[mode][p])
            assert not changed, (mode, changed)

    def test_every_run_is_sandboxed(self, graded):
        _, _, _, logs, _, _, _ = graded
        for mode, by_assignment in logs.items():
            for assignment, log in by_assignment.items():
                assert "UNSANDBOXED" not in log and "grading refused" not in log, (mode, assignment)


class TestCatalogGroup1(CatalogChecks):
    group = 0

    def test_nothing_a_submission_started_is_alive_after_grading(self, graded):
        _, _, _, _, _, alive, _ = graded
        assert any(map(leaves_processes, ENTRY_GROUPS[self.group])), "the catalog must try to leave processes behind"
        assert alive == [], f"processes of a submission outlived its grading: {alive}"

    def test_feedback_never_shows_hidden_test_source(self, graded, entry):
        """What a submission makes its own code raise must not carry the grader's code into its feedback."""
        course = graded[0]["root"]
        notebook_text = "".join(p.read_text() for p in (ROOT / "source" / entry.assignment).glob("*.ipynb"))
        assert entry.feedback_lacks not in notebook_text, "the marker must be hidden-test source only"
        feedback = nbgrader_cli.feedback_path(course, entry.assignment, entry.case.name)
        assert feedback.exists(), f"no feedback was written for {entry.case.name}"
        assert entry.feedback_lacks not in feedback.read_text(), (
            f"{entry.case.name}'s feedback shows hidden-test source ({entry.feedback_lacks!r})")


# The other groups: the same checks, each on its own entries (TestCatalogGroup2 ... GROUPS).
for _group in range(1, GROUPS):
    globals()[f"TestCatalogGroup{_group + 1}"] = type(f"TestCatalogGroup{_group + 1}", (CatalogChecks,),
                                                      {"group": _group})
