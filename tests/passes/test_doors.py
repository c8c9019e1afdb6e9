"""`ticketing door add|list|revoke` through the command line, on a real passes database:
the token is printed once and kept hashed, and a revoked door admits no one."""

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from tests.common.bus_support import engine as engine_on
from tests.passes.builders import code_of, make_pass
from ticketing.passes import service
from ticketing.passes.domain import secret_hash
from ticketing.passes.store import DOORS


def ticketing(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "ticketing.cli", "door", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture
async def database(postgres) -> str:
    return await postgres.fresh_database("passes")


async def _door_for(url: str, token: str):
    async with engine_on(url) as engine, engine.connect() as db:
        return await service.door_for(db, token)


async def test_an_added_door_prints_its_token_last_and_keeps_only_its_hash(database):
    done = ticketing("add", "main-gate", database_url=database)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert len(token) >= 43
    door = await _door_for(database, token)
    assert door is not None and door.name == "main-gate"
    async with engine_on(database) as engine, engine.connect() as db:
        (row,) = (await db.execute(select(DOORS))).all()
    assert row.token_hash == secret_hash(token) and token.encode() not in row.token_hash


async def test_the_list_shows_each_door_when_made_and_whether_revoked(database):
    assert ticketing("add", "east", database_url=database).returncode == 0
    assert ticketing("add", "west", database_url=database).returncode == 0
    assert ticketing("revoke", "west", database_url=database).returncode == 0
    done = ticketing("list", database_url=database)
    assert done.returncode == 0, done.stderr
    header, east, west = done.stdout.strip().splitlines()
    assert header.split("\t") == ["name", "created", "revoked"]
    assert east.split("\t")[0] == "east" and east.split("\t")[2] == "-"
    assert west.split("\t")[0] == "west" and west.split("\t")[2].endswith("UTC")


async def test_a_revoked_doors_token_admits_no_one_and_the_name_can_be_given_again(database):
    old = ticketing("add", "gate", database_url=database).stdout.strip().splitlines()[-1]
    revoked = ticketing("revoke", "gate", database_url=database)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "door gate revoked")
    assert await _door_for(database, old) is None
    new = ticketing("add", "gate", database_url=database).stdout.strip().splitlines()[-1]
    assert new != old
    assert await _door_for(database, new) is not None
    assert await _door_for(database, old) is None


async def test_adding_an_active_door_again_is_refused_and_keeps_its_token(database):
    token = ticketing("add", "gate", database_url=database).stdout.strip().splitlines()[-1]
    again = ticketing("add", "gate", database_url=database)
    assert again.returncode == 1
    assert "exists already" in again.stderr and again.stdout == ""
    assert await _door_for(database, token) is not None


@pytest.mark.parametrize("name", ["", "gate one", "x" * 65, "gäte", "-" + "x" * 10_000])
async def test_an_odd_door_name_is_refused(database, name):
    done = ticketing("add", "--", name, database_url=database)
    assert done.returncode == 1
    assert "1 to 64" in done.stderr and done.stdout == ""


async def test_revoking_an_unknown_door_says_so(database):
    done = ticketing("revoke", "nowhere", database_url=database)
    assert done.returncode == 1
    assert "No active door named 'nowhere'" in done.stderr


async def test_a_local_system_is_found_through_its_data_folder(database, tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"databases": {"passes": database}}))
    done = ticketing("add", "side-door", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert await _door_for(database, done.stdout.strip().splitlines()[-1]) is not None


def test_without_a_running_system_or_database_url_it_says_what_to_do(tmp_path):
    done = ticketing("list", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "no system runs from" in done.stderr and "ticketing up" in done.stderr


async def test_the_printed_token_checks_passes_in(client, engine, settings):
    done = ticketing("add", "front", database_url=settings.database_url)
    token = done.stdout.strip().splitlines()[-1]
    ticket = await make_pass(engine)
    response = await client.post(
        "/api/checkins",
        json={"code": code_of(ticket)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
