"""Tickets' use cases; each runs inside the caller's transaction and stages its event there."""

import logging
from dataclasses import dataclass
from uuid import UUID, uuid4

from sqlalchemy import Row, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ticketing.common.bus import outbox
from ticketing.common.bus.versions import VersionGap
from ticketing.common.errors import NotFound
from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    TicketCreated,
    TicketDeleted,
    TicketUpdated,
)
from ticketing.common.paging import decode_cursor, encode_cursor
from ticketing.tickets import domain
from ticketing.tickets.domain import Reservation, Status
from ticketing.tickets.models import KnownOrder, Ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Search:
    q: str | None = None
    min_cents: int | None = None
    max_cents: int | None = None
    seller: UUID | None = None  # set: that seller's listings in every state
    limit: int = 20
    cursor: str | None = None


TICKETS = Ticket.__table__
NEWEST_FIRST = select(TICKETS).order_by(TICKETS.c.created_at.desc(), TICKETS.c.id.desc())
# Built once, so SQLAlchemy keeps its cache key: the page most requests ask for.
FIRST_PAGE = NEWEST_FIRST.where(TICKETS.c.status == Status.AVAILABLE.value).limit(bindparam("rows"))


async def list_tickets(db: AsyncConnection, search: Search) -> tuple[list[Row], str | None]:
    """One page, newest first, and the cursor of the next page when there is one.

    Plain rows, not ORM objects: the busiest read in the system only turns them into JSON.
    """
    columns = TICKETS.c
    if search == Search(limit=search.limit):  # the first page of everything for sale
        rows = list((await db.execute(FIRST_PAGE, {"rows": search.limit + 1})).all())
        return _page(rows, search.limit)
    query = NEWEST_FIRST
    if search.seller is not None:
        query = query.where(columns.user_id == search.seller)
    else:
        query = query.where(columns.status == Status.AVAILABLE.value)
    if search.q and search.q.strip():
        query = query.where(columns.title.icontains(search.q.strip(), autoescape=True))
    if search.min_cents is not None:
        query = query.where(columns.price_cents >= search.min_cents)
    if search.max_cents is not None:
        query = query.where(columns.price_cents <= search.max_cents)
    if after := decode_cursor(search.cursor):
        query = query.where(tuple_(columns.created_at, columns.id) < after)
    rows = list((await db.execute(query.limit(search.limit + 1))).all())
    return _page(rows, search.limit)


def _page(rows: list[Row], limit: int) -> tuple[list[Row], str | None]:
    page = rows[:limit]
    return page, encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None


async def get_ticket(db: AsyncConnection, ticket_id: UUID) -> Row:
    """A withdrawn listing is gone for the public; its seller still sees it in ?mine=true."""
    ticket = (await db.execute(select(TICKETS).where(TICKETS.c.id == ticket_id))).first()
    if ticket is None or ticket.status == Status.WITHDRAWN:
        raise NotFound("Ticket not found")
    return ticket


async def create_ticket(
    db: AsyncConnection, *, seller: UUID, title: str, price_cents: int
) -> Ticket:
    """The listing and its ticket.created in one statement, atomic without a transaction:
    one round trip for the write every seller makes."""
    ticket = Ticket(
        id=uuid4(),
        title=title,
        price_cents=price_cents,
        user_id=seller,
        version=0,
        order_id=None,
        status=Status.AVAILABLE.value,
    )
    listed = (
        insert(TICKETS)
        .values({column: getattr(ticket, column) for column in LISTED_COLUMNS})
        .returning(TICKETS.c.id)
        .cte("listed")
    )
    created = TicketCreated(
        id=ticket.id,
        version=ticket.version,
        title=ticket.title,
        price=ticket.price_cents,
        user_id=ticket.user_id,
    )
    await db.execute(outbox.staged_after(listed, created))
    return ticket


LISTED_COLUMNS = ("id", "title", "price_cents", "user_id", "version", "order_id", "status")


async def edit_ticket(
    db: AsyncSession, ticket_id: UUID, *, editor: UUID, title: str, price_cents: int
) -> Ticket:
    ticket = await _locked_or_404(db, ticket_id)
    domain.edit(ticket, editor=editor, title=title, price_cents=price_cents)
    await _publish_update(db, ticket)
    return ticket


async def withdraw_ticket(db: AsyncSession, ticket_id: UUID, *, seller: UUID) -> None:
    ticket = await _locked_or_404(db, ticket_id)
    if domain.withdraw(ticket, seller=seller):
        await db.flush()
        await outbox.stage(db, TicketDeleted(id=ticket.id, version=ticket.version))


async def _locked(db: AsyncSession, ticket_id: UUID) -> Ticket | None:
    """FOR UPDATE: an edit and a reservation of one ticket take turns, each bumping version."""
    return await db.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)


async def _locked_or_404(db: AsyncSession, ticket_id: UUID) -> Ticket:
    ticket = await _locked(db, ticket_id)
    if ticket is None:
        raise NotFound("Ticket not found")
    return ticket


async def _publish_update(db: AsyncSession, ticket: Ticket) -> None:
    await db.flush()
    await outbox.stage(
        db,
        TicketUpdated(
            id=ticket.id,
            version=ticket.version,
            title=ticket.title,
            price=ticket.price_cents,
            user_id=ticket.user_id,
            order_id=ticket.order_id,
            status=ticket.status,
        ),
    )


async def reserve_ticket(db: AsyncSession, event: OrderCreated) -> None:
    ticket = await _locked(db, event.ticket.id)
    if ticket is None:
        log.warning("order %s is for unknown ticket %s; ignored", event.id, event.ticket.id)
        return
    if not await _first_news_of(db, event):
        return  # a replay, or the order already ended before its creation reached us
    outcome = domain.reserve(ticket, event.id)
    if outcome is Reservation.RESERVED:
        await _publish_update(db, ticket)
    elif outcome is Reservation.HELD:
        # Orders' unique index let this order in, so the holder has ended: its
        # order.cancelled is still on its way. Wait for it rather than lose this one.
        log.warning("ticket %s held by %s; order %s waits", ticket.id, ticket.order_id, event.id)
        raise VersionGap(f"ticket {ticket.id} still held by order {ticket.order_id}")
    elif outcome is Reservation.REFUSED:
        log.warning("order %s for %s ticket %s; ignored", event.id, ticket.status, ticket.id)


async def release_ticket(db: AsyncSession, event: OrderCancelled) -> None:
    ticket = await _locked(db, event.ticket.id)
    if ticket is None:
        log.warning("cancelled order %s is for unknown ticket %s", event.id, event.ticket.id)
        return
    await _note_end(db, event, "cancelled")
    if domain.release(ticket, event.id):
        await _publish_update(db, ticket)


async def sell_ticket(db: AsyncSession, event: OrderCompleted) -> None:
    ticket = await _locked(db, event.ticket.id)
    if ticket is None:
        log.warning("completed order %s is for unknown ticket %s", event.id, event.ticket.id)
        return
    if await db.get(KnownOrder, event.id) is None:
        raise VersionGap(f"order {event.id} completed before its creation arrived")
    await _note_end(db, event, "complete")
    if domain.sell(ticket, event.id):
        await _publish_update(db, ticket)
    elif not (ticket.status == Status.SOLD and ticket.order_id == event.id):
        log.warning("order %s completed but ticket %s is %s", event.id, ticket.id, ticket.status)


async def _first_news_of(db: AsyncSession, event: OrderCreated) -> bool:
    """Record the order; False when it was already known (replayed, or ended first)."""
    inserted = await db.execute(
        insert(KnownOrder)
        .values(id=event.id, ticket_id=event.ticket.id, status="created", version=event.version)
        .on_conflict_do_nothing(index_elements=[KnownOrder.id])
        .returning(KnownOrder.id)
    )
    return inserted.first() is not None


async def _note_end(db: AsyncSession, event: OrderCancelled | OrderCompleted, status: str) -> None:
    statement = insert(KnownOrder).values(
        id=event.id, ticket_id=event.ticket.id, status=status, version=event.version
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[KnownOrder.id],
            set_={"status": status, "version": event.version},
            where=KnownOrder.version < statement.excluded.version,
        )
    )
