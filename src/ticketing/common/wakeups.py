"""Wake-ups: a loop that waits for work (the outbox relay, the expiration scheduler, the
mail sender) hears at once that a transaction gave it some.

The work's writer rings a `Bell` in its own process once the transaction has committed.
Not NOTIFY: a notifying transaction's commit takes a lock that every other notifying
commit in the cluster waits for, held while the commit is flushed to disk, so such
commits queue one behind another, each behind its fsync (in a flash sale, every win
behind every other and behind each event applied in every service). Each service process
runs its own loops, so the process that wrote the work is one that does it; work another
process wrote and was not woken for is found by the loop's slow poll. LISTEN/NOTIFY
stays for what every replica must hear (`listen`: orders' forgetting of taken tickets).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


class Bell:
    """Wakes this process's loops waiting on it, after the commit that gave them work."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Event] = set()

    @contextlib.contextmanager
    def wakes(self, wake: asyncio.Event) -> Iterator[asyncio.Event]:
        """`wake` is set at every ring while the block runs."""
        self._waiting.add(wake)
        try:
            yield wake
        finally:
            self._waiting.discard(wake)

    def ring(self) -> None:
        for wake in self._waiting:
            wake.set()

    def after_commit(self, driver: asyncpg.Connection) -> None:
        """Ring once what was just written on `driver` is committed: now, if the statement
        stood alone; else when its transaction's COMMIT has succeeded (not after a rollback
        or a failed commit, which leave no work). asyncpg tells its query loggers of every
        statement once it has ended, COMMIT included, whoever began the transaction
        (SQLAlchemy, or asyncpg's own in the listeners)."""
        if driver.is_in_transaction():
            driver.add_query_logger(_CommitWatch(self, driver))  # one per transaction
        else:
            self.ring()


# What asyncpg's Transaction sends to end one (a savepoint's end is not the transaction's).
_COMMIT = "COMMIT;"
_TRANSACTION_ENDS = (_COMMIT, "ROLLBACK;")


class _CommitWatch:
    """A query logger that rings `bell` when `driver`'s transaction commits, then leaves.
    Equal to every other watch of the same bell on the same connection, so asyncpg's set
    of loggers keeps one however many writes the transaction makes."""

    __slots__ = ("bell", "driver")

    def __init__(self, bell: Bell, driver: asyncpg.Connection) -> None:
        self.bell = bell
        self.driver = driver

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _CommitWatch)
            and other.bell is self.bell
            and other.driver is self.driver
        )

    def __hash__(self) -> int:
        return hash((id(self.bell), id(self.driver)))

    def __call__(self, query: Any) -> None:  # asyncpg's LoggedQuery
        if query.query not in _TRANSACTION_ENDS:
            return
        self.driver.remove_query_logger(self)
        if query.query == _COMMIT and query.exception is None:
            self.bell.ring()


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
    bell: Bell,
    tick: Callable[[], Awaitable[float]],
    *,
    max_sleep_seconds: float,
    name: str,
) -> None:
    """A loop that does its work (`tick`, which says how long to sleep after), then sleeps
    until `bell` rings or the time is up; for as long as it is not cancelled. A failed
    tick is logged and tried again soon."""
    with bell.wakes(asyncio.Event()) as wake:
        while True:
            wake.clear()  # before reading the table, so no ring is missed
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
