"""service_app(): one FastAPI app with the error shape, health and the bus wired in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ticketing.common import correlation, health, metrics
from ticketing.common.bus.listener import Subscriptions
from ticketing.common.bus.runtime import BusRuntime
from ticketing.common.db import make_engine, make_sessionmaker
from ticketing.common.errors import install_error_handlers
from ticketing.common.limits import BodyLimit
from ticketing.common.logs import configure_logging
from ticketing.common.openapi import document_errors
from ticketing.common.settings import ServiceSettings


def service_app(
    name: str,
    settings: ServiceSettings,
    *,
    subscriptions: Subscriptions | None = None,
    uses_database: bool = True,
    uses_bus: bool = True,
    background=None,
) -> FastAPI:
    """`background(app)` may return an async context manager for the service's own tasks."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(name)
        engine = make_engine(settings.database_url) if uses_database else None
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine) if engine else None
        bus = None
        if uses_bus:
            bus = BusRuntime(
                name, settings, app.state.sessionmaker, subscriptions or {}, relay=uses_database
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

    app = FastAPI(title=f"Ticketing {name}", lifespan=lifespan)
    app.state.settings = settings
    app.state.service = name
    install_error_handlers(app)
    document_errors(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(metrics.RequestMetrics, service=name)
    app.add_middleware(correlation.RequestCorrelation)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
