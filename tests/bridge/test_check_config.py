"""`casebot check-config` on the DESIGN's `[[bridges]]` sample, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakes.bridge_peer import SECRET

SAMPLE = """
[storage]
url = "sqlite+aiosqlite:///{db}"

[staff]
engineers = ["telegram:1001", "wecom:zhang.wei"]
triage_chat = "wecom:triage-room"

[[accounts]]
name = "Initech"
chats = ["wecom:room1"]

[[bridges]]                       # the generic webhook bridge; one table per bridge
name = "wecom"                    # the platform name in keys: "wecom:<chat id>", "wecom:<user id>"
secret = "{secret}"              # Standard Webhooks secret, used in both directions
url = "http://127.0.0.1:9000"     # casebot POSTs commands to {{url}}/v1/commands; omit it to pull
capabilities = {{ threads = true, buttons = false, edits = true, pins = false, max_text = 4000 }}
"""


def check_config(tmp_path: Path, secret: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "casebot.toml"
    config.write_text(SAMPLE.format(db=tmp_path / "c.db", secret=secret), encoding="utf-8")
    casebot = Path(sys.executable).with_name("casebot")
    return subprocess.run(
        [str(casebot), "check-config", "--config", str(config)], capture_output=True, text=True
    )


def test_the_design_sample_names_the_bridge_among_the_adapters(tmp_path: Path) -> None:
    done = check_config(tmp_path, SECRET)
    assert done.returncode == 0, done.stderr
    assert "adapters: wecom" in done.stdout, done.stdout


def test_the_placeholder_secret_is_one_line_naming_the_key(tmp_path: Path) -> None:
    # "whsec_..." is no base64: a clear error, not a traceback
    done = check_config(tmp_path, "whsec_...")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("config error: bridges[0].secret:"), done.stderr


def test_a_bad_bridge_pace_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "casebot.toml"
    sample = SAMPLE.format(db=tmp_path / "c.db", secret=SECRET) + "rate_per_second = 0\n"
    config.write_text(sample, encoding="utf-8")
    casebot = Path(sys.executable).with_name("casebot")
    done = subprocess.run(
        [str(casebot), "check-config", "--config", str(config)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "rate_per_second" in done.stderr and "Traceback" not in done.stderr
    config.write_text(sample.replace("= 0\n", "= 20\n"), encoding="utf-8")
    done = subprocess.run(
        [str(casebot), "check-config", "--config", str(config)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
