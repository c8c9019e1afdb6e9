"""resale: a ticket's sale count, cap and taken-down mark; known orders' buyers; known passes"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("tickets", sa.Column("sale", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("tickets", sa.Column("price_cap_cents", sa.Integer(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("taken_down", sa.Boolean(), nullable=False, server_default="false"),
    )
    op.create_check_constraint(op.f("ck_tickets_sale_counted"), "tickets", "sale >= 0")
    op.create_check_constraint(
        op.f("ck_tickets_price_capped"),
        "tickets",
        "price_cap_cents IS NULL OR price_cents <= price_cap_cents",
    )
    op.add_column("known_orders", sa.Column("user_id", sa.Uuid(), nullable=True))
    op.create_table(
        "known_passes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("known_passes")
    op.drop_column("known_orders", "user_id")
    op.drop_constraint(op.f("ck_tickets_price_capped"), "tickets", type_="check")
    op.drop_constraint(op.f("ck_tickets_sale_counted"), "tickets", type_="check")
    op.drop_column("tickets", "taken_down")
    op.drop_column("tickets", "price_cap_cents")
    op.drop_column("tickets", "sale")
