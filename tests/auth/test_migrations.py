"""The migrations build exactly the tables models.py describes, and keep recent failures."""

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.migration_checks import schema_differences
from ticketing.auth.domain import digest
from ticketing.auth.models import Base
from ticketing.common.migrations import _config


async def test_migrated_schema_matches_the_models(postgres):
    assert await schema_differences(postgres, "auth", Base.metadata) == []


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
