"""orders keep the price they were placed at"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("orders", sa.Column("price_cents", sa.Integer(), nullable=True))
    # Orders placed before this: their ticket's price now is the best there is.
    op.execute(
        "UPDATE orders SET price_cents = tickets.price_cents "
        "FROM tickets WHERE tickets.id = orders.ticket_id"
    )
    op.alter_column("orders", "price_cents", nullable=False)


def downgrade() -> None:
    op.drop_column("orders", "price_cents")
