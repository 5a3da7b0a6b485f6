"""badges: personal milestones, once per member

A member's badges (first approved photo, 10 and 50 approved, first campaign, three
sites), each awarded once in the transaction of the approval that earned it
(``submission_id``), from the facts in the database.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('badges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('badge', sa.String(length=32), nullable=False),
    sa.Column('awarded_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_badges_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_badges_submission_id_submissions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_badges')),
    sa.UniqueConstraint('member_id', 'badge', name=op.f('uq_badges_member_id_badge'))
    )


def downgrade() -> None:
    op.drop_table('badges')
