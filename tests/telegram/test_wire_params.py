"""What a send puts on the wire is what PTB itself would: the Bot API objects of a send
or an edit are handed to PTB as the dicts its `to_dict` makes, and its form is quoted
as `urlencode` quotes it, byte for byte (adapters/telegram.py, telegram_http.py)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import telegram
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.telegram import NO_PREVIEW_JSON, markup_json, reply_json
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
