"""The migrations build exactly the tables models.py describes."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from ticketing.common.bus.tables import metadata as bus_metadata
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
