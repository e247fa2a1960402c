"""Anonymous records for maintainers: unanswered questions and answer ratings.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the unanswered and feedback tables (no user identity in either)."""
    op.create_table(
        "unanswered",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feedback_entry_id", "feedback", ["entry_id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_feedback_entry_id", "feedback")
    op.drop_table("feedback")
    op.drop_table("unanswered")
