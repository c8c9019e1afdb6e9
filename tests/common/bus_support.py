"""Bus fixtures for the common tests: a probe database, a JetStream context, a collector."""

import asyncio
import json
from contextlib import asynccontextmanager
from uuid import UUID

import nats

from ticketing.common.bus.connection import BusNames, ensure_stream
from ticketing.common.db import make_engine, make_sessionmaker
from ticketing.common.events import Envelope, Event, Subject


@asynccontextmanager
async def jetstream(url: str, names: BusNames):
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, names)
    try:
        yield js
    finally:
        await nc.close()


@asynccontextmanager
async def sessions(url: str):
    engine = make_engine(url, pool_size=5)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def stream_messages(js, names: BusNames) -> list[dict]:
    """Every message in the stream, in order, decoded."""
    info = await js.stream_info(names.stream)
    messages = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        raw = await js.get_msg(names.stream, seq)
        messages.append(json.loads(raw.data))
    return messages


async def settle(seconds: float = 0.3) -> None:
    """Give a background task a chance to do something it must not do."""
    await asyncio.sleep(seconds)


async def publish_event(
    js, names: BusNames, event: Event, envelope_id: UUID | None = None
) -> Envelope:
    """Publish as a service's relay would, but without Nats-Msg-Id: a repeated envelope id
    really reaches the listener twice, as a redelivery does."""
    envelope = Envelope.wrap(event)
    if envelope_id is not None:
        envelope = envelope.model_copy(update={"id": envelope_id})
    subject, stream = names.subject(envelope.subject), names.stream_for(envelope.subject)
    await js.publish(subject, envelope.to_bytes(), stream=stream)
    return envelope


async def published_data(js, names: BusNames, subject: Subject) -> list[dict]:
    """The `data` of every message on `subject`, in stream order."""
    return [m["data"] for m in await stream_messages(js, names) if m["subject"] == subject]
