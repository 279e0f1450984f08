"""The text catalogue against the code that uses it: every key the code renders exists
in English and Chinese, and renders in both with the parameters the call site passes."""

from __future__ import annotations

import ast
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.texts import CATALOGUE, LOCALES, Catalogue
from cases import escalation, routing, sla
from cases.model import Status
from cases.records import CaseRecord, FollowUpRecord

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cases", "bot", "adapters", "scheduler", "web", "storage")
# methods whose key argument is at this position: texts.render(key, locale, ...),
# Effects._reply(ctx, key, ...), Effects._refuse(ctx, key, ...), Buttons._answer(ctx, key)
KEY_POSITION = {"render": 0, "_reply": 1, "_refuse": 1, "_answer": 1}


NUDGE_KINDS = (
    escalation.WARNING,
    escalation.BREACH,
    escalation.ESCALATION,
    escalation.PAGE,
    escalation.FOLLOWUP_DUE,
    escalation.FOLLOWUP_OVERDUE,
)
# keys built with an f-string, by their constant prefix: every value they are built from
BUILT_KEYS: dict[str, tuple[str, ...]] = {
    "status_": tuple(s.value for s in Status),
    "setup_need_": ("admin", "pin", "topics"),
    "sla_clock_": sla.CLOCKS,
    "card_due_": sla.CLOCKS,
    "nudge_": NUDGE_KINDS,
    "weekday_": tuple(str(d) for d in range(7)),
    "issue_state_": ("open", "closed"),
    # the dashboard's templates: a case's status, a person's role, a queue's tab
    "desk_state_": tuple(s.value for s in Status),
    "desk_role_": ("customer", "staff", "bot", "engineer", "lead"),
    "desk_queue_": ("mine", "unassigned", "at_risk", "breached", "waiting", "active", "all"),
    "route_reason_": routing.REASONS,
    "desk_ev_category_": ("keywords", "button", "answer"),
    "incident_state_": ("open", "resolved"),
    "desk_incident_step_": ("start", "update", "resolve"),
    "desk_incident_told_": ("sent", "pending", "dead", "skipped", "unknown"),
}


@dataclass(frozen=True)
class Use:
    where: str
    keys: tuple[str, ...]  # the keys a call may render (several for an f-string key)
    params: frozenset[str] | None  # None: the call passes **params, checked elsewhere


def _fields(template: str) -> set[str]:
    return {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


def _resolve(node: ast.expr, scope: ast.AST | None) -> list[str] | None:
    """The catalogue keys an expression may name; None if it is a parameter of the
    function it is in (then its callers are the call sites that count)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _resolve(node.body, scope), _resolve(node.orelse, scope)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.JoinedStr):
        prefix = node.values[0]
        if isinstance(prefix, ast.Constant) and prefix.value in BUILT_KEYS:
            return [f"{prefix.value}{v}" for v in BUILT_KEYS[prefix.value]]
        return [f"<unknown built key {ast.unparse(node)}>"]
    if isinstance(node, ast.Name) and isinstance(scope, ast.AsyncFunctionDef | ast.FunctionDef):
        if node.id in {a.arg for a in scope.args.args + scope.args.kwonlyargs}:
            return None
        found: list[str] = []
        for sub in ast.walk(scope):
            if isinstance(sub, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in sub.targets
            ):
                keys = _resolve(sub.value, scope)
                if keys:
                    found += keys
        return found or [f"<unresolved {node.id}>"]
    return [f"<unresolved {ast.dump(node)[:40]}>"]


def _uses() -> list[Use]:
    uses: list[Use] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            scopes = [
                n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            for scope in scopes:
                for node in ast.walk(scope):
                    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                        continue
                    position = KEY_POSITION.get(node.func.attr)
                    if position is None or len(node.args) < 2:
                        continue
                    if isinstance(node.args[position], ast.Attribute | ast.Call):
                        # escalation.render(texts, ...): a helper, not a catalogue lookup
                        continue
                    keys = _resolve(node.args[position], scope)
                    if keys is None:
                        continue
                    names = {k.arg for k in node.keywords}
                    params = None if None in names else frozenset(n for n in names if n)
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    uses.append(Use(where, tuple(keys), params))
    return uses


USES = _uses()


def test_the_scan_finds_the_engines_texts() -> None:
    found = {k for use in USES for k in use.keys}
    # a scan that silently found nothing would prove nothing
    for key in ("ack", "ack_sla", "refused_staff_only", "which_case", "csat_thanks", "card"):
        assert key in found
    assert len(USES) > 60


@pytest.mark.parametrize("use", USES, ids=lambda u: u.where)
def test_every_used_key_renders_in_both_locales_with_its_params(use: Use) -> None:
    for key in use.keys:
        assert key in CATALOGUE, f"{use.where}: no text {key!r}"
        entry = CATALOGUE[key]
        for locale in LOCALES:
            assert entry.get(locale), f"{use.where}: {key!r} has no {locale} text"
            if use.params is None:
                continue
            missing = _fields(entry[locale]) - use.params
            assert not missing, f"{use.where}: {key!r} ({locale}) needs {missing}"
            Catalogue().render(key, locale, **dict.fromkeys(use.params, "x"))


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_entry_has_both_locales_with_the_same_parameters(key: str) -> None:
    entry = CATALOGUE[key]
    assert set(entry) == set(LOCALES), key
    assert _fields(entry["en"]) == _fields(entry["zh"]), key


def test_keys_built_from_values_exist_for_every_value() -> None:
    for prefix, values in BUILT_KEYS.items():
        for value in values:
            key = prefix + value
            assert key in CATALOGUE and all(CATALOGUE[key].get(loc) for loc in LOCALES), key


@pytest.mark.parametrize("locale", LOCALES)
def test_nudges_render_with_the_parameters_escalation_passes(locale: str) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    case = CaseRecord(account_id=1, chat_id=1, title="VM down", created_at=at, id=12)
    followup = FollowUpRecord(12, "telegram:1001", "call back", at, "telegram:2001", at, id=3)
    for kind in NUDGE_KINDS[:4]:
        nudge = escalation.Nudge(kind, clock="first_response", due=at)
        text = escalation.render(Catalogue(), locale, nudge, case, "Acme", "", "Evan")
        assert "#12" in text
    for kind in NUDGE_KINDS[4:]:
        nudge = escalation.Nudge(kind, due=at, followup=followup)
        text = escalation.render(Catalogue(), locale, nudge, case, "Acme", "", "Evan", "Erin")
        assert "#12" in text


def test_every_key_a_template_renders_is_in_both_locales() -> None:
    """Templates call `t('key', ...)` (the customer status page); the scan above sees
    Python only, so the templates are read here."""
    import re

    used: set[str] = set()
    for template in (ROOT / "web" / "templates").glob("*.html"):
        for key, built in re.findall(r"\bt\('([a-z_]+)'( ~)?", template.read_text()):
            used.update(f"{key}{v}" for v in BUILT_KEYS[key]) if built else used.add(key)
    assert "page_title" in used and "status_resolved" in used and "desk_nav_queues" in used
    for key in sorted(used):
        assert set(CATALOGUE[key]) >= set(LOCALES), key
