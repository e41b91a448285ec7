"""A sequence on copies, so that every worker's dedup index catches up with what the others stored.

``seq`` numbers copies in the order their dedup decisions were made (decisions are serialised by an
advisory lock); ``changed`` is the sequence number of the last decision that changed the row (its cluster
or its fingerprint); ``new_cluster`` marks the copies that started a cluster, whose shingles the
boilerplate counts replay. Copies stored before this revision are numbered by first sight, and the stored
boilerplate counts are taken to include them all.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("copies", sa.Column("seq", sa.BigInteger, nullable=True))
    op.add_column("copies", sa.Column("changed", sa.BigInteger, nullable=True))
    op.add_column("copies", sa.Column("new_cluster", sa.Boolean, nullable=True))
    conn = op.get_bind()
    keys = conn.execute(sa.text("SELECT key FROM copies ORDER BY first_seen, key")).scalars().all()
    for number, key in enumerate(keys, start=1):
        conn.execute(
            sa.text("UPDATE copies SET seq = :n, changed = :n WHERE key = :key"), {"n": number, "key": key}
        )
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    conn.execute(sa.delete(meta).where(meta.c.key.in_(["copy_seq", "boilerplate_seq"])))
    op.bulk_insert(
        meta,
        [{"key": "copy_seq", "value": str(len(keys))}, {"key": "boilerplate_seq", "value": str(len(keys))}],
    )
    op.create_index("ix_copies_seq", "copies", ["seq"])
    op.create_index("ix_copies_changed", "copies", ["changed"])


def downgrade() -> None:
    raise NotImplementedError("feedsvc migrations go forward only")
