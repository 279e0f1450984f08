"""The bridge's own small SQLite file: sync token, login, answered commands, reactions.

The stdlib sqlite3 module is enough: every write is tiny and made between awaits.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY, message_id TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS reactions (
    event_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, emoji TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS direct_rooms (room_id TEXT PRIMARY KEY);
"""


class CommandResult:
    """What a finished command answered: a Matrix event id, or a permanent error."""

    def __init__(self, message_id: str | None = None, error: str | None = None) -> None:
        self.message_id = message_id
        self.error = error


class Store:
    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def login(self) -> dict[str, str] | None:
        raw = self.get("login")
        return json.loads(raw) if raw else None

    def save_login(self, user_id: str, device_id: str, access_token: str) -> None:
        value = {"user_id": user_id, "device_id": device_id, "access_token": access_token}
        self.put("login", json.dumps(value))

    def result_of(self, command_id: str) -> CommandResult | None:
        row = self._db.execute(
            "SELECT message_id, error FROM commands WHERE command_id = ?", (command_id,)
        ).fetchone()
        return CommandResult(row[0], row[1]) if row else None

    def record_result(self, command_id: str, result: CommandResult) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO commands (command_id, message_id, error) VALUES (?, ?, ?)",
            (command_id, result.message_id, result.error),
        )

    def remember_reaction(self, event_id: str, message_id: str, emoji: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO reactions (event_id, message_id, emoji) VALUES (?, ?, ?)",
            (event_id, message_id, emoji),
        )

    def reaction(self, event_id: str) -> tuple[str, str] | None:
        row = self._db.execute(
            "SELECT message_id, emoji FROM reactions WHERE event_id = ?", (event_id,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def mark_direct(self, room_id: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO direct_rooms (room_id) VALUES (?)", (room_id,))

    def is_direct(self, room_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM direct_rooms WHERE room_id = ?", (room_id,)
        ).fetchone()
        return row is not None
