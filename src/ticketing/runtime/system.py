"""`ticketing up`: the whole system on one machine, in the foreground, until Ctrl-C."""

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import uvicorn
from sqlalchemy.engine import make_url

from ticketing.common.migrations import migrate
from ticketing.runtime.gateway import create_gateway
from ticketing.runtime.nats import EmbeddedNats
from ticketing.runtime.ports import free_port, port_is_free
from ticketing.runtime.postgres import EmbeddedPostgres
from ticketing.runtime.services import SERVICES, ServiceSpec
from ticketing.runtime.supervisor import Child

log = logging.getLogger("ticketing")


@dataclass
class Options:
    port: int = 8080
    host: str = "127.0.0.1"
    replicas: int = 1
    data_dir: Path = Path(".ticketing")
    services: list[ServiceSpec] = field(default_factory=lambda: list(SERVICES))


class PortTaken(Exception):
    pass


def check_port(options: Options) -> None:
    if not port_is_free(options.port, options.host):
        raise PortTaken(
            f"port {options.port} is already in use; stop what holds it or choose another "
            f"with `ticketing up --port N`"
        )


def say(message: str) -> None:
    print(f"{'ticketing':<12}| {message}", flush=True)


def database_url(admin_url: str, database: str) -> str:
    url = make_url(admin_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def ensure_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def jwt_key(data_dir: Path) -> str:
    """Kept across runs so sessions survive a restart; JWT_KEY in the environment wins."""
    if key := os.environ.get("JWT_KEY"):
        return key
    path = data_dir / "jwt_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class System:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.postgres: EmbeddedPostgres | None = None
        self.nats: EmbeddedNats | None = None
        self.children: list[Child] = []
        self.upstreams: dict[str, list[str]] = {}
        self.gateway: uvicorn.Server | None = None

    async def start(self) -> str:
        options = self.options
        check_port(options)
        options.data_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        admin_url, nats_url = await asyncio.to_thread(self._start_backends)
        say(f"PostgreSQL and NATS ready ({time.monotonic() - started:.1f}s)")
        env = self._base_env(nats_url)
        for spec in options.services:
            service_env = dict(env)
            if spec.database:
                name = f"ticketing_{spec.name}"
                await ensure_database(admin_url, name)
                service_env["DATABASE_URL"] = database_url(admin_url, name)
                await migrate(service_env["DATABASE_URL"], spec.migrations)
            await self._spawn(spec, service_env)
        await self._wait_ready()
        await self._start_gateway()
        self._write_state(admin_url, nats_url)
        url = f"http://{options.host}:{options.port}"
        elapsed = time.monotonic() - started
        say(f"Ticketing is up at {url} (started in {elapsed:.1f}s); Ctrl-C stops it")
        return url

    def _start_backends(self) -> tuple[str, str]:
        data = self.options.data_dir
        admin_url = os.environ.get("DATABASE_URL")
        if not admin_url:
            self.postgres = EmbeddedPostgres(data / "postgres")
            admin_url = self.postgres.start()
        nats_url = os.environ.get("NATS_URL")
        if not nats_url:
            self.nats = EmbeddedNats(data / "nats")
            nats_url = self.nats.start()
        return make_url(admin_url).set(drivername="postgresql").render_as_string(
            hide_password=False
        ), nats_url

    def _base_env(self, nats_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(
            NATS_URL=nats_url,
            JWT_KEY=jwt_key(self.options.data_dir),
            COOKIE_SECURE=os.environ.get("COOKIE_SECURE", "false"),
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("LOG_FORMAT", "text")  # a console is read by a person; containers log JSON
        env.setdefault("API_BASE_URL", f"http://127.0.0.1:{self.options.port}")
        return env

    async def _spawn(self, spec: ServiceSpec, env: dict[str, str]) -> None:
        for replica in range(self.options.replicas):
            port = free_port()
            label = spec.name if self.options.replicas == 1 else f"{spec.name}-{replica + 1}"
            argv = [
                sys.executable,
                "-m",
                "ticketing.cli",
                "serve",
                spec.name,
                "--port",
                str(port),
                "--no-migrate",
            ]
            child = Child(label, argv, {**env, "SERVICE_REPLICA": label})
            await child.start()
            self.children.append(child)
            if spec.route:
                self.upstreams.setdefault(spec.route, []).append(f"http://127.0.0.1:{port}")
            child.url = f"http://127.0.0.1:{port}"

    def _write_state(self, admin_url: str, nats_url: str) -> None:
        """What `ticketing status` reads to find the running system."""
        state = {
            "pid": os.getpid(),
            "gateway": f"http://{self.options.host}:{self.options.port}",
            "nats_url": nats_url,
            "bus_prefix": os.environ.get("BUS_PREFIX", ""),
            "databases": {
                spec.name: database_url(admin_url, f"ticketing_{spec.name}")
                for spec in self.options.services
                if spec.database
            },
            "processes": [{"label": c.label, "url": c.url, "pid": c.pid} for c in self.children],
        }
        path = self.options.data_dir / "state.json"
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)

    async def _wait_ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            for child in self.children:
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{child.url}/readyz")).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{child.label} did not become ready in {within:.0f}s")
                    await asyncio.sleep(0.1)

    async def _start_gateway(self) -> None:
        app = create_gateway(self.upstreams)
        config = uvicorn.Config(
            app,
            host=self.options.host,
            port=self.options.port,
            log_level="warning",
            lifespan="on",
            server_header=False,  # the upstream's own date and server headers pass through
            date_header=False,
        )
        self.gateway = uvicorn.Server(config)
        self.gateway.install_signal_handlers = lambda: None
        self._gateway_task = asyncio.create_task(self.gateway.serve())
        while not self.gateway.started:
            if self._gateway_task.done():
                raise PortTaken(f"the gateway could not listen on port {self.options.port}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        say("stopping")
        if self.gateway is not None:
            self.gateway.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._gateway_task, 10)
        await asyncio.gather(*(child.stop() for child in self.children))
        await asyncio.to_thread(self._stop_backends)
        with contextlib.suppress(FileNotFoundError):
            (self.options.data_dir / "state.json").unlink()
        say("stopped")

    def _stop_backends(self) -> None:
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()


async def run(options: Options) -> None:
    """Start everything, wait for SIGINT or SIGTERM, stop everything."""
    check_port(options)
    system = System(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        starting = asyncio.create_task(system.start())
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()
            await waiter
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
    finally:
        await system.stop()
