"""The polling fallback of issue links: asks each tracker with a token about the open
issues that active cases link to, and hands what it says to the engine.

Imports `cases`, `storage` and the standard library; the tracker clients come in as
a `fetch` callable (from `adapters.trackers`, wired by `bot`). Each issue is asked at
most once per its tracker's `poll_interval` (its `checked_at`, in the database, so
a restart or a second process does not ask again at once). An issue its tracker
does not answer about is asked again at the next interval; a tracker that is down
(no answer, 5xx, 429) is asked about no more issues in that tick. Time is the `now`
given to `tick`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cases.engine import Engine
from cases.issues import IssueRecord, IssueUpdate
from storage.issues import issues_to_poll, mark_checked
from storage.uow import Caches, SqlUnitOfWork

if TYPE_CHECKING:
    from storage.db import Sessions

log = logging.getLogger(__name__)

Fetch = Callable[[IssueRecord, datetime], Awaitable[IssueUpdate]]


class IssuePoller:
    def __init__(
        self,
        sessions: Sessions,
        engine: Engine,
        fetch: Fetch,
        intervals: Mapping[str, float],
        caches: Caches | None = None,
        batch: int = 100,
    ) -> None:
        self.sessions = sessions
        self.engine = engine
        self.fetch = fetch
        self.intervals = dict(intervals)
        self.caches = caches or Caches()
        self.batch = batch

    @property
    def every(self) -> float:
        """How often the job should wake: the shortest interval of any tracker."""
        return min(self.intervals.values(), default=0.0)

    async def tick(self, now: datetime) -> int:
        """Poll what is due; returns how many issues changed state."""
        changed = 0
        for tracker, seconds in self.intervals.items():
            async with self.sessions() as session:
                due = await issues_to_poll(
                    session, tracker, now - timedelta(seconds=seconds), self.batch
                )
            for issue in due:
                # asked outside any transaction: a slow tracker holds no database lock
                try:
                    update = await self.fetch(issue, now)
                except Exception as exc:
                    log.warning("issue poll: %s", exc)
                    await self._checked(issue, now)
                    if getattr(exc, "down", False):
                        # the others keep their checked_at, so they come first at the
                        # next tick: a tracker that hangs costs one timeout a tick
                        break
                    continue
                async with self.sessions() as session, session.begin():
                    outcome = await self.engine.issue_update(
                        SqlUnitOfWork(session, self.caches), update
                    )
                    changed += outcome.ignored is None
        return changed

    async def _checked(self, issue: IssueRecord, now: datetime) -> None:
        """Asked and not told: asked again at the next interval, not at the next tick."""
        async with self.sessions() as session, session.begin():
            await mark_checked(session, issue.tracker, issue.key, now)
