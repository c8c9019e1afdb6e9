"""One attempt's life across transactions: claim in one, charge outside any, settle in one.

The route pays with a fresh attempt; the reconciler re-drives a stuck one. Either way the
charge carries the attempt's own idempotency key, so driving it twice charges once. No
connection is held while the processor is asked: a slow processor must not drain the pool.
"""

import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.payments import domain, service, store
from ticketing.payments.domain import (
    Attempt,
    Payment,
    Payout,
    ProcessorEvent,
    ProcessorEventType,
)
from ticketing.payments.providers import (
    NeedsAction,
    PaymentProvider,
    PaymentRejected,
    ProviderError,
    TransferRejected,
)

log = logging.getLogger(__name__)


async def pay(
    engine: AsyncEngine,
    provider: PaymentProvider,
    order_id: UUID,
    *,
    buyer: UUID,
    token: str,
    currency: str,
) -> Payment | NeedsAction:
    """Claim the order for a new attempt, then drive it."""
    async with engine.begin() as db:
        attempt = await service.claim(db, order_id, buyer=buyer, token=token, currency=currency)
    return await drive(engine, provider, attempt)


async def drive(
    engine: AsyncEngine, provider: PaymentProvider, attempt: Attempt
) -> Payment | NeedsAction:
    """Raises PaymentRejected (claim released) or ProviderUnavailable (claim kept); a card
    that asks for authentication keeps the claim until a webhook ends it."""
    try:
        charged = await provider.charge(
            attempt.amount_cents,
            attempt.currency,
            attempt.token or "",
            domain.charge_key(attempt.id),
            metadata={"order_id": str(attempt.order_id), "attempt_id": str(attempt.id)},
        )
    except PaymentRejected:
        async with engine.begin() as db:
            await service.release(db, attempt.id)
        raise
    if isinstance(charged, NeedsAction):
        async with engine.begin() as db:
            await service.await_action(db, attempt.id, charged.id)
        return charged
    async with engine.begin() as db:
        payment = await service.settle(db, attempt.id, charged.id)
        if payment.refund_due:
            payment = await refund_now(db, provider, payment)
    return payment


async def refund_now(db: AsyncConnection, provider: PaymentProvider, payment: Payment) -> Payment:
    """Refund inside the caller's transaction, which already marked the payment for refund.
    If the processor fails, the mark stays and the reconciler tries again with the same key;
    the payment comes back as it was."""
    try:
        await provider.refund(payment.provider_id, domain.refund_key(payment.attempt_id))
    except ProviderError as error:
        log.warning("refund of payment %s failed, will retry: %s", payment.id, error)
        return payment
    return await service.record_refund(db, payment)


# ledger: a payout's life, the same way: booked in one transaction, sent outside any,
# closed in one. The transfer carries the payout's own idempotency key, so driving it twice
# (the route, then the reconciler) sends the money once.


async def pay_out(
    engine: AsyncEngine, provider: PaymentProvider, user_id: UUID, *, currency: str
) -> Payout:
    """Book the seller's available balance as a payout, then drive it."""
    async with engine.begin() as db:
        payout = await service.book_payout(db, user_id, currency)
    return await drive_payout(engine, provider, payout)


async def drive_payout(engine: AsyncEngine, provider: PaymentProvider, payout: Payout) -> Payout:
    """Raises TransferRejected (booked back) or ProviderUnavailable (left pending)."""
    try:
        transfer_id = await provider.transfer(
            payout.amount_cents,
            payout.currency,
            destination=payout.account_id,
            idempotency_key=domain.transfer_key(payout.id),
        )
    except TransferRejected:
        async with engine.begin() as db:
            await service.payout_refused(db, payout.id)
        raise
    async with engine.begin() as db:
        return await service.payout_sent(db, payout.id, transfer_id)


# webhooks


async def follow_processor(
    engine: AsyncEngine, provider: PaymentProvider, event: ProcessorEvent
) -> None:
    """A Stripe event takes effect once: its id is recorded in the transaction of its
    effect. A refund it makes due is asked for after that commits (and by the reconciler,
    should that fail). Raises ProviderError when the event cannot take effect now, nothing
    recorded, so that Stripe sends it again."""
    async with engine.begin() as db:
        if not await service.record_processor_event(db, event):
            return
        due = await _apply(db, provider, event)
    if due is not None:
        async with engine.begin() as db:
            payment = await store.locked_refund(db, due)
            if payment is not None:
                await refund_now(db, provider, payment)


async def _apply(
    db: AsyncConnection, provider: PaymentProvider, event: ProcessorEvent
) -> UUID | None:
    """The payment to refund, if the event made one due."""
    intent_id = event.object_id
    if intent_id is None:
        log.info("stripe event %s (%s) names no payment_intent", event.id, event.type)
    elif event.type == ProcessorEventType.PAYMENT_SUCCEEDED:
        settled = await service.intent_succeeded(db, intent_id, event.attempt_id)
        if isinstance(settled, Attempt):
            log.warning("payment_intent %s landed on released attempt %s", intent_id, settled.id)
            # Inside the transaction: if it fails, the event is not recorded, and Stripe's
            # next delivery tries again.
            await provider.refund(intent_id, domain.refund_key(settled.id))
        elif settled is not None and settled.refund_due:
            return settled.id
    elif event.type == ProcessorEventType.PAYMENT_FAILED:
        await service.intent_failed(db, intent_id, event.attempt_id)
    elif event.type == ProcessorEventType.CHARGE_REFUNDED and event.fully_refunded:
        await service.charge_refunded(db, intent_id)
    else:
        log.debug("stripe event %s (%s) ignored", event.id, event.type)
    return None
