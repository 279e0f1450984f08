"""The `emulate` npm package (pinned), installed once and started per test: local
stand-ins for hosted APIs (GitHub, Slack, Linear, ...) on 127.0.0.1.

Shared by the suites that use it (issue links use its GitHub; the Slack adapter its
Slack). `emulated(service, seed)` is an async context manager yielding the base URL;
it skips the test when node/npm are missing or the install fails (no registry).
The install goes to `$CASEBOT_TEST_CACHE/emulate-<version>` (default cache:
~/.cache/casebot-tests), the directory scripts/test.sh pre-installs into for CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

VERSION = "0.10.0"
PACKAGE = f"emulate@{VERSION}"


def install_dir() -> Path:
    base = os.environ.get("CASEBOT_TEST_CACHE") or Path.home() / ".cache" / "casebot-tests"
    return Path(base) / f"emulate-{VERSION}"


def ensure_installed() -> Path:
    """The emulate CLI script, installing the pinned package on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the emulate package")
    where = install_dir()
    cli = where / "node_modules" / "emulate" / "dist" / "index.js"
    if cli.exists():
        return cli
    where.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers (or two checkouts sharing the cache) may all get here at once:
    # one installs while the others wait on the lock, then find the CLI there
    with open(where.parent / f"emulate-{VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cli.exists():
            done = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(where), PACKAGE],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0 or not cli.exists():
                pytest.skip(f"could not install {PACKAGE}: {done.stderr[-300:]}")
    return cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def emulated(service: str, seed: dict[str, Any], tmp: Path) -> AsyncIterator[str]:
    """One emulated service on a free loopback port, seeded; stopped (by its pid) after."""
    cli = ensure_installed()
    port = free_port()
    seed_file = tmp / f"emulate-{service}.json"
    seed_file.write_text(json.dumps(seed))
    process = await asyncio.create_subprocess_exec(
        "node",
        str(cli),
        "--service",
        service,
        "--port",
        str(port),
        "--seed",
        str(seed_file),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "EMULATE_BASE_URL": f"http://127.0.0.1:{port}"},
    )
    try:
        for _ in range(300):  # up to ~30 s on a loaded machine
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            if process.returncode is not None:
                err = await process.stderr.read() if process.stderr else b""
                pytest.fail(f"emulate {service} exited: {err[-500:]!r}")
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"emulate {service} did not listen on {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
            if process.returncode is None:
                process.kill()
                await process.wait()
