"""A running service trims its bus tables itself, and what it keeps still does its work."""

import pytest

from tests.common.bus_support import bus_rows, counted, stamped_outbox_row, stamped_record
from tests.orders.builders import replica, ticket_created
from tests.support import eventually, running
from ticketing.common import metrics, periodic
from ticketing.common.events import Subject
from ticketing.orders.app import create_app


@pytest.fixture
def overrides() -> dict:
    return {"bus_trim_every_seconds": 0.2}


async def test_a_running_service_trims_its_bus_tables_and_a_kept_record_still_stops_a_repeat(
    client, engine, bus
):
    """The stream keeps events 30 days (its default): a record of 40 days goes, one of 20
    stays, and an event it records delivered again changes nothing."""
    async with engine.begin() as db:
        old_sent = await stamped_outbox_row(db, sent_days_ago=8)
        old_record = await stamped_record(db, days_ago=40)
        kept_record = await stamped_record(db, days_ago=20)

    async def trimmed() -> bool:
        async with engine.connect() as db:
            sent, processed = await bus_rows(db)
        assert kept_record in processed
        return old_sent not in sent and old_record not in processed

    await eventually(trimmed)
    repeats = counted(metrics.DUPLICATES, service="orders", subject=Subject.TICKET_CREATED)
    repeated = ticket_created()
    await bus.publish(repeated, envelope_id=kept_record)
    await eventually(lambda: repeats() == 1)
    assert await replica(engine, repeated.id) is None


@pytest.mark.parametrize("overrides", [{"bus_trim_every_seconds": 3600}])
async def test_the_first_trim_comes_soon_after_the_start_not_a_whole_round_later(
    monkeypatch, settings, bus
):
    """A replica redeployed more often than it trims would otherwise never trim."""
    monkeypatch.setattr(periodic, "FIRST_ROUND_SECONDS", 0.2)
    app = create_app(settings)
    async with running(app):
        async with app.state.engine.begin() as db:
            old_sent = await stamped_outbox_row(db, sent_days_ago=8)

        async def trimmed() -> bool:
            async with app.state.engine.connect() as db:
                return old_sent not in (await bus_rows(db))[0]

        await eventually(trimmed)
