"""Commit-time wake-ups through PostgreSQL LISTEN/NOTIFY: a loop that waits for work (the
outbox relay, the expiration scheduler) hears at once that a transaction gave it some."""

import asyncio
import contextlib
import logging

import asyncpg
from sqlalchemy import Select, func, select

log = logging.getLogger(__name__)


def notify(channel: str) -> Select[tuple[None]]:
    """NOTIFY as a statement to build on: delivered only if the transaction commits, and
    `.select_from(cte)` makes it part of the statement that writes the work."""
    return select(func.pg_notify(channel, ""))


async def listen(dsn: str, channel: str, wake: asyncio.Event, *, retry_seconds: float) -> None:
    """Set `wake` on every NOTIFY on `channel`, for ever. A dropped connection is opened
    again after `retry_seconds`; the waiting loop's own poll covers the time between, and
    `wake` is set on every (re)connect to catch what was committed meanwhile."""
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
            await conn.add_listener(channel, lambda *_: wake.set())
            wake.set()
            await closed.wait()
        except (OSError, asyncpg.PostgresError) as error:
            log.debug("LISTEN %s lost: %s", channel, error)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)
