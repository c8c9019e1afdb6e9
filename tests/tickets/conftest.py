"""A fresh tickets database and bus prefix per test, the app running, and two people."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import KEYS, Person, bus_prefix, person, running
from ticketing.tickets.app import create_app
from ticketing.tickets.settings import TicketsSettings


@pytest.fixture
async def settings(postgres, nats) -> TicketsSettings:
    return TicketsSettings(
        database_url=await postgres.fresh_database("tickets"),
        nats_url=nats.url,
        **KEYS,
        cookie_secure=False,
        bus_prefix=bus_prefix(),
        outbox_poll_seconds=0.5,
    )


@pytest.fixture
def app(settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app, base_url="http://tickets") as http:
        yield http


@pytest.fixture
def sessions(app, client) -> async_sessionmaker[AsyncSession]:
    """The running app's own sessionmaker, to arrange rows and look at them."""
    return app.state.sessionmaker


@pytest.fixture
def seller(settings) -> Person:
    return person(settings)


@pytest.fixture
def buyer(settings) -> Person:
    return person(settings)
