"""indexes for /relais stats

The CM's numbers read the twelve weeks they show: submissions created in them (any
status), the escalations of those weeks, and the submissions of the campaigns shown.
These indexes keep each read bounded by the window rather than by the history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:00:00.000000
"""

from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_workspace_id_created_at', ['workspace_id', 'created_at'], unique=False)
        batch_op.create_index('ix_submissions_campaign_id', ['campaign_id'], unique=False)
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.create_index('ix_review_events_to_status_at', ['to_status', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.drop_index('ix_review_events_to_status_at')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_campaign_id')
        batch_op.drop_index('ix_submissions_workspace_id_created_at')
