"""An aiosqlite connection that runs SQLite calls inline on the event loop thread.

Imports aiosqlite and the standard library. Why: aiosqlite hands every call to a
worker thread and back, and SQLAlchemy makes about four such calls per
statement; on this machine each round trip costs more than the SQLite work
itself, which capped ingest near 150 messages a second. SQLite statements on a
local file take microseconds, so running them inline is cheaper than the hop.

The cost: a statement that waits for a lock blocks the loop. `storage.db` gives
SQLite engines a single pooled connection, so tasks of one process queue for the
connection (asynchronously) instead of for SQLite's lock, and a transaction that
awaits nothing but the database runs start to commit without yielding.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=256)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()

    def __del__(self) -> None:
        self.stop()


def inline_creator(path: str) -> Callable[[], Any]:
    async def connect() -> InlineConnection:
        # the sqlite3 connection is only ever used from the loop thread, but
        # SQLAlchemy's pool may create it from a greenlet of that thread
        return await InlineConnection(
            lambda: sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        )

    return connect
