"""The migrations build exactly the tables models.py describes."""

from uuid import uuid4

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ticketing.common.bus.tables import metadata as bus_metadata
from ticketing.common.migrations import _config
from ticketing.orders.models import Base

NOT_OURS = {*bus_metadata.tables, "alembic_version"}  # common's tables, tested in common


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name not in NOT_OURS


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"include_object": _ours})
    return compare_metadata(context, Base.metadata)


async def test_migrated_schema_matches_the_models(postgres):
    engine = create_async_engine(await postgres.fresh_database("orders"))
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


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
