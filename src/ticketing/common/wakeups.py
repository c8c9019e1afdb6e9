"""Commit-time wake-ups through PostgreSQL LISTEN/NOTIFY: a loop that waits for work (the
outbox relay, the expiration scheduler) hears at once that a transaction gave it some."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import Select, func, select

from ticketing.common.database_url import libpq_dsn

log = logging.getLogger(__name__)


def notify(channel: str) -> Select[tuple[None]]:
    """NOTIFY as a statement to build on: delivered only if the transaction commits, and
    `.select_from(cte)` makes it part of the statement that writes the work."""
    return select(func.pg_notify(channel, ""))


async def listen(
    dsn: str,
    channel: str,
    heard: Callable[[str | None], None],
    *,
    retry_seconds: float,
    lost: Callable[[], None] = lambda: None,
) -> None:
    """Call `heard(payload)` on every NOTIFY on `channel`, for ever, and `heard(None)` on
    every (re)connect, once listening: what was committed while no one listened was never
    heard. `lost()` when the connection ends; it is opened again after `retry_seconds`."""
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            log.debug("LISTEN %s: cannot connect: %s", channel, error)
            await asyncio.sleep(retry_seconds)
            continue
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _conn, done=closed: done.set())
        try:
            await conn.add_listener(channel, lambda *args: heard(args[-1]))
            heard(None)
            await closed.wait()
        except (OSError, asyncpg.PostgresError) as error:
            log.debug("LISTEN %s lost: %s", channel, error)
        finally:
            lost()
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)


ERROR_RETRY_SECONDS = 1.0


async def run_woken(
    database_url: str,
    channel: str,
    tick: Callable[[], Awaitable[float]],
    *,
    max_sleep_seconds: float,
    name: str,
) -> None:
    """A loop that does its work (`tick`, which says how long to sleep after), then sleeps
    until NOTIFY on `channel` wakes it or the time is up; for as long as it is not
    cancelled. A failed tick is logged and tried again soon."""
    wake = asyncio.Event()
    listener = asyncio.create_task(
        listen(
            libpq_dsn(database_url),
            channel,
            lambda _payload: wake.set(),
            retry_seconds=max_sleep_seconds,
        )
    )
    try:
        while True:
            wake.clear()  # before reading the table, so no NOTIFY is missed
            try:
                delay = await tick()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("%s: %s; retrying", name, error)
                delay = min(max_sleep_seconds, ERROR_RETRY_SECONDS)
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that lands as the
            # event fires, and the loop would outlive its app.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
