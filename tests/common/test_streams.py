"""Streams are created with limits from the settings; after that their configuration is the
operator's, and a service starting changes only the subjects the code needs."""

from collections.abc import AsyncIterator
from dataclasses import replace

import nats as nats_client
import pytest
from nats.js import JetStreamContext

from tests.support import bus_prefix
from ticketing.common.bus.connection import BusNames, StreamLimits, ensure_stream
from ticketing.common.events import Subject

DAY = 24 * 3600


@pytest.fixture
async def js(nats) -> AsyncIterator[JetStreamContext]:
    client = await nats_client.connect(nats.url)
    try:
        yield client.jetstream()
    finally:
        await client.close()


async def test_a_new_stream_is_created_with_the_configured_limits(js):
    """The events stream, new for this prefix. (SESSIONS is one per server, whatever the
    prefix: whichever service made it first gave it its limits.)"""
    names = BusNames(bus_prefix())
    await ensure_stream(js, names, StreamLimits(max_age_seconds=3 * DAY, max_bytes=2**20))
    config = (await js.stream_info(names.stream)).config
    assert config.max_age == 3 * DAY
    assert config.max_bytes == 2**20


async def test_a_service_starting_keeps_the_limits_an_operator_set(js):
    names = BusNames(bus_prefix())
    await ensure_stream(js, names, StreamLimits())
    config = (await js.stream_info(names.stream)).config
    await js.update_stream(replace(config, max_age=90 * DAY, max_bytes=2**34, max_msgs=10**7))
    await ensure_stream(js, names, StreamLimits(max_age_seconds=DAY, max_bytes=2**20))
    kept = (await js.stream_info(names.stream)).config
    assert (kept.max_age, kept.max_bytes, kept.max_msgs) == (90 * DAY, 2**34, 10**7)


async def test_a_stream_missing_a_subject_gets_it_and_keeps_the_rest(js):
    names = BusNames(bus_prefix())
    await ensure_stream(js, names, StreamLimits())
    config = (await js.stream_info(names.stream)).config
    fewer = [s for s in config.subjects if s != names.subject(Subject.PAYMENT_REFUNDED)]
    await js.update_stream(replace(config, subjects=fewer, max_age=60 * DAY))
    await ensure_stream(js, names, StreamLimits(max_age_seconds=DAY))
    now = (await js.stream_info(names.stream)).config
    assert names.subject(Subject.PAYMENT_REFUNDED) in now.subjects
    assert now.max_age == 60 * DAY
