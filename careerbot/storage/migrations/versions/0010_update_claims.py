"""A webhook update is taken, then settled once handled: a copy redelivered after its taker died
is handled by the instance that gets it, instead of being skipped as already seen.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Who took each update, and whether it was handled (the updates already seen were)."""
    with op.batch_alter_table("updates_seen") as batch:
        batch.add_column(sa.Column("holder", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("done", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("updates_seen") as batch:
        batch.drop_column("done")
        batch.drop_column("holder")
