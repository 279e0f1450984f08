"""What config declares about cases: fields (`[[fields]]`) and intake categories with
their questions (`[[intake.categories]]`), and how a value is checked against them.
Standard library and `cases` only; `bot.config` builds these from the file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from cases.commands import parse_number
from cases.records import CaseRecord
from cases.texts import Texts

FieldType = Literal["text", "number", "choice", "pattern"]
FIELD_TYPES: tuple[str, ...] = ("text", "number", "choice", "pattern")
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,49}")
MAX_VALUE = 500


@dataclass(frozen=True)
class FieldSpec:
    """One `[[fields]]` declaration. `accounts`/`categories` empty: every case."""

    name: str
    type: FieldType = "text"
    label: str = ""
    label_zh: str = ""
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    required: bool = False
    accounts: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    def applies(self, account: str | None, category: str | None) -> bool:
        if self.accounts and account not in self.accounts:
            return False
        return not self.categories or category in self.categories

    def shown(self, locale: str) -> str:
        return (self.label_zh if locale == "zh" and self.label_zh else self.label) or self.name


def check_value(
    kind: str, value: str, choices: Sequence[str] = (), pattern: str | None = None
) -> str | None:
    """The value as stored (a choice in its declared spelling), or None when it does
    not fit the rule. A checked value is compared in its NFKC form, so that a Chinese
    keyboard's full-width `ＩＮＶ－４２` is the `INV-42` it looks like, and stored so."""
    value = " ".join(value.split())
    if not value or len(value) > MAX_VALUE:
        return None
    if choices or kind == "number" or pattern is not None:
        value = plain(value)
    if choices:
        lowered = value.casefold()
        found = [c for c in choices if c.casefold() == lowered]
        position = parse_number(value)
        if not found and position is not None and 1 <= position <= len(choices):
            found = [choices[position - 1]]  # a numbered choice answered by number
        return found[0] if found else None
    if kind == "number":
        try:
            number = Decimal(value.replace(",", "."))
        except InvalidOperation:
            return None
        return value if number.is_finite() else None
    if pattern is not None:
        return value if re.fullmatch(pattern, value) else None
    return value


def plain(text: str) -> str:
    """Full-width letters, digits and signs as their ASCII selves."""
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class Question:
    """One question: the answer is stored in case field `field`. `choices` or
    `pattern` check it; without either, a `[[fields]]` declaration of the field does."""

    field: str
    ask: str
    ask_zh: str = ""
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    hint: str = ""
    hint_zh: str = ""

    def text(self, locale: str) -> str:
        return self.ask_zh if locale == "zh" and self.ask_zh else self.ask

    def hint_text(self, locale: str) -> str:
        return self.hint_zh if locale == "zh" and self.hint_zh else self.hint


@dataclass(frozen=True)
class Category:
    name: str
    label: str = ""
    label_zh: str = ""
    keywords: tuple[str, ...] = ()
    accounts: frozenset[str] = frozenset()
    questions: tuple[Question, ...] = ()

    def shown(self, locale: str) -> str:
        return (self.label_zh if locale == "zh" and self.label_zh else self.label) or self.name

    def names(self) -> set[str]:
        return {w.casefold() for w in (self.name, self.label, self.label_zh) if w}


@dataclass(frozen=True)
class IntakeRules:
    categories: tuple[Category, ...] = ()
    # no keyword matched: ask the customer which category it is
    ask_category: bool = True

    def for_account(self, account: str | None) -> list[Category]:
        return [c for c in self.categories if not c.accounts or account in c.accounts]


def by_keywords(categories: Sequence[Category], text: str) -> Category | None:
    """The first category (in config order) one of whose keywords the text holds."""
    lowered = plain(text).casefold()
    for category in categories:
        if any(plain(k).casefold() in lowered for k in category.keywords):
            return category
    return None


def by_answer(categories: Sequence[Category], answer: str) -> Category | None:
    """The category a customer's answer names: its number in the list, its name or
    label, or failing those one of its keywords."""
    answer = " ".join(plain(answer).split()).casefold()
    number = parse_number(answer) if answer.isdigit() else None
    if number is not None and 1 <= number <= len(categories):
        return categories[number - 1]
    named = [c for c in categories if answer in c.names()]
    return named[0] if named else by_keywords(categories, answer)


def card_line(texts: Texts, locale: str, case: CaseRecord, specs: Sequence[FieldSpec]) -> str:
    """The card's line of tags, category and fields; "" when the case has none."""
    labels = {s.name: s.shown(locale) for s in specs}
    parts = []
    if case.category:
        parts.append(texts.render("card_category", locale, category=case.category))
    parts.extend(f"{labels.get(k, k)}: {v}" for k, v in case.fields.items())
    if case.tags:
        parts.append(" ".join(f"#{t}" for t in case.tags))
    return " · ".join(parts)


def applicable(
    specs: Iterable[FieldSpec], account: str | None, category: str | None
) -> list[FieldSpec]:
    return [s for s in specs if s.applies(account, category)]


def missing_required(
    specs: Iterable[FieldSpec], case: CaseRecord, account: str | None
) -> list[FieldSpec]:
    return [
        s
        for s in applicable(specs, account, case.category)
        if s.required and not case.fields.get(s.name)
    ]
