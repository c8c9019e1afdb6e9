"""The engine every service builds: bound values kept out of error messages and logs, and
broken connections discarded on every path."""

import asyncio
import contextlib
import logging

import asyncpg
import httpx
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.support import backends, eventually
from ticketing.common import db
from ticketing.common.database_url import libpq_dsn
from ticketing.common.db import Driver, close_idle, make_drivers, make_engine
from ticketing.common.errors import install_error_handlers

EMAIL = "someone.private@example.com"


async def test_a_failing_statement_names_no_bound_value(postgres, caplog):
    """Error messages end up in logs and error reports; a user's e-mail must not."""
    engine = make_engine(await postgres.empty_database())
    failure = None
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text("SELECT 1 / 0 WHERE CAST(:email AS text) <> ''"), {"email": EMAIL}
            )
    except DBAPIError as error:
        logging.getLogger("ticketing").exception("statement failed")
        failure = error
    finally:
        await engine.dispose()
    assert failure is not None and "division by zero" in str(failure)
    assert EMAIL not in str(failure)
    assert EMAIL not in repr(failure)
    assert EMAIL not in caplog.text


async def test_a_driver_connection_the_database_dropped_answers_503_once_then_a_new_one(
    postgres,
):
    """Driver hands out a plain asyncpg connection, past SQLAlchemy's disconnect handling:
    one that breaks under a request is answered as an unreachable database, and the next
    request gets a new one, not the dead one again."""
    app = _drivers_app()
    async with _serving(app, await postgres.empty_database(), size=1) as client:
        first = (await client.get("/pid")).json()
        dropped = await client.get("/dropped")
        again = await client.get("/pid")
    assert dropped.status_code == 503
    assert dropped.json() == {"errors": [{"message": "Error connecting to database"}]}
    assert again.status_code == 200 and again.json() != first


async def test_a_driver_connection_goes_back_to_the_pool_with_no_transaction_open(postgres):
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/left-open")
    async def left_open(request: Request) -> int:
        async with Driver(request) as driver:
            await driver.execute("BEGIN")
            return int(await driver.fetchval("SELECT pg_backend_pid()"))

    @app.get("/state")
    async def state(request: Request) -> list:
        async with Driver(request) as driver:
            in_transaction = driver.is_in_transaction()
            return [in_transaction, await driver.fetchval("SELECT pg_backend_pid()")]

    app.state.drivers = await make_drivers(await postgres.empty_database(), size=1)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            pid = (await client.get("/left-open")).json()
            after = (await client.get("/state")).json()
    finally:
        await app.state.drivers.close()
    assert after == [False, pid]  # the same connection, its transaction rolled back


async def _burst(engine, drivers, width: int) -> set[int]:
    """`width` connections from each pool at once, as a burst takes them; their backends."""

    async def through_engine() -> int:
        async with engine.connect() as conn:
            await asyncio.sleep(0.05)
            return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    async def through_driver() -> int:
        async with drivers.acquire() as driver:
            await asyncio.sleep(0.05)
            return int(await driver.fetchval("SELECT pg_backend_pid()"))

    pids = await asyncio.gather(
        *(through_engine() for _ in range(width)), *(through_driver() for _ in range(width))
    )
    return set(pids)


async def test_the_connections_a_burst_opened_are_closed_once_unused_and_opened_when_needed(
    postgres,
):
    """SQLAlchemy's pool would keep every connection a burst opened for good, each a
    backend of the database's memory; unused for a while, they are closed, and the next
    request opens what it needs."""
    url = await postgres.empty_database()
    dsn = libpq_dsn(url)
    engine = make_engine(url)
    drivers = await make_drivers(url, idle_seconds=0.3)
    closer = asyncio.create_task(close_idle(engine, after=0.3))
    unused = asyncio.create_task(drivers.close_unused())
    try:
        opened = await _burst(engine, drivers, 4)
        assert len(opened) == 8 and opened <= await backends(dsn)
        await eventually(lambda: _no_backends(dsn), timeout=10)  # the idle ones closed
        assert len(await _burst(engine, drivers, 2)) == 4  # each opens again what it needs
    finally:
        closer.cancel()
        unused.cancel()
        await drivers.close()
        await engine.dispose()


async def _no_backends(dsn: str) -> bool:
    return not await backends(dsn)


async def test_a_connection_in_use_or_used_steadily_is_not_closed(postgres):
    """A service that keeps working keeps its connection: only a pool no one has taken
    from for the whole wait is emptied, and never while one of its connections is out."""
    url = await postgres.empty_database()
    dsn = libpq_dsn(url)
    engine = make_engine(url)
    closer = asyncio.create_task(close_idle(engine, after=0.5))
    try:
        async with engine.connect() as held:
            async with engine.connect() as other:
                idle_pid = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            held_pid = (await held.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.sleep(1.6)  # three waits with one connection out
            assert {idle_pid, held_pid} <= await backends(dsn)
        steady = set()
        for _ in range(30):  # 1.5 s, a statement every 0.05 s
            async with engine.connect() as conn:
                steady.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await asyncio.sleep(0.05)
        assert len(steady) <= 2  # the two connections already open, none opened anew
        assert steady <= {idle_pid, held_pid}
        await eventually(lambda: _no_backends(dsn), timeout=10)
    finally:
        closer.cancel()
        await engine.dispose()


def _drivers_app() -> FastAPI:
    """Routes on `Driver`: one answering its backend, one holding its connection a while,
    one whose statement runs long, one whose connection is dropped under it."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/pid")
    async def backend_pid(request: Request) -> int:
        async with Driver(request) as driver:
            return int(await driver.fetchval("SELECT pg_backend_pid()"))

    @app.get("/held")
    async def held(request: Request) -> int:
        async with Driver(request) as driver:
            await asyncio.sleep(0.2)
            return int(await driver.fetchval("SELECT pg_backend_pid()"))

    @app.get("/slow")
    async def slow(request: Request) -> None:
        async with Driver(request) as driver:
            await driver.execute("SELECT pg_sleep(5)")

    @app.get("/dropped-late")
    async def dropped_while_others_wait(request: Request) -> None:
        async with Driver(request) as driver:
            with contextlib.suppress(asyncpg.PostgresError):
                await driver.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            await asyncio.sleep(0.3)
            await driver.execute("SELECT 1")

    @app.get("/dropped")
    async def dropped_between_two_statements(request: Request) -> None:
        async with Driver(request) as driver:
            with contextlib.suppress(asyncpg.PostgresError):  # the first statement's own
                await driver.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            await driver.execute("SELECT 1")  # on a connection that is gone

    return app


@contextlib.asynccontextmanager
async def _serving(app: FastAPI, url: str, size: int):
    app.state.drivers = await make_drivers(url, size=size, idle_seconds=0.3)
    unused = asyncio.create_task(app.state.drivers.close_unused())
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        unused.cancel()
        await app.state.drivers.close()


async def test_a_request_cancelled_mid_statement_does_not_hand_its_connection_on_mid_statement(
    postgres,
):
    """The next request waits for the statement's cancel to finish, as asyncpg's pool has it
    wait, instead of finding the connection still busy."""
    app, url = _drivers_app(), await postgres.empty_database()
    async with _serving(app, url, size=1) as client:
        slow = asyncio.create_task(client.get("/slow"))
        await eventually(lambda: _sleeping(url))
        slow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await slow
        answer = await client.get("/pid")
    assert answer.status_code == 200, answer.text


async def test_a_request_waiting_for_the_one_connection_gets_it_as_it_comes_back(
    postgres, monkeypatch
):
    """Given back, a connection goes to whoever waits for one; and with none back in time,
    the wait ends in a 503, not a hang."""
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 1.0)
    app, url = _drivers_app(), await postgres.empty_database()
    async with _serving(app, url, size=1) as client:
        answers = await asyncio.gather(*(client.get("/held") for _ in range(3)))
        assert [a.status_code for a in answers] == [200] * 3
        assert len({a.json() for a in answers}) == 1  # one connection, taken in turn
        slow = asyncio.create_task(client.get("/slow"))
        await eventually(lambda: _sleeping(url))
        waited = await client.get("/pid")
        slow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await slow
    assert waited.status_code == 503


async def test_a_request_waiting_when_the_connection_out_breaks_gets_a_new_one(
    postgres, monkeypatch
):
    """The broken one goes back to the pool, not to the waiter: the pool opens the waiter
    another rather than let it wait out the timeout (a 503) with room to open one."""
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 1.0)
    app, url = _drivers_app(), await postgres.empty_database()
    async with _serving(app, url, size=1) as client:
        breaking = asyncio.create_task(client.get("/dropped-late"))
        await asyncio.sleep(0.05)  # it holds the one connection
        waited = await client.get("/pid")
        broke = await breaking
    assert broke.status_code == 503  # its own connection was gone
    assert waited.status_code == 200, waited.text


async def test_a_driver_used_steadily_keeps_a_connection_and_a_burst_s_extra_ones_go(postgres):
    url = await postgres.empty_database()
    dsn = libpq_dsn(url)
    app = _drivers_app()
    async with _serving(app, url, size=4) as client:
        burst = await asyncio.gather(*(client.get("/held") for _ in range(4)))
        opened = {a.json() for a in burst}
        assert len(opened) == 4
        steady = set()
        for _ in range(30):  # 1.5 s, a request every 0.05 s: one connection is all it needs
            steady.add((await client.get("/pid")).json())
            await asyncio.sleep(0.05)
        left = await backends(dsn)
    assert steady <= opened  # none opened anew
    assert len(left) == 1 and left <= steady  # the others closed as it went on


async def _sleeping(url: str) -> bool:
    """A statement of `/slow` running in the database."""
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        query = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)'"
        return bool(await conn.fetchval(query + " AND state = 'active'"))
    finally:
        await conn.close()


async def test_connections_the_database_dropped_while_kept_are_replaced_not_failed(postgres):
    """A database restart ends every connection kept between requests; the requests after
    it get new ones, as asyncpg's pool would give them, not an error each."""
    url = await postgres.empty_database()
    app = _drivers_app()
    async with _serving(app, url, size=3) as client:
        before = await asyncio.gather(*(client.get("/held") for _ in range(3)))
        dropped = {a.json() for a in before}
        admin = await asyncpg.connect(libpq_dsn(url))
        try:
            for pid in dropped:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        await eventually(lambda: _no_backends(libpq_dsn(url)))
        await asyncio.sleep(0.1)  # the clients hear of it
        after = [await client.get("/pid") for _ in range(3)]
    assert [a.status_code for a in after] == [200] * 3
    assert not {a.json() for a in after} & dropped


async def test_closing_the_drivers_waits_for_a_request_still_holding_one_and_ends(postgres):
    """The pool's close waits for every connection out; one given back after the close
    began must reach the pool, or the close would wait for ever."""
    drivers = await make_drivers(await postgres.empty_database(), size=2)
    async with drivers.acquire() as kept:
        await kept.fetchval("SELECT 1")
    held = await drivers.take()
    closing = asyncio.create_task(drivers.close())
    await asyncio.sleep(0.1)
    assert not closing.done()  # still out: the close waits for it
    await drivers.give_back(held)
    await asyncio.wait_for(closing, timeout=5)
