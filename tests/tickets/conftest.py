"""Tickets' suite: the shared service fixtures (tests/services.py) build the tickets app; the
other services' side of the bus, to publish their events and read ours."""

from collections.abc import AsyncIterator

import pytest

from tests.common.bus_support import EventBus, jetstream
from tests.services import Service
from ticketing.common.bus.connection import BusNames
from ticketing.tickets.app import create_app
from ticketing.tickets.settings import TicketsSettings


@pytest.fixture
def service() -> Service:
    return Service("tickets", TicketsSettings, create_app, defaults={"outbox_poll_seconds": 0.5})


@pytest.fixture
async def bus(client, settings, nats) -> AsyncIterator[EventBus]:
    """Started after the app (client), whose lifespan creates the stream."""
    names = BusNames(settings.bus_prefix)
    async with jetstream(nats.url, names) as js:
        yield EventBus(js, names)
