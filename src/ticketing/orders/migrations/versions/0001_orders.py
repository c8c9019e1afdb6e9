"""orders, the tickets replica, and the bus tables"""

import sqlalchemy as sa
from alembic import op

from ticketing.common.bus.tables import create_bus_tables, drop_bus_tables

revision = "0001"
down_revision = None

ACTIVE = "status IN ('created', 'awaiting:payment', 'complete')"
STATUSES = "status IN ('created', 'awaiting:payment', 'cancelled', 'complete')"


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(sa.text(STATUSES), name="ck_orders_status"),
    )
    op.create_index(
        "uq_orders_active_ticket",
        "orders",
        ["ticket_id"],
        unique=True,
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_orders_user_newest",
        "orders",
        ["user_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    create_bus_tables(op)


def downgrade() -> None:
    drop_bus_tables(op)
    op.drop_table("orders")
    op.drop_table("tickets")
