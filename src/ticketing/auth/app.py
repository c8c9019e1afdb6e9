"""Auth's composition root."""

from fastapi import FastAPI

from ticketing.auth import routes
from ticketing.auth.settings import AuthSettings
from ticketing.common.app import service_app


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    # The bus only to relay session.revoked from the outbox; auth checks sessions in its
    # own table, so it needs no revocation feed.
    app = service_app("auth", settings)
    app.include_router(routes.router, prefix="/api/users")
    return app
