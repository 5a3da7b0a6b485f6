"""send leases: one sending replica per (platform, workspace)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 18:55:00.000000
"""

from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0016'
down_revision = '0015'
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


def downgrade() -> None:
    op.drop_table('send_leases')
