"""The orders replica follows order events in version order; a cancelled paid order is refunded."""

from tests.payments.builders import (
    order_cancelled,
    order_completed,
    order_created,
    pay,
    payments_for,
    replica,
)
from tests.support import eventually
from ticketing.common.events import Subject


async def test_order_created_adds_the_order_with_its_price(bus, buyer, engine):
    order = await bus.place_order(buyer, price=4200)
    row = await replica(engine, order.id)
    assert (row.user_id, row.price_cents, row.status, row.version) == (
        buyer.id,
        4200,
        "created",
        0,
    )


async def test_a_cancellation_that_arrives_first_waits_for_its_order(bus, buyer, engine):
    order = order_created(buyer.id)
    await bus.publish(order_cancelled(order, version=1))
    await bus.publish(order)

    async def cancelled():
        row = await replica(engine, order.id)
        return row is not None and (row.status, row.version) == ("cancelled", 1)

    await eventually(cancelled, timeout=10)


async def test_order_completed_marks_the_replica_complete(bus, buyer, engine):
    order = await bus.place_order(buyer)
    await bus.publish(order_completed(order))

    async def complete():
        row = await replica(engine, order.id)
        return (row.status, row.version) == ("complete", 1)

    await eventually(complete)


async def test_a_stale_event_changes_nothing(counts, bus, buyer, engine, app):
    order = await bus.place_order(buyer)
    await bus.cancel(order)
    await bus.publish(order_completed(order, version=1))  # an old version: dropped
    await bus.publish(order)  # order.created again, under a new envelope id
    await eventually(lambda: counts.applied(Subject.ORDER_CREATED) == 1)
    row = await replica(engine, order.id)
    assert (row.status, row.version) == ("cancelled", 1)


async def test_cancelling_a_paid_order_refunds_it_once(client, bus, buyer, provider, engine):
    order = await bus.place_order(buyer)
    assert (await pay(client, buyer, order.id)).status_code == 201
    await bus.cancel(order)
    [refunded] = await bus.wait_for(Subject.PAYMENT_REFUNDED)
    [payment] = await payments_for(engine, order.id)
    assert refunded == {
        "id": str(payment.id),
        "orderId": str(order.id),
        "stripeId": payment.provider_id,
        "reason": "order cancelled",
    }
    assert list(provider.refunds) == [payment.provider_id]
    assert payment.refunded_at is not None
