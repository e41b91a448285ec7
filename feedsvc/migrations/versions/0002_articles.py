"""The full-text cache: one row per article URL a card linked to (feedsvc.fulltext).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "articles",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.String(100_000), nullable=True),
        sa.Column("etag", sa.String(512), nullable=True),
        sa.Column("last_modified", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("checked", tz, nullable=False),
        sa.Column("next_check", tz, nullable=True),
    )
    op.create_index("ix_articles_checked", "articles", ["checked"])


def downgrade() -> None:
    raise NotImplementedError("feedsvc migrations go forward only")
