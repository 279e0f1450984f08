"""The bridge as its operators run it: `python -m bridges.matrix --config FILE`."""

from __future__ import annotations

import asyncio
import signal
import sys
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


async def test_bad_config_exits_2_naming_the_key(world: World, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(bridge_toml(world, "http://127.0.0.1:1", 'retry_max = "soon"'))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridges.matrix", "--config", str(config),
        cwd=ROOT, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 2
    assert err.decode().startswith("casebot-matrix: casebot.retry_max:")
    assert "Traceback" not in err.decode()


async def test_the_program_bridges_a_message_and_stops_cleanly_on_sigterm(
    world: World, casebot: RecordingCasebot, tmp_path: Path
) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(bridge_toml(world, casebot.url))
    log = tmp_path / "bridge.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridges.matrix", "--config", str(config),
            cwd=ROOT, stderr=out,
        )  # fmt: skip
        try:
            await wait_until(lambda: b"bridge ready" in log.read_bytes(), 30, "bridge ready")
            sent = await world.customer.say(world.room_id, "Is the API down?")
            await wait_until(lambda: casebot.events, what="the event")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 10) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert [e["id"] for e in casebot.events] == [sent]


async def test_a_refused_login_exits_1_with_one_line(world: World, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    toml = bridge_toml(world, "http://127.0.0.1:1").replace(world.bot.password, "wrong")
    config.write_text(toml)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridges.matrix", "--config", str(config),
        cwd=ROOT, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith(f"casebot-matrix: matrix login as {world.bot.user_id} failed")
    assert "Traceback" not in err.decode()


async def test_a_revoked_access_token_stops_the_bridge_naming_the_key(
    world: World, casebot: RecordingCasebot, tmp_path: Path
) -> None:
    config = tmp_path / "bridge.toml"
    toml = bridge_toml(world, casebot.url).replace(
        f'password = "{world.bot.password}"', f'access_token = "{world.bot.access_token}"'
    )
    config.write_text(toml)
    log = tmp_path / "bridge.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridges.matrix", "--config", str(config),
            cwd=ROOT, stderr=out,
        )  # fmt: skip
        try:
            await wait_until(lambda: b"bridge ready" in log.read_bytes(), 30, "bridge ready")
            bot = Person(world.customer.session, world.synapse, world.bot)
            await bot._call("POST", "/logout", {})
            assert await asyncio.wait_for(process.wait(), 45) == 1
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    last = log.read_text().strip().splitlines()[-1]
    assert last == "casebot-matrix: matrix.password: the access token was refused; give a password"
