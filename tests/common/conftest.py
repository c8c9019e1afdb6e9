import pytest

from ticketing.common.migrations import migrate


@pytest.fixture
async def probe_db(postgres) -> str:
    url = await postgres.empty_database()
    await migrate(url, "tests.common:probe_migrations")
    return url
