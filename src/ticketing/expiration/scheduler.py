"""The scheduler: sleeps until the next timer is due, then fires it through the outbox.

Not a fast poll: it reads min(fire_at) and sleeps that long. A new timer wakes the
scheduler of the process that stored it, once committed (store.SCHEDULER), to re-read;
the sleep cap covers a timer another replica stored and did not live to fire. Timers
that fell due while no replica ran fire on the first pass after start.
"""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.common.wakeups import run_woken
from ticketing.expiration import service, store
from ticketing.expiration.settings import ExpirationSettings

log = logging.getLogger(__name__)

# A timer still due after our pass is locked by another replica that is firing it (or
# fell due a moment ago): look again shortly instead of spinning.
RECHECK_SECONDS = 0.02


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
        self._next_purge = 0.0
        self.fired = 0

    async def run(self) -> None:
        await run_woken(
            store.SCHEDULER,
            self.tick,
            max_sleep_seconds=self._settings.timer_max_sleep_seconds,
            name="expiration scheduler",
        )

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
