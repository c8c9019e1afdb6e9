"""One attempt's life across transactions: charge outside any, then settle in one.

The route drives a fresh attempt; the reconciler re-drives a stuck one. Either way the
charge carries the attempt's own idempotency key, so driving it twice charges once.
"""

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ticketing.payments import domain, service
from ticketing.payments.models import Payment, PaymentAttempt
from ticketing.payments.providers import PaymentProvider, PaymentRejected, ProviderError

log = logging.getLogger(__name__)


async def drive(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    attempt: PaymentAttempt,
) -> Payment:
    """Raises PaymentRejected (claim released) or ProviderUnavailable (claim kept)."""
    try:
        charge_id = await provider.charge(
            attempt.amount_cents,
            attempt.currency,
            attempt.token or "",
            domain.charge_key(attempt.id),
            metadata={"order_id": str(attempt.order_id), "attempt_id": str(attempt.id)},
        )
    except PaymentRejected:
        async with sessionmaker() as db, db.begin():
            await service.release(db, attempt.id)
        raise
    async with sessionmaker() as db, db.begin():
        payment = await service.settle(db, attempt.id, charge_id)
        if payment.refund_requested_at is not None and payment.refunded_at is None:
            await refund_now(db, provider, payment)
    return payment


async def refund_now(db: AsyncSession, provider: PaymentProvider, payment: Payment) -> bool:
    """Refund inside the caller's transaction, which already marked the payment for refund.
    If the processor fails, the mark stays and the reconciler tries again with the same key."""
    try:
        await provider.refund(payment.provider_id, domain.refund_key(payment.attempt_id))
    except ProviderError as error:
        log.warning("refund of payment %s failed, will retry: %s", payment.id, error)
        return False
    await service.record_refund(db, payment)
    return True
