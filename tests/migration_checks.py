"""What every service's migrations test asks first: does its migrated database hold exactly
the tables its models describe? Common's bus tables are tested in common."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from ticketing.common.bus.tables import metadata as bus_metadata

NOT_OURS = {*bus_metadata.tables, "alembic_version"}


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name not in NOT_OURS


async def schema_differences(postgres, service: str, metadata: MetaData) -> list:
    """Alembic's differences between `service`'s freshly migrated database and `metadata`."""

    def compared(connection) -> list:
        context = MigrationContext.configure(connection, opts={"include_object": _ours})
        return compare_metadata(context, metadata)

    engine = create_async_engine(await postgres.fresh_database(service))
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compared)
    finally:
        await engine.dispose()
