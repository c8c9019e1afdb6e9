"""Create and migrate the services' databases, in a short-lived child of `ticketing up`.

Migrating loads SQLAlchemy, Alembic and every service's models: ~30 MB that `ticketing
up`, which stays up as supervisor and gateway, would otherwise keep for as long as it
runs; here they are freed when the child exits. The child prints each database's name as
soon as it is at head, so the supervisor starts that service while the next one migrates.

    TICKETING_ADMIN_URL=postgresql://… python -m ticketing.runtime.provision \\
        ticketing_auth ticketing.auth:migrations ticketing_tickets ticketing.tickets:migrations

The supervisor imports this module for its two names only, so the heavy imports are
inside the functions the child runs.
"""

import asyncio
import os
import sys

from ticketing.runtime.urls import database_url

ADMIN_URL = "TICKETING_ADMIN_URL"  # in the environment: a password has no place in argv
READY = "migrated "  # the line the supervisor waits for, followed by the database's name


async def ensure_database(admin_url: str, database: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def provision(admin_url: str, databases: list[tuple[str, str]]) -> None:
    """`databases`: (database name, Alembic script location), in the order to start them."""
    from ticketing.common.migrations import migrate

    for database, script_location in databases:
        await ensure_database(admin_url, database)
        await migrate(database_url(admin_url, database), script_location)
        print(READY + database, flush=True)


def main(argv: list[str]) -> None:
    pairs = list(zip(argv[::2], argv[1::2], strict=True))
    asyncio.run(provision(os.environ[ADMIN_URL], pairs))


if __name__ == "__main__":
    main(sys.argv[1:])
