"""Tickets for tests: unique values, through the real tables."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ticketing.common.bus.tables import outbox
from ticketing.tickets.domain import Status
from ticketing.tickets.models import Ticket


def a_ticket(**overrides) -> Ticket:
    """An unsaved ticket, for pure domain tests."""
    values = {
        "id": uuid4(),
        "title": f"Show {uuid4().hex[:6]}",
        "price_cents": 2000,
        "user_id": uuid4(),
        "version": 0,
        "order_id": None,
        "status": Status.AVAILABLE,
    }
    values.update(overrides)
    if values["status"] in (Status.RESERVED, Status.SOLD) and values["order_id"] is None:
        values["order_id"] = uuid4()
    return Ticket(**values)


async def make_ticket(sm: async_sessionmaker[AsyncSession], **overrides) -> Ticket:
    """A saved ticket, written straight to the table (no event): for arranging lists."""
    ticket = a_ticket(**overrides)
    async with sm() as db, db.begin():
        db.add(ticket)
    return ticket


async def load(sm: async_sessionmaker[AsyncSession], ticket_id: UUID) -> Ticket | None:
    async with sm() as db:
        return await db.get(Ticket, ticket_id)


async def staged_events(sm: async_sessionmaker[AsyncSession]) -> list[dict]:
    """Every envelope in the outbox, oldest first, published or not."""
    async with sm() as db:
        rows = await db.execute(select(outbox.c.envelope).order_by(outbox.c.seq))
        return [row.envelope for row in rows]


def at(seconds: int) -> datetime:
    return datetime(2030, 1, 1, tzinfo=UTC).replace(second=seconds % 60, minute=seconds // 60)
