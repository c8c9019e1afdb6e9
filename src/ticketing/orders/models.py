"""Orders' tables: orders, and the replica of tickets learned from ticket events."""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

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
from ticketing.orders.domain import HOLDING, OrderStatus


def _status_in(statuses: Iterable[OrderStatus]) -> str:
    return "status IN (" + ", ".join(f"'{status.value}'" for status in statuses) + ")"


# Literal SQL, from the domain's statuses: ON CONFLICT infers the partial index only from a
# predicate that matches the index's own, constants included.
ACTIVE_PREDICATE = _status_in(HOLDING)
STATUS_CHECK = _status_in(OrderStatus)
_HOLDING = text(ACTIVE_PREDICATE)


class Base(DeclarativeBase):
    """Metadata only (the migrations' check, and the tables store.py writes Core against)."""

    metadata = service_metadata()


class Ticket(Base):
    """domain.Listing: a replica of a tickets-service listing."""

    __tablename__ = "tickets"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[UUID]  # the seller
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    withdrawn: Mapped[bool] = mapped_column(Boolean)
    sale: Mapped[int] = mapped_column(Integer, server_default="0")


class Order(Base):
    """domain.Order."""

    __tablename__ = "orders"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID]
    ticket_id: Mapped[UUID] = mapped_column(ForeignKey("tickets.id"))
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    price_cents: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sale: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (
        # Guarantee 1: at most one order holds a ticket's sale (a resale is the next one);
        # the insert itself is the check.
        Index(
            "uq_orders_active_ticket_sale",
            "ticket_id",
            "sale",
            unique=True,
            postgresql_where=_HOLDING,
        ),
        Index("ix_orders_user_newest", "user_id", created_at.desc(), id.desc()),
        CheckConstraint(text(STATUS_CHECK), name="status"),
    )
