"""A fresh expiration database and bus prefix per test; lateness gathered for the summary."""

import statistics
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.common.bus_support import jetstream
from tests.expiration.bus import Completions
from tests.support import KEYS, bus_prefix, running
from ticketing.common.bus.connection import BusNames
from ticketing.expiration.app import create_app
from ticketing.expiration.settings import ExpirationSettings

# Seconds from a timer's due time to its expiration.complete being stored in the stream,
# for every timer armed before it fell due, across this run.
LATENESS: list[float] = []


@pytest.fixture
async def settings(postgres, nats) -> ExpirationSettings:
    # A long sleep cap: a timer that fires on time here was woken by NOTIFY, not the cap.
    return ExpirationSettings(
        database_url=await postgres.fresh_database("expiration"),
        nats_url=nats.url,
        **KEYS,
        bus_prefix=bus_prefix(),
        timer_max_sleep_seconds=30,
    )


@pytest.fixture
def names(settings) -> BusNames:
    return BusNames(settings.bus_prefix)


@pytest.fixture
async def app(settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with running(app):
        yield app


@pytest.fixture
async def js(nats, names):
    async with jetstream(nats.url, names) as js:
        yield js


@pytest.fixture
def completions(js, names) -> Completions:
    return Completions(js, names, LATENESS)


def pytest_terminal_summary(terminalreporter) -> None:
    if LATENESS:
        terminalreporter.write_line(
            f"expiration lateness over {len(LATENESS)} timers: "
            f"median {statistics.median(LATENESS) * 1000:.0f} ms, "
            f"worst {max(LATENESS) * 1000:.0f} ms"
        )
