"""Expiration's composition root: listeners, the scheduler task, health routes only."""

from fastapi import FastAPI

from ticketing.common.app import background_task, service_app
from ticketing.expiration import listeners
from ticketing.expiration.scheduler import Scheduler
from ticketing.expiration.settings import ExpirationSettings


def create_app(settings: ExpirationSettings | None = None) -> FastAPI:
    settings = settings or ExpirationSettings()

    async def schedule(app: FastAPI) -> None:
        """The scheduler needs only the database; the outbox relay publishes what it fires."""
        app.state.scheduler = Scheduler(app.state.engine, settings)
        await app.state.scheduler.run()

    return service_app(
        "expiration",
        settings,
        subscriptions=listeners.SUBSCRIPTIONS,
        background=background_task(schedule, name="expiration-scheduler"),
    )
