"""`casebot check-config` on the DESIGN's `[feishu]` sample, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLE = """
[storage]
url = "sqlite+aiosqlite:///{db}"

[staff]
engineers = ["feishu:ou_7d8a6e6df7621556ce0d21922b676706ccs"]
triage_chat = "feishu:oc_triage"

[[accounts]]
name = "Initech"
chats = ["feishu:oc_5ad11d72b830411d72b836c20"]

[feishu]
app_id = "cli_a1b2c3d4e5f6"
app_secret = "secret"
encrypt_key = "key"               # events arrive encrypted and signed
verification_token = "token"
base_url = "{base_url}"   # https://open.larksuite.com for Lark; a local server may be given
"""


def check_config(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "casebot.toml"
    config.write_text(text, encoding="utf-8")
    casebot = Path(sys.executable).with_name("casebot")
    return subprocess.run(
        [str(casebot), "check-config", "--config", str(config)], capture_output=True, text=True
    )


def test_the_design_sample_names_feishu_among_the_adapters(tmp_path: Path) -> None:
    text = SAMPLE.format(db=tmp_path / "c.db", base_url="https://open.feishu.cn")
    done = check_config(tmp_path, text)
    assert done.returncode == 0, done.stderr
    assert "adapters: feishu" in done.stdout, done.stdout


def test_a_bad_key_is_one_line_naming_it(tmp_path: Path) -> None:
    text = SAMPLE.format(db=tmp_path / "c.db", base_url="open.feishu.cn")
    done = check_config(tmp_path, text)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("config error: feishu.base_url:"), done.stderr
    missing = SAMPLE.format(db=tmp_path / "c.db", base_url="https://x").replace(
        'encrypt_key = "key"', ""
    )
    done = check_config(tmp_path, missing)
    assert done.returncode == 2
    assert done.stderr.startswith("config error: feishu.encrypt_key:"), done.stderr


def test_the_examples_feishu_section_is_valid_uncommented(tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    lines = (root / "config.example.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index("# [feishu]")
    out = lines[:start]
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        body = line[2:].split("#", 1)[0].rstrip() if not line.startswith("#  ") else ""
        if body:
            out.append(body)
    text = "\n".join(out).replace(
        'url = "sqlite+aiosqlite:///./casebot.db"', f'url = "sqlite+aiosqlite:///{tmp_path}/c.db"'
    )
    done = check_config(tmp_path, text)
    assert done.returncode == 0, done.stderr
    assert "feishu" in done.stdout
