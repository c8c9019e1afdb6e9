"""Pure checks of the event schemas: no fixtures, no I/O."""

from datetime import UTC, datetime
from uuid import uuid4

from ticketing.common.events import (
    ExpirationComplete,
    OrderCancelled,
    OrderCreated,
    OrderRef,
    OrderTicket,
    PaymentCreated,
    TicketUpdated,
)


def test_each_event_orders_behind_the_entity_it_changes():
    ticket_id, order_id = uuid4(), uuid4()
    events = [
        TicketUpdated(
            id=ticket_id, version=1, title="t", price=100, user_id=uuid4(), status="reserved"
        ),
        OrderCreated(
            id=order_id,
            version=0,
            status="created",
            user_id=uuid4(),
            expires_at=datetime.now(UTC),
            ticket=OrderTicket(id=ticket_id, price=100),
        ),
        OrderCancelled(id=order_id, version=1, ticket=OrderRef(id=ticket_id)),
    ]
    assert {event.ordering_key for event in events} == {str(ticket_id)}
    by_order = [
        ExpirationComplete(order_id=order_id),
        PaymentCreated(id=uuid4(), order_id=order_id, stripe_id="ch_1", amount=100),
    ]
    assert {event.ordering_key for event in by_order} == {str(order_id)}
