"""Tickets' tables (metadata for the store's statements): the listings, and the orders it has
heard of (to survive odd event orders)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketing.common.db import service_metadata
from ticketing.tickets.domain import TITLE_MAX, Status

STATUSES = ", ".join(f"'{s}'" for s in Status)


class Base(DeclarativeBase):
    metadata = service_metadata()


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    price_cents: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[UUID]
    version: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[UUID | None]
    status: Mapped[str] = mapped_column(String(20))
    sale: Mapped[int] = mapped_column(Integer, server_default="0")
    price_cap_cents: Mapped[int | None] = mapped_column(Integer)
    taken_down: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"status IN ({STATUSES})", name="status"),
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint("sale >= 0", name="sale_counted"),
        # a resale's price never passes its cap, whatever path wrote it
        CheckConstraint(
            "price_cap_cents IS NULL OR price_cents <= price_cap_cents", name="price_capped"
        ),
        # the public list: for-sale tickets, newest first, keyset-paged
        Index("ix_tickets_status_created_at_id", "status", created_at.desc(), id.desc()),
        # ?mine=true: one seller's listings in every state
        Index("ix_tickets_user_id_created_at_id", "user_id", created_at.desc(), id.desc()),
    )


class KnownOrder(Base):
    """Each order heard of and its last known state, so an order.created that arrives after
    its own order.cancelled does not reserve the ticket for an order that is already over."""

    __tablename__ = "known_orders"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[UUID]
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    # the buyer, from order.created (None: heard of first by its end): a pass listed for a
    # sold ticket must be its buyer's
    user_id: Mapped[UUID | None]


class KnownPass(Base):
    """The latest version of each pass whose events moved a ticket: pass.listed and
    pass.unlisted come through separate consumers, so a listing that arrives after its own
    unlisting must not put the ticket back on sale."""

    __tablename__ = "known_passes"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[UUID]
    version: Mapped[int] = mapped_column(Integer)
