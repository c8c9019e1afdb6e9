"""service_app(): one FastAPI app with the error shape, health and the bus wired in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders

from ticketing.common import correlation, health, metrics
from ticketing.common.errors import install_error_handlers
from ticketing.common.limits import BodyLimit
from ticketing.common.logs import configure_logging
from ticketing.common.openapi import document_errors
from ticketing.common.settings import ServiceSettings

if TYPE_CHECKING:
    from ticketing.common.bus.listener import Subscriptions


# Observability here is Prometheus at /metrics and JSON logs with a correlation id; FastAPI's
# native OpenTelemetry hooks otherwise look up the global providers on every request.
NO_OPENTELEMETRY = {"tracing": False, "metrics": False, "logs": False}


class NoSniff:
    """ASGI middleware: a browser takes every answer as the type it is labelled with, so no
    error text or user-written title is ever run as a script or a style sheet."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def labelled_send(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("x-content-type-options", "nosniff")
            await send(message)

        await self.app(scope, receive, labelled_send)


class ServiceApp(FastAPI):
    """NoSniff wraps the whole stack: an unexpected error's 500 is sent from outside every
    middleware added with add_middleware."""

    def build_middleware_stack(self):
        return NoSniff(super().build_middleware_stack())


def service_app(
    name: str,
    settings: ServiceSettings,
    *,
    subscriptions: "Subscriptions | None" = None,
    uses_database: bool = True,
    uses_bus: bool = True,
    follows_revocations: bool = False,
    background=None,
) -> FastAPI:
    """`background(app)` may return an async context manager for the service's own tasks.
    `follows_revocations`: the service reads session cookies, so it keeps the list of
    signed-out sessions from the bus (common/bus/revocations.py) and refuses them.

    The database and bus stacks (SQLAlchemy, asyncpg, nats: ~25 MB resident) are imported
    only by a service that uses them, so the web client, which has neither, never loads them.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(name)
        engine = None
        if uses_database:
            from ticketing.common.db import make_engine

            engine = make_engine(settings.database_url)
        app.state.engine = engine
        bus = None
        if uses_bus:
            from ticketing.common.bus.runtime import BusRuntime

            bus = BusRuntime(
                name,
                settings,
                engine,
                subscriptions or {},
                relay=uses_database,
                revoked=app.state.revoked_sessions,
            )
            bus.start()
        app.state.bus = bus
        try:
            if background is not None:
                async with background(app):
                    yield
            else:
                yield
        finally:
            if bus is not None:
                await bus.stop()
            if engine is not None:
                await engine.dispose()

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
    app.state.revoked_sessions = None
    if follows_revocations and uses_bus:
        from ticketing.common.revocations import RevokedSessions

        app.state.revoked_sessions = RevokedSessions()
    install_error_handlers(app, database=uses_database)
    document_errors(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(metrics.RequestMetrics, service=name)
    app.add_middleware(correlation.RequestCorrelation)
    app.include_router(health.router)
    if settings.metrics_port is None:  # otherwise `serve` answers it on that port alone
        app.include_router(metrics.router)
    return app
