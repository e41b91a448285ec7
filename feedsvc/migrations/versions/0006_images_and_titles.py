"""Story images and page titles: each copy's picture, and the title each source's page gives itself.

Both are nullable: copies stored before this revision have no image until their page shows them again (a
copy seen again with a picture gets it), sources have no title until their next successful fetch.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("copies", sa.Column("image", sa.String(2048), nullable=True))
    op.add_column("sources", sa.Column("page_title", sa.String(200), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("feedsvc migrations go forward only")
