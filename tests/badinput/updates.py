"""Hypothesis strategies for Telegram updates, from plausible to hostile.

`updates()` mixes three kinds: arbitrary JSON shapes (anything at all under an
update's keys), near-valid updates with one part missing or of the wrong type, and
valid updates carrying hostile content (huge texts, control and bidi characters,
unpaired surrogates, unknown update types). `valid_message()` makes the plausible
ones only, for tests that check what got stored.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.harness import ACME, GLOBEX, TRIAGE

CHATS = [int(ACME), int(GLOBEX), int(TRIAGE), -100404]
USERS = [1001, 2001, 5001, 5002, 6001, 777]
UPDATE_KEYS = [
    "message",
    "edited_message",
    "message_reaction",
    "callback_query",
    "my_chat_member",
    "channel_post",
    "business_message",
    "poll",
    "chat_join_request",
    "unknown_future_update",
]

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=25,
)

CONTROL = "".join(chr(c) for c in range(0x20)) + "\x7f"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
hostile_char = st.sampled_from(list(CONTROL + BIDI + "<>&\"'/#@\u2060\ufeff")) | st.characters()
hostile_text = st.one_of(
    st.text(hostile_char, max_size=60),
    st.builds(
        lambda ch, n: ch * n,
        st.sampled_from(["A", "界", "😀", "\u202e", "<b>"]),
        st.integers(4000, 20_000),
    ),  # fmt: skip
    st.builds(lambda t: "/" + t, st.text(hostile_char, max_size=40)),
    st.sampled_from(
        ["/new", "/case", "/status #1", "/resolve #2", "/new@casebot x", "/help@other"]
    ),
)
# Telegram's own limits on names and titles; the text itself is unlimited here
name_text = st.text(hostile_char, max_size=64)


def _user(user_id: int, name: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name, "username": f"u{user_id}"}


def _chat(chat_id: int, title: str) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": title}


@st.composite
def valid_message(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed `message` update with hostile content (ids are set by the test)."""
    chat = draw(st.sampled_from(CHATS))
    message: dict[str, Any] = {
        "message_id": 0,
        "date": draw(st.integers(0, 2**32)),
        "chat": _chat(chat, draw(st.text(hostile_char, max_size=128))),
        "from": _user(draw(st.sampled_from(USERS)), draw(name_text)),
        "text": draw(hostile_text),
    }
    if draw(st.booleans()):
        message["reply_to_message"] = {
            "message_id": draw(st.integers(1, 50)),
            "date": 0,
            "chat": message["chat"],
        }
    return {"update_id": 0, "message": message}


@st.composite
def broken_update(draw: st.DrawFn) -> dict[str, Any]:
    """A valid-looking update with one part removed or replaced by any JSON value."""
    update = draw(valid_message())
    kind = draw(st.sampled_from(["message", "edited_message", "callback_query"]))
    if kind == "callback_query":
        update = {
            "update_id": 0,
            "callback_query": {
                "id": "q",
                "from": update["message"]["from"],
                "chat_instance": "c",
                "message": update["message"],
                "data": draw(st.text(hostile_char, max_size=64)),
            },
        }
    elif kind == "edited_message":
        update = {"update_id": 0, "edited_message": {**update["message"], "edit_date": 1}}
    target = update[kind]
    path = draw(st.sampled_from(sorted(target)))
    if draw(st.booleans()):
        del target[path]
    else:
        target[path] = draw(json_value)
    return update


@st.composite
def random_shape(draw: st.DrawFn) -> Any:
    """Anything: an update id (or not) and arbitrary JSON under update keys."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_value)  # not even an object, sometimes
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        body["update_id"] = draw(st.integers(-(2**31), 2**31) | json_leaf)
    for key in draw(st.lists(st.sampled_from(UPDATE_KEYS), max_size=2, unique=True)):
        body[key] = draw(json_value)
    return body


def updates() -> st.SearchStrategy[Any]:
    return st.one_of(random_shape(), broken_update(), valid_message())
