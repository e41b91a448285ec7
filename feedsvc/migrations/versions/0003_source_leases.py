"""The schedule in the sources table: who holds a source's lease, and until when (several workers claim
due sources with SELECT ... FOR UPDATE SKIP LOCKED; a killed worker's lease expires).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("lease_owner", sa.String(64), nullable=True))
    op.add_column("sources", sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_sources_next_run", "sources", ["next_run"])


def downgrade() -> None:
    raise NotImplementedError("feedsvc migrations go forward only")
