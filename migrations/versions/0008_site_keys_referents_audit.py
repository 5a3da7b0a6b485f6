"""sites are unique ignoring case, accents and spaces; site referents; audit_events;
campaigns.hashtag and closed_at

Until this revision a site was whatever was typed at join, so " lyon " and "Lyon" were
two sites. Each site gets a ``key`` (domain.site_key: case, accents and surrounding or
repeated spaces do not count), unique per workspace. Sites whose keys collide are
folded into the oldest one (members, submissions and campaigns move to it) and the
migration prints what it merged. ``site_referents`` names the referents of a site;
``audit_events`` records role and site changes, append-only like review_events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 15:00:00.000000
"""

import unicodedata

from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _key(name: str) -> str:
    # domain.site_key as of this revision (a migration keeps its own copy).
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def upgrade() -> None:
    # Plain ALTER TABLE and CREATE INDEX: on SQLite, rebuilding ``sites`` (what a batch
    # operation that changes a constraint does) would set every member's and
    # submission's site to NULL through the foreign keys' ON DELETE SET NULL.
    op.add_column('sites', sa.Column('key', sa.String(length=120), server_default='', nullable=False))
    _fold_sites()
    op.create_index(op.f('ix_sites_workspace_id_key'), 'sites', ['workspace_id', 'key'], unique=True)
    op.add_column('campaigns', sa.Column('hashtag', sa.String(length=60), nullable=True))
    op.add_column('campaigns', sa.Column('closed_at', storage.models.UTCDateTime(timezone=True), nullable=True))

    op.create_table('site_referents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['granted_by_id'], ['members.id'], name=op.f('fk_site_referents_granted_by_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_site_referents_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_referents_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_referents')),
    sa.UniqueConstraint('site_id', 'member_id', name=op.f('uq_site_referents_site_id_member_id'))
    )
    with op.batch_alter_table('site_referents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_referents_member_id'), ['member_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['members.id'], name=op.f('fk_audit_events_actor_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_audit_events_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_workspace_id_at'), ['workspace_id', 'at'], unique=False)
    _append_only_audit()


def _fold_sites() -> None:
    """Give every site its key; fold the sites of a workspace that share a key into the
    oldest (lowest id), moving what pointed at the others, and print each merge."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, workspace_id, name FROM sites ORDER BY id")).all()
    keepers: dict[tuple[int, str], tuple[int, str]] = {}
    for site_id, workspace_id, name in rows:
        keeper = keepers.setdefault((workspace_id, _key(name)), (site_id, name))
        if keeper[0] == site_id:
            continue
        moved = {"keeper": keeper[0], "folded": site_id}
        for table in ("members", "submissions", "campaigns"):
            bind.execute(
                sa.text(f"UPDATE {table} SET site_id = :keeper WHERE site_id = :folded"), moved
            )
        bind.execute(sa.text("DELETE FROM sites WHERE id = :folded"), moved)
        print(
            f"relais migration 0007: workspace {workspace_id}: site {name!r} (#{site_id}) "
            f"merged into {keeper[1]!r} (#{keeper[0]})"
        )
    # Names lose their surrounding and repeated spaces once the duplicates are gone.
    for (_, key), (site_id, name) in keepers.items():
        bind.execute(
            sa.text("UPDATE sites SET key = :key, name = :name WHERE id = :id"),
            {"key": key, "name": " ".join(name.split()), "id": site_id},
        )


def _append_only_audit() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION relais_audit_events_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION relais_audit_events_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS relais_audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_workspace_id_at'))
    op.drop_table('audit_events')
    with op.batch_alter_table('site_referents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_referents_member_id'))
    op.drop_table('site_referents')
    # Folded sites stay folded.
    op.drop_index(op.f('ix_sites_workspace_id_key'), table_name='sites')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ too): a batch rebuild of campaigns
    # or sites would null what points at them (see upgrade).
    for table, column in (('campaigns', 'closed_at'), ('campaigns', 'hashtag'), ('sites', 'key')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
