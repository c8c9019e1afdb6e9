"""init-databases.sql, run by a real psql on a real PostgreSQL as the postgres image runs
it: each service gets a role that owns its database and nothing else."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.deploy.manifests import DEPLOY, WITH_DATABASE
from ticketing.common.migrations import migrate
from ticketing.runtime.postgres import EmbeddedPostgres, find_bindir

INIT = DEPLOY / "k8s" / "components" / "postgres" / "init-databases.sql"
PASSWORDS = {name: f"{name}-role-password" for name in WITH_DATABASE}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[EmbeddedPostgres, str]]:
    if find_bindir() is None:
        pytest.skip("no PostgreSQL binaries (psql) on this machine")
    server = EmbeddedPostgres(tmp_path_factory.mktemp("init") / "pg", durable=False)
    admin = server.start()
    try:
        yield server, admin
    finally:
        server.stop()


def run_init(admin: str, **env: str) -> subprocess.CompletedProcess:
    """The way docker-entrypoint.sh runs an initdb.d script: psql, stop on the first error."""
    psql = Path(find_bindir()) / "psql"
    command = [str(psql), "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-f", str(INIT), admin]
    return subprocess.run(
        command, env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def initialised(server) -> str:
    _, admin = server
    done = run_init(admin, **{f"{k.upper()}_DB_PASSWORD": v for k, v in PASSWORDS.items()})
    assert done.returncode == 0, done.stderr
    return admin


def url(admin: str, role: str, database: str) -> str:
    host = admin.rpartition("@")[2].split("/")[0]
    query = admin.partition("?")[2]
    return f"postgresql://{role}:{PASSWORDS[role]}@{host}/{database}" + (
        f"?{query}" if query else ""
    )


async def test_each_role_owns_its_database_and_is_no_superuser(initialised):
    for name in WITH_DATABASE:
        conn = await asyncpg.connect(url(initialised, name, name))
        try:
            row = await conn.fetchrow(
                "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles"
                " WHERE rolname = current_user"
            )
            assert tuple(row) == (False, False, False), name
            owner = await conn.fetchval(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name
            )
            assert owner == name
        finally:
            await conn.close()


async def test_a_role_cannot_connect_to_another_database(initialised):
    for database in ("tickets", "postgres"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(url(initialised, "auth", database))


async def test_a_service_migrates_its_database_as_its_role(initialised):
    await migrate(url(initialised, "orders", "orders"), "ticketing.orders:migrations")


def test_an_unset_password_stops_the_script_before_any_role_exists(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)
    admin = server.start()
    try:
        done = run_init(admin, AUTH_DB_PASSWORD="only-this-one")
        assert done.returncode != 0
        psql = Path(find_bindir()) / "psql"
        roles = subprocess.run(
            [str(psql), "-tAc", "SELECT count(*) FROM pg_roles WHERE rolname = 'auth'", admin],
            capture_output=True,
            text=True,
            check=True,
        )
        assert roles.stdout.strip() == "0"
    finally:
        server.stop()
