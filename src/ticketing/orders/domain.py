"""Orders' rules and state changes: pure values, no I/O, no clock reads."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from ticketing.common.refusals import Invalid, Missing, NotYours


class OrderStatus(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting:payment"
    CANCELLED = "cancelled"
    COMPLETE = "complete"


OPEN = (OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT)  # only these may close
# An order in one of these holds its ticket: at most one such order per ticket (guarantee 1).
HOLDING = (*OPEN, OrderStatus.COMPLETE)


@dataclass(frozen=True, slots=True)
class Listing:
    """A replica of a tickets-service listing, at the source's `version` (guarantee 4)."""

    id: UUID
    title: str
    price_cents: int
    user_id: UUID  # the seller
    version: int
    status: str = "available"  # as the source says
    withdrawn: bool = False  # this service's own mark: ticket.deleted arrived
    # Times a holder put the ticket back on sale: one order may hold it per sale.
    sale: int = 0


@dataclass(frozen=True, slots=True)
class Order:
    id: UUID
    user_id: UUID
    ticket_id: UUID
    status: OrderStatus
    expires_at: datetime
    # What the buyer was asked to pay (order.created says it to payments): the listing's
    # price may move after the order is placed, this does not.
    price_cents: int
    version: int
    created_at: datetime
    sale: int = 0  # the listing's sale it was placed for: a resale is a new sale


TAKEN = "Ticket is already reserved"
# Sold (and not back on sale), or taken down: what the source says no order can have. A
# sold ticket's first sale is also held by its completed order, but a resale taken down
# is sold with no order holding that sale: the index alone would let one in.
NOT_FOR_SALE = ("sold", "withdrawn")


def check_can_order(listing: Listing | None, buyer: UUID) -> Listing:
    """Only a listed ticket, not sold, and not your own. Whether it is free is the index's
    call: a replica that says so may be behind."""
    if listing is None or listing.withdrawn:
        raise Missing("Ticket not found")
    if listing.user_id == buyer:
        raise Invalid("You cannot order your own ticket")
    if listing.status in NOT_FOR_SALE:
        raise Invalid(TAKEN)
    return listing


def place(
    listing: Listing, *, order_id: UUID, buyer: UUID, now: datetime, window_seconds: int
) -> Order:
    """A new order holds `listing` for `window_seconds`, at the price it has now."""
    return Order(
        id=order_id,
        user_id=buyer,
        ticket_id=listing.id,
        status=OrderStatus.CREATED,
        expires_at=now + timedelta(seconds=window_seconds),
        price_cents=listing.price_cents,
        version=0,
        created_at=now,
        sale=listing.sale,
    )


def check_owner(order: Order | None, user: UUID) -> Order:
    if order is None:
        raise Missing("Order not found")
    if order.user_id != user:
        raise NotYours()
    return order


def cancel(order: Order) -> Order | None:
    """The buyer gives the ticket back; None if the order is closed already."""
    if order.status == OrderStatus.COMPLETE:
        raise Invalid("Cannot cancel a completed order")
    return _close(order, OrderStatus.CANCELLED)


def complete(order: Order) -> Order | None:
    """Paid. A cancelled order stays cancelled (None): payments refunds a charge that came
    late."""
    return _close(order, OrderStatus.COMPLETE)


def payment_refusal(order: Order | None, amount: int) -> str | None:
    """Why a payment.created must not complete the order, or None. Only payments may
    publish it (the bus's permissions); this is the second lock: an event for an order
    this service never placed, or for another sum than the order's price, is refused."""
    if order is None:
        return "unknown order"
    if amount != order.price_cents:
        return f"amount {amount} is not the order's price {order.price_cents}"
    return None


def _close(order: Order, status: OrderStatus) -> Order | None:
    if order.status not in OPEN:
        return None
    return replace(order, status=status, version=order.version + 1)


def follow(replica: Listing, source: Listing) -> Listing:
    """The replica takes what the source says; withdrawn stays this service's own mark."""
    return replace(source, withdrawn=replica.withdrawn)


def withdraw(replica: Listing, version: int) -> Listing:
    """A withdrawn listing stays (orders point at it) but can no longer be ordered."""
    return replace(replica, withdrawn=True, version=version)
