"""site_digests: a site's own weekly digest channel

``/relais config site_digest <site> #channel`` gives a site its local digest (what its
people had approved that week), posted by the same claimed rounds as the workspace's.
One row per site (its primary key), deleted with the site.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 22:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('site_digests',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=200), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by_id'], ['members.id'], name=op.f('fk_site_digests_set_by_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_digests_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_site_digests_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_digests'))
    )
    op.create_index(op.f('ix_site_digests_workspace_id'), 'site_digests', ['workspace_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_site_digests_workspace_id'), table_name='site_digests')
    op.drop_table('site_digests')
