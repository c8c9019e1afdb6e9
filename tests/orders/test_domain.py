"""Orders' rules, pure: no fixtures, no await."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ticketing.common.errors import BadRequest, NotAuthorized, NotFound
from ticketing.orders import domain
from ticketing.orders.domain import OrderStatus
from ticketing.orders.models import Order, Ticket


def a_ticket(**overrides) -> Ticket:
    values = {"id": uuid4(), "title": "Show", "price_cents": 1000, "user_id": uuid4()}
    return Ticket(
        **(values | {"version": 0, "status": "available", "withdrawn": False} | overrides)
    )


def an_order(status: OrderStatus = OrderStatus.CREATED, **overrides) -> Order:
    values = {"id": uuid4(), "user_id": uuid4(), "ticket_id": uuid4(), "version": 0}
    return Order(**(values | {"status": status, "expires_at": datetime.now(UTC)} | overrides))


def test_an_unknown_or_withdrawn_ticket_cannot_be_ordered():
    with pytest.raises(NotFound):
        domain.check_can_order(None, uuid4())
    with pytest.raises(NotFound):
        domain.check_can_order(a_ticket(withdrawn=True), uuid4())


def test_a_seller_cannot_order_their_own_ticket():
    ticket = a_ticket()
    with pytest.raises(BadRequest, match="own ticket"):
        domain.check_can_order(ticket, ticket.user_id)


def test_only_the_owner_sees_an_order():
    order = an_order()
    assert domain.check_owner(order, order.user_id) is order
    with pytest.raises(NotAuthorized):
        domain.check_owner(order, uuid4())
    with pytest.raises(NotFound):
        domain.check_owner(None, uuid4())


def test_cancelling_bumps_the_version_once():
    order = an_order()
    assert domain.cancel(order)
    assert not domain.cancel(order)
    assert (order.status, order.version) == (OrderStatus.CANCELLED, 1)


def test_a_completed_order_cannot_be_cancelled():
    order = an_order(OrderStatus.COMPLETE)
    with pytest.raises(BadRequest, match="completed"):
        domain.cancel(order)
    assert order.version == 0


@pytest.mark.parametrize("status", [OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT])
def test_an_open_order_completes(status):
    paid = an_order(status)
    assert domain.complete(paid)
    assert (paid.status, paid.version) == (OrderStatus.COMPLETE, 1)


def test_a_cancelled_order_is_not_completed():
    # Expiry's rule (only an open order closes) is one UPDATE in service.expire_order,
    # covered by the expiration.complete tests in test_listeners.
    cancelled = an_order(OrderStatus.CANCELLED)
    assert not domain.complete(cancelled)
    assert (cancelled.status, cancelled.version) == (OrderStatus.CANCELLED, 0)
