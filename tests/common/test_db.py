"""The engine every service builds: bound values kept out of error messages and logs, and
broken connections discarded on every path."""

import contextlib
import logging

import asyncpg
import httpx
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ticketing.common.db import Driver, make_drivers, make_engine
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
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/pid")
    async def backend_pid(request: Request) -> int:
        async with Driver(request) as driver:
            return int(await driver.fetchval("SELECT pg_backend_pid()"))

    @app.get("/dropped")
    async def dropped_between_two_statements(request: Request) -> None:
        async with Driver(request) as driver:
            with contextlib.suppress(asyncpg.PostgresError):  # the first statement's own
                await driver.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            await driver.execute("SELECT 1")  # on a connection that is gone

    url = await postgres.empty_database()
    app.state.drivers = await make_drivers(url, size=1)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = (await client.get("/pid")).json()
            dropped = await client.get("/dropped")
            again = await client.get("/pid")
    finally:
        await app.state.drivers.close()
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
