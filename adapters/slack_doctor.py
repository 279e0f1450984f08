"""`casebot doctor` for Slack: the set-up problems behind "the bot sees nothing".
Imports slack_sdk, aiohttp and `cases`.

Checks the token (auth.test) and the scopes Slack says it has (the `x-oauth-scopes`
header of that answer), each configured channel (is the bot in it), the signing
secret (that it has Slack's form, and, when `http.public_url` is set, that the running
casebot answers a url_verification signed with it), and lists the channels the bot
is in, with their ids, which is what a new user needs to write the config.
Exit 0: no problem; 1: problems; 2: the Web API cannot be reached.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.doctor_report import Problem, print_problems
from adapters.slack import EVENTS_PATH
from adapters.slack_send import slack_error

# `bot.config.Config`, which adapters may not import: the doctor reads [slack], [staff],
# [[accounts]] and [http]
Config = Any

# what casebot calls or is sent, by scope; the manifest asks for all of them
SCOPES = {
    "channels:history": "messages in public channels (message.channels)",
    "groups:history": "messages in private channels (message.groups)",
    "reactions:read": "the :ticket: reaction that opens a case",
    "chat:write": "acknowledgements, cards, nudges and the board",
    "pins:write": "pinning the board",
    "im:write": "direct messages to staff",
    "commands": "the /casebot slash command",
}
SECRET_FORM = re.compile(r"[0-9a-f]{32}")


def _channel_id(key: str) -> str | None:
    platform, _, chat = key.partition(":")
    return chat if platform == "slack" and chat else None


class SlackDoctor:
    def __init__(self, config: Config, out: Callable[[str], None] = print) -> None:
        self.config = config
        self.slack = config.slack
        self.out = out
        self.client = AsyncWebClient(token=self.slack.bot_token, base_url=self.slack.base_url)
        self.problems: list[Problem] = []
        self.bot_name = "casebot"

    def problem(self, what: str, fix: str) -> None:
        self.problems.append(Problem(what, fix))

    async def run(self) -> int:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            self.out(f"PROBLEM: Slack refused the bot token ({slack_error(exc) or exc}).")
            self.out("  fix: copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & ")
            self.out("       Permissions page into slack.bot_token or CASEBOT_SLACK_BOT_TOKEN.")
            return 1
        except (SlackClientError, OSError, TimeoutError) as exc:
            self.out(f"error: cannot reach the Slack Web API at {self.slack.base_url}: {exc}")
            return 2
        self.bot_name = str(auth.get("user") or self.bot_name)
        self.out(
            f"bot: {auth.get('user')} (id {auth.get('user_id')}) in {auth.get('team')} "
            f"(team {auth.get('team_id')}), mode {self.slack.mode}"
        )
        self._check_scopes(auth.headers)
        self._check_secret()
        await self._check_channels()
        await self._check_public_url()
        self._report()
        return 1 if self.problems else 0

    def _check_scopes(self, headers: dict[str, Any]) -> None:
        raw = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
        if raw is None:
            self.out("(Slack did not say which scopes the token has)")
            return
        have = {s.strip() for s in str(raw).split(",") if s.strip()}
        for scope, why in SCOPES.items():
            if scope not in have:
                self.problem(
                    f"the token lacks the {scope} scope: casebot needs it for {why}",
                    f"add {scope} under OAuth & Permissions -> Bot Token Scopes (or paste "
                    "adapters/slack_manifest.yaml again), then reinstall the app",
                )

    def _check_secret(self) -> None:
        secret = self.slack.signing_secret
        if self.slack.mode != "events" or not secret:
            return
        if not SECRET_FORM.fullmatch(secret):
            self.problem(
                "slack.signing_secret does not look like a Slack signing secret (32 hex "
                "characters): every event would be refused with 401",
                "copy Signing Secret from the app's Basic Information page",
            )

    async def _check_channels(self) -> None:
        configured = [(c, a.name) for a in self.config.accounts for c in a.chats if _channel_id(c)]
        triage = self.config.staff.triage_chat
        if triage and _channel_id(triage):
            configured.append((triage, "triage"))
        for key, what in configured:
            channel = _channel_id(key) or ""
            try:
                info = await self.client.conversations_info(channel=channel)
            except SlackApiError as exc:
                self.problem(
                    f"{key} ({what}): Slack says {slack_error(exc)}; the bot cannot see it",
                    f"invite the bot: type /invite @{self.bot_name} in that channel",
                )
                continue
            except (SlackClientError, OSError, TimeoutError) as exc:
                self.out(f"(could not look at {key}: {exc})")
                continue
            channel_info = info.get("channel") or {}
            if not channel_info.get("is_member"):
                self.problem(
                    f"{key} ({what}, #{channel_info.get('name', '?')}): the bot is not in it, "
                    "so no message from there reaches casebot",
                    f"invite the bot: type /invite @{self.bot_name} in that channel",
                )
        try:
            found = await self.client.conversations_list(types="public_channel,private_channel")
        except (SlackApiError, SlackClientError, OSError, TimeoutError):
            return
        keys = {k for k, _ in configured}
        self.out("")
        self.out("channels the bot is in (use these ids in the config as slack:<id>):")
        listed: list[dict[str, Any]] = list(found.get("channels", []))
        member = [c for c in listed if c.get("is_member")]
        if not member:
            self.out("  (none yet: invite the bot to a channel)")
        for c in member:
            mark = "configured" if f"slack:{c['id']}" in keys else "NOT in config"
            shared = " shared" if c.get("is_ext_shared") or c.get("is_shared") else ""
            self.out(f"  {c['id']:>12}  #{c.get('name', '')}{shared}  [{mark}]")

    async def _check_public_url(self) -> None:
        """A url_verification signed with our secret, sent to our own public URL: the
        running casebot must answer its challenge (Slack's own check when the Request
        URL is saved)."""
        public = self.config.http.public_url
        secret = self.slack.signing_secret
        if self.slack.mode != "events" or not public or not secret:
            return
        challenge = secrets.token_urlsafe(12)
        body = json.dumps({"type": "url_verification", "challenge": challenge}).encode()
        ts = str(int(time.time()))
        digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        }
        url = public.rstrip("/") + EVENTS_PATH
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
                http.post(url, data=body, headers=headers) as response,
            ):
                status = response.status
                answer = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.out(f"(could not reach {url}: {exc}; is casebot running?)")
            return
        if status == 401:
            self.problem(
                f"{url} refused a request signed with slack.signing_secret: the running "
                "casebot has another secret",
                "restart casebot after changing the config",
            )
        elif status != 200 or challenge not in answer:
            self.problem(
                f"{url} answered {status}, not the url_verification challenge",
                "check http.public_url and the proxy in front of casebot",
            )
        else:
            self.out(f"events URL: {url} answers signed requests")

    def _report(self) -> None:
        self.out("")
        print_problems(self.out, self.problems)


async def run_doctor(config: Config, out: Callable[[str], None] = print) -> int:
    return await SlackDoctor(config, out).run()
