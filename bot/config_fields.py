"""Config sections of case fields (`[[fields]]`) and intake questions (`[intake]`,
`[[intake.categories]]`), validated like the rest of `bot.config`, and their engine
values (`cases.field_rules`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cases.field_rules import NAME, Category, FieldSpec, IntakeRules, Question

FIELD_NAME = NAME.pattern


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regex(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class FieldConfig(_Section):
    """One case field: its type checks every value set by /field, the web or an answer."""

    name: str = Field(pattern=f"^{FIELD_NAME}$")
    type: Literal["text", "number", "choice", "pattern"] = "text"
    label: str = ""
    label_zh: str = ""
    choices: list[str] = []
    pattern: str | None = None
    required: bool = False  # before /resolve
    accounts: list[str] = []  # empty: every account
    categories: list[str] = []  # empty: every case, whatever its category

    _valid_pattern = field_validator("pattern")(_regex)

    @model_validator(mode="after")
    def _type_needs(self) -> FieldConfig:
        if self.type == "choice" and not self.choices:
            raise ValueError('choices: required when type = "choice"')
        if self.type != "choice" and self.choices:
            raise ValueError('choices: only for type = "choice"')
        if self.type == "pattern" and not self.pattern:
            raise ValueError('pattern: required when type = "pattern"')
        if self.type != "pattern" and self.pattern:
            raise ValueError('pattern: only for type = "pattern"')
        return self

    def spec(self) -> FieldSpec:
        return FieldSpec(
            name=self.name,
            type=self.type,
            label=self.label,
            label_zh=self.label_zh,
            choices=tuple(self.choices),
            pattern=self.pattern,
            required=self.required,
            accounts=frozenset(self.accounts),
            categories=frozenset(self.categories),
        )


class QuestionConfig(_Section):
    field: str = Field(pattern=f"^{FIELD_NAME}$")
    ask: str = Field(min_length=1)
    ask_zh: str = ""
    choices: list[str] = []
    pattern: str | None = None
    hint: str = ""
    hint_zh: str = ""

    _valid_pattern = field_validator("pattern")(_regex)

    @model_validator(mode="after")
    def _one_check(self) -> QuestionConfig:
        if self.choices and self.pattern:
            raise ValueError("pattern: give choices or a pattern, not both")
        return self


class CategoryConfig(_Section):
    name: str = Field(min_length=1, max_length=100)
    label: str = ""
    label_zh: str = ""
    keywords: list[str] = []
    accounts: list[str] = []  # empty: every account
    questions: list[QuestionConfig] = []

    @field_validator("keywords")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not k.strip() for k in value):
            raise ValueError("a keyword cannot be blank")
        return value


class IntakeConfig(_Section):
    ask_category: bool = True
    categories: list[CategoryConfig] = []

    @model_validator(mode="after")
    def _unique(self) -> IntakeConfig:
        seen: set[str] = set()
        for i, category in enumerate(self.categories):
            if category.name in seen:
                raise ValueError(f"categories[{i}].name: duplicate category {category.name!r}")
            seen.add(category.name)
            fields: set[str] = set()
            for j, question in enumerate(category.questions):
                if question.field in fields:
                    raise ValueError(
                        f"categories[{i}].questions[{j}].field: asked twice ({question.field})"
                    )
                fields.add(question.field)
        return self

    def rules(self) -> IntakeRules:
        return IntakeRules(
            categories=tuple(
                Category(
                    name=c.name,
                    label=c.label,
                    label_zh=c.label_zh,
                    keywords=tuple(c.keywords),
                    accounts=frozenset(c.accounts),
                    questions=tuple(
                        Question(
                            field=q.field,
                            ask=q.ask,
                            ask_zh=q.ask_zh,
                            choices=tuple(q.choices),
                            pattern=q.pattern,
                            hint=q.hint,
                            hint_zh=q.hint_zh,
                        )
                        for q in c.questions
                    ),
                )
                for c in self.categories
            ),
            ask_category=self.ask_category,
        )


def check_references(
    fields: list[FieldConfig], intake: IntakeConfig, accounts: set[str]
) -> str | None:
    """The first key naming an account or category nobody declared, with why."""
    names: set[str] = set()
    categories = {c.name for c in intake.categories}
    for i, f in enumerate(fields):
        if f.name in names:
            return f"fields[{i}].name: duplicate field {f.name!r}"
        names.add(f.name)
        for j, account in enumerate(f.accounts):
            if account not in accounts:
                return f"fields[{i}].accounts[{j}]: no account {account!r}"
        for j, category in enumerate(f.categories):
            if category not in categories:
                return f"fields[{i}].categories[{j}]: no category {category!r} in [intake]"
    for i, c in enumerate(intake.categories):
        for j, account in enumerate(c.accounts):
            if account not in accounts:
                return f"intake.categories[{i}].accounts[{j}]: no account {account!r}"
    return None
