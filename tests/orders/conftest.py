from collections.abc import AsyncIterator

import pytest

from tests.common.bus_support import jetstream
from tests.orders.builders import OrdersBus
from tests.services import Service
from ticketing.common.bus.connection import BusNames
from ticketing.orders.app import create_app
from ticketing.orders.settings import OrdersSettings


@pytest.fixture
def service() -> Service:
    return Service("orders", OrdersSettings, create_app, defaults={"outbox_poll_seconds": 0.5})


@pytest.fixture
async def bus(settings, nats) -> AsyncIterator[OrdersBus]:
    """Publish and read events on the app's bus prefix, as the other services would."""
    names = BusNames(settings.bus_prefix)
    async with jetstream(nats.url, names) as js:
        yield OrdersBus(js, names)
