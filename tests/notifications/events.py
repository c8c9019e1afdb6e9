"""The events notifications hears, as auth, orders, passes and payments publish them."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from ticketing.common.events import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderRef,
    OrderTicket,
    PassRevoked,
    PayoutSent,
    SoldTicket,
    UserCreated,
)


def email_of(user_id: UUID) -> str:
    return f"u{user_id.hex[:12]}@example.test"


def user_created(user_id: UUID) -> UserCreated:
    return UserCreated(id=user_id, email=email_of(user_id))


def order_created(
    order_id: UUID, buyer: UUID, *, title: str = "Hamilton", price: int = 1250, ticket_id=None
) -> OrderCreated:
    return OrderCreated(
        id=order_id,
        version=0,
        status="created",
        user_id=buyer,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
        ticket=OrderTicket(id=ticket_id or uuid4(), price=price, title=title),
    )


def order_cancelled(order_id: UUID, ticket_id: UUID | None = None) -> OrderCancelled:
    return OrderCancelled(id=order_id, version=1, ticket=OrderRef(id=ticket_id or uuid4()))


def order_completed(
    order_id: UUID,
    buyer: UUID | None,
    seller: UUID | None,
    *,
    title: str = "Hamilton",
    price: int = 1250,
) -> OrderCompleted:
    return OrderCompleted(
        id=order_id,
        version=2,
        user_id=buyer,
        ticket=SoldTicket(id=uuid4(), price=price, title=title, seller_id=seller),
    )


def pass_revoked(holder: UUID) -> PassRevoked:
    return PassRevoked(id=uuid4(), version=1, ticket_id=uuid4(), user_id=holder)


def payout_sent(seller: UUID, amount: int = 4200) -> PayoutSent:
    return PayoutSent(id=uuid4(), user_id=seller, amount=amount, currency="usd")
