"""Texts that show cases: triage cards, status boards, /status lists, CSAT buttons.

Standard library and `cases` only; wording comes from the injected catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cases import dates
from cases.field_rules import FieldSpec, card_line
from cases.issues import IssueRecord
from cases.model import PRIORITIES, Button
from cases.records import BoardLine, CaseRecord, ChatInfo, FollowUpRecord
from cases.sla import PAUSING
from cases.texts import Texts


def when(at: datetime | None, locale: str = "en") -> str:
    """A due time in UTC: "2026-03-02 09:00 UTC"; in Chinese "3月2日 09:00 UTC" (a due
    time in chat is days away, never a year, so its year goes without saying)."""
    if at is None:
        return "-"
    at = at.astimezone(UTC)
    return f"{dates.day_time(at, locale, today=at.date())} UTC"


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
        date=dates.day(local.date(), locale, today=now.astimezone(tz).date()),
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
    issues: Sequence[IssueRecord] = (),
) -> str:
    """`link`: to the case's first message, as the chat's adapter builds it; `specs`
    label the case's fields; `issues`: the engineering issues the case links to, one
    line each."""
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
    text = f"{text.rstrip()}\n{extra}" if extra else text
    for issue in issues:
        text += "\n" + issue_line(texts, locale, issue)
    return text


def issue_line(texts: Texts, locale: str, issue: IssueRecord) -> str:
    state = texts.render("issue_state_open" if issue.is_open else "issue_state_closed", locale)
    return texts.render("card_issue", locale, issue=issue.label, state=state, url=issue.url)


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
    return texts.render(f"card_due_{clock}", locale, at=when(at, locale))


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


# A board names at most this many cases (the oldest open ones), then how many more: a
# message holds 4,096 characters on Telegram, and a chat with hundreds open (a flood, an
# outage) would have its board cut mid-line and rebuilt whole for every change.
BOARD_LINES = 30


def board(
    texts: Texts,
    locale: str,
    cases: Sequence[BoardLine],
    names: Mapping[str, str] | None = None,
    banner: str = "",
    total: int | None = None,
) -> str:
    """The pinned status board; `names` maps person keys to display names, `banner`
    (an open incident) goes on top; `total`: how many are open, when `cases` are the
    first of them."""
    top = [banner] if banner else []
    count = len(cases) if total is None else max(total, len(cases))
    if not count:
        return "\n".join([*top, texts.render("board_empty", locale)])
    lines = [*top, texts.render("board_title", locale, count=count)]
    for case in cases[:BOARD_LINES]:
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
    if count > BOARD_LINES:
        lines.append(texts.render("board_more", locale, more=count - BOARD_LINES))
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
                    due=when(f.due_at, locale),
                    text=f.text,
                )
            )
    return "\n".join(lines)


def similar_lines(texts: Texts, locale: str, case: CaseRecord, width: int = 90) -> str:
    """The card's lines naming the resolved cases most like this one (see cases.similar),
    each with what resolved it; "" when none were found."""
    found = case.sla.get("similar") or []
    if not found:
        return ""
    lines = ["", texts.render("card_similar", locale)]
    for item in found:
        line = texts.render(
            "card_similar_item",
            locale,
            ref=f"#{item.get('id')}",
            title=item.get("title", ""),
            resolution=item.get("resolution") or texts.render("card_similar_none", locale),
        )
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
    return "\n".join(lines)
