"""Passes' composition root."""

from fastapi import FastAPI

from ticketing.common.app import service_app
from ticketing.passes import listeners, routes
from ticketing.passes.settings import PassesSettings


def create_app(settings: PassesSettings | None = None) -> FastAPI:
    settings = settings or PassesSettings()
    key = settings.pass_code_secret.get_secret_value().encode()
    app = service_app(
        "passes", settings, subscriptions=listeners.subscriptions(key), follows_revocations=True
    )
    app.include_router(routes.passes, prefix="/api/passes")
    app.include_router(routes.checkins, prefix="/api/checkins")
    return app
