"""A desk a lead can read: the case timeline in sentences, chat titles, the
adapter-down banner, breaches in words, refusals styled apart from "Done", the
review's week picker and the status page's vendor, account and time zone.

Through the real web app on the frozen clock; the browser checks (colours, a phone's
width) are in test_browser.py.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.texts import CATALOGUE, LOCALES, Catalogue
from scheduler.sweeper import Sweeper
from storage.models import Chat
from tests.web.conftest import ACME, ENGINEER, GLOBEX, LEAD, Site, make_site

ROOT = Path(__file__).resolve().parents[2]
RAW_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
SHANGHAI = {"Acme": {"timezone": "Asia/Shanghai"}}  # UTC+8 all year: no DST to reason about

# what each audit event type holds, as the code that writes it fills it in
SAMPLES: dict[str, dict[str, Any]] = {
    "opened": {"title": "VM down", "by": "message", "message": "7", "context": 1,
               "due": {"first_response": "2026-03-02T10:00:00+00:00", "next_response": None,
                       "resolution": "2026-03-04T09:00:00+00:00"}},
    "message_edited": {"message": "7"},
    "message_deleted": {"message": "7"},
    "sla_due": {"first_response": "2026-03-03T10:00:00+00:00", "next_response": None,
                "resolution": "2026-03-04T09:00:00+00:00"},
    "status_changed": {"from": "open", "to": "resolved", "reason": "command"},
    "sla_paused": {"clock": "resolution", "status": "waiting_on_customer"},
    "sla_resumed": {"clock": "resolution", "status": "open"},
    "sla_met": {"clock": "first_response", "due": "2026-03-02T10:00:00+00:00"},
    "sla_breached": {"clock": "first_response", "due": "2026-03-02T10:00:00+00:00"},
    "sla_warning": {"clock": "resolution", "due": "2026-03-02T10:00:00+00:00"},
    "sla_escalated": {"clock": "resolution", "due": "2026-03-02T10:00:00+00:00", "level": 2,
                      "to": ["telegram:2001"]},
    "sla_paged": {"to": None},
    "note": {"text": "check logs", "via": "web"},
    "staff_reply": {"message": 12, "via": "web"},
    "csat": {"score": 4},
    "assigned": {"from": None, "to": "telegram:1001"},
    "priority_changed": {"from": "P3", "to": "P1"},
    "followup_created": {"followup": 3, "owner": "telegram:1001",
                         "due": "2026-03-04T09:00:00+00:00", "text": "ring them"},
    "followup_done": {"followup": 3},
    "followup_nudged": {"followup": 3, "to": "telegram:1001"},
    "followup_escalated": {"followup": 3, "to": ["telegram:2001"]},
    "customer_nudged": {"count": 1},
    "message_moved_in": {"message": "9", "from": 4, "to": 5},
    "message_moved_out": {"message": "9", "from": 4, "to": 5},
    "merged_into": {"into": 5},
    "incident_linked": {"incident": 1, "title": "EU region down"},
    "issue_linked": {"tracker": "github", "key": "acme/api#42",
                     "url": "https://github.com/acme/api/issues/42"},
    "issue_unlinked": {"tracker": "github", "key": "acme/api#42"},
    "issue_closed": {"key": "acme/api#42", "via": "poll"},
    "issue_reopened": {"key": "acme/api#42", "via": "webhook"},
    "issue_draft_sent": {"issue": 1, "text": "Update on case #1"},
    "merged_from": {"from": 4},
    "tagged": {"tags": ["billing", "vip"], "via": "chat"},
    "untagged": {"tags": ["vip"], "via": "web"},
    "field_set": {"field": "instance", "from": None, "to": "i-7f3", "via": "chat"},
    "category_set": {"category": "billing", "by": "keywords"},
    "intake_done": {"answered": 2},
    "intake_skipped": {"at_question": 0},
    "intake_stopped": {"reason": "staff_spoke"},
}  # fmt: skip
# event types written with an f-string: every value each prefix is completed with
# (cases.sla.update_pause and cases.sla.outcome)
BUILT_TYPES = {
    "sla_": ("paused", "resumed", "met", "breached"),
    "intake_": ("done", "skipped", "stopped"),  # cases.intake_questions._stop_questions
}


def _written_event_types() -> set[str]:
    """Every audit event type the engine, the storage layer and the sweeper write."""
    found: set[str] = set()
    built: set[str] = set()
    for package in ("cases", "storage", "scheduler"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            found.update(re.findall(r'add_event\(\s*[^,()]+(?:\([^()]*\))?,\s*"(\w+)"', source))
            built.update(re.findall(r'add_event\(\s*[^,()]+(?:\([^()]*\))?,\s*f"(\w+)\{', source))
            found.update(re.findall(r'events\.append\(\(\s*"(\w+)"', source))
            found.update(re.findall(r'"type":\s*"(\w+)"', source))
    assert built == set(BUILT_TYPES), f"types built from {built}: say what they complete to"
    return found | {p + v for p, values in BUILT_TYPES.items() for v in values}


def visible_text(page: str) -> str:
    """What a person reads: no tags, no attributes, entities decoded."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"(?s)<[^>]+>", " ", page))


def assert_readable(page: str, where: str) -> None:
    text = visible_text(page)
    assert "{'" not in text and "None" not in text, (where, text)
    assert not RAW_ISO.search(text), (where, RAW_ISO.search(text))


def _timeline(page: str) -> str:
    match = re.search(r'(?s)<ol class="timeline">(.*?)</ol>', page)
    assert match, page[:300]
    return " ".join(visible_text(match.group(1)).split())


async def _sweep(site: Site) -> None:
    await Sweeper(site.app.sessions, site.app.engine, site.app.caches).tick(site.clock.now())


def test_every_event_type_the_engine_writes_has_a_sentence_in_en_and_zh() -> None:
    from web.render import Translator
    from web.timeline import RENDERERS, Words, sentence

    types = _written_event_types()
    # a scan that found nothing would prove nothing
    assert {"opened", "assigned", "sla_due", "sla_breached", "merged_into"} <= types
    assert types == set(SAMPLES), (types - set(SAMPLES), set(SAMPLES) - types)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    names = {ENGINEER: "Evan", LEAD: "Lena"}
    for kind in sorted(types):
        assert kind in RENDERERS, kind
        said = {}
        for locale in LOCALES:
            words = Words(Translator(Catalogue(), locale), names, ZoneInfo("Europe/Berlin"), now)
            event = {"type": kind, "at": "2026-03-02T09:00:00Z", "actor": ENGINEER,
                     "data": SAMPLES[kind]}  # fmt: skip
            said[locale] = text = sentence(event, words)
            assert text and "{" not in text and "None" not in text and "'" not in text, text
            assert not RAW_ISO.search(text) and "telegram:" not in text, text
        assert said["en"] != said["zh"], said
    for key in CATALOGUE:
        if key.startswith("desk_"):
            assert all(CATALOGUE[key].get(locale) for locale in LOCALES), key


def test_sentences_say_who_did_what_and_when_in_the_right_words() -> None:
    from web.render import Translator
    from web.timeline import Words, sentence

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
    words = Words(Translator(Catalogue(), "en"), {ENGINEER: "Evan"}, ZoneInfo("UTC"), now)
    first = {"type": "opened", "at": "x", "actor": None, "data": SAMPLES["opened"]}
    assert sentence(first, words) == "casebot opened the case: “VM down”"
    moved = {"type": "sla_due", "at": "x", "actor": ENGINEER, "data": SAMPLES["sla_due"]}
    # against the dues the case was opened with: only the first response moved
    assert sentence(moved, words) == "First response due moved to 10:00 Tue"
    resolved = {"type": "status_changed", "at": "x", "actor": ENGINEER,
                "data": SAMPLES["status_changed"]}  # fmt: skip
    assert sentence(resolved, words) == "Evan resolved the case"
    split = {"message": "9", "from": 4, "to": 5, "split": True, "messages": 2}
    out = {"type": "message_moved_out", "at": "x", "actor": ENGINEER, "data": split}
    assert sentence(out, words) == "Evan split message 9 off into #5 (2 messages)"
    into = {"type": "message_moved_in", "at": "x", "actor": ENGINEER, "data": split}
    assert sentence(into, words) == "Evan split this case off #4: message 9 (2 messages)"
    zh = Words(Translator(Catalogue(), "zh"), {ENGINEER: "Evan"}, ZoneInfo("UTC"), now)
    sentence(first, zh)
    assert sentence(moved, zh) == "首次响应截止时间改为 周二 10:00"


async def test_the_case_page_tells_its_story_in_sentences_in_the_accounts_zone(
    sqlite_url: str,
) -> None:
    async for site in make_site(sqlite_url, accounts=SHANGHAI):
        case_id = await site.open_case("VM down")
        other = await site.open_case("billing export is empty")
        await site.say("evan", f"/assign #{case_id} me")
        await site.say("evan", f"/priority #{case_id} P1")
        await site.say("evan", f"/followup #{case_id} 1d ring them")
        await site.say("evan", f"/note #{case_id} check the logs")
        site.clock.advance(timedelta(minutes=20))
        await _sweep(site)  # P1's 15 minutes to a first response are gone
        await site.sign_in("evan")
        token = await site.csrf(f"/cases/{other}")
        r = await site.client.post(
            f"/cases/{other}/act", data={"kind": "merge", "into": str(case_id), "csrf": token}
        )
        assert "Done." in await r.text()
        await site.say("evan", f"/resolve #{case_id}")
        page = await (await site.client.get(f"/cases/{case_id}")).text()
        told = _timeline(page)
        assert "Evan resolved the case" in told, told
        assert "Evan assigned the case to Evan" in told
        assert "Evan changed the priority from P3 to P1" in told
        assert re.search(r"First response due moved to \d\d:\d\d Mon", told), told
        assert f"Evan merged #{other} into this case" in told
        assert "First response target breached" in told
        assert "times in Asia/Shanghai" in visible_text(page)
        # 09:00 UTC on Monday is 17:00 in Shanghai: every time on the page is local
        assert re.search(r"<time [^>]*>1[78]:\d\d Mon</time>", page), page
        assert "UTC" not in told
        for path in (
            f"/cases/{case_id}",
            f"/cases/{other}",
            "/queue/active",
            "/queue/all",
            "/queue/breached",
            "/accounts",
            "/accounts/Acme",
            "/accounts/Acme/review",
            "/search?q=VM",
            "/outbox",
        ):
            r = await site.client.get(path)
            assert r.status == 200, path
            assert_readable(await r.text(), path)


async def test_chats_show_their_titles_and_fall_back_to_the_key(site: Site) -> None:
    acme = await site.open_case("VM down")
    globex = await site.open_case("网络很慢", chat=GLOBEX, who="carol")
    async with site.app.sessions() as session, session.begin():
        await session.execute(update(Chat).where(Chat.chat == ACME).values(title="Acme Ops"))
    await site.sign_in()
    page = visible_text(await (await site.client.get(f"/cases/{acme}")).text())
    assert "Acme Ops" in page and f"telegram:{ACME}" not in page
    page = visible_text(await (await site.client.get(f"/cases/{globex}")).text())
    assert f"telegram:{GLOBEX}" in page  # no title stored: the key is all there is
    page = await (await site.client.get("/outbox")).text()
    chats = set(re.findall(r'<td data-label="Chat">([^<]*)</td>', page))
    assert "Acme Ops" in chats and f"telegram:{ACME}" not in chats, chats
    page = visible_text(await (await site.client.get("/search?q=VM")).text())
    assert "Acme Ops" in page


class DownAdapter:
    """A chat adapter that is not taking updates until a test sets `running`, as
    /healthz reads it."""

    platform = "fake"
    running = False

    async def start(self, sink: Any) -> None: ...
    async def stop(self) -> None: ...
    async def deliver(self, delivery: Any) -> Any: ...


async def test_every_dashboard_page_says_when_an_adapter_is_down(sqlite_url: str) -> None:
    adapter = DownAdapter()
    async for site in make_site(sqlite_url, adapters={"fake": adapter}):
        case_id = await site.open_case("VM down")
        await site.sign_in()
        pages = ("/queue/mine", f"/cases/{case_id}", "/accounts", "/accounts/Acme",
                 "/accounts/Acme/review", "/search", "/outbox")  # fmt: skip
        assert (await site.client.get("/healthz")).status == 503
        for path in pages:
            page = await (await site.client.get(path)).text()
            banner = re.search(r'<p class="banner down" role="alert">([^<]*)</p>', page)
            assert banner and "fake not taking messages" in banner.group(1), path
        # customers are not told
        token = await _status_token(site)
        assert "banner" not in await (await site.client.get(f"/status/{token}")).text()
        adapter.running = True
        assert (await site.client.get("/healthz")).status == 200
        for path in pages:
            assert "banner down" not in await (await site.client.get(path)).text(), path


async def _status_token(site: Site, chat: str = ACME) -> str:
    from sqlalchemy import select

    async with site.app.sessions() as session:
        row = await session.execute(select(Chat.status_token).where(Chat.chat == chat))
        return str(row.scalar_one())


async def test_a_breached_case_says_since_when_in_the_queue_and_on_its_page(site: Site) -> None:
    case_id = await site.open_case("VM down")
    calm = await site.open_case("billing export is empty")
    r = await site.client.get(f"/api/v1/cases/{case_id}", headers=site.api_headers())
    due = datetime.fromisoformat((await r.json())["sla"]["first_response_due"])
    site.clock.advance(due - site.clock.now() + timedelta(minutes=3))
    await _sweep(site)  # the sweeper notices 3 minutes late; the breach was at the due time
    site.clock.advance(timedelta(minutes=9))
    await site.sign_in()
    badge = '<span class="badge breach">breached 12 min ago</span>'
    for path in ("/queue/active", "/queue/breached"):
        page = await (await site.client.get(path)).text()
        row = re.search(rf'(?s)<tr class="breached">\s*<td><a href="/cases/{case_id}">.*?</tr>',
                        page)  # fmt: skip
        assert row and badge in row.group(0), path
        assert page.count("badge breach") == 1, path  # the other case has time left
    page = await (await site.client.get(f"/cases/{case_id}")).text()
    assert badge in page
    assert "badge breach" not in await (await site.client.get(f"/cases/{calm}")).text()


async def test_a_refusal_looks_different_from_done(lite: Site) -> None:
    case_id = await lite.open_case("VM down")
    await lite.sign_in()
    token = await lite.csrf(f"/cases/{case_id}")
    r = await lite.client.post(
        f"/cases/{case_id}/act", data={"kind": "priority", "priority": "P7", "csrf": token}
    )
    assert re.search(r'<p class="flash error" role="alert">Not done: priority', await r.text())
    r = await lite.client.post(
        f"/cases/{case_id}/act", data={"kind": "priority", "priority": "P2", "csrf": token}
    )
    assert '<p class="flash ok" role="status">Done.</p>' in await r.text()


async def test_the_review_opens_on_this_week_with_a_week_picker(lite: Site) -> None:
    await lite.open_case("VM down")
    await lite.sign_in()
    # the frozen clock says Monday 2026-03-02 (10:00 by now)
    page = await (await lite.client.get("/accounts/Acme/review")).text()
    assert "2026-03-02 00:00 UTC to 2026-03-09 00:00 UTC" in page
    assert 'href="?week=2026-02-23">← Previous week</a>' in page
    assert 'href="?week=2026-03-09">Next week →</a>' in page
    assert '<input type="date" name="week" value="2026-03-02" required>' in page
    assert "This week" not in page  # already on it
    assert "VM down" in page
    page = await (await lite.client.get("/accounts/Acme/review?week=2026-02-25")).text()
    assert "2026-02-23 00:00 UTC to 2026-03-02 00:00 UTC" in page
    assert 'href="?week=2026-02-16"' in page and 'href="?week=2026-03-02">This week' in page
    for path in (
        "/accounts/Acme/review?week=soon",
        "/accounts/Acme/review?week=2026-13-01",
        "/accounts/Acme?week=0001-01-01",
        "/accounts/Acme/review?week=0001-01-01",
    ):
        r = await lite.client.get(path)
        assert r.status == 400, path
        assert "week must be a date such as 2026-03-02" in await r.text(), path
    # a digit that is no number: the account page keeps its 8 weeks
    assert (await lite.client.get("/accounts/Acme?weeks=²")).status == 200


async def test_the_status_page_names_vendor_and_account_in_the_accounts_zone(
    sqlite_url: str,
) -> None:
    async for site in make_site(sqlite_url, accounts=SHANGHAI, vendor_name="Example Cloud"):
        case_id = await site.open_case("VM down")
        h = site.api_headers(LEAD)
        await site.client.post(f"/api/v1/cases/{case_id}/notes", json={"text": "SECRET-NOTE"},
                               headers=h)  # fmt: skip
        await site.client.post(f"/api/v1/cases/{case_id}/assign", json={"assignee": ENGINEER},
                               headers=h)  # fmt: skip
        page = await (await site.client.get(f"/status/{await _status_token(site)}")).text()
        text = visible_text(page)
        assert "<h1>Example Cloud support status</h1>" in page
        assert "Acme" in text and f"#{case_id}" in text
        # 10:01 UTC on Monday is 18:01 in Shanghai (CST)
        assert re.search(r"updated 2026-03-02 18:\d\d CST", text), text
        assert "Times in Asia/Shanghai." in text and "UTC" not in text
        assert "SECRET-NOTE" not in text and "Evan" not in text and ENGINEER not in text
        assert "telegram:" not in text
    # an account without a zone: the desk's (UTC here), and no vendor name is invented
    async for site in make_site(sqlite_url.replace("casebot.db", "plain.db")):
        await site.open_case("VM down")
        text = visible_text(
            await (await site.client.get(f"/status/{await _status_token(site)}")).text()
        )
        assert "Support status" in text and "Times in UTC." in text


async def test_the_desk_speaks_chinese_when_staff_do(sqlite_url: str) -> None:
    async for site in make_site(sqlite_url, staff={"locale": "zh"}):
        case_id = await site.open_case("VM down")
        await site.say("evan", f"/resolve #{case_id}")
        await site.sign_in()
        told = _timeline(await (await site.client.get(f"/cases/{case_id}")).text())
        assert "Evan 解决了工单" in told and "resolved" not in told, told
        page = await (await site.client.get("/accounts/Acme/review")).text()
        assert "← 上一周" in page and "下一周 →" in page
        r = await site.client.get("/accounts/Acme/review?week=soon")
        assert r.status == 400 and "week 必须是日期" in await r.text()


def _delivery_notes() -> set[str]:
    """What adapters put in a receipt's `notes`: the dispatcher records each as an
    audit event of that type on the row's case."""
    found: set[str] = set()
    for path in (ROOT / "adapters").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for group in re.findall(r"notes\s*=\s*\(([^()]*)\)", source):
            found.update(re.findall(r'"(\w+)"', group))
    return found


def test_every_delivery_note_on_a_case_reads_as_a_sentence_in_en_and_zh() -> None:
    from web.render import Translator
    from web.timeline import Words, sentence

    notes = _delivery_notes()
    assert {"pin_failed", "dm_fallback", "topics_unavailable"} <= notes, notes
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for note in sorted(notes):
        said = {}
        for locale in LOCALES:
            words = Words(Translator(Catalogue(), locale), {}, ZoneInfo("UTC"), now)
            event = {"type": note, "at": "2026-03-02T09:00:00Z", "actor": None,
                     "data": {"outbox": 7, "purpose": "board"}}  # fmt: skip
            said[locale] = text = sentence(event, words)
            # "casebot: pin failed" only names the type: no sentence
            named = words.t("desk_ev_other", who=words.who(None), what=note.replace("_", " "))
            assert text != named, text
            assert "{" not in text and "None" not in text, text
        assert said["en"] != said["zh"], said
        assert not re.search(r"[a-z]{3,}", said["zh"].replace("casebot", "")), said


class NotingAdapter(DownAdapter):
    """Delivers everything, and says the pin failed, as Telegram's does without the right."""

    platform = "telegram"
    running = True

    async def deliver(self, delivery: Any) -> Any:
        from adapters.base import Receipt

        return Receipt(message_id="900", notes=("pin_failed", "dm_fallback"))


async def test_a_delivery_note_shows_in_the_case_timeline_in_words(sqlite_url: str) -> None:
    from bot.dispatcher import Dispatcher

    adapter = NotingAdapter()
    async for site in make_site(sqlite_url, adapters={"telegram": adapter}):
        case_id = await site.open_case("VM down")
        await Dispatcher(site.app.sessions, {"telegram": adapter}, site.clock).run_once()
        await site.sign_in()
        told = _timeline(await (await site.client.get(f"/cases/{case_id}")).text())
        assert "could not pin" in told and "pin failed" not in told, told
        assert "dm fallback" not in told, told


async def test_a_configured_chat_learns_its_title_from_its_messages(site: Site) -> None:
    """Chats listed in the config are stored before the bot sees them, without a title:
    the first message brings it, a renamed group's next message renames it."""
    from cases.model import Actor, ChatKey, Inbound, InboundKind

    async def titled(title: str, text: str, mid: str) -> None:
        site.clock.advance(timedelta(hours=1))
        await site.app.ingestor.handle(
            Inbound(
                InboundKind.MESSAGE,
                f"titled-{mid}",
                ChatKey("telegram", ACME),
                site.clock.now(),
                Actor("telegram", "5001", "Alice", "alice"),
                message_id=mid,
                text=text,
                chat_title=title,
            )
        )

    await titled("Acme Ops", "VM down", "701")
    _, outcome = await site.say("evan", "/case", reply_to="701")
    assert outcome.case_id is not None
    await site.sign_in()
    page = visible_text(await (await site.client.get(f"/cases/{outcome.case_id}")).text())
    assert "Acme Ops" in page and f"telegram:{ACME}" not in page, page
    await titled("Acme Operations", "still down", "702")
    page = visible_text(await (await site.client.get("/accounts/Acme")).text())
    assert "Acme Operations" in page, page


def test_two_clocks_moving_read_as_one_sentence_in_each_language() -> None:
    from web.render import Translator
    from web.timeline import Words, sentence

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    both = {"first_response": "2026-03-02T11:00:00+00:00", "next_response": None,
            "resolution": "2026-03-03T09:00:00+00:00"}  # fmt: skip
    said = {}
    for locale in LOCALES:
        words = Words(Translator(Catalogue(), locale), {}, ZoneInfo("UTC"), now)
        sentence({"type": "opened", "at": "x", "actor": None, "data": SAMPLES["opened"]}, words)
        said[locale] = sentence({"type": "sla_due", "at": "x", "actor": None, "data": both}, words)
    assert said["en"] == "First response due moved to 11:00 Mon; Resolution due moved to 09:00 Tue"
    # Chinese joins clauses with its own full-width semicolon
    assert ";" not in said["zh"] and "；" in said["zh"], said["zh"]


def test_a_weekday_names_one_day_only() -> None:
    """ "Mon" on a Sunday page must not stand for both last Monday and tomorrow: a
    time further than three days off carries its date."""
    from web.render import Translator, local_time

    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    t = Translator(Catalogue(), "en")
    last_monday = local_time(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), ZoneInfo("UTC"), sunday, t)
    tomorrow = local_time(datetime(2026, 3, 9, 10, 0, tzinfo=UTC), ZoneInfo("UTC"), sunday, t)
    assert tomorrow == "10:00 Mon"
    assert last_monday == "2026-03-02 10:00", last_monday
    near = local_time(datetime(2026, 3, 5, 10, 0, tzinfo=UTC), ZoneInfo("UTC"), sunday, t)
    assert near == "10:00 Thu"


def test_a_split_of_one_message_says_message_not_messages() -> None:
    from web.render import Translator
    from web.timeline import Words, sentence

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    words = Words(Translator(Catalogue(), "en"), {ENGINEER: "Evan"}, ZoneInfo("UTC"), now)
    alone = {"message": "9", "from": 4, "to": 5, "split": True, "messages": 1}
    out = {"type": "message_moved_out", "at": "x", "actor": ENGINEER, "data": alone}
    assert sentence(out, words) == "Evan split message 9 off into #5 (1 message)"
    into = {"type": "message_moved_in", "at": "x", "actor": ENGINEER, "data": alone}
    assert sentence(into, words) == "Evan split this case off #4: message 9 (1 message)"
