#!/usr/bin/env bash
# What the JupyterHub tests need beyond requirements.txt; idempotent.
#   - configurable-http-proxy (the Hub's proxy) and playwright-core (drives the browser), pinned in
#     tests/node/package-lock.json, installed into build/node from the npm registry;
#   - Debian's chromium for the browser test (as root only; skipped with --node-only).
# Without them the tests skip, saying what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
node_only=0
[ "${1:-}" = "--node-only" ] && node_only=1

if [ "$node_only" = 0 ] && [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian's chromium (browser test)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "no apt-get: the browser test will be skipped (install chromium by hand)" >&2
    fi
fi

if command -v npm >/dev/null 2>&1; then
    if ! cmp -s tests/node/package-lock.json build/node/package-lock.json \
         || [ ! -x build/node/node_modules/.bin/configurable-http-proxy ]; then
        echo "installing configurable-http-proxy and playwright-core into build/node (npm)"
        mkdir -p build/node
        cp tests/node/package.json tests/node/package-lock.json build/node/
        (cd build/node && npm ci --no-audit --no-fund --loglevel=error)
    fi
else
    echo "no npm: the JupyterHub tests will be skipped (apt-get install nodejs npm)" >&2
fi
