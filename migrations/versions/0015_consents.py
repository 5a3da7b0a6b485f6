"""consent of the people in a photo: consents, submissions.appears/internal_only/consent_withdrawn_at

The submission form asks who appears (nobody, colleagues named one by one, people
outside the company with the author's declaration of their written agreement); each
colleague named answers in a ``consents`` row. Existing submissions: where the old box
"everyone recognisable agreed" was ticked (``people_consented``), ``appears`` becomes
"outside" (a declared agreement, which the column keeps meaning); elsewhere it stays
NULL: not asked, and so not cleared for use outside the company.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE: a batch rebuild of submissions on SQLite would null what points
    # at it (cards, media links, points).
    op.add_column('submissions', sa.Column('appears', sa.String(length=16), nullable=True))
    op.add_column('submissions', sa.Column('internal_only', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('submissions', sa.Column('consent_withdrawn_at', storage.models.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE submissions SET appears = 'outside' WHERE people_consented")
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('asked_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_consents_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_consents_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
    sa.UniqueConstraint('submission_id', 'member_id', name=op.f('uq_consents_submission_id_member_id')),
    # Ids never reused on SQLite: a request's message is queued once per id.
    sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_consents_member_id'), 'consents', ['member_id'], unique=False)
    op.create_index(op.f('ix_consents_state_asked_at'), 'consents', ['state', 'asked_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_consents_state_asked_at'), table_name='consents')
    op.drop_index(op.f('ix_consents_member_id'), table_name='consents')
    op.drop_table('consents')
    for column in ('consent_withdrawn_at', 'internal_only', 'appears'):
        op.execute(f"ALTER TABLE submissions DROP COLUMN {column}")
