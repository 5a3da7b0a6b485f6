"""thanks: a CM's personal thank-you for a submission, once

The Thank button on a decided review card sends the author one direct message; the
unique key on ``submission_id`` keeps it to one however many clicks (concurrent ones
included).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('thanks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['members.id'], name=op.f('fk_thanks_by_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_thanks_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thanks')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_thanks_submission_id'))
    )


def downgrade() -> None:
    op.drop_table('thanks')
