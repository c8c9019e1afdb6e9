"""Expiration's composition root: listeners, the scheduler task, health routes only."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from ticketing.common.app import service_app
from ticketing.expiration import listeners
from ticketing.expiration.scheduler import Scheduler
from ticketing.expiration.settings import ExpirationSettings


def create_app(settings: ExpirationSettings | None = None) -> FastAPI:
    settings = settings or ExpirationSettings()

    @contextlib.asynccontextmanager
    async def scheduling(app: FastAPI) -> AsyncIterator[None]:
        """The scheduler needs only the database; the outbox relay publishes what it fires."""
        scheduler = Scheduler(app.state.engine, settings)
        app.state.scheduler = scheduler
        task = asyncio.create_task(scheduler.run(), name="expiration-scheduler")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return service_app(
        "expiration", settings, subscriptions=listeners.SUBSCRIPTIONS, background=scheduling
    )
