"""submissions.title and submissions.link: field news without a photo

A submission without a photo is field news: a title and a text (the caption), with an
optional link (http/https). A photo submission may carry a title and a link too. Both
columns are nullable: existing rows keep NULL (no title, no link).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 22:20:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('submissions', sa.Column('title', sa.Text(), nullable=True))
    op.add_column('submissions', sa.Column('link', sa.Text(), nullable=True))


def downgrade() -> None:
    # A news item has no photo: going back to a schema where every submission is a
    # photo keeps the rows (their text is in the caption), without title and link.
    # Plain ALTER TABLE (SQLite 3.35+), as in 0012: rebuilding ``submissions`` on SQLite
    # would delete its submission_media, review_events and consents rows through
    # ON DELETE CASCADE.
    op.drop_column('submissions', 'link')
    op.drop_column('submissions', 'title')
