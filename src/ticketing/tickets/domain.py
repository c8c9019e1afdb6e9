"""Pure ticket rules: who may change a listing, in which state, and what each change does."""

from enum import StrEnum
from typing import Protocol
from uuid import UUID

from ticketing.common import text
from ticketing.common.errors import BadRequest, NotAuthorized

TITLE_MAX = 200


class Status(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"


class Listing(Protocol):
    title: str
    price_cents: int
    user_id: UUID
    version: int
    order_id: UUID | None
    status: str


class Reservation(StrEnum):
    """What an order.created does to a ticket."""

    RESERVED = "reserved"  # changed: now held by the order
    ALREADY = "already"  # the same order holds it: a replay, nothing to do
    HELD = "held"  # another order holds it: wait for that order's end
    REFUSED = "refused"  # sold or withdrawn: nothing will ever change that


def clean_title(value: object) -> str:
    """1 to 200 characters once surrounding spaces are gone; any script, emoji or invisible
    joiner, but no control character (NUL breaks PostgreSQL, the rest break pages)."""
    if value is None:
        raise ValueError("Title is required")
    if not isinstance(value, str):
        raise ValueError("Title must be text")
    title = value.strip()
    if not title:
        raise ValueError("Title is required")
    if len(title) > TITLE_MAX:
        raise ValueError(f"Title must be at most {TITLE_MAX} characters")
    if text.has_unsafe(title):
        raise ValueError("Title must not contain control characters")
    return title


def _require_owner(ticket: Listing, user_id: UUID) -> None:
    if ticket.user_id != user_id:
        raise NotAuthorized()


def _bump(ticket: Listing) -> None:
    ticket.version += 1


def edit(ticket: Listing, *, editor: UUID, title: str, price_cents: int) -> None:
    """Only the owner, and only while nobody holds or bought it."""
    _require_owner(ticket, editor)
    if ticket.status != Status.AVAILABLE:
        raise BadRequest(f"Cannot edit a {ticket.status} ticket")
    ticket.title = title
    ticket.price_cents = price_cents
    _bump(ticket)


def withdraw(ticket: Listing, *, seller: UUID) -> bool:
    """Take the listing down; False when it already was (withdrawing twice is harmless)."""
    _require_owner(ticket, seller)
    if ticket.status == Status.WITHDRAWN:
        return False
    if ticket.status != Status.AVAILABLE:
        raise BadRequest(f"Cannot withdraw a {ticket.status} ticket")
    ticket.status = Status.WITHDRAWN
    _bump(ticket)
    return True


def reserve(ticket: Listing, order_id: UUID) -> Reservation:
    if ticket.order_id == order_id:
        return Reservation.ALREADY
    if ticket.status == Status.RESERVED:
        return Reservation.HELD
    if ticket.status != Status.AVAILABLE:
        return Reservation.REFUSED
    ticket.status = Status.RESERVED
    ticket.order_id = order_id
    _bump(ticket)
    return Reservation.RESERVED


def release(ticket: Listing, order_id: UUID) -> bool:
    """Back on sale, but only if this order still holds it: a late cancel frees nothing else."""
    if ticket.status != Status.RESERVED or ticket.order_id != order_id:
        return False
    ticket.status = Status.AVAILABLE
    ticket.order_id = None
    _bump(ticket)
    return True


def sell(ticket: Listing, order_id: UUID) -> bool:
    """Sold to the order that holds it; False when it does not (or it is sold already)."""
    if ticket.status != Status.RESERVED or ticket.order_id != order_id:
        return False
    ticket.status = Status.SOLD
    _bump(ticket)
    return True
