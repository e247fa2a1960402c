"""Events organisers add from Telegram, and their drafts.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the events table (merged with faq/events.yaml) and the organisers' event drafts."""
    op.create_table("events",
                    sa.Column("number", sa.Integer(), primary_key=True),
                    sa.Column("id", sa.String(64), nullable=False, unique=True),
                    sa.Column("title", sa.String(100), nullable=False),
                    sa.Column("start", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("end", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("place", sa.String(200), nullable=False),
                    sa.Column("region", sa.String(32), nullable=False),
                    sa.Column("url", sa.String(512), nullable=False),
                    sa.Column("description", sa.Text(), nullable=False),
                    sa.Column("tags", sa.String(512), nullable=False, server_default=""),
                    sa.Column("state", sa.String(16), nullable=False, server_default="live",
                              index=True),
                    sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
                    sa.Column("created_by", sa.BigInteger(), nullable=True),
                    sa.Column("draft_id", sa.Integer(), nullable=True, unique=True),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False))
    op.create_table("event_drafts",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("owner_chat_id", sa.BigInteger(), nullable=False, index=True),
                    sa.Column("flow_step", sa.String(16), nullable=False),
                    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
                    sa.Column("target", sa.String(64), nullable=True),
                    sa.Column("title", sa.String(100), nullable=False, server_default=""),
                    sa.Column("start", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("end", sa.DateTime(timezone=True), nullable=True),
                    sa.Column("place", sa.String(200), nullable=False, server_default=""),
                    sa.Column("region", sa.String(32), nullable=False, server_default=""),
                    sa.Column("url", sa.String(512), nullable=False, server_default=""),
                    sa.Column("description", sa.Text(), nullable=False, server_default=""),
                    sa.Column("tags", sa.String(512), nullable=False, server_default=""),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    """Drop them (events added from Telegram are lost: export them first)."""
    op.drop_table("event_drafts")
    op.drop_table("events")
