"""A Python environment every user can run, layered on an existing one without reinstalling.

Students' and the instructor's servers run as their own unix users, so the interpreter they
run, and everything it imports, must be readable by them. A virtual environment made from a
private interpreter (pyenv under /root, say) is not: its ``bin/python`` is a link into a
folder other users cannot enter. Rather than install every package again, this makes a thin
environment that others can run:

- a venv made from a system interpreter of exactly the same version when there is one, else
  from a copy of the environment's own interpreter (standard library and ``libpython``,
  ~150 MB) in a folder everyone can read;
- a ``.pth`` file that adds the existing environment's site-packages (its own ``.pth``
  files, such as editable installs, included);
- its console scripts (``jupyterhub-singleuser``, ``nbgrader``, ``alembic``, ...) copied with
  the new interpreter in their ``#!`` line;
- its ``share/`` and ``etc/`` (JupyterLab, kernels, extensions enabled) linked in.

The existing environment's folder must be readable by everyone (it is, when it lives in a
repository under /work, /opt or /srv with the usual 0755). When the course's venv was made
from a shared interpreter in the first place, this is not needed: setup_course.py uses it as is.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


def base_python() -> Path | None:
    """A system interpreter of exactly this version that everyone can run."""
    name = "python%d.%d" % sys.version_info[:2]
    for folder in ("/usr/bin", "/usr/local/bin", "/opt/python/bin"):
        candidate = Path(folder) / name
        if not (candidate.exists() and readable_by_all(candidate.resolve())):
            continue
        version = subprocess.run([str(candidate), "-c", "import sys; print(tuple(sys.version_info[:3]))"],
                                 capture_output=True, text=True).stdout.strip()
        if version == str(tuple(sys.version_info[:3])):
            return candidate
    return None


def copy_interpreter(dest: Path) -> Path:
    """A copy of this interpreter (without its site-packages and tests) that everyone can run.

    Patch releases differ in behaviour (3.11.2's ``re`` rejects what soupsieve, and so
    nbconvert's HTML export, needs), so the servers must run the very version the packages
    were installed and tested with. A shared ``libpython`` is copied too, and the binary's
    RUNPATH, when it names the private folder, is pointed at ``$ORIGIN/../lib``.
    """
    base = Path(sys.base_prefix)
    name = "python%d.%d" % sys.version_info[:2]
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "bin").mkdir(parents=True)
    (dest / "lib").mkdir()
    exe = dest / "bin" / name
    shutil.copy2(Path(getattr(sys, "_base_executable", sys.executable)).resolve(), exe)
    for alias in ("python3", "python"):
        (dest / "bin" / alias).symlink_to(name)
    for lib in base.joinpath("lib").glob("libpython*.so*"):
        shutil.copy2(lib, dest / "lib" / lib.name, follow_symlinks=False)
    shutil.copytree(base / "lib" / name, dest / "lib" / name, symlinks=True,
                    ignore=lambda d, names: [n for n in names if Path(d) == base / "lib" / name
                                             and n in ("site-packages", "test")])
    (dest / "lib" / name / "site-packages").mkdir()
    private, relative = str(base / "lib").encode() + b"\0", b"$ORIGIN/../lib\0"
    binary = exe.read_bytes()
    if private in binary:  # DT_RUNPATH/DT_RPATH: a NUL-terminated string, shortened in place
        exe.write_bytes(binary.replace(private, relative.ljust(len(private), b"\0")))
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            path = os.path.join(dirpath, f)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
    return exe


def readable_by_all(path: Path) -> bool:
    """Whether a user who is not the owner, nor in the group, can reach and read ``path``."""
    path = Path(path)
    for parent in path.parents:
        if not os.stat(parent).st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


def make(dest: Path, source_prefix: Path = Path(sys.prefix), python: Path | None = None) -> Path:
    """Make (or refresh) the layered environment in ``dest``; returns its ``bin`` folder.

    ``python`` defaults to a system interpreter of exactly this version, else a copy of this one."""
    dest, source_prefix = Path(dest).resolve(), Path(source_prefix).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    python = python or base_python() or copy_interpreter(dest / "interpreter")
    env = dest / "venv"
    subprocess.run([str(python), "-m", "venv", "--without-pip", "--clear", str(env)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(source_prefix)}))
    if not purelib.is_dir():
        raise RuntimeError(f"{purelib} is not a folder: is {source_prefix} a Python environment?")
    own = Path(subprocess.run([str(env / "bin" / "python"), "-c",
                               "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              check=True, capture_output=True, text=True).stdout.strip())
    (own / "course_environment.pth").write_text(f"import site; site.addsitedir({str(purelib)!r})\n")

    source_bin, bin_dir = source_prefix / "bin", env / "bin"
    interpreter = f"#!{bin_dir / 'python'}\n"
    for script in sorted(source_bin.iterdir()):
        target = bin_dir / script.name
        if target.exists() or script.is_symlink() or not script.is_file():
            continue
        with open(script, "rb") as f:
            first = f.readline()
            if not (first.startswith(b"#!") and b"python" in first):
                continue
            rest = f.read()
        target.write_bytes(interpreter.encode() + rest)
        os.chmod(target, 0o755)
    for name in ("share", "etc"):
        link = env / name
        if (source_prefix / name).is_dir() and not link.exists():
            link.symlink_to(source_prefix / name)
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
    return bin_dir


def runnable_by_all(dest: Path) -> Path:
    """An interpreter of exactly this version that every user can run: this one when it
    is, else a system one, else a copy of this one in ``dest``."""
    own = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    if readable_by_all(own) and readable_by_all(Path(sys.base_prefix) / "lib"):
        return own
    return base_python() or copy_interpreter(Path(dest).resolve())


if __name__ == "__main__":
    if sys.argv[1] == "--interpreter":  # scripts/env.sh, when it runs as root
        print(runnable_by_all(Path(sys.argv[2])))
    else:
        print(make(Path(sys.argv[1])))
