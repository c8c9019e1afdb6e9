"""The fixtures every service's tests share, written once.

A service's conftest names its `service` (what to build and the settings it needs); these
give each test a fresh database and bus prefix, the app running with its lifespan, the
app's own engine to arrange and inspect rows with, and two signed-in people.
"""

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.common.bus_support import ListenerCounts
from tests.support import KEYS, Person, bus_prefix, person, running
from ticketing.common.settings import ServiceSettings


@dataclass(frozen=True)
class Service:
    name: str  # its package under ticketing, and its database's template
    settings: type[ServiceSettings]
    create_app: Callable[..., FastAPI]
    defaults: Mapping[str, Any] = field(default_factory=dict)  # settings this suite runs with
    keys: Mapping[str, Any] = field(default_factory=lambda: KEYS)


@pytest.fixture
def overrides() -> dict:
    """Settings one test module wants changed; override this fixture there."""
    return {}


@pytest.fixture
async def settings(service: Service, postgres, nats, overrides) -> ServiceSettings:
    return service.settings(
        database_url=await postgres.fresh_database(service.name),
        nats_url=nats.url,
        bus_prefix=bus_prefix(),
        cookie_secure=False,
        **service.keys,
        **{**service.defaults, **overrides},
    )


@pytest.fixture
def counts(service: Service) -> ListenerCounts:
    """What the service's listeners applied since the test began, from its Prometheus
    counters (process-wide, so counted from here). Made before the app, so nothing the
    test's fixtures publish is missed."""
    return ListenerCounts(service.name)


@pytest.fixture
def app(service: Service, settings, counts) -> FastAPI:
    return service.create_app(settings)


@pytest.fixture
async def client(service: Service, app) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app, base_url=f"http://{service.name}") as http:
        yield http


@pytest.fixture
def engine(app, client) -> AsyncEngine:
    """The running app's own engine: `async with engine.begin() as db` to arrange rows."""
    return app.state.engine


@pytest.fixture
def buyer(settings) -> Person:
    return person(settings)


@pytest.fixture
def seller(settings) -> Person:
    return person(settings)
