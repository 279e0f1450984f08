"""Texts that show cases: triage cards, status boards, /status lists, CSAT buttons.

Standard library and `cases` only; wording comes from the injected catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from cases.field_rules import FieldSpec, card_line
from cases.model import PRIORITIES, Button
from cases.records import CaseRecord, ChatInfo, FollowUpRecord
from cases.sla import PAUSING
from cases.texts import Texts


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def local_when(texts: Texts, locale: str, at: datetime, zone: str, now: datetime) -> str:
    """A due time as a customer reads it: local time and weekday in the account's time
    zone ("09:00 Tue, Europe/Berlin"), with the date when it is a week or more away."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    days = (local.date() - now.astimezone(tz).date()).days
    return texts.render(
        "due_local" if days < 7 else "due_local_date",
        locale,
        time=local.strftime("%H:%M"),
        weekday=texts.render(f"weekday_{local.weekday()}", locale),
        date=local.strftime("%Y-%m-%d"),
        zone=zone,
    )


def status_label(texts: Texts, locale: str, status: str) -> str:
    return texts.render(f"status_{status}", locale)


def card(
    texts: Texts,
    locale: str,
    case: CaseRecord,
    chat: ChatInfo,
    assignee: str | None,
    link: str = "",
    specs: Sequence[FieldSpec] = (),
) -> str:
    """`link`: to the case's first message, as the chat's adapter builds it; `specs`
    label the case's fields."""
    text = texts.render(
        "card",
        locale,
        ref=case.ref,
        title=case.title,
        customer=chat.account.name if chat.account else (chat.title or chat.key.key),
        chat=chat.title or chat.key.key,
        status=status_label(texts, locale, case.status.value),
        priority=case.priority,
        assignee=assignee or texts.render("nobody", locale),
        due=due_line(texts, locale, case),
        link=link,
    )
    extra = card_line(texts, locale, case, specs)
    return f"{text.rstrip()}\n{extra}" if extra else text


def sla_due(case: CaseRecord) -> tuple[str, datetime] | None:
    """The SLA clock that falls due first and when: first response, a reply to the
    customer (only while they wait) or resolution (not while paused). Nudge, warning
    and closing timers are not deadlines the desk promised, so they are left out."""
    dues = [
        ("first_response", case.first_response_due),
        (
            "next_response",
            case.next_response_due if "customer_waiting_since" in case.sla else None,
        ),
        ("resolution", case.resolution_due if case.status not in PAUSING else None),
    ]
    pending = [(at, clock) for clock, at in dues if at is not None]
    if not pending or not case.status.is_active:
        return None
    at, clock = min(pending)
    return clock, at


def due_line(texts: Texts, locale: str, case: CaseRecord) -> str:
    due = sla_due(case)
    if due is None:
        return texts.render("card_due_none", locale)
    clock, at = due
    return texts.render(f"card_due_{clock}", locale, at=when(at))


def card_buttons(texts: Texts, locale: str, case_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(texts.render("button_take", locale), f"take:{case_id}"),
            Button(texts.render("button_resolve", locale), f"resolve:{case_id}"),
        ),
        tuple(Button(p, f"prio:{case_id}:{p}") for p in PRIORITIES),
    )


def csat_buttons(case_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        tuple(Button("⭐" * n if n < 3 else f"{n}⭐", f"csat:{case_id}:{n}") for n in range(1, 6)),
    )


def board(
    texts: Texts,
    locale: str,
    cases: Sequence[CaseRecord],
    names: Mapping[str, str] | None = None,
) -> str:
    """The pinned status board; `names` maps person keys to display names."""
    if not cases:
        return texts.render("board_empty", locale)
    lines = [texts.render("board_title", locale, count=len(cases))]
    for case in cases:
        lines.append(
            texts.render(
                "board_line",
                locale,
                ref=case.ref,
                title=case.title,
                status=status_label(texts, locale, case.status.value),
                # a person's platform key is internal: an unnamed owner is "the team"
                owner=(names or {}).get(case.assignee) or texts.render("someone_on_team", locale)
                if case.assignee
                else "-",
            )
        )
    return "\n".join(lines)


def status_list(
    texts: Texts,
    locale: str,
    cases: Sequence[CaseRecord],
    followups: dict[int, list[FollowUpRecord]],
    owners: Mapping[str, str] | None = None,
) -> str:
    """The /status answer; `followups` (internal) only for the triage chat, with
    `owners` naming their owners."""
    if not cases:
        return texts.render("status_none", locale)
    lines = [texts.render("status_title", locale, count=len(cases))]
    for case in cases:
        lines.append(
            texts.render(
                "status_line",
                locale,
                ref=case.ref,
                title=case.title,
                status=status_label(texts, locale, case.status.value),
                priority=case.priority,
            )
        )
        for f in followups.get(case.id or 0, []):
            lines.append(
                texts.render(
                    "status_followup",
                    locale,
                    owner=(owners or {}).get(f.owner, f.owner),
                    due=when(f.due_at),
                    text=f.text,
                )
            )
    return "\n".join(lines)
