"""Prepare one server to run the course in JupyterHub. Run as root, from the course's venv:

    sudo .venv/bin/python deploy/jupyterhub/setup_course.py --instructor ada --students-file roster.txt

Idempotent: run it again after a change of roster. It assumes local unix users on this
server (they must exist) and writes:

- ``ROOT/exchange``      nbgrader's exchange, mode 1777 (anyone may create, nobody may delete
                         what others made); nbgrader sets the modes of what it puts inside
- ``ROOT/data/mnist``    the four MNIST files, readable by everyone (``MNIST_DIR`` of every server)
- ``ROOT/jupyter/...``   Jupyter config folders per role, put on ``JUPYTER_CONFIG_PATH`` by
                         jupyterhub_config.py: ``common`` (course id, exchange), ``student``
                         (assignment list only: no formgrader, no course list, no create-assignment),
                         ``instructor`` (the formgrader, with the grading configuration of the
                         instructor's ``course_config.py``)
- the instructor's course folder (default ``~INSTRUCTOR/<course id>``), a copy of this
  repository's course files (``course_config.py``, ``source/``, ``autograder/``, ...), owned by
  the instructor, mode 0700: students never see sources, hidden tests or the gradebook
- ``ROOT/course.json``   what jupyterhub_config.py reads, with the settings of feedback on
                         submit (deploy/jupyterhub/feedback_service.py)

and makes the home folders of the instructor and the students private (0700), so that no
student can read another's notebooks.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from instructor.paths import COURSE_FILES  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shared_env  # noqa: E402
from feedback_service import DEFAULT_SETTINGS as DEFAULT_FEEDBACK  # noqa: E402

DEFAULT_ROOT = "/srv/nbgrader"


def course_id_of(course_root: Path) -> str:
    """The course id that ``course_config.py`` sets."""
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("course_config.py", path=str(course_root)).load_config()
    return config.CourseDirectory.course_id


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)
    path.write_text(text)
    os.chmod(path, mode)


def make_dir(path: Path, mode: int, owner: pwd.struct_passwd | None = None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def chown_tree(path: Path, owner: pwd.struct_passwd) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, owner.pw_uid, owner.pw_gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), owner.pw_uid, owner.pw_gid, follow_symlinks=False)


def copy_course(course_dir: Path, owner: pwd.struct_passwd, update: bool) -> None:
    """The instructor's course folder: this repository's course files, private to the instructor."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", ".hypothesis")
    course_dir.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        src, dest = REPO / name, course_dir / name
        if dest.exists() and not update:
            continue
        if src.is_dir():
            shutil.copytree(src, dest, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest)
    chown_tree(course_dir, owner)
    os.chmod(course_dir, 0o700)


def install_data(dest: Path, mnist_from: str | None) -> None:
    """The four MNIST files, verified, readable by everyone."""
    from mnist_course.data import MNIST_FILES, find_mnist_dir, verify_file
    make_dir(dest, 0o755)
    if all((dest / name).is_file() for name in MNIST_FILES):
        source = dest
    else:
        source = find_mnist_dir(mnist_from, download=True)
    for name in MNIST_FILES:
        if source != dest:
            shutil.copyfile(source / name, dest / name)
        verify_file(dest / name)
        os.chmod(dest / name, 0o644)


def jupyter_configs(root: Path, course_id: str, course_dir: Path) -> dict:
    """Config folders per role; returns role -> JUPYTER_CONFIG_PATH entries (highest priority first)."""
    base = root / "jupyter"
    common, student, instructor = base / "common", base / "student", base / "instructor"
    for d in (base, common, student, instructor):
        make_dir(d, 0o755)
    write(common / "nbgrader_config.py",
          "# Written by deploy/jupyterhub/setup_course.py: what students and instructors share.\n"
          "c = get_config()  # noqa: F821\n"
          f"c.CourseDirectory.course_id = {course_id!r}\n"
          f"c.Exchange.root = {str(root / 'exchange')!r}\n")
    # JupyterLab's news feed asks the internet; a course hub does not need it.
    write(common / "labconfig" / "page_config.json", json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}, indent=2) + "\n")
    write(student / "jupyter_server_config.d" / "nbgrader-student.json", json.dumps({"ServerApp": {
        "jpserver_extensions": {
            "nbgrader.server_extensions.formgrader": False,
            "nbgrader.server_extensions.course_list": False,
            "nbgrader.server_extensions.assignment_list": True,
            "nbgrader.server_extensions.validate_assignment": True,
        }}}, indent=2) + "\n")
    write(student / "labconfig" / "page_config.json", json.dumps({"disabledExtensions": {
        "@jupyterlab/apputils-extension:announcements": True,
        "@jupyter/nbgrader:formgrader": True,
        "@jupyter/nbgrader:course-list": True,
        "@jupyter/nbgrader:create-assignment": True,
    }}, indent=2) + "\n")
    write(instructor / "nbgrader_config.py",
          "# Written by deploy/jupyterhub/setup_course.py: the formgrader grades with the course's\n"
          "# own configuration, read from the instructor's course folder.\n"
          "c = get_config()  # noqa: F821\n"
          f"load_subconfig({str(course_dir / 'course_config.py')!r})  # noqa: F821\n")
    return {"student": [str(student), str(common)], "instructor": [str(instructor), str(common)]}


def check_environment(bin_dir: Path, user: pwd.struct_passwd) -> str | None:
    """Why ``user`` cannot run the course's Python environment, or None when they can."""
    try:
        run = subprocess.run([str(bin_dir / "python"), "-c", "import jupyterhub, nbgrader, torch, mnist_course"],
                             user=user.pw_uid, group=user.pw_gid, extra_groups=[], cwd="/",
                             capture_output=True, text=True, timeout=300)
    except OSError as exc:
        return str(exc)
    return None if run.returncode == 0 else run.stderr.strip()[-2000:]


def feedback_summary(settings: dict) -> str:
    if not settings["enabled"]:
        return "no grading (--no-feedback-on-submit)"
    limit = (f"at most {settings['max_graded']} per student and assignment in {settings['window_minutes']:g} min"
             if settings["max_graded"] else "no limit")
    return f"graded by the feedback-on-submit service, {limit}"


def read_roster(args) -> list[str]:
    names = [n.strip() for n in (args.students or "").split(",") if n.strip()]
    if args.students_file:
        for line in Path(args.students_file).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return sorted(set(names))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=DEFAULT_ROOT, help="where the exchange, the data and the "
                        "Jupyter config go (default %(default)s; COURSE_HUB_ROOT for the Hub)")
    parser.add_argument("--instructor", required=True, help="the instructor's unix user name")
    parser.add_argument("--students", help="comma-separated unix user names of the students")
    parser.add_argument("--students-file", help="a roster: one unix user name a line")
    parser.add_argument("--course-dir", help="the instructor's course folder (default ~INSTRUCTOR/<course id>); "
                        "must be inside the instructor's home, the root of their Jupyter server")
    parser.add_argument("--mnist-from", help="a folder holding the four MNIST files (default: the "
                        "loader's search, downloading when needed)")
    parser.add_argument("--shared-env", help="make at this path a Python environment every user can run, "
                        "layered on this venv (needed when this venv's interpreter is private, e.g. pyenv "
                        "under /root); default: the servers run this venv as it is")
    parser.add_argument("--update-course", action="store_true", help="overwrite the course files in an "
                        "existing course folder with this repository's (the gradebook is kept)")
    parser.add_argument("--no-feedback-on-submit", dest="feedback_on_submit", action="store_false",
                        help="do not run the service that grades each submission as it arrives")
    parser.add_argument("--feedback-limit", type=int, default=DEFAULT_FEEDBACK["max_graded"], metavar="N",
                        help="graded submissions per student and assignment in the window (default "
                        "%(default)s; 0: no limit)")
    parser.add_argument("--feedback-window-minutes", type=float, default=DEFAULT_FEEDBACK["window_minutes"],
                        metavar="M", help="the rate limit's window (default %(default)s minutes)")
    parser.add_argument("--feedback-workers", type=int, metavar="N", help="Dask worker processes grading on "
                        "submit (default: the usable cores)")
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        parser.error("run as root: it creates folders for other users and changes their modes")
    instructor = pwd.getpwnam(args.instructor)
    students = read_roster(args)
    users = [pwd.getpwnam(name) for name in students]  # fails clearly when a user is missing

    course_id = course_id_of(REPO)
    root = Path(args.root).resolve()
    course_dir = Path(args.course_dir or os.path.join(instructor.pw_dir, course_id)).resolve()
    if not str(course_dir).startswith(instructor.pw_dir.rstrip("/") + "/"):
        parser.error(f"the course folder {course_dir} must be inside {instructor.pw_dir}: the formgrader "
                     "only serves folders under the instructor's Jupyter root")

    make_dir(root, 0o755)
    bin_dir = Path(sys.prefix) / "bin"
    if args.shared_env:
        bin_dir = shared_env.make(Path(args.shared_env))
    problem = check_environment(bin_dir, instructor)
    if problem:
        parser.error(f"{instructor.pw_name} cannot run the course's Python environment {bin_dir.parent}:\n"
                     f"  {problem}\nMake one that every user can run: a venv from a system Python in a "
                     "folder everyone can read, or --shared-env /srv/nbgrader/env")
    exchange = root / "exchange"
    make_dir(exchange, 0o1777)
    os.chown(exchange, 0, 0)
    install_data(root / "data" / "mnist", args.mnist_from)
    config_path = jupyter_configs(root, course_id, course_dir)
    copy_course(course_dir, instructor, update=args.update_course)
    for user in [instructor, *users]:
        mode = stat.S_IMODE(os.stat(user.pw_dir).st_mode)
        os.chmod(user.pw_dir, mode & 0o700)

    settings = {
        "course_id": course_id,
        "instructors": [instructor.pw_name],
        "students": students,
        "course_dir": str(course_dir),
        "exchange": str(exchange),
        "data_dir": str(root / "data" / "mnist"),
        "jupyter_config_path": config_path,
        "python_bin": str(bin_dir),
        "feedback_on_submit": {**DEFAULT_FEEDBACK, "enabled": args.feedback_on_submit,
                               "max_graded": args.feedback_limit, "window_minutes": args.feedback_window_minutes,
                               "workers": args.feedback_workers},
    }
    write(root / "course.json", json.dumps(settings, indent=2) + "\n")
    print(f"course {course_id}: instructor {instructor.pw_name}, {len(students)} students\n"
          f"  course folder  {course_dir}\n  exchange       {exchange}\n"
          f"  data           {settings['data_dir']}\n"
          f"  servers run    {bin_dir}/jupyterhub-singleuser\n"
          f"  on submit      {feedback_summary(settings['feedback_on_submit'])}\n"
          f"start the Hub:   COURSE_HUB_ROOT={root} {Path(sys.executable).parent}/jupyterhub "
          f"-f {Path(__file__).with_name('jupyterhub_config.py')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
