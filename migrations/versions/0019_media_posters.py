"""media.poster_key: a video's poster frame (issue 15)

A submission's media can be a video (``mime`` video/mp4 or video/webm): its row keeps
the cleaned clip in ``storage_key`` and the JPEG taken from its first frame in
``poster_key``, which cards, digests and the library show. NULL for a photo.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 22:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('media', sa.Column('poster_key', sa.String(length=120), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE (SQLite 3.35+), as in 0012: rebuilding ``media`` on SQLite would
    # delete every submission_media row through ON DELETE CASCADE. The videos' rows stay
    # (a video is then shown by its file's key, without its poster).
    op.drop_column('media', 'poster_key')
