"""Pure ticket rules: who may change a listing, in which state, and what each change makes of it."""

from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID

from ticketing.common import text
from ticketing.common.refusals import Invalid, NotYours

TITLE_MAX = 200


class Status(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Ticket:
    """A listing as it stands; every change below returns the next one, `version` one higher."""

    id: UUID
    title: str
    price_cents: int
    user_id: UUID
    version: int = 0
    order_id: UUID | None = None
    status: Status = Status.AVAILABLE


@dataclass(frozen=True, slots=True)
class Search:
    """Which listings a list request asks for; `seller` set: theirs, in every state."""

    q: str | None = None
    min_cents: int | None = None
    max_cents: int | None = None
    seller: UUID | None = None
    limit: int = 20
    cursor: str | None = None


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


def shown_to_public(ticket: Ticket) -> bool:
    """A withdrawn listing is gone for the public; its seller still sees it in their list."""
    return ticket.status is not Status.WITHDRAWN


def _require_owner(ticket: Ticket, user_id: UUID) -> None:
    if ticket.user_id != user_id:
        raise NotYours()


def edit(ticket: Ticket, *, editor: UUID, title: str, price_cents: int) -> Ticket:
    """Only the owner, and only while nobody holds or bought it."""
    _require_owner(ticket, editor)
    if ticket.status is not Status.AVAILABLE:
        raise Invalid(f"Cannot edit a {ticket.status} ticket")
    return replace(ticket, title=title, price_cents=price_cents, version=ticket.version + 1)


def withdraw(ticket: Ticket, *, seller: UUID) -> Ticket | None:
    """Take the listing down; None when it already was (withdrawing twice is harmless)."""
    _require_owner(ticket, seller)
    if ticket.status is Status.WITHDRAWN:
        return None
    if ticket.status is not Status.AVAILABLE:
        raise Invalid(f"Cannot withdraw a {ticket.status} ticket")
    return replace(ticket, status=Status.WITHDRAWN, version=ticket.version + 1)


def reserve(ticket: Ticket, order_id: UUID) -> tuple[Reservation, Ticket]:
    """The outcome, and the ticket as it now is: changed only when RESERVED."""
    if ticket.order_id == order_id:
        return Reservation.ALREADY, ticket
    if ticket.status is Status.RESERVED:
        return Reservation.HELD, ticket
    if ticket.status is not Status.AVAILABLE:
        return Reservation.REFUSED, ticket
    held = replace(ticket, status=Status.RESERVED, order_id=order_id, version=ticket.version + 1)
    return Reservation.RESERVED, held


def release(ticket: Ticket, order_id: UUID) -> Ticket | None:
    """Back on sale, but only if this order still holds it: a late cancel frees nothing else."""
    if ticket.status is not Status.RESERVED or ticket.order_id != order_id:
        return None
    return replace(ticket, status=Status.AVAILABLE, order_id=None, version=ticket.version + 1)


def sell(ticket: Ticket, order_id: UUID) -> Ticket | None:
    """Sold to the order that holds it; None when it does not (or it is sold already)."""
    if ticket.status is not Status.RESERVED or ticket.order_id != order_id:
        return None
    return replace(ticket, status=Status.SOLD, version=ticket.version + 1)


def sold_to(ticket: Ticket, order_id: UUID) -> bool:
    return ticket.status is Status.SOLD and ticket.order_id == order_id
