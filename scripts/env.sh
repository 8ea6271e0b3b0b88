# Sourced by run_course.sh and run_tests.sh: a virtual environment with every pinned
# dependency, this course's helper package, and nbgrader's needs on PATH.
set -euo pipefail
COURSE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$COURSE_ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    if [ "$(id -u)" = 0 ]; then
        # Grading as root builds the sandbox as an unprivileged user, who must be able to run
        # this Python: a private one (pyenv under /root, say) is copied where everyone can.
        PYTHON="$("$PYTHON" deploy/jupyterhub/shared_env.py --interpreter .python)"
    fi
    echo "creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing pinned dependencies (requirements.txt)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
fi
# Student code is graded in a bubblewrap sandbox; without it grading refuses to run.
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing bubblewrap (the sandbox for student code)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
    else
        echo "bubblewrap (bwrap) is not installed, so grading will refuse to run student code:" \
             "install it (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)" >&2
    fi
fi
# nbgrader calls `alembic` by name when it creates a gradebook.
export PATH="$COURSE_ROOT/.venv/bin:$PATH"
# The four MNIST files: the shared copy beside the repository when there is one.
if [ -z "${MNIST_DIR:-}" ] && [ -d "$COURSE_ROOT/../shared/data/mnist" ]; then
    export MNIST_DIR="$(cd "$COURSE_ROOT/../shared/data/mnist" && pwd)"
fi
export MPLBACKEND="${MPLBACKEND:-Agg}"
