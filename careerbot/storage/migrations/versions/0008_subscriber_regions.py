"""Events near me: the regions a subscriber follows, and the region a broadcast is limited to.

A subscriber with no region rows gets everything, as every subscriber did before this revision;
a broadcast with no region reaches every region, as every broadcast did.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the subscribers' regions and the broadcasts' region filter (both empty)."""
    op.create_table(
        "subscriber_regions",
        sa.Column("chat_id", sa.BigInteger(),
                  sa.ForeignKey("subscribers.chat_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
    )
    op.add_column("broadcasts", sa.Column("region", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop them (subscribers with regions get everything again)."""
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("region")
    op.drop_table("subscriber_regions")
