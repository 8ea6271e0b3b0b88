"""What README's "How grading works" promises of the sandbox, proved from inside real
workers, as root (CI, a grading host) and as a plain grading user (the formgrader on a
Hub, which grades as the instructor): no capability, no_new_privs, nobody's uid; the
course, the gradebook, the host's /dev/shm, other processes and the network out of
reach; nothing writable but a private, size-capped /tmp and /dev/shm; nothing a worker
starts or writes outlives it; two workers cannot see each other."""
import os

import pytest

from autograder.engine.judge import sandbox
from instructor.paths import ROOT
from tests.hub_support import plain_grading_user, run_probe

GRADING_USER = "course-grader-test"
SECRETS = [str(ROOT / "autograder" / "hidden"), str(ROOT / "source"), str(ROOT / "course_config.py"),
           str(ROOT / ".git"), str(ROOT / "solutions")]


@pytest.fixture(scope="module")
def plain_user():
    with plain_grading_user(GRADING_USER) as user:
        yield user


def probe(user, secrets) -> dict:
    return run_probe("tests.sandbox_probe", user, *secrets)


@pytest.fixture(scope="module", params=["root", "plain user"])
def report(request, plain_user):
    if request.param == "root" and os.geteuid() != 0:
        pytest.skip("grading as root is tested where the tests run as root (CI does)")
    host_marker = f"/dev/shm/host-file-{os.getpid()}"  # the host's /dev/shm must not be the worker's
    with open(host_marker, "w"):
        pass
    os.chmod(host_marker, 0o644)
    try:
        return probe(plain_user if request.param == "plain user" else None, SECRETS + [host_marker])
    finally:
        os.unlink(host_marker)


def test_sandbox_can_be_built_here():
    assert sandbox.probe() is None, sandbox.probe()


def test_no_capabilities_no_new_privileges_and_nobodys_uid(report):
    seen = report["seen"]
    assert set(seen["caps"].values()) == {"0000000000000000"}, seen["caps"]
    assert seen["no_new_privs"] == "1"
    assert seen["uid"] == sandbox.SANDBOX_UID
    assert seen["user_namespace"] not in ("created", 0), "student code could build a user namespace of its own"
    assert seen["add_key"] == "refused", "the kernel keyrings, kept per user, would carry data between workers"


def test_the_course_and_the_network_are_out_of_reach(report):
    seen = report["seen"]
    assert seen["visible_secrets"] == []
    assert seen["network"] != "connected" and seen["interfaces"] == ["lo"], (seen["network"], seen["interfaces"])
    assert seen["hostname"] == "sandbox"


def test_only_a_private_size_capped_tmp_and_shm_are_writable(report):
    seen = report["seen"]
    assert seen["writable_outside_tmp"] == []
    assert seen["tmp_bytes"] <= 32 << 20 and seen["shm_bytes"] <= 8 << 20


def test_other_processes_are_invisible(report):
    assert len(report["seen"]["pids"]) <= 3, report["seen"]["pids"]  # bwrap's init, the worker, maybe a child
    assert len(report["second_worker_sees"]["pids"]) <= 3


def test_nothing_outlives_the_worker_or_reaches_another(report):
    assert report["alive_while_running"] >= 1, "the probe did not manage to start a detached process"
    assert report["alive_after_stop"] == [], "a detached process outlived its worker"
    assert report["second_worker_finds"] == {"tmp": False, "shm": False}
    assert report["regrade_finds"] == {"tmp": False, "shm": False}


def test_without_a_sandbox_grading_refuses_with_one_clear_message(monkeypatch):
    from autograder.engine.nbgrader_side.preprocessor import GradeWithHiddenTests, GradingError

    def missing():
        raise sandbox.SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {sandbox.HOW_TO_INSTALL}")
    monkeypatch.setattr(sandbox, "bwrap_path", missing)
    sandbox.probe.cache_clear()
    try:
        with pytest.raises(GradingError) as refused:
            GradeWithHiddenTests().sandbox_or_refuse()
        message = str(refused.value)
        assert "bubblewrap" in message and "apt-get install bubblewrap" in message
        assert "allow_unsandboxed" in message
        allowed = GradeWithHiddenTests(allow_unsandboxed=True)
        assert allowed.sandbox_or_refuse() is False  # graded, and logged as UNSANDBOXED
    finally:
        sandbox.probe.cache_clear()
