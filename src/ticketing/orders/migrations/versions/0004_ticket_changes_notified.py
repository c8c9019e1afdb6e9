"""a change that may free a ticket is announced on commit: replicas keep taken listings in
memory (orders/taken.py) and forget one as they hear"""

from alembic import op

revision = "0004"
down_revision = "0003"

# Kept in step with orders/taken.py's CHANNEL.
CHANNEL = "orders_ticket_changed"

# What a refusal's answer depends on: whether an order holds the sale, and the listing's
# seller and withdrawal (a title or a version moving on changes no refusal).
CHANGES = {
    "orders": ("ticket_id", ("status", "ticket_id", "sale")),
    "tickets": ("id", ("sale", "user_id", "withdrawn")),
}


def upgrade() -> None:
    for table, (ticket, columns) in CHANGES.items():
        op.execute(
            f"""
            CREATE FUNCTION announce_{table}_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('{CHANNEL}', OLD.{ticket}::text);
                RETURN NULL;
            END $$
            """
        )
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION announce_{table}_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_deleted AFTER DELETE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION announce_{table}_change()"
        )


def downgrade() -> None:
    for table in CHANGES:
        op.execute(f"DROP TRIGGER {table}_deleted ON {table}")
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
        op.execute(f"DROP FUNCTION announce_{table}_change()")
