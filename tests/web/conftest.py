"""The web app in front of the services it needs, in one process, and visitors with cookie jars.

A test names the services behind the pages with `@pytest.mark.services(...)` (auth alone by
default). A service that is not built or not yet in the runtime registry skips the test,
saying which.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.common.bus_support import EventBus, jetstream
from tests.system import System, running_system
from tests.web.visitor import Visitor
from ticketing.common.bus.connection import BusNames
from ticketing.runtime.services import SERVICES

SRC = Path(__file__).resolve().parents[2] / "src" / "ticketing"
CSRF_KEY = "test-csrf-key-0123456789abcdef0123456789"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "services(*names): the services the web pages under test call (default auth)"
    )


def missing_services(names: tuple[str, ...]) -> str | None:
    """Why the pages cannot be tested yet, or None when every service is there."""
    registered = {spec.name for spec in SERVICES}
    for name in names:
        if not (SRC / name / "app.py").exists():
            return f"the {name} service is not built yet (no src/ticketing/{name}/app.py)"
        if name not in registered:
            return f"the {name} service is not in ticketing.runtime.services.SERVICES yet"
    return None


@pytest.fixture
async def system(request: pytest.FixtureRequest, postgres, nats) -> AsyncIterator[System]:
    marker = request.node.get_closest_marker("services")
    names = tuple(marker.args) if marker else ("auth",)
    overrides = {"csrf_key": CSRF_KEY} | (dict(marker.kwargs) if marker else {})
    if reason := missing_services(names):
        pytest.skip(reason)
    async with running_system(postgres, nats, services=[*names, "web"], **overrides) as running:
        yield running


@pytest.fixture
async def visitor(system: System) -> AsyncIterator[Visitor]:
    async with Visitor(system) as someone:
        yield someone


@pytest.fixture
async def seller(system: System) -> AsyncIterator[Visitor]:
    async with Visitor(system) as someone:
        await someone.sign_up()
        yield someone


@pytest.fixture
async def buyer(system: System) -> AsyncIterator[Visitor]:
    async with Visitor(system) as someone:
        await someone.sign_up()
        yield someone


@pytest.fixture
async def events(system: System, nats) -> AsyncIterator[EventBus]:
    """The other services' side of the system's bus: publish what they would."""
    names = BusNames(system.prefix)
    async with jetstream(nats.url, names) as js:
        yield EventBus(js, names)
