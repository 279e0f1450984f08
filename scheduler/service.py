"""APScheduler wiring: the sweeper's interval job and the digest/review cron jobs.

Imports `cases`, `storage`, `scheduler` and APScheduler (3.x). The database owns
deadlines: APScheduler only wakes the sweeper (memory job store, fixed job ids,
`replace_existing=True`, `coalesce=True`, one instance at a time) and runs the cron
reports. `SchedulerService(app)` reads `app.config.scheduler`, `app.engine`,
`app.sessions`, `app.caches`, `app.clock`, `app.dispatcher` and `app.metrics`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.reports import Reports
from scheduler.sweeper import Sweeper

log = logging.getLogger(__name__)

SWEEP_JOB = "casebot.sweeper"
DIGEST_JOB = "casebot.digest"
REVIEW_JOB = "casebot.review"
ISSUE_POLL_JOB = "casebot.issue_poll"


class SchedulerService:
    def __init__(self, app: Any) -> None:
        self.app = app
        config = app.config.scheduler
        self.config = config
        self.sweeper = Sweeper(
            app.sessions,
            app.engine,
            app.caches,
            batch=config.batch,
            observe=self._observe,
        )
        self.reports = Reports(
            app.sessions, app.engine.settings, app.engine.texts, timezone=config.timezone
        )
        self.scheduler: AsyncIOScheduler | None = None
        self._sweeping = False
        self._again = False

    def start(self) -> None:
        """Add the jobs and start; the first sweep runs at once, so timers that fell
        due while the process was down fire right after start."""
        scheduler = AsyncIOScheduler(timezone=self.config.timezone)
        common: dict[str, Any] = {
            "replace_existing": True,
            "coalesce": True,
            "max_instances": 1,
        }
        scheduler.add_job(
            self.sweep,
            IntervalTrigger(seconds=self.config.tick.total_seconds()),
            id=SWEEP_JOB,
            next_run_time=_now(scheduler),
            **common,
        )
        hour, minute = self.config.digest_time.split(":")
        scheduler.add_job(
            self.digest,
            CronTrigger(hour=int(hour), minute=int(minute), timezone=self.config.timezone),
            id=DIGEST_JOB,
            misfire_grace_time=3600,
            **common,
        )
        hour, minute = self.config.review_time.split(":")
        scheduler.add_job(
            self.review,
            CronTrigger(
                day_of_week=self.config.review_day,
                hour=int(hour),
                minute=int(minute),
                timezone=self.config.timezone,
            ),
            id=REVIEW_JOB,
            misfire_grace_time=3600,
            **common,
        )
        trackers = getattr(self.app, "trackers", None)
        if trackers is not None and trackers.poller.every > 0:
            scheduler.add_job(
                self.poll_issues,
                IntervalTrigger(seconds=trackers.poller.every),
                id=ISSUE_POLL_JOB,
                next_run_time=_now(scheduler),
                **common,
            )
        scheduler.start()
        self.scheduler = scheduler

    def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None

    def sweep_soon(self) -> None:
        """Run the sweeper now rather than at its next tick (a case became due at once,
        such as a P1 that pages on-call outside business hours). A sweep under way
        goes round once more: the job allows one instance, so a second would be
        skipped."""
        if self._sweeping:
            self._again = True
        elif self.scheduler is not None and self.scheduler.running:
            self.scheduler.modify_job(SWEEP_JOB, next_run_time=_now(self.scheduler))

    async def sweep(self) -> int:
        self._sweeping = True
        handled = 0
        try:
            while True:
                self._again = False
                try:
                    handled += await self.sweeper.tick(self.app.clock.now())
                except Exception:
                    log.exception("sweeper tick failed")
                    break
                if not self._again:
                    break
        finally:
            self._sweeping = False
        if handled:
            self.app.dispatcher.wake()
        return handled

    async def digest(self) -> None:
        try:
            if await self.reports.send_digest(self.app.clock.now()):
                self.app.dispatcher.wake()
        except Exception:
            log.exception("daily digest failed")

    async def review(self) -> None:
        try:
            if await self.reports.send_reviews(self.app.clock.now()):
                self.app.dispatcher.wake()
        except Exception:
            log.exception("weekly review failed")

    async def poll_issues(self) -> None:
        try:
            await self.app.trackers.poll()
        except Exception:
            log.exception("issue poll failed")

    def _observe(self, handled: int, seconds: float) -> None:
        log.debug("sweeper: %d case(s) in %.1f ms", handled, seconds * 1000)


def _now(scheduler: AsyncIOScheduler) -> datetime:
    return datetime.now(scheduler.timezone)
