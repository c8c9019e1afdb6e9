"""one holding order per sale of a ticket: a resold ticket can be ordered again"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

ACTIVE = "status IN ('created', 'awaiting:payment', 'complete')"


def upgrade() -> None:
    op.add_column("tickets", sa.Column("sale", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("orders", sa.Column("sale", sa.Integer(), nullable=False, server_default="0"))
    op.drop_index("uq_orders_active_ticket", table_name="orders")
    op.create_index(
        "uq_orders_active_ticket_sale",
        "orders",
        ["ticket_id", "sale"],
        unique=True,
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    # Fails if a ticket has holding orders in two sales: one order per ticket cannot hold.
    op.drop_index("uq_orders_active_ticket_sale", table_name="orders")
    op.create_index(
        "uq_orders_active_ticket",
        "orders",
        ["ticket_id"],
        unique=True,
        postgresql_where=sa.text(ACTIVE),
    )
    op.drop_column("orders", "sale")
    op.drop_column("tickets", "sale")
