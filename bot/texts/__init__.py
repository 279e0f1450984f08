"""The text catalogue: every message the bot sends, in English and Simplified Chinese.

One catalogue, kept in a few files by subject (`core`, and one per feature) and
merged here; a key defined twice is an error. Texts are plain (adapters escape
them for their markup); parameters use `str.format` names. The chat's account
picks the locale; staff texts use `staff.locale`. A key missing in one locale
falls back to English.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

LOCALES = ("en", "zh")


def _merge() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, entry in getattr(module, "TEXTS", {}).items():
            if key in merged:
                raise RuntimeError(f"text key {key!r} defined twice (in {info.name})")
            merged[key] = entry
    return merged


CATALOGUE: dict[str, dict[str, str]] = _merge()


class Catalogue:
    """Renders texts by key and locale (`cases.texts.Texts`)."""

    def __init__(self, entries: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.entries = entries if entries is not None else CATALOGUE

    def render(self, key: str, locale: str, /, **params: object) -> str:
        entry = self.entries[key]
        template = entry.get(locale) or entry["en"]
        return template.format(**params)
