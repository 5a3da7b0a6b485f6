"""Campaigns for a chosen set of sites (none: every site): who is offered them, site
merge, and the migration that turned ``campaigns.site_id`` into ``campaign_sites``
(SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bot.actions import handle_action, handle_command
from bot.core import Core
from domain import MemberView, StatsView
from storage.db import Database, alembic_config, upgrade
from storage.models import AuditEvent, CampaignSite
from tests.support import FakeClock, ambassador, count_rows, member, photo, text_of

# Monday 30 November 2026, 10:00 in Paris.
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def new_campaign(core: Core, cm: MemberView, title: str, sites: str, ends: str) -> Any:
    """``campaign new`` filled in as a form sends it: ``sites`` is site ids and commas."""
    form = (await handle_command(core, cm, "/relais", "campaign new")).form
    assert form is not None
    values = {"title": title, "brief": "", "ends_on": ends, "sites": sites}
    return await handle_action(core, cm, form.action, form.value, values)


async def offered(core: Core, who: MemberView) -> list[str]:
    return [title for _, title in (await core.submissions.form_choices(who))[1]]


async def say(core: Core, who: MemberView, line: str) -> str:
    reply = await handle_command(core, who, "/relais", line)
    assert reply.message is not None and not reply.failed, reply
    return text_of(reply.message)


async def test_a_campaign_for_two_sites_is_offered_to_their_ambassadors_only(
    core: Core, clock: FakeClock
) -> None:
    clock.now = MONDAY
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    cleo = await ambassador(core, "cleo", "Cleo", site="Paris")
    dan = await ambassador(core, "dan", "Dan", site=None)
    made = await new_campaign(core, cm, "Harbour", f"{bo.site_id}, {ana.site_id}", "2026-12-04")
    assert not made.failed, made
    assert "created, Nov 30, 2026 to Dec 4, 2026, for Lyon, Nantes." in text_of(made.message)
    assert not (await new_campaign(core, cm, "Everyone", "", "2026-12-11")).failed
    # Ending soonest first; Paris and an ambassador without a site get the other only.
    assert await offered(core, ana) == await offered(core, bo) == ["Harbour", "Everyone"]
    assert await offered(core, cleo) == await offered(core, dan) == ["Everyone"]
    harbour = next(
        i for i, title in (await core.submissions.form_choices(ana))[1] if title == "Harbour"
    )
    crafted = await handle_action(
        core,
        cleo,
        "submission.create",
        "",
        {"caption": "not mine", "campaign": str(harbour), "appears": "nobody"},
        [await photo(core)],
    )
    assert crafted.failed and "Campaign Harbour is over" in crafted.errors["campaign"]
    sub = await core.submissions.create(
        bo, photos=[await photo(core, (1, 2, 3))], caption="quay", campaign_id=harbour
    )
    assert sub.campaign_title == "Harbour"
    # list and show name the sites, by name.
    listed = await say(core, cm, "campaign list")
    assert "Dec 4, 2026 · Lyon, Nantes" in listed and "Dec 11, 2026 · every site" in listed
    assert "Lyon, Nantes" in await say(core, cm, "campaign show harbour")
    async with core.db.read() as r:
        details = [
            e.detail for e in await r.audit.recent(cm.workspace_id) if e.action == "campaign.new"
        ]
    assert sorted(d["site_ids"] for d in details) == [[], sorted([ana.site_id, bo.site_id])]
    # A site's figures list the campaigns for it.
    for who, titles in ((bo, ["Harbour"]), (cleo, [])):
        stats = await core.stats.compute(cm.workspace_id, StatsView.SITE, site_id=who.site_id)
        assert [c.title for c in stats.campaigns] == titles


async def test_site_merge_moves_campaign_targets_once(core: Core, clock: FakeClock) -> None:
    clock.now = MONDAY
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    cleo = await ambassador(core, "cleo", "Cleo", site="Paris")
    lyon, nantes, paris = ana.site_id, bo.site_id, cleo.site_id
    for title, sites in (("North", f"{nantes}"), ("Both", f"{lyon},{nantes}"), ("Far", f"{paris}")):
        assert not (await new_campaign(core, cm, title, sites, "2026-12-04")).failed
    assert await offered(core, ana) == ["Both"]
    await say(core, cm, "site merge Nantes -> Lyon")
    async with core.db.read() as r:
        rows = (await r.session.execute(select(CampaignSite.site_id))).scalars().all()
        merge = [e for e in await r.audit.recent(cm.workspace_id) if e.action == "site.merge"]
    # North moved to Lyon, Both keeps one row for Lyon, Far is untouched.
    assert sorted(rows) == sorted([lyon, lyon, paris])
    assert merge[0].detail["campaigns"] == 1
    # Same end day: by id. Bo moved to Lyon too.
    async with core.db.read() as r:
        bo = await r.members.view(bo.id)
    assert bo.site_id == lyon
    assert await offered(core, ana) == await offered(core, bo) == ["North", "Both"]
    assert await offered(core, cleo) == ["Far"]
    listed = await say(core, cm, "campaign list")
    assert "Nantes" not in listed
    assert await count_rows(core.db, CampaignSite) == 3
    assert await count_rows(core.db, AuditEvent, AuditEvent.action == "site.merge") == 1


# -- the migration ------------------------------------------------------------------------


@asynccontextmanager
async def own_database(db: Database, tmp_path: Path, name: str) -> AsyncIterator[str]:
    """The URL of an empty database of this test's own, dropped afterwards."""
    database = f"{name}_{os.getpid()}"
    admin = db.engine.execution_options(isolation_level="AUTOCOMMIT")
    if db.engine.dialect.name == "postgresql":
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {database}"))
            await conn.execute(text(f"CREATE DATABASE {database}"))
        url = db.engine.url.set(database=database).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    try:
        yield url
    finally:  # a failing run leaves no database behind
        if db.engine.dialect.name == "postgresql":
            async with admin.connect() as conn:
                await conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]
    finally:
        await db.dispose()


async def _run(url: str, *statements: str, **params: object) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            for sql in statements:
                await conn.execute(text(sql), params)
    finally:
        await db.dispose()


def sql_now(db: Database) -> object:
    """1 November 2026, 10:00 UTC as storage writes it, for rows inserted in raw SQL on
    the backend of ``db``: naive UTC text on SQLite, timestamptz on PostgreSQL."""
    if db.engine.dialect.name == "sqlite":
        return "2026-11-01 10:00:00.000000"
    return datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


async def seed_submission(url: str, now: object, caption: str, status: str, *more: str) -> None:
    """Workspace 1 (Slack ``T1``), its member 1 (Ana) and her submission 1 (``caption``,
    ``status``), then the statements ``more``, in one transaction on the database at
    ``url`` (at a revision before 0018: no title, link or poster yet), all at ``now``."""
    await _run(
        url,
        "INSERT INTO workspaces (id, platform, external_id, name, locale, timezone,"
        " approved_total, created_at) VALUES (1, 'slack', 'T1', '', 'en', 'UTC', 0, :now)",
        "INSERT INTO members (id, workspace_id, external_id, display_name,"
        " nudges_opt_out, created_at) VALUES (1, 1, 'U1', 'Ana', false, :now)",
        "INSERT INTO submissions (id, workspace_id, author_id, caption, status,"
        " people_consented, sensitive, revision, created_at, updated_at) VALUES"
        " (1, 1, 1, :caption, :status, false, false, 1, :now, :now)",
        *more,
        now=now,
        caption=caption,
        status=status,
    )


async def test_migration_keeps_each_campaigns_site_and_every_link_both_ways(
    db: Database, tmp_path: Path, capsys: object
) -> None:
    from alembic import command

    async with own_database(db, tmp_path, "relais_camp_sites") as url:
        await asyncio.to_thread(upgrade, url, "0008")
        # As storage writes them: naive UTC text on SQLite, timestamptz on PostgreSQL.
        now: object = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        if db.engine.dialect.name == "sqlite":
            now = "2026-11-01 10:00:00.000000"
        await _run(
            url,
            "INSERT INTO workspaces (id, platform, external_id, name, locale, timezone,"
            " approved_total, created_at) VALUES (1, 'slack', 'T1', '', 'en', 'UTC', 0, :now)",
            "INSERT INTO sites (id, workspace_id, name, key, created_at) VALUES"
            " (1, 1, 'Lyon', 'lyon', :now), (2, 1, 'Nantes', 'nantes', :now),"
            " (3, 1, 'Paris', 'paris', :now)",
            "INSERT INTO members (id, workspace_id, external_id, display_name, site_id,"
            " nudges_opt_out, created_at) VALUES (1, 1, 'U1', 'Ana', 2, false, :now)",
            # Lyon's campaign, everyone's, Nantes's (closed, with a hashtag).
            "INSERT INTO campaigns (id, workspace_id, title, brief, starts_on, ends_on,"
            " site_id, created_by_id, created_at, hashtag, closed_at) VALUES"
            " (1, 1, 'Lyon days', '', '2026-11-01', '2026-11-30', 1, 1, :now, NULL, NULL),"
            " (2, 1, 'Everyone', 'b', '2026-11-01', '2026-11-30', NULL, 1, :now, NULL, NULL),"
            " (3, 1, 'Nantes', '', '2026-10-01', '2026-10-30', 2, NULL, :now, 'nt', :now)",
            "INSERT INTO submissions (id, workspace_id, author_id, caption, site_id,"
            " campaign_id, status, people_consented, sensitive, revision, created_at,"
            " updated_at) VALUES"
            " (1, 1, 1, 'a', 2, 1, 'pending', false, false, 1, :now, :now),"
            " (2, 1, 1, 'b', 2, 2, 'approved', false, false, 1, :now, :now),"
            " (3, 1, 1, 'c', 2, 3, 'approved', false, false, 1, :now, :now),"
            " (4, 1, 1, 'd', 2, NULL, 'pending', false, false, 1, :now, :now)",
            now=now,
        )
        links = "SELECT id, campaign_id, site_id FROM submissions ORDER BY id"
        before = await _rows(url, links)
        campaigns = "SELECT id, title, hashtag, created_by_id FROM campaigns ORDER BY id"
        kept = await _rows(url, campaigns)

        await asyncio.to_thread(upgrade, url, "head")
        targets = "SELECT campaign_id, site_id FROM campaign_sites ORDER BY campaign_id, site_id"
        assert await _rows(url, targets) == [(1, 1), (3, 2)]
        assert await _rows(url, links) == before
        assert await _rows(url, campaigns) == kept
        if db.engine.dialect.name == "sqlite":
            assert await _rows(url, "PRAGMA foreign_key_check") == []
        # Still enforced after the rebuild: deleting a campaign drops its targets and
        # leaves its submissions without a campaign.
        await _run(url, "INSERT INTO campaign_sites (campaign_id, site_id) VALUES (3, 1)")
        await _run(
            url,
            "INSERT INTO campaigns (id, workspace_id, title, brief, starts_on, ends_on,"
            " created_at) VALUES (9, 1, 'Gone', '', '2026-11-01', '2026-11-02', :now)",
            "INSERT INTO campaign_sites (campaign_id, site_id) VALUES (9, 3)",
            "UPDATE submissions SET campaign_id = 9 WHERE id = 4",
            "DELETE FROM campaigns WHERE id = 9",
            now=now,
        )
        assert await _rows(url, targets) == [(1, 1), (3, 1), (3, 2)]
        assert await _rows(url, links) == before

        # Down: one site back in site_id; the campaign for two sites is for every site.
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0008")
        printed = capsys.readouterr().out  # type: ignore[attr-defined]
        assert "campaign 'Nantes' (#3) was for 2 sites: it is now for every site" in printed
        old = "SELECT id, site_id FROM campaigns ORDER BY id"
        assert await _rows(url, old) == [(1, 1), (2, None), (3, None)]
        assert await _rows(url, links) == before
        assert await _rows(url, campaigns) == kept
        # The column points at sites again.
        await _run(url, "DELETE FROM sites WHERE id = 3")
        await _run(url, "UPDATE campaigns SET site_id = 2 WHERE id = 2")

        # And up again, over the column the downgrade added.
        await asyncio.to_thread(upgrade, url, "head")
        assert await _rows(url, targets) == [(1, 1), (2, 2)]
        assert await _rows(url, links) == before
        assert await _rows(url, campaigns) == kept
