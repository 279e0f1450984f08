"""The case timeline as sentences: one renderer per audit event type the engine and
the sweeper write ("Evan resolved the case", "First response due moved to 10:00 Tue"),
in the dashboard's locale and the page's time zone. No event's raw data reaches the page.

Imports `web.render` only; the words come from the catalogue (`desk_` keys).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cases.model import Status
from web.render import Translator, local_time, parse_time

CLOCKS = ("first_response", "next_response", "resolution")
# how a case's category was chosen (cases.intake_questions)
CATEGORY_BY = ("keywords", "button", "answer")
# what adapters note while delivering a case's message; the dispatcher records each
# note as an event of that type
DELIVERY_NOTES = (
    "split", "pinned", "pin_failed", "dm_fallback", "answer_expired", "topics_unavailable",
    "no_topic", "pin_unavailable", "trimmed", "answered_in_callback",
)  # fmt: skip
STATES = tuple(s.value for s in Status)
# the reasons the engine gives a status change that are no free text (`/resolve <note>`)
STATUS_REASONS = frozenset(
    {"assigned", "close_after", "command", "customer_reply", "merged", "merged_in",
     "no_customer_reply", "split", "staff_reply", "web", "issue", "issue_closed",
     "issue_unlinked"}
)  # fmt: skip


@dataclass
class Words:
    """What a renderer needs: the catalogue, people's names, the zone and the dues
    last set (an `sla_due` event holds only the new ones)."""

    t: Translator
    names: Mapping[str, str]
    zone: ZoneInfo
    now: datetime
    dues: dict[str, Any] = field(default_factory=dict)

    def who(self, key: str | None) -> str:
        if not key:
            return self.t("desk_someone")
        return self.names.get(key) or key

    def people(self, keys: Any) -> str:
        if isinstance(keys, str):
            keys = [keys]
        return ", ".join(self.who(k) for k in keys or ()) or self.t("desk_the_triage_chat")

    def at(self, value: Any) -> str:
        at = parse_time(value) if isinstance(value, str | datetime) else None
        return local_time(at, self.zone, self.now, self.t) if at else "—"

    def clock(self, name: Any) -> str:
        return self.t(f"desk_clock_{name}") if name in CLOCKS else str(name or "")

    def state(self, name: Any) -> str:
        return self.t(f"desk_state_{name}") if name in STATES else str(name or "")

    def messages(self, n: Any) -> str:
        return self.t("desk_messages_one") if n == 1 else self.t("desk_messages", n=n)

    @staticmethod
    def ref(case_id: Any) -> str:
        return f"#{case_id}"


Event = Mapping[str, Any]
Renderer = Callable[[Event, Mapping[str, Any], Words], str]


def _opened(e: Event, d: Mapping[str, Any], w: Words) -> str:
    w.dues = dict(d.get("due") or {})
    return w.t("desk_ev_opened", who=w.who(e["actor"]), title=d.get("title") or "")


def _due(e: Event, d: Mapping[str, Any], w: Words) -> str:
    parts = []
    for clock in CLOCKS:
        before, after = w.dues.get(clock), d.get(clock)
        if before == after:
            continue
        if after is None:
            parts.append(w.t("desk_ev_due_stopped", clock=w.clock(clock)))
        elif before is None:
            parts.append(w.t("desk_ev_due_set", clock=w.clock(clock), at=w.at(after)))
        else:
            parts.append(w.t("desk_ev_due_moved", clock=w.clock(clock), at=w.at(after)))
    w.dues = dict(d)
    return w.t("desk_clause_separator").join(parts) or w.t("desk_ev_due_unchanged")


def _status(e: Event, d: Mapping[str, Any], w: Words) -> str:
    who, was, to, reason = w.who(e["actor"]), d.get("from"), d.get("to"), d.get("reason")
    if to == "resolved" and reason == "no_customer_reply":
        return w.t("desk_ev_auto_resolved")
    if to == "resolved" and reason and reason not in STATUS_REASONS:
        return w.t("desk_ev_resolved_note", who=who, note=reason)
    if to == "resolved":
        return w.t("desk_ev_resolved", who=who)
    if to == "closed" and reason == "merged":
        return w.t("desk_ev_closed_merged")
    if to == "closed":
        return w.t("desk_ev_closed", who=who)
    if was in ("resolved", "closed"):
        return w.t("desk_ev_reopened", who=who)
    if reason == "customer_reply":
        return w.t("desk_ev_status_customer", to=w.state(to))
    if reason == "staff_reply":
        return w.t("desk_ev_status_staff", who=who, to=w.state(to))
    return w.t("desk_ev_status", who=who, to=w.state(to), was=w.state(was))


def _clock_at(key: str) -> Renderer:
    def sentence(e: Event, d: Mapping[str, Any], w: Words) -> str:
        return w.t(key, clock=w.clock(d.get("clock")), at=w.at(d.get("due")))

    return sentence


def _assigned(e: Event, d: Mapping[str, Any], w: Words) -> str:
    who, was, to = w.who(e["actor"]), d.get("from"), d.get("to")
    if not to:
        return w.t("desk_ev_unassigned", who=who)
    if d.get("route"):  # routing chose them: the sentence says by which rule
        reason = w.t(f"route_reason_{d.get('reason', 'round_robin')}")
        return w.t("desk_ev_routed", to=w.who(to), reason=reason)
    if was and was != to:
        return w.t("desk_ev_reassigned", who=who, was=w.who(was), to=w.who(to))
    return w.t("desk_ev_assigned", who=who, to=w.who(to))


def _moved_in(e: Event, d: Mapping[str, Any], w: Words) -> str:
    source = w.ref(d["from"]) if d.get("from") else w.t("desk_the_chat")
    who, message = w.who(e["actor"]), d.get("message")
    if d.get("split"):  # `/case` on a message the window had put on another case
        count = w.messages(d.get("messages", 1))
        return w.t("desk_ev_split_in", who=who, source=source, message=message, count=count)
    return w.t("desk_ev_moved_in", who=who, message=message, source=source)


def _moved_out(e: Event, d: Mapping[str, Any], w: Words) -> str:
    who, message, target = w.who(e["actor"]), d.get("message"), w.ref(d.get("to"))
    if d.get("split"):
        count = w.messages(d.get("messages", 1))
        return w.t("desk_ev_split_out", who=who, target=target, message=message, count=count)
    return w.t("desk_ev_moved_out", who=who, message=message, target=target)


def _sla_paged(e: Event, d: Mapping[str, Any], w: Words) -> str:
    return w.t("desk_ev_sla_paged", to=w.people(d.get("to")))


RENDERERS: dict[str, Renderer] = {
    "opened": _opened,
    "message_deleted": lambda e, d, w: w.t(
        "desk_ev_message_deleted", who=w.who(e["actor"]), message=d.get("message")
    ),
    "message_edited": lambda e, d, w: w.t(
        "desk_ev_message_edited", who=w.who(e["actor"]), message=d.get("message")
    ),
    "sla_due": _due,
    "status_changed": _status,
    "sla_paused": lambda e, d, w: w.t(
        "desk_ev_sla_paused", clock=w.clock(d.get("clock")), state=w.state(d.get("status"))
    ),
    "sla_resumed": lambda e, d, w: w.t("desk_ev_sla_resumed", clock=w.clock(d.get("clock"))),
    "sla_met": _clock_at("desk_ev_sla_met"),
    "sla_breached": _clock_at("desk_ev_sla_breached"),
    "sla_warning": _clock_at("desk_ev_sla_warning"),
    "sla_escalated": lambda e, d, w: w.t(
        "desk_ev_sla_escalated",
        clock=w.clock(d.get("clock")),
        level=d.get("level", 1),
        to=w.people(d.get("to")),
    ),
    "sla_paged": _sla_paged,
    "note": lambda e, d, w: w.t("desk_ev_note", who=w.who(e["actor"])),
    "staff_reply": lambda e, d, w: w.t("desk_ev_staff_reply", who=w.who(e["actor"])),
    "csat": lambda e, d, w: w.t("desk_ev_csat", score=d.get("score")),
    "assigned": _assigned,
    "priority_changed": lambda e, d, w: w.t(
        "desk_ev_priority_changed", who=w.who(e["actor"]), was=d.get("from"), to=d.get("to")
    ),
    "followup_created": lambda e, d, w: w.t(
        "desk_ev_followup_created",
        who=w.who(e["actor"]),
        followup=d.get("followup"),
        owner=w.who(d.get("owner")),
        at=w.at(d.get("due")),
        text=d.get("text") or "",
    ),
    "followup_done": lambda e, d, w: w.t(
        "desk_ev_followup_done", who=w.who(e["actor"]), followup=d.get("followup")
    ),
    "followup_nudged": lambda e, d, w: w.t(
        "desk_ev_followup_nudged", followup=d.get("followup"), to=w.people(d.get("to"))
    ),
    "followup_escalated": lambda e, d, w: w.t(
        "desk_ev_followup_escalated", followup=d.get("followup"), to=w.people(d.get("to"))
    ),
    "customer_nudged": lambda e, d, w: w.t("desk_ev_customer_nudged", count=d.get("count", 1)),
    "message_moved_in": _moved_in,
    "message_moved_out": _moved_out,
    "merged_into": lambda e, d, w: w.t(
        "desk_ev_merged_into", who=w.who(e["actor"]), target=w.ref(d.get("into"))
    ),
    "merged_from": lambda e, d, w: w.t(
        "desk_ev_merged_from", who=w.who(e["actor"]), source=w.ref(d.get("from"))
    ),
    "incident_linked": lambda e, d, w: w.t(
        "desk_ev_incident_linked", id=d.get("incident"), title=d.get("title", "")
    ),
    "issue_linked": lambda e, d, w: w.t(
        "desk_ev_issue_linked", who=w.who(e["actor"]), issue=d.get("key"), url=d.get("url")
    ),
    "issue_unlinked": lambda e, d, w: w.t(
        "desk_ev_issue_unlinked", who=w.who(e["actor"]), issue=d.get("key")
    ),
    "issue_closed": lambda e, d, w: w.t(
        "desk_ev_issue_closed",
        issue=d.get("key"),
        via=w.t("desk_via_poll" if d.get("via") == "poll" else "desk_via_webhook"),
    ),
    "issue_reopened": lambda e, d, w: w.t("desk_ev_issue_reopened", issue=d.get("key")),
    "issue_draft_sent": lambda e, d, w: w.t("desk_ev_issue_draft_sent", who=w.who(e["actor"])),
}


RENDERERS.update(
    {note: (lambda key: lambda e, d, w: w.t(key))(f"desk_ev_{note}") for note in DELIVERY_NOTES}
)


def _field_set(e: Event, d: Mapping[str, Any], w: Words) -> str:
    if d.get("via") == "intake":
        return w.t("desk_ev_field_answered", field=d.get("field"), value=d.get("to"))
    if d.get("to") is None:
        return w.t("desk_ev_field_cleared", who=w.who(e["actor"]), field=d.get("field"))
    return w.t("desk_ev_field_set", who=w.who(e["actor"]), field=d.get("field"), value=d["to"])


def _tags(key: str) -> Renderer:
    return lambda e, d, w: w.t(
        key, who=w.who(e["actor"]), tags=" ".join(f"#{t}" for t in d.get("tags") or ())
    )


# case fields, tags and the intake questions (cases.fields, cases.intake_questions)
RENDERERS.update(
    {
        "tagged": _tags("desk_ev_tagged"),
        "untagged": _tags("desk_ev_untagged"),
        "field_set": _field_set,
        "category_set": lambda e, d, w: w.t(
            f"desk_ev_category_{d.get('by')}"
            if d.get("by") in CATEGORY_BY
            else "desk_ev_category_button",
            category=d.get("category") or "",
        ),
        "intake_done": lambda e, d, w: w.t("desk_ev_intake_done"),
        "intake_skipped": lambda e, d, w: w.t("desk_ev_intake_skipped"),
        "intake_stopped": lambda e, d, w: w.t("desk_ev_intake_stopped"),
    }
)


def sentence(event: Event, words: Words) -> str:
    """One event in words; a type this dashboard does not know yet is named, not dumped."""
    render = RENDERERS.get(event["type"])
    data = event.get("data") or {}
    if render is None:
        what = str(event["type"]).replace("_", " ")
        return words.t("desk_ev_other", who=words.who(event.get("actor")), what=what)
    return render(event, data, words)


def timeline(
    events: list[Event], t: Translator, names: Mapping[str, str], zone: ZoneInfo, now: datetime
) -> list[dict[str, str]]:
    """The events oldest first as {"at": ISO, "when": local time, "text": sentence}:
    read in order, since an `sla_due` event is told against the dues before it."""
    words = Words(t, names, zone, now)
    return [
        {"at": str(e["at"]), "when": words.at(e["at"]), "text": sentence(e, words)} for e in events
    ]
