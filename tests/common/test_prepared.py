"""A Core statement compiled once for asyncpg gives what SQLAlchemy would, on a real server."""

from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import Integer, String, bindparam, column, func, literal, select, values

from ticketing.common.database_url import libpq_dsn
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
