from collections.abc import AsyncIterator

import pytest

from tests.common.bus_support import EventBus, jetstream
from tests.services import Service
from ticketing.common.bus.connection import BusNames
from ticketing.passes.app import create_app
from ticketing.passes.settings import PassesSettings

CODE_SECRET = "passes-test-secret-" + "x" * 24


@pytest.fixture
def service() -> Service:
    return Service(
        "passes",
        PassesSettings,
        create_app,
        defaults={"outbox_poll_seconds": 0.5, "pass_code_secret": CODE_SECRET},
    )


@pytest.fixture
async def bus(settings, nats) -> AsyncIterator[EventBus]:
    """Publish and read events on the app's bus prefix, as orders and tickets would."""
    names = BusNames(settings.bus_prefix)
    async with jetstream(nats.url, names) as js:
        yield EventBus(js, names)
