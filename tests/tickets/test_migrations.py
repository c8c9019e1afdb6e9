"""The migrations build exactly the tables models.py describes, and resale's step goes both ways."""

from uuid import uuid4

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.migration_checks import schema_differences
from ticketing.common.migrations import _config
from ticketing.tickets.models import Base


async def test_migrated_schema_matches_the_models(postgres):
    assert await schema_differences(postgres, "tickets", Base.metadata) == []


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
