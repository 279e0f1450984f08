"""The chaos kit itself: a `casebot run` that ignores SIGTERM fails the test and does not
outlive it."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.chaos.kit import BotProcess

IGNORES_SIGTERM = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(120)"
)


async def test_a_process_that_ignores_sigterm_is_killed_and_fails_the_stop(
    tmp_path: Path,
) -> None:
    bot = BotProcess(tmp_path, {})
    bot.log.write_text("")
    bot.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", IGNORES_SIGTERM, stdout=asyncio.subprocess.PIPE
    )
    assert bot.proc.stdout is not None
    assert await asyncio.wait_for(bot.proc.stdout.readline(), 30) == b"ready\n"
    with pytest.raises(AssertionError, match="did not stop within 0.5 s"):
        await bot.stop(grace=0.5)
    assert bot.proc.returncode == -signal.SIGKILL
