"""The dashboard's saved answers (list, edit with CSRF, use counts), the API's list of
them, and the case page's similar resolved cases."""

from __future__ import annotations

from tests.harness import ACME
from tests.web.conftest import Site


async def test_saved_answers_are_listed_edited_and_counted(site: Site) -> None:
    case_id = await site.open_case("VM down")
    mid, _ = await site.say("evan", "Restart the agent, {customer}.", reply_to="1")
    await site.say("evan", "/save restart", reply_to=mid)
    await site.sign_in()
    page = await (await site.client.get("/snippets")).text()
    assert "restart" in page and "Restart the agent, {customer}." in page
    token = await site.csrf("/snippets")
    r = await site.client.post(
        "/snippets",
        data={
            "csrf": token,
            "name": "restart",
            "locale": "zh",
            "text": "请重启代理，{customer}。",
        },
    )
    assert r.status == 200 and "请重启代理，{customer}。" in await r.text()
    # without the form's token nothing changes
    r = await site.client.post(
        "/snippets", data={"name": "restart", "locale": "en", "text": "changed"}
    )
    assert r.status == 403
    r = await site.client.post(
        "/snippets", data={"csrf": token, "name": "Bad Name!", "locale": "en", "text": "x"}
    )
    assert "error" in await r.text()
    await site.say("evan", f"/snip restart #{case_id}", chat=ACME)
    r = await site.client.get("/api/v1/snippets", headers=site.api_headers())
    assert await r.json() == [
        {
            "name": "restart",
            "uses": 1,
            "variants": {"en": "Restart the agent, {customer}.", "zh": "请重启代理，{customer}。"},
        }
    ]
    assert (await site.client.get("/api/v1/snippets")).status == 401


async def test_the_case_page_shows_similar_resolved_cases(site: Site) -> None:
    old = await site.open_case("Disk full on the database VM")
    await site.say("evan", "Grew the volume to 200 GB.", reply_to="1")
    await site.say("evan", f"/resolve #{old}")
    new = await site.open_case("database VM disk is full again", who="bob")
    await site.sign_in()
    page = await (await site.client.get(f"/cases/{new}")).text()
    assert f'href="/cases/{old}"' in page and "Grew the volume to 200 GB." in page
    page = await (await site.client.get(f"/cases/{old}")).text()
    assert "Nothing like it resolved yet." in page
