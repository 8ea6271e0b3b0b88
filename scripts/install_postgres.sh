#!/usr/bin/env bash
# PostgreSQL's server binaries (initdb, pg_ctl, postgres) for the parallel-grading test, which
# starts its own server in a temporary folder. Idempotent: installs Debian's postgresql (as root)
# only when no initdb is found on PATH or under /usr/lib/postgresql/*/bin.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's postgresql (the parallel-grading test starts its own server)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
else
    echo "no initdb and no way to install it here: the PostgreSQL grading test will fail" \
         "(install PostgreSQL's server binaries, e.g. apt-get install postgresql)" >&2
fi
