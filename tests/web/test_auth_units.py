"""Password hashes, session cookies and the http.users config."""

from __future__ import annotations

import io
import sys

import pytest

from bot import cli
from bot.config import ConfigError, parse_config
from tests.harness import base_config
from web.auth import StaffSession, decode_session, encode_session, hash_password, verify_password


def test_password_hashes_verify_and_differ() -> None:
    first = hash_password("pa55word!", iterations=1000)
    assert first.startswith("pbkdf2_sha256$1000$")
    assert verify_password("pa55word!", first)
    assert not verify_password("pa55word?", first)
    assert hash_password("pa55word!", iterations=1000) != first  # salted
    assert not verify_password("x", "garbage") and not verify_password("x", "md5$1$a$b")


def test_session_cookie_is_signed_and_expires() -> None:
    secret = b"k" * 32
    value = encode_session(secret, StaffSession("telegram:2001", "lena", 1000.0))
    assert decode_session(secret, value, 999.0) == StaffSession("telegram:2001", "lena", 1000.0)
    assert decode_session(secret, value, 1000.0) is None
    assert decode_session(b"other" * 8, value, 0) is None
    body, _, sig = value.partition(".")
    forged = encode_session(secret, StaffSession("telegram:1001", "x", 5000.0)).split(".")[0]
    assert decode_session(secret, f"{forged}.{sig}", 0) is None
    assert decode_session(secret, "not-a-cookie", 0) is None


def test_cli_hash_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("long enough secret\n"))
    assert cli.main(["hash-password"]) == 0
    encoded = capsys.readouterr().out.strip()
    assert verify_password("long enough secret", encoded)
    parse_config(base_config(http={"users": [{"name": "a", "person": "telegram:1001",
                                              "password_hash": encoded}]}), env={})  # fmt: skip


@pytest.mark.parametrize(
    "user",
    [
        {"name": "a", "person": "telegram:1", "password_hash": "plain"},
        {"name": "a", "person": "nokey", "password_hash": "pbkdf2_sha256$1$a$b"},
        {"name": "a", "person": "telegram:1", "password_hash": "pbkdf2_sha256$1$a$b", "pw": 1},
    ],
)
def test_bad_users_name_their_key(user: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="http.users"):
        parse_config(base_config(http={"users": [user]}), env={})


@pytest.mark.parametrize(
    ("http", "key"),
    [
        ({"trusted_proxies": ["not-an-address"]}, "http.trusted_proxies"),
        ({"header_timeout": "0s"}, "http.header_timeout"),
        ({"max_connections_per_client": 0}, "http.max_connections_per_client"),
        ({"login_failures_per_address": 0}, "http.login_failures_per_address"),
    ],
)
def test_bad_connection_limits_name_their_key(http: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_config(base_config(http=http), env={})
