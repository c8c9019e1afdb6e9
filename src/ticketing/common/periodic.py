"""A job a service runs now and then for as long as it serves: deleting what is past its
time. One loop, so every such job starts, fails and retries the same way."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

FIRST_ROUND_SECONDS = 60.0  # after the start: not in the middle of it


async def every(
    seconds: float,
    job: Callable[[], Awaitable[None]],
    *,
    what: str,
    first_after: float | None = None,
) -> None:
    """Run `job` `first_after` the start (a minute by default, or sooner if `seconds` is
    shorter), then every `seconds`, until cancelled: a replica redeployed more often than
    `seconds` still runs it. A failed round (the database away) is logged and tried again
    at the next."""
    first = FIRST_ROUND_SECONDS if first_after is None else first_after
    wait = min(seconds, first)
    while True:
        await asyncio.sleep(wait)
        wait = seconds
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("%s failed: %r; next round in %g s", what, error, seconds, exc_info=True)
