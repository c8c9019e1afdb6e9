"""Expiration's table: one timer per order, pending until it fires."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Index, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ticketing.common.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Timer(Base):
    """The order id is the key, so a redelivered order.created cannot arm a second timer."""

    __tablename__ = "timers"

    order_id: Mapped[UUID] = mapped_column(primary_key=True)
    fire_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_timers_due", "fire_at", postgresql_where=text("fired_at IS NULL")),
        Index("ix_timers_fired", "fired_at", postgresql_where=text("fired_at IS NOT NULL")),
    )
