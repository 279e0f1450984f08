"""Engine settings: the knobs of the rules, built by `bot` from config. Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from cases.calendar import BusinessCalendar
from cases.field_rules import FieldSpec, IntakeRules
from cases.model import Capabilities, ChatKey, ThreadMode
from cases.routing import Route
from cases.sla import EscalationPolicy, SlaPolicy

# what an unlisted platform is taken to do
FULL = Capabilities(
    threads=ThreadMode.TOPIC,
    buttons=True,
    button_answers=True,
    edits=True,
    pins=True,
    direct=True,
    max_text=4096,
    formats=("html", "plain"),
)


@dataclass(frozen=True)
class OpeningLimits:
    """At most this many cases opened in one chat within `window` (see cases.limits);
    0 turns a limit off."""

    window: timedelta = timedelta(minutes=10)
    per_customer: int = 5
    per_chat: int = 30
    per_staff: int = 60


@dataclass(frozen=True)
class EngineSettings:
    conversation_window: timedelta = timedelta(minutes=10)
    reopen_window: timedelta = timedelta(days=7)
    context_window: timedelta = timedelta(minutes=30)
    context_limit: int = 5
    case_emojis: frozenset[str] = frozenset({"🎫"})
    triage_chat: ChatKey | None = None
    staff_locale: str = "en"
    default_priority: str = "P3"
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    # by account name; accounts without one count around the clock
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    # by account name: priorities whose clocks run 24x7 even with a calendar
    always_on: Mapping[str, frozenset[str]] = field(default_factory=dict)
    csat: bool = True
    public_url: str | None = None
    title_length: int = 80
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    # by platform; a platform not listed is taken to do everything (as Telegram does)
    capabilities: Mapping[str, Capabilities] = field(default_factory=dict)
    opening_limits: OpeningLimits = field(default_factory=OpeningLimits)
    # platforms the bot can DM a person on (None: every one); a DM to someone known
    # under several keys goes to one of these (`cases.people.dm_key`)
    direct: frozenset[str] | None = None
    # by person key, every key of a person: the locale their DMs speak (`[[staff.people]]`
    # locale), instead of `staff_locale`
    person_locales: Mapping[str, str] = field(default_factory=dict)

    def staff_locale_of(self, key: str | None) -> str:
        """The locale a staff person reads texts meant for them alone (DMs) in."""
        return self.person_locales.get(key or "", self.staff_locale)

    # who new cases go to, by account or category (`cases.routing`)
    routes: tuple[Route, ...] = ()
    # `[[fields]]` and the intake questions by category (cases.fields, intake_questions)
    fields: tuple[FieldSpec, ...] = ()
    intake: IntakeRules = field(default_factory=IntakeRules)

    def can(self, platform: str) -> Capabilities:
        return self.capabilities.get(platform, FULL)

    def card_thread(self, platform: str, case_id: int) -> dict[str, str]:
        """`Outbound.extra` for a triage message about a case: on a reply-thread
        platform it goes into the thread of the case's card (once the card is sent)."""
        if self.can(platform).threads is ThreadMode.REPLY:
            return {"thread_of": f"card:{case_id}"}
        return {}

    def message_link(self, chat: ChatKey, message_id: str | None) -> str:
        """A link to a message as its platform's adapter builds it, or ""."""
        build = self.can(chat.platform).permalink
        return build(chat.chat, message_id) if build and message_id else ""

    def calendar(self, account: str | None, priority: str) -> BusinessCalendar:
        if account is None or priority in self.always_on.get(account, frozenset()):
            return BusinessCalendar.always()
        return self.calendars.get(account) or BusinessCalendar.always()
