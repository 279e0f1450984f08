"""A real Synapse for the whole session (started once, about 4 s), and per test a fresh
room with its own bot, customer and staff users, so tests never see each other."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest

try:
    import nio  # noqa: F401
    import synapse  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI needs matrix-synapse and matrix-nio (pip install -e .[test])"
        ) from None
    pytest.skip("matrix-synapse or matrix-nio not installed", allow_module_level=True)

from tests.bridge_matrix.kit import Person, RecordingCasebot, World
from tests.bridge_matrix.synapse import Synapse

_names = itertools.count(1)


@pytest.fixture(scope="session")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def world(homeserver: Synapse, tmp_path: Path) -> AsyncIterator[World]:
    n = next(_names)
    with ThreadPoolExecutor(3) as pool:
        bot, customer_user, staff_user = pool.map(
            homeserver.register, [f"casebot{n}", f"customer{n}", f"staff{n}"]
        )
    async with aiohttp.ClientSession() as session:
        customer = Person(session, homeserver, customer_user)
        staff = Person(session, homeserver, staff_user)
        room_id = await customer.create_room("Acme support", [bot.user_id, staff.user_id])
        await staff.join(room_id)
        yield World(homeserver, bot, customer, staff, room_id, tmp_path)


@pytest.fixture
async def casebot() -> AsyncIterator[RecordingCasebot]:
    server = RecordingCasebot()
    await server.start()
    yield server
    await server.stop()
