"""What casebot sends to Feishu/Lark, as message bodies: text split at Feishu's size
limits and interactive cards with buttons. Standard library and `cases` only.

Feishu measures a request body, not characters: a text message may be 150 KB and a
card 30 KB, and the content travels as a JSON string inside the JSON body, so every
quote and newline counts twice. The limits below leave room for the rest of the body.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cases.model import Button

TEXT_LIMIT = 150 * 1024 - 4096  # bytes of a text message's content string
CARD_LIMIT = 30 * 1024 - 4096  # bytes of a card's content string
BUTTON_VALUE = "casebot"  # the key of a button's value that holds the engine's data


def text_content(text: str) -> str:
    return json.dumps({"text": text}, ensure_ascii=False)


def _size(content: str) -> int:
    # the content string is itself encoded into the request body
    return len(json.dumps(content).encode("utf-8"))


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """The text in as few parts as fit one text message each, cut at a line break (else
    a space) when one is near enough, so no part loses a character."""
    if _size(text_content(text)) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while rest:
        if _size(text_content(rest)) <= limit:
            parts.append(rest)
            break
        # the longest prefix that fits, found by halving (sizes grow with length)
        lo, hi = 1, len(rest)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _size(text_content(rest[:mid])) <= limit:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        for sep in ("\n", " "):
            at = rest.rfind(sep, 0, lo)
            if at > lo // 2:
                cut = at + 1
                break
        parts.append(rest[:cut])
        rest = rest[cut:]
    return parts


def trim_for_card(text: str, limit: int = CARD_LIMIT) -> str:
    """A card's text cut to fit (the full text is stored), marked as cut."""
    if _size(json.dumps(text, ensure_ascii=False)) <= limit:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _size(json.dumps(text[:mid] + "…", ensure_ascii=False)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def card(text: str, buttons: Sequence[Sequence[Button]] = ()) -> dict[str, Any]:
    """An interactive card (message card JSON): the text, then one action row of buttons
    per row. `update_multi` makes an edit show for everyone in the chat, which a card
    must have to be edited at all once sent to a group."""
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "plain_text", "content": trim_for_card(text)}}
    ]
    for row in buttons:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": b.text},
                        "type": "primary" if i == 0 else "default",
                        "value": {BUTTON_VALUE: b.data},
                    }
                    for i, b in enumerate(row)
                ],
            }
        )
    return {"config": {"wide_screen_mode": True, "update_multi": True}, "elements": elements}


def card_content(text: str, buttons: Sequence[Sequence[Button]] = ()) -> str:
    return json.dumps(card(text, buttons), ensure_ascii=False)


def send_uuid(delivery_id: int, part: int = 0, step: str = "") -> str:
    """Feishu drops a second send with the same uuid within an hour: a send repeated
    after a crash (sent, not yet recorded) is not shown twice."""
    return f"casebot-{delivery_id}-{part}{'-' + step if step else ''}"
