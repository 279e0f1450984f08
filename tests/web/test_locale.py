"""The dashboard in Chinese: which locale a page speaks (the sign-in's, the person's, the
browser's, the desk's), every template's words from the catalogue (the keys templates use
are checked in both languages by `tests/engine/test_texts.py`), and every page rendered in
zh-CN with no English label left."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.texts import CATALOGUE
from storage.models import Chat, OutboxRow
from tests.harness import GLOBEX
from tests.web.conftest import ENGINEER, PASSWORD, Site, make_site
from web.auth import hash_password
from web.locale import from_accept_language, html_lang

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
# attributes a person reads
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "data-confirm", "data-label", "alt"}
# words a template may hold as they are: the product's name and markup-only values
ALLOWED_WORDS = {"casebot"}


class _Words(HTMLParser):
    """Text nodes and read attributes of a page, each stripped."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.found += [v.strip() for k, v in attrs if k in READ_ATTRIBUTES and v and v.strip()]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.found.append(data.strip())


def words_of(html: str) -> list[str]:
    parser = _Words()
    parser.feed(html)
    return parser.found


def _templates() -> Iterator[Path]:
    return iter(sorted(TEMPLATES.glob("*.html")))


@pytest.mark.parametrize("template", list(_templates()), ids=lambda p: p.name)
def test_no_template_holds_a_bare_english_word(template: Path) -> None:
    """Every word a person reads comes through `t()`: with the Jinja parts taken out,
    no text node or read attribute of a template holds a Latin word."""
    source = template.read_text()
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    # a block that fills a class attribute holds a class name, no words
    source = re.sub(r"\{% block \w+_class %\}.*?\{% endblock %\}", "", source)
    source = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
    left = [
        (text, word)
        for text in words_of(source)
        for word in re.findall(r"[A-Za-z]{2,}", text)
        if word not in ALLOWED_WORDS and not text.startswith("/")  # a path shown as such
    ]
    assert left == [], left


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh", "zh"),
        ("zh-Hans", "zh"),
        ("ZH-cn", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR, zh-CN;q=0.5, en;q=0.4", "zh"),
        ("en;q=0.3, zh-CN;q=0.7", "zh"),
        ("zh-CN;q=0, en", "en"),  # q=0: not this one
        ("zh-TW, en;q=0.5", "en"),  # Traditional Chinese is another language
        ("zh-CN;q=abc, en;q=0.1", "en"),
        ("zh-CN;q=2, en;q=0.1", "en"),  # q beyond 1 is no valid weight
        ("en;q=0.5, zh;q=0.5", "en"),  # a tie goes to the one named first
        ("fr, de", None),
        ("*", None),
        ("", None),
        (None, None),
    ],
)
def test_accept_language(header: str | None, locale: str | None) -> None:
    assert from_accept_language(header) == locale


def test_html_lang() -> None:
    assert html_lang("zh") == "zh-CN" and html_lang("en") == "en"


async def _lang(site: Site, path: str, accept: str | None = None) -> str:
    headers = {"Accept-Language": accept} if accept else {}
    page = await (await site.client.get(path, headers=headers)).text()
    match = re.search(r'<html lang="([^"]+)"', page) or re.search(r"<html lang='([^']+)'", page)
    assert match, page[:300]
    return match.group(1)


async def test_the_browser_picks_the_language_of_the_sign_in_page(sqlite_url: str) -> None:
    async for site in make_site(sqlite_url):
        assert await _lang(site, "/login") == "en"
        assert await _lang(site, "/login", "zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
        page = await (await site.client.get("/login", headers={"Accept-Language": "zh"})).text()
        assert "登录 casebot" in page and "Sign in to casebot" not in page
        assert await _lang(site, "/no/such/page", "zh-CN") == "zh-CN"
        missing = await (await site.client.get("/nope", headers={"Accept-Language": "zh"})).text()
        assert "未找到" in missing and "Not Found" not in missing


async def test_a_persons_own_locale_beats_the_browser(sqlite_url: str) -> None:
    """Lena's sign-in says zh-CN: her pages are Chinese whatever her browser asks; Evan has
    none, so his browser decides, and the desk's `staff.locale` when it says nothing
    (English unless set: issue 12's "else English")."""
    users = [
        {
            "name": "lena",
            "person": "telegram:2001",
            "password_hash": hash_password(PASSWORD, iterations=1000),
            "locale": "zh-CN",
        },
        {
            "name": "evan",
            "person": "telegram:1001",
            "password_hash": hash_password(PASSWORD, iterations=1000),
        },
    ]
    async for site in make_site(sqlite_url, users=users):
        await site.sign_in("lena")
        assert await _lang(site, "/queue/mine", "en-US,en;q=0.9") == "zh-CN"
    async for site in make_site(sqlite_url, users=users, staff={"locale": "zh"}):
        await site.sign_in("evan")
        assert await _lang(site, "/queue/mine", "en-US") == "en"
        assert await _lang(site, "/queue/mine") == "zh-CN"
    async for site in make_site(sqlite_url, users=users):
        await site.sign_in("evan")
        assert await _lang(site, "/queue/mine") == "en"


async def test_a_staff_persons_locale_counts_for_every_sign_in_of_theirs(sqlite_url: str) -> None:
    people = [{"name": "Lena", "ids": ["telegram:2001"], "locale": "zh"}]
    async for site in make_site(sqlite_url, staff={"people": people}):
        await site.sign_in("lena")
        assert await _lang(site, "/accounts", "en") == "zh-CN"


# the catalogue's English texts (a page may show any of them, not only the `desk_` ones):
# none may be left on a Chinese page
ENGLISH = {
    entry["en"]
    for key, entry in CATALOGUE.items()
    if entry["en"] != entry["zh"] and re.search("[a-z]{2}", entry["en"])
} - ALLOWED_WORDS
# a Chinese page's text nodes may hold Latin words that are data only: the fixture's
# names, accounts, tiers, field names and values, an issue key, and the abbreviations the
# Chinese texts use themselves
DATA_WORDS = {
    *("casebot", "lena", "Lena", "Evan", "erin", "Alice", "Acme", "Globex", "premium"),
    *("standard", "instance", "Region", "eu", "west", "cn", "north", "acme", "api"),
    *("https", "github", "com", "issues", "issue", "telegram", "INC", "CSV", "SLA", "UTC"),
    *("CSAT", "kicked", "from", "the", "group"),  # the outbox row's last error, data
}
FIELDS = [
    {"name": "instance", "type": "pattern", "pattern": "i-[0-9a-f]+", "required": True},
    {"name": "region", "type": "choice", "choices": ["eu-west", "cn-north"], "label": "Region"},
]


async def _pages(site: Site) -> list[str]:
    case_id = await site.open_case("虚拟机无法启动")
    await site.open_case("账单导出为空", chat=GLOBEX)
    api = site.api_headers("telegram:1001")
    url = "https://github.com/acme/api/issues/42"
    r = await site.client.post(f"/api/v1/cases/{case_id}/links", headers=api, json={"url": url})
    assert r.status == 200, await r.text()
    r = await site.client.post("/api/v1/incidents", headers=api, json={"title": "华东区故障"})
    assert r.status == 200, await r.text()
    async with site.app.sessions() as session, session.begin():
        token = (
            await session.execute(select(Chat.status_token).where(Chat.chat == GLOBEX))
        ).scalar_one()
        row = (await session.execute(select(OutboxRow).limit(1))).scalar_one()
        row.status, row.last_error = "dead", "kicked from the group"
    # an incident with an update: its list and its war room
    staff = site.api_headers(ENGINEER)
    started = await site.client.post(
        "/api/v1/incidents", json={"title": "网络故障"}, headers=staff
    )
    assert started.status == 200, await started.text()
    incident = (await started.json())["id"]
    await site.client.post(
        f"/api/v1/incidents/{incident}/updates", json={"text": "正在切换"}, headers=staff
    )
    await site.sign_in()
    return [
        "/incidents",
        f"/incidents/{incident}",
        "/queue/mine",
        "/queue/active",
        "/queue/breached",
        f"/cases/{case_id}",
        "/accounts",
        "/accounts/Acme",
        "/accounts/Acme/review",
        "/search?q=虚拟机",
        "/outbox",
        "/cases/999999",
        f"/status/{token}",
        "/incidents",
        "/incidents/1",
        "/incidents/99",
    ]


def latin_words(html: str) -> list[str]:
    return [
        w
        for text in words_of(html)
        for w in re.findall(r"[A-Za-z]{2,}", text)
        if w not in DATA_WORDS and not text.startswith("/status/")
    ]


async def test_every_page_in_chinese_leaves_no_english_label(sqlite_url: str) -> None:
    sections = {"fields": FIELDS, "trackers": {"github": {"webhook_secret": "s" * 16}}}
    accounts = {"Globex": {"locale": "zh"}}
    async for site in make_site(sqlite_url, accounts=accounts, sections=sections):
        for path in await _pages(site):
            response = await site.client.get(path, headers={"Accept-Language": "zh-CN"})
            html = await response.text()
            assert '<html lang="zh-CN">' in html or "<html lang='zh-CN'>" in html, path
            left = [w for w in words_of(html) if w in ENGLISH]
            assert left == [], (path, left)
            if path != "/outbox":  # the outbox shows the messages themselves: data
                assert latin_words(html) == [], (path, latin_words(html))
        # the incident forms' answers speak Chinese too
        csrf = await site.csrf("/incidents")
        zh = {"Accept-Language": "zh-CN"}
        for path, data in [
            ("/incidents", {"title": "数据库故障"}),
            ("/incidents", {"title": ""}),
            ("/incidents/1", {"kind": "update", "text": "正在切换"}),
            ("/incidents/1", {"kind": "bogus"}),
        ]:
            r = await site.client.post(path, data={"csrf": csrf, **data}, headers=zh)
            html = await r.text()
            flash = [w for w in words_of(html) if "完成" in w or "已" in w[:3]]
            assert latin_words(html) == [], (path, data, latin_words(html), flash)
        # a flash after an action speaks Chinese too
        csrf = await site.csrf("/queue/mine")
        response = await site.client.post(
            "/cases/1/act",
            data={"csrf": csrf, "kind": "priority", "priority": "P2"},
            headers={"Accept-Language": "zh-CN"},
        )
        page = await response.text()
        assert "已完成。" in page and "Done." not in page
        # and so does a refusal: the engine's reason from the catalogue, not its English
        for data in [
            {"kind": "priority", "priority": "P9"},
            {"kind": "assign", "assignee": "telegram:99999"},
            {"kind": "followup", "due_in": "soon", "text": "回访"},
            {"kind": "tags", "tags": "a" * 60},
            {"kind": "status", "status": "new"},
            {"kind": "merge", "into": ""},
        ]:
            r = await site.client.post(
                "/cases/1/act", data={"csrf": csrf, **data}, headers={"Accept-Language": "zh-CN"}
            )
            html = await r.text()
            assert "未完成：" in html, (data, latin_words(html))
            assert latin_words(html) == [], (data, latin_words(html))


async def test_field_labels_follow_the_page_not_the_triage_chat(sqlite_url: str) -> None:
    """A field's `label_zh` is what a Chinese page shows, whatever `staff.locale` says."""
    fields = [{"name": "region", "type": "text", "label": "Region", "label_zh": "地域"}]
    async for site in make_site(sqlite_url, sections={"fields": fields}):
        case_id = await site.open_case("虚拟机无法启动")
        await site.sign_in()
        zh = await (
            await site.client.get(f"/cases/{case_id}", headers={"Accept-Language": "zh"})
        ).text()
        en = await (
            await site.client.get(f"/cases/{case_id}", headers={"Accept-Language": "en"})
        ).text()
        assert "地域" in words_of(zh) and "Region" not in words_of(zh)
        assert "Region" in words_of(en)
