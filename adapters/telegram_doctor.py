"""`casebot doctor`: finds the Telegram setup problems behind "the bot sees nothing".

Imports `telegram`, `cases`, and `storage` (read-only: the chats casebot has seen).
Checks the token (getMe), privacy mode, each configured chat (is the bot in it, an
admin, allowed to pin, to manage topics where topics are on), the webhook
(mode mismatch, last error, backlog), and prints every problem with its fix. It
also lists the chats the bot can see, with their ids, which is what a new user
needs to write the config. Exit 0: no problem; 1: problems; 2: API unreachable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import telegram
import telegram.error as tg_error

from adapters.doctor_report import Problem, print_problems
from adapters.telegram import UNREADABLE_ANSWER, not_the_bot_api, raw_updates

# `bot.config.Config`, which adapters may not import: the doctor reads its [telegram],
# [staff] and [[accounts]]
Config = Any

BACKLOG = 100  # pending updates beyond this mean casebot is not running or not keeping up


@dataclass
class SeenChat:
    chat_id: str
    title: str
    kind: str
    source: str


def _chat_id(key: str) -> str | None:
    platform, _, chat = key.partition(":")
    return chat if platform == "telegram" and chat else None


class Doctor:
    def __init__(
        self,
        config: Config,
        out: Callable[[str], None] = print,
        stored: Sequence[tuple[str, str | None, str]] = (),
    ) -> None:
        if config.telegram is None or not config.telegram.token:
            raise ValueError("Doctor needs telegram.token")
        self.config = config
        self.stored = list(stored)
        self.tg = config.telegram
        self.out = out
        self.bot = telegram.Bot(str(config.telegram.token), base_url=config.telegram.base_url)
        self.problems: list[Problem] = []
        self.seen: dict[str, SeenChat] = {}

    def _unreadable(self, what: str, exc: Exception) -> str:
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        return (
            f"error: the Bot API at {self.tg.base_url} sent {what} python-telegram-bot "
            f"cannot read ({type(exc).__name__}: {detail})"
        )

    def problem(self, what: str, fix: str) -> None:
        self.problems.append(Problem(what, fix))

    async def run(self) -> int:
        try:
            await self.bot.initialize()  # getMe
        except tg_error.TelegramError as exc:
            if not_the_bot_api(exc):  # checked first: PTB reads an HTML 404 as a bad token
                self.out(
                    f"error: {self.tg.base_url} answers, but not as the Telegram Bot API "
                    "(check telegram.base_url)"
                )
                return 2
            if isinstance(exc, tg_error.InvalidToken):
                self.out(f"PROBLEM: Telegram rejected the token (at {self.tg.base_url}).")
                self.out("  fix: copy the token from BotFather (/mybots -> API Token) into")
                self.out("       telegram.token or CASEBOT_TELEGRAM_TOKEN.")
                return 1
            self.out(f"error: cannot reach the Telegram Bot API at {self.tg.base_url}: {exc}")
            return 2
        except UNREADABLE_ANSWER as exc:
            self.out(self._unreadable("getMe", exc))
            return 2
        try:
            await self._check_bot()
            await self._check_chats()
            await self._check_webhook()
            await self._stored_chats()
            self._report()
        except UNREADABLE_ANSWER as exc:
            # PTB builds typed objects from each answer; a Bot API implementation that
            # leaves out a field PTB requires makes that fail, which is no casebot problem
            self.out(self._unreadable("an answer", exc))
            return 2
        finally:
            with contextlib.suppress(Exception):
                await self.bot.shutdown()
        return 1 if self.problems else 0

    async def _check_bot(self) -> None:
        me = self.bot.bot
        self.out(f"bot: @{me.username} (id {me.id}), mode {self.tg.mode}")
        if not me.can_read_all_group_messages:
            self.problem(
                "privacy mode is on: in groups where the bot is not an admin it sees only "
                "commands, replies to its own messages and mentions, so customer questions "
                "never reach casebot",
                "in BotFather send /setprivacy, pick the bot, choose Disable, then remove the "
                "bot from each group and add it again (or make it an admin in every group)",
            )

    def _configured(self) -> list[tuple[str, str, bool]]:
        """(chat id, what it is for, topics per case) for every configured Telegram chat."""
        chats: list[tuple[str, str, bool]] = []
        for account in self.config.accounts:
            for key in account.chats:
                chat = _chat_id(key)
                if chat:
                    chats.append((chat, f"account {account.name}", account.topics == "per_case"))
        triage = self.config.staff.triage_chat
        if triage and _chat_id(triage):
            chats.append((str(_chat_id(triage)), "triage chat", False))
        return chats

    async def _check_chats(self) -> None:
        configured = self._configured()
        if not configured:
            self.problem(
                "no Telegram chats are configured",
                "add the group ids to [[accounts]] chats and staff.triage_chat (the ids are "
                "listed below once the bot is in the groups)",
            )
        for chat_id, purpose, topics in configured:
            await self._check_chat(chat_id, purpose, topics)

    async def _check_chat(self, chat_id: str, purpose: str, topics: bool) -> None:
        where = f"{purpose} ({chat_id})"
        try:
            chat = await self.bot.get_chat(int(chat_id))
            member = await self.bot.get_chat_member(int(chat_id), self.bot.bot.id)
        except tg_error.ChatMigrated as exc:
            self.problem(
                f"{where} became a supergroup with id {exc.new_chat_id}",
                f"replace telegram:{chat_id} with telegram:{exc.new_chat_id} in the config",
            )
            return
        except (tg_error.BadRequest, tg_error.Forbidden) as exc:
            if "kicked" in exc.message:
                # a private group answers a removed bot with 403 before getChatMember can
                # say "kicked"; the id is right, so no "check the id"
                self._removed(where, "kicked")
                return
            self.problem(
                f"{where}: the bot is not in this chat ({exc.message})",
                "add the bot to the group (group info -> Add members -> the bot's @username), "
                "and check the id below",
            )
            return
        self.seen[chat_id] = SeenChat(chat_id, chat.title or "", chat.type, purpose)
        status = member.status
        if status in ("left", "kicked"):
            self._removed(where, status)
            return
        if purpose == "triage chat":
            return  # staff talk to the bot there; it needs no rights
        admin = isinstance(member, telegram.ChatMemberAdministrator | telegram.ChatMemberOwner)
        if not admin:
            self.problem(
                f"{where}: the bot is not an admin, so it gets no reactions and cannot pin "
                "the status board",
                "group info -> Administrators -> Add admin -> the bot, with 'Pin messages'"
                + (" and 'Manage topics'" if topics else ""),
            )
            return
        if isinstance(member, telegram.ChatMemberAdministrator):
            if not member.can_pin_messages:
                self.problem(
                    f"{where}: the bot may not pin messages, so the status board is not pinned",
                    "group info -> Administrators -> the bot -> enable 'Pin messages'",
                )
            if topics and not member.can_manage_topics:
                self.problem(
                    f"{where}: topics = per_case, but the bot may not manage topics",
                    "group info -> Administrators -> the bot -> enable 'Manage topics'",
                )
        if topics and not chat.is_forum:
            self.problem(
                f"{where}: topics = per_case, but the group has no topics (cases fall back "
                "to replies)",
                'group info -> Edit -> Topics on (or set topics = "off" for this account)',
            )

    def _removed(self, where: str, status: str) -> None:
        self.problem(
            f"{where}: the bot was removed from this chat ({status})",
            "add the bot to the group again (group info -> Add members -> the bot's "
            "@username; if Telegram refuses, take it off Permissions -> Removed users first)",
        )

    async def _check_webhook(self) -> None:
        problem = self.tg.secret_token_problem
        if problem is not None and self.tg.mode == "webhook":
            self.problem(
                f"telegram.secret_token: {problem}; setWebhook will be refused",
                "choose a secret of letters, digits, _ and - (at most 256)",
            )
        info = await self.bot.get_webhook_info()
        pending = info.pending_update_count
        self.out(f"webhook: {info.url or '(none)'}; pending updates: {pending}")
        if self.tg.mode == "polling" and info.url:
            self.problem(
                f"a webhook is set ({info.url}) but mode is polling: getUpdates is refused "
                "while it exists",
                "`casebot run` removes it when it starts in polling mode; or set mode = "
                '"webhook" if that URL is this casebot',
            )
        if self.tg.mode == "webhook" and info.url != self.tg.webhook_url:
            self.problem(
                f"webhook mode, but Telegram posts to {info.url or 'nothing'} instead of "
                f"{self.tg.webhook_url}",
                "start `casebot run`: it calls setWebhook with telegram.webhook_url",
            )
        if info.url and info.last_error_message:
            self.problem(
                f"Telegram's last webhook delivery failed: {info.last_error_message}",
                "check that webhook_url reaches this server over HTTPS, that [http] is enabled "
                "behind it, and that secret_token matches",
            )
        if pending >= BACKLOG:
            self.problem(
                f"{pending} updates are waiting at Telegram (kept 24 hours at most)",
                "start `casebot run`, or look at its log for why it is not taking them",
            )
        if not info.url and pending:
            await self._peek_updates()

    async def _peek_updates(self) -> None:
        """Chats in pending updates. No offset is sent, so nothing is confirmed: casebot
        still gets every one of them."""
        try:
            updates = await raw_updates(self.bot, {"limit": 100})
        except tg_error.TelegramError as exc:
            self.out(f"(could not look at pending updates: {exc})")
            return
        for raw in updates if isinstance(updates, list) else []:
            for value in raw.values() if isinstance(raw, dict) else []:
                chat = _chat_in(value)
                if chat is not None:
                    chat_id = str(chat.get("id"))
                    title = chat.get("title") or chat.get("first_name") or ""
                    self.seen.setdefault(
                        chat_id, SeenChat(chat_id, title, chat.get("type", ""), "pending update")
                    )

    async def _stored_chats(self) -> None:
        """Chats casebot has seen, as `bot` read them from its database."""
        for chat_id, title, kind in self.stored:
            self.seen.setdefault(chat_id, SeenChat(chat_id, title or "", kind, "database"))

    def _report(self) -> None:
        configured = {chat for chat, _, _ in self._configured()}
        self.out("")
        self.out("chats the bot can see (use these ids in the config as telegram:<id>):")
        if not self.seen:
            self.out("  (none yet: add the bot to a group and send a message there)")
        for chat in sorted(self.seen.values(), key=lambda c: c.chat_id):
            mark = "configured" if chat.chat_id in configured else "NOT in config"
            self.out(f"  {chat.chat_id:>16}  {chat.kind:<10}  {chat.title!r}  [{mark}]")
        self.out("")
        print_problems(self.out, self.problems)


def _chat_in(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("chat"), dict):
        return value["chat"]
    message = value.get("message")
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        return message["chat"]  # callback queries
    return None


async def run_doctor(config: Config, stored: Sequence[tuple[str, str | None, str]] = ()) -> int:
    """Check the bot and its groups; `stored` are (chat id, title, kind) of the Telegram
    chats casebot's database has seen."""
    return await Doctor(config, stored=stored).run()
