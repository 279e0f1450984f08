"""`[[staff.people]]` as `casebot check-config` judges it: a person's name stands wherever
a person key may, and a mistake exits 2 with one line naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASEBOT = Path(sys.executable).with_name("casebot")

PEOPLE = """
[staff]
engineers = ["Evan", "telegram:1002"]
leads = ["telegram:2001"]

[[staff.people]]
name = "Evan"
ids = ["telegram:1001", "wecom:evan", "slack:U0123ABC"]

[[staff.people]]
name = "Lena"
ids = ["telegram:2001", "feishu:ou_7d8a6e6df7621556ce0d21922b676706"]

[[staff.on_call]]
person = "Evan"

[escalation]
duty = { "Lena" = { "mon-fri" = "08:00-18:00" } }
away = ["wecom:evan"]
breach_to = ["triage", "Lena"]

[[accounts]]
name = "Acme"
chats = ["telegram:-100100", "wecom:acme-room"]
owner = "Lena"
backup = "slack:U0123ABC"
"""


def check(tmp_path: Path, toml: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "casebot.toml"
    path.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path}/x.db"\n{toml}')
    return subprocess.run(
        [str(CASEBOT), "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_people_named_everywhere_pass_and_count_once(tmp_path: Path) -> None:
    result = check(tmp_path, PEOPLE)
    assert result.returncode == 0, result.stderr
    # Evan, Erin (telegram:1002) and Lena: three people, however many keys
    assert "3 staff" in result.stdout


def test_the_examples_person_block_is_valid(tmp_path: Path) -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    block = '# [[staff.people]]\n# name = "Evan"\n# ids = ["telegram:1001", "wecom:evan"]\n'
    assert block in example
    path = tmp_path / "example.toml"
    path.write_text(example.replace(block, block.replace("# ", "")), encoding="utf-8")
    result = subprocess.run(
        [str(CASEBOT), "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_a_dashboard_user_may_name_the_person(tmp_path: Path) -> None:
    user = (
        '\n[[http.users]]\nname = "evan"\nperson = "Evan"\n'
        'password_hash = "pbkdf2_sha256$1000$c2FsdA$aGFzaA"\n'
    )
    result = check(tmp_path, PEOPLE.replace("\n[staff]", user + "\n[staff]", 1))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        # an id in two people
        (
            ('ids = ["telegram:2001", "feishu', 'ids = ["wecom:evan", "feishu'),
            "staff.people[1].ids[0]: wecom:evan already belongs to 'Evan'",
        ),
        # an unparseable key
        (('"wecom:evan", "slack', '"wecom evan", "slack'), "staff.people[0].ids[1]"),
        (('"wecom:evan", "slack', '"wecom:", "slack'), "staff.people[0].ids[1]"),
        # a duplicate name, in any case
        (('name = "Lena"', 'name = "evan"'), "staff.people[1].name: duplicate person 'evan'"),
        # a name that would read as a key or a role
        (('name = "Lena"', 'name = "owner"'), "staff.people[1].name"),
        # names that are no one's
        (('engineers = ["Evan"', 'engineers = ["Evn"'), "staff.engineers[0]: 'Evn'"),
        (('owner = "Lena"', 'owner = "Lina"'), "accounts[0].owner: 'Lina'"),
        (('person = "Evan"', 'person = "Ivan"'), "staff.on_call[0].person"),
        (('away = ["wecom:evan"]', 'away = ["Eve"]'), "escalation.away[0]"),
        (('"triage", "Lena"', '"triage", "Lean"'), "escalation.breach_to[1]"),
        (('duty = { "Lena"', 'duty = { "Lenna"'), "escalation.duty.Lenna"),
    ],
)
def test_a_mistake_exits_2_naming_the_key(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    old, new = change
    assert old in PEOPLE
    result = check(tmp_path, PEOPLE.replace(old, new, 1))
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr
