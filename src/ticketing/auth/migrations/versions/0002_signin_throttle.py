"""sign-in failures keyed by a fixed-size hash"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # A key was the email and address as text: an address of 380 characters overflowed it
    # and the failure went unrecorded. Rows in the window keep counting: their new key is
    # the hash throttle.digest computes of the same text.
    op.drop_index("ix_signin_failures_key_at", table_name="signin_failures")
    op.alter_column(
        "signin_failures",
        "key",
        type_=sa.LargeBinary(),
        postgresql_using="sha256(convert_to(key, 'UTF8'))",
    )
    op.create_index("ix_signin_failures_key_at", "signin_failures", ["key", "at"])
    # The models always said NOT NULL; a failure without a time would never leave the window.
    op.alter_column("signin_failures", "at", nullable=False)
    op.alter_column("users", "created_at", nullable=False)


def downgrade() -> None:
    op.alter_column("users", "created_at", nullable=True)
    op.alter_column("signin_failures", "at", nullable=True)
    # A hash cannot be turned back into its key; recent failures are forgotten.
    op.execute("DELETE FROM signin_failures")
    op.alter_column(
        "signin_failures", "key", type_=sa.String(400), postgresql_using="encode(key, 'hex')"
    )
