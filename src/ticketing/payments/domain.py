"""Payment rules: who may pay for which order, and the keys that make a charge happen once."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from uuid import UUID

from ticketing.common.refusals import Invalid, Missing, NotYours


class OrderStatus(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting:payment"
    CANCELLED = "cancelled"
    COMPLETE = "complete"


class AttemptStatus(StrEnum):
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # webhooks: the processor asked the buyer to authenticate (3-D Secure); a webhook ends it
    REQUIRES_ACTION = "requires_action"


# The statuses that hold the claim on an order; the partial unique index covers these.
CLAIMING = (AttemptStatus.IN_FLIGHT, AttemptStatus.SUCCEEDED, AttemptStatus.REQUIRES_ACTION)

# Stripe forgets an idempotency key after 24 hours; re-sending one later could charge again.
REDRIVE_WINDOW = timedelta(hours=23)

EXPIRED_WHILE_PAYING = "order expired before payment completed"
ORDER_CANCELLED = "order cancelled"


@dataclass(frozen=True, slots=True)
class Order:
    """What payments knows of an order, fed by order.* events in version order."""

    id: UUID
    user_id: UUID
    price_cents: int
    status: OrderStatus
    version: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at charging an order; `token` is kept only while it is in flight."""

    id: UUID
    order_id: UUID
    status: AttemptStatus
    amount_cents: int
    currency: str
    token: str | None
    provider_id: str | None = None  # the PaymentIntent, once the processor has named it


@dataclass(frozen=True, slots=True)
class Payment:
    """A charge that landed; refunded when its order was cancelled before or after it."""

    id: UUID
    order_id: UUID
    attempt_id: UUID
    provider_id: str
    amount_cents: int
    currency: str
    refund_reason: str | None
    refund_requested_at: datetime | None
    refunded_at: datetime | None

    @property
    def refund_due(self) -> bool:
        """Marked for refund, and the processor has not confirmed it yet."""
        return self.refund_requested_at is not None and self.refunded_at is None


def check_payable(order: Order | None, buyer: UUID) -> Order:
    """The cheap checks before a claim; the claim itself settles races (guarantee 6)."""
    if order is None:
        raise Missing("Order not found")
    if order.user_id != buyer:
        raise NotYours()
    if order.status == OrderStatus.CANCELLED:
        raise Invalid("Cannot pay for a cancelled order")
    if order.status == OrderStatus.COMPLETE:
        raise Invalid("Order already paid")
    return order


def claim_refused(holder: AttemptStatus | None) -> Invalid:
    """Why a second attempt could not claim the order, from the status of the one holding it."""
    if holder == AttemptStatus.SUCCEEDED:
        return Invalid("Order already paid")
    if holder == AttemptStatus.REQUIRES_ACTION:
        return Invalid("A payment for this order is waiting for your card's authentication")
    return Invalid("A payment for this order is already in progress")


def refund_reason_on_settling(order: Order) -> str | None:
    """A charge that lands on an order cancelled meanwhile is refunded: nobody pays for nothing."""
    return EXPIRED_WHILE_PAYING if order.status == OrderStatus.CANCELLED else None


def refunded_message(refunded: bool) -> str:
    if refunded:
        return "Order expired before payment completed; you have been refunded"
    return "Order expired before payment completed; your payment will be refunded"


def charge_key(attempt_id: UUID) -> str:
    """Per attempt, not per order: a declined card releases the claim and the next card
    gets a new key, while a re-sent attempt reuses its own and charges once."""
    return f"attempt-{attempt_id}"


def refund_key(attempt_id: UUID) -> str:
    """One charge per attempt, so one refund per attempt, whoever asks for it first."""
    return f"refund-{attempt_id}"


def follow(order: Order, version: int, status: OrderStatus) -> Order:
    """The replica takes the order's new status at the event's version; the caller has
    checked that the event is the next one (guarantee 4)."""
    return replace(order, status=status, version=version)


# ledger: the sellers' double-entry ledger and their payouts ---------------------------------
#
# Accounts are debit-normal numbers: a debit is positive, a credit negative, and every
# transaction sums to zero per currency. `cash` is money held at the processor, `fees` the
# platform's revenue, `seller:<id>:pending` and `seller:<id>:available` what a seller is
# owed (credit-normal: a balance shows minus their sum). A payout debits the seller's
# available account and credits cash: the money leaves.

CASH = "cash"
FEES = "fees"

# Stripe Connect account ids: what POST /api/payouts/account accepts.
PAYOUT_ACCOUNT_PATTERN = r"acct_[A-Za-z0-9]{1,64}"

NO_PAYOUT_ACCOUNT = "Add a payout account first"
NOTHING_TO_PAY_OUT = "Nothing to pay out"


def pending_account(seller: UUID) -> str:
    return f"seller:{seller}:pending"


def available_account(seller: UUID) -> str:
    return f"seller:{seller}:available"


class LedgerKind(StrEnum):
    SALE = "sale"
    RELEASE = "release"
    REVERSAL = "reversal"
    PAYOUT = "payout"
    PAYOUT_FAILED = "payout-failed"


class Unbalanced(ValueError):
    """A transaction whose entries do not sum to zero: a bug, never a user's mistake."""


@dataclass(frozen=True, slots=True)
class Entry:
    account: str
    amount_cents: int  # debit positive, credit negative
    currency: str


@dataclass(frozen=True, slots=True)
class LedgerTransaction:
    """One business fact; its `key` makes the fact post once however often it is told."""

    key: str
    kind: LedgerKind
    entries: tuple[Entry, ...]
    order_id: UUID | None = None
    user_id: UUID | None = None


def ledger_transaction(
    kind: LedgerKind,
    subject: UUID,
    entries: list[Entry],
    *,
    order_id: UUID | None = None,
    user_id: UUID | None = None,
) -> LedgerTransaction:
    """The only way to build one: refuses entries that do not balance per currency (the
    database checks it again at commit). Zero entries are dropped: they move nothing."""
    totals: dict[str, int] = {}
    for entry in entries:
        totals[entry.currency] = totals.get(entry.currency, 0) + entry.amount_cents
    if any(totals.values()):
        raise Unbalanced(f"{kind} {subject} does not balance: {totals}")
    kept = tuple(entry for entry in entries if entry.amount_cents)
    return LedgerTransaction(ledger_key(kind, subject), kind, kept, order_id, user_id)


def ledger_key(kind: LedgerKind, subject: UUID) -> str:
    """`sale:<order id>`, `payout:<payout id>`, ...: one business fact, one key."""
    return f"{kind}:{subject}"


def fee_cents(price_cents: int, percent: Decimal) -> int:
    """The platform's cut, rounded half up to the cent."""
    return int((Decimal(price_cents) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP))


def sale(
    order_id: UUID, seller: UUID, price_cents: int, currency: str, fee_percent: Decimal
) -> LedgerTransaction:
    """The buyer's money is at the processor; the seller is owed it less the fee, pending."""
    fee = fee_cents(price_cents, fee_percent)
    entries = [
        Entry(CASH, price_cents, currency),
        Entry(pending_account(seller), -(price_cents - fee), currency),
        Entry(FEES, -fee, currency),
    ]
    return ledger_transaction(LedgerKind.SALE, order_id, entries, order_id=order_id, user_id=seller)


def release(sold: LedgerTransaction) -> LedgerTransaction:
    """What the sale credited as pending becomes available, all of it."""
    assert sold.order_id is not None and sold.user_id is not None  # a sale names both
    pending, available = pending_account(sold.user_id), available_account(sold.user_id)
    entries = [
        moved
        for credit in sold.entries
        if credit.account == pending
        for moved in (
            replace(credit, amount_cents=-credit.amount_cents),  # Dr pending
            replace(credit, account=available),  # Cr available
        )
    ]
    return ledger_transaction(
        LedgerKind.RELEASE, sold.order_id, entries, order_id=sold.order_id, user_id=sold.user_id
    )


def reversal(order_id: UUID, posted: list[LedgerTransaction]) -> LedgerTransaction:
    """Undo whatever the sale and its release posted, account by account: from pending if
    it was not released, from available if it was (which may go below zero once paid out:
    a debt). With nothing posted, an empty reversal still says a late sale must not post."""
    net: dict[tuple[str, str], int] = {}
    for transaction in posted:
        for entry in transaction.entries:
            key = (entry.account, entry.currency)
            net[key] = net.get(key, 0) - entry.amount_cents
    entries = [Entry(account, amount, currency) for (account, currency), amount in net.items()]
    seller = next((t.user_id for t in posted if t.user_id is not None), None)
    return ledger_transaction(
        LedgerKind.REVERSAL, order_id, entries, order_id=order_id, user_id=seller
    )


@dataclass(frozen=True, slots=True)
class Balance:
    """A seller's money in cents: `available` below zero is a debt (a refund after a payout)."""

    pending: int
    available: int
    paid_out: int
    currency: str


class PayoutStatus(StrEnum):
    PENDING = "pending"  # booked; the transfer not yet confirmed
    SENT = "sent"
    FAILED = "failed"  # refused by the processor, and booked back


@dataclass(frozen=True, slots=True)
class Payout:
    id: UUID
    user_id: UUID
    amount_cents: int
    currency: str
    account_id: str
    status: PayoutStatus
    created_at: datetime
    sent_at: datetime | None
    provider_id: str | None


def payout_amount(account_id: str | None, available_cents: int) -> int:
    """All of the available balance goes, to an account the seller gave."""
    if account_id is None:
        raise Invalid(NO_PAYOUT_ACCOUNT)
    if available_cents <= 0:
        raise Invalid(NOTHING_TO_PAY_OUT)
    return available_cents


def payout_booked(payout: Payout) -> LedgerTransaction:
    entries = [
        Entry(available_account(payout.user_id), payout.amount_cents, payout.currency),
        Entry(CASH, -payout.amount_cents, payout.currency),
    ]
    return ledger_transaction(LedgerKind.PAYOUT, payout.id, entries, user_id=payout.user_id)


def payout_failed(payout: Payout) -> LedgerTransaction:
    """The processor refused the transfer: the money is back where it was."""
    entries = [
        Entry(available_account(payout.user_id), -payout.amount_cents, payout.currency),
        Entry(CASH, payout.amount_cents, payout.currency),
    ]
    return ledger_transaction(LedgerKind.PAYOUT_FAILED, payout.id, entries, user_id=payout.user_id)


def transfer_key(payout_id: UUID) -> str:
    """One transfer per payout, however often it is driven."""
    return f"payout-{payout_id}"


# webhooks


# The statuses a charge may still land on (or fail from): the one awaiting the processor's
# answer, and the one awaiting the buyer's authentication.
AWAITING_CHARGE = (AttemptStatus.IN_FLIGHT, AttemptStatus.REQUIRES_ACTION)

REFUNDED_AT_PROCESSOR = "refunded at Stripe"


class ProcessorEventType(StrEnum):
    """The Stripe events payments acts on; any other is recorded and ignored."""

    PAYMENT_SUCCEEDED = "payment_intent.succeeded"
    PAYMENT_FAILED = "payment_intent.payment_failed"
    CHARGE_REFUNDED = "charge.refunded"


@dataclass(frozen=True, slots=True)
class ProcessorEvent:
    """What payments reads of a Stripe event. `object_id` is the PaymentIntent's id (for a
    charge.refunded, the refunded charge's PaymentIntent); `attempt_id` is the attempt our
    metadata named, when it names one; `fully_refunded` is a charge's, refunded in full."""

    id: str
    type: str
    object_id: str | None
    attempt_id: UUID | None = None
    fully_refunded: bool = False


def landed_on_released(attempt: Attempt) -> bool:
    """A charge on an attempt already released (its buyer authenticated after the decline
    was recorded, from a page still open): no payment can hold it, so it is refunded."""
    return attempt.status == AttemptStatus.FAILED


def check_authenticating(owner: UUID | None, buyer: UUID) -> None:
    """Only an order's buyer may authenticate its payment (on the sandbox's stand-in for the
    bank's 3-D Secure page)."""
    if owner is None:
        raise Missing("No payment awaiting authentication")
    if owner != buyer:
        raise NotYours()
