"""A real Synapse homeserver for the tests: SQLite, loopback only, no federation, no TLS.

It is configured by hand rather than by `--generate-config` (which is slower and
writes a config full of public defaults); users come from the shared-secret admin
API, which answers with an access token, so the tests need no login round trips.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SHARED_SECRET = "casebot-test-registration"
# Generous limits: the tests send bursts a real deployment would rate-limit.
FAST = {"per_second": 10000, "burst_count": 10000}

LOG_CONFIG = """version: 1
formatters:
  plain: {format: '%(asctime)s %(name)s %(levelname)s %(message)s'}
handlers:
  file: {class: logging.FileHandler, formatter: plain, filename: LOGFILE}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MatrixUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


class Synapse:
    """One Synapse process in `root`; `url` is its client API."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server_name = "localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0

    def _write_config(self) -> Path:
        from signedjson.key import encode_signing_key_base64, generate_signing_key

        key = generate_signing_key("t")
        (self.root / "signing.key").write_text(f"ed25519 t {encode_signing_key_base64(key)}\n")
        log_file = self.root / "synapse.log"
        (self.root / "log.yaml").write_text(LOG_CONFIG.replace("LOGFILE", str(log_file)))
        config = {
            "server_name": self.server_name,
            "pid_file": str(self.root / "synapse.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.root / "synapse.db")}},
            "log_config": str(self.root / "log.yaml"),
            "media_store_path": str(self.root / "media"),
            "signing_key_path": str(self.root / "signing.key"),
            "registration_shared_secret": SHARED_SECRET,
            "macaroon_secret_key": "casebot-test-macaroon",
            "form_secret": "casebot-test-form",
            "report_stats": False,
            "enable_metrics": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            # Password hashing at production strength costs a quarter second a user.
            "bcrypt_rounds": 4,
            "rc_message": FAST,
            "rc_registration": FAST,
            "rc_login": {"address": FAST, "account": FAST, "failed_attempts": FAST},
            "rc_joins": {"local": FAST, "remote": FAST},
            "rc_invites": {"per_room": FAST, "per_user": FAST},
        }
        path = self.root / "homeserver.yaml"
        # JSON is YAML, and needs no YAML writer here.
        path.write_text(json.dumps(config, indent=1))
        return path

    def start(self, timeout: float = 60.0) -> None:
        config = self._write_config()
        began = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
            cwd=self.root,
            stdout=(self.root / "synapse.out").open("wb"),
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"synapse exited: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    self.started_in = time.monotonic() - began
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"synapse did not answer in {timeout}s: {self.tail()}")

    def tail(self) -> str:
        out = self.root / "synapse.out"
        return out.read_text(errors="replace")[-2000:] if out.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _request(self, method: str, path: str, body: dict[str, object] | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def register(self, localpart: str, password: str = "pw-for-tests") -> MatrixUser:
        """A new user through the shared-secret admin API (as register_new_matrix_user does)."""
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(SHARED_SECRET.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password, "notadmin"):
            mac.update(part.encode())
            if part != "notadmin":
                mac.update(b"\x00")
        answer = self._request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": False,
                "mac": mac.hexdigest(),
            },
        )
        return MatrixUser(answer["user_id"], password, answer["access_token"], answer["device_id"])
