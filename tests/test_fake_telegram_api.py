"""Tests for tests/fakes/telegram_api.py, driven by the real python-telegram-bot client.

The fake is only useful if PTB cannot tell it from Telegram, so every behaviour is checked
through ``telegram.Bot`` (wire format, de_json of results, error class mapping).
"""

import asyncio
import datetime as dt
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.fakes.telegram_api import FakeBotApi, parse_html, parse_markdown_v2, utf16_len

TOKEN = "123:ABC"
GROUP = -100100
FORUM = -100200
USER = 4242
REPO_ROOT = Path(__file__).resolve().parents[1]

# RetryAfter.retry_after warns about its future type change; irrelevant here.
IGNORE_PTB_DEPRECATION = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Close", callback_data="close:1")]])


@pytest.fixture
async def api():
    async with FakeBotApi(token=TOKEN) as server:
        yield server


@pytest.fixture
async def bot(api):
    async with Bot(TOKEN, base_url=api.base_url) as client:
        yield client


async def test_get_me(api, bot):
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123, True, "casebot")
    assert me.can_read_all_group_messages is False
    assert me.can_join_groups is True
    assert api.calls[0][0] == "getMe"
    assert api.call_count("getMe") == 2


async def test_wrong_token_and_unknown_method(api):
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=api.base_url):
            pass
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api.base_url}{TOKEN}/noSuchMethod") as response,
    ):
        body = await response.json()
    assert response.status == 404
    assert body["ok"] is False and body["error_code"] == 404
    assert "noSuchMethod" in body["description"]


async def test_get_updates_offset_confirms(api, bot):
    ids = [api.send_text(GROUP, USER, f"m{i}")["update_id"] for i in range(3)]

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == ids
    assert updates[0].message.text == "m0"
    assert updates[0].message.chat.id == GROUP
    assert updates[0].message.from_user.id == USER

    # Nothing is confirmed until an offset higher than the update_id arrives.
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert api.confirmed_update_id == ids[0]
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], limit=1)] == [ids[1]]
    assert await bot.get_updates(offset=ids[-1] + 1) == ()
    assert api.pending_update_count == 0

    more = [api.send_text(GROUP, USER, f"n{i}")["update_id"] for i in range(3)]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == [more[-1]]
    assert api.pending_update_count == 1


async def test_long_poll_returns_as_soon_as_an_update_arrives(api, bot):
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    update_id = api.send_text(GROUP, USER, "wake up")["update_id"]
    updates = await asyncio.wait_for(poll, 1)
    assert time.monotonic() - started < 0.5
    assert [u.update_id for u in updates] == [update_id]

    started = time.monotonic()
    assert await bot.get_updates(offset=update_id + 1, timeout=dt.timedelta(seconds=0.3)) == ()
    assert 0.25 <= time.monotonic() - started < 1.5


async def test_second_poller_terminates_the_first(api, bot):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api.base_url}{TOKEN}/getUpdates", data={"timeout": "0"}) as response,
    ):
        assert response.status == 200
    with pytest.raises(Conflict, match="(?i)terminated by other getUpdates"):
        await asyncio.wait_for(first, 1)


async def test_send_edit_pin_and_delete_state(api, bot):
    api.add_chat(GROUP, title="Acme")
    message = await bot.send_message(GROUP, "Case #1 opened", reply_markup=KEYBOARD)
    assert message.message_id == 1
    assert message.chat.title == "Acme"
    assert message.from_user.id == 123
    assert message.reply_markup == KEYBOARD
    assert api.sent[0]["text"] == "Case #1 opened"

    edited = await bot.edit_message_text("Case #1 closed", chat_id=GROUP, message_id=1)
    assert edited.text == "Case #1 closed"
    assert edited.reply_markup is None  # Telegram drops the keyboard when the edit omits it
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Case #1 closed", chat_id=GROUP, message_id=1)
    await bot.edit_message_reply_markup(GROUP, 1, reply_markup=KEYBOARD)

    assert await bot.pin_chat_message(GROUP, 1) is True
    [state] = api.messages(GROUP)
    assert state["text"] == "Case #1 closed" and state["pinned"] is True
    assert state["reply_markup"] == KEYBOARD.to_dict()
    assert api.pinned(GROUP) == [1]
    assert api.sent[0]["text"] == "Case #1 opened"  # sent keeps what was returned at send time

    chat = await bot.get_chat(GROUP)
    assert isinstance(chat, ChatFullInfo)
    assert chat.pinned_message.message_id == 1

    incoming = api.send_text(GROUP, USER, "help please")["message"]
    reply = await bot.send_message(
        GROUP, "on it", reply_parameters=ReplyParameters(incoming["message_id"])
    )
    assert reply.message_id == incoming["message_id"] + 1
    assert reply.reply_to_message.text == "help please"
    assert reply.reply_to_message.from_user.id == USER
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(GROUP, "x", reply_parameters=ReplyParameters(999))

    assert await bot.set_message_reaction(GROUP, incoming["message_id"], "👀")
    assert api.get_message(GROUP, incoming["message_id"])["bot_reaction"] == [
        {"type": "emoji", "emoji": "👀"}
    ]
    assert await bot.unpin_chat_message(GROUP) is True
    assert api.pinned(GROUP) == []
    assert await bot.delete_message(GROUP, 1) is True
    assert [m["message_id"] for m in api.messages(GROUP, from_bot=True)] == [reply.message_id]
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(GROUP, 1)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(-999, "nobody here")

    api.add_chat(GROUP, title="Acme", bot_status="member")
    with pytest.raises(BadRequest, match="(?i)not enough rights"):
        await bot.pin_chat_message(GROUP, reply.message_id)
    with pytest.raises(BadRequest, match="(?i)message can't be deleted"):
        await bot.delete_message(GROUP, incoming["message_id"])


async def test_text_validation(api, bot):
    api.add_chat(GROUP)
    for bad in (
        "<b>unclosed",
        "line<br>break",
        "1 < 2",
        "<b><i>x</b></i>",
        "</b>",
        "<span>s</span>",
    ):
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(GROUP, bad, parse_mode=ParseMode.HTML)
    assert api.sent == []

    message = await bot.send_message(
        GROUP, "<b>Case</b> &lt;42&gt; <a href='https://x.test/1'>link</a>", parse_mode="HTML"
    )
    assert message.text == "Case <42> link"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 4),
        ("text_link", 10, 4),
    ]
    assert message.entities[1].url == "https://x.test/1"

    with pytest.raises(BadRequest, match="(?i)Character '.' is reserved"):
        await bot.send_message(GROUP, "Case 1.", parse_mode=ParseMode.MARKDOWN_V2)
    ok = await bot.send_message(GROUP, r"*Case* 1\.", parse_mode=ParseMode.MARKDOWN_V2)
    assert ok.text == "Case 1." and ok.entities[0].type == "bold"

    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(GROUP, "")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(GROUP, "<b></b>", parse_mode="HTML")
    # The limit counts UTF-16 code units: an emoji outside the BMP counts twice.
    await bot.send_message(GROUP, "😀" * 2048)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(GROUP, "😀" * 2048 + "x")
    assert parse_html("<pre><code class='language-py'>x = 1</code></pre>")[1] == [
        {"type": "pre", "offset": 0, "length": 5, "language": "py"}
    ]
    assert parse_markdown_v2("[docs](https://x.test/a\\)b)")[1][0]["url"] == "https://x.test/a)b"
    assert utf16_len("a😀") == 3


@IGNORE_PTB_DEPRECATION
async def test_failure_injection(api, bot):
    api.add_chat(GROUP)
    api.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP, "flood")
    assert caught.value.retry_after in (3, dt.timedelta(seconds=3))
    assert api.sent == []  # an injected failure has no side effect
    await bot.send_message(GROUP, "after flood")

    api.fail_next("*", 500, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="(?i)Internal Server Error"):
            await bot.get_me()
    await bot.get_me()

    api.fail_for("getChat", 0.2, 403, description="Forbidden: bot was kicked")
    with pytest.raises(Forbidden, match="(?i)kicked"):
        await bot.get_chat(GROUP)
    await asyncio.sleep(0.25)
    await bot.get_chat(GROUP)

    # A late answer still lets the message through, like a real timeout.
    api.delay("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(GROUP, "slow", read_timeout=0.1)
    sent = await api.wait_sent(2, chat_id=GROUP)
    assert sent[-1]["text"] == "slow"
    api.delay("sendMessage", 0)

    with pytest.raises(
        TimeoutError, match="(?i)timed out after 0.05s waiting for 9 sent messages"
    ):
        await api.wait_sent(9, timeout=0.05)


async def test_private_chats_need_start(api, bot):
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
        await bot.send_message(555, "hi")
    api.add_private(555, first_name="Ann")
    message = await bot.send_message(555, "hi")
    assert message.chat.type == "private" and message.chat.first_name == "Ann"
    api.block(555)
    with pytest.raises(Forbidden, match="(?i)blocked by the user"):
        await bot.send_message(555, "hi again")

    # A user who wrote to the bot has started it.
    api.send_text(777, 777, "/start", first_name="Bob")
    assert (await bot.send_message(777, "welcome")).chat.id == 777


async def test_forum_topics(api, bot):
    api.add_chat(GROUP)
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await bot.create_forum_topic(GROUP, "Case 1")
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(GROUP, "x", message_thread_id=5)

    api.add_chat(FORUM, title="Support", is_forum=True)
    topic = await bot.create_forum_topic(FORUM, "Case 1")
    assert topic.name == "Case 1" and topic.icon_color == 0x6FB9F0
    in_topic = await bot.send_message(FORUM, "hello", message_thread_id=topic.message_thread_id)
    assert in_topic.is_topic_message and in_topic.message_thread_id == topic.message_thread_id
    # Telegram makes every non-reply topic message a reply to the topic's creation message.
    assert in_topic.reply_to_message.forum_topic_created.name == "Case 1"

    update = api.send_text(FORUM, USER, "customer text", thread_id=topic.message_thread_id)
    incoming = update["message"]
    assert incoming["is_topic_message"] is True
    assert incoming["reply_to_message"]["message_id"] == topic.message_thread_id

    assert await bot.close_forum_topic(FORUM, topic.message_thread_id)
    assert api.topics(FORUM)[0]["is_closed"] is True
    with pytest.raises(BadRequest, match="(?i)TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(FORUM, topic.message_thread_id)
    assert await bot.reopen_forum_topic(FORUM, topic.message_thread_id)
    assert await bot.edit_forum_topic(FORUM, topic.message_thread_id, name="Case 1 [closed]")
    assert api.topics(FORUM)[0]["name"] == "Case 1 [closed]"

    api.add_chat(FORUM - 1, is_forum=True, can_manage_topics=False)
    with pytest.raises(BadRequest, match="(?i)not enough rights to create a topic"):
        await bot.create_forum_topic(FORUM - 1, "nope")


async def test_webhook_delivery_posts_secret_and_retries(api, bot):
    received = []

    async def receiver(request):
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", receiver)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(
            f"http://127.0.0.1:{port}/hook", secret_token="s3cret", allowed_updates=["message"]
        )
        assert api.webhook["secret_token"] == "s3cret"
        update_id = api.send_text(GROUP, USER, "via webhook")["update_id"]
        await api.wait_confirmed(update_id, timeout=2)

        assert [d["status"] for d in api.webhook_deliveries] == [500, 200]
        assert [secret for secret, _ in received] == ["s3cret", "s3cret"]
        delivered = Update.de_json(received[-1][1], bot)
        assert delivered.update_id == update_id
        assert delivered.message.text == "via webhook"

        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert "500" in info.last_error_message
        assert info.allowed_updates == ("message",)
        with pytest.raises(Conflict, match="(?i)webhook is active"):
            await bot.get_updates()
    finally:
        await bot.delete_webhook()
        await runner.cleanup()
    assert await bot.get_updates() == ()


async def test_builders_and_allowed_updates(api, bot):
    api.add_chat(GROUP, title="Acme")
    bot_message = await bot.send_message(GROUP, "pick", reply_markup=KEYBOARD)

    # message_reaction is outside Telegram's default subscription.
    dropped = api.push_update(api.reaction(GROUP, USER, bot_message.message_id, "👍"))
    assert await bot.get_updates() == ()
    assert api.dropped_updates == [dropped]

    command = api.send_text(GROUP, USER, "/new@casebot printer broken", username="ann")
    api.push_update(api.edited_message(GROUP, USER, command["message"]["message_id"], "/new x"))
    api.push_update(api.reaction(GROUP, USER, bot_message.message_id, "👍"))
    api.push_update(api.callback_query(GROUP, USER, bot_message.message_id, "close:1"))
    api.push_update(api.my_chat_member(GROUP, "member", "administrator", USER))
    api.push_update(api.message(GROUP, USER, photo=True, caption="screenshot"))
    api.push_update(api.message(GROUP, USER, document="log.txt"))
    api.push_update(api.migrate(-555, -100555))

    updates = await bot.get_updates(allowed_updates=Update.ALL_TYPES)
    assert api.last_allowed_updates == list(Update.ALL_TYPES)
    cmd, edit, react, query, member, photo, document, migrate = updates
    assert cmd.message.entities[0].type == "bot_command"
    assert cmd.message.entities[0].length == utf16_len("/new@casebot")
    assert cmd.message.from_user.username == "ann"
    assert edit.edited_message.text == "/new x" and edit.edited_message.edit_date
    assert react.message_reaction.new_reaction[0].emoji == "👍"
    assert react.message_reaction.old_reaction == ()
    assert query.callback_query.data == "close:1"
    assert query.callback_query.message.reply_markup == KEYBOARD
    assert member.my_chat_member.new_chat_member.status == "administrator"
    assert photo.message.photo[-1].width == 800 and photo.message.caption == "screenshot"
    assert document.message.document.file_name == "log.txt"
    assert migrate.message.migrate_to_chat_id == -100555

    assert await bot.answer_callback_query(query.callback_query.id, text="closed")
    assert api.callback_answers[query.callback_query.id]["text"] == "closed"
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query.callback_query.id)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-555, "old group")
    assert caught.value.new_chat_id == -100555
    assert (await bot.send_message(-100555, "new group")).chat.type == "supergroup"

    api.push_update(api.my_chat_member(GROUP, "administrator", "kicked", USER))
    await bot.get_updates(offset=updates[-1].update_id + 1)
    with pytest.raises(Forbidden, match="(?i)kicked"):
        await bot.send_message(GROUP, "still here?")


async def test_chat_members_commands_and_actions(api, bot):
    api.add_chat(GROUP, owner_id=1, admins=[2])
    member = await bot.get_chat_member(GROUP, 123)
    assert isinstance(member, ChatMemberAdministrator)
    assert member.can_pin_messages and member.can_manage_topics and member.can_delete_messages
    assert isinstance(await bot.get_chat_member(GROUP, USER), ChatMemberMember)
    admins = await bot.get_chat_administrators(GROUP)
    assert [type(a) for a in admins] == [
        ChatMemberOwner,
        ChatMemberAdministrator,
        ChatMemberAdministrator,
    ]
    api.add_chat(GROUP, bot_status="member")
    assert isinstance(await bot.get_chat_member(GROUP, 123), ChatMemberMember)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.get_chat(-31337)

    assert await bot.set_my_commands([("new", "Open a case"), ("status", "Case status")])
    assert [c.command for c in await bot.get_my_commands()] == ["new", "status"]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("New-Case", "bad name")])
    assert await bot.send_chat_action(GROUP, "typing")


async def test_request_encodings(api):
    api.add_chat(GROUP)
    url = f"{api.base_url}{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"chat_id": GROUP, "text": "123", "reply_markup": markup}):
            pass
        async with http.post(url, data={"chat_id": str(GROUP), "text": "true"}):
            pass
        form = aiohttp.FormData()
        form.add_field("chat_id", str(GROUP))
        form.add_field("text", "[1, 2]")
        form.add_field(
            "reply_markup", '{"inline_keyboard": [[{"text": "B", "url": "https://x"}]]}'
        )
        form.add_field("document", b"bytes", filename="a.txt")
        async with http.post(url, data=form) as response:
            assert response.status == 200
    texts = [m["text"] for m in api.sent]
    assert texts == ["123", "true", "[1, 2]"]  # text is never JSON-decoded
    params = api.calls_to("sendMessage")
    assert params[0]["reply_markup"] == markup and params[1]["chat_id"] == GROUP
    assert params[2]["reply_markup"]["inline_keyboard"][0][0]["text"] == "B"
    assert params[2]["document"]["size"] == 5


@IGNORE_PTB_DEPRECATION
async def test_standalone_process_and_control_routes():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram_api",
        "--port",
        "0",
        "--token",
        TOKEN,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        base_url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot")
        root = base_url.removesuffix("/bot")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{root}/_fake/chat", json={"chat_id": GROUP}) as response:
                assert response.status == 200
            update = {
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": GROUP, "type": "supergroup"},
                    "text": "x",
                }
            }
            async with http.post(f"{root}/_fake/update", json=update) as response:
                assert (await response.json())["update_id"] == 1
            async with Bot(TOKEN, base_url=base_url) as bot:
                [received] = await bot.get_updates()
                assert received.message.text == "x"
                await bot.send_message(GROUP, "pong")
                async with http.post(
                    f"{root}/_fake/fail", json={"method": "sendMessage", "status": 429}
                ) as response:
                    assert response.status == 200
                with pytest.raises(RetryAfter):
                    await bot.send_message(GROUP, "flood")
            async with http.get(f"{root}/_fake/sent") as response:
                assert [m["text"] for m in await response.json()] == ["pong"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 5) == 0
