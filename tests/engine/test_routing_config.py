"""`[[routing]]` in the config: a bad route names its key; a good one reaches the engine
with every person by the key they are recorded under."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from bot.config import ConfigError, parse_config
from bot.wiring import engine_settings
from tests.harness import base_config


@pytest.mark.parametrize(
    ("route", "key"),
    [
        ({"account": "Nope"}, "routing[0].account"),
        ({"account": "Acme", "category": "billing"}, "routing[0].account"),
        ({}, "routing[0].account"),
        ({"account": "Acme", "policy": "random"}, "routing[0].policy"),
        ({"account": "Acme", "people": ["Nobody"]}, "routing[0].people[0]"),
        ({"account": "Acme", "pass_after": "soon"}, "routing[0].pass_after"),
    ],
)
def test_a_bad_route_names_its_key(route: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)}: "):
        parse_config(base_config(routing=[route]), env={})


def test_a_route_reaches_the_engine() -> None:
    raw = base_config(routing=[{"account": "Acme", "policy": "least_loaded", "pass_after": "15m"}])
    [route] = engine_settings(parse_config(raw, env={})).routes
    assert route.name == "account:Acme" and route.policy == "least_loaded"
    assert route.people == ("telegram:1001", "telegram:1002")  # every engineer
    assert route.pass_after == timedelta(minutes=15)
