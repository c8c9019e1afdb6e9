"""The two tables every event-using service keeps in its own database."""

from typing import Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ticketing.common.db import NAMING


class Migration(Protocol):
    """What the functions below use of a migration's `alembic.op`."""

    def get_bind(self) -> Connection: ...


metadata = MetaData(naming_convention=NAMING)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("subject", String(100), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Index("ix_outbox_pending", "seq", postgresql_where=text("published_at IS NULL")),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("subject", String(100), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_bus_tables(op: Migration) -> None:
    """For a service's first Alembic migration: the outbox and processed-event tables."""
    metadata.create_all(op.get_bind())


def drop_bus_tables(op: Migration) -> None:
    metadata.drop_all(op.get_bind())
