"""Payments' data access: Core statements on the caller's connection, domain values back."""

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.common.rows import columns, insert_new, table, value, values
from ticketing.payments import models
from ticketing.payments.domain import (
    AWAITING_CHARGE,
    CLAIMING,
    REDRIVE_WINDOW,
    Attempt,
    AttemptStatus,
    Balance,
    Entry,
    LedgerKind,
    LedgerTransaction,
    Order,
    Payment,
    Payout,
    PayoutStatus,
    available_account,
    pending_account,
)

ORDERS = table(models.Order)
ATTEMPTS = table(models.PaymentAttempt)
PAYMENTS = table(models.Payment)
STRIPE_EVENTS = table(models.StripeEvent)
ORDER = columns(ORDERS, Order)
ATTEMPT = columns(ATTEMPTS, Attempt)
PAYMENT = columns(PAYMENTS, Payment)


async def add_order(db: AsyncConnection, order: Order) -> bool:
    """False when the replica already has this order (a re-published order.created)."""
    return await insert_new(db, ORDERS, values(order))


# The replica's statements, run for every order event: built once, as building one per
# event cost more than running it.
_ORDER = select(*ORDER).where(ORDERS.c.id == bindparam("order_id"))
_ORDER_LOCKED, _ORDER_SHARED = _ORDER.with_for_update(), _ORDER.with_for_update(read=True)
_SAVE_ORDER = (
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("order_id"))
    .values(status=bindparam("new_status"), version=bindparam("new_version"))
)


async def locked_order(db: AsyncConnection, order_id: UUID, *, share: bool = False) -> Order | None:
    """FOR UPDATE, or FOR SHARE with `share`: enough to keep the order as it is while a
    payment for it is claimed, without making concurrent claims take turns."""
    query = _ORDER_SHARED if share else _ORDER_LOCKED
    row = (await db.execute(query, {"order_id": order_id})).mappings().first()
    return None if row is None else value(Order, row)


async def save_order(db: AsyncConnection, order: Order) -> None:
    changed = {"order_id": order.id, "new_status": order.status.value, "new_version": order.version}
    await db.execute(_SAVE_ORDER, changed)


async def claim(db: AsyncConnection, order: Order, *, token: str, currency: str) -> Attempt | None:
    """Insert, don't check: the partial unique index lets one attempt per order hold the
    claim while in flight or succeeded, however many requests race (guarantee 6). None when
    another attempt holds it."""
    claimed = await db.execute(
        insert(ATTEMPTS)
        .values(
            order_id=order.id,
            status=AttemptStatus.IN_FLIGHT.value,
            amount_cents=order.price_cents,
            currency=currency,
            token=token,
        )
        .on_conflict_do_nothing(
            index_elements=[ATTEMPTS.c.order_id],
            index_where=ATTEMPTS.c.status.in_(CLAIMING),
        )
        .returning(*ATTEMPT)
    )
    row = claimed.mappings().first()
    return None if row is None else value(Attempt, row)


async def claim_holder(db: AsyncConnection, order_id: UUID) -> AttemptStatus | None:
    """The status of the attempt holding the order's claim, if one still does."""
    status = await db.scalar(
        select(ATTEMPTS.c.status).where(
            ATTEMPTS.c.order_id == order_id, ATTEMPTS.c.status.in_(CLAIMING)
        )
    )
    return None if status is None else AttemptStatus(status)


async def locked_attempt(db: AsyncConnection, attempt_id: UUID) -> Attempt:
    query = select(*ATTEMPT).where(ATTEMPTS.c.id == attempt_id).with_for_update()
    return value(Attempt, (await db.execute(query)).mappings().one())


async def release(db: AsyncConnection, attempt_id: UUID) -> None:
    """An attempt in flight (or awaiting authentication) fails and forgets its token, which
    frees the order's claim."""
    await db.execute(
        update(ATTEMPTS)
        .where(ATTEMPTS.c.id == attempt_id, ATTEMPTS.c.status.in_(AWAITING_CHARGE))
        .values(status=AttemptStatus.FAILED.value, token=None)
    )


async def succeed(db: AsyncConnection, attempt_id: UUID, provider_id: str) -> None:
    await db.execute(
        update(ATTEMPTS)
        .where(ATTEMPTS.c.id == attempt_id)
        .values(status=AttemptStatus.SUCCEEDED.value, token=None, provider_id=provider_id)
    )


async def take_stale_attempts(
    db: AsyncConnection, *, stale_after: timedelta, limit: int = 20
) -> list[Attempt]:
    """In-flight attempts nobody has driven for a while (a crash, a processor outage),
    stamped as taken so one replica re-sends each; none older than the processor keeps
    its idempotency key."""
    stale = (
        select(ATTEMPTS.c.id)
        .where(
            ATTEMPTS.c.status == AttemptStatus.IN_FLIGHT,
            ATTEMPTS.c.driven_at < func.now() - stale_after,
            ATTEMPTS.c.created_at > func.now() - REDRIVE_WINDOW,
        )
        .order_by(ATTEMPTS.c.driven_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    taken = await db.execute(
        update(ATTEMPTS)
        .where(ATTEMPTS.c.id.in_(stale.scalar_subquery()))
        .values(driven_at=func.now())
        .returning(*ATTEMPT)
    )
    return [value(Attempt, row) for row in taken.mappings()]


async def add_payment(
    db: AsyncConnection, attempt: Attempt, charge_id: str, *, refund_reason: str | None
) -> Payment:
    """A landed charge; with a `refund_reason` it is marked for refund in the same row."""
    added = await db.execute(
        insert(PAYMENTS)
        .values(
            order_id=attempt.order_id,
            attempt_id=attempt.id,
            provider_id=charge_id,
            amount_cents=attempt.amount_cents,
            currency=attempt.currency,
            refund_reason=refund_reason,
            refund_requested_at=None if refund_reason is None else func.now(),
        )
        .returning(*PAYMENT)
    )
    return value(Payment, added.mappings().one())


async def payment_of_attempt(db: AsyncConnection, attempt_id: UUID) -> Payment | None:
    query = select(*PAYMENT).where(PAYMENTS.c.attempt_id == attempt_id)
    row = (await db.execute(query)).mappings().first()
    return None if row is None else value(Payment, row)


_UNREFUNDED = (  # every order.cancelled asks
    select(*PAYMENT)
    .where(PAYMENTS.c.order_id == bindparam("order_id"), PAYMENTS.c.refunded_at.is_(None))
    .with_for_update()
)


async def unrefunded_payment(db: AsyncConnection, order_id: UUID) -> Payment | None:
    row = (await db.execute(_UNREFUNDED, {"order_id": order_id})).mappings().first()
    return None if row is None else value(Payment, row)


async def mark_for_refund(db: AsyncConnection, payment_id: UUID, reason: str) -> Payment:
    """Durable before the processor is asked, so a failed refund is retried, not forgotten."""
    return await _update_payment(
        db, payment_id, refund_reason=reason, refund_requested_at=func.now()
    )


async def record_refund(db: AsyncConnection, payment_id: UUID) -> Payment | None:
    """None when it was recorded already: a webhook and our own refund may both report one
    refund, and the second writer, waiting on the row, finds it done."""
    updated = await db.execute(
        update(PAYMENTS)
        .where(PAYMENTS.c.id == payment_id, PAYMENTS.c.refunded_at.is_(None))
        .values(refunded_at=func.now())
        .returning(*PAYMENT)
    )
    row = updated.mappings().first()
    return None if row is None else value(Payment, row)


async def payment(db: AsyncConnection, payment_id: UUID) -> Payment:
    query = select(*PAYMENT).where(PAYMENTS.c.id == payment_id)
    return value(Payment, (await db.execute(query)).mappings().one())


async def _update_payment(db: AsyncConnection, payment_id: UUID, **values: object) -> Payment:
    updated = await db.execute(
        update(PAYMENTS).where(PAYMENTS.c.id == payment_id).values(**values).returning(*PAYMENT)
    )
    return value(Payment, updated.mappings().one())


async def locked_refund(db: AsyncConnection, payment_id: UUID) -> Payment | None:
    """A payment still waiting for its refund, unless another replica is on it."""
    query = select(*PAYMENT).where(
        PAYMENTS.c.id == payment_id,
        PAYMENTS.c.refund_requested_at.is_not(None),
        PAYMENTS.c.refunded_at.is_(None),
    )
    row = (await db.execute(query.with_for_update(skip_locked=True))).mappings().first()
    return None if row is None else value(Payment, row)


async def pending_refunds(db: AsyncConnection, limit: int = 50) -> list[UUID]:
    query = (
        select(PAYMENTS.c.id)
        .where(PAYMENTS.c.refund_requested_at.is_not(None), PAYMENTS.c.refunded_at.is_(None))
        .order_by(PAYMENTS.c.refund_requested_at)
        .limit(limit)
    )
    return list((await db.scalars(query)).all())


# ledger: append-only, so nothing below updates or deletes a ledger row ----------------------

LEDGER_TRANSACTIONS = table(models.LedgerTransaction)
LEDGER_ENTRIES = table(models.LedgerEntry)
PAYOUT_ACCOUNTS = table(models.PayoutAccount)
PAYOUTS_TABLE = table(models.Payout)
PAYOUT = columns(PAYOUTS_TABLE, Payout)


async def post(db: AsyncConnection, transaction: LedgerTransaction) -> bool:
    """Insert, don't check: the unique key lets a fact post once however often it is told
    (a re-delivered event, a re-driven payout). False when it had been posted already."""
    posted = await db.execute(
        insert(LEDGER_TRANSACTIONS)
        .values(
            key=transaction.key,
            kind=transaction.kind.value,
            order_id=transaction.order_id,
            user_id=transaction.user_id,
        )
        .on_conflict_do_nothing(index_elements=[LEDGER_TRANSACTIONS.c.key])
        .returning(LEDGER_TRANSACTIONS.c.id)
    )
    transaction_id = posted.scalar()
    if transaction_id is None:
        return False
    if transaction.entries:
        rows = [{"transaction_id": transaction_id, **values(e)} for e in transaction.entries]
        await db.execute(insert(LEDGER_ENTRIES), rows)
    return True


async def posted(db: AsyncConnection, keys: list[str]) -> list[LedgerTransaction]:
    """The transactions posted under `keys`, with their entries."""
    t, e = LEDGER_TRANSACTIONS, LEDGER_ENTRIES
    query = (
        select(t.c.key, t.c.kind, t.c.order_id, t.c.user_id, *columns(e, Entry))
        .select_from(t.outerjoin(e, e.c.transaction_id == t.c.id))
        .where(t.c.key.in_(keys))
        .order_by(t.c.created_at, e.c.id)
    )
    found: dict[str, LedgerTransaction] = {}
    for row in (await db.execute(query)).mappings():
        head = found.get(row["key"]) or LedgerTransaction(
            row["key"], LedgerKind(row["kind"]), (), row["order_id"], row["user_id"]
        )
        entries = head.entries if row["account"] is None else (*head.entries, value(Entry, row))
        found[row["key"]] = replace(head, entries=entries)
    return list(found.values())


async def sales_due(db: AsyncConnection, *, held: timedelta, limit: int = 50) -> list[UUID]:
    """Sales older than the hold that were neither released nor reversed."""
    sale, later = LEDGER_TRANSACTIONS, LEDGER_TRANSACTIONS.alias("later")
    closed = (
        select(later.c.id)
        .where(
            later.c.order_id == sale.c.order_id,
            later.c.kind.in_([LedgerKind.RELEASE, LedgerKind.REVERSAL]),
        )
        .exists()
    )
    query = (
        select(sale.c.order_id)
        .where(sale.c.kind == LedgerKind.SALE, sale.c.created_at < func.now() - held, ~closed)
        .order_by(sale.c.created_at)
        .limit(limit)
    )
    return [order_id for order_id in (await db.scalars(query)) if order_id is not None]


async def balance(db: AsyncConnection, user_id: UUID, currency: str) -> Balance:
    """From the entries alone; the seller's accounts are credit-normal, so minus their sums.
    Paid out: what payouts took from available, less what failed ones gave back."""
    e, t = LEDGER_ENTRIES, LEDGER_TRANSACTIONS
    pending, available = pending_account(user_id), available_account(user_id)
    paying = t.c.kind.in_([LedgerKind.PAYOUT, LedgerKind.PAYOUT_FAILED])

    def total(*where: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(e.c.amount_cents).filter(*where), 0)

    query = (
        select(
            -total(e.c.account == pending),
            -total(e.c.account == available),
            total(e.c.account == available, paying),
        )
        .select_from(e.join(t, e.c.transaction_id == t.c.id))
        .where(e.c.account.in_([pending, available]), e.c.currency == currency)
    )
    sums = (await db.execute(query)).one()
    return Balance(int(sums[0]), int(sums[1]), int(sums[2]), currency)


async def save_payout_account(db: AsyncConnection, user_id: UUID, account_id: str) -> None:
    statement = insert(PAYOUT_ACCOUNTS).values(user_id=user_id, account_id=account_id)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[PAYOUT_ACCOUNTS.c.user_id],
            set_={"account_id": account_id, "updated_at": func.now()},
        )
    )


async def payout_account(db: AsyncConnection, user_id: UUID, *, lock: bool = False) -> str | None:
    """With `lock`, FOR UPDATE: one seller's payouts take turns on this row."""
    query = select(PAYOUT_ACCOUNTS.c.account_id).where(PAYOUT_ACCOUNTS.c.user_id == user_id)
    account_id: str | None = await db.scalar(query.with_for_update() if lock else query)
    return account_id


async def add_payout(
    db: AsyncConnection, user_id: UUID, amount_cents: int, currency: str, account_id: str
) -> Payout:
    added = await db.execute(
        insert(PAYOUTS_TABLE)
        .values(
            user_id=user_id,
            amount_cents=amount_cents,
            currency=currency,
            account_id=account_id,
            status=PayoutStatus.PENDING.value,
        )
        .returning(*PAYOUT)
    )
    return value(Payout, added.mappings().one())


async def payout(db: AsyncConnection, payout_id: UUID) -> Payout:
    row = (await db.execute(select(*PAYOUT).where(PAYOUTS_TABLE.c.id == payout_id))).mappings()
    return value(Payout, row.one())


async def close_payout(
    db: AsyncConnection, payout_id: UUID, status: PayoutStatus, provider_id: str | None = None
) -> Payout | None:
    """A pending payout becomes sent or failed, once: None if it was closed meanwhile."""
    closed = await db.execute(
        update(PAYOUTS_TABLE)
        .where(PAYOUTS_TABLE.c.id == payout_id, PAYOUTS_TABLE.c.status == PayoutStatus.PENDING)
        .values(
            status=status.value,
            provider_id=provider_id,
            sent_at=func.now() if status == PayoutStatus.SENT else None,
        )
        .returning(*PAYOUT)
    )
    row = closed.mappings().first()
    return None if row is None else value(Payout, row)


async def stale_payouts(
    db: AsyncConnection, *, stale_after: timedelta, limit: int = 20
) -> list[Payout]:
    """Pending payouts whose transfer went unanswered a while ago; none older than the
    processor keeps its idempotency key, since re-sending one could transfer twice."""
    query = (
        select(*PAYOUT)
        .where(
            PAYOUTS_TABLE.c.status == PayoutStatus.PENDING,
            PAYOUTS_TABLE.c.created_at < func.now() - stale_after,
            PAYOUTS_TABLE.c.created_at > func.now() - REDRIVE_WINDOW,
        )
        .order_by(PAYOUTS_TABLE.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [value(Payout, row) for row in (await db.execute(query)).mappings()]


# webhooks


async def record_processor_event(db: AsyncConnection, event_id: str, event_type: str) -> bool:
    """False when this event took effect already: the insert, in the transaction of the
    effect, decides, so two deliveries racing agree (the second waits for the first)."""
    return await insert_new(db, STRIPE_EVENTS, {"id": event_id, "type": event_type})


async def attempt_for_intent(
    db: AsyncConnection, intent_id: str, attempt_id: UUID | None
) -> Attempt | None:
    """The attempt a PaymentIntent belongs to, locked: by the id our metadata gave it (an
    intent may land before the synchronous answer has named it), else by the intent id."""
    found = ATTEMPTS.c.provider_id == intent_id
    if attempt_id is not None:
        found = or_(ATTEMPTS.c.id == attempt_id, found)
    query = select(*ATTEMPT).where(found).order_by(ATTEMPTS.c.created_at).limit(1)
    row = (await db.execute(query.with_for_update())).mappings().first()
    return None if row is None else value(Attempt, row)


async def await_action(db: AsyncConnection, attempt_id: UUID, intent_id: str) -> bool:
    """The attempt keeps its claim while the buyer authenticates; its token is no longer
    needed (nothing re-sends it: the processor ends it by webhook). False if it is not in
    flight any more."""
    updated = await db.execute(
        update(ATTEMPTS)
        .where(ATTEMPTS.c.id == attempt_id, ATTEMPTS.c.status == AttemptStatus.IN_FLIGHT)
        .values(status=AttemptStatus.REQUIRES_ACTION.value, token=None, provider_id=intent_id)
        .returning(ATTEMPTS.c.id)
    )
    return updated.first() is not None


async def payment_for_intent(db: AsyncConnection, intent_id: str) -> Payment | None:
    """Not locked: the caller locks its order first, then the payment, as a cancellation does."""
    query = select(*PAYMENT).where(PAYMENTS.c.provider_id == intent_id)
    row = (await db.execute(query)).mappings().first()
    return None if row is None else value(Payment, row)


async def record_processor_refund(db: AsyncConnection, payment_id: UUID, reason: str) -> Payment:
    """Refunded at the processor, by us or not: requested now if nobody asked, keeping the
    reason of a refund we asked for."""
    return await _update_payment(
        db,
        payment_id,
        refund_reason=func.coalesce(PAYMENTS.c.refund_reason, reason),
        refund_requested_at=func.coalesce(PAYMENTS.c.refund_requested_at, func.now()),
        refunded_at=func.now(),
    )


async def buyer_of_intent(db: AsyncConnection, intent_id: str) -> UUID | None:
    """Who placed the order of the attempt awaiting authentication of this intent."""
    query = (
        select(ORDERS.c.user_id)
        .join(ATTEMPTS, ATTEMPTS.c.order_id == ORDERS.c.id)
        .where(
            ATTEMPTS.c.provider_id == intent_id,
            ATTEMPTS.c.status == AttemptStatus.REQUIRES_ACTION,
        )
    )
    found: UUID | None = await db.scalar(query)
    return found


async def forget_processor_events(db: AsyncConnection, kept: timedelta) -> int:
    """The records received over `kept` ago, by the database's clock, which stamped them."""
    result = await db.execute(
        delete(models.StripeEvent).where(STRIPE_EVENTS.c.received_at < func.now() - kept)
    )
    return result.rowcount
