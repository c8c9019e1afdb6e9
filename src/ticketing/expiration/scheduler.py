"""The scheduler: sleeps until the next timer is due, then fires it through the outbox.

Not a fast poll: it reads min(fire_at) and sleeps that long. A new timer NOTIFYs on
commit, which wakes every replica to re-read; the sleep cap only covers a LISTEN
connection that is down. Timers that fell due while no replica ran fire on the first
pass after start.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.common.database_url import libpq_dsn
from ticketing.common.wakeups import listen
from ticketing.expiration import service, store
from ticketing.expiration.settings import ExpirationSettings

log = logging.getLogger(__name__)

# A timer still due after our pass is locked by another replica that is firing it (or
# fell due a moment ago): look again shortly instead of spinning.
RECHECK_SECONDS = 0.02
ERROR_RETRY_SECONDS = 1.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: ExpirationSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self._wake = asyncio.Event()
        self._next_purge = 0.0
        self.fired = 0

    async def run(self) -> None:
        listener = asyncio.create_task(
            listen(
                libpq_dsn(self._settings.database_url),
                store.CHANNEL,
                self._wake,
                retry_seconds=self._settings.timer_max_sleep_seconds,
            )
        )
        try:
            while True:
                self._wake.clear()  # before reading the table, so no NOTIFY is missed
                try:
                    delay = await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("expiration scheduler: %s; retrying", error)
                    delay = min(self._settings.timer_max_sleep_seconds, ERROR_RETRY_SECONDS)
                await self._sleep(delay)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener

    async def _sleep(self, seconds: float) -> None:
        """Until woken or the time is up. Not asyncio.wait_for: on Python 3.11 it swallows a
        cancel that lands as the event fires, and the scheduler would outlive its app."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def tick(self) -> float:
        """Fire everything due, purge old fired timers when it is time; the sleep that follows."""
        while await self._fire_batch() == self._settings.timer_batch_size:
            pass
        await self._purge_if_time()
        async with self._engine.connect() as db:
            delay = await service.seconds_to_sleep(
                db, self._clock(), self._settings.timer_max_sleep_seconds
            )
        return delay or RECHECK_SECONDS

    async def _fire_batch(self) -> int:
        async with self._engine.begin() as db:
            fired = await service.fire_due_timers(
                db, self._clock(), limit=self._settings.timer_batch_size
            )
        if fired:
            log.info("expiration: fired %d timer(s)", len(fired))
        self.fired += len(fired)
        return len(fired)

    async def _purge_if_time(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        async with self._engine.begin() as db:
            purged = await service.purge_fired_timers(
                db, self._clock(), self._settings.fired_timer_retention_hours
            )
        if purged:
            log.info("expiration: purged %d fired timer(s)", purged)
        self._next_purge = time.monotonic() + self._settings.fired_timer_purge_every_seconds
