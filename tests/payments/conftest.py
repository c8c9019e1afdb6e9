from collections.abc import AsyncIterator

import httpx
import pytest

from tests.payments.builders import EventBus
from tests.support import KEYS, Person, bus_prefix, person, running
from ticketing.payments.app import create_app
from ticketing.payments.providers import PaymentProvider, SandboxProvider
from ticketing.payments.settings import PaymentsSettings


@pytest.fixture
def overrides() -> dict:
    """Settings a test module wants changed; override this fixture there."""
    return {}


@pytest.fixture
async def settings(postgres, nats, overrides) -> PaymentsSettings:
    return PaymentsSettings(
        database_url=await postgres.fresh_database("payments"),
        nats_url=nats.url,
        **KEYS,
        bus_prefix=bus_prefix(),
        cookie_secure=False,
        payment_provider="sandbox",
        **overrides,
    )


@pytest.fixture
def provider() -> PaymentProvider:
    """The card processor the app uses; a test overrides it with a misbehaving one."""
    return SandboxProvider()


@pytest.fixture
def app(settings, provider):
    return create_app(settings, provider=provider)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http


@pytest.fixture
def sessions(app, client):
    return app.state.sessionmaker


@pytest.fixture
def bus(app, client, sessions) -> EventBus:
    runtime = app.state.bus
    return EventBus(runtime.nc.jetstream(), runtime.names, sessions)


@pytest.fixture
def buyer(settings) -> Person:
    return person(settings)
