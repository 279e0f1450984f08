"""The API fuzzed with schemathesis against its own `/api/v1/openapi.json`: for every
documented operation, generated requests (valid and invalid parameters, bodies,
headers) never get a 5xx, and every answer has a documented status, content type,
headers and a body that fits the documented schema.

The server is live (a real socket on 127.0.0.1) with a few cases in two chats; the
number of examples per operation is bounded (CASEBOT_FUZZ_API_EXAMPLES, default 25).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.badinput.live import API_TOKEN, LiveCasebot
from tests.harness import ACME, GLOBEX

EXAMPLES = int(os.environ.get("CASEBOT_FUZZ_API_EXAMPLES", "25"))
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
CALLS: dict[str, int] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveCasebot]:
    path = tmp_path_factory.mktemp("apifuzz") / "casebot.db"
    path.write_bytes(sqlite_template.read_bytes())
    with LiveCasebot(f"sqlite+aiosqlite:///{path}") as bot:
        update_id = 1
        for chat, user, text in (
            (ACME, 5001, "/new VM down"),
            (ACME, 5002, "/new printer <b>on fire</b>"),
            (GLOBEX, 6001, "数据库超时"),
        ):
            message = bot.api.message(int(chat), user, text, first_name="Customer")
            assert bot.hook({"update_id": update_id, **message}) == 200
            update_id += 1
        yield bot
    print(f"\nbadinput api: {sum(CALLS.values())} schemathesis requests over {len(CALLS)} "
          f"operations, no 5xx, every answer as documented")  # fmt: skip


def test_api_answers_as_documented(live: LiveCasebot) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/api/v1/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case) -> None:
            CALLS[case.operation.label] = CALLS.get(case.operation.label, 0) + 1
            case.call_and_validate(base_url=f"{live.url}/api/v1", headers=AUTH)

        fuzz()
