"""The first migration builds exactly the tables the models describe, plus the bus tables."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ticketing.common.db import make_engine
from ticketing.payments.models import Base

BUS_TABLES = {"outbox", "processed_events"}


def _differences(connection) -> list:
    context = MigrationContext.configure(connection)
    return [
        diff
        for diff in compare_metadata(context, Base.metadata)
        if not (diff[0] == "remove_table" and diff[1].name in BUS_TABLES)
        and not (diff[0] == "remove_index" and diff[1].table.name in BUS_TABLES)
    ]


async def test_the_migrated_schema_matches_the_models(postgres):
    engine = make_engine(await postgres.fresh_database("payments"))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
