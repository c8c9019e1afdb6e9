"""passes, doors, and the bus tables"""

import sqlalchemy as sa
from alembic import op

from ticketing.common.bus.tables import create_bus_tables, drop_bus_tables

revision = "0001"
down_revision = None

VALID = "status = 'valid'"
STATUSES = "status IN ('valid', 'used', 'revoked')"


def upgrade() -> None:
    op.create_table(
        "passes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("listed_price_cents", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("order_id", name="uq_passes_order_id"),
        sa.UniqueConstraint("code_hash", name="uq_passes_code_hash"),
        sa.CheckConstraint(sa.text(STATUSES), name="ck_passes_status"),
    )
    op.create_index(
        "uq_passes_valid_ticket",
        "passes",
        ["ticket_id"],
        unique=True,
        postgresql_where=sa.text(VALID),
    )
    op.create_index("ix_passes_ticket_id", "passes", ["ticket_id"])
    op.create_index(
        "ix_passes_user_newest",
        "passes",
        ["user_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.create_table(
        "doors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_doors_token_hash"),
    )
    create_bus_tables(op)


def downgrade() -> None:
    drop_bus_tables(op)
    op.drop_table("doors")
    op.drop_table("passes")
