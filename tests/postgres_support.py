"""A real PostgreSQL server for a test: its own cluster in a temporary folder, on loopback.

postgres refuses to run as root, so as root the server runs as ``nobody``; as any other
user, as that user. ``scripts/install_postgres.sh`` (run by ``run_tests.sh``) installs the
server binaries on a Debian machine that lacks them; without them the test fails saying so.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import closing, contextmanager
from pathlib import Path

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "grader"


def server_bin_dir() -> Path:
    """The folder of initdb, pg_ctl and postgres: on PATH, else Debian's /usr/lib/postgresql/<v>/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if debian:
        return Path(debian[-1]).parent
    raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found on PATH or in "
                       "/usr/lib/postgresql/*/bin: run scripts/install_postgres.sh as root, or "
                       "apt-get install postgresql")


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server(database: str = "gradebook"):
    """Start a server with one database; yields its SQLAlchemy URL for psycopg 3; stops it after."""
    bin_dir = server_bin_dir()
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "nobody", "--"] if as_root else []
    # Not under pytest's tmp folders: as root they are private to root, and the server runs as nobody.
    home = Path(tempfile.mkdtemp(prefix="grading-postgres-"))
    data, sockets, log = home / "data", home / "sockets", home / "server.log"
    sockets.mkdir()
    if as_root:
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        os.chown(sockets, nobody.pw_uid, nobody.pw_gid)
    port = free_port()

    def pg(*command, **kwargs):
        return subprocess.run([*run_as, *command], capture_output=True, text=True, cwd=home, **kwargs)

    started = False
    try:
        made = pg(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        if made.returncode:
            raise RuntimeError(f"initdb failed:\n{made.stdout}{made.stderr}")
        options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off"
        start = pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        started = start.returncode == 0
        if not started:
            raise RuntimeError(f"postgres did not start:\n{start.stdout}{start.stderr}\n"
                               f"{log.read_text() if log.exists() else ''}")
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{database}"
    finally:
        if started:
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)
