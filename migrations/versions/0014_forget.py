"""forgetting a person: members.forgotten_at, and pseudonyms in the audit trail

``/relais forget`` (and ``relais forget <platform user id>``) deletes a person's data and
keeps their member row as a pseudonym (``forgotten:<random>``): what they decided and
what was decided about them stays in the trail, under that pseudonym. The audit trail is
append-only (0008's trigger); the one change it now accepts is that pseudonymisation:
``subject`` rewritten to a ``forgotten:`` value with every other column unchanged.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 18:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_PG_ONLY_PSEUDONYMS = (
    "CREATE OR REPLACE FUNCTION relais_audit_events_append_only() RETURNS trigger AS $$ "
    "BEGIN "
    "IF NEW.subject LIKE 'forgotten:%' AND NEW.id = OLD.id "
    "AND NEW.workspace_id = OLD.workspace_id "
    "AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.action = OLD.action "
    "AND NEW.detail::text = OLD.detail::text AND NEW.at = OLD.at THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql"
)
_PG_APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION relais_audit_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql"
)
_SQLITE_ONLY_PSEUDONYMS = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
    "WHEN NOT (NEW.subject LIKE 'forgotten:%' AND NEW.id = OLD.id "
    "AND NEW.workspace_id = OLD.workspace_id AND NEW.actor_id IS OLD.actor_id "
    "AND NEW.action = OLD.action AND NEW.detail = OLD.detail AND NEW.at = OLD.at) "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)
_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)


def upgrade() -> None:
    # Plain ALTER TABLE: a batch rebuild of members on SQLite would null what points at it.
    op.add_column('members', sa.Column('forgotten_at', storage.models.UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_ONLY_PSEUDONYMS)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only")
        op.execute(_SQLITE_ONLY_PSEUDONYMS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only")
        op.execute(_SQLITE_APPEND_ONLY)
    op.execute("ALTER TABLE members DROP COLUMN forgotten_at")
