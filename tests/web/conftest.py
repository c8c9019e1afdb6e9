"""The web app in front of the services it needs, in one process, and visitors with cookie jars.

A test names the services behind the pages with `@pytest.mark.services(...)` (auth alone by
default). A service that is not built or not yet in the runtime registry skips the test,
saying which.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.system import System, running_system
from tests.web.money_stub import PayoutsStub, ThreeDSecurePayments
from tests.web.passes_stub import PassesStub
from tests.web.visitor import Visitor
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
def passes(system: System) -> PassesStub:
    """STAND-IN for the passes API, in front of the real services (see passes_stub.py)."""
    stub = PassesStub()
    for prefix in ("/api/passes", "/api/checkins"):
        system.transport.add(prefix, stub.app)
    return stub


@pytest.fixture
def payouts(system: System) -> PayoutsStub:
    """STAND-IN for the payouts API, in front of the real services (see money_stub.py)."""
    stub = PayoutsStub()
    system.transport.add("/api/payouts", stub.app)
    return stub


@pytest.fixture
def three_d_secure(system: System) -> ThreeDSecurePayments:
    """STAND-IN for payments' 202 answer to a card that needs 3-D Secure (money_stub.py)."""
    stub = ThreeDSecurePayments()
    system.transport.add("/api/payments", stub.app)
    return stub
