"""The README's Deploy section, as an operator copies it: its nginx block and config must
give casebot the client's address, or every client counts as the proxy."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    found = re.search(rf"^## {title}\n(.*?)(?=^## )", README, re.S | re.M)
    assert found, f"no '## {title}' section"
    return found.group(1)


def test_the_deploy_proxy_names_the_client_and_casebot_trusts_it() -> None:
    """Per-client limits (connections, sign-in throttle) key on the client address: behind
    nginx without X-Forwarded-For and trusted_proxies, all users share one address."""
    deploy = _section("Deploy")
    nginx = re.search(r"```nginx\n(.*?)```", deploy, re.S)
    assert nginx, "no nginx block in Deploy"
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx.group(1)
    assert 'trusted_proxies = ["127.0.0.1"]' in deploy
