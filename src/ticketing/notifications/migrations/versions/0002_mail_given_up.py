"""a mail may be given up: refused for good, or not taken in days"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

STATUSES = "status IN ('pending', 'sent', 'failed')"
BEFORE = "status IN ('pending', 'sent')"


def upgrade() -> None:
    op.drop_constraint("ck_mails_status", "mails", type_="check")
    op.create_check_constraint("ck_mails_status", "mails", sa.text(STATUSES))


def downgrade() -> None:
    # A mail given up goes back to waiting: the sender of the older code tries it again.
    op.execute("UPDATE mails SET status = 'pending' WHERE status = 'failed'")
    op.drop_constraint("ck_mails_status", "mails", type_="check")
    op.create_check_constraint("ck_mails_status", "mails", sa.text(BEFORE))
