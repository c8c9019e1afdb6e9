"""The migrations build exactly the tables models.py describes."""

from uuid import uuid4

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.migration_checks import schema_differences
from ticketing.common.migrations import _config
from ticketing.orders.models import Base


async def test_migrated_schema_matches_the_models(postgres):
    assert await schema_differences(postgres, "orders", Base.metadata) == []


def _upgrade(connection, url: str, revision: str) -> None:
    config = _config("ticketing.orders:migrations", url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_orders_placed_before_prices_were_kept_get_their_tickets_price(postgres):
    url = await postgres.empty_database()
    engine = create_async_engine(url)
    ticket, order = uuid4(), uuid4()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, url, "0001")
            await conn.execute(
                text(
                    "INSERT INTO tickets (id, title, price_cents, user_id, version, status, "
                    "withdrawn) VALUES (:id, 'Show', 2500, :id, 1, 'reserved', false)"
                ),
                {"id": ticket},
            )
            await conn.execute(
                text(
                    "INSERT INTO orders (id, user_id, ticket_id, status, expires_at, version) "
                    "VALUES (:id, :id, :ticket, 'created', now(), 0)"
                ),
                {"id": order, "ticket": ticket},
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, url, "head")
            price = await conn.scalar(text("SELECT price_cents FROM orders"))
        assert price == 2500
    finally:
        await engine.dispose()


def _downgrade(connection, url: str, revision: str) -> None:
    config = _config("ticketing.orders:migrations", url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_orders_before_resale_belong_to_the_first_sale_and_the_step_comes_back_out(postgres):
    url = await postgres.empty_database()
    engine = create_async_engine(url)
    ticket = uuid4()
    insert_order = (
        "INSERT INTO orders (id, user_id, ticket_id, status, expires_at, version, price_cents"
        "{sale}) VALUES (:id, :id, :ticket, 'complete', now(), 2, 2500{bound})"
    )
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, url, "0002")
            await conn.execute(
                text(
                    "INSERT INTO tickets (id, title, price_cents, user_id, version, status, "
                    "withdrawn) VALUES (:id, 'Show', 2500, :id, 2, 'sold', false)"
                ),
                {"id": ticket},
            )
            await conn.execute(
                text(insert_order.format(sale="", bound="")), {"id": uuid4(), "ticket": ticket}
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, url, "head")
            sales = (
                await conn.execute(text("SELECT o.sale, t.sale FROM orders o, tickets t"))
            ).one()
            assert tuple(sales) == (0, 0)
            # the resale's order holds its own sale beside the first sale's complete one
            resale = text(insert_order.format(sale=", sale", bound=", 1"))
            await conn.execute(resale, {"id": uuid4(), "ticket": ticket})
        with pytest.raises(IntegrityError, match="uq_orders_active_ticket_sale"):
            async with engine.begin() as conn:
                await conn.execute(resale, {"id": uuid4(), "ticket": ticket})
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM orders WHERE sale = 1"))
            await conn.run_sync(_downgrade, url, "0002")
            indexes = await conn.scalars(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
            )
            assert "uq_orders_active_ticket" in set(indexes)
    finally:
        await engine.dispose()
