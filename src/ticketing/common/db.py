"""One async engine per service database, and the two connections a route can ask for.

Every service talks to its database one way: SQLAlchemy Core statements on an
`AsyncConnection`. A route that writes more than one statement takes `Db` and opens the
transaction itself (`async with db.begin()`); one whose every statement stands alone takes
`AutocommitDb`. Listeners get a connection already in a transaction from the listener base.
The busiest routes' statements stand alone and are compiled once (common/prepared.py):
they run in `async with Driver(request)`, on a plain asyncpg connection from a small pool
of its own beside the engine's (`make_drivers`).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import Pool, QueuePool
from sqlalchemy.util import greenlet_spawn

from ticketing.common.database_url import libpq_dsn

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


POOL_TIMEOUT_SECONDS = 5  # a saturated pool answers 503 soon, not in 30 s
# The drivers' pool, beside the engine's 10 + 10: its routes are the busiest, and each
# statement on it stands alone, so a connection is held for one round trip or two.
DRIVERS = 10
# A connection no request or event has needed for this long is closed: the ones a burst
# opened go back to the database (each backend holds ~17 MB), not kept for the next.
IDLE_SECONDS = 60.0


def service_metadata() -> MetaData:
    """A fresh metadata per service: services' tables share names (orders keeps a
    `tickets` replica), so one metadata for all would clash in a test process."""
    return MetaData(naming_convention=NAMING)


def make_engine(url: str, **options: Any) -> AsyncEngine:
    # No ping before each checkout: it was a round trip on every transaction. A connection a
    # database restart broke fails its first statement instead, as a disconnect (503, or a
    # listener's wait), and SQLAlchemy then discards every connection older than the failure.
    options.setdefault("pool_pre_ping", False)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 10)
    options.setdefault("pool_timeout", POOL_TIMEOUT_SECONDS)
    options.setdefault("connect_args", {"timeout": 5, "command_timeout": 30})
    # A failed statement's message ends up in logs and error reports; the values bound to it
    # (e-mail addresses, card references) must not.
    options.setdefault("hide_parameters", True)
    return create_async_engine(url, **options)


async def make_drivers(
    url: str, size: int = DRIVERS, *, idle_seconds: float = IDLE_SECONDS
) -> "Drivers":
    """Plain asyncpg connections for `Driver`, opened as they are first needed. Not the
    engine's own connections under it: a checkout through SQLAlchemy's pool (its
    connection objects, events and greenlet) cost more CPU than the statement it was for,
    about 0.25 ms of a route's 0.6 against 0.4 on this pool, in `bench`'s SELECT 1 app."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        libpq_dsn(url),
        min_size=0,
        max_size=size,
        timeout=5,
        command_timeout=30,
        reset=_nothing_more,
        max_inactive_connection_lifetime=idle_seconds,
    )
    return Drivers(pool, size, idle_seconds=idle_seconds)


class Drivers:
    """The route drivers' connections, kept between requests in a stack of their own.

    asyncpg's pool hands a connection out and takes it back with a task, two timers and a
    proxy each time: about 50 to 65 µs of a refused reservation's ~320 in-process (alternated
    batches, docs/performance.md). Here a request takes the last connection given back and
    returns it without a wait. The pool still opens every connection (up to `size`), and
    takes back, to roll back or to drop, one a request left broken or in a transaction.
    Connections none of the requests of a whole `idle_seconds` needed are closed."""

    def __init__(self, pool: asyncpg.Pool, size: int, *, idle_seconds: float) -> None:
        self.pool = pool
        self.idle_seconds = idle_seconds
        self._size = size
        self._kept: asyncio.LifoQueue[asyncpg.Connection] = asyncio.LifoQueue()
        self._taken = 0  # from the pool: kept here, or in a request's hands
        self._fewest_kept = 0  # since the last look for unused ones
        self._closing = False
        self._waiting = 0  # requests waiting for a connection given back
        self._opening: set[asyncio.Task[None]] = set()

    async def take(self) -> asyncpg.Connection:
        try:
            driver = self._kept.get_nowait()
        except asyncio.QueueEmpty:
            return await self._take_more()
        if self._kept.qsize() < self._fewest_kept:
            self._fewest_kept = self._kept.qsize()
        if _closed(driver):  # the database dropped it while it was kept: as the pool does,
            self._taken -= 1  # the request gets another, not a failure
            await self.pool.release(driver)
            return await self.take()
        return driver

    async def _take_more(self) -> asyncpg.Connection:
        self._fewest_kept = 0
        if self._taken < self._size:
            self._taken += 1
            try:
                driver: asyncpg.Connection = await self.pool.acquire(timeout=POOL_TIMEOUT_SECONDS)
            except BaseException:
                self._taken -= 1
                raise
            return driver
        self._waiting += 1
        try:
            return await asyncio.wait_for(self._kept.get(), POOL_TIMEOUT_SECONDS)
        finally:
            self._waiting -= 1

    async def give_back(self, driver: asyncpg.Connection) -> None:
        """Kept for the next request unless it broke, was left in a transaction, or the
        drivers are closing. (One whose statement was cancelled is kept: asyncpg has its
        next statement wait for the cancel.)"""
        if not (self._closing or _closed(driver) or driver.is_in_transaction()):
            self._kept.put_nowait(driver)
            return
        self._taken -= 1
        await self.pool.release(driver)
        if self._waiting and not self._closing and self._taken < self._size:
            # A request waits for a connection given back, and this one was not: the pool
            # opens it another, or it would wait out the timeout with room in the pool.
            # Not awaited here: the database that broke this one may be slow to answer.
            self._taken += 1
            opening = asyncio.create_task(self._open_one())
            self._opening.add(opening)
            opening.add_done_callback(self._opening.discard)

    async def _open_one(self) -> None:
        try:
            driver: asyncpg.Connection = await self.pool.acquire(timeout=POOL_TIMEOUT_SECONDS)
        except Exception as error:
            self._taken -= 1
            log.warning("opening a connection for a waiting request failed: %r", error)
            return
        await self.give_back(driver)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A driver outside a route (the listeners' tests, scripts)."""
        driver = await self.take()
        try:
            yield driver
        finally:
            await self.give_back(driver)

    async def close_unused(self) -> None:
        """Every `idle_seconds`, close as many as were kept unused all along, for as long as
        it is not cancelled."""
        while True:
            self._fewest_kept = self._kept.qsize()
            await asyncio.sleep(self.idle_seconds)
            for _ in range(min(self._fewest_kept, self._kept.qsize())):
                driver = self._kept.get_nowait()
                self._taken -= 1
                try:  # as asyncpg's pool closes one itself: it takes the holder back
                    await driver.close(timeout=POOL_TIMEOUT_SECONDS)
                except Exception as error:
                    log.warning("closing an unused connection failed: %r", error)
                    driver.terminate()

    async def close(self) -> None:
        """The pool's close waits for every connection out to come back to it: from now
        on, those in requests' hands go to the pool, not the stack."""
        self._closing = True
        await asyncio.gather(*self._opening, return_exceptions=True)  # each ends in the pool
        while not self._kept.empty():
            self._taken -= 1
            await self.pool.release(self._kept.get_nowait())
        await self.pool.close()


async def close_idle(engine: AsyncEngine, *, after: float = IDLE_SECONDS) -> None:
    """Close the engine's pooled connections once none has been taken for `after` seconds,
    for as long as it is not cancelled: SQLAlchemy's pool keeps what it opened for good.

    The pool is swapped for an empty one before the old one's connections are closed, with
    no pause between the check and the swap: a checkout from then on opens a connection in
    the new pool, never one being closed. The asyncpg pool beside it (`make_drivers`)
    closes its own idle connections."""
    taken = 0

    def count(*_: object) -> None:
        nonlocal taken
        taken += 1

    event.listen(engine.sync_engine, "checkout", count)  # the new pool inherits it
    try:
        seen = taken
        while True:
            await asyncio.sleep(after)
            pool = engine.sync_engine.pool
            if taken == seen and _holds_only_idle(pool):
                await engine.dispose(close=False)
                try:
                    await greenlet_spawn(pool.dispose)
                except Exception as error:  # the rest close as the old pool is collected
                    log.warning("closing idle connections failed: %r", error)
            seen = taken
    finally:
        event.remove(engine.sync_engine, "checkout", count)


def _holds_only_idle(pool: Pool) -> bool:
    return isinstance(pool, QueuePool) and not pool.checkedout() and pool.checkedin() > 0


async def _nothing_more(driver: asyncpg.Connection) -> None:
    """Released, a connection has its open transaction rolled back by asyncpg in any case;
    its default reset then also runs a query undoing advisory locks, cursors, LISTEN and
    SET, none of which a route's statements leave behind: a round trip per request."""


# SQLSTATE classes of a lost or refused connection: 08 connection exception; 57P01-57P03
# admin shutdown, crash shutdown, cannot connect now (starting up or shutting down).
_UNREACHABLE_STATES = ("08", "57P")


def unreachable(error: BaseException) -> bool:
    """The database, not the request or the event, is at fault: a refused, dropped or timed
    out connection, a pool with none free in time, or a server shutting down or starting up.
    Worth waiting out, not blaming."""
    if isinstance(error, OSError | TimeoutError | PoolTimeout | OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    state = getattr(getattr(error, "orig", None), "sqlstate", None) or getattr(
        error, "sqlstate", None
    )
    return isinstance(state, str) and state.startswith(_UNREACHABLE_STATES)


async def _connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """The route opens the transaction (`async with db.begin()`) and so owns the commit."""
    async with request.app.state.engine.connect() as connection:
        yield connection


async def _autocommit(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit, for requests whose every statement stands alone:
    a one-statement read sees one snapshot anyway, and a write made one statement (see
    outbox.StagedAfter) is atomic anyway; neither need pay BEGIN and COMMIT round trips.
    """
    async with request.app.state.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


class ConnectionLost(ConnectionError):
    """asyncpg's own connection broke under a request: answered as any unreachable database."""


_LOST = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


class Driver:
    """`async with Driver(request) as driver`: a connection from the drivers' pool, outside
    any transaction, so each statement commits on its own, as in AutocommitDb. One the
    database dropped is answered as an unreachable database; the pool opens a new one in
    its place.

    Taken in the route's body, not as a dependency: FastAPI's cleanup of a dependency with
    yield cost ~50 µs a request, near a tenth of a refused reservation; and the
    connection goes back before the answer is written."""

    def __init__(self, request: Request) -> None:
        self._drivers: Drivers = request.app.state.drivers
        self._driver: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._driver = await self._drivers.take()
        return self._driver

    async def __aexit__(self, kind: object, error: BaseException | None, _trace: object) -> None:
        driver, self._driver = self._driver, None
        assert driver is not None, "entered before exited"
        try:
            if isinstance(error, _LOST) and _closed(driver):
                raise ConnectionLost(str(error)) from error
        finally:
            await self._drivers.give_back(driver)


def _closed(driver: asyncpg.Connection) -> bool:
    """The pool detaches a connection that closed from its proxy, which then refuses even
    this question: still inside `acquire`, that can only mean closed."""
    try:
        return bool(driver.is_closed())
    except asyncpg.InterfaceError:
        return True


async def _engine(request: Request) -> AsyncEngine:
    """For a route that must not hold a connection while it waits on something slow (a
    password hash, the card processor): it connects around the parts that need one."""
    engine: AsyncEngine = request.app.state.engine
    return engine


Db = Annotated[AsyncConnection, Depends(_connection)]
Engine = Annotated[AsyncEngine, Depends(_engine)]
AutocommitDb = Annotated[AsyncConnection, Depends(_autocommit)]
