"""Orders' tables: orders, and the replica of tickets learned from ticket events."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketing.common.db import service_metadata

# The statuses that hold a ticket. Kept as literal SQL: ON CONFLICT infers the partial
# index only from a predicate that matches the index's own, constants included.
ACTIVE_PREDICATE = "status IN ('created', 'awaiting:payment', 'complete')"
STATUS_CHECK = "status IN ('created', 'awaiting:payment', 'cancelled', 'complete')"


class Base(DeclarativeBase):
    metadata = service_metadata()


class Ticket(Base):
    """A replica of a tickets-service listing, at the source's `version` (guarantee 4)."""

    __tablename__ = "tickets"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[UUID]  # the seller
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), default="available")  # as the source says
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    user_id: Mapped[UUID]
    ticket_id: Mapped[UUID] = mapped_column(ForeignKey("tickets.id"))
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What the buyer was asked to pay (order.created says it to payments): the replica's
    # price may move after the order is placed, this does not.
    price_cents: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # Guarantee 1: at most one order holds a ticket; the insert itself is the check.
        Index(
            "uq_orders_active_ticket",
            "ticket_id",
            unique=True,
            postgresql_where=text(ACTIVE_PREDICATE),
        ),
        Index("ix_orders_user_newest", "user_id", created_at.desc(), id.desc()),
        CheckConstraint(text(STATUS_CHECK), name="status"),
    )
