"""timers, outbox and processed events"""

import sqlalchemy as sa
from alembic import op

from ticketing.common.bus.tables import create_bus_tables, drop_bus_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(
        "ix_timers_due", "timers", ["fire_at"], postgresql_where=sa.text("fired_at IS NULL")
    )
    op.create_index(
        "ix_timers_fired", "timers", ["fired_at"], postgresql_where=sa.text("fired_at IS NOT NULL")
    )
    create_bus_tables(op)


def downgrade() -> None:
    drop_bus_tables(op)
    op.drop_table("timers")
