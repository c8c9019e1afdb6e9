"""Expiration under the shared service fixtures; lateness gathered for the summary."""

import statistics
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.common.bus_support import jetstream
from tests.expiration.bus import ExpirationBus
from tests.services import Service
from ticketing.common.bus.connection import BusNames
from ticketing.expiration.app import create_app
from ticketing.expiration.settings import ExpirationSettings

# Seconds from a timer's due time to its expiration.complete being stored in the stream,
# for every timer armed before it fell due, across this run.
LATENESS: list[float] = []


@pytest.fixture
def service() -> Service:
    # A long sleep cap: a timer that fires on time here was woken by its commit, not the cap.
    return Service(
        "expiration", ExpirationSettings, create_app, defaults={"timer_max_sleep_seconds": 30}
    )


@pytest.fixture
def started(app: FastAPI, client) -> FastAPI:
    """The app running, its listeners and scheduler at work."""
    return app


@pytest.fixture
async def bus(settings, nats) -> AsyncIterator[ExpirationBus]:
    """Publish order events and read expirations on the app's bus prefix."""
    names = BusNames(settings.bus_prefix)
    async with jetstream(nats.url, names) as js:
        yield ExpirationBus(js, names, LATENESS)


def pytest_terminal_summary(terminalreporter) -> None:
    if LATENESS:
        terminalreporter.write_line(
            f"expiration lateness over {len(LATENESS)} timers: "
            f"median {statistics.median(LATENESS) * 1000:.0f} ms, "
            f"worst {max(LATENESS) * 1000:.0f} ms"
        )
