"""Tickets' composition root."""

from fastapi import FastAPI

from ticketing.common.app import service_app
from ticketing.tickets import listeners, routes
from ticketing.tickets.settings import TicketsSettings


def create_app(settings: TicketsSettings | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    app = service_app(
        "tickets",
        settings,
        # Each handler takes its subject's own event class, which the listener validates;
        # common's Handler names only the base Event, so a narrower handler is refused.
        subscriptions=listeners.SUBSCRIPTIONS,  # type: ignore[arg-type]
        follows_revocations=True,
    )
    app.include_router(routes.router, prefix="/api/tickets")
    return app
