"""Notifications under the shared service fixtures, with a real SMTP server per test."""

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from tests.common.bus_support import EventBus, jetstream
from tests.notifications.smtp import SmtpServer, smtp_server
from tests.services import Service
from ticketing.common.bus.connection import BusNames
from ticketing.notifications.app import create_app
from ticketing.notifications.settings import NotificationsSettings

SITE_URL = "https://tickets.test"
SITE_NAME = "Showtime Tickets"
MAIL_FROM = "Showtime Tickets <hello@tickets.test>"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def service(smtp: SmtpServer) -> Service:
    # Retries no more than 2 s apart: a mail server back from an outage is found soon.
    return Service(
        "notifications",
        NotificationsSettings,
        create_app,
        defaults={
            "smtp_url": smtp.url,
            "site_url": SITE_URL,
            "site_name": SITE_NAME,
            "mail_from": MAIL_FROM,
            "send_retry_max_seconds": 2.0,
            "smtp_timeout_seconds": 5.0,
        },
    )


@pytest.fixture
def started(app: FastAPI, client) -> FastAPI:
    """The app running, its listeners and sender at work."""
    return app


@pytest.fixture
async def bus(settings, nats) -> AsyncIterator[EventBus]:
    """Publish the other services' events on the app's bus prefix."""
    names = BusNames(settings.bus_prefix)
    async with jetstream(nats.url, names) as js:
        yield EventBus(js, names)
