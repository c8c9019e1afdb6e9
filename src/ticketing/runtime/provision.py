"""Create and migrate the services' databases, in a short-lived child of `ticketing up`.

Migrating loads SQLAlchemy, Alembic and every service's models, memory that `ticketing
up`, which stays up as supervisor and gateway, would otherwise keep for as long as it
runs; here it is freed when the child exits. The child prints each database's name as
soon as it is at head, so the supervisor starts that service while the next one migrates.

Each service gets a login role of its database's name that owns that database and nothing
else: no superuser, no CREATEDB or CREATEROLE, no CONNECT to another service's database.
The service migrates and serves as that role; only this child uses the admin.

    TICKETING_ADMIN_URL=postgresql://… TICKETING_ROLE_PASSWORDS='{"ticketing_auth": …}' \\
        python -m ticketing.runtime.provision \\
        ticketing_auth ticketing.auth:migrations ticketing_tickets ticketing.tickets:migrations

The supervisor imports this module for its names only, so the heavy
imports are inside the functions the child runs.
"""

import asyncio
import importlib
import json
import os
import sys

from ticketing.runtime.urls import database_url, role_url

ADMIN_URL = "TICKETING_ADMIN_URL"  # in the environment: a password has no place in argv
PASSWORDS = "TICKETING_ROLE_PASSWORDS"  # JSON: {role: password}, in the environment too
READY = "migrated "  # the line the supervisor waits for, followed by the database's name

MIGRATIONS = "ticketing.common.migrations"  # Alembic and SQLAlchemy: loaded in the child only

# Run as the admin in a service's database: what an older run created there as the admin
# (tables, their sequences, the public schema before PostgreSQL 15) passes to the role.
HAND_OVER = """
DO $$
DECLARE
    owner text := current_setting('ticketing.owner');
    statement text;
BEGIN
    IF (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public')
            NOT IN (owner, 'pg_database_owner') THEN
        EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner);
    END IF;
    FOR statement IN
        SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, owner)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND pg_get_userbyid(c.relowner) <> owner
        UNION ALL
        SELECT format('ALTER SEQUENCE %s OWNER TO %I', c.oid::regclass, owner)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'S'
            AND pg_get_userbyid(c.relowner) <> owner
            AND NOT EXISTS (  -- a column's own sequence follows its table
                SELECT 1 FROM pg_depend d
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype IN ('a', 'i'))
        UNION ALL
        SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, owner)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r')
            AND pg_get_userbyid(t.typowner) <> owner
        UNION ALL
        SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, owner)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> owner
    LOOP
        EXECUTE statement;
    END LOOP;
END $$
"""


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def ensure_database(admin_url: str, database: str, password: str) -> str:
    """The role `database` with `password`, owning the database `database`, made or put
    right as the admin; answers the URL that signs in as that role."""
    import asyncpg

    name = _identifier(database)
    conn = await asyncpg.connect(admin_url)
    try:
        role_exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", database)
        await conn.execute(
            f"{'ALTER' if role_exists else 'CREATE'} ROLE {name} WITH LOGIN NOSUPERUSER "
            f"NOCREATEDB NOCREATEROLE PASSWORD {_literal(password)}"
        )
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f"ALTER DATABASE {name} OWNER TO {name}")
        else:
            await conn.execute(f"CREATE DATABASE {name} OWNER {name}")
        await conn.execute(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
    finally:
        await conn.close()
    conn = await asyncpg.connect(database_url(admin_url, database))
    try:
        await conn.execute("SELECT set_config('ticketing.owner', $1, false)", database)
        await conn.execute(HAND_OVER)
    finally:
        await conn.close()
    return role_url(admin_url, database, database, password)


async def provision(
    admin_url: str, databases: list[tuple[str, str]], passwords: dict[str, str]
) -> None:
    """`databases`: (database name, Alembic script location), in the order to start them;
    `passwords`: each database's role's password."""
    import asyncpg  # noqa: F401  # here, before the thread below imports beside this one

    made = [
        asyncio.create_task(ensure_database(admin_url, database, passwords[database]))
        for database, _ in databases
    ]
    try:
        # Every role and database is made at once, PostgreSQL's work, while this child
        # loads Alembic and SQLAlchemy, its own: one after the other, they took the start
        # about twice as long. Alembic migrates one database at a time (its context is the
        # module's), in the order asked.
        migrations = await asyncio.to_thread(importlib.import_module, MIGRATIONS)
        for (database, script_location), url in zip(databases, made, strict=True):
            await migrations.migrate(await url, script_location)
            print(READY + database, flush=True)
    finally:
        for task in made:
            task.cancel()
        await asyncio.gather(*made, return_exceptions=True)


def main(argv: list[str]) -> None:
    pairs = list(zip(argv[::2], argv[1::2], strict=True))
    asyncio.run(provision(os.environ[ADMIN_URL], pairs, json.loads(os.environ[PASSWORDS])))
    # All done and said: the interpreter's teardown of Alembic, SQLAlchemy and every
    # service's models (half a second, which the start waited on for the exit status) is
    # skipped. Nothing is left open to close: the connections are, and stdout is flushed.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
