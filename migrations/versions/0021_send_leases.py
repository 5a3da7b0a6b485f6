"""send leases: one sending replica per (platform, workspace); the dispatchers running

Platform rate limits are per workspace (Slack) or tenant (Teams) and each replica paces
its own sends: the dispatcher holding a workspace's lease is the only one sending its
rows, so its pacers are the whole budget (see ``bot.outbox``). One row per (platform,
workspace) ever sent to, deleted with the workspace. ``send_dispatchers``: one row per
running dispatcher and platform, renewed by its claims, so that each takes its share.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 02:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('send_leases',
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('until', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_send_leases_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('platform', 'workspace_id', name=op.f('pk_send_leases'))
    )
    op.create_table('send_dispatchers',
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('until', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('platform', 'holder', name=op.f('pk_send_dispatchers'))
    )


def downgrade() -> None:
    op.drop_table('send_dispatchers')
    op.drop_table('send_leases')
