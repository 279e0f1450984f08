"""Signed webhooks from the trackers: verify, read, and hand on to be stored.

Imports `cases`, `adapters`, aiohttp. One route per tracker,
`POST /trackers/{tracker}/webhook`, for each tracker with a `webhook_secret`:

- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`; deliveries by
  `X-GitHub-Delivery`; `issues` and `pull_request` events.
- GitLab: `X-Gitlab-Token` equal to the secret (GitLab signs nothing; it sends the
  token back); deliveries by `X-Gitlab-Event-UUID`; issue and merge request hooks.
- Jira Cloud (an admin webhook with a secret): `X-Hub-Signature: sha256=<hex HMAC>`,
  the WebSub form; deliveries by `X-Atlassian-Webhook-Identifier`.
- Linear: `Linear-Signature: <hex HMAC-SHA256 of the body>` and a `webhookTimestamp`
  (ms) in the body within a minute of now; deliveries by `Linear-Delivery`.

401 for a bad or missing signature (nothing is stored), 404 for a tracker without a
secret, 422 for a body that is no JSON object, else 202 once the sink has stored the
delivery (a redelivery of a stored one is 202 too, and changes nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from adapters.trackers.config import TrackersConfig
from cases.clock import Clock
from cases.issues import CLOSED, OPEN, IssueUpdate

log = logging.getLogger(__name__)

LINEAR_SKEW = timedelta(minutes=1)
LINEAR_CLOSED = ("completed", "canceled")


class BadSignature(Exception):
    pass


@dataclass(frozen=True)
class Delivery:
    """One verified webhook delivery and the issue states it tells."""

    tracker: str
    delivery_id: str
    payload: dict[str, Any]
    updates: tuple[IssueUpdate, ...]


# stores a delivery with what it tells, in one transaction; False for a redelivery
DeliverySink = Callable[[Delivery], Awaitable[bool]]


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.strip().encode(), expected.encode())


def verify(
    tracker: str, secret: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    """Raises BadSignature unless the request carries the tracker's proof of the secret."""
    if tracker == "github":
        ok = _same(headers.get("X-Hub-Signature-256"), "sha256=" + _hmac_hex(secret, body))
    elif tracker == "gitlab":
        ok = _same(headers.get("X-Gitlab-Token"), secret)
    elif tracker == "jira":
        ok = _same(headers.get("X-Hub-Signature"), "sha256=" + _hmac_hex(secret, body))
    elif tracker == "linear":
        ok = _same(headers.get("Linear-Signature"), _hmac_hex(secret, body))
        if ok:
            # a signed body replayed later is refused: Linear puts its send time in it
            try:
                sent = float(json.loads(body)["webhookTimestamp"]) / 1000
            except (ValueError, KeyError, TypeError):
                raise BadSignature("no webhookTimestamp") from None
            ok = abs(now.timestamp() - sent) <= LINEAR_SKEW.total_seconds()
    else:
        ok = False
    if not ok:
        raise BadSignature(tracker)


def _delivery_id(tracker: str, headers: Mapping[str, str], body: bytes) -> str:
    header = {
        "github": "X-GitHub-Delivery",
        "gitlab": "X-Gitlab-Event-UUID",
        "jira": "X-Atlassian-Webhook-Identifier",
        "linear": "Linear-Delivery",
    }[tracker]
    given = headers.get(header, "").strip()
    # without the header, the same body is the same delivery
    return given[:200] if given else "sha256:" + hashlib.sha256(body).hexdigest()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    # a signed body of an unexpected shape tells nothing; it must not be a 500 the
    # tracker then redelivers for days
    return value if isinstance(value, dict) else {}


def read_updates(tracker: str, payload: dict[str, Any], now: datetime) -> list[IssueUpdate]:
    """The issue states a webhook body tells (none for events about anything else)."""
    if tracker == "github":
        repo = _str(_dict(payload.get("repository")).get("full_name"))
        item = payload.get("issue") or payload.get("pull_request")
        if not repo or not isinstance(item, dict) or not isinstance(item.get("number"), int):
            return []
        if not isinstance(item.get("state"), str):
            return []
        state = CLOSED if item.get("state") == "closed" else OPEN
        return [
            IssueUpdate(
                tracker, f"{repo}#{item['number']}".lower(), state, now, _str(item.get("title"))
            )
        ]
    if tracker == "gitlab":
        project = _str(_dict(payload.get("project")).get("path_with_namespace"))
        attrs = payload.get("object_attributes")
        kind = payload.get("object_kind")
        if not project or not isinstance(attrs, dict) or kind not in ("issue", "merge_request"):
            return []
        if not isinstance(attrs.get("iid"), int):
            return []
        mark = "!" if kind == "merge_request" else "#"
        state = CLOSED if attrs.get("state") in ("closed", "merged") else OPEN
        key = f"{project}{mark}{attrs['iid']}".lower()
        return [IssueUpdate(tracker, key, state, now, _str(attrs.get("title")))]
    if tracker == "jira":
        issue = payload.get("issue")
        if not isinstance(issue, dict) or not _str(issue.get("key")):
            return []
        fields = _dict(issue.get("fields"))
        category = _dict(_dict(fields.get("status")).get("statusCategory")).get("key")
        if not isinstance(category, str):
            return []  # a body that does not say the state changes none
        state = CLOSED if category == "done" else OPEN
        return [IssueUpdate(tracker, issue["key"], state, now, _str(fields.get("summary")))]
    if tracker == "linear":
        data = payload.get("data")
        if payload.get("type") != "Issue" or not isinstance(data, dict):
            return []
        identifier = _str(data.get("identifier"))
        if not identifier:
            return []
        kind = _dict(data.get("state")).get("type")
        if not isinstance(kind, str) and payload.get("action") != "remove":
            return []
        state = CLOSED if kind in LINEAR_CLOSED or payload.get("action") == "remove" else OPEN
        return [IssueUpdate(tracker, identifier.upper(), state, now, _str(data.get("title")))]
    return []


class TrackerHooks:
    """The webhook routes of the configured trackers."""

    def __init__(self, config: TrackersConfig, clock: Clock, sink: DeliverySink) -> None:
        self.config = config
        self.clock = clock
        self.sink = sink

    def web_routes(self) -> list[web.RouteDef]:
        return [web.post("/trackers/{tracker}/webhook", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        tracker = request.match_info["tracker"]
        settings = self.config.configured().get(tracker)
        if settings is None or not settings.webhook_secret:
            return web.json_response({"error": "unknown tracker"}, status=404)
        body = await request.read()
        now = self.clock.now()
        try:
            verify(tracker, settings.webhook_secret, request.headers, body, now)
        except BadSignature:
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return web.json_response({"error": "body is no JSON object"}, status=422)
        delivery = Delivery(
            tracker,
            _delivery_id(tracker, request.headers, body),
            payload,
            tuple(read_updates(tracker, payload, now)),
        )
        fresh = await self.sink(delivery)
        return web.json_response(
            {"stored": fresh, "duplicate": not fresh, "issues": len(delivery.updates)},
            status=202,
        )
