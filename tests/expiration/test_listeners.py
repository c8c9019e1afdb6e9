"""order.created arms one timer per order, however often it arrives; the end of an order
disarms it."""

from uuid import uuid4

from sqlalchemy import func, select

from tests.common.bus_support import settle
from tests.expiration.bus import in_seconds, order_cancelled, order_completed, order_created
from tests.support import eventually
from ticketing.common.events import Subject
from ticketing.expiration.models import Timer


async def timers_for(engine, order_id) -> int:
    async with engine.connect() as db:
        query = select(func.count()).select_from(Timer).where(Timer.order_id == order_id)
        return (await db.execute(query)).scalar_one()


async def test_a_redelivered_order_created_arms_one_timer_and_fires_once(
    counts, started, engine, bus
):
    order_id, due = uuid4(), in_seconds(1.5)
    event = order_created(order_id, due)
    first = await bus.publish(event)
    await bus.publish(event, envelope_id=first.id)  # the same envelope again
    await bus.publish(event)  # the same order under a new envelope id
    await eventually(lambda: counts.applied(Subject.ORDER_CREATED) == 2)
    assert await timers_for(engine, order_id) == 1

    await bus.wait_for_expiry(order_id, timeout=5)
    await bus.lateness(order_id, due)
    await bus.publish(event)  # redelivered after firing: the fired timer absorbs it
    await eventually(lambda: counts.applied(Subject.ORDER_CREATED) == 3)
    await settle(0.5)
    assert await bus.expirations(order_id) == 1
    assert started.state.scheduler.fired == 1


async def test_a_cancelled_or_completed_order_never_expires(counts, started, engine, bus):
    cancelled, completed, control = uuid4(), uuid4(), uuid4()
    for order_id in (cancelled, completed):
        await bus.publish(order_created(order_id, in_seconds(1.5)))
    await bus.publish(order_created(control, in_seconds(1.8)))
    await eventually(lambda: counts.applied(Subject.ORDER_CREATED) == 3)
    await bus.publish(order_cancelled(cancelled))
    await bus.publish(order_completed(completed))
    await eventually(lambda: counts.applied(Subject.ORDER_CANCELLED) == 1)
    await eventually(lambda: counts.applied(Subject.ORDER_COMPLETED) == 1)
    assert await timers_for(engine, cancelled) == 0  # disarmed: the table stays bounded
    assert await timers_for(engine, completed) == 0

    await bus.wait_for_expiry(control, timeout=5)  # fell due after the other two
    await settle(0.3)
    assert await bus.expirations(cancelled) == 0
    assert await bus.expirations(completed) == 0
