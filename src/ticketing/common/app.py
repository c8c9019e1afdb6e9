"""The FastAPI app every process serves, composed of small pieces.

`base_app` is the HTTP edge every app has (error shape, request ids, metrics, health, body
limit, nosniff); its lifespan runs the `Piece`s it is given, in order, and ends them in
reverse. A service adds `with_database` and `with_bus`, which `service_app` puts together;
the web client takes the base alone, with its own pieces and error pages.

The database and bus stacks (SQLAlchemy, asyncpg, nats) are imported only inside those
pieces, so the web client, which has neither, never loads them.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from ticketing.common import correlation, health, metrics, plain
from ticketing.common.body_limit import BodyLimit
from ticketing.common.errors import install_database_errors, install_error_handlers
from ticketing.common.logs import configure_logging
from ticketing.common.middleware import ResponseHeaders
from ticketing.common.openapi import document_errors
from ticketing.common.settings import ServiceSettings

if TYPE_CHECKING:
    from ticketing.common.bus.listener import Subscriptions
    from ticketing.common.revocations import RevokedSessions

# Something an app runs for as long as it serves: set up on entry, torn down on exit.
Piece = Callable[[FastAPI], AbstractAsyncContextManager[None]]

# Observability here is Prometheus at /metrics and JSON logs with a correlation id; FastAPI's
# native OpenTelemetry hooks otherwise look up the global providers on every request.
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class EdgeSettings(Protocol):
    """What the HTTP edge reads: ServiceSettings and the web client's settings both have it."""

    @property
    def api_docs(self) -> bool: ...

    @property
    def metrics_port(self) -> int | None: ...


class NoSniff(ResponseHeaders):
    """A browser takes every answer as the type it is labelled with, so no error text or
    user-written title is ever run as a script or a style sheet."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, {"x-content-type-options": "nosniff"})


class ServiceApp(FastAPI):
    """NoSniff wraps the whole stack: an unexpected error's 500 is sent from outside every
    middleware added with add_middleware. The OpenAPI document shows the errors as they
    are answered.

    The routes the edge brings (API docs, health, metrics; `edge_routes`) are tried after
    the app's own: FastAPI tries routes in the order they were added, and every API
    request went past seven of them first (~20 µs of matching, a request's 3 %)."""

    edge_routes: Sequence[BaseRoute] = ()

    def build_middleware_stack(self) -> ASGIApp:
        routes, edge = self.router.routes, self.edge_routes
        routes[:] = [r for r in routes if r not in edge] + [r for r in routes if r in edge]
        return NoSniff(super().build_middleware_stack())

    def openapi(self) -> dict[str, Any]:
        return document_errors(super().openapi(), plain.definitions(self))


def base_app(
    name: str,
    settings: EdgeSettings,
    *pieces: Piece,
    errors: Callable[[FastAPI], None] = install_error_handlers,
) -> FastAPI:
    """`errors` installs the exception handlers: the `{"errors": [...]}` answers unless the
    app's readers are people (the web client's pages)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(name)
        async with AsyncExitStack() as stack:
            for piece in pieces:
                await stack.enter_async_context(piece(app))
            yield

    docs = settings.api_docs
    app = ServiceApp(
        title=f"Ticketing {name}",
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.settings = settings
    app.state.service = name
    app.state.engine = None
    app.state.drivers = None
    app.state.bus = None
    app.state.revoked_sessions = None
    errors(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(metrics.RequestMetrics, service=name)
    app.add_middleware(correlation.RequestCorrelation)
    app.include_router(health.router)
    if settings.metrics_port is None:  # otherwise `serve` answers it on that port alone
        app.include_router(metrics.router)
    app.edge_routes = list(app.router.routes)  # everything so far: none of it the app's own
    return app


def with_database(url: str, *, idle_seconds: float) -> Piece:
    """The service's engine, as `app.state.engine`, and the pool of `db.Driver` beside it
    (`app.state.drivers`); connections unused for `idle_seconds` are closed."""

    @asynccontextmanager
    async def database(app: FastAPI) -> AsyncIterator[None]:
        from ticketing.common.db import close_idle, make_drivers, make_engine

        engine = make_engine(url)
        app.state.engine = engine
        app.state.drivers = await make_drivers(url, idle_seconds=idle_seconds)
        closers = [
            asyncio.create_task(close_idle(engine, after=idle_seconds), name="close idle"),
            asyncio.create_task(app.state.drivers.close_unused(), name="close unused drivers"),
        ]
        try:
            yield
        finally:
            for closer in closers:
                closer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await closer
            await app.state.drivers.close()
            await engine.dispose()

    return database


def with_bus(
    name: str,
    settings: ServiceSettings,
    subscriptions: "Subscriptions",
    *,
    revoked: "RevokedSessions | None" = None,
) -> Piece:
    """The bus (`app.state.bus`): the outbox relay if the app has a database (after
    `with_database`), listeners for `subscriptions`, and the revocation feed filling
    `revoked`. It connects in the background: requests are served meanwhile."""

    @asynccontextmanager
    async def bus(app: FastAPI) -> AsyncIterator[None]:
        from ticketing.common.bus.runtime import BusRuntime

        runtime = BusRuntime(name, settings, app.state.engine, subscriptions, revoked=revoked)
        runtime.start()
        app.state.bus = runtime
        try:
            yield
        finally:
            await runtime.stop()

    return bus


async def _measure_outbox(app: FastAPI) -> None:
    """The outbox backlog gauge, while the app runs: read from the table, so it counts the
    events waiting while NATS is down too."""
    if app.state.engine is not None:
        from ticketing.common.bus.outbox import measure_pending

        await measure_pending(app.state.engine, app.state.service)


def background_task(
    run: Callable[[FastAPI], Coroutine[Any, Any, None]],
    *,
    name: str,
    then: Callable[[], Awaitable[None]] | None = None,
) -> Piece:
    """A service's own loop (`run(app)`), running while the app serves: cancelled and
    awaited when it stops, then `then()` (closing what the loop used)."""

    @asynccontextmanager
    async def task(app: FastAPI) -> AsyncIterator[None]:
        running = asyncio.create_task(run(app), name=name)
        try:
            yield
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            if then is not None:
                await then()

    return task


def service_app(
    name: str,
    settings: ServiceSettings,
    *,
    subscriptions: "Subscriptions | None" = None,
    follows_revocations: bool = False,
    background: Piece | None = None,
) -> FastAPI:
    """A service: the base, its database, its bus (the outbox relay, listeners for
    `subscriptions`), and `background` for its own task (started last, stopped first); a
    client of the services without either (web) takes `base_app` alone.
    `follows_revocations`: the service reads session cookies, so it keeps the list of
    signed-out sessions from the bus (common/bus/revocations.py) and refuses them."""
    revoked = None
    if follows_revocations:
        from ticketing.common.revocations import RevokedSessions

        revoked = RevokedSessions()
    pieces = [
        with_database(settings.database_url, idle_seconds=settings.database_idle_seconds),
        with_bus(name, settings, subscriptions or {}, revoked=revoked),
    ]
    if background is not None:
        pieces.append(background)
    app = base_app(name, settings, *pieces)
    install_database_errors(app)
    metrics.before_scrape(app, partial(_measure_outbox, app))
    app.state.revoked_sessions = revoked
    return app
