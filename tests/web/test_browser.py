"""Headless Chromium against the real server: sign in, open a case, act on it,
load a customer status page; a hostile message stays inert text; the desk on a
phone (folded navigation, nothing wider than 390 px) and its warning colours; every
page in zh-CN, drawn in a CJK font.

Needs Debian's `chromium` package (/usr/bin/chromium), a CJK font (`fonts-noto-cjk`;
`scripts/test.sh` installs both when root) and the `playwright` Python package; never
`playwright install`. Skipped only outside CI when the browser is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Chat, OutboxRow
from tests.harness import ACME
from tests.web.conftest import ENGINEER, PASSWORD, Site, make_site
from tests.web.test_desk import DownAdapter

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> the VPN drops'

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs {CHROMIUM} (Debian package chromium) for the browser test")
    pytestmark = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium)")


def _has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(
        ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30
    )
    return bool(listed.stdout.strip())


@pytest.mark.slow
async def test_dashboard_in_a_real_browser(lite: Site, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    case_id = await lite.open_case(HOSTILE)
    await lite.open_case("billing export is empty")
    base = str(lite.client.make_url("/")).rstrip("/")
    shots = Path(os.environ.get("CASEBOT_SCREENSHOTS", tmp_path))
    async with lite.app.sessions() as session:
        token = (
            await session.execute(select(Chat.status_token).where(Chat.chat == ACME))
        ).scalar_one()
    dialogs: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 860})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            await page.goto(f"{base}/queue/active")
            assert "/login" in page.url
            await page.fill("input[name=name]", "lena")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/queue/active")
            await page.screenshot(path=str(shots / "dashboard.png"))
            await page.click(f"a[href='/cases/{case_id}'] >> nth=0")
            await page.wait_for_url(f"{base}/cases/{case_id}")
            assert await page.evaluate("window.pwned") is None
            assert "<script>window.pwned=2</script>" in await page.inner_text(".messages")

            await page.select_option("select[name=assignee]", "telegram:1001")
            await page.click("form:has(input[value=assign]) button")
            await page.wait_for_selector("p.flash")
            assert "Done." in await page.inner_text("p.flash")
            assert "assignee Evan" in await page.inner_text("p.meta")
            await page.fill("textarea[name=text]", "customer uses split tunnelling")
            await page.click("form.note button")
            await page.wait_for_selector(".msg.internal")
            assert "split tunnelling" in await page.inner_text(".msg.internal")
            await page.screenshot(path=str(shots / "case.png"), full_page=True)

            status = await browser.new_page(viewport={"width": 390, "height": 800})
            await status.goto(f"{base}/status/{token}")
            text = await status.inner_text("main")
            assert f"#{case_id}" in text and "billing export is empty" in text
            assert "split tunnelling" not in text and "Evan" not in text
            assert await status.evaluate("window.pwned") is None
            await status.screenshot(path=str(shots / "status.png"), full_page=True)
        finally:
            await browser.close()
    assert dialogs == []


@pytest.mark.slow
async def test_outbox_retry_and_error_on_a_phone(lite: Site, tmp_path: Path) -> None:
    """The queue table drops columns on narrow screens; the outbox table must not: its
    Retry button and last error are what the page is for."""
    from playwright.async_api import async_playwright

    await lite.open_case("VM down")
    async with lite.app.sessions() as session, session.begin():
        row = (await session.execute(select(OutboxRow).limit(1))).scalar_one()
        row.status, row.last_error = "dead", "Forbidden: bot was kicked from the group"
    base = str(lite.client.make_url("/")).rstrip("/")
    shots = Path(os.environ.get("CASEBOT_SCREENSHOTS", tmp_path))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await _sign_in(page, base, "/outbox")
            await page.screenshot(path=str(shots / "outbox-phone.png"), full_page=True)
            retry = page.locator("form[action='/outbox/retry'] button", has_text="Retry").last
            assert await retry.is_visible()
            box = await retry.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            assert await page.locator("td.error-text").first.is_visible()
            assert "kicked from the group" in await page.inner_text("td.error-text")
            await retry.click()
            await page.wait_for_selector("p.flash")
            assert "1 row(s) queued again" in await page.inner_text("p.flash")

            # the queue still drops its account and updated columns on a phone
            await page.goto(f"{base}/queue/active")
            assert await page.locator("table.cases th", has_text="Status").is_visible()
            assert not await page.locator("table.cases th", has_text="Account").is_visible()
            # other tables keep their last column: the account page's renew button
            await page.goto(f"{base}/accounts/Acme")
            renew = page.locator("button", has_text="Revoke and renew link").first
            assert await renew.is_visible()
        finally:
            await browser.close()


RED = "rgb(217, 45, 32)"  # --bad in app.css


@pytest.mark.slow
async def test_the_desk_on_a_phone_reads_at_a_glance(sqlite_url: str, tmp_path: Path) -> None:
    """At 390 px: the navigation folds behind a menu button and no page scrolls
    sideways; the adapter banner and a breach are red; a refusal is styled apart
    from "Done"."""
    from playwright.async_api import async_playwright

    from scheduler.sweeper import Sweeper

    shots = Path(os.environ.get("CASEBOT_SCREENSHOTS", tmp_path))
    async for site in make_site(sqlite_url, adapters={"fake": DownAdapter()}):
        late = await site.open_case("VM down after the maintenance window, all regions")
        await site.open_case("billing export is empty")
        site.clock.advance(timedelta(hours=2))
        await Sweeper(site.app.sessions, site.app.engine, site.app.caches).tick(site.clock.now())
        base = str(site.client.make_url("/")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                await _sign_in(page, base, "/queue/active")
                menu = page.locator("button.menu")
                assert await menu.is_visible()
                assert not await page.locator("#nav").is_visible()
                await page.screenshot(path=str(shots / "queue-phone.png"), full_page=True)
                await menu.click()
                assert await page.locator("#nav a", has_text="Accounts").is_visible()
                assert await menu.get_attribute("aria-expanded") == "true"

                banner = page.locator("p.banner.down")
                assert "fake not taking messages" in await banner.inner_text()
                assert await _background(banner) == RED
                breach = page.locator(f"tr:has(a[href='/cases/{late}']) .badge.breach")
                assert re.fullmatch(r"breached 2 h \d+ min ago", await breach.inner_text())
                assert await _background(breach) == RED

                for path in ("/queue/active", "/accounts", "/accounts/Acme",
                             "/accounts/Acme/review", f"/cases/{late}", "/outbox"):  # fmt: skip
                    await page.goto(f"{base}{path}")
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= 390, (path, width)
                    name = path.strip("/").replace("/", "-")
                    await page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)

                await page.goto(f"{base}/cases/{late}")
                await page.fill("input[name=due_in]", "soon")
                await page.fill("form:has(input[value=followup]) input[name=text]", "ring them")
                await page.click("form:has(input[value=followup]) button")
                refusal = page.locator("p.flash.error")
                await refusal.wait_for()
                assert "Not done" in await refusal.inner_text()
                refused = await _background(refusal), await _color(refusal)
                await page.select_option("select[name=priority]", "P2")
                await page.click("form:has(input[value=priority]) button")
                done = page.locator("p.flash.ok")
                await done.wait_for()
                assert "Done." in await done.inner_text()
                # a refusal in red on pink, "Done" in green on green
                assert refused == ("rgb(254, 243, 242)", "rgb(180, 35, 24)"), refused
                assert (await _background(done), await _color(done)) == (
                    "rgb(236, 253, 243)",
                    "rgb(6, 118, 71)",
                )

                wide = await browser.new_page(viewport={"width": 1280, "height": 800})
                await wide.context.add_cookies(await page.context.cookies())
                await wide.goto(f"{base}/queue/active")
                assert await wide.locator("#nav").is_visible()
                assert not await wide.locator("button.menu").is_visible()
            finally:
                await browser.close()


async def _sign_in(page: Any, base: str, path: str) -> None:
    """Sign in as Lena through the form, landing on `path`."""
    await page.goto(f"{base}/login?next={path}")
    await page.fill("input[name=name]", "lena")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{path}")


async def _background(locator: Any) -> str:
    return str(await locator.evaluate("e => getComputedStyle(e).backgroundColor"))


async def _color(locator: Any) -> str:
    return str(await locator.evaluate("e => getComputedStyle(e).color"))


LONG_URL = "https://status.example.com/incidents/2026/03/02/" + "a" * 60


@pytest.mark.slow
async def test_long_words_do_not_widen_a_page_on_a_phone(lite: Site, tmp_path: Path) -> None:
    """A link pasted into a follow-up or a message is one unbreakable word: it wraps
    instead of making the case page (and the search) scroll sideways at 390 px."""
    from playwright.async_api import async_playwright

    case_id = await lite.open_case(f"VM down, see {LONG_URL}")
    await lite.say("evan", f"/followup #{case_id} 1h ring them about {LONG_URL}")
    await lite.say("evan", f"/note #{case_id} see {LONG_URL}")
    base = str(lite.client.make_url("/")).rstrip("/")
    shots = Path(os.environ.get("CASEBOT_SCREENSHOTS", tmp_path))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await _sign_in(page, base, f"/cases/{case_id}")
            for path in (f"/cases/{case_id}", "/search?q=incidents", "/queue/active"):
                await page.goto(f"{base}{path}")
                width = await page.evaluate("document.documentElement.scrollWidth")
                name = path.strip("/").replace("/", "-").replace("?", "-")
                await page.screenshot(path=str(shots / f"long-{name}.png"), full_page=True)
                assert width <= 390, (path, width)
        finally:
            await browser.close()


# what a Chinese page must show, per page: its own words, never the English ones
ZH_PAGES = {
    "/queue/mine": ("我的", "队列"),
    "/queue/active": ("全部活跃", "负责人"),
    "/accounts": ("客户", "周报"),
    "/accounts/Acme": ("每周工单", "作废并更换链接"),
    "/accounts/Acme/review": ("每周服务回顾", "打印"),
    "/search?q=虚拟机": ("搜索消息", "条消息"),
    "/outbox": ("发送失败", "待发送"),
    "/incidents": ("故障", "开始故障通报"),
    "/incidents/1": ("进展", "谁在何时收到了什么"),
}
ENGLISH_LABELS = ("Queues", "Accounts", "Search", "Outbox", "Sign out", "Assign", "Status")


@pytest.mark.slow
async def test_the_desk_in_chinese_in_a_real_browser(sqlite_url: str, tmp_path: Path) -> None:
    """A browser asking for zh-CN: the sign-in page, every dashboard page, a case with
    its actions, a Chinese customer's status page; `<html lang="zh-CN">`, no English
    label, and the glyphs drawn by a CJK font (not the boxes of a missing one)."""
    from playwright.async_api import async_playwright

    if not _has_cjk_font():
        if os.environ.get("CI"):
            raise RuntimeError("CI needs a CJK font (Debian package fonts-noto-cjk)")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    shots = Path(os.environ.get("CASEBOT_SCREENSHOTS", tmp_path))
    async for site in make_site(sqlite_url, accounts={"Globex": {"locale": "zh"}}):
        case_id = await site.open_case("虚拟机无法启动，控制台报错 “磁盘已满”")
        await site.open_case("账单导出为空", chat="-100200")
        started = await site.client.post(
            "/api/v1/incidents", json={"title": "网络故障"}, headers=site.api_headers(ENGINEER)
        )
        assert started.status == 200, await started.text()
        async with site.app.sessions() as session:
            token = (
                await session.execute(select(Chat.status_token).where(Chat.chat == "-100200"))
            ).scalar_one()
        base = str(site.client.make_url("/")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = await browser.new_context(
                    locale="zh-CN", viewport={"width": 1280, "height": 860}
                )
                page = await context.new_page()
                await page.goto(f"{base}/login?next=/queue/mine")
                assert await page.evaluate("document.documentElement.lang") == "zh-CN"
                assert "登录 casebot" in await page.inner_text("h1")
                await page.screenshot(path=str(shots / "zh-login.png"))
                await page.fill("input[name=name]", "lena")
                await page.fill("input[name=password]", PASSWORD)
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{base}/queue/mine")
                for path, words in ZH_PAGES.items():
                    await page.goto(f"{base}{path}")
                    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
                    text = await page.inner_text("body")
                    assert all(w in text for w in words), (path, words, text[:400])
                    # labels, not data: a pending row's text may be an English chat's
                    labels = " ".join(
                        await page.locator("nav, th, button, label, h1, h2, dt").all_inner_texts()
                    )
                    left = [w for w in ENGLISH_LABELS if re.search(rf"\b{w}\b", labels)]
                    assert left == [], (path, left)
                    name = path.strip("/").replace("/", "-").split("?")[0]
                    await page.screenshot(path=str(shots / f"zh-{name}.png"), full_page=True)

                await page.goto(f"{base}/cases/{case_id}")
                await page.fill("input[name=due_in]", "2天")
                await page.fill("form:has(input[value=followup]) input[name=text]", "回访客户")
                await page.click("form:has(input[value=followup]) button")
                await page.wait_for_selector("p.flash")
                assert "已完成" in await page.inner_text("p.flash")
                assert "回访客户" in await page.inner_text("body")
                await page.screenshot(path=str(shots / "zh-case.png"), full_page=True)
                assert await _drawn_in_a_cjk_font(page, "h1")

                status = await context.new_page()
                await status.goto(f"{base}/status/{token}")
                assert await status.evaluate("document.documentElement.lang") == "zh-CN"
                assert "处理中的请求" in await status.inner_text("main")
                await status.screenshot(path=str(shots / "zh-status.png"), full_page=True)
            finally:
                await browser.close()


async def _drawn_in_a_cjk_font(page: Any, selector: str) -> bool:
    """Whether the browser has a font for the element's Chinese: a string of ideographs
    drawn in the page's font is as wide as in a known CJK family, where a missing font
    would draw the fallback boxes (or nothing) at other widths."""
    return bool(
        await page.evaluate(
            """selector => {
                const el = document.querySelector(selector);
                const font = getComputedStyle(el).font;
                const ctx = document.createElement("canvas").getContext("2d");
                const text = "工单处理中的请求";
                ctx.font = font;
                const page = ctx.measureText(text).width;
                ctx.font = font.replace(/[^ ]+$/, '"Noto Sans CJK SC"');
                const cjk = ctx.measureText(text).width;
                return document.fonts.check('16px "Noto Sans CJK SC"', text)
                    && page > 0 && Math.abs(page - cjk) < 1;
            }""",
            selector,
        )
    )
