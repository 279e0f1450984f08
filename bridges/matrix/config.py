"""The bridge's TOML file, validated; secrets may come from the environment instead.

`CASEBOT_MATRIX_PASSWORD`, `CASEBOT_MATRIX_ACCESS_TOKEN` and `CASEBOT_BRIDGE_SECRET`
win over the file, so the file itself can be world-readable.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

ENV = {
    ("matrix", "password"): "CASEBOT_MATRIX_PASSWORD",
    ("matrix", "access_token"): "CASEBOT_MATRIX_ACCESS_TOKEN",
    ("casebot", "secret"): "CASEBOT_BRIDGE_SECRET",
}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(Exception):
    """A bad bridge config; the message names the key."""


def _duration(value: Any) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", value) if isinstance(value, str) else None
    if not match:
        raise ValueError("expected a duration such as 0.5s, 30s, 5m")
    return timedelta(seconds=float(match[1]) * UNITS[match[2]])


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatrixSettings(Section):
    homeserver: str
    user_id: str
    password: str | None = None
    access_token: str | None = None
    device_name: str = "casebot bridge"

    @model_validator(mode="after")
    def _some_login(self) -> MatrixSettings:
        if not self.password and not self.access_token:
            raise ValueError("give password or access_token")
        return self


class CasebotSettings(Section):
    url: str
    bridge: str = "matrix"
    secret: str
    retry_max: Duration = timedelta(seconds=30)


class CommandSettings(Section):
    mode: Literal["pull", "push"] = "pull"
    host: str = "127.0.0.1"
    port: int = 9000
    wait: Duration = timedelta(seconds=25)


class StoreSettings(Section):
    path: Path = Path("matrix-bridge.db")


class BridgeConfig(Section):
    matrix: MatrixSettings
    casebot: CasebotSettings
    commands: CommandSettings = CommandSettings()
    store: StoreSettings = StoreSettings()


def parse_config(raw: dict[str, Any], env: dict[str, str] | None = None) -> BridgeConfig:
    env = os.environ if env is None else env
    for (section, key), name in ENV.items():
        if env.get(name):
            raw.setdefault(section, {})[key] = env[name]
    try:
        return BridgeConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise ConfigError(f"{key}: {error['msg']}") from None


def load_config(path: str | Path, env: dict[str, str] | None = None) -> BridgeConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
    return parse_config(raw, env)
