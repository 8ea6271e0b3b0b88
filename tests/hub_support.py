"""A real JupyterHub for the tests, on loopback: unix users, the course's deployment, the Hub.

Everything here needs root (unix users, servers that switch to them); ``require_root``
skips otherwise. Every process the Hub starts is tracked, and ``Hub.stop`` reports the
ones that outlived the Hub's own clean-up before it kills them, so that a test can assert
that nothing was left behind. ``Student`` is one student's Assignments tab (fetch, write a
simulated case, submit, wait for feedback), for the tests and bench_feedback_latency.py.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
import tempfile
from contextlib import closing, contextmanager
from pathlib import Path

import nbformat
import psutil
import pytest
import requests

from autograder.simulated_class import build_submission, load_cases

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DEPLOY = REPO / "deploy" / "jupyterhub"
NODE_DIR = REPO / "build" / "node"
NODE_TOOLS = REPO / "tests" / "node"
INSTALL_TOOLS = REPO / "scripts" / "install_hub_test_tools.sh"
CHP = NODE_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
# How long a student waits for a submission's feedback.
FEEDBACK_TIMEOUT_S = 300
# Marks the unix users these tests create: only such users are ever removed.
USER_COMMENT = "nbgrader course hub test user"


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: it creates unix users and starts JupyterHub, whose servers run as them")
    if not shutil.which("useradd") or not shutil.which("userdel"):
        pytest.skip("needs useradd and userdel to create the test's unix users")
    # Single-user servers import the venv's packages as the students: they must be able to reach them.
    for parent in [VENV_BIN, *VENV_BIN.parents]:
        if not os.stat(parent).st_mode & 0o001:
            pytest.skip(f"{parent} is not searchable by other users, so the students' servers "
                        f"cannot use {VENV_BIN.parent}; clone the course where others can read it")


def require_node_tools(need_browser_driver: bool = False) -> None:
    """configurable-http-proxy (and playwright-core) from the npm registry, in build/node."""
    wanted = [CHP] + ([NODE_DIR / "node_modules" / "playwright-core" / "package.json"] if need_browser_driver else [])
    if all(p.exists() for p in wanted) and _node_tools_fresh():
        return
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("needs node and npm for configurable-http-proxy (apt-get install nodejs npm)")
    run = subprocess.run(["bash", str(INSTALL_TOOLS), "--node-only"], cwd=REPO, capture_output=True, text=True)
    if run.returncode != 0 or not all(p.exists() for p in wanted):
        pytest.fail(f"installing the npm tools failed ({INSTALL_TOOLS} --node-only):\n{run.stdout}\n{run.stderr}")


def _node_tools_fresh() -> bool:
    lock = NODE_DIR / "package-lock.json"
    return lock.exists() and lock.read_bytes() == (NODE_TOOLS / "package-lock.json").read_bytes()


def _runnable_by_all(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in path.parents) and bool(os.stat(path).st_mode & 0o005)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ----------------------------------------------------------------------------- unix users

def _user_processes(uids: set[int]) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real in uids:
                found.append(proc)
        except psutil.Error:
            pass
    return found


def kill_processes(procs: list[psutil.Process], timeout: float = 10) -> None:
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)


ACCESS_PROBE = r'''
import json, os, sys
def attempt(path):
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
        return "allowed"
    except PermissionError:
        return "denied"
    except OSError as exc:
        return type(exc).__name__
print(json.dumps({label: attempt(path) for label, path in json.loads(sys.argv[1]).items()}))
'''


def access_as(hub: "Hub", user: str, python: Path, paths: dict) -> dict:
    """label -> "allowed" or "denied": whether ``user`` (their uid, no extra groups) can
    read each path (list it, for a folder). Each path must exist, or the check shows nothing."""
    for label, path in paths.items():
        assert Path(path).exists(), f"{label}: {path} should exist for this check"
    run = hub.users.run_as(user, python, ACCESS_PROBE, json.dumps({k: str(v) for k, v in paths.items()}))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@contextmanager
def plain_grading_user(name: str):
    """A plain unix user to grade as: ``name``, made for the tests when they run as root
    (and removed after); None when they already run as a plain user (then grade as it)."""
    if os.geteuid() != 0:
        yield None
        return
    users = UnixUsers([name]).create()
    try:
        yield name
    finally:
        users.remove()


def run_probe(module: str, user: str | None, *args: str) -> dict:
    """Run the probe program ``module`` (as ``user``, or as this user when None) in the
    repository and return the JSON report its last line prints."""
    from instructor.paths import ROOT

    command = [sys.executable, "-m", module, *args]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


class UnixUsers:
    """Unix users made for one test, with private homes; ``remove`` deletes them and their files."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        self.created: list[str] = []

    def create(self) -> "UnixUsers":
        for name in self.names:
            try:
                existing = pwd.getpwnam(name)
            except KeyError:
                existing = None
            if existing is not None:
                if existing.pw_gecos != USER_COMMENT:
                    raise RuntimeError(f"unix user {name!r} exists and was not made by these tests; "
                                       "refusing to touch it")
                self._delete(name)  # left over from an interrupted run
            subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/usr/sbin/nologin",
                            "--comment", USER_COMMENT, name], check=True, capture_output=True)
            self.created.append(name)
            os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
        return self

    def uids(self) -> set[int]:
        uids = set()
        for name in self.created:
            try:
                uids.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                pass
        return uids

    def processes(self) -> list[psutil.Process]:
        return _user_processes(self.uids())

    @staticmethod
    def _delete(name: str) -> None:
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            return
        kill_processes(_user_processes({uid}))
        subprocess.run(["userdel", "--remove", name], capture_output=True)

    def remove(self) -> None:
        for name in reversed(self.created):
            self._delete(name)
        self.created.clear()

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(name).pw_dir)

    def run_as(self, name: str, python: Path, code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Python ``code`` (with ``args``) run by ``python`` as that user, no supplementary groups."""
        user = pwd.getpwnam(name)
        return subprocess.run([str(python), "-c", code, *args], user=user.pw_uid, group=user.pw_gid,
                              extra_groups=[], cwd="/", capture_output=True, text=True,
                              timeout=timeout, env={"HOME": user.pw_dir, "PATH": "/usr/bin:/bin"})


# ----------------------------------------------------------------------------- the Hub

class Hub:
    """The course's deployment (deploy/jupyterhub) on loopback, driven through its REST API."""

    def __init__(self, workdir: Path, users: UnixUsers, instructor: str, students: list[str]):
        self.workdir = workdir
        self.users = users
        self.instructor = instructor
        self.students = students
        self.root = workdir / "srv"             # COURSE_HUB_ROOT: exchange, data, config
        self.state = workdir / "hub-state"      # the Hub's database and secrets
        self.log_path = workdir / "jupyterhub.log"
        self.password = secrets.token_urlsafe(12)
        self.token = secrets.token_hex(32)
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.report_port = free_port()  # the class report service
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.seen: dict[int, tuple[float, str]] = {}  # pid -> (create_time, what) of every process seen
        self.stopped_cleanly: bool | None = None

    # ---- set-up, as an instructor would run it
    def setup_course(self, mnist_dir: Path, *options: str) -> dict:
        """``setup_course.py`` as root, with these extra ``options``."""
        os.chmod(self.workdir, 0o755)  # the course root lives here: everyone must reach it
        command = [sys.executable, str(DEPLOY / "setup_course.py"), "--root", str(self.root),
                   "--instructor", self.instructor, "--students", ",".join(self.students),
                   "--mnist-from", str(mnist_dir), *options]
        if not _runnable_by_all(Path(sys.executable).resolve()):
            # e.g. a venv made from pyenv's Python under /root: layer one that others can run
            command += ["--shared-env", str(self.root / "env")]
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        assert run.returncode == 0, f"setup_course.py failed:\n{run.stdout}\n{run.stderr}"
        return json.loads((self.root / "course.json").read_text())

    @property
    def course(self) -> dict:
        return json.loads((self.root / "course.json").read_text())

    def start(self, timeout: float = 90) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "COURSE_HUB_"))}
        env.update(
            PATH=os.pathsep.join([str(VENV_BIN), env.get("PATH", "/usr/bin:/bin")]),
            COURSE_HUB_ROOT=str(self.root), COURSE_HUB_STATE_DIR=str(self.state),
            COURSE_HUB_BIND_URL=self.url + "/", COURSE_HUB_HUB_PORT=str(self.hub_port),
            COURSE_HUB_PROXY_API_PORT=str(self.proxy_api_port), COURSE_HUB_PROXY_COMMAND=str(CHP),
            COURSE_HUB_REPORT_PORT=str(self.report_port),
            COURSE_HUB_AUTHENTICATOR="shared-password", COURSE_HUB_SHARED_PASSWORD=self.password,
            COURSE_HUB_API_TOKEN=self.token)
        self.state.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")],
            cwd=self.state, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/hub/api/", timeout=2).status_code == 200:
                    self.track()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"JupyterHub did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    # ---- the Hub's REST API, as the course-admin service
    def api(self, method: str, path: str, timeout: float = 60, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=timeout, **kwargs)

    def start_servers(self, *names: str, timeout: float = 180) -> None:
        """Start these users' servers (all at once, as a class logging in does); wait until ready."""
        for name in names:
            r = self.api("POST", f"/users/{name}")
            assert r.status_code in (201, 409), (r.status_code, r.text)
        with ThreadPoolExecutor(len(names)) as pool:  # the Hub answers once the server is up
            answers = list(pool.map(lambda n: self.api("POST", f"/users/{n}/server", timeout=timeout), names))
        for name, r in zip(names, answers):
            assert r.status_code in (201, 202), (name, r.status_code, r.text, self.log_tail())
        started = time.monotonic()
        waiting = list(names)
        while waiting and time.monotonic() < started + timeout:
            for name in list(waiting):
                model = self.api("GET", f"/users/{name}").json()
                server = model.get("servers", {}).get("")
                if server and server.get("ready"):
                    waiting.remove(name)
                elif not server and not model.get("pending"):
                    raise RuntimeError(f"the server of {name} stopped while starting:\n{self.log_tail()}")
            time.sleep(0.5)
        self.track()
        if waiting:
            raise RuntimeError(f"not ready within {timeout:.0f} s: {waiting}\n{self.log_tail()}")

    def user_token(self, name: str) -> str:
        r = self.api("POST", f"/users/{name}/tokens", json={"note": "course hub test", "expires_in": 3600})
        assert r.status_code in (200, 201), (r.status_code, r.text)
        return r.json()["token"]

    def session(self, name: str, as_user: str | None = None) -> "UserSession":
        """Requests to ``name``'s single-user server with ``as_user``'s own token (default: name's)."""
        return UserSession(f"{self.url}/user/{name}/", self.user_token(as_user or name))

    # ---- processes and sockets
    def track(self) -> None:
        """Remember every process the Hub started so far, and every process of the test users."""
        procs = []
        if self.proc is not None:
            try:
                hub = psutil.Process(self.proc.pid)
                procs = [hub, *hub.children(recursive=True)]
            except psutil.Error:
                pass
        procs += self.users.processes()
        for p in procs:
            try:
                self.seen.setdefault(p.pid, (p.create_time(), " ".join(p.cmdline())[:200]))
            except psutil.Error:
                pass

    def alive(self) -> list[str]:
        """The tracked processes still running."""
        left = []
        for pid, (created, what) in self.seen.items():
            try:
                if psutil.Process(pid).create_time() == created:
                    left.append(f"{pid}: {what}")
            except psutil.Error:
                pass
        for p in self.users.processes():
            try:
                if p.pid not in self.seen:
                    left.append(f"{p.pid}: {' '.join(p.cmdline())[:200]}")
            except psutil.Error:
                pass
        return left

    def listening(self) -> list[tuple[str, str, int]]:
        """(process, address, port) of every listening TCP socket of the tracked processes."""
        self.track()
        found = []
        for pid, (created, what) in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() != created:
                    continue
                for conn in proc.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN:
                        found.append((f"{pid} {proc.name()}", conn.laddr.ip, conn.laddr.port))
            except psutil.Error:
                pass
        return found

    def stop(self, timeout: float = 60) -> list[str]:
        """Stop the Hub as an operator would (SIGTERM: it stops the proxy and every server),
        then kill whatever outlived it. Returns what had outlived it (empty when clean)."""
        if self.proc is None:
            return []
        self.track()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # single-user servers get a few seconds to shut their kernels down
        deadline = time.monotonic() + 15
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        outlived = self.alive()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        leftovers = []
        for entry in outlived:
            try:
                leftovers.append(psutil.Process(int(entry.split(":")[0])))
            except psutil.Error:
                pass
        kill_processes(leftovers)
        kill_processes(self.users.processes())
        if self._log:
            self._log.close()
        self.stopped_cleanly = not outlived
        self.proc_returncode = self.proc.returncode
        self.proc = None
        return outlived

    def ports(self) -> list[int]:
        return [self.port, self.hub_port, self.proxy_api_port, self.report_port]


class UserSession:
    """One user's requests to a single-user server, authenticated with that user's Hub token."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, timeout: float = 120, **kwargs) -> requests.Response:
        return self.http.request(method, self.base + path.lstrip("/"), timeout=timeout, **kwargs)

    def json(self, method: str, path: str, timeout: float = 300, **kwargs):
        r = self.request(method, path, timeout=timeout, **kwargs)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text[:2000]}"
        return r.json()

    # nbgrader's assignment list extension (students)
    def assignments(self, course_id: str) -> list[dict]:
        answer = self.json("GET", "assignments", params={"course_id": course_id})
        assert answer["success"], answer
        return answer["value"]

    def assignment_action(self, action: str, course_id: str, assignment_id: str) -> dict:
        return self.json("POST", f"assignments/{action}",
                         json={"course_id": course_id, "assignment_id": assignment_id})

    # nbgrader's formgrader API (instructor)
    def formgrader(self, method: str, path: str, **kwargs):
        return self.json(method, "formgrader/api/" + path.lstrip("/"), **kwargs)

    # Jupyter's contents API
    def read(self, path: str, **params) -> dict:
        return self.json("GET", f"api/contents/{path}", params={"content": 1, **params})

    def write_notebook(self, path: str, nb: dict) -> None:
        r = self.request("PUT", f"api/contents/{path}", json={"type": "notebook", "format": "json", "content": nb})
        assert r.status_code in (200, 201), f"PUT {path}: {r.status_code} {r.text[:2000]}"


class Student:
    """One student's Assignments tab on one assignment (``assignment``, its ``notebook``):
    fetch, write a case of the simulated class, submit, wait for the feedback."""

    def __init__(self, hub: Hub, name: str, course_id: str, assignment: str, notebook: str):
        self.name, self.course_id, self.session = name, course_id, hub.session(name)
        self.assignment, self.notebook = assignment, notebook
        self.path = self.released = None

    def fetch(self, assignment: str | None = None, notebook: str | None = None) -> str:
        """Fetches an assignment (by default this one); returns its notebook's path (for this
        one, also kept as ``path``, with the released notebook as ``released``)."""
        assignment, notebook = assignment or self.assignment, notebook or self.notebook
        self.session.assignment_action("fetch", self.course_id, assignment)
        [fetched] = [a for a in self.session.assignments(self.course_id)
                     if a["status"] == "fetched" and a["assignment_id"] == assignment]
        path = f"{fetched['path']}/{notebook}"
        if assignment == self.assignment:
            self.path = path
            self.released = nbformat.from_dict(self.session.read(path)["content"])
        return path

    def write_case(self, case_name: str) -> None:
        """The fetched notebook, answered as the simulated class's case ``case_name``."""
        [case] = [c for c in load_cases(self.assignment) if c.name == case_name]
        source_nb = nbformat.read(REPO / "source" / self.assignment / self.notebook, as_version=4)
        nb = build_submission(case, source_nb, self.released)
        self.session.write_notebook(self.path, json.loads(nbformat.writes(nb)))

    def submit(self) -> tuple[str, float]:
        """Submits; returns the submission's timestamp and when it was made (monotonic)."""
        before = {s["timestamp"] for s in self.submissions()}
        answer = self.session.assignment_action("submit", self.course_id, self.assignment)
        made = time.monotonic()
        assert answer.get("success"), f"submit by {self.name} failed:\n{answer.get('log', '')[-6000:]}\n{answer}"
        [timestamp] = {s["timestamp"] for s in self.submissions()} - before
        return timestamp, made

    def submissions(self) -> list[dict]:
        entries = [a for a in self.session.assignments(self.course_id)
                   if a["status"] == "submitted" and a["assignment_id"] == self.assignment]
        return entries[0]["submissions"] if entries else []

    def wait_for_released_feedback(self, timestamp: str, timeout: float = FEEDBACK_TIMEOUT_S,
                                   every: float = 1.0) -> None:
        """Until this submission's feedback waits in the exchange, as the Assignments tab shows
        it ("feedback available to fetch"), without fetching it; looks every ``every`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            [mine] = [s for s in self.submissions() if s["timestamp"] == timestamp]
            if mine["has_exchange_feedback"]:
                return
            time.sleep(every)
        raise AssertionError(f"no feedback released for {self.name}'s submission at {timestamp} within {timeout:.0f} s")

    def wait_for_feedback(self, timestamp: str, timeout: float = FEEDBACK_TIMEOUT_S) -> str:
        """Fetch Feedback until this submission's arrives; returns its HTML."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.session.assignment_action("fetch_feedback", self.course_id, self.assignment)
            [mine] = [s for s in self.submissions() if s["timestamp"] == timestamp]
            if mine["has_local_feedback"]:
                return self.session.read(f"{mine['local_feedback_path']}/{Path(self.notebook).stem}.html",
                                         type="file", format="text")["content"]
            time.sleep(1)
        raise AssertionError(f"no feedback for {self.name}'s submission at {timestamp} within {timeout:.0f} s")


def feedback_service_processes(hub: Hub) -> list[psutil.Process]:
    """The feedback service's own process (not its Dask workers): the Hub's child running it."""
    found = []
    for child in psutil.Process(hub.proc.pid).children():
        try:
            if any(part.endswith("feedback_service.py") for part in child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


@contextmanager
def running_hub(name: str, instructor: str, students: list[str], mnist_dir: Path, setup_options=()):
    """A Hub with its unix users, set up (``setup_course.py`` with ``setup_options``) and
    started; whatever happens in the block, every process is stopped, the users and files
    removed, and the Hub's log kept as ``build/test-artifacts/<name>.log``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"course-{name}-", dir="/tmp"))
    users = UnixUsers([instructor, *students])
    the_hub = Hub(workdir, users, instructor, students)
    try:
        users.create()
        the_hub.setup_course(mnist_dir, *setup_options)
        the_hub.start()
        yield the_hub
    finally:
        the_hub.stop()
        users.remove()
        artifacts = REPO / "build" / "test-artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        if the_hub.log_path.exists():
            shutil.copy(the_hub.log_path, artifacts / f"{name}.log")
        shutil.rmtree(workdir, ignore_errors=True)


def run_browser_script(script: str, args: dict, hub, failure_screenshot: Path) -> dict:
    """Run ``tests/node/<script>`` (playwright-core driving Debian's Chromium) with ``args``
    as its one JSON argument; its last JSON line, asserted ``ok`` (else the steps it took, its
    error, where it stopped, ``failure_screenshot`` and the Hub's log)."""
    run = subprocess.run(["node", str(REPO / "tests" / "node" / script), json.dumps(args)],
                         env=dict(os.environ, NODE_TOOLS_DIR=str(NODE_DIR)), capture_output=True, text=True,
                         timeout=300)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the browser script said nothing:\n{run.stdout}\n{run.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"] and run.returncode == 0, (
        f"in the browser: {result.get('error')}\nat {result.get('url')}\nsteps: {result['steps']}\n"
        f"see {failure_screenshot}\n{run.stderr[-3000:]}\n{hub.log_tail()}")
    return result


def chromium() -> str:
    """Debian's Chromium, for the browser tests; the test skips, saying how to install it,
    where there is none (and fails instead where TESTS_REQUIRE_EVERY_TOOL=1, as in CI)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("needs Debian's chromium for the browser test (apt-get install chromium; "
                "scripts/install_hub_test_tools.sh does it as root)")
