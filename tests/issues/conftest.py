"""A running App with `[trackers.*]` configured, behind aiohttp's test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from tests.web.conftest import Site, make_site

SECRET = "tracker-secret-0123"


def trackers(**overrides: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        name: {"webhook_secret": SECRET} for name in ("github", "gitlab", "jira", "linear")
    }
    found.update(overrides)
    return found


async def tracker_site(url: str, raw_trackers: dict[str, Any]) -> AsyncIterator[Site]:
    # a GitHub issue event is some 10 kB: more than the web tests' small body limit
    async for site in make_site(url, sections={"trackers": raw_trackers}, max_body=1_048_576):
        yield site
