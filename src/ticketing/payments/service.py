"""Payments use cases; each runs inside the caller's transaction and never commits."""

import logging
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.bus import outbox
from ticketing.common.bus.versions import StaleEvent, VersionGap, require_next_version
from ticketing.common.events import (
    Event,
    OrderCreated,
    PaymentCreated,
    PaymentRefunded,
    PayoutSent,
)
from ticketing.common.metrics import business
from ticketing.payments import domain, store
from ticketing.payments.domain import (
    Attempt,
    Balance,
    LedgerKind,
    LedgerTransaction,
    Order,
    OrderStatus,
    Payment,
    Payout,
    PayoutStatus,
    ProcessorEvent,
    ledger_key,
)

log = logging.getLogger(__name__)


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
    if attempt.status not in domain.AWAITING_CHARGE:  # settled meanwhile: a re-send, a webhook
        settled = await store.payment_of_attempt(db, attempt_id)
        if settled is None:
            raise RuntimeError(f"attempt {attempt_id} was released, yet its charge landed")
        return settled
    order = await store.locked_order(db, attempt.order_id)
    assert order is not None  # an attempt's order is there: a foreign key
    await store.succeed(db, attempt.id, charge_id)
    reason = domain.refund_reason_on_settling(order)
    payment = await store.add_payment(db, attempt, charge_id, refund_reason=reason)
    if not payment.refund_due:
        created = PaymentCreated(
            id=payment.id, order_id=order.id, stripe_id=charge_id, amount=payment.amount_cents
        )
        await _publish(db, created, "payment_succeeded")
    return payment


async def record_refund(db: AsyncConnection, payment: Payment) -> Payment:
    """The processor gave the money back: the payment says so, and payment.refunded tells,
    once, however many report it (our own call, a webhook)."""
    refunded = await store.record_refund(db, payment.id)
    if refunded is None:
        return await store.payment(db, payment.id)
    await _refunded(db, refunded)
    return refunded


async def _refunded(db: AsyncConnection, refunded: Payment) -> None:
    event = PaymentRefunded(
        id=refunded.id,
        order_id=refunded.order_id,
        stripe_id=refunded.provider_id,
        reason=refunded.refund_reason or domain.ORDER_CANCELLED,
    )
    await _publish(db, event, "refund")


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


# ledger ----------------------------------------------------------------------------------------


async def post_sale(
    db: AsyncConnection,
    order_id: UUID,
    seller: UUID | None,
    *,
    fee_percent: Decimal,
    currency: str,
) -> None:
    """Credit the seller the price less the fee, pending. The price is the replica's, which
    is what the buyer was charged; the event only says who sold."""
    if seller is None:
        log.warning("order %s completed without a seller: no sale posted", order_id)
        return
    order = await store.locked_order(db, order_id)
    if order is None:
        return
    if await store.posted(db, [ledger_key(LedgerKind.REVERSAL, order_id)]):
        log.warning("order %s was refunded before its sale was posted", order_id)
        return
    await store.post(db, domain.sale(order.id, seller, order.price_cents, currency, fee_percent))


async def release_sale(db: AsyncConnection, order_id: UUID) -> bool:
    """The seller's pending money for this sale becomes available, once; not after a
    reversal. False when there was nothing to release."""
    found = await _sale_story(db, order_id)
    sold = found.get(LedgerKind.SALE)
    if sold is None or LedgerKind.RELEASE in found or LedgerKind.REVERSAL in found:
        return False
    return await store.post(db, domain.release(sold))


async def release_admitted_sale(db: AsyncConnection, order_id: UUID) -> None:
    """The buyer was admitted at the door. A pass exists only once its order completed, so
    an order known here but not complete yet means order.completed (and the sale it posts)
    is still on its way: wait for it (VersionGap: retried later) rather than leave the
    seller's money to the hold. An order never heard of is not one of this system's sales."""
    order = await store.locked_order(db, order_id)
    if order is None:
        log.warning("pass.admitted for order %s, unknown here: nothing to release", order_id)
        return
    if order.status != OrderStatus.COMPLETE:
        raise VersionGap(f"order {order_id} admitted before its completion arrived")
    await release_sale(db, order_id)


async def reverse_sale(db: AsyncConnection, order_id: UUID) -> bool:
    """A refunded sale: undo what its sale and release posted, from pending or available
    (which may go below zero if it was paid out: a debt). Once per order; without a sale
    yet, the reversal is recorded empty so a late sale does not post. False if reversed
    already."""
    found = await _sale_story(db, order_id)
    if LedgerKind.REVERSAL in found:
        return False
    posted = [found[kind] for kind in (LedgerKind.SALE, LedgerKind.RELEASE) if kind in found]
    reversed_ = await store.post(db, domain.reversal(order_id, posted))
    if reversed_:
        business("payments", "sale_reversed")
    return reversed_


async def _sale_story(db: AsyncConnection, order_id: UUID) -> dict[LedgerKind, LedgerTransaction]:
    """What the ledger holds about one sale. The order replica's row lock makes the sale,
    its release and its reversal take turns, so none reads the others half done."""
    await store.locked_order(db, order_id)
    kinds = (LedgerKind.SALE, LedgerKind.RELEASE, LedgerKind.REVERSAL)
    found = await store.posted(db, [ledger_key(kind, order_id) for kind in kinds])
    return {transaction.kind: transaction for transaction in found}


async def save_payout_account(db: AsyncConnection, user_id: UUID, account_id: str) -> None:
    await store.save_payout_account(db, user_id, account_id)


async def balance(db: AsyncConnection, user_id: UUID, currency: str) -> Balance:
    return await store.balance(db, user_id, currency)


async def book_payout(db: AsyncConnection, user_id: UUID, currency: str) -> Payout:
    """The seller's whole available balance, booked before the transfer is asked for. The
    payout account's row lock makes one seller's payouts take turns: the second reads the
    balance the first left, nothing, and is refused."""
    account_id = await store.payout_account(db, user_id, lock=True)
    available = (await store.balance(db, user_id, currency)).available if account_id else 0
    amount = domain.payout_amount(account_id, available)
    assert account_id is not None  # payout_amount refuses a seller without one
    payout = await store.add_payout(db, user_id, amount, currency, account_id)
    await store.post(db, domain.payout_booked(payout))
    return payout


async def payout_sent(db: AsyncConnection, payout_id: UUID, transfer_id: str) -> Payout:
    """The transfer landed: the payout says so and payout.sent tells, once."""
    sent = await store.close_payout(db, payout_id, PayoutStatus.SENT, transfer_id)
    if sent is None:  # closed meanwhile by a re-drive
        return await store.payout(db, payout_id)
    event = PayoutSent(
        id=sent.id, user_id=sent.user_id, amount=sent.amount_cents, currency=sent.currency
    )
    await _publish(db, event, "payout_sent")
    return sent


async def payout_refused(db: AsyncConnection, payout_id: UUID) -> Payout:
    """The processor refused the transfer: nothing left, so the money is booked back."""
    failed = await store.close_payout(db, payout_id, PayoutStatus.FAILED)
    if failed is None:
        return await store.payout(db, payout_id)
    await store.post(db, domain.payout_failed(failed))
    business("payments", "payout_failed")
    return failed


# webhooks


async def await_action(db: AsyncConnection, attempt_id: UUID, intent_id: str) -> None:
    """3-D Secure: the attempt keeps the order's claim while its buyer authenticates, and
    the reconciler leaves it alone (it is not in flight): the processor ends it by webhook,
    succeeded or failed. It is never released by age: a late authentication must still
    find its attempt, to be recorded as a payment and refunded if the order is gone."""
    await store.await_action(db, attempt_id, intent_id)


async def record_processor_event(db: AsyncConnection, event: ProcessorEvent) -> bool:
    """False when this Stripe event took effect already; True: apply it in this transaction."""
    return await store.record_processor_event(db, event.id, event.type)


async def intent_succeeded(
    db: AsyncConnection, intent_id: str, attempt_id: UUID | None
) -> Payment | Attempt | None:
    """A PaymentIntent succeeded. The Payment it settled (as `settle` does after a
    synchronous answer; the one settled already, if that answer came first — Stripe sends
    this for every charge); or the released Attempt it landed on, whose charge must be
    refunded; or None: it is not one of ours."""
    attempt = await store.attempt_for_intent(db, intent_id, attempt_id)
    if attempt is None or attempt.provider_id not in (None, intent_id):
        log.info("payment_intent %s succeeded: no attempt of ours made it", intent_id)
        return None
    if domain.landed_on_released(attempt):
        business("payments", "late_charge")
        return attempt
    return await settle(db, attempt.id, intent_id)


async def intent_failed(db: AsyncConnection, intent_id: str, attempt_id: UUID | None) -> None:
    """The charge failed (authentication refused, card declined): an attempt still waiting
    lets go of its claim, so the buyer may try another card."""
    attempt = await store.attempt_for_intent(db, intent_id, attempt_id)
    if attempt is None or attempt.provider_id not in (None, intent_id):
        return
    if attempt.status in domain.AWAITING_CHARGE:
        await release(db, attempt.id)


async def charge_refunded(db: AsyncConnection, intent_id: str) -> Payment | None:
    """The processor refunded a charge in full, whoever asked: recorded once, with
    payment.refunded once. The order is locked before the payment, as a cancellation does."""
    found = await store.payment_for_intent(db, intent_id)
    if found is None:
        return None
    order = await store.locked_order(db, found.order_id)
    payment = await store.unrefunded_payment(db, found.order_id)
    if payment is None or payment.provider_id != intent_id:
        return None  # recorded already
    refunded = await store.record_processor_refund(db, payment.id, domain.REFUNDED_AT_PROCESSOR)
    await _refunded(db, refunded)
    if order is not None and order.status == OrderStatus.COMPLETE:
        await completed_sale_refunded(db, refunded)
    return refunded


async def completed_sale_refunded(db: AsyncConnection, payment: Payment) -> None:
    """A completed sale's money went back to its buyer at the processor (a refund from
    Stripe's dashboard, a dispute lost). Called once per such refund, in the transaction
    that records it, so whatever the sale had earned its seller is reversed here
    atomically with the refund. Payments never refunds a completed sale itself: its own
    refunds are of orders cancelled before or while paying."""
    log.warning("payment %s of a completed order %s refunded", payment.id, payment.order_id)
    business("payments", "completed_sale_refunded")
    await reverse_sale(db, payment.order_id)


async def check_authenticating(db: AsyncConnection, intent_id: str, *, buyer: UUID) -> None:
    domain.check_authenticating(await store.buyer_of_intent(db, intent_id), buyer)
