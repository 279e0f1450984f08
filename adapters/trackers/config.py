"""`[trackers.github]`, `[trackers.gitlab]`, `[trackers.jira]`, `[trackers.linear]`:
what casebot needs to hear from and ask each tracker. Imports pydantic and `cases`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

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

BASE_URLS = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com",
    "jira": "",
    "linear": "https://api.linear.app",
}


class TrackerConfig(BaseModel):
    """One tracker. `webhook_secret` turns its webhook route on (requests that fail its
    signature get 401); `token` turns on polling its REST API every `poll_interval`
    for the open issues cases link to, which needs no public URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str | None = Field(None, min_length=1)
    webhook_secret: str | None = Field(None, min_length=8)
    base_url: str | None = None
    poll_interval: Duration = timedelta(minutes=5)
    user: str | None = None  # Jira Cloud: the account e-mail the API token belongs to

    @field_validator("poll_interval")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise ValueError("must be at least 10s")
        return value

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class TrackersConfig(BaseModel):
    """`status_page`: whether a customer's status page shows the title and state of the
    issues their cases link to (off by default: issue titles are internal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    github: TrackerConfig | None = None
    gitlab: TrackerConfig | None = None
    jira: TrackerConfig | None = None
    linear: TrackerConfig | None = None
    status_page: bool = False

    @model_validator(mode="after")
    def _jira_site(self) -> TrackersConfig:
        # Jira has no one public API host: each site is its own
        jira = self.jira
        if jira is not None and jira.token and not jira.base_url:
            raise ValueError("jira.base_url: required with a token (https://acme.atlassian.net)")
        if jira is not None and jira.token and not jira.user:
            raise ValueError("jira.user: required with a token (the API token's e-mail)")
        return self

    def configured(self) -> dict[str, TrackerConfig]:
        found = {"github": self.github, "gitlab": self.gitlab}
        found.update({"jira": self.jira, "linear": self.linear})
        return {name: c for name, c in found.items() if c is not None}

    def base_url(self, tracker: str) -> str:
        config = self.configured().get(tracker)
        return (config.base_url if config and config.base_url else None) or BASE_URLS[tracker]
