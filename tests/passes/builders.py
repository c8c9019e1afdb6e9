"""Passes test data: order.completed as orders publishes it, and passes written directly."""

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.passes.conftest import CODE_SECRET
from ticketing.common.events import OrderCompleted, SoldTicket
from ticketing.common.rows import value, values
from ticketing.passes import domain, service, store
from ticketing.passes.domain import Pass, Sale
from ticketing.passes.store import PASSES

KEY = CODE_SECRET.encode()


def a_sale(**overrides) -> Sale:
    values = {
        "order_id": uuid4(),
        "ticket_id": uuid4(),
        "buyer": uuid4(),
        "title": f"Show {uuid4().hex[:6]}",
        "price_cents": 2050,
    } | overrides
    return Sale(**values)


def a_pass(**overrides) -> Pass:
    issued = domain.issue(a_sale(), pass_id=uuid4(), key=KEY, now=datetime.now(UTC))
    return replace(issued, **overrides)


def completed(
    *, ticket_id: UUID | None = None, buyer: UUID | None = None, price=2050, title="Opera"
) -> OrderCompleted:
    """What orders publishes once an order is paid."""
    return OrderCompleted(
        id=uuid4(),
        version=2,
        user_id=buyer or uuid4(),
        ticket=SoldTicket(id=ticket_id or uuid4(), price=price, title=title),
    )


async def make_pass(engine: AsyncEngine, **overrides) -> Pass:
    """A pass row written directly, for route tests that are not about issuing."""
    made = a_pass(**overrides)
    async with engine.begin() as db:
        await db.execute(PASSES.insert().values(values(made)))
    return made


async def passes_of_ticket(engine: AsyncEngine, ticket_id: UUID) -> list[Pass]:
    async with engine.connect() as db:
        query = select(PASSES).where(PASSES.c.ticket_id == ticket_id).order_by(PASSES.c.created_at)
        return [value(Pass, row) for row in await db.execute(query)]


def code_of(found: Pass) -> str:
    return domain.code_for(found.id, KEY)


async def door_token(engine: AsyncEngine, name: str | None = None) -> str:
    """A door's bearer token, as `ticketing door add` prints it."""
    async with engine.begin() as db:
        return await service.add_door(db, name or f"gate-{uuid4().hex[:6]}")


async def pass_row(engine: AsyncEngine, pass_id: UUID) -> Pass:
    async with engine.connect() as db:
        found = await store.pass_by_id(db, pass_id)
    assert found is not None
    return found
