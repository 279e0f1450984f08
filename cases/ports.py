"""What the engine needs from storage, as a Protocol. Standard library only.

`storage` implements it over one SQLAlchemy session; tests may implement it in
memory. Methods never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from cases.incident_records import IncidentPort
from cases.issues import IssueLink, IssueRecord
from cases.model import Actor, ChatKey, ChatKind, Outbound, Role
from cases.records import (
    BoardLine,
    CaseRecord,
    ChatInfo,
    FollowUpRecord,
    Joined,
    MessageRecord,
    PersonInfo,
    SimilarCase,
)

if TYPE_CHECKING:
    from cases.snippets import SnippetRecord


class UnitOfWork(IncidentPort, Protocol):
    async def claim_event(self, platform: str, event_id: str) -> bool:
        """Record that an event was handled; False if it had been already."""

    async def chat(self, key: ChatKey) -> ChatInfo | None: ...

    async def register_chat(self, key: ChatKey, kind: ChatKind, title: str | None) -> ChatInfo: ...

    async def migrate_chat(self, old: ChatKey, new_chat: str) -> None: ...

    async def retitle_chat(self, chat: ChatInfo, title: str) -> ChatInfo:
        """Store the title the platform now gives the chat."""

    async def role_of(self, person: str) -> Role: ...

    async def remember_person(self, actor: Actor) -> None: ...

    async def remember_direct_chat(self, person: str, chat: str) -> None:
        """The chat a person wrote to the bot from directly: DMs to them go there."""

    async def person(self, key: str) -> PersonInfo | None:
        """Who a platform key belongs to. Any key of a staff person known under several
        answers as that person: `key` is the one they are recorded under (assignee,
        follow-up owner, sign-in), `name` the person's name."""

    async def find_person(self, platform: str, username: str) -> PersonInfo | None:
        """The person an @name means in a chat on `platform`: their username there,
        else a staff person's name or their username on another platform."""

    async def identities(self, person: str) -> Sequence[str]:
        """Every platform key of a person (`PersonInfo.key`), that key first."""

    async def add_message(self, message: MessageRecord) -> MessageRecord | None:
        """None when the chat already holds a message with that platform id."""

    async def message(self, chat_id: int, platform_message_id: str) -> MessageRecord | None: ...

    async def edit_message(self, message: MessageRecord, text: str, at: datetime) -> None: ...

    async def link_message(self, message_id: int, case_id: int | None, joined: Joined) -> None:
        """Put a message on a case, noting how it joined."""

    async def last_message(
        self,
        chat_id: int,
        thread: str | None,
        since: datetime,
        sender: str | None = None,
        with_case: bool = True,
    ) -> MessageRecord | None:
        """The newest message in the chat (and thread) since `since`, optionally
        from one sender and optionally only one that belongs to a case."""

    async def untracked_messages(
        self, chat_id: int, thread: str | None, since: datetime, sender: str | None, limit: int
    ) -> Sequence[MessageRecord]:
        """Recent messages in no case, oldest first (context that /case pulls in)."""

    async def case_messages(self, case_id: int) -> Sequence[MessageRecord]: ...

    async def new_case(self, case: CaseRecord) -> CaseRecord: ...

    async def save_case(self, case: CaseRecord) -> None: ...

    async def case(self, case_id: int) -> CaseRecord | None: ...

    async def case_by_thread(self, chat_id: int, thread: str) -> CaseRecord | None: ...

    async def open_cases(self, chat_id: int) -> Sequence[CaseRecord]: ...

    async def board_lines(self, chat_id: int, limit: int) -> tuple[Sequence[BoardLine], int]:
        """The chat's oldest `limit` open cases, as its status board shows them, and how
        many it has open."""
        ...

    async def cases_opened(
        self, chat_id: int | None, since: datetime, opened_by: str | None
    ) -> tuple[int, int | None]:
        """How many cases were opened in the chat (in any chat, if None) since then (by
        that person, if named), and the newest one's id."""
        ...

    async def has_event(self, case_id: int, type: str, since: datetime) -> bool: ...

    async def add_event(
        self, case_id: int, type: str, at: datetime, actor: str | None, data: dict[str, Any]
    ) -> None: ...

    async def enqueue(self, action: Outbound, at: datetime) -> None: ...

    async def choices(self, platform: str, chat: str, message_id: str) -> Sequence[str]:
        """The button values of a message the bot sent, in order (numbered choices)."""

    async def add_followup(self, followup: FollowUpRecord) -> FollowUpRecord: ...

    async def followups(
        self, case_id: int, pending_only: bool = True
    ) -> Sequence[FollowUpRecord]: ...

    async def save_followup(self, followup: FollowUpRecord) -> None: ...

    async def chat_by_id(self, chat_id: int) -> ChatInfo | None: ...

    async def add_login_token(
        self, person: str, token_hash: str, at: datetime, expires_at: datetime
    ) -> None: ...

    # ---------------------------------------------------------- issue links

    async def issue(self, tracker: str, key: str, lock: bool = False) -> IssueRecord | None:
        """The stored issue; `lock`: held until commit, so one change of state acts once."""
        ...

    async def save_issue(self, issue: IssueRecord) -> IssueRecord:
        """Insert the issue, or update the stored one of that tracker and key; returns
        it with its id."""

    async def link_issue(self, link: IssueLink) -> bool:
        """False when the case links to that issue already."""

    async def unlink_issue(self, case_id: int, issue_id: int) -> bool: ...

    async def case_issues(self, case_id: int) -> Sequence[IssueRecord]: ...

    async def issue_links(
        self, issue_id: int | None = None, case_id: int | None = None
    ) -> Sequence[IssueLink]:
        """The links of an issue (every case it reaches) or of a case."""

    async def save_issue_link(self, link: IssueLink) -> None: ...

    # ------------------------------------------- routing, saved answers, similar cases

    async def open_load(self, people: Sequence[str]) -> dict[str, int]:
        """How many active cases each of `people` is assigned."""

    async def route_turn(self, route: str) -> str | None:
        """Whom a round-robin route gave a case last."""

    async def set_route_turn(self, route: str, person: str, at: datetime) -> None: ...

    async def snippet(self, name: str) -> Sequence[SnippetRecord]:
        """Every locale variant of a saved answer."""

    async def snippet_names(self) -> Sequence[str]: ...

    async def save_snippet(self, snippet: SnippetRecord, at: datetime) -> bool:
        """Keep a variant (replacing the text of one by that name and locale); True if new."""

    async def used_snippet(self, snippet_id: int) -> None: ...

    async def remember_resolved(self, case_id: int, at: datetime) -> None:
        """Put a case that was resolved into the similar-cases index (or refresh it)."""

    async def similar_cases(
        self, words: Sequence[str], exclude: int | None, limit: int
    ) -> Sequence[SimilarCase]:
        """The resolved cases most like `words`, best first."""
