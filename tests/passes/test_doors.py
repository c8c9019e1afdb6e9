"""`ticketing door add|list|revoke` through the command line, on a real passes database:
the token is printed once and kept hashed, and a revoked door admits no one."""

import asyncio
import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.common.bus_support import engine as engine_on
from tests.passes.builders import code_of, make_pass
from ticketing import cli
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


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


async def door(*args: str, database_url: str | None = None) -> Done:
    """`ticketing door ...` in this process (in a thread: it runs its own event loop), as
    `ticketing` would run it, without a new interpreter's start-up per call; the entry point
    itself is run as a program by the tests that call `ticketing`."""

    def run() -> Done:
        out, err = io.StringIO(), io.StringIO()
        saved = os.environ.pop("DATABASE_URL", None)
        if database_url is not None:
            os.environ["DATABASE_URL"] = database_url
        try:
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    cli.main(["door", *args])
                    code = 0
                except SystemExit as exit:
                    code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        finally:
            os.environ.pop("DATABASE_URL", None)
            if saved is not None:
                os.environ["DATABASE_URL"] = saved
        return Done(code, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(run)


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
    assert (await door("add", "east", database_url=database)).returncode == 0
    assert (await door("add", "west", database_url=database)).returncode == 0
    assert (await door("revoke", "west", database_url=database)).returncode == 0
    done = await door("list", database_url=database)
    assert done.returncode == 0, done.stderr
    header, east, west = done.stdout.strip().splitlines()
    assert header.split("\t") == ["name", "created", "revoked"]
    assert east.split("\t")[0] == "east" and east.split("\t")[2] == "-"
    assert west.split("\t")[0] == "west" and west.split("\t")[2].endswith("UTC")


async def test_a_revoked_doors_token_admits_no_one_and_the_name_can_be_given_again(database):
    old = (await door("add", "gate", database_url=database)).stdout.strip().splitlines()[-1]
    revoked = await door("revoke", "gate", database_url=database)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "door gate revoked")
    assert await _door_for(database, old) is None
    new = (await door("add", "gate", database_url=database)).stdout.strip().splitlines()[-1]
    assert new != old
    assert await _door_for(database, new) is not None
    assert await _door_for(database, old) is None


async def test_adding_an_active_door_again_is_refused_and_keeps_its_token(database):
    token = (await door("add", "gate", database_url=database)).stdout.strip().splitlines()[-1]
    again = await door("add", "gate", database_url=database)
    assert again.returncode == 1
    assert "exists already" in again.stderr and again.stdout == ""
    assert await _door_for(database, token) is not None


@pytest.mark.parametrize("name", ["", "gate one", "x" * 65, "gäte", "-" + "x" * 10_000])
async def test_an_odd_door_name_is_refused(database, name):
    done = await door("add", "--", name, database_url=database)
    assert done.returncode == 1
    assert "1 to 64" in done.stderr and done.stdout == ""


async def test_revoking_an_unknown_door_says_so(database):
    done = await door("revoke", "nowhere", database_url=database)
    assert done.returncode == 1
    assert "No active door named 'nowhere'" in done.stderr


async def test_a_local_system_is_found_through_its_data_folder(database, tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"databases": {"passes": database}}))
    done = await door("add", "side-door", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert await _door_for(database, done.stdout.strip().splitlines()[-1]) is not None


def test_without_a_running_system_or_database_url_it_says_what_to_do(tmp_path):
    done = ticketing("list", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "no system runs from" in done.stderr and "ticketing up" in done.stderr


async def test_the_printed_token_checks_passes_in(client, engine, settings):
    done = await door("add", "front", database_url=settings.database_url)
    token = done.stdout.strip().splitlines()[-1]
    ticket = await make_pass(engine)
    response = await client.post(
        "/api/checkins",
        json={"code": code_of(ticket)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
