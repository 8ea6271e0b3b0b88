#!/usr/bin/env bash
# The project's own tests. Installs what it needs on first run (the pinned Python packages;
# PostgreSQL's server binaries for the parallel-grading test, on Debian as root).
# The tests spread over every core (pytest-xdist); tests that share a costly module fixture
# (a graded class) stay together on one worker (tests/conftest.py). `-n 0` runs them in one process.
source "$(dirname "$0")/scripts/env.sh"
bash scripts/install_postgres.sh
exec .venv/bin/python -m pytest -n auto --dist loadgroup "$@"
