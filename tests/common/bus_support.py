"""Bus fixtures for the common tests: a probe database, a JetStream context, a collector."""

import asyncio
import json
from contextlib import asynccontextmanager

import nats

from ticketing.common.bus.connection import BusNames, ensure_stream
from ticketing.common.db import make_engine, make_sessionmaker


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
