#!/usr/bin/env bash
# The project's own tests. Installs what it needs on first run (the pinned Python packages;
# PostgreSQL's server binaries for the parallel-grading test, on Debian as root).
# The tests spread over every core (pytest-xdist); each test module (or test class) runs on
# one worker (--dist loadscope), so a module's costly fixture (a graded class) is computed once.
# `-n 0` runs them in one process.
source "$(dirname "$0")/scripts/env.sh"
bash scripts/install_postgres.sh
# One worker more than the cores: a grading alternates between its judge and the student's
# worker, and many tests wait on the clock (limits, timeouts, sleeping attacks, servers
# starting). On 2 cores, 3 workers once took 25:28 with both cores busy (4: 28:41); with the
# larger simulated classes, 3 workers took 47:27 (57 CPU-minutes, the cores 62% busy), and 4
# were no faster (more than 46 minutes for less than half the tests).
# torch on one thread in each test process and kernel: with more processes than cores, the
# idle OpenMP threads of one spin on the cores the others wait for (06's notebook took
# 181 s among the tests, 15 s alone).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
# --no-loadscope-reorder: scopes start in the order tests/conftest.py collects them, the
# longest first (xdist's own order, most tests first, started two long gradings late).
# (nproc counts the cores without OMP_NUM_THREADS, which it would otherwise obey.)
cores="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"
exec .venv/bin/python -m pytest -n "$(( cores + 1 ))" --dist loadscope --no-loadscope-reorder "$@"
