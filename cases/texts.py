"""The engine's view of the text catalogue: a Protocol. Standard library only.

The catalogue itself (English and Simplified Chinese) lives in `bot.texts`; the
engine renders through whatever it is given, so every outgoing text has one source.
"""

from __future__ import annotations

from typing import Protocol


class Texts(Protocol):
    def render(self, key: str, locale: str, /, **params: object) -> str: ...
