"""The bus tables keep what they need and no more: a sent event a week, a processed
event's record as long as the stream could deliver that event again, an unsent event for
as long as it waits."""

from dataclasses import replace
from datetime import timedelta

from tests.common.bus_support import bus_rows, engine, jetstream, stamped_outbox_row, stamped_record
from tests.services import bus_prefix
from ticketing.common.bus.connection import BusNames, StreamLimits
from ticketing.common.bus.retention import CLOCKS_MARGIN, Kept, processed_events_kept, trim

WEEK = timedelta(days=7)
DAY = timedelta(days=1)
MONTH = timedelta(seconds=StreamLimits().max_age_seconds)


async def test_what_is_past_its_time_goes_and_an_unsent_event_stays_however_old(probe_db):
    async with engine(probe_db) as made:
        async with made.begin() as db:
            old_sent = await stamped_outbox_row(db, sent_days_ago=8)
            recent_sent = await stamped_outbox_row(db, sent_days_ago=6, created_days_ago=9)
            owed = await stamped_outbox_row(db, sent_days_ago=None, created_days_ago=60)
            old_record = await stamped_record(db, days_ago=40)
            recent_record = await stamped_record(db, days_ago=20)
        async with made.begin() as db:
            assert await trim(db, Kept(WEEK, timedelta(days=31))) == (1, 1)
        async with made.begin() as db:
            sent, processed = await bus_rows(db)
            assert await trim(db, Kept(WEEK, timedelta(days=31))) == (0, 0)  # again: nothing
    assert old_sent not in sent and {recent_sent, owed} <= sent
    assert old_record not in processed and recent_record in processed


async def test_a_stream_that_keeps_events_for_ever_keeps_the_records_for_ever(probe_db):
    async with engine(probe_db) as made:
        async with made.begin() as db:
            ancient = await stamped_record(db, days_ago=3650)
        async with made.begin() as db:
            assert await trim(db, Kept(WEEK, None)) == (0, 0)
            assert ancient in (await bus_rows(db))[1]


async def test_records_are_kept_as_long_as_the_stream_keeps_its_events_and_a_day(nats):
    """Read from the stream itself: an operator's `nats stream edit` is what counts."""
    names = BusNames(bus_prefix())
    async with jetstream(nats.url, names) as js:  # made with the default limits
        assert await processed_events_kept(js, names) == MONTH + CLOCKS_MARGIN
        for max_age, kept in ((3 * DAY, 3 * DAY + CLOCKS_MARGIN), (timedelta(0), None)):
            config = (await js.stream_info(names.stream)).config
            await js.update_stream(replace(config, max_age=max_age.total_seconds()))
            assert await processed_events_kept(js, names) == kept
