"""Turns the validated config into the engine's settings and storage's directory.

Part of `bot`, which may import every package.
"""

from __future__ import annotations

from adapters.base import Adapter, CommandQueue
from adapters.bridge import BridgeAdapter, BridgeDoor, capabilities_of
from bot.config import Config, StaffPerson
from cases.calendar import BusinessCalendar
from cases.clock import Clock
from cases.model import Capabilities, ChatKey, Role
from cases.routing import Route
from cases.settings import EngineSettings, OpeningLimits
from cases.sla import (
    RECIPIENT_ROLES,
    EscalationPolicy,
    LadderLevel,
    OnCallShift,
    SlaPolicy,
    SlaTargets,
)
from cases.texts import Texts
from storage.directory import AccountSpec, PersonSpec


def sla_policy(config: Config) -> SlaPolicy:
    return SlaPolicy(
        {
            tier: {
                prio: SlaTargets(t.first_response, t.next_response, t.resolution)
                for prio, t in targets.items()
            }
            for tier, targets in config.sla.items()
        }
    )


def calendars(config: Config) -> dict[str, BusinessCalendar]:
    result = {}
    for account in config.accounts:
        calendar = account.calendar()
        if calendar is not None:
            result[account.name] = calendar
    return result


def escalation_policy(config: Config) -> EscalationPolicy:
    """The nudge ladder; rota and duty hours count in `scheduler.timezone`. Every
    person in it is named by the key they are recorded under (`StaffConfig.key_of`),
    so duty hours, away and the rota follow a person whichever key or name the
    config used."""
    e, tz, key = config.escalation, config.scheduler.timezone, config.staff.key_of

    def keys(refs: list[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r if r in RECIPIENT_ROLES else key(r) for r in refs))

    leads = [p.ids[0] for p in config.staff.people if _role(config, p) is Role.LEAD]
    return EscalationPolicy(
        warn_at=e.warn_at,
        escalate_after=e.escalate_after,
        warn_to=keys(e.warn_to),
        breach_to=keys(e.breach_to),
        levels=tuple(LadderLevel(level.after, keys(level.to)) for level in e.levels),
        customer_nudge_after=e.customer_nudge_after,
        customer_nudges=e.customer_nudges,
        close_after=e.close_after,
        page_priorities=frozenset(e.page),
        leads=keys([*config.staff.leads, *leads]),
        on_call=tuple(OnCallShift(key(s.person), s.hours(tz)) for s in config.staff.on_call),
        duty={key(p): BusinessCalendar.parse(tz, hours) for p, hours in e.duty.items()},
        away=frozenset(key(p) for p in e.away),
    )


def engine_settings(config: Config) -> EngineSettings:
    emojis = config.telegram.case_emoji if config.telegram else ["🎫"]
    if config.slack is not None:
        from adapters.slack_translate import reaction_emoji

        emojis = [*emojis, *(reaction_emoji(n) for n in config.slack.case_reaction)]
    if config.feishu is not None:
        emojis = [*emojis, *config.feishu.case_emoji]
    return EngineSettings(
        conversation_window=config.cases.conversation_window,
        reopen_window=config.cases.reopen_window,
        context_window=config.cases.context_window,
        context_limit=config.cases.context_messages,
        case_emojis=frozenset(emojis),
        triage_chat=ChatKey.parse(config.staff.triage_chat) if config.staff.triage_chat else None,
        staff_locale=config.staff.locale,
        person_locales={
            key: person.locale
            for person in config.staff.people
            if person.locale
            for key in person.ids
        },
        default_priority=config.cases.default_priority,
        sla=sla_policy(config),
        calendars=calendars(config),
        always_on={a.name: frozenset(a.always_on) for a in config.accounts if a.always_on},
        csat=config.cases.csat,
        public_url=config.http.public_url,
        escalation=escalation_policy(config),
        capabilities=capabilities(config),
        opening_limits=OpeningLimits(
            window=config.cases.open_window,
            per_customer=config.cases.open_per_customer,
            per_chat=config.cases.open_per_chat,
            per_staff=config.cases.open_per_staff,
        ),
        direct=direct_platforms(config),
        fields=tuple(f.spec() for f in config.fields),
        intake=config.intake.rules(),
        routes=routes(config),
    )


def routes(config: Config) -> tuple[Route, ...]:
    """`[[routing]]`, each person by the key they are recorded under; a route naming
    nobody chooses among every engineer."""
    key = config.staff.key_of
    engineers = [*config.staff.engineers]
    engineers += [p.ids[0] for p in config.staff.people if _role(config, p) is Role.ENGINEER]
    return tuple(
        Route(
            account=r.account,
            category=r.category,
            policy=r.policy,
            people=tuple(dict.fromkeys(key(p) for p in (r.people or engineers))),
            pass_after=r.pass_after,
        )
        for r in config.routing
    )


def capabilities(config: Config) -> dict[str, Capabilities]:
    """What each configured platform can do, by platform name."""
    from adapters.telegram import CAPABILITIES as TELEGRAM

    found = {"telegram": TELEGRAM}
    found.update({b.name: capabilities_of(b) for b in config.bridges})
    if config.slack is not None:
        from adapters.slack import CAPABILITIES as SLACK

        found["slack"] = SLACK
    if config.feishu is not None:
        from adapters.feishu import CAPABILITIES as FEISHU

        found["feishu"] = FEISHU
    return found


def build_adapters(
    config: Config, clock: Clock, texts: Texts, *, queue: CommandQueue
) -> dict[str, Adapter]:
    """The adapter registry: one adapter per configured platform section, by platform.
    Each owns its settings (`[telegram]`, `[feishu]`, a `[[bridges]]` table) and its
    web routes."""
    adapters: dict[str, Adapter] = {}
    # what every chat platform's adapter is built with besides its own section
    chat_platform = {
        "texts": texts,
        "triage_chat": config.staff.triage_chat,
        "staff_locale": config.staff.locale,
    }
    if config.telegram is not None:
        from adapters.telegram import TelegramAdapter

        adapters["telegram"] = TelegramAdapter(config.telegram, clock, **chat_platform)
    if config.slack is not None:
        from adapters.slack import SlackAdapter

        adapters["slack"] = SlackAdapter(config.slack, clock, **chat_platform)
    if config.feishu is not None:
        from adapters.feishu import FeishuAdapter

        adapters["feishu"] = FeishuAdapter(config.feishu, clock, **chat_platform)
    door = BridgeDoor()
    for bridge in config.bridges:
        adapters[bridge.name] = BridgeAdapter(
            bridge,
            clock,
            texts=texts,
            staff_locale=config.staff.locale,
            queue=queue,
            door=door,
        )
    return adapters


def direct_platforms(config: Config) -> frozenset[str]:
    """The configured platforms whose adapters can DM a person, as their capabilities say."""
    configured = (
        {b.name for b in config.bridges}
        | ({"telegram"} if config.telegram is not None else set())
        | ({"slack"} if config.slack is not None else set())
    )
    if config.feishu is not None:
        configured.add("feishu")
    return frozenset(p for p, c in capabilities(config).items() if c.direct and p in configured)


def account_specs(config: Config) -> list[AccountSpec]:
    return [
        AccountSpec(
            name=a.name,
            tier=a.tier,
            locale=a.locale,
            intake=a.intake,
            acknowledge=a.acknowledge,
            topics=a.topics,
            owner=config.staff.key_of(a.owner) if a.owner else None,
            backup=config.staff.key_of(a.backup) if a.backup else None,
            chats=tuple(ChatKey.parse(c) for c in a.chats),
        )
        for a in config.accounts
    ]


def _role(config: Config, person: StaffPerson) -> Role:
    """A person's role: lead when `role` says so or their name or any of their ids is
    in `leads`; listed in [staff], they are an engineer otherwise."""
    named = {person.name.lower(), *person.ids}
    if person.role == "lead" or any(r in named or r.lower() in named for r in config.staff.leads):
        return Role.LEAD
    return Role.ENGINEER


def staff_roles(config: Config) -> dict[str, Role]:
    """The role of every staff key; each id of a person has the person's role."""
    staff = config.staff
    roles = {key: Role.ENGINEER for key in staff.engineers if ":" in key}
    roles.update({key: Role.LEAD for key in staff.leads if ":" in key})
    for person in staff.people:
        roles.update(dict.fromkeys(person.ids, _role(config, person)))
    return roles


def staff_people(config: Config) -> list[PersonSpec]:
    return [PersonSpec(p.name, tuple(p.ids)) for p in config.staff.people]
