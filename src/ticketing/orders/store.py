"""Orders' data access: Core statements on a connection, domain values back."""

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import Row, Select, bindparam, exists, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus import outbox
from ticketing.common.events import Event
from ticketing.common.prepared import Prepared
from ticketing.common.rows import fields_of, insert_new, table, value, values
from ticketing.orders import models
from ticketing.orders.domain import OPEN, Listing, Order, OrderStatus

ORDERS, TICKETS = table(models.Order), table(models.Ticket)
OrderView = tuple[Order, Listing]

# What a ticket.updated changes: `withdrawn` is this service's own mark.
_SOURCE_COLUMNS = ("title", "price_cents", "user_id", "status", "version", "sale")


# A reservation, a flash sale's every attempt: two statements compiled once, on the driver.
# The first also says whether an order already holds the listing's sale (the partial
# unique index answers it), so most of a flash sale's refusals end there.
_HELD = (
    exists()
    .where(ORDERS.c.ticket_id == TICKETS.c.id, ORDERS.c.sale == TICKETS.c.sale)
    .where(text(models.ACTIVE_PREDICATE))
    .label("held")
)
_LISTING_TO_ORDER = Prepared(select(TICKETS, _HELD).where(TICKETS.c.id == bindparam("ticket_id")))
_PLACE_ORDER = outbox.StagedAfter(
    insert(ORDERS)
    .values({name: bindparam(name) for name in fields_of(Order)})
    .on_conflict_do_nothing(
        index_elements=[ORDERS.c.ticket_id, ORDERS.c.sale],
        index_where=text(models.ACTIVE_PREDICATE),
    )
    .returning(ORDERS.c.id)
    .cte("placed")
)


async def listing_to_order(
    driver: asyncpg.Connection, ticket_id: UUID
) -> tuple[Listing | None, bool]:
    """`listing`, for the reservation route on its driver (listeners read it in their
    SQLAlchemy transaction, which a statement on the driver would not be part of), and
    whether an order holds it now."""
    row = await _LISTING_TO_ORDER.fetchrow(driver, {"ticket_id": ticket_id})
    return (None, False) if row is None else (value(Listing, row), row["held"])


async def place_order(driver: asyncpg.Connection, order: Order, created: Event) -> bool:
    """Insert, don't check: the partial unique index settles the race (guarantee 1). The
    order and its event go in as one statement, atomic without a transaction: one round
    trip. False, and nothing written, if an order holds this sale of the ticket."""
    placed = values(order) | outbox.staged_values(created)
    return await _PLACE_ORDER.run(driver, placed)


def _with_listing() -> Select[Any]:
    return select(ORDERS, TICKETS).join_from(ORDERS, TICKETS, TICKETS.c.id == ORDERS.c.ticket_id)


def _view(row: Row[Any]) -> OrderView:
    return value(Order, row, ORDERS), value(Listing, row, TICKETS)


async def order_view(db: AsyncConnection, order_id: UUID) -> OrderView | None:
    """The order and the listing it holds, or None."""
    row = (await db.execute(_with_listing().where(ORDERS.c.id == order_id))).first()
    return None if row is None else _view(row)


async def orders_of(
    db: AsyncConnection, owner: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> list[OrderView]:
    """The owner's orders, newest first, from just past `after` (created_at, id)."""
    query = (
        _with_listing()
        .where(ORDERS.c.user_id == owner)
        .order_by(ORDERS.c.created_at.desc(), ORDERS.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(ORDERS.c.created_at, ORDERS.c.id) < tuple_(*after))
    return [
        (value(Order, row, ORDERS), value(Listing, row, TICKETS)) for row in await db.execute(query)
    ]


async def order_for_update(db: AsyncConnection, order_id: UUID) -> Order | None:
    """Row lock: a cancel, an expiry and a payment for one order take turns."""
    query = select(ORDERS).where(ORDERS.c.id == order_id).with_for_update()
    row = (await db.execute(query)).first()
    return None if row is None else value(Order, row)


async def save_status(db: AsyncConnection, order: Order) -> None:
    """An order's status and version are all that change after it is placed."""
    await db.execute(
        update(ORDERS)
        .where(ORDERS.c.id == order.id)
        .values(status=order.status.value, version=order.version)
    )


# An open order's status as single values, the IN list a prepared statement cannot take.
_OPEN_STATUS = or_(*(ORDERS.c.status == status.value for status in OPEN))
# Every expiry, compiled once (common/prepared.py).
_CLOSE_OPEN_ORDER = Prepared(
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("order_id"), _OPEN_STATUS)
    .values(status=OrderStatus.CANCELLED.value, version=ORDERS.c.version + 1)
    .returning(*ORDERS.c)
)


async def close_open_order(db: AsyncConnection, order_id: UUID) -> Order | None:
    """Cancel the order if it is open, in one UPDATE that both locks and decides; the
    closed order, or None if it was closed already or never existed."""
    row = await _CLOSE_OPEN_ORDER.fetchrow_in(db, {"order_id": order_id})
    return None if row is None else value(Order, row)


async def close_open_orders_of(
    db: AsyncConnection, ticket_id: UUID, *, but: UUID | None = None
) -> list[Order]:
    """Cancel every open order on the ticket (except `but`), in one UPDATE that both locks
    and decides; the orders it closed."""
    ending = [ORDERS.c.ticket_id == ticket_id, ORDERS.c.status.in_([s.value for s in OPEN])]
    if but is not None:
        ending.append(ORDERS.c.id != but)
    rows = await db.execute(
        update(ORDERS)
        .where(*ending)
        .values(status=OrderStatus.CANCELLED.value, version=ORDERS.c.version + 1)
        .returning(*ORDERS.c)
    )
    return [value(Order, row) for row in rows]


async def order_exists(db: AsyncConnection, order_id: UUID) -> bool:
    return bool(await db.scalar(select(exists().where(ORDERS.c.id == order_id))))


# the tickets replica


async def listing(db: AsyncConnection, ticket_id: UUID) -> Listing | None:
    row = (await db.execute(select(TICKETS).where(TICKETS.c.id == ticket_id))).first()
    return None if row is None else value(Listing, row)


async def listing_for_update(db: AsyncConnection, ticket_id: UUID) -> Listing | None:
    """NO KEY UPDATE: the version bump need not wait for orders referencing the row."""
    query = select(TICKETS).where(TICKETS.c.id == ticket_id).with_for_update(key_share=True)
    row = (await db.execute(query)).first()
    return None if row is None else value(Listing, row)


async def add_listing(db: AsyncConnection, listing: Listing) -> bool:
    """False if the replica already has this ticket."""
    return await insert_new(db, TICKETS, values(listing))


# Every ticket.updated: compiled once, as _CLOSE_OPEN_ORDER.
_FOLLOW_LISTING = Prepared(
    update(TICKETS)
    .where(
        TICKETS.c.id == bindparam("listing_id"), TICKETS.c.version == bindparam("previous_version")
    )
    .values({column: bindparam(f"new_{column}") for column in _SOURCE_COLUMNS})
    .returning(TICKETS.c.id)
)


async def follow_listing(db: AsyncConnection, source: Listing) -> bool:
    """The source's fields, only on top of the version just before `source.version`; False
    if the replica is not there (yet) or not at that version."""
    moved = await _FOLLOW_LISTING.fetchrow_in(
        db,
        {"listing_id": source.id, "previous_version": source.version - 1}
        | {f"new_{column}": getattr(source, column) for column in _SOURCE_COLUMNS},
    )
    return moved is not None


async def save_listing(db: AsyncConnection, listing: Listing) -> None:
    """Every field but the key: an UPDATE that leaves the key alone takes only a NO KEY
    UPDATE lock, so it need not wait for orders referencing the row."""
    changes = values(listing)
    del changes["id"]
    await db.execute(update(TICKETS).where(TICKETS.c.id == listing.id).values(changes))
