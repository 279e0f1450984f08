"""The `[slack]` section: the Slack adapter's own settings. Imports pydantic and `cases`.

`bot.config` holds it as `Config.slack`, as it holds the bridges' tables.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from cases.durations import duration_value

Duration = Annotated[timedelta, BeforeValidator(duration_value)]

DEFAULT_BASE_URL = "https://slack.com/api/"


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_token: str = Field(min_length=1)  # xoxb-...
    signing_secret: str | None = None  # events mode: checks every request
    mode: Literal["events", "socket"] = "events"
    app_token: str | None = None  # socket mode: xapp-... with connections:write
    base_url: str = DEFAULT_BASE_URL
    # reaction names (without colons) that open a case, as `ticket` for :ticket:
    case_reaction: list[str] = ["ticket"]
    # Slack allows about one message a second per channel; bursts beyond it wait
    channel_interval: Duration = timedelta(seconds=1)
    board_min_interval: Duration = timedelta(seconds=3)
    timeout: Duration = timedelta(seconds=10)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("case_reaction")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return [v.strip(":") for v in value if v.strip(":")]

    @model_validator(mode="after")
    def _mode_needs(self) -> SlackConfig:
        if self.mode == "events" and not self.signing_secret:
            raise ValueError('signing_secret: required when mode = "events"')
        if self.mode == "socket" and not self.app_token:
            raise ValueError('app_token: required when mode = "socket"')
        return self
