"""Payments use cases; each runs inside the caller's transaction and never commits."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus import outbox
from ticketing.common.bus.versions import StaleEvent, require_next_version
from ticketing.common.events import Event, OrderCreated, PaymentCreated, PaymentRefunded
from ticketing.common.metrics import business
from ticketing.payments import domain, store
from ticketing.payments.domain import Attempt, AttemptStatus, Order, OrderStatus, Payment


async def claim(
    db: AsyncConnection, order_id: UUID, *, buyer: UUID, token: str, currency: str
) -> Attempt:
    """The order is read FOR SHARE: it cannot be cancelled under a claim being made."""
    order = domain.check_payable(await store.locked_order(db, order_id, share=True), buyer)
    attempt = await store.claim(db, order, token=token, currency=currency)
    if attempt is None:
        raise domain.claim_refused(await store.claim_holder(db, order_id))
    return attempt


async def release(db: AsyncConnection, attempt_id: UUID) -> None:
    """The processor refused: nothing was charged, so the next card may claim the order."""
    await store.release(db, attempt_id)
    business("payments", "card_declined")


async def settle(db: AsyncConnection, attempt_id: UUID, charge_id: str) -> Payment:
    """Record a landed charge. The order row is locked, so a cancellation is either already
    in (the payment is marked for refund here) or will see this payment and refund it."""
    attempt = await store.locked_attempt(db, attempt_id)
    if attempt.status != AttemptStatus.IN_FLIGHT:  # settled meanwhile by a re-send
        settled = await store.payment_of_attempt(db, attempt_id)
        if settled is None:
            raise RuntimeError(f"attempt {attempt_id} was released, yet its charge landed")
        return settled
    order = await store.locked_order(db, attempt.order_id)
    assert order is not None  # an attempt's order is there: a foreign key
    await store.succeed(db, attempt.id)
    reason = domain.refund_reason_on_settling(order)
    payment = await store.add_payment(db, attempt, charge_id, refund_reason=reason)
    if not payment.refund_due:
        created = PaymentCreated(
            id=payment.id, order_id=order.id, stripe_id=charge_id, amount=payment.amount_cents
        )
        await _publish(db, created, "payment_succeeded")
    return payment


async def record_refund(db: AsyncConnection, payment: Payment) -> Payment:
    """The processor gave the money back: the payment says so, and payment.refunded tells."""
    refunded = await store.record_refund(db, payment.id)
    event = PaymentRefunded(
        id=refunded.id,
        order_id=refunded.order_id,
        stripe_id=refunded.provider_id,
        reason=refunded.refund_reason or domain.ORDER_CANCELLED,
    )
    await _publish(db, event, "refund")
    return refunded


async def add_order(db: AsyncConnection, event: OrderCreated) -> None:
    order = Order(
        id=event.id,
        user_id=event.user_id,
        price_cents=event.ticket.price,
        status=OrderStatus(event.status),
        version=event.version,
    )
    if not await store.add_order(db, order):
        raise StaleEvent(f"order {event.id} already replicated")


async def complete_order(db: AsyncConnection, order_id: UUID, version: int) -> None:
    await _follow(db, order_id, version, OrderStatus.COMPLETE)


async def cancel_order(db: AsyncConnection, order_id: UUID, version: int) -> Payment | None:
    """Nobody pays for nothing: a payment that landed before the cancellation is marked for
    refund, and returned for the caller to refund. The order row lock orders this against a
    charge being settled."""
    await _follow(db, order_id, version, OrderStatus.CANCELLED)
    payment = await store.unrefunded_payment(db, order_id)
    if payment is not None and payment.refund_requested_at is None:
        payment = await store.mark_for_refund(db, payment.id, domain.ORDER_CANCELLED)
    return payment


async def _follow(db: AsyncConnection, order_id: UUID, version: int, status: OrderStatus) -> None:
    """The replica moves only from version n-1 to n (guarantee 4)."""
    order = await store.locked_order(db, order_id)
    require_next_version(None if order is None else order.version, version)
    assert order is not None  # require_next_version refuses a missing replica
    await store.save_order(db, domain.follow(order, version, status))


async def _publish(db: AsyncConnection, event: Event, outcome: str) -> None:
    await outbox.stage(db, event)
    business("payments", outcome)
