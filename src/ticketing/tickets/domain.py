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
    # How many times a holder put it back on sale (a resale): orders lets one order hold a
    # ticket per sale, so a resold ticket can be ordered again.
    sale: int = 0
    price_cap_cents: int | None = None  # a resale's most, from the pass: no edit passes it
    # The holder took the resale down while an order held it: that order's release gives
    # the ticket back to its holder (SOLD), it does not put it on sale.
    taken_down: bool = False


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


RESALE_EDIT = "A resale is changed from your pass"


def _require_not_resale(ticket: Ticket) -> None:
    """A resale listing is its pass's: edited here, its price could pass the cap."""
    if is_resale(ticket) and ticket.status is Status.AVAILABLE:
        raise Invalid(RESALE_EDIT)


def is_resale(ticket: Ticket) -> bool:
    return ticket.sale > 0


def edit(ticket: Ticket, *, editor: UUID, title: str, price_cents: int) -> Ticket:
    """Only the owner, and only while nobody holds or bought it, and not a resale."""
    _require_owner(ticket, editor)
    _require_not_resale(ticket)
    if ticket.status is not Status.AVAILABLE:
        raise Invalid(f"Cannot edit a {ticket.status} ticket")
    return replace(ticket, title=title, price_cents=price_cents, version=ticket.version + 1)


def withdraw(ticket: Ticket, *, seller: UUID) -> Ticket | None:
    """Take the listing down; None when it already was (withdrawing twice is harmless)."""
    _require_owner(ticket, seller)
    _require_not_resale(ticket)
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
    """Back on sale, but only if this order still holds it: a late cancel frees nothing else.
    A resale taken down meanwhile goes back to its holder instead (SOLD)."""
    if ticket.status is not Status.RESERVED or ticket.order_id != order_id:
        return None
    status = Status.SOLD if ticket.taken_down else Status.AVAILABLE
    return replace(
        ticket, status=status, order_id=None, taken_down=False, version=ticket.version + 1
    )


def sell(ticket: Ticket, order_id: UUID) -> Ticket | None:
    """Sold to the order that holds it; None when it does not (or it is sold already). A
    resale taken down too late is sold all the same: the buyer paid first."""
    if ticket.status is not Status.RESERVED or ticket.order_id != order_id:
        return None
    return replace(ticket, status=Status.SOLD, taken_down=False, version=ticket.version + 1)


def sold_to(ticket: Ticket, order_id: UUID) -> bool:
    return ticket.status is Status.SOLD and ticket.order_id == order_id


def _resale_of(ticket: Ticket, holder: UUID) -> bool:
    return is_resale(ticket) and ticket.user_id == holder


def waits_for_sale(ticket: Ticket, holder: UUID) -> bool:
    """A pass is listed before this service saw the sale it came from: the ticket is still
    held (its order.completed is on its way) or on sale by someone else (so is the order).
    The listing must wait for the sale, not be dropped."""
    if ticket.status is Status.RESERVED:
        return True
    return ticket.status is Status.AVAILABLE and not _resale_of(ticket, holder)


def relist(
    ticket: Ticket,
    *,
    holder: UUID,
    price_cents: int,
    cap_cents: int,
    buyer: UUID | None = None,
) -> Ticket | None:
    """The holder's pass goes back on sale: a SOLD ticket becomes their listing (a new
    sale, so orders lets a new order hold it), or their listing takes the new price. None:
    nothing to do (the same price again, a withdrawn ticket, or someone who no longer holds
    it). `buyer`: who placed the order it is SOLD under, None when not known."""
    if price_cents > cap_cents:
        raise Invalid(f"A resale may cost at most {cap_cents} cents")
    if _resale_of(ticket, holder) and ticket.status is Status.AVAILABLE:
        if (ticket.price_cents, ticket.price_cap_cents) == (price_cents, cap_cents):
            return None
        return replace(
            ticket, price_cents=price_cents, price_cap_cents=cap_cents, version=ticket.version + 1
        )
    # Sold with no order: a resale taken down, back with the holder it names.
    holds_it = ticket.user_id if ticket.order_id is None else buyer
    if ticket.status is not Status.SOLD or holds_it not in (None, holder):
        return None
    return replace(
        ticket,
        status=Status.AVAILABLE,
        user_id=holder,
        price_cents=price_cents,
        price_cap_cents=cap_cents,
        order_id=None,
        sale=ticket.sale + 1,
        taken_down=False,
        version=ticket.version + 1,
    )


def unlist(ticket: Ticket, holder: UUID) -> Ticket | None:
    """The holder's resale ends (taken down, or the pass used at the door): on sale, it is
    theirs again (SOLD, version+1); held by an order, it is only marked, so the order's
    release returns it to them (no version: nothing anyone else sees has changed). None:
    not a resale of theirs, or nothing left to do."""
    if not _resale_of(ticket, holder):
        return None
    if ticket.status is Status.AVAILABLE:
        return replace(ticket, status=Status.SOLD, version=ticket.version + 1)
    if ticket.status is Status.RESERVED and not ticket.taken_down:
        return replace(ticket, taken_down=True)
    return None
