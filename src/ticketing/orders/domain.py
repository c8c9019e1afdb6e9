"""Orders' rules and state changes: pure, no session, no I/O, no clock reads."""

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from ticketing.common.errors import BadRequest, NotAuthorized, NotFound
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderRef,
    OrderTicket,
    TicketCreated,
    TicketUpdated,
)
from ticketing.orders.models import Order, Ticket


class OrderStatus(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting:payment"
    CANCELLED = "cancelled"
    COMPLETE = "complete"


OPEN = (OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT)  # only these may close


def check_can_order(ticket: Ticket | None, buyer: UUID) -> Ticket:
    """Only a listed ticket, and not your own. Whether it is free is the index's call."""
    if ticket is None or ticket.withdrawn:
        raise NotFound("Ticket not found")
    if ticket.user_id == buyer:
        raise BadRequest("You cannot order your own ticket")
    return ticket


def expiry(now: datetime, window_seconds: int) -> datetime:
    return now + timedelta(seconds=window_seconds)


def check_owner(order: Order | None, user: UUID) -> Order:
    if order is None:
        raise NotFound("Order not found")
    if order.user_id != user:
        raise NotAuthorized()
    return order


def cancel(order: Order) -> bool:
    """The buyer gives the ticket back; True if this call changed anything."""
    if order.status == OrderStatus.COMPLETE:
        raise BadRequest("Cannot cancel a completed order")
    return _close(order, OrderStatus.CANCELLED)


def complete(order: Order) -> bool:
    """Paid. A cancelled order stays cancelled: payments refunds a charge that came late."""
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


def _close(order: Order, status: OrderStatus) -> bool:
    if order.status not in OPEN:
        return False
    order.status = status
    order.version += 1
    return True


def new_listing(event: TicketCreated) -> dict:
    return {
        "id": event.id,
        "title": event.title,
        "price_cents": event.price,
        "user_id": event.user_id,
        "version": event.version,
        "status": "available",
        "withdrawn": False,
    }


def listing_changes(event: TicketUpdated) -> dict:
    return {
        "title": event.title,
        "price_cents": event.price,
        "user_id": event.user_id,
        "status": event.status,
        "version": event.version,
    }


def copy_listing(replica: Ticket, event: TicketUpdated) -> None:
    for column, value in listing_changes(event).items():
        setattr(replica, column, value)


def withdraw(replica: Ticket, version: int) -> None:
    replica.withdrawn = True
    replica.version = version


def order_created(order: Order, ticket: Ticket) -> OrderCreated:
    return OrderCreated(
        id=order.id,
        version=order.version,
        status=order.status,
        user_id=order.user_id,
        expires_at=order.expires_at,
        ticket=OrderTicket(id=ticket.id, price=ticket.price_cents),
    )


def order_cancelled(order: Order) -> OrderCancelled:
    return OrderCancelled(id=order.id, version=order.version, ticket=OrderRef(id=order.ticket_id))


def order_completed(order: Order) -> OrderCompleted:
    return OrderCompleted(id=order.id, version=order.version, ticket=OrderRef(id=order.ticket_id))
