from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.common.bus_support import jetstream
from tests.orders.builders import EventBus
from tests.support import KEYS, Person, bus_prefix, person, running
from ticketing.common.bus.connection import BusNames
from ticketing.orders.app import create_app
from ticketing.orders.settings import OrdersSettings


@pytest.fixture
async def settings(postgres, nats) -> OrdersSettings:
    return OrdersSettings(
        database_url=await postgres.fresh_database("orders"),
        nats_url=nats.url,
        **KEYS,
        bus_prefix=bus_prefix(),
        cookie_secure=False,
        outbox_poll_seconds=0.5,
    )


@pytest.fixture
def app(settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http


@pytest.fixture
def sessions(client, app) -> async_sessionmaker[AsyncSession]:
    """The running app's own sessions, for builders and for looking at rows."""
    return app.state.sessionmaker


@pytest.fixture
async def bus(settings, nats) -> AsyncIterator[EventBus]:
    """Publish and read events on the app's bus prefix, as the other services would."""
    names = BusNames(settings.bus_prefix)
    async with jetstream(nats.url, names) as js:
        yield EventBus(js, names)


@pytest.fixture
def buyer(settings) -> Person:
    return person(settings)


@pytest.fixture
def seller(settings) -> Person:
    return person(settings)
