"""Questions and ratings carry a one-way tag of their user for 30 days, so /oublier can erase them.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the tags; a rating also names its message, so a user rates each answer once."""
    with op.batch_alter_table("unanswered") as batch:
        batch.add_column(sa.Column("tag", sa.String(32), nullable=True))
        batch.create_index("ix_unanswered_tag", ["tag"])
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("tag", sa.String(32), nullable=True))
        batch.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
        batch.create_index("uq_feedback_tag_message", ["tag", "message_id"], unique=True)


def downgrade() -> None:
    """Drop the tags."""
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("uq_feedback_tag_message")
        batch.drop_column("message_id")
        batch.drop_column("tag")
    with op.batch_alter_table("unanswered") as batch:
        batch.drop_index("ix_unanswered_tag")
        batch.drop_column("tag")
