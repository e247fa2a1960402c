"""Several announcements may concern one event; only its reminder must stay unique.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

REMINDERS_ONLY = sa.text("kind = 'reminder'")


def upgrade() -> None:
    """Replace the (kind, event_id) constraint by a unique index on reminders' event_id."""
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_constraint("uq_broadcast_kind_event", type_="unique")
    op.create_index("uq_reminder_event", "broadcasts", ["event_id"], unique=True,
                    sqlite_where=REMINDERS_ONLY, postgresql_where=REMINDERS_ONLY)


def downgrade() -> None:
    """Back to one broadcast per (kind, event)."""
    op.drop_index("uq_reminder_event", "broadcasts")
    with op.batch_alter_table("broadcasts") as batch:
        batch.create_unique_constraint("uq_broadcast_kind_event", ["kind", "event_id"])
