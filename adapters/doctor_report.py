"""What every platform's `casebot doctor` reports: problems, each with its fix.
Standard library only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str


def print_problems(out: Callable[[str], None], problems: Sequence[Problem]) -> None:
    if not problems:
        out("no problems found")
        return
    out(f"{len(problems)} problem(s):")
    for p in problems:
        out(f"PROBLEM: {p.what}")
        out(f"  fix: {p.fix}")
