"""stripe events recorded once; attempts awaiting 3-D Secure, and the intent they name"""

import sqlalchemy as sa
from alembic import op

revision = "0003_webhooks"
down_revision = "0002_ledger"

OLD_STATUSES = "('in_flight', 'succeeded', 'failed')"
NEW_STATUSES = "('in_flight', 'succeeded', 'failed', 'requires_action')"
OLD_CLAIMING = "('in_flight', 'succeeded')"
NEW_CLAIMING = "('in_flight', 'succeeded', 'requires_action')"


def _statuses(statuses: str, claiming: str) -> None:
    op.drop_constraint("ck_payment_attempts_status", "payment_attempts", type_="check")
    op.create_check_constraint(
        "ck_payment_attempts_status", "payment_attempts", f"status IN {statuses}"
    )
    # The claim (guarantee 6) now also held by an attempt awaiting authentication.
    op.drop_index("uq_payment_attempts_claim", "payment_attempts")
    op.create_index(
        "uq_payment_attempts_claim",
        "payment_attempts",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text(f"status IN {claiming}"),
    )


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column("payment_attempts", sa.Column("provider_id", sa.String(255)))
    op.create_index(
        "uq_payment_attempts_provider_id", "payment_attempts", ["provider_id"], unique=True
    )
    op.create_index("ix_payments_provider_id", "payments", ["provider_id"])
    _statuses(NEW_STATUSES, NEW_CLAIMING)


def downgrade() -> None:
    op.execute("UPDATE payment_attempts SET status = 'failed' WHERE status = 'requires_action'")
    _statuses(OLD_STATUSES, OLD_CLAIMING)
    op.drop_index("ix_payments_provider_id", "payments")
    op.drop_index("uq_payment_attempts_provider_id", "payment_attempts")
    op.drop_column("payment_attempts", "provider_id")
    op.drop_table("stripe_events")
