"""`ticketing serve SERVICE`: migrate the service's database (with a bounded wait), then serve."""

import asyncio
import contextlib
import importlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import uvicorn
from pydantic import ValidationError

from ticketing.common.logs import configure_logging
from ticketing.common.settings import DatabaseSettings, describe_missing
from ticketing.runtime.servers import Unsignalled, settle_collector
from ticketing.runtime.services import by_name

if TYPE_CHECKING:  # the service's own module imports it, when it is loaded
    from fastapi import FastAPI

log = logging.getLogger(__name__)


def load_app(spec_app: str) -> "FastAPI":
    module, _, factory = spec_app.partition(":")
    create_app: Callable[[], FastAPI] = getattr(importlib.import_module(module), factory)
    try:
        return create_app()
    except ValidationError as error:
        raise SystemExit(f"cannot start: {describe_missing(error)}") from None


async def migrate_with_retry(url: str, location: str, attempts: int = 30) -> None:
    """Wait for the database the way a container waits for its neighbours."""
    # Alembic brings Mako and Pygments with it, all resident for the process's life; a
    # process started with --no-migrate, as every one under `ticketing up` is, never loads it.
    from ticketing.common.migrations import migrate

    for attempt in range(1, attempts + 1):
        try:
            await migrate(url, location)
            return
        except (OSError, ConnectionError) as error:
            if attempt == attempts:
                raise
            log.warning("database not reachable yet (%s); retry %s/%s", error, attempt, attempts)
            await asyncio.sleep(1)


async def migrate_only(name: str) -> None:
    """What a Kubernetes migration Job runs before the services roll out. It reads only
    DATABASE_URL, so the Job is given no key: not the one that signs sessions, nor any other."""
    configure_logging(name)
    spec = by_name(name)
    if not spec.database:
        return
    try:
        settings = DatabaseSettings()
    except ValidationError as error:
        raise SystemExit(f"cannot start: {describe_missing(error)}") from None
    await migrate_with_retry(settings.database_url, spec.migrations)
    log.info("%s: database migrated", name)


def without_websockets() -> None:
    """nats-py imports aiohttp, when installed, for a WebSocket transport no service uses
    (the bus is plain TCP): ~8 MB of every service process. Marked absent before anything
    imports nats, its optional import finds nothing. (`ticketing up`'s gateway, in its
    own process, is what installs aiohttp.)"""
    sys.modules.setdefault("aiohttp", None)  # type: ignore[arg-type]  # None: "not installed"


async def serve(name: str, host: str, port: int, *, run_migrations: bool = True) -> None:
    configure_logging(name)
    without_websockets()
    spec = by_name(name)
    app = load_app(spec.app)
    if spec.database and run_migrations:
        await migrate_with_retry(app.state.settings.database_url, spec.migrations)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips=None,  # FORWARDED_ALLOW_IPS, default 127.0.0.1 (the gateway)
        lifespan="on",
        timeout_keep_alive=30,  # longer than the gateway's idle expiry (2 s)
        ws="none",  # nothing here speaks WebSocket; not loading it saves memory
        server_header=False,  # no version banner for whoever probes
    )
    server = uvicorn.Server(config)
    settle_collector()
    async with _metrics_server(app, host):
        await server.serve()
    if not server.started:
        sys.exit(1)


@contextlib.asynccontextmanager
async def _metrics_server(app: "FastAPI", host: str) -> AsyncIterator[None]:
    """With METRICS_PORT set, /metrics is served there and nowhere else (service_app left
    it off the main app), so the public port never shows the business counters."""
    port: int | None = getattr(app.state.settings, "metrics_port", None)
    if port is None:
        yield
        return
    from ticketing.common.metrics import metrics_app

    config = uvicorn.Config(
        metrics_app(app),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        server_header=False,
        ws="none",
    )
    server = Unsignalled(config)  # the main server takes the signals; this one follows it
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():  # the port is taken: uvicorn has logged why
            raise SystemExit(1)
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task
