"""sellers' ledger (append-only, balanced at commit), payout accounts, payouts"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger"
down_revision = "0001"


def _stamp(name: str, nullable: bool = False) -> "sa.Column[datetime]":
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


# Checked at commit, not per statement: a transaction's entries are inserted one statement
# at a time, and only all of them together balance.
BALANCED = (
    """
CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM ledger_entries
        WHERE transaction_id = NEW.transaction_id
        GROUP BY currency
        HAVING sum(amount_cents) <> 0
    ) THEN
        RAISE EXCEPTION 'ledger transaction % does not balance', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE CONSTRAINT TRIGGER ledger_entries_balanced
    AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced()
""",
)

# Append-only: a posted fact is undone by a reversing transaction, never edited away.
APPEND_ONLY = (
    """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$
""",
    *(
        f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
"""
        for table in ("ledger_transactions", "ledger_entries")
    ),
)


def upgrade() -> None:
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        _stamp("created_at"),
        sa.Column("order_id", sa.Uuid()),
        sa.Column("user_id", sa.Uuid()),
        sa.UniqueConstraint("key", name="uq_ledger_transactions_key"),
        sa.CheckConstraint(
            "kind IN ('sale', 'release', 'reversal', 'payout', 'payout-failed')",
            name="ck_ledger_transactions_kind",
        ),
    )
    op.create_index(
        "ix_ledger_transactions_kind_created_at", "ledger_transactions", ["kind", "created_at"]
    )
    op.create_index("ix_ledger_transactions_order_id", "ledger_transactions", ["order_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "transaction_id",
            sa.Uuid(),
            sa.ForeignKey(
                "ledger_transactions.id",
                name="fk_ledger_entries_transaction_id_ledger_transactions",
            ),
            nullable=False,
        ),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    op.create_index("ix_ledger_entries_transaction_id", "ledger_entries", ["transaction_id"])
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account"])
    for statement in (*BALANCED, *APPEND_ONLY):  # one per call: asyncpg prepares each
        op.execute(statement)
    op.create_table(
        "payout_accounts",
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("account_id", sa.String(80), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("account_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _stamp("created_at"),
        _stamp("sent_at", nullable=True),
        sa.Column("provider_id", sa.String(255)),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_payouts_status"),
    )
    op.create_index("ix_payouts_user_id", "payouts", ["user_id"])
    op.create_index(
        "ix_payouts_pending",
        "payouts",
        ["created_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("payouts")
    op.drop_table("payout_accounts")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transactions")
    op.execute("DROP FUNCTION ledger_append_only()")
    op.execute("DROP FUNCTION ledger_transaction_balanced()")
