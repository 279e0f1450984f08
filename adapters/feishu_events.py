"""`POST /feishu/events`: how Feishu/Lark event callbacks and card actions are opened
and checked before anything is stored. Imports aiohttp, cryptography and the
Feishu translate module.

Feishu encrypts a callback's body with AES-256-CBC (key: SHA-256 of `encrypt_key`;
the first 16 bytes of the base64 text are the IV; PKCS#7 padding) and signs it:
`X-Lark-Signature` is the hex SHA-256 of timestamp + nonce + encrypt_key + body. A
signed body that does not match is refused with 401 and nothing else happens; so is
an event without a signature or with the wrong `verification_token`. Only the
`url_verification` challenge, which Feishu sends unsigned when the URL is set, is
answered on its token alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

EVENTS_PATH = "/feishu/events"
SIGNATURE = "X-Lark-Signature"
TIMESTAMP = "X-Lark-Request-Timestamp"
NONCE = "X-Lark-Request-Nonce"


class Refused(Exception):
    """Answered with `status` and nothing is stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def decrypt(encrypt_key: str, encrypted: str) -> str:
    """The plain text of an `encrypt` field; ValueError when it is not one."""
    try:
        blob = base64.b64decode(encrypted, validate=True)
    except (ValueError, TypeError):
        raise ValueError("encrypt: not base64") from None
    if len(blob) < 32 or len(blob) % 16:
        raise ValueError("encrypt: not AES-CBC blocks")
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(blob[:16])).decryptor()
    padded = decryptor.update(blob[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError:
        raise ValueError("encrypt: does not decrypt with encrypt_key") from None


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update((timestamp + nonce + encrypt_key).encode("utf-8") + body)
    return digest.hexdigest()


@dataclass(frozen=True)
class Opened:
    """A callback's plain JSON; `challenge` set for the url_verification one."""

    raw: dict[str, Any]
    challenge: str | None = None


def open_callback(body: bytes, headers: Any, encrypt_key: str, verification_token: str) -> Opened:
    """The checked, decrypted callback, or Refused (401 bad or missing signature or
    token, 400 unreadable body)."""
    given = headers.get(SIGNATURE)
    if given is not None:
        expected = signature(headers.get(TIMESTAMP, ""), headers.get(NONCE, ""), encrypt_key, body)
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            raise Refused(401, "bad signature")
    try:
        outer = json.loads(body)
    except (ValueError, RecursionError):
        raise Refused(400, "body is not JSON") from None
    if not isinstance(outer, dict):
        raise Refused(400, "body is not a JSON object")
    raw: Any = outer
    if "encrypt" in outer:
        try:
            raw = json.loads(decrypt(encrypt_key, str(outer["encrypt"])))
        except (ValueError, RecursionError) as exc:
            # a body signed with our key decrypts; one that does not was never Feishu's
            raise Refused(401 if given is None else 400, str(exc)) from None
        if not isinstance(raw, dict):
            raise Refused(400, "decrypted body is not a JSON object")
    if raw.get("type") == "url_verification":
        if not _token_ok(raw.get("token"), verification_token):
            raise Refused(401, "bad verification token")
        return Opened(raw, challenge=str(raw.get("challenge", "")))
    if given is None:
        raise Refused(401, "missing signature")
    header = raw.get("header") if isinstance(raw.get("header"), dict) else {}
    if not _token_ok(header.get("token", raw.get("token")), verification_token):
        raise Refused(401, "bad verification token")
    return Opened(raw)


def _token_ok(given: Any, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8")
    )


def refusal(exc: Refused) -> web.Response:
    return web.json_response({"error": exc.reason}, status=exc.status)
