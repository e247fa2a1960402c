"""Anonymous figures for /stats and the weekly digest: messages per day and outcome (counts
only), daily snapshots of subscribers per topic and region, and which weekly digests went out.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the three tables."""
    op.create_table("daily_counts",
                    sa.Column("day", sa.Date(), primary_key=True),
                    sa.Column("outcome", sa.String(16), primary_key=True),
                    sa.Column("entry_id", sa.String(64), primary_key=True),
                    sa.Column("count", sa.Integer(), nullable=False, server_default="0"))
    op.create_table("subscriber_counts",
                    sa.Column("day", sa.Date(), primary_key=True),
                    sa.Column("kind", sa.String(8), primary_key=True),
                    sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("count", sa.Integer(), nullable=False))
    op.create_table("digests",
                    sa.Column("week", sa.String(10), primary_key=True),
                    sa.Column("state", sa.String(8), nullable=False),
                    sa.Column("step", sa.Integer(), nullable=False, server_default="0"),
                    sa.Column("holder", sa.String(64), nullable=False),
                    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop them."""
    for table in ("digests", "subscriber_counts", "daily_counts"):
        op.drop_table(table)
