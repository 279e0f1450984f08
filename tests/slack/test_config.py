"""The [slack] section: a mistake names its key (check-config and run exit 2 on it)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config
from tests.harness import base_config


def slack(**section: object) -> str:
    raw = base_config(slack={"bot_token": "xoxb-1", **section})
    try:
        parse_config(raw, env={})
    except ConfigError as exc:
        return str(exc)
    return "ok"


def test_each_mistake_names_its_key() -> None:
    assert slack(signing_secret="abc") == "ok"
    assert slack().startswith('slack.signing_secret: required when mode = "events"')
    assert slack(mode="socket").startswith("slack.app_token: required")
    assert slack(mode="socket", app_token="xapp-1") == "ok"
    assert slack(signing_secret="a", mode="rtm").startswith("slack.mode:")
    assert slack(signing_secret="a", base_url="slack.com").startswith("slack.base_url:")
    assert slack(signing_secret="a", botToken="x") == "slack.botToken: unknown key"


def test_secrets_may_come_from_the_environment() -> None:
    raw = base_config(slack={})
    config = parse_config(
        raw, env={"CASEBOT_SLACK_BOT_TOKEN": "xoxb-env", "CASEBOT_SLACK_SIGNING_SECRET": "s"}
    )
    assert config.slack is not None and config.slack.bot_token == "xoxb-env"


@pytest.mark.parametrize("name", ["ticket", ":ticket:"])
def test_case_reaction_names_with_or_without_colons(name: str) -> None:
    config = parse_config(
        base_config(slack={"bot_token": "x", "signing_secret": "s", "case_reaction": [name]}),
        env={},
    )
    assert config.slack is not None and config.slack.case_reaction == ["ticket"]
