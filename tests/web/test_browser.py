"""Headless Chromium against the real server: sign in, open a case, act on it,
load a customer status page; a hostile message stays inert text.

Needs Debian's `chromium` package (/usr/bin/chromium) and the `playwright`
Python package; never `playwright install`. Skipped only outside CI when the
browser is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Chat, OutboxRow
from tests.harness import ACME
from tests.web.conftest import PASSWORD, Site

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> the VPN drops'

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs {CHROMIUM} (Debian package chromium) for the browser test")
    pytestmark = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium)")


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
            await page.goto(f"{base}/login?next=/outbox")
            await page.fill("input[name=name]", "lena")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/outbox")
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
