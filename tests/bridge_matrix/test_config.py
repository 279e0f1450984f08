"""The bridge's config file: the shipped example loads, a bad key is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridges.matrix.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "bridges" / "matrix" / "bridge.example.toml"


def test_the_example_loads() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.commands.mode == "pull"
    assert config.casebot.bridge == "matrix"


def test_secrets_from_the_environment_win() -> None:
    env = {"CASEBOT_BRIDGE_SECRET": "whsec_ZnJvbS1lbnY=", "CASEBOT_MATRIX_PASSWORD": "pw"}
    config = load_config(EXAMPLE, env=env)
    assert config.casebot.secret == "whsec_ZnJvbS1lbnY="
    assert config.matrix.password == "pw"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"commands": {"mode": "both"}}, "commands.mode"),
        ({"casebot": {"url": "http://x", "secret": "s", "retry": "1s"}}, "casebot.retry"),
        ({"matrix": {"homeserver": "http://x", "user_id": "@b:x"}}, "matrix"),
    ],
)
def test_a_bad_key_is_named(change: dict[str, dict[str, str]], key: str) -> None:
    raw = {
        "matrix": {"homeserver": "http://x", "user_id": "@b:x", "password": "p"},
        "casebot": {"url": "http://x", "secret": "s"},
        **change,
    }
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        parse_config(raw, env={})
