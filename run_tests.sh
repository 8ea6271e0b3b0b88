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
# torch on one thread in each test process and kernel: with more processes than cores, the
# idle OpenMP threads of one spin on the cores the others wait for (06's notebook took
# 181 s among the tests, 15 s alone).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
exec .venv/bin/python -m pytest -n "$(( $(nproc) + 1 ))" --dist loadscope "$@"
