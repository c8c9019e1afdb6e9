"""The busiest statements, written in Core like every other, compiled once and run on a
plain asyncpg connection.

Through SQLAlchemy each execution pays for a cache key, a compiled-cache lookup, an
execution context, a result wrapper and a greenlet switch: for a one-row SELECT about four
times the CPU of the same statement on plain asyncpg. Where that is most of a route's cost
(a flash sale's reservations, nearly all refused), the route opens `db.Driver` and its store
`Prepared` statements; asyncpg prepares each once per connection and keeps it.

Inside a listener's transaction (or a route's `async with db.begin()`), `fetch_in` and
`fetchrow_in` run a statement on the asyncpg connection under the caller's SQLAlchemy one:
the same connection, so the same transaction. SQLAlchemy begins a transaction with its
first statement, not at `begin()`; until it has, they run the statement through SQLAlchemy
instead, so nothing ever runs outside the transaction it was written for.
"""

from collections.abc import Mapping, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy import Row
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class Prepared:
    """A Core statement whose values are all named `bindparam`s, as asyncpg's SQL ($1, $2,
    …) and the names in that order. Values go to asyncpg as they are: a JSONB value as its
    JSON text (asyncpg's own codec takes text)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = cast(Executable, statement)  # every statement one is made of
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:  # an IN list: its parameters are known only per call
            raise ValueError("a prepared statement takes single values only")
        self.names = tuple(compiled.positiontup or ())
        # What the statement says itself (a literal's value): the rest must be given.
        self._fixed = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[name] if name in values else self._fixed[name] for name in self.names]

    async def fetch(
        self, driver: asyncpg.Connection, values: Mapping[str, Any]
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await driver.fetch(self.sql, *self.arguments(values))
        return rows

    async def fetchrow(
        self, driver: asyncpg.Connection, values: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await driver.fetchrow(self.sql, *self.arguments(values))
        return row

    async def fetch_in(
        self, db: AsyncConnection, values: Mapping[str, Any]
    ) -> Sequence[asyncpg.Record | Row[Any]]:
        """The rows, run in `db`'s transaction (see the module's docstring)."""
        driver = _in_transaction(db)
        if driver is None:
            return list((await db.execute(self.statement, values)).all())
        return await self.fetch(driver, values)

    async def fetchrow_in(
        self, db: AsyncConnection, values: Mapping[str, Any]
    ) -> asyncpg.Record | Row[Any] | None:
        """The first row or None (a statement without RETURNING: None), run in `db`'s
        transaction (see the module's docstring)."""
        driver = _in_transaction(db)
        if driver is None:
            result = await db.execute(self.statement, values)
            return result.first() if result.returns_rows else None
        return await self.fetchrow(driver, values)


def driver_under(db: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `db`, which has just run a statement."""
    connection = db.sync_connection
    assert connection is not None, "a connection that has run a statement is connected"
    driver: asyncpg.Connection = connection.connection.driver_connection
    return driver


def _in_transaction(db: AsyncConnection) -> asyncpg.Connection | None:
    """The asyncpg connection under `db`, if a transaction has begun on it; None if not
    (yet), or if SQLAlchemy has given the connection up (its own path then says why)."""
    connection = db.sync_connection
    if connection is None or connection.invalidated or connection.closed:
        return None
    driver = driver_under(db)
    return driver if driver.is_in_transaction() else None
