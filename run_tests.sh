#!/usr/bin/env bash
# The project's own tests. Installs what it needs on first run.
source "$(dirname "$0")/scripts/env.sh"
exec .venv/bin/python -m pytest "$@"
