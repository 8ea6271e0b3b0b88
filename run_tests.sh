#!/usr/bin/env bash
# The project's own tests. Installs what it needs on first run (the pinned Python packages;
# PostgreSQL's server binaries for the parallel-grading test, on Debian as root).
# The tests spread over every core (pytest-xdist); each test module (or test class) runs on
# one worker (--dist loadscope), so a module's costly fixture (a graded class) is computed once.
# `-n 0` runs them in one process.
source "$(dirname "$0")/scripts/env.sh"
bash scripts/install_postgres.sh
# One worker more than the cores: a grading alternates between its judge and the student's
# worker, so a core that runs one grading idles about a third of the time.
exec .venv/bin/python -m pytest -n "$(( $(nproc) + 1 ))" --dist loadscope "$@"
