"""Auth's composition root."""

import logging
from datetime import UTC, datetime
from functools import partial

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.auth import routes, service
from ticketing.auth.settings import AuthSettings
from ticketing.common.app import background_task, service_app
from ticketing.common.periodic import every

log = logging.getLogger(__name__)


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()

    async def forget_ended_hourly(app: FastAPI) -> None:
        forget = partial(forget_ended, app.state.engine, settings)
        every_seconds = settings.session_purge_every_seconds
        await every(every_seconds, forget, what="auth: deleting ended sessions")

    # The bus only to relay session.revoked from the outbox; auth checks sessions in its
    # own table, so it needs no revocation feed.
    background = background_task(forget_ended_hourly, name="auth-purge")
    app = service_app("auth", settings, background=background)
    app.include_router(routes.router, prefix="/api/users")
    return app


async def forget_ended(engine: AsyncEngine, settings: AuthSettings) -> None:
    async with engine.begin() as db:
        gone = await service.forget_ended(db, settings, datetime.now(UTC))
    if gone.sessions or gone.failures:
        log.info(
            "auth: deleted %d ended sessions and %d old sign-in failures",
            gone.sessions,
            gone.failures,
        )
