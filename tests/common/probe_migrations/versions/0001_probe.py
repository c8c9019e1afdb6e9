"""probe tables

Revision ID: 0001
Revises:
"""

from alembic import op

from tests.common.probe import metadata
from ticketing.common.bus.tables import create_bus_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())
    create_bus_tables(op)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
