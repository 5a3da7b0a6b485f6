"""slack_uploads remembers each step of an upload

A Slack photo upload is three calls (files.getUploadURLExternal, the bytes, then
files.completeUploadExternal). Recording each one as it succeeds lets a crashed or
retried review card resume the upload instead of uploading the photo again. Rows
written before this revision were complete uploads.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('slack_uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=16), server_default='complete', nullable=False))
        batch_op.add_column(sa.Column('upload_url', sa.Text(), nullable=True))


def downgrade() -> None:
    # Unfinished uploads cannot be represented without the state: forget them.
    op.execute("DELETE FROM slack_uploads WHERE state != 'complete'")
    with op.batch_alter_table('slack_uploads', schema=None) as batch_op:
        batch_op.drop_column('upload_url')
        batch_op.drop_column('state')
