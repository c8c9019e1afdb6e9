"""Passes' tables: the passes, and the doors allowed to admit them."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketing.common.db import service_metadata
from ticketing.passes.domain import PassStatus

STATUS_CHECK = "status IN (" + ", ".join(f"'{status.value}'" for status in PassStatus) + ")"
VALID_PREDICATE = f"status = '{PassStatus.VALID.value}'"


class Base(DeclarativeBase):
    """Metadata only (the migrations' check, and the tables store.py writes Core against)."""

    metadata = service_metadata()


class Pass(Base):
    """domain.Pass."""

    __tablename__ = "passes"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[UUID]
    # One pass per order: a re-sent order.completed issues nothing.
    order_id: Mapped[UUID] = mapped_column(unique=True)
    user_id: Mapped[UUID]
    title: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    admitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    listed_price_cents: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # At most one pass per ticket opens the door: a resale revokes the old one first.
        Index(
            "uq_passes_valid_ticket",
            "ticket_id",
            unique=True,
            postgresql_where=text(VALID_PREDICATE),
        ),
        Index("ix_passes_ticket_id", "ticket_id"),
        Index("ix_passes_user_newest", "user_id", created_at.desc(), id.desc()),
        CheckConstraint(text(STATUS_CHECK), name="status"),
    )


class Door(Base):
    """domain.Door."""

    __tablename__ = "doors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
