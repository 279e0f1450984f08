"""Cases as CSV, for `casebot export` and the dashboard's queue downloads.

Standard library only. Cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # a cell starting with = + - @ is a formula to spreadsheet programs
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def cases_csv(cases: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """One header row, then one row per case; `next_due_at` is read from its SLA block,
    and `messages`/`events` are counted when a case carries them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for case in cases:
        row = {
            **case,
            "next_due_at": (case.get("sla") or {}).get("next_due_at"),
            "messages": len(case.get("messages") or ()),
            "events": len(case.get("events") or ()),
            # a spreadsheet cell each: "billing vip", "instance=i-7f3; region=eu-west"
            "tags": " ".join(case.get("tags") or ()),
            "fields": "; ".join(f"{k}={v}" for k, v in (case.get("fields") or {}).items()),
        }
        writer.writerow([safe_cell(row.get(column)) for column in columns])
    return out.getvalue()
