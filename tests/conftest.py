"""One PostgreSQL and one NATS per test run: embedded, or DATABASE_URL / NATS_URL."""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from ticketing.common.database_url import asyncpg_url, libpq_dsn
from ticketing.common.migrations import migrate
from ticketing.runtime.nats import EmbeddedNats
from ticketing.runtime.postgres import EmbeddedPostgres

# settings, app, client, engine, buyer, seller for any suite whose conftest names a `service`
pytest_plugins = ["tests.services"]


class Postgres:
    """Hands each test a fresh database, cloned from a template migrated once per run."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = libpq_dsn(admin_url)
        self._templates: dict[str, str] = {}
        self.created: list[str] = []

    def url_for(self, database: str) -> str:
        url = make_url(self.admin_url).set(database=database)
        return asyncpg_url(url.render_as_string(hide_password=False))

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def fresh_database(self, service: str) -> str:
        if service not in self._templates:
            template = f"tmpl_{service}_{uuid4().hex[:8]}"
            await self._admin(f'CREATE DATABASE "{template}"')
            self.created.append(template)
            await migrate(self.url_for(template), f"ticketing.{service}:migrations")
            self._templates[service] = template
        name = f"test_{service}_{uuid4().hex[:10]}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._templates[service]}"')
        self.created.append(name)
        return self.url_for(name)

    async def empty_database(self) -> str:
        name = f"test_empty_{uuid4().hex[:10]}"
        await self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url_for(name)

    async def drop_all(self) -> None:
        for name in reversed(self.created):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Nats:
    """`url` carries the admin user, so fixtures and per-service apps connect as before;
    `credentials(service)` is that service's own user (embedded server only)."""

    def __init__(self, url: str, server: EmbeddedNats | None) -> None:
        self.url = url
        self.server = server

    @classmethod
    def embedded(cls, server: EmbeddedNats) -> "Nats":
        server.start()
        return cls(server.admin_url, server)

    def credentials(self, user: str) -> tuple[str, str]:
        if self.server is None:
            pytest.skip("a given NATS_URL has no per-service users known to the tests")
        return self.server.credentials(user)


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ticketing-tests-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
async def postgres(workdir: Path) -> AsyncIterator[Postgres]:
    if url := os.environ.get("DATABASE_URL"):
        pg = Postgres(url)
        yield pg
        await pg.drop_all()
        return
    server = EmbeddedPostgres(workdir / "postgres", durable=False)
    try:
        yield Postgres(server.start())
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats(workdir: Path) -> Iterator[Nats]:
    if url := os.environ.get("NATS_URL"):
        yield Nats(url, None)
        return
    server = EmbeddedNats(workdir / "nats")
    try:
        yield Nats.embedded(server)
    finally:
        server.stop(grace_seconds=0)  # its store goes with the run
