"""Several instances share one state: updates seen, the sender's lease, live instances, flood
control, operators' requests (reload the FAQ), and which unanswered questions went to the
organisers.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the tables that let any instance handle any update, and one of them send."""
    op.create_table("updates_seen",
                    sa.Column("update_id", sa.BigInteger(), primary_key=True,
                              autoincrement=False),
                    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, index=True))
    op.create_table("leases",
                    sa.Column("name", sa.String(32), primary_key=True),
                    sa.Column("holder", sa.String(64), nullable=False),
                    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False))
    op.create_table("instances",
                    sa.Column("id", sa.String(64), primary_key=True),
                    sa.Column("role", sa.String(16), nullable=False),
                    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("sends", sa.Float(), nullable=False, server_default="0"))
    op.create_table("buckets",
                    sa.Column("key", sa.String(40), primary_key=True),
                    sa.Column("tokens", sa.Float(), nullable=False),
                    sa.Column("stamp", sa.Float(), nullable=False, index=True),
                    sa.Column("warned", sa.Boolean(), nullable=False,
                              server_default=sa.false()))
    op.create_table("requests",
                    sa.Column("name", sa.String(32), primary_key=True),
                    sa.Column("at", sa.DateTime(timezone=True), nullable=False))
    op.add_column("unanswered", sa.Column("forwarded_at", sa.DateTime(timezone=True),
                                          nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("unanswered") as batch:
        batch.drop_column("forwarded_at")
    for table in ("requests", "buckets", "instances", "leases", "updates_seen"):
        op.drop_table(table)
