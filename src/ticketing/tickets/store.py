"""Tickets' data access: Core statements on the caller's connection, domain values out."""

from functools import cache
from uuid import UUID

import asyncpg
from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus import outbox
from ticketing.common.events import Event
from ticketing.common.paging import decode_cursor, encode_cursor
from ticketing.common.prepared import Prepared
from ticketing.common.rows import columns, insert_new, many, table, value, values
from ticketing.tickets import models
from ticketing.tickets.domain import Search, Status, Ticket

TICKETS, KNOWN_ORDERS = table(models.Ticket), table(models.KnownOrder)
KNOWN_PASSES = table(models.KnownPass)
_C = TICKETS.c
_FIELDS = columns(TICKETS, Ticket)


# The statements of every reservation's and release's listener, built once: building one
# per call cost more than running it.
_FIND = select(*_FIELDS).where(_C.id == bindparam("ticket_id"))
_FIND_LOCKED = Prepared(_FIND.with_for_update())  # compiled once (common/prepared.py)
_SAVE = (
    update(TICKETS)
    .where(_C.id == bindparam("ticket_id"))
    .values({column.key: bindparam(f"new_{column.key}") for column in _FIELDS})
)
_SAVE_STAGED = outbox.StagedAfter(_SAVE.returning(_C.id).cte("saved"))
# A listing, the write every seller makes.
_ADD = outbox.StagedAfter(
    insert(TICKETS)
    .values({column.key: bindparam(column.key) for column in _FIELDS})
    .returning(_C.id)
    .cte("listed")
)


async def find(db: AsyncConnection, ticket_id: UUID, *, lock: bool = False) -> Ticket | None:
    """With `lock`, FOR UPDATE: an edit and a reservation of one ticket take turns, each
    bumping version, until the caller's transaction ends."""
    if lock:
        row = await _FIND_LOCKED.fetchrow_in(db, {"ticket_id": ticket_id})
    else:
        row = (await db.execute(_FIND, {"ticket_id": ticket_id})).first()
    return None if row is None else value(Ticket, row)


async def page(driver: asyncpg.Connection, search: Search) -> tuple[list[Ticket], str | None]:
    """One page, newest first, and the cursor of the next page when there is one. The
    busiest read: its statements are compiled once and run on the driver (db.Driver)."""
    words = search.q.strip() if search.q else ""
    after = decode_cursor(search.cursor)
    shape = _page_query(
        search.seller is not None,
        bool(words),
        search.min_cents is not None,
        search.max_cents is not None,
        after is not None,
    )
    bound = {
        "seller": search.seller,
        "words": f"%{_escaped(words)}%",
        "low": search.min_cents,
        "high": search.max_cents,
        "after_at": after[0] if after else None,
        "after_id": after[1] if after else None,
        "rows": search.limit + 1,
    }
    rows = await shape.fetch(driver, bound)
    tickets = many(Ticket, rows[: search.limit])
    if len(rows) <= search.limit:
        return tickets, None
    last = rows[search.limit - 1]
    return tickets, encode_cursor(last["created_at"], last["id"])


@cache
def _page_query(mine: bool, words: bool, low: bool, high: bool, after: bool) -> Prepared:
    """The one list query, compiled once for each combination of filters with its values
    bound: a request then neither builds a statement nor works out its cache key."""
    query = select(*_FIELDS, _C.created_at).order_by(_C.created_at.desc(), _C.id.desc())
    if mine:
        query = query.where(_C.user_id == bindparam("seller"))
    else:
        query = query.where(_C.status == Status.AVAILABLE.value)
    if words:
        query = query.where(_C.title.ilike(bindparam("words"), escape="/"))
    if low:
        query = query.where(_C.price_cents >= bindparam("low"))
    if high:
        query = query.where(_C.price_cents <= bindparam("high"))
    if after:
        query = query.where(
            tuple_(_C.created_at, _C.id) < tuple_(bindparam("after_at"), bindparam("after_id"))
        )
    return Prepared(query.limit(bindparam("rows")))


def _escaped(words: str) -> str:
    """A title search matches the words as typed: LIKE's own characters lose their meaning."""
    return words.replace("/", "//").replace("%", "/%").replace("_", "/_")


async def add(driver: asyncpg.Connection, ticket: Ticket, event: Event) -> None:
    """The listing and its event in one statement, atomic without a transaction: one round
    trip for the write every seller makes, compiled once, on the route's driver."""
    await _ADD.run(driver, values(ticket) | outbox.staged_values(event))


async def save(db: AsyncConnection, ticket: Ticket, event: Event | None) -> None:
    """The changed ticket and its event, in one statement inside the caller's transaction;
    no event for a change only this service sees (a resale's taken-down mark)."""
    changed = {"ticket_id": ticket.id} | {f"new_{k}": v for k, v in values(ticket).items()}
    if event is None:
        await db.execute(_SAVE, changed)
        return
    await _SAVE_STAGED.run_in(db, changed | outbox.staged_values(event))


async def first_news_of(
    db: AsyncConnection, order_id: UUID, *, ticket_id: UUID, buyer: UUID, version: int
) -> bool:
    """Record the order as created; False when it was already known (replayed, or ended first)."""
    known = {
        "id": order_id,
        "ticket_id": ticket_id,
        "status": "created",
        "version": version,
        "user_id": buyer,
    }
    return await insert_new(db, KNOWN_ORDERS, known)


async def buyer_of(db: AsyncConnection, order_id: UUID) -> UUID | None:
    """Who placed the order, if its order.created said so."""
    query = select(KNOWN_ORDERS.c.user_id).where(KNOWN_ORDERS.c.id == order_id)
    buyer: UUID | None = await db.scalar(query)
    return buyer


async def newer_pass_event(
    db: AsyncConnection, pass_id: UUID, *, ticket_id: UUID, version: int
) -> bool:
    """Record the pass at `version`; False when this version or a later one was seen
    already (the event is older than what the ticket has taken in)."""
    statement = insert(KNOWN_PASSES).values(id=pass_id, ticket_id=ticket_id, version=version)
    recorded = statement.on_conflict_do_update(
        index_elements=[KNOWN_PASSES.c.id],
        set_={"version": version},
        where=KNOWN_PASSES.c.version < statement.excluded.version,
    ).returning(KNOWN_PASSES.c.id)
    return (await db.execute(recorded)).first() is not None


async def is_known(db: AsyncConnection, order_id: UUID) -> bool:
    query = select(KNOWN_ORDERS.c.id).where(KNOWN_ORDERS.c.id == order_id)
    return (await db.execute(query)).first() is not None


_ENDED = insert(KNOWN_ORDERS)
_NOTE_END = _ENDED.on_conflict_do_update(  # every order.cancelled and .completed: built once
    index_elements=[KNOWN_ORDERS.c.id],
    set_={"status": _ENDED.excluded.status, "version": _ENDED.excluded.version},
    where=KNOWN_ORDERS.c.version < _ENDED.excluded.version,
)


async def note_end(
    db: AsyncConnection, order_id: UUID, *, ticket_id: UUID, status: str, version: int
) -> None:
    """The order's end, unless a later version of it is already known."""
    ended = {"id": order_id, "ticket_id": ticket_id, "status": status, "version": version}
    await db.execute(_NOTE_END, ended)
