"""`casebot doctor` for Feishu/Lark: the setup problems behind "casebot sees nothing".
Imports aiohttp (through `adapters.feishu_api`).

Checks the app's credentials (a tenant token), that its bot is enabled, the scopes
casebot needs, whether the published app version may join external groups (外部群),
and each configured Feishu chat: is the bot in it, is it an external group the app
may not serve, and is it in confidential mode (保密模式), in which Feishu no longer
pushes messages to bots, which silently blinds casebot. Exit 0: no problem;
1: problems; 2: the Open API cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.base import DeliveryError
from adapters.feishu_api import FeishuApi, FeishuError, FeishuRefused
from adapters.feishu_translate import sub

# `bot.config.Config`, which adapters may not import: the doctor reads [feishu],
# [staff] and [[accounts]]
Config = Any

# what each scope gives casebot; the console lists them under 权限管理 / Permissions
SCOPES = {
    "im:message": "read and send messages in chats the bot is in",
    "im:message.group_msg": "receive every group message, not only those that @mention the bot",
    "im:message:send_as_bot": "send messages as the bot",
    "im:chat:readonly": "read a group's settings (external, confidential mode)",
    "im:message.pins:write_only": "pin the status board",
    "im:message.reactions:read": "receive reactions (a staff reaction opens a case)",
}


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str


def _chat_id(key: str) -> str | None:
    platform, _, chat = key.partition(":")
    return chat if platform == "feishu" and chat else None


def _find(data: Any, key: str) -> Any:
    """The first value under `key` anywhere in an answer (Feishu nests app details)."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        for value in data.values():
            found = _find(value, key)
            if found is not None:
                return found
    elif isinstance(data, list):
        for value in data:
            found = _find(value, key)
            if found is not None:
                return found
    return None


class FeishuDoctor:
    def __init__(self, config: Config, out: Callable[[str], None] = print) -> None:
        if config.feishu is None:
            raise ValueError("FeishuDoctor needs a [feishu] section")
        self.config = config
        self.fs = config.feishu
        self.out = out
        self.api = FeishuApi(
            self.fs.app_id, self.fs.app_secret, self.fs.base_url, self.fs.timeout.total_seconds()
        )
        self.problems: list[Problem] = []
        self.external_allowed: bool | None = None

    def problem(self, what: str, fix: str) -> None:
        self.problems.append(Problem(what, fix))

    async def run(self) -> int:
        await self.api.open()
        try:
            try:
                await self.api.token()
            except FeishuRefused as exc:
                self.out(f"PROBLEM: {exc} (at {self.fs.base_url}).")
                self.out("  fix: copy App ID and App Secret from the developer console")
                self.out("       (凭证与基础信息 / Credentials) into feishu.app_id and")
                self.out(
                    "       feishu.app_secret; a Lark app needs base_url = https://open.larksuite.com"
                )
                return 1
            except DeliveryError as exc:
                self.out(f"error: cannot reach the Open API at {self.fs.base_url}: {exc.reason}")
                return 2
            await self._check_bot()
            await self._check_app()
            await self._check_chats()
        finally:
            await self.api.close()
        self._report()
        return 1 if self.problems else 0

    async def _check_bot(self) -> None:
        try:
            info = await self.api.call("GET", "/open-apis/bot/v3/info", what="bot info")
        except DeliveryError as exc:
            self.problem(
                f"the app has no bot ({exc.reason})",
                "enable the Bot ability (添加应用能力 -> 机器人) and publish a new version",
            )
            return
        bot = sub(info, "bot") or info
        self.out(f"bot: {bot.get('app_name') or '?'} (open_id {bot.get('open_id') or '?'})")
        if bot.get("activate_status") not in (None, 2):
            self.problem(
                "the bot is not activated",
                "publish the app version with the bot ability and have an admin approve it",
            )

    async def _check_app(self) -> None:
        try:
            data = await self.api.call(
                "GET",
                f"/open-apis/application/v6/applications/{self.fs.app_id}",
                params={"lang": "en_us"},
                what="app info",
            )
        except DeliveryError as exc:
            self.out(
                f"note: cannot read the app's scopes ({exc.reason}); grant "
                "application:application:self_manage to let doctor check them, or compare "
                "the list in the README with the console"
            )
            return
        scopes = _find(data, "scopes")
        granted = {str(s.get("scope") if isinstance(s, dict) else s) for s in scopes or [] if s}
        for scope, why in SCOPES.items():
            if scope not in granted:
                self.problem(
                    f"scope {scope} is not granted: casebot cannot {why}",
                    f"add {scope} under 权限管理 / Permissions & Scopes and publish a new version",
                )
        allowed = _find(data, "external_chat")
        self.external_allowed = allowed if isinstance(allowed, bool) else None
        if self.external_allowed is False:
            self.problem(
                "the published app version may not be used in external groups (外部群): "
                "customers of other tenants cannot be served there",
                'turn on 对外共享 / "allow the bot in external groups" in the app\'s bot '
                "settings, publish a new version and add the bot to the external groups again",
            )

    def _configured(self) -> list[tuple[str, str]]:
        chats = [
            (chat, f"account {account.name}")
            for account in self.config.accounts
            for key in account.chats
            if (chat := _chat_id(key))
        ]
        triage = self.config.staff.triage_chat
        if triage and (chat := _chat_id(triage)):
            chats.append((chat, "triage chat"))
        return chats

    async def _check_chats(self) -> None:
        configured = self._configured()
        if not configured:
            self.out("note: no feishu:oc_... chat in [[accounts]] chats or staff.triage_chat")
        for chat, what in configured:
            try:
                info = await self.api.call("GET", f"/open-apis/im/v1/chats/{chat}", what="chat")
            except FeishuError as exc:
                self.problem(
                    f"{what}: chat {chat} cannot be read ({exc.msg or exc.code}): the bot is "
                    "most likely not in it",
                    "add the bot to the group (群设置 -> 群机器人 -> 添加机器人), or fix the id",
                )
                continue
            except DeliveryError as exc:
                self.problem(f"{what}: chat {chat}: {exc.reason}", "run doctor again later")
                continue
            name = info.get("name") or chat
            external = bool(info.get("external"))
            self.out(f"chat {chat} ({name}): {what}{', external' if external else ''}")
            restricted = info.get("restricted_mode_setting")
            if isinstance(restricted, dict) and restricted.get("status"):
                self.problem(
                    f"{what}: {name} is in confidential mode (保密模式): Feishu no longer "
                    "pushes its messages to bots, so casebot sees nothing there",
                    "turn confidential mode off in the group's settings (群设置 -> 保密模式)",
                )
            if external and self.external_allowed is False:
                self.problem(
                    f"{what}: {name} is an external group, which this app version may not serve",
                    "allow the bot in external groups and publish a new version",
                )

    def _report(self) -> None:
        if not self.problems:
            self.out("feishu: no problems found")
            return
        for p in self.problems:
            self.out(f"PROBLEM: {p.what}")
            self.out(f"  fix: {p.fix}")


async def run_feishu_doctor(config: Config, out: Callable[[str], None] = print) -> int:
    return await FeishuDoctor(config, out).run()
