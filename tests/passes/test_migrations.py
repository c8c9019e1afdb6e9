"""The migrations build exactly the tables models.py describes."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.common.bus_support import engine as bus_engine
from tests.passes.builders import make_pass
from ticketing.common.bus.tables import metadata as bus_metadata
from ticketing.passes.domain import PassStatus
from ticketing.passes.models import Base

NOT_OURS = {*bus_metadata.tables, "alembic_version"}  # common's tables, tested in common


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name not in NOT_OURS


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"include_object": _ours})
    return compare_metadata(context, Base.metadata)


async def test_migrated_schema_matches_the_models(postgres):
    engine = create_async_engine(await postgres.fresh_database("passes"))
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_the_database_refuses_a_second_valid_pass_for_a_ticket(postgres):
    async with bus_engine(await postgres.fresh_database("passes")) as engine:
        first = await make_pass(engine)
        await make_pass(engine, ticket_id=first.ticket_id, status=PassStatus.REVOKED)
        with pytest.raises(IntegrityError, match="uq_passes_valid_ticket"):
            await make_pass(engine, ticket_id=first.ticket_id)


async def test_the_database_refuses_a_second_pass_for_an_order_or_an_odd_status(postgres):
    async with bus_engine(await postgres.fresh_database("passes")) as engine:
        first = await make_pass(engine)
        with pytest.raises(IntegrityError, match="uq_passes_order_id"):
            await make_pass(engine, order_id=first.order_id)
        with pytest.raises(IntegrityError, match="ck_passes_status"):
            await make_pass(engine, status="lost")
