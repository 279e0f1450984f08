"""Sending helpers for the Slack adapter: mrkdwn, Block Kit, pacing, errors. Imports
slack_sdk's error types, `cases` and `adapters`.

Catalogue texts are plain; they are escaped for mrkdwn here (`&`, `<`, `>`) and case
refs (`#12`) are set in bold. A message with buttons is a section block per 3000
characters and one actions block; its `text` is the plain fallback notifications show.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.base import DeliveryError
from adapters.pacing import Gates, release
from cases.model import Button

SECTION_TEXT = 3000  # Block Kit's limit for one section's text
MAX_TEXT = 12_000  # four sections; Slack itself takes 40,000 but truncates display
BUTTON_TEXT = 75
ACTIONS_PER_BLOCK = 25
_REF = re.compile(r"(?<![\w#&])#\d+\b")

# errors that no retry can mend: the row becomes dead and `casebot outbox` shows it
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
        "missing_scope",
        "restricted_action",
        "cant_update_message",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_arguments",
    }
)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    return _REF.sub(lambda m: f"*{m.group(0)}*", escape(text))


def trim(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def blocks(text: str, buttons: tuple[tuple[Button, ...], ...]) -> list[dict[str, Any]] | None:
    """Block Kit for a message with buttons; None for plain text (Slack renders mrkdwn
    in `text` as well)."""
    if not buttons:
        return None
    body = trim(text)
    found: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(body[i : i + SECTION_TEXT])}}
        for i in range(0, len(body), SECTION_TEXT)
    ] or [{"type": "section", "text": {"type": "mrkdwn", "text": " "}}]
    flat = [b for row in buttons for b in row]
    for start in range(0, len(flat), ACTIONS_PER_BLOCK):
        found.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        # unique in the message; the engine reads only the value
                        "action_id": f"casebot_{start + i}",
                        "text": {"type": "plain_text", "text": trim(b.text, BUTTON_TEXT)},
                        "value": b.data,
                    }
                    for i, b in enumerate(flat[start : start + ACTIONS_PER_BLOCK])
                ],
            }
        )
    return found


def failure(exc: Exception, what: str) -> DeliveryError:
    """A slack_sdk error as the dispatcher's DeliveryError: 429 honours Retry-After,
    Slack's own refusals are permanent, the rest (5xx, network) retries."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = slack_error(exc)
        if status == 429 or error == "ratelimited":
            headers = getattr(response, "headers", {}) or {}
            value = headers.get("Retry-After") or headers.get("retry-after") or "1"
            try:
                seconds = max(0.0, float(value))
            except (TypeError, ValueError):
                seconds = 1.0
            return DeliveryError(
                f"{what}: rate limited, retry after {seconds:g}s", retry_after=seconds
            )
        if status >= 500 or error in ("internal_error", "fatal_error", "service_unavailable"):
            return DeliveryError(f"{what}: Slack answered {status} {error}")
        return DeliveryError(
            f"{what}: {error or status}",
            permanent=error in PERMANENT or 400 <= status < 500 and status != 408,
        )
    if isinstance(exc, SlackClientError):
        return DeliveryError(f"{what}: {type(exc).__name__}: {exc}")
    return DeliveryError(f"{what}: {type(exc).__name__}: {exc}")


def slack_error(exc: Exception) -> str:
    """Slack's error code of a refused call ("message_not_found"), else ""."""
    data = getattr(getattr(exc, "response", None), "data", None)
    if isinstance(exc, SlackApiError) and isinstance(data, dict):
        return str(data.get("error", ""))
    return ""


class ChannelPacer:
    """About one message a second per channel, as Slack asks: a send waits its turn,
    or, when the wait would be long, is handed back to the dispatcher to retry."""

    def __init__(self, interval: float, longest_wait: float = 5.0) -> None:
        self.interval = interval
        self.longest_wait = longest_wait
        self._next: dict[str, float] = {}
        self._gates = Gates(1, interval)

    def reserve(self, channel: str) -> float:
        """Seconds to wait before sending in `channel`; raises DeliveryError to retry
        later when that is past `longest_wait`."""
        now = time.monotonic()
        at = max(now, self._next.get(channel, 0.0))
        wait = at - now
        if wait > self.longest_wait:
            raise DeliveryError(f"{channel}: pacing, retry after {wait:.1f}s", retry_after=wait)
        self._next[channel] = at + self.interval
        return wait

    async def pace(self, channel: str) -> None:
        """Wait for the channel's slot (`reserve`, which may raise), then go out no sooner
        than an interval after the channel's send before, in real time: sends whose
        slots a busy event loop let pass would otherwise go out together."""
        wait = self.reserve(channel)
        if wait > 0:
            await asyncio.sleep(wait)
        await release(self._gates[channel])
