"""data_exports, and review reasons that forgetting may rewrite

Forgetting a person deletes the files that hold their name or id (their own mydata
files, the CSV exports that name them): ``data_exports`` lists those files. And it
rewrites their name out of what reviewers wrote: ``review_events`` stays append-only,
except that ``reason`` (only) may change inside a transaction that holds a row of
``forget_marks`` (the forget inserts one and deletes it before committing, so no
other transaction ever sees it: an UPDATE anywhere else is still refused).

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-30 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


_PG_REASON_ONLY = (
    "CREATE OR REPLACE FUNCTION relais_review_events_append_only() RETURNS trigger AS $$ "
    "BEGIN "
    "IF EXISTS (SELECT 1 FROM forget_marks) "
    "AND NEW.id = OLD.id AND NEW.submission_id = OLD.submission_id "
    "AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.action = OLD.action "
    "AND NEW.from_status IS NOT DISTINCT FROM OLD.from_status "
    "AND NEW.to_status = OLD.to_status AND NEW.at = OLD.at THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'review_events is append-only'; END; $$ LANGUAGE plpgsql"
)
_PG_APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION relais_review_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'review_events is append-only'; END; $$ LANGUAGE plpgsql"
)
_SQLITE_REASON_ONLY = (
    "CREATE TRIGGER review_events_append_only BEFORE UPDATE ON review_events "
    "WHEN NOT (EXISTS (SELECT 1 FROM forget_marks) "
    "AND NEW.id = OLD.id AND NEW.submission_id = OLD.submission_id "
    "AND NEW.actor_id IS OLD.actor_id AND NEW.action = OLD.action "
    "AND NEW.from_status IS OLD.from_status AND NEW.to_status = OLD.to_status "
    "AND NEW.at = OLD.at) "
    "BEGIN SELECT RAISE(ABORT, 'review_events is append-only'); END"
)
_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER review_events_append_only BEFORE UPDATE ON review_events "
    "BEGIN SELECT RAISE(ABORT, 'review_events is append-only'); END"
)


def _trigger(postgresql: str, sqlite: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(postgresql)
    else:
        op.execute("DROP TRIGGER IF EXISTS review_events_append_only")
        op.execute(sqlite)


def upgrade() -> None:
    op.create_table('forget_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forget_marks'))
    )
    _trigger(_PG_REASON_ONLY, _SQLITE_REASON_ONLY)
    op.create_table('data_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('media_key', sa.String(length=120), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_data_exports_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_data_exports_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_exports'))
    )
    with op.batch_alter_table('data_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_exports_workspace_id_created_at'), ['workspace_id', 'created_at'], unique=False)


def downgrade() -> None:
    _trigger(_PG_APPEND_ONLY, _SQLITE_APPEND_ONLY)
    op.drop_table('forget_marks')
    with op.batch_alter_table('data_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_exports_workspace_id_created_at'))
    op.drop_table('data_exports')
