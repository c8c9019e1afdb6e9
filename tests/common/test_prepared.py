"""A Core statement compiled once for asyncpg gives what SQLAlchemy would, on a real server,
and in a caller's transaction stays inside it."""

import contextlib
from uuid import uuid4

import asyncpg
import pytest
import sqlalchemy.event
from sqlalchemy import Integer, String, bindparam, column, func, literal, select, values

from tests.common.probe import replicas
from ticketing.common.database_url import asyncpg_url, libpq_dsn
from ticketing.common.db import make_engine
from ticketing.common.prepared import Prepared

ROWS = values(column("id", String), column("n", Integer), name="rows").data([("a", 1), ("b", 2)])


async def test_named_values_and_the_statements_own_literals_both_reach_the_server(postgres):
    statement = Prepared(
        select(ROWS.c.n, literal("fixed"), func.upper(bindparam("word", type_=String))).where(
            ROWS.c.id == bindparam("id", type_=String)
        )
    )
    driver = await asyncpg.connect(libpq_dsn(await postgres.empty_database()))
    try:
        row = await statement.fetchrow(driver, {"id": "b", "word": "hi"})
        missing = await statement.fetchrow(driver, {"id": "zz", "word": "hi"})
    finally:
        await driver.close()
    assert row is not None and tuple(row) == (2, "fixed", "HI")
    assert missing is None


def test_a_value_left_out_is_an_error_not_a_null():
    statement = Prepared(select(ROWS.c.n).where(ROWS.c.id == bindparam("id", type_=String)))
    with pytest.raises(KeyError):
        statement.arguments({})


def test_an_in_list_is_refused_its_parameters_are_known_only_per_call():
    with pytest.raises(ValueError, match="single values"):
        Prepared(select(ROWS.c.n).where(ROWS.c.id.in_([str(uuid4()), "b"])))


_ADD = Prepared(
    replicas.insert()
    .values(id=bindparam("id"), title=bindparam("title"), version=0, applied=0)
    .returning(replicas.c.id)
)


_CLEAR = Prepared(replicas.delete().where(replicas.c.title == bindparam("title")))


async def _titles(engine) -> list[str]:
    async with engine.connect() as db:
        return list((await db.execute(select(replicas.c.title))).scalars())


async def test_in_a_transaction_it_runs_on_the_driver_and_commits_or_rolls_back_with_it(
    probe_db,
):
    engine = make_engine(asyncpg_url(probe_db))
    through_sqlalchemy: list[str] = []
    sqlalchemy.event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda *args: through_sqlalchemy.append(args[2]),
    )
    try:
        for title in ("kept", "rolled back"):
            with contextlib.suppress(RuntimeError):
                async with engine.begin() as db:
                    await db.execute(select(replicas.c.id).limit(1))  # the transaction begins
                    seen = len(through_sqlalchemy)
                    row = await _ADD.fetchrow_in(db, {"id": uuid4(), "title": title})
                    assert row is not None and len(through_sqlalchemy) == seen  # the driver's
                    if title == "rolled back":
                        raise RuntimeError("the caller's transaction fails")
        assert await _titles(engine) == ["kept"]
    finally:
        await engine.dispose()


async def test_before_the_transaction_has_begun_it_goes_through_sqlalchemy_inside_it(probe_db):
    """SQLAlchemy begins at its first statement: run on the driver before then, the insert
    would have committed on its own, whatever became of the caller's transaction."""
    engine = make_engine(asyncpg_url(probe_db))
    try:
        async with engine.begin() as db:  # a statement without RETURNING: None, not an error
            assert await _CLEAR.fetchrow_in(db, {"title": "nobody's"}) is None
        with contextlib.suppress(RuntimeError):
            async with engine.begin() as db:
                assert await _ADD.fetchrow_in(db, {"id": uuid4(), "title": "first"}) is not None
                second = {"id": uuid4(), "title": "second"}
                assert await _ADD.fetchrow_in(db, second) is not None
                raise RuntimeError("the caller's transaction fails")
        assert await _titles(engine) == []
    finally:
        await engine.dispose()
