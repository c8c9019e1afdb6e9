"""The commands the manifests run work against real PostgreSQL and NATS, probes included."""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import asyncpg
import httpx
import nats as nats_client
import pytest
from nats.js.errors import NotFoundError

from tests.common.bus_support import jetstream
from tests.deploy.manifests import containers, of_kind, resolved_env
from tests.deploy.test_image import final_stage
from tests.support import bus_prefix, eventually
from ticketing.common.bus.connection import BusNames
from ticketing.common.database_url import libpq_dsn
from ticketing.runtime.ports import free_port
from ticketing.runtime.services import SERVICES as RUNTIME_SERVICES

VENV_BIN = Path(sys.executable).parent
STARTING_TOGETHER = 3  # the migration Job and the two replicas prod starts with


def local(command: list[str]) -> list[str]:
    """The container's command, with this checkout's `ticketing` in place of the image's."""
    assert command[0] == "ticketing"
    return [str(VENV_BIN / "ticketing"), *command[1:]]


def environment(container: dict, database_url: str, nats) -> dict[str, str]:
    env = resolved_env("dev", container, secrets={})
    env.update(DATABASE_URL=database_url, NATS_URL=nats.url, BUS_PREFIX=bus_prefix())
    if "NATS_USER" in env:  # the dev Secret's password is not the test server's
        env["NATS_USER"], env["NATS_PASSWORD"] = nats.credentials(env["NATS_USER"])
    return {**os.environ, **env}


def migrated_services() -> list[dict]:
    """The Job's containers for services this checkout can already run."""
    known = {spec.name for spec in RUNTIME_SERVICES}
    return [c for c in containers(of_kind("dev", "Job")["migrate"]) if c["name"] in known]


@pytest.mark.parametrize("container", migrated_services(), ids=lambda c: c["name"])
async def test_the_job_and_replicas_migrating_one_database_at_once_all_succeed(
    container, postgres, nats
):
    url = await postgres.empty_database()
    env = environment(container, url, nats)
    command = local(container["command"] + container["args"])
    runs = [
        await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        for _ in range(STARTING_TOGETHER)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(r.communicate() for r in runs)), 120)
    failed = [
        out.decode()[-1500:] for (out, _), r in zip(outputs, runs, strict=True) if r.returncode
    ]
    assert not failed, "\n---\n".join(failed)
    conn = await asyncpg.connect(libpq_dsn(url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await conn.close()


@pytest.fixture
async def served_auth(postgres, nats, tmp_path):
    """`ticketing serve auth`, as the auth Deployment runs it, on a free local port."""
    (container,) = containers(of_kind("dev", "Deployment")["auth"])
    entrypoint = json.loads(next(i.argument for i in final_stage() if i.keyword == "ENTRYPOINT"))
    port = free_port()
    command = [*local(entrypoint + container["args"]), "--host", "127.0.0.1", "--port", str(port)]
    env = environment(container, await postgres.fresh_database("auth"), nats)
    with (tmp_path / "auth.log").open("w") as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        try:
            yield container, port, process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_the_probes_the_manifests_declare_answer_on_a_served_service(served_auth):
    container, port, _ = served_auth
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            path = container[probe]["httpGet"]["path"]
            reply = await eventually(lambda p=path: _ok(client, p), timeout=30)
        checks = reply.json()
    assert checks["database"] == "ok"
    assert checks["bus"] in ("ok", "skipped"), "auth publishes nothing, so it may skip the bus"


async def test_the_image_healthcheck_passes_while_serving_and_fails_once_stopped(served_auth):
    _, port, process = served_auth
    (check,) = [i.argument for i in final_stage() if i.keyword == "HEALTHCHECK"]
    command = json.loads(check.split(" CMD ", 1)[1])
    command = [sys.executable, command[1], command[2].replace(":8000/", f":{port}/")]
    assert await eventually(lambda: _exits_with(command, 0), timeout=30)
    process.send_signal(signal.SIGTERM)  # what Kubernetes and docker stop send
    await asyncio.wait_for(process.wait(), timeout=25)
    assert await _exits_with(command, 1)


async def _ok(client: httpx.AsyncClient, path: str) -> httpx.Response | None:
    try:
        reply = await client.get(path)
    except httpx.TransportError:
        return None
    return reply if reply.status_code == 200 else None


async def _exits_with(command: list[str], code: int) -> bool:
    run = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(run.wait(), 10) == code


def _ticketing(*args: str) -> str:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "ticketing.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


NO_DATABASE = "postgresql://unused/none"  # the streams Job is given none


def streams_container() -> dict:
    (container,) = containers(of_kind("dev", "Job")["streams"])
    return container


async def run_streams(env: dict[str, str]) -> tuple[int, str]:
    child = await asyncio.create_subprocess_exec(
        *local(streams_container()["command"]),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(child.communicate(), 60)
    return child.returncode or 0, out.decode()


async def test_the_streams_job_makes_the_streams_and_a_second_run_changes_nothing(nats):
    env = environment(streams_container(), NO_DATABASE, nats)
    env["STREAM_MAX_AGE_SECONDS"] = str(7 * 24 * 3600)
    names = BusNames(env["BUS_PREFIX"])
    for _ in range(2):
        code, said = await run_streams(env)
        assert code == 0, said
        assert f"streams ready: {names.stream}, {names.sessions_stream}" in said
    async with jetstream(nats.url, names) as admin:
        config = (await admin.stream_info(names.stream)).config
    assert sorted(config.subjects or []) == sorted(names.all_subjects())
    assert config.max_age == 7 * 24 * 3600


async def test_a_services_user_cannot_make_the_streams_and_the_command_says_so(nats):
    env = environment(streams_container(), NO_DATABASE, nats)
    env["NATS_USER"], env["NATS_PASSWORD"] = nats.credentials("orders")
    code, said = await run_streams(env)
    assert code == 1
    assert "the streams could not be made" in said
    admin = await nats_client.connect(nats.url)
    try:
        with pytest.raises(NotFoundError):
            await admin.jetstream().stream_info(BusNames(env["BUS_PREFIX"]).stream)
    finally:
        await admin.close()


def test_nats_config_prints_the_committed_server_config_and_nothing_else():
    committed = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "nats.conf"
    assert _ticketing("nats-config") == committed.read_text()


def test_keys_prints_a_key_pair_as_two_env_lines():
    private, public = _ticketing("keys").strip().splitlines()
    assert private.startswith("JWT_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----")
    assert public.startswith("JWT_PUBLIC_KEY=-----BEGIN PUBLIC KEY-----")
