#!/usr/bin/env bash
# The main job: generate the assignments, grade a simulated class, print the grade
# table, write feedback. Installs what it needs on first run.
source "$(dirname "$0")/scripts/env.sh"
exec .venv/bin/python -m instructor.demo "$@"
