"""Baseline: the schema of feedsvc 0.1 (the first release), and adoption of databases made before migrations.

A fresh database gets every table. A database made by an earlier build (tables present, no alembic_version)
keeps its rows: missing tables are created, missing columns added (builds before the stored signatures
lacked copies.body_sig and copies.lead_sig) and dead ones dropped, so it opens as a 0.1 database.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> dict[str, list[sa.Column[object] | sa.Index]]:
    tz = sa.DateTime(timezone=True)
    return {
        "meta": [
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        ],
        "blobs": [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
        ],
        "clusters": [
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("created", tz, nullable=False),
            sa.Column("updated", tz, nullable=False),
            sa.Column("published", tz, nullable=False),
            sa.Column("canonical_key", sa.String(64), nullable=False),
            sa.Column("content_hash", sa.String(64), nullable=False),
            sa.Column("merged_into", sa.String(40), nullable=True),
        ],
        "copies": [
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("cluster_id", sa.String(40), sa.ForeignKey("clusters.id"), nullable=False),
            sa.Column("source", sa.String(64), nullable=True),
            sa.Column("outlet", sa.String(200), nullable=True),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("url", sa.Text, nullable=True),
            sa.Column("published", tz, nullable=True),
            sa.Column("category", sa.String(200), nullable=True),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("first_seen", tz, nullable=False),
            sa.Column("last_seen", tz, nullable=False),
            sa.Column("shingles", sa.LargeBinary, nullable=False),
            sa.Column("lead", sa.LargeBinary, nullable=False),
            sa.Column("body_sig", sa.LargeBinary, nullable=True),
            sa.Column("lead_sig", sa.LargeBinary, nullable=True),
        ],
        "sources": [
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("last_fetch", tz, nullable=True),
            sa.Column("last_success", tz, nullable=True),
            sa.Column("last_error", sa.Text, nullable=True),
            sa.Column("etag", sa.Text, nullable=True),
            sa.Column("last_modified", sa.Text, nullable=True),
            sa.Column("stories", sa.Integer, nullable=False, server_default="0"),
            sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
            sa.Column("next_run", tz, nullable=True),
            sa.Column("backoff_until", tz, nullable=True),
        ],
    }


# Columns of builds before 0.1 that 0.1 no longer has (never filled: dropping them loses nothing).
_DEAD_COLUMNS = {"copies": {"published_text"}}
_INDEXES = {
    "clusters": [("ix_clusters_published", ["published"])],
    "copies": [("ix_copies_cluster_id", ["cluster_id"])],
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for name, columns in _tables().items():
        if name not in existing:
            op.create_table(name, *columns)
        else:
            have = {c["name"] for c in inspector.get_columns(name)}
            missing = [c for c in columns if isinstance(c, sa.Column) and c.name not in have]
            dead = sorted(have & _DEAD_COLUMNS.get(name, set()))
            if missing or dead:
                with op.batch_alter_table(name) as batch:
                    for column in missing:
                        batch.add_column(sa.Column(column.name, column.type, nullable=True))
                    for column_name in dead:
                        batch.drop_column(column_name)
        indexes = {i["name"] for i in inspector.get_indexes(name)} if name in existing else set()
        for index_name, cols in _INDEXES.get(name, []):
            if index_name not in indexes:
                op.create_index(index_name, name, cols)


def downgrade() -> None:
    raise NotImplementedError("feedsvc migrations go forward only")
