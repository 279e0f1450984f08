"""The one-time sign-in link: opening it (as a chat app's link preview does) spends
nothing; only pressing "Sign in" (a CSRF-checked POST) spends it and signs in."""

from __future__ import annotations

from tests.web.conftest import ENGINEER, Site


async def test_opening_the_link_twice_keeps_it_valid(lite: Site) -> None:
    await lite.add_login_token(ENGINEER, "preview-me")
    for _ in range(2):  # the chat app's preview fetch, then the person's own click
        r = await lite.client.get("/login/preview-me", allow_redirects=False)
        page = await r.text()
        assert r.status == 200
        assert "cb_session=" not in str(r.headers.getall("Set-Cookie", []))
        assert '<button type="submit">Sign in</button>' in page
    assert (await lite.client.get("/queue/mine", allow_redirects=False)).status == 303
    csrf = await lite.csrf("/login/preview-me")
    r = await lite.client.post("/login/preview-me", data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/"
    assert "cb_session=" in str(r.headers.getall("Set-Cookie"))
    assert (await lite.client.get("/queue/mine")).status == 200


async def test_second_press_is_refused(lite: Site) -> None:
    await lite.add_login_token(ENGINEER, "once")
    csrf = await lite.csrf("/login/once")
    first = await lite.client.post("/login/once", data={"csrf": csrf}, allow_redirects=False)
    assert first.status == 303
    lite.client.session.cookie_jar.clear()
    csrf = await lite.csrf("/login/once")
    again = await lite.client.post("/login/once", data={"csrf": csrf}, allow_redirects=False)
    assert again.status == 403 and "not valid" in await again.text()
    assert "cb_session=" not in str(again.headers.getall("Set-Cookie", []))
    # and opening the spent link says so at once, without a button that cannot work
    opened = await lite.client.get("/login/once", allow_redirects=False)
    assert opened.status == 403 and "not valid" in await opened.text()


async def test_press_without_csrf_token_spends_nothing(lite: Site) -> None:
    await lite.add_login_token(ENGINEER, "forged")
    await lite.csrf("/login/forged")  # the browser has its nonce cookie, the form lacks the token
    r = await lite.client.post("/login/forged", data={}, allow_redirects=False)
    assert r.status == 403
    csrf = await lite.csrf("/login/forged")
    r = await lite.client.post("/login/forged", data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303, "the refused forgery left the link usable"
