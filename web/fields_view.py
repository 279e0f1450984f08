"""The case page's fields card: one row per field the case has or its account and
category declare (`[[fields]]`), in declaration order. Imports `cases` only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cases.field_rules import FieldSpec, applicable


def field_rows(
    specs: Sequence[FieldSpec], case: dict[str, Any], locale: str
) -> list[dict[str, Any]]:
    values: dict[str, str] = case.get("fields") or {}
    declared = applicable(specs, case.get("account"), case.get("category"))
    rows = [
        {
            "name": s.name,
            "label": s.shown(locale),
            "value": values.get(s.name, ""),
            "choices": list(s.choices),
            "required": s.required,
        }
        for s in declared
    ]
    known = {s.name for s in declared}
    rows.extend(
        {"name": k, "label": k, "value": v, "choices": [], "required": False}
        for k, v in values.items()
        if k not in known
    )
    return rows
