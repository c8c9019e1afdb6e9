"""The embedded servers a newcomer's machine gets, including the no-PostgreSQL fallback."""

import asyncpg

from ticketing.common.migrations import migrate
from ticketing.runtime.nats import EmbeddedNats
from ticketing.runtime.postgres import EmbeddedPostgres
from ticketing.runtime.provision import ensure_database
from ticketing.runtime.urls import database_url


async def test_the_pgserver_fallback_serves_migrations_and_queries(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pg", use_pgserver=True)
    admin = server.start()
    try:
        await ensure_database(admin, "ticketing_auth")
        url = database_url(admin, "ticketing_auth")
        await migrate(url, "ticketing.auth:migrations")
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM users") == 0
        finally:
            await conn.close()
    finally:
        server.stop()


def test_nats_restarts_on_its_port_and_keeps_its_store(tmp_path):
    server = EmbeddedNats(tmp_path / "nats")
    first = server.start()
    server.stop()
    try:
        assert server.start() == first
        assert (tmp_path / "nats" / "jetstream").exists()
    finally:
        server.stop()
