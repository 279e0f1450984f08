"""The configuration file: one TOML file read into one validated pydantic tree.

Unknown keys are rejected so a typo fails with its key named. Secrets may come
from environment variables (`CASEBOT_TELEGRAM_TOKEN`, `CASEBOT_TELEGRAM_SECRET_TOKEN`,
`CASEBOT_HTTP_API_TOKEN`, `CASEBOT_STORAGE_URL`, `CASEBOT_FEISHU_APP_SECRET`,
`CASEBOT_FEISHU_ENCRYPT_KEY`, `CASEBOT_FEISHU_VERIFICATION_TOKEN`), which win over the file.
Nothing is built at import time.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adapters.bridge import BridgeConfig
from adapters.feishu import FeishuConfig
from adapters.slack_config import SlackConfig
from adapters.trackers.config import TrackersConfig
from bot.config_fields import FieldConfig, IntakeConfig, check_references
from cases.calendar import BusinessCalendar, CalendarError
from cases.durations import duration_value
from cases.model import PRIORITIES, ChatKey
from cases.people import spoken_locale
from cases.sla import RECIPIENT_ROLES


class ConfigError(Exception):
    """A config problem; the message names the key."""


Duration = Annotated[timedelta, BeforeValidator(duration_value)]


def _chat_key(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a chat key such as telegram:-100123")
    ChatKey.parse(value)
    return value


_KEY = re.compile(r"[A-Za-z0-9_.-]+:\S+")


def _person_key(value: Any) -> str:
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise ValueError("expected a person key such as telegram:1001")
    return value


def _staff_ref(value: Any) -> str:
    """A person key, or the name of a `[[staff.people]]` entry (checked against them
    once the whole file is read, in `Config._known_people`)."""
    if isinstance(value, str) and value.strip() and ":" not in value:
        return value
    try:
        return _person_key(value)
    except ValueError:
        raise ValueError(
            "expected a person key such as telegram:1001 or a name from [[staff.people]]"
        ) from None


ChatRef = Annotated[str, BeforeValidator(_chat_key)]
PersonRef = Annotated[str, BeforeValidator(_person_key)]
StaffRef = Annotated[str, BeforeValidator(_staff_ref)]


def _locale(value: object) -> object:
    """A locale as people write it: "zh", "zh-CN", "zh_CN" or "zh-Hans" is the
    catalogue's Simplified Chinese ("zh"); "en-GB" is English."""
    if not isinstance(value, str):
        return value
    locale = spoken_locale(value)
    if locale is None:
        raise ValueError("expected en or zh-CN (the locales the catalogue has)")
    return locale


Locale = Annotated[Literal["en", "zh"], BeforeValidator(_locale)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(Section):
    url: str = "sqlite+aiosqlite:///./casebot.db"

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://...")
        return value


class HttpUser(Section):
    """A dashboard sign-in: `casebot hash-password` makes `password_hash`."""

    name: str = Field(min_length=1)
    person: StaffRef
    password_hash: str = Field(pattern=r"^pbkdf2_sha256\$\d+\$[^$]+\$[^$]+$")
    # the dashboard's language for them; without it their person's, else the browser's
    locale: Locale | None = None


class HttpConfig(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    api_token: str | None = None
    public_url: str | None = None
    max_body: int = Field(1_048_576, ge=1024)
    session_secret: str | None = None
    session_ttl: Duration = timedelta(hours=12)
    cookie_secure: bool | None = None
    vendor_name: str | None = Field(None, min_length=1, max_length=100)
    users: list[HttpUser] = []
    # hostile clients: a request's headers and its body each get a deadline, idle
    # keep-alive connections close, one address holds a bounded number of connections,
    # and all of them stay below the process's open-files limit (0: derived from it)
    header_timeout: Duration = timedelta(seconds=10)
    body_timeout: Duration = timedelta(seconds=30)
    keepalive_timeout: Duration = timedelta(seconds=15)
    max_connections_per_client: int = Field(64, ge=1)
    max_connections: int = Field(0, ge=0)
    # the only peers whose X-Forwarded-For names the client (addresses or networks)
    trusted_proxies: list[str] = []
    login_failures_per_address: int = Field(20, ge=1)

    @field_validator("header_timeout", "body_timeout", "keepalive_timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value


class TelegramConfig(Section):
    token: str | None = None
    base_url: str = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    secret_token: str | None = None
    poll_timeout: Duration = timedelta(seconds=30)
    case_emoji: list[str] = ["🎫"]
    rate_per_second: float = Field(25.0, gt=0)
    rate_per_group_minute: int = Field(20, gt=0)
    poll_limit: int = Field(100, ge=1, le=100)
    board_min_interval: Duration = timedelta(seconds=3)
    # /healthz answers 503 once the Bot API has refused every getUpdates for this long
    poll_refused_after: Duration = timedelta(minutes=2)

    @model_validator(mode="after")
    def _webhook_needs(self) -> TelegramConfig:
        if self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError('webhook_url: required when mode = "webhook"')
            if not self.secret_token:
                raise ValueError('secret_token: required when mode = "webhook"')
        # Telegram's own rules for the secret (1-256 of A-Z a-z 0-9 _ -) are checked by
        # `casebot doctor`, not here: a local Bot API server may accept others
        return self

    @property
    def secret_token_problem(self) -> str | None:
        """Why Telegram would refuse this secret in setWebhook, if it would."""
        secret = self.secret_token
        if secret is None:
            return None
        if not 1 <= len(secret) <= 256:
            return "Telegram takes 1 to 256 characters"
        if not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
            return "Telegram allows only A-Z, a-z, 0-9, _ and -"
        return None


class SchedulerConfig(Section):
    enabled: bool = True
    tick: Duration = timedelta(seconds=30)
    batch: int = Field(500, ge=1)
    digest_time: str = "09:00"
    review_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    review_time: str = "09:00"
    timezone: str = "UTC"

    @field_validator("tick")
    @classmethod
    def _positive_tick(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s (the sweeper runs every tick)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            BusinessCalendar.parse(value, {"mon": "09:00-10:00"})
        except CalendarError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("digest_time", "review_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hour, sep, minute = value.partition(":")
        if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2):
            raise ValueError("expected a local time such as 09:00")
        if int(hour) > 23 or int(minute) > 59:
            raise ValueError("expected a local time such as 09:00")
        return value


class OnCallShift(Section):
    """Who is on call when, in `scheduler.timezone` (a P1 outside business hours pages them)."""

    person: StaffRef
    days: str = "mon-sun"
    start: str = "00:00"
    end: str = "24:00"

    def hours(self, timezone: str) -> BusinessCalendar:
        return BusinessCalendar.parse(timezone, {self.days: f"{self.start}-{self.end}"})

    @model_validator(mode="after")
    def _valid_shift(self) -> OnCallShift:
        try:
            self.hours("UTC")
        except CalendarError as exc:
            raise ValueError(f"days: {exc}") from None
        return self


# a person's name may stand wherever a person key may, so it must not read as one of
# the words those places take instead
_RESERVED_NAMES = {"me", *RECIPIENT_ROLES}


class StaffPerson(Section):
    """One person known under several platform keys; `ids[0]` is the key they are
    recorded under (as assignee, owner, ...). Without `role` they are an engineer,
    or a lead when their name or any of their ids is in `leads`."""

    name: str = Field(min_length=1)
    ids: list[PersonRef] = Field(min_length=1)
    role: Literal["engineer", "lead"] | None = None
    # the language the bot DMs them in and their dashboard speaks (else `staff.locale`)
    locale: Locale | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        value = value.strip().removeprefix("@")
        if not value or ":" in value or value.lower() in _RESERVED_NAMES:
            raise ValueError(
                f"{value!r} cannot be a person's name (no ':', not one of "
                f"{', '.join(sorted(_RESERVED_NAMES))})"
            )
        return value


class StaffConfig(Section):
    engineers: list[StaffRef] = []
    leads: list[StaffRef] = []
    triage_chat: ChatRef | None = None
    locale: Locale = "en"
    names: dict[str, str] = {}
    on_call: list[OnCallShift] = []
    people: list[StaffPerson] = []

    @model_validator(mode="after")
    def _one_person_each(self) -> StaffConfig:
        names: set[str] = set()
        owners: dict[str, str] = {}
        for i, person in enumerate(self.people):
            if person.name.lower() in names:
                raise ValueError(f"people[{i}].name: duplicate person {person.name!r}")
            names.add(person.name.lower())
            for j, key in enumerate(person.ids):
                if key in owners:
                    raise ValueError(
                        f"people[{i}].ids[{j}]: {key} already belongs to {owners[key]!r}"
                    )
                owners[key] = person.name
        return self

    def person(self, ref: str) -> StaffPerson | None:
        """The `[[staff.people]]` entry a name (any case) or any of its keys means."""
        lowered = ref.removeprefix("@").lower()
        for person in self.people:
            if ref in person.ids or person.name.lower() == lowered:
                return person
        return None

    def key_of(self, ref: str) -> str:
        """The key a person is recorded under: a person's first id for their name or
        any of their ids; any other key as it is."""
        person = self.person(ref)
        return person.ids[0] if person else ref

    def known(self, ref: str) -> bool:
        return ":" in ref or self.person(ref) is not None

    def is_staff(self, ref: str) -> bool:
        """Whether a key or name means someone on the team: listed in `engineers` or
        `leads`, or one of `[[staff.people]]` (each of whom is staff)."""
        return self.person(ref) is not None or ref in self.engineers or ref in self.leads


class CasesConfig(Section):
    conversation_window: Duration = timedelta(minutes=10)
    reopen_window: Duration = timedelta(days=7)
    context_window: Duration = timedelta(minutes=30)
    context_messages: int = Field(5, ge=0, le=50)
    default_priority: Literal["P1", "P2", "P3", "P4"] = "P3"
    csat: bool = True
    # cases opened in one chat within open_window, at most (0: no limit)
    open_window: Duration = timedelta(minutes=10)
    open_per_customer: int = Field(5, ge=0)
    open_per_chat: int = Field(30, ge=0)
    open_per_staff: int = Field(60, ge=0)

    @field_validator("open_window")
    @classmethod
    def _some_window(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("expected a duration above zero, such as 10m")
        return value


class IngestConfig(Section):
    batch_size: int = Field(200, ge=1, le=10_000)
    # 0: a batch is what was queued when it began (and what arrived while the one before
    # committed); a wait for more only delayed every poll's answer, and webhook batches
    # grew no larger (see README "Performance")
    max_wait: Duration = timedelta(0)


class DispatcherConfig(Section):
    enabled: bool = True
    max_attempts: int = Field(8, ge=1)
    base_delay: Duration = timedelta(seconds=2)
    max_delay: Duration = timedelta(minutes=10)
    batch: int = Field(200, ge=1)
    idle_poll: Duration = timedelta(milliseconds=200)
    claim_for: Duration = timedelta(seconds=30)


class AccountConfig(Section):
    name: str = Field(min_length=1)
    tier: str = "standard"
    chats: list[ChatRef] = []
    intake: Literal["tag", "auto"] = "tag"
    locale: Locale = "en"
    acknowledge: bool = True
    topics: Literal["off", "per_case"] = "off"
    owner: StaffRef | None = None
    backup: StaffRef | None = None
    timezone: str | None = None
    hours: dict[str, str] | None = None
    holidays: list[str] = []
    always_on: list[Literal["P1", "P2", "P3", "P4"]] = []

    def calendar(self) -> BusinessCalendar | None:
        if self.hours is None:
            return None
        return BusinessCalendar.parse(self.timezone or "UTC", self.hours, self.holidays)

    @model_validator(mode="after")
    def _valid_calendar(self) -> AccountConfig:
        try:
            self.calendar()
        except CalendarError as exc:
            raise ValueError(f"hours: {exc}") from None
        return self


class SlaTarget(Section):
    first_response: Duration | None = None
    next_response: Duration | None = None
    resolution: Duration | None = None


def _recipient(name: Any) -> str:
    if name in RECIPIENT_ROLES:
        return str(name)
    try:
        return _staff_ref(name)
    except ValueError:
        roles = ", ".join(RECIPIENT_ROLES)
        raise ValueError(
            f"expected one of {roles}, a person key such as telegram:1001 or a name "
            "from [[staff.people]]"
        ) from None


Recipient = Annotated[str, BeforeValidator(_recipient)]


class LadderLevelConfig(Section):
    after: Duration
    to: list[Recipient] = Field(min_length=1)


class EscalationConfig(Section):
    warn_at: float = Field(0.8, gt=0, lt=1)
    escalate_after: Duration = timedelta(hours=1)
    warn_to: list[Recipient] = ["assignee"]
    breach_to: list[Recipient] = Field(["triage", "leads"], min_length=1)
    levels: list[LadderLevelConfig] = []
    customer_nudge_after: Duration = timedelta(days=2)
    customer_nudges: int = Field(2, ge=0)
    close_after: Duration = timedelta(days=3)
    # priorities that page the on-call engineer when they arrive outside business hours
    page: list[Literal["P1", "P2", "P3", "P4"]] = ["P1"]
    # duty hours per person (in scheduler.timezone): an account owner outside them is
    # off duty and their backup gets what they would; people in `away` are off duty
    duty: dict[str, dict[str, str]] = {}
    away: list[StaffRef] = []

    @model_validator(mode="after")
    def _climbing(self) -> EscalationConfig:
        for i in range(1, len(self.levels)):
            if self.levels[i].after <= self.levels[i - 1].after:
                raise ValueError(f"levels[{i}].after: each level comes later than the one before")
        return self

    @field_validator("duty")
    @classmethod
    def _valid_duty(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for person, hours in value.items():
            _staff_ref(person)
            try:
                BusinessCalendar.parse("UTC", hours)
            except CalendarError as exc:
                raise ValueError(f"{person}: {exc}") from None
        return value


class RouteConfig(Section):
    """One `[[routing]]` table: who new cases of an account (or a category) go to."""

    account: str | None = None
    category: str | None = None
    policy: Literal["owner", "round_robin", "least_loaded"] = "round_robin"
    # the people it chooses among (default: every engineer); only those on duty count
    people: list[StaffRef] = []
    # a routed case nobody takes within this passes to the next person; unset: never
    pass_after: Duration | None = None

    @model_validator(mode="after")
    def _one_target(self) -> RouteConfig:
        if (self.account is None) == (self.category is None):
            raise ValueError("account: a route names an account or a category (one of them)")
        return self


class Config(Section):
    storage: StorageConfig = StorageConfig()
    http: HttpConfig = HttpConfig()
    telegram: TelegramConfig | None = None
    scheduler: SchedulerConfig = SchedulerConfig()
    staff: StaffConfig = StaffConfig()
    cases: CasesConfig = CasesConfig()
    ingest: IngestConfig = IngestConfig()
    dispatcher: DispatcherConfig = DispatcherConfig()
    escalation: EscalationConfig = EscalationConfig()
    accounts: list[AccountConfig] = []
    sla: dict[str, dict[str, SlaTarget]] = {}
    bridges: list[BridgeConfig] = []
    trackers: TrackersConfig = TrackersConfig()
    slack: SlackConfig | None = None
    routing: list[RouteConfig] = []
    feishu: FeishuConfig | None = None
    fields: list[FieldConfig] = []
    intake: IntakeConfig = IntakeConfig()

    @field_validator("sla")
    @classmethod
    def _priorities(
        cls, value: dict[str, dict[str, SlaTarget]]
    ) -> dict[str, dict[str, SlaTarget]]:
        for tier, targets in value.items():
            for priority in targets:
                if priority not in PRIORITIES:
                    raise ValueError(f"{tier}.{priority}: priorities are P1, P2, P3, P4")
        return value

    @model_validator(mode="after")
    def _unique_accounts(self) -> Config:
        seen_names: set[str] = set()
        seen_chats: dict[str, str] = {}
        for i, account in enumerate(self.accounts):
            if account.name in seen_names:
                raise ValueError(f"accounts[{i}].name: duplicate account {account.name!r}")
            seen_names.add(account.name)
            for chat in account.chats:
                if chat in seen_chats:
                    raise ValueError(
                        f"accounts[{i}].chats: {chat} already belongs to {seen_chats[chat]!r}"
                    )
                seen_chats[chat] = account.name
        if self.staff.triage_chat and self.staff.triage_chat in seen_chats:
            raise ValueError("staff.triage_chat: is also a customer chat")
        bridges: set[str] = set()
        for i, bridge in enumerate(self.bridges):
            if bridge.name in bridges:
                raise ValueError(f"bridges[{i}].name: duplicate bridge {bridge.name!r}")
            bridges.add(bridge.name)
        for i, route in enumerate(self.routing):
            if route.account is not None and route.account not in seen_names:
                raise ValueError(f"routing[{i}].account: no account named {route.account!r}")
        return self

    @model_validator(mode="after")
    def _known_people(self) -> Config:
        """Every place that names a person by name names one of `[[staff.people]]`."""
        staff, e = self.staff, self.escalation
        refs: list[tuple[str, str | None]] = [
            *((f"staff.engineers[{i}]", r) for i, r in enumerate(staff.engineers)),
            *((f"staff.leads[{i}]", r) for i, r in enumerate(staff.leads)),
            *((f"staff.on_call[{i}].person", s.person) for i, s in enumerate(staff.on_call)),
            *((f"escalation.warn_to[{i}]", r) for i, r in enumerate(e.warn_to)),
            *((f"escalation.breach_to[{i}]", r) for i, r in enumerate(e.breach_to)),
            *(
                (f"escalation.levels[{i}].to[{j}]", r)
                for i, level in enumerate(e.levels)
                for j, r in enumerate(level.to)
            ),
            *((f"escalation.duty.{r}", r) for r in e.duty),
            *((f"escalation.away[{i}]", r) for i, r in enumerate(e.away)),
            *((f"accounts[{i}].owner", a.owner) for i, a in enumerate(self.accounts)),
            *((f"accounts[{i}].backup", a.backup) for i, a in enumerate(self.accounts)),
            *((f"http.users[{i}].person", u.person) for i, u in enumerate(self.http.users)),
            *(
                (f"routing[{i}].people[{j}]", p)
                for i, route in enumerate(self.routing)
                for j, p in enumerate(route.people)
            ),
        ]
        for where, ref in refs:
            if ref is not None and ref not in RECIPIENT_ROLES and not staff.known(ref):
                raise ValueError(f"{where}: {ref!r} is no person key and no [[staff.people]] name")
        return self

    @model_validator(mode="after")
    def _fields_and_categories(self) -> Config:
        problem = check_references(self.fields, self.intake, {a.name for a in self.accounts})
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _dashboard_users(self) -> Config:
        names: set[str] = set()
        for i, user in enumerate(self.http.users):
            if user.name in names:
                raise ValueError(f"http.users[{i}].name: duplicate user {user.name!r}")
            names.add(user.name)
            if not self.staff.is_staff(user.person):
                raise ValueError(
                    f"http.users[{i}].person: {user.person} is not in staff.engineers, "
                    "staff.leads or [[staff.people]]"
                )
        return self

    def warnings(self) -> list[str]:
        """Likely mistakes that still make a working config: said by check-config and
        logged by run. A tier without targets is allowed (an account on a plan with
        no SLA), but it is more often a typo."""
        found = []
        for i, account in enumerate(self.accounts):
            if self.sla and account.tier not in self.sla:
                found.append(
                    f"accounts[{i}].tier: no [sla.{account.tier}] section, so cases of "
                    f"{account.name!r} run no SLA clocks"
                )
        return found


_ENV = {
    "CASEBOT_TELEGRAM_TOKEN": ("telegram", "token"),
    "CASEBOT_TELEGRAM_SECRET_TOKEN": ("telegram", "secret_token"),
    "CASEBOT_HTTP_API_TOKEN": ("http", "api_token"),
    "CASEBOT_SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "CASEBOT_SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "CASEBOT_SLACK_APP_TOKEN": ("slack", "app_token"),
    "CASEBOT_STORAGE_URL": ("storage", "url"),
    "CASEBOT_FEISHU_APP_SECRET": ("feishu", "app_secret"),
    "CASEBOT_FEISHU_ENCRYPT_KEY": ("feishu", "encrypt_key"),
    "CASEBOT_FEISHU_VERIFICATION_TOKEN": ("feishu", "verification_token"),
}


def _apply_env(raw: dict[str, Any], env: dict[str, str]) -> None:
    for var, (section, key) in _ENV.items():
        value = env.get(var)
        if value:
            raw.setdefault(section, {})[key] = value


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item.startswith(("function-", "constrained-")) or item in ("literal", "str"):
            continue
        else:
            parts.append(item)
    return ".".join(parts)


def describe(error: ValidationError) -> str:
    """One line naming the first bad key and what is wrong with it."""
    first = error.errors()[0]
    where = _location(tuple(first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    if ": " in message and where.count(".") < 3 and not message.startswith(("Input", "use")):
        # validators that name a sub-key ("webhook_url: required ...") extend the path
        head, _, rest = message.partition(": ")
        if " " not in head:
            where = f"{where}.{head}" if where else head
            message = rest
    return f"{where}: {message}" if where else message


def parse_config(raw: dict[str, Any], env: dict[str, str] | None = None) -> Config:
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    _apply_env(raw, dict(os.environ) if env is None else env)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
    storage = raw.get("storage")
    if storage is None or isinstance(storage, dict):
        storage = dict(storage or {})
        url = storage.get("url", StorageConfig().url)
        if isinstance(url, str):
            storage["url"] = sqlite_beside(url, path.parent)
            raw["storage"] = storage
    return parse_config(raw, env)


SQLITE = "sqlite+aiosqlite:///"


def sqlite_beside(url: str, directory: Path) -> str:
    """A relative SQLite path in a config file means a file next to the config (so
    `casebot -c /etc/casebot/casebot.toml` finds the same database from any directory);
    absolute paths (four slashes), `:memory:` and other databases stay as written."""
    if not url.startswith(SQLITE):
        return url
    rest = url[len(SQLITE) :]
    if not rest or rest.startswith(("/", ":memory:")):
        return url
    return SQLITE + os.path.normpath(directory.absolute() / rest)
