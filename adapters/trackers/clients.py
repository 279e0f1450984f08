"""Asking a tracker's API what state an issue is in: the polling fallback, which needs
no public URL. Imports `cases`, `adapters`, aiohttp.

GitHub and GitLab and Jira answer over REST (`GET /repos/{o}/{r}/issues/{n}`,
`GET /api/v4/projects/{path}/issues/{iid}`, `GET /rest/api/3/issue/{key}`); Linear
has GraphQL only (`POST /graphql`, `issue(id: "ENG-1")`). Every base URL comes from
config, so a local server may stand in for any of them.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.trackers.config import TrackersConfig
from adapters.trackers.webhooks import LINEAR_CLOSED
from cases.issues import CLOSED, OPEN, IssueRecord, IssueUpdate

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=20)
_LINEAR_QUERY = "query($id: String!) { issue(id: $id) { identifier title state { type } } }"


class TrackerError(Exception):
    """The tracker did not say (refused, unreachable, or an answer we cannot read).

    `down`: it did not answer, or answered 5xx/429, so asking it about other issues
    now would only wait out more timeouts."""

    def __init__(self, message: str, down: bool = False) -> None:
        super().__init__(message)
        self.down = down


def _down_status(status: int) -> bool:
    return status >= 500 or status == 429


class TrackerClients:
    """One HTTP session for every configured tracker that has a token."""

    def __init__(self, config: TrackersConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    def polled(self) -> dict[str, float]:
        """The trackers to poll and every how many seconds."""
        return {
            name: c.poll_interval.total_seconds()
            for name, c in self.config.configured().items()
            if c.token
        }

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def fetch(self, issue: IssueRecord, now: datetime) -> IssueUpdate:
        """The issue's state and title now; TrackerError when the tracker does not say."""
        settings = self.config.configured().get(issue.tracker)
        if settings is None or not settings.token:
            raise TrackerError(f"{issue.tracker}: no token configured")
        base = self.config.base_url(issue.tracker)
        try:
            state, title = await getattr(self, f"_{issue.tracker}")(base, settings, issue)
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise TrackerError(f"{issue.tracker} {issue.key}: {exc!r}", down=True) from exc
        except (aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
            raise TrackerError(f"{issue.tracker} {issue.key}: {exc!r}") from exc
        return IssueUpdate(issue.tracker, issue.key, state, now, title=title, via="poll")

    async def _get(self, url: str, headers: dict[str, str]) -> Any:
        async with self._http().get(url, headers=headers) as response:
            if response.status != 200:
                raise TrackerError(
                    f"GET {url}: HTTP {response.status}", _down_status(response.status)
                )
            return await response.json(content_type=None)

    async def _github(self, base: str, settings: Any, issue: IssueRecord) -> tuple[str, str]:
        repo, _, number = issue.key.rpartition("#")
        data = await self._get(
            f"{base}/repos/{repo}/issues/{int(number)}",
            {"Authorization": f"Bearer {settings.token}", "Accept": "application/vnd.github+json"},
        )
        return (CLOSED if data["state"] == "closed" else OPEN), str(data.get("title") or "")

    async def _gitlab(self, base: str, settings: Any, issue: IssueRecord) -> tuple[str, str]:
        mr = "!" in issue.key
        project, _, iid = issue.key.rpartition("!" if mr else "#")
        kind = "merge_requests" if mr else "issues"
        data = await self._get(
            f"{base}/api/v4/projects/{quote(project, safe='')}/{kind}/{int(iid)}",
            {"PRIVATE-TOKEN": settings.token},
        )
        state = CLOSED if data["state"] in ("closed", "merged") else OPEN
        return state, str(data.get("title") or "")

    async def _jira(self, base: str, settings: Any, issue: IssueRecord) -> tuple[str, str]:
        basic = base64.b64encode(f"{settings.user or ''}:{settings.token}".encode()).decode()
        data = await self._get(
            f"{base}/rest/api/3/issue/{quote(issue.key)}?fields=summary,status",
            {"Accept": "application/json", "Authorization": "Basic " + basic},
        )
        fields = data["fields"]
        category = fields["status"]["statusCategory"]["key"]
        return (CLOSED if category == "done" else OPEN), str(fields.get("summary") or "")

    async def _linear(self, base: str, settings: Any, issue: IssueRecord) -> tuple[str, str]:
        body = {"query": _LINEAR_QUERY, "variables": {"id": issue.key}}
        # Linear takes a personal API key as the whole Authorization header
        headers = {"Authorization": settings.token, "Content-Type": "application/json"}
        async with self._http().post(f"{base}/graphql", json=body, headers=headers) as response:
            if response.status != 200:
                raise TrackerError(
                    f"POST {base}/graphql: HTTP {response.status}", _down_status(response.status)
                )
            data = await response.json(content_type=None)
        found = (data.get("data") or {}).get("issue")
        if not found:
            raise TrackerError(f"linear {issue.key}: {data.get('errors') or 'not found'}")
        state = CLOSED if (found.get("state") or {}).get("type") in LINEAR_CLOSED else OPEN
        return state, str(found.get("title") or "")
