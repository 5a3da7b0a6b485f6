"""campaign_sites: a campaign is for a chosen set of sites (none: every site)

Until this revision a campaign was for one site (``campaigns.site_id``) or every site
(NULL). Each ``campaigns.site_id`` becomes one ``campaign_sites`` row and the column is
dropped.

On SQLite the column is part of a table-level FOREIGN KEY, which ``ALTER TABLE ... DROP
COLUMN`` refuses, so ``campaigns`` is rebuilt (a batch operation). Dropping the old
table runs ON DELETE SET NULL on ``submissions.campaign_id`` (the migration runs in one
transaction with foreign keys on, where ``PRAGMA foreign_keys=OFF`` does nothing): the
submissions' campaigns are kept aside and put back after the rebuild, and
``campaign_sites`` is created only then (its ON DELETE CASCADE would empty it).

Downgrade: a campaign for one site gets it back in ``site_id``; a campaign for several
sites becomes a campaign for every site (the old schema cannot say "these sites"; no
ambassador it was for loses it), and the migration prints each one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 18:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    targets = bind.execute(
        sa.text("SELECT id, site_id FROM campaigns WHERE site_id IS NOT NULL ORDER BY id")
    ).all()
    if bind.dialect.name == 'sqlite':
        _rebuild_campaigns_without_site()
    else:
        op.drop_constraint('fk_campaigns_site_id_sites', 'campaigns', type_='foreignkey')
        op.drop_column('campaigns', 'site_id')
    op.create_table('campaign_sites',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_sites_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_campaign_sites_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'site_id', name=op.f('pk_campaign_sites'))
    )
    with op.batch_alter_table('campaign_sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_sites_site_id'), ['site_id'], unique=False)
    if targets:
        bind.execute(
            sa.text("INSERT INTO campaign_sites (campaign_id, site_id) VALUES (:c, :s)"),
            [{"c": c, "s": s} for c, s in targets],
        )


def _rebuild_campaigns_without_site() -> None:
    bind = op.get_bind()
    bind.execute(sa.text(
        "CREATE TEMPORARY TABLE relais_0009_kept (id INTEGER PRIMARY KEY, campaign_id INTEGER)"
    ))
    bind.execute(sa.text(
        "INSERT INTO relais_0009_kept (id, campaign_id)"
        " SELECT id, campaign_id FROM submissions WHERE campaign_id IS NOT NULL"
    ))
    with op.batch_alter_table('campaigns', schema=None, recreate='always') as batch_op:
        batch_op.drop_column('site_id')
    bind.execute(sa.text(
        "UPDATE submissions SET campaign_id ="
        " (SELECT k.campaign_id FROM relais_0009_kept k WHERE k.id = submissions.id)"
        " WHERE id IN (SELECT id FROM relais_0009_kept)"
    ))
    bind.execute(sa.text("DROP TABLE relais_0009_kept"))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, c.title, COUNT(*), MIN(t.site_id) FROM campaigns c"
        " JOIN campaign_sites t ON t.campaign_id = c.id GROUP BY c.id, c.title ORDER BY c.id"
    )).all()
    with op.batch_alter_table('campaign_sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_sites_site_id'))
    op.drop_table('campaign_sites')
    if bind.dialect.name == 'sqlite':
        # Plain ALTER TABLE (a column-level REFERENCES is allowed there): a rebuild of
        # campaigns would null the submissions' campaigns (see the module docstring).
        op.execute(
            "ALTER TABLE campaigns ADD COLUMN site_id INTEGER"
            " REFERENCES sites (id) ON DELETE SET NULL"
        )
    else:
        op.add_column('campaigns', sa.Column('site_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            'fk_campaigns_site_id_sites', 'campaigns', 'sites', ['site_id'], ['id'],
            ondelete='SET NULL',
        )
    for campaign_id, title, count, site_id in rows:
        if count == 1:
            bind.execute(
                sa.text("UPDATE campaigns SET site_id = :s WHERE id = :c"),
                {"s": site_id, "c": campaign_id},
            )
        else:
            print(
                f"relais migration 0009 downgrade: campaign {title!r} (#{campaign_id}) was "
                f"for {count} sites: it is now for every site"
            )
