#!/usr/bin/env bash
# casebot demo: a support conversation played through the real engine on a local SQLite
# file, needing no account anywhere. Sets up .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/casebot demo "$@"
