"""Payments' tables: the orders replica, payment attempts (the claim) and payments; the
sellers' ledger and their payouts."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketing.common.db import service_metadata
from ticketing.payments.domain import CLAIMING, AttemptStatus, LedgerKind, PayoutStatus


def _one_of(values: tuple[AttemptStatus, ...]) -> str:
    return "status IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class Base(DeclarativeBase):
    metadata = service_metadata()


class Order(Base):
    """What payments knows of an order, fed by order.* events in version order."""

    __tablename__ = "orders"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID]
    price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer)


class PaymentAttempt(Base):
    """One try at charging an order; while in flight or succeeded it holds the order's claim."""

    __tablename__ = "payment_attempts"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    order_id: Mapped[UUID] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.IN_FLIGHT.value)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # Kept only while in flight, so a stuck attempt can be re-sent exactly as it was.
    token: Mapped[str | None] = mapped_column(String(255))
    # webhooks: the PaymentIntent, so a webhook naming it finds its attempt
    provider_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    driven_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index(
            "uq_payment_attempts_claim",
            "order_id",
            unique=True,
            postgresql_where=text(_one_of(CLAIMING)),
        ),
        Index(
            "ix_payment_attempts_in_flight",
            "driven_at",
            postgresql_where=text(f"status = '{AttemptStatus.IN_FLIGHT}'"),
        ),
        CheckConstraint(_one_of(tuple(AttemptStatus)), name="status"),
        Index("uq_payment_attempts_provider_id", "provider_id", unique=True),
    )


class Payment(Base):
    """A charge that landed; refunded when its order was cancelled before or after it."""

    __tablename__ = "payments"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    order_id: Mapped[UUID] = mapped_column(ForeignKey("orders.id"), unique=True)
    attempt_id: Mapped[UUID] = mapped_column(ForeignKey("payment_attempts.id"), unique=True)
    provider_id: Mapped[str] = mapped_column(String(255))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    refund_reason: Mapped[str | None] = mapped_column(String(200))
    refund_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_payments_refund_pending",
            "refund_requested_at",
            postgresql_where=text("refund_requested_at IS NOT NULL AND refunded_at IS NULL"),
        ),
        Index("ix_payments_provider_id", "provider_id"),  # webhooks: charge.refunded finds it
    )


# webhooks


class StripeEvent(Base):
    """Each Stripe event id, recorded in the transaction of its effect: a redelivery (Stripe
    sends one until it sees a 2xx, and may send one twice) takes effect once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


# ledger --------------------------------------------------------------------------------------


def _status_in(values: tuple[StrEnum, ...]) -> str:
    return "status IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class LedgerTransaction(Base):
    """One business fact in the sellers' ledger. Append-only: nothing updates or deletes a
    ledger row (a mistake is undone by a reversing transaction), and the database refuses
    to (triggers in the migration). `key` makes each fact post once."""

    __tablename__ = "ledger_transactions"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    order_id: Mapped[UUID | None] = mapped_column(index=True)  # a sale's release, reversal
    user_id: Mapped[UUID | None]

    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in LedgerKind) + ")", name="kind"
        ),
        # The hold's release scan walks sales by age.
        Index("ix_ledger_transactions_kind_created_at", "kind", "created_at"),
    )


class LedgerEntry(Base):
    """One leg of a transaction: debit positive, credit negative. Every transaction sums to
    zero per currency, checked by a constraint trigger at commit (see the migration)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    transaction_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(200), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class PayoutAccount(Base):
    """Where a seller's payouts go: a Stripe Connect account id."""

    __tablename__ = "payout_accounts"

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Payout(Base):
    """A transfer of a seller's available balance; booked in the ledger before it is sent."""

    __tablename__ = "payouts"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    user_id: Mapped[UUID] = mapped_column(index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    account_id: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default=PayoutStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_id: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint(_status_in(tuple(PayoutStatus)), name="status"),
        Index(
            "ix_payouts_pending",
            "created_at",
            postgresql_where=text(f"status = '{PayoutStatus.PENDING}'"),
        ),
    )
