"""The migrations build exactly the tables models.py describes, and resale's step goes both ways."""

from uuid import uuid4

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from ticketing.common.bus.tables import metadata as bus_metadata
from ticketing.common.migrations import _config
from ticketing.tickets.models import Base

NOT_OURS = {*bus_metadata.tables, "alembic_version"}  # common's tables, tested in common


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name not in NOT_OURS


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"include_object": _ours})
    return compare_metadata(context, Base.metadata)


async def test_migrated_schema_matches_the_models(postgres):
    engine = create_async_engine(await postgres.fresh_database("tickets"))
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


def _move(connection, url: str, revision: str, *, down: bool = False) -> None:
    config = _config("ticketing.tickets:migrations", url)
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


INSERT_TICKET = text(
    "INSERT INTO tickets (id, title, price_cents, user_id, version, status) "
    "VALUES (:id, 'Show', 2500, :id, 2, 'sold')"
)


async def test_tickets_listed_before_resale_are_first_sales_and_the_step_comes_back_out(postgres):
    url = await postgres.empty_database()
    engine = create_async_engine(url)
    ticket = uuid4()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_move, url, "0001")
            await conn.execute(INSERT_TICKET, {"id": ticket})
        async with engine.begin() as conn:
            await conn.run_sync(_move, url, "head")
            row = (await conn.execute(text("SELECT sale, taken_down FROM tickets"))).one()
        assert (row.sale, row.taken_down) == (0, False)
        with pytest.raises(IntegrityError, match="ck_tickets_price_capped"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE tickets SET price_cap_cents = 2000"))
        async with engine.begin() as conn:
            await conn.run_sync(_move, url, "0001", down=True)
            assert await conn.scalar(text("SELECT count(*) FROM tickets")) == 1
            await conn.run_sync(_move, url, "head")
    finally:
        await engine.dispose()
