"""The layering of STYLE.md, enforced: the engine imports no platform SDK and no web
code, storage no adapters, and only `bot` wires everything together."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

ALLOWED: dict[str, set[str]] = {
    "cases": {"cases"},
    "storage": {"cases", "storage", "sqlalchemy", "alembic", "aiosqlite", "asyncpg"},
    "scheduler": {"cases", "storage", "scheduler", "apscheduler"},
    "adapters": {
        "cases",
        "adapters",
        "telegram",
        "aiohttp",
        "httpx",
        "pydantic",
        "standardwebhooks",
        "slack_sdk",
        "cryptography",  # Feishu's encrypted callbacks
    },
    "web": {"cases", "storage", "web", "aiohttp", "jinja2", "markupsafe"},
    # A bridge is a separate program that talks to casebot over HTTP only.
    "bridges": {"bridges", "nio", "aiohttp", "standardwebhooks", "pydantic"},
}
CASEBOT = ["bot", "adapters", "cases", "storage", "scheduler", "web"]


def imports_of(path: Path) -> set[str]:
    """Every import, type-only ones (`if TYPE_CHECKING:`) too: a layer's types are part
    of what it depends on."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_layer_may(package: str) -> None:
    bad = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = imports_of(path) - STDLIB - ALLOWED[package]
        if extra:
            bad[str(path.relative_to(ROOT))] = sorted(extra)
    assert not bad, f"{package} imports outside its layer: {bad}"


@pytest.mark.parametrize("package", CASEBOT)
def test_casebot_never_imports_a_bridge(package: str) -> None:
    """Bridges bring their own SDKs (matrix-nio) as extras; casebot must run without them."""
    bad = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / package).rglob("*.py"))
        if "bridges" in imports_of(path)
    ]
    assert not bad, f"{package} imports bridges: {bad}"
