"""personal preferences: leaderboard by name, badges in the channel

``/relais config me``: a member can keep their name off the leaderboard (they are still
counted) and choose whether their badges are announced in the ambassadors' channel
(never without their agreement: off by default).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 18:30:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE: a batch rebuild of members on SQLite would null what points at it.
    op.add_column('members', sa.Column('leaderboard_hidden', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('members', sa.Column('badges_public', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for column in ('badges_public', 'leaderboard_hidden'):
        op.execute(f"ALTER TABLE members DROP COLUMN {column}")
