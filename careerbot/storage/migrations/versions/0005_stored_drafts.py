"""An organiser's announcement draft lives in its broadcast row, and so does its report message.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("owner_chat_id", "flow_step", "version", "everyone", "report_chat_id",
           "report_message_id")


def upgrade() -> None:
    """Add the draft's owner, step, version and audience choice, and the report's message."""
    op.add_column("broadcasts", sa.Column("owner_chat_id", sa.BigInteger(), nullable=True))
    op.add_column("broadcasts", sa.Column("flow_step", sa.String(16), nullable=True))
    op.add_column("broadcasts", sa.Column("version", sa.Integer(), nullable=False,
                                          server_default="0"))
    op.add_column("broadcasts", sa.Column("everyone", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.add_column("broadcasts", sa.Column("report_chat_id", sa.BigInteger(), nullable=True))
    op.add_column("broadcasts", sa.Column("report_message_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_broadcasts_owner_chat_id", "broadcasts", ["owner_chat_id"])
    # Until now an announcement without topics went to everyone: say so explicitly.
    broadcasts = sa.table("broadcasts", sa.column("kind", sa.String()),
                          sa.column("topics", sa.String()), sa.column("everyone", sa.Boolean()))
    op.execute(broadcasts.update()
               .where(broadcasts.c.kind == "announce", broadcasts.c.topics == "")
               .values(everyone=True))


def downgrade() -> None:
    """Drop them (drafts in progress are lost)."""
    op.drop_index("ix_broadcasts_owner_chat_id", "broadcasts")
    with op.batch_alter_table("broadcasts") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
