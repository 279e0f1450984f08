"""The bridge as its operators run it: `python -m bridges.matrix --config FILE`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.bridge_matrix.kit import SECRET, Person, RecordingCasebot, World, wait_until

ROOT = Path(__file__).resolve().parents[2]


def bridge_toml(world: World, casebot_url: str, extra: str = "") -> str:
    return f"""
[matrix]
homeserver = "{world.synapse.url}"
user_id = "{world.bot.user_id}"
password = "{world.bot.password}"

[casebot]
url = "{casebot_url}"
bridge = "matrix"
secret = "{SECRET}"
{extra}

[commands]
mode = "pull"
wait = "1s"

[store]
path = "{world.tmp / "bridge.db"}"
"""


async def exits(config: Path) -> tuple[int | None, list[str]]:
    """Run the bridge to its end; its exit code and the lines it wrote to stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridges.matrix", "--config", str(config),
        cwd=ROOT, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    text = err.decode()
    assert "Traceback" not in text
    return process.returncode, text.strip().splitlines()


@contextlib.asynccontextmanager
async def bridge_process(config: Path, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bridge as a process, from its first sync on; killed if a test leaves it running."""
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridges.matrix", "--config", str(config),
            cwd=ROOT, stderr=out,
        )  # fmt: skip
        try:
            await wait_until(lambda: b"bridge ready" in log.read_bytes(), 30, "bridge ready")
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_bad_config_exits_2_naming_the_key(world: World, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(bridge_toml(world, "http://127.0.0.1:1", 'retry_max = "soon"'))
    code, lines = await exits(config)
    assert code == 2
    assert lines[-1].startswith("casebot-matrix: casebot.retry_max:")


async def test_a_refused_login_exits_1_with_one_line(world: World, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    toml = bridge_toml(world, "http://127.0.0.1:1").replace(world.bot.password, "wrong")
    config.write_text(toml)
    code, lines = await exits(config)
    assert code == 1
    assert lines[-1].startswith(f"casebot-matrix: matrix login as {world.bot.user_id} failed")


async def test_the_program_bridges_a_message_and_stops_cleanly_on_sigterm(
    world: World, casebot: RecordingCasebot, tmp_path: Path
) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(bridge_toml(world, casebot.url))
    async with bridge_process(config, tmp_path / "bridge.log") as process:
        sent = await world.customer.say(world.room_id, "Is the API down?")
        await wait_until(lambda: casebot.events, what="the event")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    assert [e["id"] for e in casebot.events] == [sent]


async def test_a_revoked_access_token_stops_the_bridge_naming_the_key(
    world: World, casebot: RecordingCasebot, tmp_path: Path
) -> None:
    config = tmp_path / "bridge.toml"
    toml = bridge_toml(world, casebot.url).replace(
        f'password = "{world.bot.password}"', f'access_token = "{world.bot.access_token}"'
    )
    config.write_text(toml)
    log = tmp_path / "bridge.log"
    async with bridge_process(config, log) as process:
        bot = Person(world.customer.session, world.synapse, world.bot)
        await bot._call("POST", "/logout", {})
        assert await asyncio.wait_for(process.wait(), 45) == 1
    last = log.read_text().strip().splitlines()[-1]
    assert last == "casebot-matrix: matrix.password: the access token was refused; give a password"
