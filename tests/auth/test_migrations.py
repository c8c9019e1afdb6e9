"""The migrations build exactly the tables models.py describes, and keep recent failures."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ticketing.auth.domain import digest
from ticketing.auth.models import Base
from ticketing.common.bus.tables import metadata as bus_metadata
from ticketing.common.migrations import _config

NOT_OURS = {*bus_metadata.tables, "alembic_version"}  # common's tables, tested in common


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name not in NOT_OURS


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"include_object": _ours})
    return compare_metadata(context, Base.metadata)


async def test_migrated_schema_matches_the_models(postgres):
    engine = create_async_engine(await postgres.fresh_database("auth"))
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


def _upgrade(connection, url: str, revision: str) -> None:
    config = _config("ticketing.auth:migrations", url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_failures_recorded_before_the_hashed_keys_still_count(postgres):
    url = await postgres.empty_database()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, url, "0001")
            await conn.execute(
                text("INSERT INTO signin_failures (key) VALUES ('email:a@x.io'), ('addr:::1')")
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, url, "head")
            keys = (await conn.execute(text("SELECT key FROM signin_failures"))).scalars()
            assert set(keys) == {digest("email:a@x.io"), digest("addr:::1")}
    finally:
        await engine.dispose()


async def test_the_throttle_migration_can_be_undone(postgres):
    url = await postgres.empty_database()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, url, "0002")
            await conn.execute(text("INSERT INTO signin_failures (key) VALUES ('\\x00ff')"))
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, url, "0001")
            await conn.execute(text("INSERT INTO signin_failures (key) VALUES ('email:a@x.io')"))
    finally:
        await engine.dispose()


def _downgrade(connection, url: str, revision: str) -> None:
    config = _config("ticketing.auth:migrations", url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)
