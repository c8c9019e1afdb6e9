"""The sellers' ledger seen from a test: sales and admissions on the bus, balances over HTTP,
and `assert_ledger_balances`, which any payments test may call at its end."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.payments.builders import PaymentsBus
from tests.support import Person, eventually, mint_token
from ticketing.common.auth import COOKIE
from ticketing.common.events import (
    OrderCompleted,
    OrderCreated,
    PassAdmitted,
    SessionRevoked,
    SoldTicket,
)
from ticketing.payments.domain import LedgerKind, ledger_key
from ticketing.payments.models import LedgerEntry, LedgerTransaction, Payout

ENTRIES, TRANSACTIONS, PAYOUTS = (
    LedgerEntry.__table__,
    LedgerTransaction.__table__,
    Payout.__table__,
)


async def assert_ledger_balances(engine: AsyncEngine) -> None:
    """Every transaction, and so the whole ledger, sums to zero in each currency."""
    async with engine.connect() as db:
        total = func.sum(ENTRIES.c.amount_cents)
        per_transaction = select(ENTRIES.c.transaction_id, ENTRIES.c.currency, total).group_by(
            ENTRIES.c.transaction_id, ENTRIES.c.currency
        )
        overall = select(ENTRIES.c.currency, total).group_by(ENTRIES.c.currency)
        unbalanced = (await db.execute(per_transaction.having(total != 0))).all()
        assert unbalanced == [], f"unbalanced transactions: {unbalanced}"
        assert (await db.execute(overall.having(total != 0))).all() == []


async def entries(engine: AsyncEngine, kind: LedgerKind, subject: UUID) -> dict[str, int] | None:
    """A posted transaction's entries by account, or None if it was never posted."""
    async with engine.connect() as db:
        key = ledger_key(kind, subject)
        found = await db.scalar(select(TRANSACTIONS.c.id).where(TRANSACTIONS.c.key == key))
        if found is None:
            return None
        query = select(ENTRIES.c.account, ENTRIES.c.amount_cents).where(
            ENTRIES.c.transaction_id == found
        )
        return {row.account: row.amount_cents for row in await db.execute(query)}


async def transactions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as db:
        query = select(TRANSACTIONS.c.key).order_by(TRANSACTIONS.c.created_at)
        return list(await db.scalars(query))


async def payouts_of(engine: AsyncEngine, user_id: UUID) -> list:
    async with engine.connect() as db:
        return list(await db.execute(select(PAYOUTS).where(PAYOUTS.c.user_id == user_id)))


def completed(
    order: OrderCreated, seller: UUID | None, version: int = 1, **ticket
) -> OrderCompleted:
    sold = {"id": order.ticket.id, "price": order.ticket.price, "seller_id": seller} | ticket
    return OrderCompleted(
        id=order.id, version=version, user_id=order.user_id, ticket=SoldTicket(**sold)
    )


def admitted(order_id: UUID | None, holder: UUID | None = None) -> PassAdmitted:
    return PassAdmitted(
        id=uuid4(),
        version=1,
        ticket_id=uuid4(),
        user_id=holder or uuid4(),
        admitted_at=datetime.now(UTC),
        order_id=order_id,
    )


async def sell(
    bus: PaymentsBus, engine: AsyncEngine, buyer: Person, seller: Person, price: int = 2000
) -> OrderCreated:
    """An order placed and completed on the bus, and its sale posted."""
    order = await bus.place_order(buyer, price)
    await bus.publish(completed(order, seller.id))
    await eventually(lambda: entries(engine, LedgerKind.SALE, order.id))
    return order


async def admit(bus: PaymentsBus, engine: AsyncEngine, order: OrderCreated) -> None:
    await bus.publish(admitted(order.id))
    await eventually(lambda: entries(engine, LedgerKind.RELEASE, order.id))


async def balance(client: httpx.AsyncClient, who: Person) -> dict:
    response = await client.get("/api/payouts/balance", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


def signed_in(settings) -> tuple[Person, UUID]:
    user_id, session_id = uuid4(), uuid4()
    token = mint_token(user_id, session_id=session_id, ttl=settings.session_ttl_seconds)
    return Person(user_id, {"Cookie": f"{COOKIE}={token}"}), session_id


async def sign_out(client, bus, who: Person, session_id: UUID) -> None:
    """Publish the revocation as auth would, and wait until payments refuses the session."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    await bus.publish(SessionRevoked(session_id=session_id, user_id=who.id, expires_at=expires))

    async def refused():
        response = await client.get("/api/payouts/balance", headers=who.headers)
        return response.status_code == 401

    await eventually(refused)
