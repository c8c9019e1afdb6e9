"""Tickets for tests: unique values, through the real tables."""

from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.common.bus.tables import outbox
from ticketing.tickets import store
from ticketing.tickets.domain import Status, Ticket


def a_ticket(**overrides: Any) -> Ticket:
    """An unsaved ticket, for pure domain tests; a reserved or sold one has an order."""
    ticket = replace(
        Ticket(id=uuid4(), title=f"Show {uuid4().hex[:6]}", price_cents=2000, user_id=uuid4()),
        **overrides,
    )
    if ticket.status in (Status.RESERVED, Status.SOLD) and ticket.order_id is None:
        ticket = replace(ticket, order_id=uuid4())
    return ticket


async def make_ticket(
    engine: AsyncEngine, *, created_at: datetime | None = None, **overrides: Any
) -> Ticket:
    """A saved ticket, written straight to the table (no event): for arranging lists."""
    ticket = a_ticket(**overrides)
    row = {**asdict(ticket), "status": ticket.status.value}
    if created_at is not None:
        row["created_at"] = created_at
    async with engine.begin() as db:
        await db.execute(insert(store.TICKETS).values(row))
    return ticket


async def load(engine: AsyncEngine, ticket_id: UUID | str) -> Ticket | None:
    async with engine.connect() as db:
        return await store.find(db, UUID(str(ticket_id)))


async def staged_events(engine: AsyncEngine) -> list[dict]:
    """Every envelope in the outbox, oldest first, published or not."""
    async with engine.connect() as db:
        rows = await db.execute(select(outbox.c.envelope).order_by(outbox.c.seq))
        return [row.envelope for row in rows]


def at(seconds: int) -> datetime:
    return datetime(2030, 1, 1, tzinfo=UTC).replace(second=seconds % 60, minute=seconds // 60)
