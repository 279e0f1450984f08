"""What a send puts on the wire is what PTB itself would: the Bot API objects of a send
or an edit are handed to PTB as the dicts its `to_dict` makes, and its form is quoted
as `urlencode` quotes it, byte for byte (adapters/telegram.py, telegram_http.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import telegram
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.ext import ApplicationBuilder
from telegram.request import BaseRequest

from adapters.telegram import NO_PREVIEW, NO_PREVIEW_JSON, markup_json, reply_json
from adapters.telegram_http import form_body

label = st.text(min_size=1, max_size=40)
keyboards = st.lists(st.lists(st.tuples(label, label), min_size=1, max_size=4), max_size=4)


def _ptb_json(obj: telegram.TelegramObject) -> str:
    return json.dumps(obj.to_dict())


@settings(max_examples=200, deadline=None)
@given(keyboards)
def test_a_keyboard_is_sent_as_ptb_serialises_its_markup(
    buttons: list[list[tuple[str, str]]],
) -> None:
    ours = markup_json(buttons)
    if not buttons:
        assert ours is None
        return
    markup = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in buttons]
    )
    assert json.dumps(ours) == _ptb_json(markup)


@given(st.integers(min_value=1, max_value=2**53))
def test_a_reply_is_sent_as_ptb_serialises_its_parameters(message_id: int) -> None:
    params = telegram.ReplyParameters(message_id, allow_sending_without_reply=True)
    assert json.dumps(reply_json(message_id)) == _ptb_json(params)


def test_no_preview_is_sent_as_ptb_serialises_it() -> None:
    assert json.dumps(NO_PREVIEW_JSON) == _ptb_json(telegram.LinkPreviewOptions(is_disabled=True))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.text(max_size=300), max_size=8))
def test_a_form_is_quoted_as_urlencode_quotes_it(params: dict[str, str]) -> None:
    try:
        expected = urlencode(params).encode()
    except UnicodeEncodeError:  # a lone surrogate: refused the same way
        try:
            form_body(params)
        except UnicodeEncodeError:
            return
        raise AssertionError("form_body took text urlencode refuses") from None
    assert form_body(params) == expected


class _Capture(BaseRequest):
    """A request that keeps the form body it would send and answers `true`."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: Any = None, **_: Any) -> Any:
        assert request_data is not None and not request_data.multipart_data
        self.bodies.append(form_body(request_data.json_parameters))
        return 200, b'{"ok": true, "result": {"message_id": 1, "chat": {"id": 1}}}'


texts = st.text(max_size=200) | st.sampled_from(["", "a+b&c=d%20e", "line\none\r\n", "🧯 中文 é"])


@settings(max_examples=150, deadline=None)
@given(
    text=texts,
    buttons=st.lists(st.lists(st.tuples(st.text(), st.text()), max_size=3), max_size=3),
    reply_to=st.none() | st.integers(min_value=1, max_value=2**31),
    thread=st.none() | st.integers(min_value=1, max_value=2**31),
    quiet=st.booleans(),
    edit=st.booleans(),
)
def test_a_send_through_the_adapters_bot_is_the_bytes_ptbs_objects_make(
    text: str,
    buttons: list[list[tuple[str, str]]],
    reply_to: int | None,
    thread: int | None,
    quiet: bool,
    edit: bool,
) -> None:
    """The whole way through the bot the adapter builds (an ExtBot: its defaults, its
    parameters, its form): the dicts give the body the PTB objects gave, byte for byte."""
    capture = _Capture()
    bot = (
        ApplicationBuilder()
        .token("1:a")
        .updater(None)
        .job_queue(None)
        .request(capture)
        .build()
        .bot
    )
    markup = (
        telegram.InlineKeyboardMarkup(
            [
                [telegram.InlineKeyboardButton(t, callback_data=d) for t, d in row]
                for row in buttons
            ]
        )
        if buttons
        else None
    )
    if edit:
        endpoint = "editMessageText"
        ours: dict[str, Any] = {
            "chat_id": -100,
            "message_id": 7,
            "reply_markup": markup_json(buttons),
        }
        theirs: dict[str, Any] = {"chat_id": -100, "message_id": 7, "reply_markup": markup}
    else:
        endpoint = "sendMessage"
        common = {
            "chat_id": -100,
            "message_thread_id": thread,
            "disable_notification": quiet or None,
        }
        ours = {**common, "reply_markup": markup_json(buttons)}
        theirs = {**common, "reply_markup": markup}
        if reply_to:
            ours["reply_parameters"] = reply_json(reply_to)
            theirs["reply_parameters"] = telegram.ReplyParameters(
                reply_to, allow_sending_without_reply=True
            )
    ours.update(text=text, parse_mode="HTML", link_preview_options=NO_PREVIEW_JSON)
    theirs.update(text=text, parse_mode="HTML", link_preview_options=NO_PREVIEW)

    async def both() -> None:
        await bot._post(endpoint, ours)
        await bot._post(endpoint, theirs)

    asyncio.run(both())
    assert capture.bodies[0] == capture.bodies[1]
