"""Tickets' composition root."""

from fastapi import FastAPI

from ticketing.common.app import service_app
from ticketing.tickets import listeners, routes
from ticketing.tickets.settings import TicketsSettings


def create_app(settings: TicketsSettings | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    app = service_app(
        "tickets", settings, subscriptions=listeners.SUBSCRIPTIONS, follows_revocations=True
    )
    routes.plain.add_to(app)
    app.include_router(routes.router, prefix="/api/tickets")
    return app
