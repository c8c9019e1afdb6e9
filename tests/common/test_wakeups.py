"""A Bell wakes its loops once the work written is committed, never before, never for
work rolled back."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from tests.common.bus_support import engine, settle
from ticketing.common.database_url import libpq_dsn
from ticketing.common.prepared import driver_under
from ticketing.common.wakeups import Bell, run_woken

WORK = """
CREATE TABLE work (
    id integer PRIMARY KEY,
    -- checked at commit: a transaction can write a row and then fail to commit
    twin integer UNIQUE DEFERRABLE INITIALLY DEFERRED
)
"""


@pytest.fixture
async def url(postgres) -> str:
    made = await postgres.empty_database()
    conn = await asyncpg.connect(libpq_dsn(made))
    try:
        await conn.execute(WORK)
    finally:
        await conn.close()
    return made


@pytest.fixture
async def driver(url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        yield conn
    finally:
        await conn.close()


class Rings:
    """What a loop waiting on the bell would see: each ring, with whether the work was by
    then visible to another connection (committed)."""

    def __init__(self, bell: Bell, url: str) -> None:
        self.wake = asyncio.Event()
        self._bell = bell
        self._url = url
        self.seen: list[int] = []  # rows committed at each ring

    async def __aenter__(self) -> "Rings":
        self._observer = await asyncpg.connect(libpq_dsn(self._url))
        self._stack = self._bell.wakes(self.wake)
        self._stack.__enter__()
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *_exc) -> None:
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task
        self._stack.__exit__(None, None, None)
        await self._observer.close()

    async def _watch(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            self.seen.append(await self._observer.fetchval("SELECT count(*) FROM work"))


async def test_work_standing_alone_rings_at_once(url, driver):
    bell = Bell()
    async with Rings(bell, url) as rings:
        await driver.execute("INSERT INTO work (id) VALUES (1)")
        bell.after_commit(driver)
        await settle(0.1)
    assert rings.seen == [1]


async def test_work_in_a_transaction_rings_once_committed_and_only_then(url, driver):
    bell = Bell()
    async with Rings(bell, url) as rings:
        async with driver.transaction():
            for i in range(3):  # three writes, one ring
                await driver.execute("INSERT INTO work (id) VALUES ($1)", i)
                bell.after_commit(driver)
            await settle(0.1)
            assert rings.seen == []
        await settle(0.1)
    assert rings.seen == [3]  # the work was visible when the loop woke


async def test_work_rolled_back_never_rings_nor_does_a_later_commit(url, driver):
    bell = Bell()
    async with Rings(bell, url) as rings:
        with pytest.raises(RuntimeError):
            async with driver.transaction():
                await driver.execute("INSERT INTO work (id) VALUES (1)")
                bell.after_commit(driver)
                raise RuntimeError("the use case failed")
        async with driver.transaction():  # no work in this one
            await driver.execute("SELECT 1")
        await settle(0.1)
    assert rings.seen == []


async def test_a_commit_that_fails_does_not_ring(url, driver):
    bell = Bell()
    async with Rings(bell, url) as rings:
        with pytest.raises(asyncpg.UniqueViolationError):
            async with driver.transaction():
                await driver.execute("INSERT INTO work (id, twin) VALUES (1, 7), (2, 7)")
                bell.after_commit(driver)  # the duplicate twin is refused at COMMIT
        await settle(0.1)
    assert rings.seen == []


async def test_a_sqlalchemy_transaction_rings_once_committed(url):
    bell = Bell()
    async with engine(url) as db_engine, Rings(bell, url) as rings:
        async with db_engine.begin() as db:
            await db.execute(text("INSERT INTO work (id) VALUES (1)"))
            bell.after_commit(driver_under(db))
            await settle(0.1)
            assert rings.seen == []
        await settle(0.1)
    assert rings.seen == [1]


async def test_a_woken_loop_runs_at_each_ring_not_only_at_its_sleep_cap(driver):
    bell = Bell()
    ticks = 0

    async def tick() -> float:
        nonlocal ticks
        ticks += 1
        return 30.0

    loop = asyncio.create_task(run_woken(bell, tick, max_sleep_seconds=30, name="probe"))
    await settle(0.1)
    for _ in range(3):
        await driver.execute("INSERT INTO work (id) VALUES ((SELECT count(*) FROM work))")
        bell.after_commit(driver)
        await settle(0.1)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert ticks == 4  # the first, then one per ring
