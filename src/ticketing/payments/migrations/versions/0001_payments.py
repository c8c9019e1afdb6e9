"""orders replica, payment attempts, payments, bus tables"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from ticketing.common.bus.tables import create_bus_tables, drop_bus_tables

revision = "0001"
down_revision = None


def _stamp(name: str, nullable: bool = False) -> "sa.Column[datetime]":
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("token", sa.String(255)),
        _stamp("created_at"),
        _stamp("driven_at"),
        sa.CheckConstraint(
            "status IN ('in_flight', 'succeeded', 'failed')", name="ck_payment_attempts_status"
        ),
    )
    # The claim (guarantee 6): at most one attempt in flight or succeeded per order.
    op.create_index(
        "uq_payment_attempts_claim",
        "payment_attempts",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('in_flight', 'succeeded')"),
    )
    op.create_index(
        "ix_payment_attempts_in_flight",
        "payment_attempts",
        ["driven_at"],
        postgresql_where=sa.text("status = 'in_flight'"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("attempt_id", sa.Uuid(), sa.ForeignKey("payment_attempts.id"), nullable=False),
        sa.Column("provider_id", sa.String(255), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        _stamp("created_at"),
        sa.Column("refund_reason", sa.String(200)),
        _stamp("refund_requested_at", nullable=True),
        _stamp("refunded_at", nullable=True),
        sa.UniqueConstraint("order_id", name="uq_payments_order_id"),
        sa.UniqueConstraint("attempt_id", name="uq_payments_attempt_id"),
    )
    op.create_index(
        "ix_payments_refund_pending",
        "payments",
        ["refund_requested_at"],
        postgresql_where=sa.text("refund_requested_at IS NOT NULL AND refunded_at IS NULL"),
    )
    create_bus_tables(op)


def downgrade() -> None:
    drop_bus_tables(op)
    op.drop_table("payments")
    op.drop_table("payment_attempts")
    op.drop_table("orders")
