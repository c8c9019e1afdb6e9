"""Orders' rules, pure: no fixtures, no await."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ticketing.common.refusals import Invalid, Missing, NotYours
from ticketing.orders import domain
from ticketing.orders.domain import Listing, Order, OrderStatus


def a_listing(**overrides) -> Listing:
    values = {"id": uuid4(), "title": "Show", "price_cents": 1000, "user_id": uuid4()}
    return Listing(**(values | {"version": 0} | overrides))


def an_order(status: OrderStatus = OrderStatus.CREATED, **overrides) -> Order:
    now = datetime.now(UTC)
    values = {"id": uuid4(), "user_id": uuid4(), "ticket_id": uuid4(), "version": 0}
    return Order(
        **(
            values
            | {"status": status, "expires_at": now, "price_cents": 1000, "created_at": now}
            | overrides
        )
    )


def test_an_unknown_or_withdrawn_ticket_cannot_be_ordered():
    with pytest.raises(Missing, match="Ticket not found"):
        domain.check_can_order(None, uuid4())
    with pytest.raises(Missing):
        domain.check_can_order(a_listing(withdrawn=True), uuid4())


def test_a_seller_cannot_order_their_own_ticket():
    listing = a_listing()
    with pytest.raises(Invalid, match="own ticket"):
        domain.check_can_order(listing, listing.user_id)


def test_a_placed_order_holds_the_ticket_for_the_window_at_todays_price():
    listing, buyer, order_id, now = a_listing(price_cents=1250), uuid4(), uuid4(), datetime.now(UTC)
    order = domain.place(listing, order_id=order_id, buyer=buyer, now=now, window_seconds=60)
    assert order == Order(
        id=order_id,
        user_id=buyer,
        ticket_id=listing.id,
        status=OrderStatus.CREATED,
        expires_at=now + timedelta(seconds=60),
        price_cents=1250,
        version=0,
        created_at=now,
    )


def test_only_the_owner_sees_an_order():
    order = an_order()
    assert domain.check_owner(order, order.user_id) is order
    with pytest.raises(NotYours):
        domain.check_owner(order, uuid4())
    with pytest.raises(Missing, match="Order not found"):
        domain.check_owner(None, uuid4())


def test_cancelling_bumps_the_version_once():
    order = an_order()
    cancelled = domain.cancel(order)
    assert cancelled is not None
    assert (cancelled.status, cancelled.version) == (OrderStatus.CANCELLED, 1)
    assert domain.cancel(cancelled) is None
    assert order.status == OrderStatus.CREATED  # a new value; the old one is as it was


def test_a_completed_order_cannot_be_cancelled():
    with pytest.raises(Invalid, match="completed"):
        domain.cancel(an_order(OrderStatus.COMPLETE))


@pytest.mark.parametrize("status", [OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT])
def test_an_open_order_completes(status):
    paid = domain.complete(an_order(status))
    assert paid is not None
    assert (paid.status, paid.version) == (OrderStatus.COMPLETE, 1)


def test_a_cancelled_order_is_not_completed():
    # Expiry's rule (only an open order closes) is one UPDATE in store.close_open_order,
    # covered by the expiration.complete tests in test_listeners.
    assert domain.complete(an_order(OrderStatus.CANCELLED)) is None


def test_a_payment_counts_only_for_a_known_order_at_its_price():
    order = an_order(price_cents=1000)
    assert domain.payment_refusal(order, 1000) is None
    assert domain.payment_refusal(order, 999) == "amount 999 is not the order's price 1000"
    assert domain.payment_refusal(None, 1000) == "unknown order"


def test_the_replica_follows_the_source_but_keeps_its_withdrawn_mark():
    replica = a_listing(withdrawn=True)
    source = replace(replica, title="Edited", price_cents=1500, version=1, withdrawn=False)
    assert domain.follow(replica, source) == replace(source, withdrawn=True)


def test_a_withdrawn_listing_takes_the_deletions_version():
    withdrawn = domain.withdraw(a_listing(version=1), 2)
    assert (withdrawn.withdrawn, withdrawn.version) == (True, 2)


@pytest.mark.parametrize("status", ["sold", "withdrawn"])
def test_a_listing_the_source_says_is_sold_or_withdrawn_is_refused_as_reserved(status):
    with pytest.raises(Invalid, match=r"^Ticket is already reserved$"):
        domain.check_can_order(a_listing(status=status), uuid4())


def test_an_order_is_placed_for_the_listings_sale():
    listing = a_listing(sale=2)
    order = domain.place(
        listing, order_id=uuid4(), buyer=uuid4(), now=datetime.now(UTC), window_seconds=60
    )
    assert order.sale == 2
