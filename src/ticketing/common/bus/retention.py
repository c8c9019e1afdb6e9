"""What the bus tables keep, so that a service that runs for years does not keep every event
it ever sent or applied.

- An outbox row once sent is kept `OUTBOX_KEEP_SECONDS` (a week by default), for looking
  into what was sent, then deleted. A row not yet sent is never deleted: it is an event
  still owed to the bus.
- A processed event's record is what makes a second delivery a duplicate (guarantee 3),
  so it is kept for as long as the stream could deliver that event again: the stream's
  own max age, read from the stream, and a day more for the two servers' clocks. A stream
  that keeps its events for ever keeps the records for ever too.

Every replica trims: each statement deletes whatever is past its time, and a row another
replica deleted first is simply not there.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from nats.js import JetStreamContext
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.common.bus.connection import BusNames
from ticketing.common.bus.tables import outbox, processed_events

log = logging.getLogger(__name__)

CLOCKS_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class Kept:
    """How long each table keeps a row: None, for ever."""

    sent_events: timedelta
    processed_events: timedelta | None


async def processed_events_kept(js: JetStreamContext, names: BusNames) -> timedelta | None:
    """As long as the events stream may still hold an event, and the margin; None when it
    keeps them for ever."""
    info = await js.stream_info(names.stream)
    max_age = info.config.max_age or 0
    return timedelta(seconds=max_age) + CLOCKS_MARGIN if max_age > 0 else None


async def trim(db: AsyncConnection, kept: Kept) -> tuple[int, int]:
    """Delete the sent events and the processed-event records past their time, by the
    database's clock, which stamped them; how many of each."""
    sent = await db.execute(
        delete(outbox).where(outbox.c.published_at < func.now() - kept.sent_events)
    )
    processed = 0
    if kept.processed_events is not None:
        result = await db.execute(
            delete(processed_events).where(
                processed_events.c.processed_at < func.now() - kept.processed_events
            )
        )
        processed = result.rowcount
    return sent.rowcount, processed


async def trim_once(
    service: str,
    engine: AsyncEngine,
    js: JetStreamContext,
    names: BusNames,
    *,
    sent_events_kept: timedelta,
) -> None:
    """One round, for `periodic.every`: the stream's age read afresh, so that a stream
    edited under a running service counts from its next round."""
    kept = Kept(sent_events_kept, await processed_events_kept(js, names))
    async with engine.begin() as db:
        sent, processed = await trim(db, kept)
    if sent or processed:
        log.info(
            "%s: deleted %d sent events and %d processed-event records past their time",
            service,
            sent,
            processed,
        )
