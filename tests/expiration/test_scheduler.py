"""Guarantee 5: timers fire on time, once, across restarts and replicas."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import func, select

from tests.common import bus_support
from tests.common.bus_support import settle
from tests.expiration.bus import in_seconds, order_created
from tests.support import eventually, running
from ticketing.common.bus.tables import outbox
from ticketing.common.events import Subject
from ticketing.expiration import service
from ticketing.expiration.app import create_app
from ticketing.expiration.models import Timer
from ticketing.expiration.scheduler import Scheduler


async def sleep_until(moment: datetime) -> None:
    """Let time pass while the service is down: this creates the condition, asserts nothing."""
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0))


async def test_each_timer_fires_within_a_second_of_its_due_time(counts, started, bus):
    """The sleep cap is 30 s here: a timer on time means its commit woke the scheduler."""
    await bus.publish(order_created(uuid4(), in_seconds(60)))  # a far one, armed first
    await eventually(lambda: counts.applied(Subject.ORDER_CREATED) == 1)
    due = {uuid4(): in_seconds(0.8 + 0.4 * i) for i in range(5)}
    for order_id, at in due.items():
        await bus.publish(order_created(order_id, at))
    await bus.wait_for_expiry(*due, timeout=6)
    for order_id, at in due.items():
        late = await bus.lateness(order_id, at)
        assert 0 <= late < 2.0, f"fired {late:.3f} s after its due time"


async def test_an_expiry_already_past_fires_at_once(started, bus):
    order_id = uuid4()
    await bus.publish(order_created(order_id, in_seconds(-60)))
    await bus.wait_for_expiry(order_id, timeout=2)


async def test_a_timer_that_fell_due_while_the_service_was_down_fires_on_start(
    counts, settings, bus
):
    order_id, due = uuid4(), in_seconds(1.0)
    first = create_app(settings)
    async with running(first):
        await bus.publish(order_created(order_id, due))
        await eventually(lambda: counts.applied(Subject.ORDER_CREATED) == 1)  # stored, not yet due
    await sleep_until(due + timedelta(seconds=0.3))
    assert await bus.expirations(order_id) == 0

    started = datetime.now(UTC)
    async with running(create_app(settings)):
        await bus.wait_for_expiry(order_id, timeout=3)
        assert await bus.lateness(order_id, started, record=False) < 2.0


async def test_an_order_created_while_the_service_was_down_expires_promptly_after_start(
    settings, bus
):
    async with running(create_app(settings)):  # the durable consumers exist from here on
        pass
    order_id, due = uuid4(), in_seconds(0.5)
    await bus.publish(order_created(order_id, due))
    await sleep_until(due + timedelta(seconds=0.2))

    started = datetime.now(UTC)
    async with running(create_app(settings)):
        await bus.wait_for_expiry(order_id, timeout=3)
        assert await bus.lateness(order_id, started, record=False) < 2.0


async def test_two_instances_on_one_database_fire_each_timer_once(settings, bus):
    one, two = create_app(settings), create_app(settings)
    async with running(one), running(two):
        due = {uuid4(): in_seconds(1.0 + i / 30) for i in range(30)}
        for order_id, at in due.items():
            await bus.publish(order_created(order_id, at))
        await bus.wait_for_expiry(*due, timeout=6)
        await settle(0.5)
        fired = one.state.scheduler.fired + two.state.scheduler.fired
        completes = [m["orderId"] for m in await bus.published(Subject.EXPIRATION_COMPLETE)]
    assert sorted(completes) == sorted(str(order_id) for order_id in due)
    assert fired == 30
    for order_id, at in due.items():
        await bus.lateness(order_id, at)


async def test_schedulers_racing_on_one_table_fire_each_due_timer_once(settings):
    now = datetime.now(UTC)
    async with bus_support.engine(settings.database_url) as own:
        async with own.begin() as db:
            for _ in range(200):
                await service.arm_timer(db, uuid4(), now - timedelta(seconds=1))

        async def fire_until_empty() -> list:
            fired = []
            while True:
                async with own.begin() as db:
                    batch = await service.fire_due_timers(db, now, limit=10)
                if not batch:
                    return fired
                fired += batch

        results = await asyncio.gather(*(fire_until_empty() for _ in range(4)))
        async with own.connect() as db:
            staged = (await db.execute(select(func.count()).select_from(outbox))).scalar_one()
    fired = [order_id for result in results for order_id in result]
    assert len(fired) == len(set(fired)) == 200
    assert staged == 200
    assert sum(1 for result in results if result) > 1  # they did race


async def test_fired_timers_are_purged_after_the_retention_window(settings):
    now = datetime.now(UTC)
    async with bus_support.engine(settings.database_url) as own:
        async with own.begin() as db:
            await service.arm_timer(db, uuid4(), now - timedelta(minutes=1))
            await service.arm_timer(db, pending := uuid4(), now + timedelta(hours=48))
        assert await Scheduler(own, settings, clock=lambda: now).tick() == 30  # fired; cap
        later = now + timedelta(hours=settings.fired_timer_retention_hours, minutes=1)
        await Scheduler(own, settings, clock=lambda: later).tick()
        async with own.connect() as db:
            left = (await db.execute(select(Timer.order_id))).scalars().all()
    assert left == [pending]
