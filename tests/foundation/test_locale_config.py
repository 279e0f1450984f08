"""`locale` as `casebot check-config` judges it: on `[staff]`, `[[accounts]]`,
`[[http.users]]` and `[[staff.people]]`, "zh-CN", "zh_CN", "zh-Hans" and "zh" are the
catalogue's Simplified Chinese; any other language exits 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.foundation.test_staff_people_config import check

HASH = "pbkdf2_sha256$1000$c2FsdA$aGFzaA"


def config(staff_locale: str, user_locale: str, person_locale: str) -> str:
    return f"""
[staff]
engineers = ["Wang"]
locale = "{staff_locale}"

[[staff.people]]
name = "Wang"
ids = ["telegram:3001"]
locale = "{person_locale}"

[http]
session_secret = "s"

[[http.users]]
name = "wang"
person = "Wang"
password_hash = "{HASH}"
locale = "{user_locale}"
"""


def test_the_ways_of_writing_chinese_pass(tmp_path: Path) -> None:
    result = check(tmp_path, config("zh-CN", "zh_CN", "zh-Hans"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        (config("fr", "zh", "zh"), "staff.locale"),
        (config("zh", "zh-TW", "zh"), "http.users[0].locale"),
        (config("zh", "zh", "ja"), "staff.people[0].locale"),
    ],
)
def test_a_language_the_catalogue_lacks_exits_2_naming_the_key(
    tmp_path: Path, toml: str, key: str
) -> None:
    result = check(tmp_path, toml)
    assert result.returncode == 2
    assert key in result.stderr and "Traceback" not in result.stderr, result.stderr
