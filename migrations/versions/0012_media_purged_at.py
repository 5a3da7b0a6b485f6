"""media.purged_at (the photo's file was deleted by the retention round), and the indexes
the round reads by: media.storage_key, submission_media.media_id

The row stays (the submission, its review history and audit trail keep pointing at it);
only the file is gone. Cards and views no longer show a purged photo.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 18:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('media', sa.Column('purged_at', storage.models.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_media_storage_key', 'media', ['storage_key'], unique=False)
    op.create_index('ix_submission_media_media_id', 'submission_media', ['media_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_submission_media_media_id', table_name='submission_media')
    op.drop_index('ix_media_storage_key', table_name='media')
    # A plain ALTER TABLE (SQLite 3.35+): rebuilding ``media`` on SQLite would delete every
    # submission_media row through ON DELETE CASCADE.
    op.drop_column('media', 'purged_at')
