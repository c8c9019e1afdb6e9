"""Payments use cases; each runs inside the caller's transaction and never commits."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.common.bus import outbox
from ticketing.common.events import OrderCreated, PaymentCreated, PaymentRefunded
from ticketing.common.metrics import business
from ticketing.payments import domain
from ticketing.payments.domain import CLAIMING, AttemptStatus, OrderStatus
from ticketing.payments.models import Order, Payment, PaymentAttempt


async def claim(
    db: AsyncSession, order_id: UUID, *, buyer: UUID, token: str, currency: str
) -> PaymentAttempt:
    """Insert, don't check: the partial unique index lets one attempt per order hold the
    claim while in flight or succeeded, however many requests race (guarantee 6)."""
    order = await db.get(Order, order_id, with_for_update={"read": True})
    domain.check_payable(order, buyer)
    attempt = (
        await db.execute(
            insert(PaymentAttempt)
            .values(
                order_id=order_id,
                status=AttemptStatus.IN_FLIGHT,
                amount_cents=order.price_cents,
                currency=currency,
                token=token,
            )
            .on_conflict_do_nothing(
                index_elements=[PaymentAttempt.order_id],
                index_where=PaymentAttempt.status.in_(CLAIMING),
            )
            .returning(PaymentAttempt)
        )
    ).scalar_one_or_none()
    if attempt is None:
        holder = await db.scalar(
            select(PaymentAttempt.status).where(
                PaymentAttempt.order_id == order_id, PaymentAttempt.status.in_(CLAIMING)
            )
        )
        raise domain.claim_refused(holder)
    return attempt


async def release(db: AsyncSession, attempt_id: UUID) -> None:
    """The processor refused: nothing was charged, so the next card may claim the order."""
    await db.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id, PaymentAttempt.status == AttemptStatus.IN_FLIGHT)
        .values(status=AttemptStatus.FAILED, token=None)
    )
    business("payments", "card_declined")


async def settle(db: AsyncSession, attempt_id: UUID, charge_id: str) -> Payment:
    """Record a landed charge. The order row is locked, so a cancellation is either already
    in (the payment is marked for refund here) or will see this payment and refund it."""
    attempt = await db.get(PaymentAttempt, attempt_id, with_for_update=True)
    if attempt.status != AttemptStatus.IN_FLIGHT:  # settled meanwhile by a re-send
        settled = await db.scalar(select(Payment).where(Payment.attempt_id == attempt_id))
        if settled is None:
            raise RuntimeError(f"attempt {attempt_id} was released, yet its charge landed")
        return settled
    order = await db.get(Order, attempt.order_id, with_for_update=True)
    attempt.status, attempt.token = AttemptStatus.SUCCEEDED, None
    payment = Payment(
        order_id=order.id,
        attempt_id=attempt.id,
        provider_id=charge_id,
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
    )
    db.add(payment)
    if order.status == OrderStatus.CANCELLED:
        mark_for_refund(payment, domain.EXPIRED_WHILE_PAYING)
    else:
        await db.flush()
        await outbox.stage(
            db,
            PaymentCreated(
                id=payment.id,
                order_id=order.id,
                stripe_id=charge_id,
                amount=payment.amount_cents,
            ),
        )
        business("payments", "payment_succeeded")
    return payment


def mark_for_refund(payment: Payment, reason: str) -> None:
    """Durable before the processor is asked, so a failed refund is retried, not forgotten."""
    payment.refund_reason = reason
    payment.refund_requested_at = datetime.now(UTC)


async def record_refund(db: AsyncSession, payment: Payment) -> None:
    payment.refunded_at = datetime.now(UTC)
    await db.flush()
    await outbox.stage(
        db,
        PaymentRefunded(
            id=payment.id,
            order_id=payment.order_id,
            stripe_id=payment.provider_id,
            reason=payment.refund_reason or domain.ORDER_CANCELLED,
        ),
    )
    business("payments", "refund")


async def unrefunded_payment(db: AsyncSession, order_id: UUID) -> Payment | None:
    query = select(Payment).where(Payment.order_id == order_id, Payment.refunded_at.is_(None))
    return await db.scalar(query.with_for_update())


async def locked_refund(db: AsyncSession, payment_id: UUID) -> Payment | None:
    """A payment still waiting for its refund, unless another replica is on it."""
    query = select(Payment).where(
        Payment.id == payment_id,
        Payment.refund_requested_at.is_not(None),
        Payment.refunded_at.is_(None),
    )
    return await db.scalar(query.with_for_update(skip_locked=True))


async def pending_refunds(db: AsyncSession, limit: int = 50) -> list[UUID]:
    query = (
        select(Payment.id)
        .where(Payment.refund_requested_at.is_not(None), Payment.refunded_at.is_(None))
        .order_by(Payment.refund_requested_at)
        .limit(limit)
    )
    return list((await db.scalars(query)).all())


async def take_stale_attempts(
    db: AsyncSession, *, stale_after: timedelta, limit: int = 20
) -> list[PaymentAttempt]:
    """In-flight attempts nobody has driven for a while (a crash, a processor outage),
    stamped as taken so one replica re-sends each."""
    now = datetime.now(UTC)
    stale = (
        select(PaymentAttempt.id)
        .where(
            PaymentAttempt.status == AttemptStatus.IN_FLIGHT,
            PaymentAttempt.driven_at < now - stale_after,
            PaymentAttempt.created_at > now - domain.REDRIVE_WINDOW,
        )
        .order_by(PaymentAttempt.driven_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    taken = await db.scalars(
        update(PaymentAttempt)
        .where(PaymentAttempt.id.in_(stale.scalar_subquery()))
        .values(driven_at=now)
        .returning(PaymentAttempt)
    )
    return list(taken.all())


async def add_order(db: AsyncSession, event: OrderCreated) -> bool:
    """False when the replica already has this order (a re-published order.created)."""
    inserted = await db.execute(
        insert(Order)
        .values(
            id=event.id,
            user_id=event.user_id,
            price_cents=event.ticket.price,
            status=event.status,
            version=event.version,
        )
        .on_conflict_do_nothing()
        .returning(Order.id)
    )
    return inserted.first() is not None


async def locked_order(db: AsyncSession, order_id: UUID) -> Order | None:
    return await db.get(Order, order_id, with_for_update=True)
