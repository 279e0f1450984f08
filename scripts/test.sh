#!/usr/bin/env bash
# The whole test suite: SQLite always, PostgreSQL on 127.0.0.1:5432 when it answers
# (CASEBOT_TEST_PG=postgresql+asyncpg://user@host:port/db points elsewhere; "off" skips it),
# headless Chromium and a CJK font (the dashboard's zh-CN pages) for the browser tests. Sets up
# .venv on first use. Runs on pytest-xdist workers (CASEBOT_TEST_WORKERS, default 3). Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser test..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "could not install chromium; the browser test will be skipped outside CI" >&2
fi

# fontconfig too: the browser test asks `fc-list` whether a CJK font is there, and neither
# chromium nor fonts-noto-cjk pulls that tool in on a bare image
if ! fc-list :lang=zh-cn 2>/dev/null | grep -q . && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's fonts-noto-cjk for the Chinese browser test..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fontconfig >/dev/null) \
        || echo "could not install fonts-noto-cjk; the Chinese browser test will be skipped outside CI" >&2
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

# The Slack tests' local Web API: the emulate npm package, pinned (npm's `latest` tag of
# that name is an unrelated package). tests/slack installs it on first use as well.
EMULATE_DIR="${CASEBOT_TEST_CACHE:-$HOME/.cache/casebot-tests}/emulate-0.10.0"
if command -v npm >/dev/null 2>&1 && [ ! -f "$EMULATE_DIR/node_modules/emulate/package.json" ]; then
    mkdir -p "$EMULATE_DIR"
    npm install --prefix "$EMULATE_DIR" --no-audit --no-fund -q emulate@0.10.0 >/dev/null \
        || echo "could not install emulate@0.10.0; the Slack tests will install or skip" >&2
fi

# pytest-xdist workers, CASEBOT_TEST_WORKERS of them (0: one process, no workers). Three on
# the 2-core machine: much of the suite waits on subprocesses, sockets and PostgreSQL, so a
# third worker still gains (see README, Development). A later `-n` among the arguments wins.
WORKERS="${CASEBOT_TEST_WORKERS:-3}"
if ! [[ "$WORKERS" =~ ^([0-9]+|auto|logical)$ ]]; then
    echo "CASEBOT_TEST_WORKERS must be a number, auto or logical, not '$WORKERS'" >&2
    exit 2
fi
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider)
if [ "$WORKERS" = 0 ] || printf '%s\n' "$@" | grep -qE '^-m'; then
    exec "${PYTEST[@]}" -n "$WORKERS" "$@"
fi
# Tests marked `serial` time something (pacing at the fakes), so they run afterwards, alone.
# Exit status 5 is "no tests collected" (arguments that select none of one kind); both
# runs' failures count.
status=0
"${PYTEST[@]}" -n "$WORKERS" -m "not serial" "$@" || status=$?
[ "$status" = 5 ] && status=0
serial=0
"${PYTEST[@]}" "$@" -n 0 -m serial || serial=$?
[ "$serial" = 5 ] && serial=0
if [ "$status" != 0 ]; then exit "$status"; fi
exit "$serial"
