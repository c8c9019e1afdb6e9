"""Orders' use cases; each runs inside the caller's transaction and never commits."""

import logging
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ticketing.common.bus import outbox
from ticketing.common.bus.versions import require_next_version
from ticketing.common.errors import BadRequest
from ticketing.common.events import PaymentCreated, TicketCreated, TicketUpdated
from ticketing.common.metrics import business
from ticketing.common.paging import encode_cursor
from ticketing.orders import domain
from ticketing.orders.domain import OrderStatus
from ticketing.orders.models import ACTIVE_PREDICATE, Order, Ticket

log = logging.getLogger(__name__)

OrderView = tuple[Order, Ticket]


ORDERS, TICKETS = Order.__table__, Ticket.__table__
OPEN_STATUSES = [status.value for status in domain.OPEN]


async def reserve_ticket(
    db: AsyncConnection, ticket_id: UUID, *, buyer: UUID, window_seconds: int
) -> OrderView:
    """Insert, don't check: the partial unique index settles the race (guarantee 1).

    The order and its order.created go in as one statement, in autocommit: a flash sale
    is mostly refusals, and each costs two round trips and leaves nothing behind.
    """
    row = (await db.execute(select(TICKETS).where(TICKETS.c.id == ticket_id))).first()
    ticket = domain.check_can_order(row, buyer)
    now = datetime.now(UTC)
    order = Order(
        id=uuid4(),
        user_id=buyer,
        ticket_id=ticket.id,
        status=OrderStatus.CREATED.value,
        expires_at=domain.expiry(now, window_seconds),
        price_cents=ticket.price_cents,
        version=0,
        created_at=now,
    )
    placed = (
        insert(ORDERS)
        .values({column: getattr(order, column) for column in PLACED_COLUMNS})
        .on_conflict_do_nothing(
            index_elements=[ORDERS.c.ticket_id], index_where=text(ACTIVE_PREDICATE)
        )
        .returning(ORDERS.c.id)
        .cte("placed")
    )
    staged = outbox.staged_after(placed, domain.order_created(order, ticket))
    if (await db.execute(staged)).first() is None:
        business("orders", "oversell_refused")
        raise BadRequest("Ticket is already reserved")
    business("orders", "reservation_created")
    return order, ticket


PLACED_COLUMNS = (
    "id",
    "user_id",
    "ticket_id",
    "status",
    "expires_at",
    "price_cents",
    "version",
    "created_at",
)


async def orders_page(
    db: AsyncSession, owner: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> tuple[list[OrderView], str | None]:
    """The owner's orders, newest first, and the cursor of the next page if there is one."""
    query = (
        select(Order, Ticket)
        .join(Ticket, Ticket.id == Order.ticket_id)
        .where(Order.user_id == owner)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(tuple_(Order.created_at, Order.id) < tuple_(*after))
    rows = [(order, ticket) for order, ticket in (await db.execute(query)).all()]
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1][0]
    return rows[:limit], encode_cursor(last.created_at, last.id)


async def order_for(db: AsyncSession, order_id: UUID, *, owner: UUID) -> OrderView:
    order = domain.check_owner(await db.get(Order, order_id), owner)
    return order, await db.get_one(Ticket, order.ticket_id)


async def cancel_order(db: AsyncSession, order_id: UUID, *, owner: UUID) -> None:
    """Cancelling twice is harmless: the second call changes nothing and publishes nothing."""
    order = domain.check_owner(await _locked(db, order_id), owner)
    if domain.cancel(order):
        await outbox.stage(db, domain.order_cancelled(order))
        business("orders", "reservation_cancelled")


async def expire_order(db: AsyncSession, order_id: UUID) -> None:
    """Time is up: only an open order closes (a paid one stays paid, guarantee 5). One
    UPDATE both locks and decides, so a burst of expiries costs two statements each."""
    closed = (
        await db.execute(
            update(ORDERS)
            .where(ORDERS.c.id == order_id, ORDERS.c.status.in_(OPEN_STATUSES))
            .values(status=OrderStatus.CANCELLED.value, version=ORDERS.c.version + 1)
            .returning(ORDERS.c.id, ORDERS.c.version, ORDERS.c.ticket_id)
        )
    ).first()
    if closed is not None:
        await outbox.stage(db, domain.order_cancelled(closed))
        business("orders", "reservation_expired")
    elif await db.get(Order, order_id) is None:
        log.warning("expiration.complete for unknown order %s; ignored", order_id)


async def complete_order(db: AsyncSession, payment: PaymentCreated) -> None:
    """A refused payment is logged and acknowledged, not retried into a dead letter: no
    later delivery of the same event can make it right. A cancelled order stays cancelled
    (domain.complete); payments refunds a charge that came late."""
    order = await _locked(db, payment.order_id)
    if refusal := domain.payment_refusal(order, payment.amount):
        log.error(
            "payment.created refused: %s (order %s, payment %s)",
            refusal,
            payment.order_id,
            payment.id,
        )
        business("orders", "payment_refused")
        return
    if domain.complete(order):
        await outbox.stage(db, domain.order_completed(order))
        business("orders", "reservation_paid")


async def _locked(db: AsyncSession, order_id: UUID) -> Order | None:
    """Row lock: a cancel, an expiry and a payment for one order take turns."""
    query = select(Order).where(Order.id == order_id).with_for_update()
    return (await db.execute(query)).scalar_one_or_none()


async def add_replica(db: AsyncSession, event: TicketCreated) -> bool:
    """False if the replica already has this ticket (a re-sent ticket.created)."""
    inserted = await db.execute(
        insert(Ticket)
        .values(**domain.new_listing(event))
        .on_conflict_do_nothing(index_elements=[Ticket.id])
        .returning(Ticket.id)
    )
    return inserted.first() is not None


async def follow_listing(db: AsyncSession, event: TicketUpdated) -> None:
    """Replica follows the source in order: only version n-1 may become n. The next version,
    nearly always, is one UPDATE; anything else is told apart under a row lock."""
    moved = await db.execute(
        update(TICKETS)
        .where(TICKETS.c.id == event.id, TICKETS.c.version == event.version - 1)
        .values(domain.listing_changes(event))
        .returning(TICKETS.c.id)
    )
    if moved.first() is None:
        replica = await replica_for_update(db, event.id)
        require_next_version(replica.version if replica else None, event.version)
        domain.copy_listing(replica, event)  # it became n-1 meanwhile


async def replica_for_update(db: AsyncSession, ticket_id: UUID) -> Ticket | None:
    """NO KEY UPDATE: the version bump need not wait for orders referencing the row."""
    query = select(Ticket).where(Ticket.id == ticket_id).with_for_update(key_share=True)
    return (await db.execute(query)).scalar_one_or_none()
