"""Daily digest and weekly account review: composed from `storage.reports`, sent by DM.

Imports `cases`, `storage` and the standard library. Each run claims a key in
`processed_events` (platform "scheduler") in the transaction that enqueues its
messages, so a digest goes out once per day and a review once per account and
week, even with two `casebot run` processes or a job that fires twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cases import dates
from cases.durations import format_duration
from cases.escalation import account_manager
from cases.model import Outbound, OutboundKind
from cases.people import dm_key
from cases.settings import EngineSettings
from cases.texts import Texts
from storage.reports import digest
from storage.review import account_review
from storage.uow import SqlUnitOfWork, all_accounts

if TYPE_CHECKING:
    from storage.db import Sessions


def _day(iso: str, locale: str) -> str:
    """A stored ISO day or time as the reader's day: "2026-03-02", or "3月2日" in Chinese
    (a chat text names no year, as `cases.views` does)."""
    on = date.fromisoformat(iso[:10])
    return dates.day(on, locale, today=on)


def _day_time(iso: str, locale: str) -> str:
    """A stored ISO time (UTC) as "2026-03-02 09:00", or "3月2日 09:00" in Chinese."""
    at = datetime.fromisoformat(iso[:16])
    return dates.day_time(at, locale, today=at.date())


def _seconds(value: float | None, locale: str) -> str:
    if value is None:
        return "-"
    return format_duration(timedelta(seconds=round(value)), locale)


def digest_text(texts: Texts, locale: str, data: dict[str, Any], day: str) -> str:
    r = texts.render
    counts = ", ".join(f"{p} {n}" for p, n in data["by_priority"].items())
    lines = [
        r("digest_title", locale, date=_day(day, locale), open=data["open"]),
        r("digest_priorities", locale, counts=counts),
        r(
            "digest_counts",
            locale,
            at_risk=data["at_risk"],
            breached=data["breached"],
            unassigned=data["unassigned"],
        ),
        r("digest_waiting_title", locale),
    ]
    for w in data["longest_waiting"] or []:
        lines.append(
            r(
                "digest_waiting_line",
                locale,
                ref=w["ref"],
                customer=w["account"] or "-",
                priority=w["priority"],
                waited=_seconds(w["waiting_seconds"], locale),
                title=w["title"],
            )
        )
    if not data["longest_waiting"]:
        lines.append(r("digest_none", locale))
    lines.append(r("digest_queues_title", locale))
    for q in data["queues"]:
        lines.append(
            r(
                "digest_queue_line",
                locale,
                name=q["name"],
                count=q["open"],
                breached=q["breached"],
            )
        )
    if not data["queues"]:
        lines.append(r("digest_none", locale))
    on_issues = data.get("on_issues") or {}
    if on_issues.get("cases"):
        lines.append(
            r("digest_issues", locale, count=on_issues["cases"], issues=on_issues["issues"])
        )
    lines += incident_lines(texts, locale, data.get("incidents") or [])
    return "\n".join(lines)


def incident_lines(texts: Texts, locale: str, incidents: list[dict[str, Any]]) -> list[str]:
    """The digest's incidents of the day; nothing when there were none."""
    if not incidents:
        return []
    lines = [texts.render("digest_incidents_title", locale)]
    for i in incidents:
        lines.append(
            texts.render(
                "digest_incident_line",
                locale,
                id=i["id"],
                title=i["title"],
                state=texts.render(f"incident_state_{i['status']}", locale),
                accounts=i["accounts"],
                cases=i["cases"],
            )
        )
    return lines


def review_incident_lines(texts: Texts, locale: str, incidents: list[dict[str, Any]]) -> list[str]:
    """The review's incidents that affected the account; nothing when there were none."""
    if not incidents:
        return []
    lines = [texts.render("review_incidents_title", locale)]
    for i in incidents:
        lines.append(
            texts.render(
                "review_incident_line",
                locale,
                id=i["id"],
                title=i["title"],
                start=_day_time(i["started_at"], locale) if i["started_at"] else "",
                end=_day_time(i["resolved_at"], locale)
                if i["resolved_at"]
                else texts.render("incident_state_open", locale),
                cases=i["cases"],
            )
        )
    return lines


def review_text(texts: Texts, locale: str, data: dict[str, Any]) -> str:
    r = texts.render
    sla, csat = data["sla"], data["csat"]
    compliance = sla["compliance_percent"]
    lines = [
        r(
            "review_title",
            locale,
            account=data["account"],
            since=_day(data["since"], locale),
            until=_day(data["until"], locale),
        ),
        r(
            "review_counts",
            locale,
            opened=data["opened"],
            resolved=data["resolved"],
            open=data["open"],
        ),
        r(
            "review_response",
            locale,
            median=_seconds(data["first_response"]["median_seconds"], locale),
            p90=_seconds(data["first_response"]["p90_seconds"], locale),
        ),
        r(
            "review_sla",
            locale,
            compliance="-" if compliance is None else f"{compliance:g}%",
            met=sla["met"],
            breached=sla["breached"],
            csat="-" if csat["average"] is None else f"{csat['average']:.2f}/5",
        ),
        r("review_top_title", locale),
    ]
    for item in data["top_open"]:
        lines.append(
            r(
                "review_top_line",
                locale,
                ref=item["ref"],
                priority=item["priority"],
                status=r(f"status_{item['status']}", locale),
                title=item["title"],
            )
        )
    if not data["top_open"]:
        lines.append(r("digest_none", locale))
    if data["people"]:
        lines.append(r("review_people_title", locale))
    for p in data["people"]:
        lines.append(
            r(
                "review_person_line",
                locale,
                name=p["name"],
                replies=p["replies"],
                cases=p["cases"],
                first=p["first_responses"],
            )
        )
    if data.get("issues"):
        listed = "; ".join(
            f"{i['key']} {i['title']} ({r('issue_state_' + i['state'], locale)}, "
            f"{' '.join(i['cases'])})".replace("  ", " ")
            for i in data["issues"]
        )
        lines.append(r("review_issues", locale, issues=listed))
    lines += review_incident_lines(texts, locale, data.get("incidents") or [])
    return "\n".join(lines)


class Reports:
    """Sends the digest to the leads and each account's review to its manager."""

    def __init__(
        self,
        sessions: Sessions,
        settings: EngineSettings,
        texts: Texts,
        timezone: str = "UTC",
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.texts = texts
        self.zone = ZoneInfo(timezone)

    async def _dm(self, uow: SqlUnitOfWork, person: str, text: str, purpose: str) -> Outbound:
        # a person known under several keys gets it on the first the bot can DM
        key = dm_key(await uow.identities(person), None, self.settings.direct)
        platform, _, user_id = key.partition(":")
        triage = self.settings.triage_chat
        return Outbound(
            OutboundKind.DM,
            platform,
            user_id,
            text=text,
            person=key,
            fallback_chat=triage.chat if triage and triage.platform == platform else None,
            purpose=purpose,
        )

    async def send_digest(self, now: datetime) -> bool:
        """Enqueue today's digest for every lead; False if it went out already."""
        day = now.astimezone(self.zone).date().isoformat()
        leads = self.settings.escalation.leads
        async with self.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session)
            if not leads or not await uow.claim_event("scheduler", f"digest:{day}"):
                return False
            data = await digest(session, now)
            for q in data["queues"]:
                person = await uow.person(q["assignee"])
                q["name"] = person.name if person else q["assignee"]
            for lead in leads:
                locale = self.settings.staff_locale_of(lead)
                text = digest_text(self.texts, locale, data, day)
                await uow.enqueue(await self._dm(uow, lead, text, "digest"), now)
        return True

    async def send_reviews(self, now: datetime) -> int:
        """Enqueue last week's review for every account with an owner or backup."""
        until = now
        since = now - timedelta(days=7)
        week = now.astimezone(self.zone).strftime("%G-W%V")
        sent = 0
        async with self.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session)
            accounts = await all_accounts(session)
            for account in accounts:
                manager = account_manager(account, self.settings.escalation, now)
                if manager is None:
                    continue
                if not await uow.claim_event("scheduler", f"review:{account.name}:{week}"):
                    continue
                data = await account_review(session, account, since, until, top=5)
                locale = self.settings.staff_locale_of(manager)
                text = review_text(self.texts, locale, data)
                await uow.enqueue(await self._dm(uow, manager, text, "review"), now)
                sent += 1
        return sent
