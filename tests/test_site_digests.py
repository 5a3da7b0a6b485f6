"""Local digests: a site's own weekly digest in its own channel (``/relais config
site_digest <site> #channel``), sent by the same claimed rounds as the workspace's
digest: content scoped to the site, exactly once across replicas and across a
daylight-saving change, empty weeks like the national digest; the command on Slack
(signed requests, the Slack-compatible server records the post), Teams (Bot Connector
activities) and the console; site rename and merge; the migration both ways."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from adapters.console.app import ConsoleApp
from bot.actions import handle_command
from bot.core import Core
from bot.outbox import Dispatcher
from domain import MemberView, Platform
from storage.db import Database, alembic_config, upgrade
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, buttons, texts
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    photo,
    scratch_database,
    site_named,
    text_of,
)
from tests.test_console import Terminal, console_core
from tests.test_rounds import (
    DIGEST,
    SUMMER_SLOT,
    WINTER_SLOT,
    approved,
    runs,
    setup_digest,
    three_replicas_tick_at_the_slot,
)
from tests.test_slack import fake, join, rig, submit_photo
from tests.test_stats_platforms import teams_rig
from tests.test_teams import TEAM, TeamsRig, bf, install
from tests.test_teams import runs as card_runs

__all__ = ["bf", "fake", "rig", "teams_rig"]

LYON, PARIS, NANTES = "C-lyon", "C-paris", "C-nantes"


async def say(core: Core, who: MemberView, line: str) -> str:
    """What ``/relais <line>`` answers ``who``."""
    reply = await handle_command(core, who, "/relais", line)
    assert reply.message is not None
    return text_of(reply.message)


async def local_setup(core: Core, **extra: str) -> MemberView:
    """The national digest in DIGEST, Lyon's in LYON and Paris's in PARIS (one typed as
    a Slack mention), Nantes without one."""
    cm = await setup_digest(core, **extra)
    await core.sites.ensure(cm.workspace_id, ["Lyon", "Paris", "Nantes"])
    assert "Lyon now has its own digest in C-lyon" in await say(
        core, cm, f"config site_digest lyon #{LYON}"
    )
    await say(core, cm, f"config site_digest Paris <#{PARIS}|paris-news>")
    return cm


async def lyon_and_paris_approved(core: Core) -> tuple[MemberView, MemberView]:
    """``local_setup``, then Ana at Lyon and Bo at Paris with a photo approved each
    ("Lyon market", "Paris office"): the CM and Ana."""
    cm = await local_setup(core)
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    bo = await ambassador(core, "bo", "Bo", site="Paris")
    await approved(core, cm, ana, 1, "Lyon market")
    await approved(core, cm, bo, 2, "Paris office")
    return cm, ana


def posted(port: RecordingPort, channel: str) -> list[str]:
    return [text_of(m) for m in port.in_channel(channel)]


# -- content, empty weeks, language ---------------------------------------------------------


async def test_each_local_digest_holds_its_sites_approvals_the_national_one_all(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=2)
    cm, ana = await lyon_and_paris_approved(core)
    # Ana sends one for Paris: it is Paris's (the submission's site), not Lyon's.
    pic = await photo(core, (9, 9, 9))
    visiting = await core.submissions.create(ana, photos=[pic], caption="Visit in Paris")
    async with core.db.transaction() as r:
        await r.session.execute(
            text("UPDATE submissions SET site_id = :s WHERE id = :i"),
            {"s": await site_named(core, cm.workspace_id, "Paris"), "i": visiting.id},
        )
    await core.review.approve(cm, visiting.id)
    waiting = await core.submissions.create(ana, photos=[await photo(core)], caption="Pending")
    assert waiting.id
    clock.now = SUMMER_SLOT - timedelta(days=1)
    await ambassador(core, "cy", "Cyril", site="Lyon")  # joined this week, in Lyon
    clock.now = SUMMER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    [lyon] = posted(port, LYON)
    [paris] = posted(port, PARIS)
    [national] = posted(port, DIGEST)
    assert "This week at Lyon" in lyon and "1 photo approved this week" in lyon
    assert "Lyon market" in lyon and "Paris office" not in lyon and "Visit in Paris" not in lyon
    assert "Pending" not in lyon and "By site" not in lyon and "Milestone" not in lyon
    assert "Cyril" in lyon and "Cyril" not in paris, "the newcomer is welcomed at their site"
    assert "This week at Paris" in paris and "2 photos approved this week" in paris
    assert "Paris office" in paris and "Visit in Paris" in paris and "Lyon market" not in paris
    assert "This week in the ambassador programme" in national and "3 photos" in national
    assert "By site" in national
    assert posted(port, NANTES) == []
    sites = {name: i for i, name in await core.sites.names(cm.workspace_id)}
    assert sorted(await runs(core, "site_digest")) == sorted(
        [
            ("2026-W43", f"site:{sites['Lyon']}", "sent"),
            ("2026-W43", f"site:{sites['Paris']}", "sent"),
        ]
    )


@pytest.mark.parametrize("when_empty", ["send", "skip"])
async def test_a_site_with_nothing_approved_is_encouraged_or_skipped_like_the_national(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort, when_empty: str
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    cm = await local_setup(core, digest_when_empty=when_empty)
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    await approved(core, cm, ana, 1, "Lyon market")
    await say(core, cm, f"config site_digest Nantes {NANTES}")
    clock.now = SUMMER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(posted(port, LYON)) == 1
    if when_empty == "send":
        [nantes] = posted(port, NANTES)
        assert "This week at Nantes" in nantes and "No photos were approved this week" in nantes
    else:
        assert posted(port, NANTES) == [] and posted(port, PARIS) == []
        statuses = sorted(s for _, _, s in await runs(core, "site_digest"))
        assert statuses == ["sent", "skipped", "skipped"]


async def test_in_french_when_the_workspace_speaks_french(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    french = Core(core.settings.model_copy(update={"relais_locale": "fr"}), core.db, clock=clock)
    clock.now = SUMMER_SLOT - timedelta(days=1)
    await setup_digest(french)
    cm = await french.onboarding.identify(
        Platform.CONSOLE, "T-test", "cm1", display_name="Carla", locale="fr"
    )
    await french.sites.ensure(cm.workspace_id, ["Lyon", "Nantes"])
    done = await say(french, cm, f"config site_digest Lyon {LYON}")
    assert "Lyon a maintenant son propre récapitulatif dans C-lyon" in done
    listed = await say(french, cm, "config")
    assert "site_digest Lyon" in listed and "Le récapitulatif hebdomadaire d’un site" in listed
    assert "récapitulatif dans C-lyon" in await say(french, cm, "site list")
    ana = await ambassador(french, "ana", "Ana", locale="fr", site="Lyon")
    await approved(french, cm, ana, 3, "Marché de Lyon")
    clock.now = SUMMER_SLOT
    await french.rounds.tick()
    await dispatcher.drain()
    [lyon] = posted(port, LYON)
    assert "Cette semaine à Lyon" in lyon and "Marché de Lyon" in lyon
    clock.advance(days=1)
    await approved(french, cm, ana, 4, "Gare de Lyon")
    assert "Récapitulatif de Lyon publié dans C-lyon." in await say(
        french, cm, "digest envoyer Lyon"
    )
    assert "Le récapitulatif de Lyon a déjà été publié cette semaine" in await say(
        french, cm, "digest envoyer Lyon"
    )
    assert "Nantes n’a pas de canal de récapitulatif" in await say(
        french, cm, "digest envoyer Nantes"
    )
    assert "Lyon n’a plus de récapitulatif à lui." in await say(
        french, cm, "config site_digest lyon non"
    )


async def test_a_cm_previews_a_sites_digest_before_the_slot(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=2)
    cm = await local_setup(core)
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    await approved(core, cm, ana, 1, "Lyon market")
    await approved(core, cm, bo, 2, "Nantes docks")
    shown = await say(core, cm, "digest preview lyon")
    assert "Preview of the next digest" in shown and "This week at Lyon" in shown
    assert "Lyon market" in shown and "Nantes docks" not in shown
    # Nantes has no channel: its preview shows what a digest would hold.
    assert "Nantes docks" in await say(core, cm, "digest aperçu Nantes")
    assert "No site called Lille" in await say(core, cm, "digest preview Lille")
    assert "You don't have the role needed" in await say(core, ana, "digest preview Lyon")
    await dispatcher.drain()
    assert posted(port, LYON) == [], "a preview sends nothing"


async def test_a_cm_sends_a_sites_digest_now_and_its_slot_carries_on_from_there(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    """``digest send <site>`` posts that site's digest in its channel at once, once; the
    site's scheduled digest then holds only what came after, or is skipped when nothing
    did; other sites and the national digest are untouched."""
    clock.now = SUMMER_SLOT - timedelta(days=2)
    cm, ana = await lyon_and_paris_approved(core)
    assert "You don't have the role needed" in await say(core, ana, "digest send Lyon")
    assert "Lyon's digest posted in C-lyon." in await say(core, cm, "digest send lyon")
    assert "already posted this week and nothing was approved there since" in await say(
        core, cm, "digest envoyer Lyon"
    )
    assert "Paris's digest posted in C-paris." in await say(core, cm, "digest send Paris")
    assert "No site called Lille" in await say(core, cm, "digest send Lille")
    assert "Nantes has no digest channel" in await say(core, cm, "digest send Nantes")
    await dispatcher.drain()
    [early] = posted(port, LYON)
    assert "This week at Lyon" in early and "Lyon market" in early
    assert "Paris office" not in early and posted(port, DIGEST) == []
    clock.advance(days=1)
    await approved(core, cm, ana, 3, "Lyon station")
    preview = await say(core, cm, "digest preview Lyon")
    assert "Lyon station" in preview and "Lyon market" not in preview
    clock.now = SUMMER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    again, scheduled = posted(port, LYON)
    assert again == early
    assert "Lyon station" in scheduled and "Lyon market" not in scheduled
    assert len(posted(port, PARIS)) == 1, "nothing new at Paris since its early digest"
    [national] = posted(port, DIGEST)
    assert "Lyon market" in national and "Paris office" in national
    sites = {name: i for i, name in await core.sites.names(cm.workspace_id)}
    week = sorted(
        (target, status)
        for period, target, status in await runs(core, "site_digest")
        if period == "2026-W43"
    )
    assert week == sorted(
        [(f"site:{sites['Lyon']}", "sent"), (f"site:{sites['Paris']}", "skipped")]
    )


# -- exactly once ----------------------------------------------------------------------------


async def test_local_digests_exactly_once_with_three_replicas(
    core: Core, db_url: str, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    cm = await local_setup(core)
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    await approved(core, cm, ana, 5, "shared")
    await three_replicas_tick_at_the_slot(core, db_url, clock)
    await dispatcher.drain()
    assert len(posted(port, LYON)) == 1 and len(posted(port, PARIS)) == 1
    assert len(posted(port, DIGEST)) == 1
    sent = [(p, t) for p, t, s in await runs(core, "site_digest") if s == "sent"]
    assert sorted(sent) == [("2026-W43", "site:1"), ("2026-W43", "site:2")]


async def test_local_digest_at_the_local_slot_across_dst_then_caught_up_or_skipped(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=2)
    cm = await local_setup(core)
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    await approved(core, cm, ana, 1, "Before the first digest")
    clock.now = SUMMER_SLOT - timedelta(minutes=1)
    await core.rounds.tick()
    await dispatcher.drain()
    assert posted(port, LYON) == []
    clock.now = SUMMER_SLOT
    await core.rounds.tick()
    await core.rounds.tick()
    await approved(core, cm, ana, 2, "During the winter week")
    clock.now = WINTER_SLOT - timedelta(minutes=1)  # 15:59 in Paris after the change
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(posted(port, LYON)) == 1
    clock.now = WINTER_SLOT + timedelta(hours=5)  # down at the slot: caught up
    await core.rounds.tick()
    await dispatcher.drain()
    first, second = posted(port, LYON)
    assert "Before the first digest" in first
    assert "During the winter week" in second and "Before the first digest" not in second
    clock.now = WINTER_SLOT + timedelta(days=7, hours=7)  # down beyond the grace
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(posted(port, LYON)) == 2
    lyon = [(p, s) for p, t, s in await runs(core, "site_digest") if t.endswith(":1")]
    # (The week before the first slot was long past at the first tick: skipped.)
    assert lyon == [
        ("2026-W42", "skipped"),
        ("2026-W43", "sent"),
        ("2026-W44", "sent"),
        ("2026-W45", "skipped"),
    ]


# -- the setting: listed, stopped, checked, kept through rename and merge ----------------------


async def test_config_lists_stops_refuses_and_survives_rename_and_merge(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    cm = await local_setup(core)
    listed = await say(core, cm, "config")
    assert "site_digest Lyon" in listed and "C-lyon" in listed and "C-paris" in listed
    sites = await say(core, cm, "site list")
    assert "digest in C-lyon" in sites and "digest in C-paris" in sites
    assert "Nantes had no digest of its own." in await say(
        core, cm, "config site_digest Nantes off"
    )
    assert "No site called Lille" in await say(core, cm, "config site_digest Lille #x")
    assert "/relais config site_digest <site> #channel" in await say(
        core, cm, "config site_digest Lyon"
    )
    ana = await ambassador(core, "ana", "Ana", site="Lyon")
    assert "You don't have the role needed" in await say(
        core, ana, f"config site_digest Lyon #{LYON}"
    )
    # Rename keeps it (and a name with spaces is typed before the channel); merging Paris
    # (which has one) into Nantes (none) moves it; merging Lyon Part-Dieu into Nantes
    # (which has one now) keeps Nantes's.
    await say(core, cm, "site rename Lyon -> Lyon Part-Dieu")
    assert "digest in C-lyon" in await say(core, cm, "site list")
    assert "Lyon Part-Dieu now has its own digest in C-lpd" in await say(
        core, cm, "config site_digest lyon  part-dieu <#C-lpd|lyon-pd>"
    )
    await say(core, cm, "site merge Paris -> Nantes")
    sites = await say(core, cm, "site list")
    assert "Lyon Part-Dieu" in sites and "digest in C-lpd" in sites and "digest in C-paris" in sites
    assert "Paris" not in sites.replace("C-paris", "")
    await say(core, cm, "site merge Lyon Part-Dieu -> Nantes")
    assert (await core.config.site_digests(cm.workspace_id)) == [("Nantes", PARIS)]
    await approved(core, cm, ana, 4, "Now in Nantes")
    clock.now = SUMMER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    [nantes] = posted(port, PARIS)
    assert "This week at Nantes" in nantes and "Now in Nantes" in nantes
    assert posted(port, LYON) == [] and posted(port, "C-lpd") == []
    assert "Nantes no longer has its own digest." in await say(
        core, cm, "config site_digest Nantes off"
    )
    assert "site_digest" not in (await say(core, cm, "config")).replace("config site_digest", "")


# -- over the wire -------------------------------------------------------------------------


async def test_slack_config_site_digest_and_the_post_in_the_sites_channel(
    rig: SlackRig, fake: FakeSlack, clock: FakeClock
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    answer = await (
        await rig.command("UCM1", "/relais", "config site_digest Lyon <#CLYON|lyon-news>")
    ).json()
    assert "Lyon now has its own digest in CLYON" in texts(answer["blocks"])
    listed = texts((await (await rig.command("UCM1", "/relais", "config")).json())["blocks"])
    assert "site_digest Lyon" in listed and "CLYON" in listed
    sites = texts((await (await rig.command("UCM1", "/relais", "site list")).json())["blocks"])
    assert "digest in CLYON" in sites
    refused = await (await rig.command("UAMB", "/relais", "config site_digest Lyon #x")).json()
    assert "You don't have the role needed" in texts(refused["blocks"])
    await join(rig, "UAMB")
    card = await submit_photo(rig, "UAMB", "Lyon <!channel> market", "FLY1")
    assert (await rig.click("UCM1", buttons(card["blocks"])["review.approve"])).ok
    await fake.wait_for(
        lambda: any("was approved" in texts(p["blocks"]) for p in rig.posts_to("UAMB"))
    )
    clock.now = SUMMER_SLOT
    await rig.core.rounds.tick()
    await rig.settle()
    await fake.wait_for(lambda: rig.posts_to("CLYON"))
    [post] = rig.posts_to("CLYON")
    shown = texts(post["blocks"])
    assert "This week at Lyon" in shown and "Lyon <!channel> market" in shown
    assert post["mrkdwn"] is False, "the caption is not rendered as markup"
    local = [
        c.params["channel"]
        for c in fake.calls_to("chat.postMessage")
        if "This week at Lyon" in texts(c.params.get("blocks") or [])
    ]
    assert local == ["CLYON"], "posted in the site's channel only"
    await rig.core.rounds.tick()
    await rig.settle()
    await asyncio.sleep(0.3)
    assert len(rig.posts_to("CLYON")) == 1
    stopped = await (await rig.command("UCM1", "/relais", "config site_digest Lyon off")).json()
    assert "Lyon no longer has its own digest." in texts(stopped["blocks"])


async def test_teams_site_digest_here_in_a_channel_then_posted_there(
    teams_rig: TeamsRig, clock: FakeClock
) -> None:
    rig = teams_rig
    clock.now = SUMMER_SLOT - timedelta(days=1)
    await install(rig)
    carla = {"user_id": "29:carla", "aad": "aad-carla", "name": "Carla CM"}
    carla_dm = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla_dm))
    unknown = "19:unknown@thread.tacv2"
    await rig.send(rig.bf.personal_message(f"config site_digest Lyon {unknown}", **carla))
    await rig.send(rig.bf.personal_message("config site_digest Lyon here", **carla))
    await rig.wait_card(carla_dm, before + 2)
    said = " ".join(card_runs(c) for c in rig.cards_to(carla_dm)[before:])
    assert f"Relais does not know the Teams channel '{unknown}'" in said
    assert "in the channel where the site's digest should go" in said
    lyon = "19:lyon@thread.tacv2"
    here = rig.bf.channel_message("config site_digest Lyon here", TEAM, lyon, **carla)
    assert (await rig.send(here)).status in (200, 201)
    await rig.bf.wait_for(lambda: rig.bf.sent_to(f"{lyon};messageid={here['id']}"))
    replied = " ".join(card_runs(a) for a in rig.bf.sent_to(f"{lyon};messageid={here['id']}"))
    assert f"Lyon now has its own digest in {lyon}" in replied
    cm = await rig.core.onboarding.identify(
        Platform.TEAMS, "tenant-1", "aad-carla", display_name="Carla CM", locale="en"
    )
    await _approved_on_teams(rig, cm, "Lyon plant")
    clock.now = SUMMER_SLOT
    await rig.core.rounds.tick()
    await rig.settle()
    await rig.bf.wait_for(lambda: _posted_in(rig, lyon, "This week at Lyon"))
    assert "Lyon plant" in _posted_in(rig, lyon, "This week at Lyon")


async def _approved_on_teams(rig: TeamsRig, cm: MemberView, caption: str) -> None:
    """An ambassador of Lyon in the tenant, with one approved submission."""
    alice = await rig.core.onboarding.identify(
        Platform.TEAMS, "tenant-1", "aad-alice", display_name="Alice", locale="en"
    )
    charter = await rig.core.onboarding.charter(alice)
    lyon = await site_named(rig.core, alice.workspace_id, "Lyon")
    alice = await rig.core.onboarding.join(alice, charter_version=charter.version, site_id=lyon)
    sub = await rig.core.submissions.create(alice, photos=[await photo(rig.core)], caption=caption)
    await rig.core.review.approve(cm, sub.id)


def _posted_in(rig: TeamsRig, channel: str, needle: str) -> str:
    for activity in rig.bf.sent:
        if activity["conversation"]["id"].startswith(channel):
            shown = card_runs(activity)
            if needle in shown:
                return shown
    return ""


async def test_console_config_site_digest_and_the_post_under_its_channel(
    core: Core, clock: FakeClock
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    console = console_core(core)
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",
            "/relais config site_digest Lyon #lyon-news",
            "/relais config",
            "/relais site list",
        ]
    )
    await ConsoleApp(console, term.ask, term.say).run()
    out = term.text
    assert "Lyon now has its own digest in lyon-news" in out
    assert "site_digest Lyon" in out and "digest in lyon-news" in out
    cm = await console.onboarding.identify(Platform.CONSOLE, "console", "cm1", display_name="cm1")
    ana = await console.onboarding.identify(
        Platform.CONSOLE, "console", "ana", display_name="Ana", locale="en"
    )
    charter = await console.onboarding.charter(ana)
    lyon = await site_named(console, ana.workspace_id, "Lyon")
    ana = await console.onboarding.join(ana, charter_version=charter.version, site_id=lyon)
    sub = await console.submissions.create(ana, photos=[await photo(console)], caption="Quay")
    await console.review.approve(cm, sub.id)
    clock.now = SUMMER_SLOT
    await console.rounds.tick()
    later = Terminal(["/as cm1"])
    await ConsoleApp(console, later.ask, later.say).run()
    shown = later.text
    assert "─── #lyon-news ───" in shown
    assert "this week at lyon" in shown.lower() and "Quay" in shown


# -- the migration -----------------------------------------------------------------------------


async def test_migration_0020_up_and_down_with_data(db: Database, tmp_path: Path) -> None:
    from alembic import command

    async with scratch_database(db, tmp_path, "site_digests") as url:
        await asyncio.to_thread(upgrade, url, "head")
        now: object = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        if db.engine.dialect.name == "sqlite":
            now = "2026-11-01 10:00:00.000000"
        scratch = Database(url)
        try:
            async with scratch.engine.begin() as conn:
                for sql in (
                    "INSERT INTO workspaces (id, platform, external_id, name, locale, timezone,"
                    " approved_total, created_at) VALUES (1, 'slack', 'T1', '', 'en', 'UTC',"
                    " 0, :now)",
                    "INSERT INTO sites (id, workspace_id, name, key, created_at) VALUES"
                    " (1, 1, 'Lyon', 'lyon', :now), (2, 1, 'Paris', 'paris', :now)",
                    "INSERT INTO site_digests (site_id, workspace_id, channel, set_at)"
                    " VALUES (1, 1, 'CLYON', :now), (2, 1, 'CPARIS', :now)",
                    "DELETE FROM sites WHERE id = 2",
                ):
                    await conn.execute(text(sql), {"now": now})
                rows = await conn.execute(text("SELECT site_id, channel FROM site_digests"))
                assert [tuple(r) for r in rows.all()] == [(1, "CLYON")], "gone with its site"
        finally:
            await scratch.dispose()
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0017")
        scratch = Database(url)
        try:
            async with scratch.engine.connect() as conn:
                names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
                assert "site_digests" not in names and "sites" in names
                kept = await conn.execute(text("SELECT name FROM sites"))
                assert [r[0] for r in kept.all()] == ["Lyon"]
        finally:
            await scratch.dispose()
        await asyncio.to_thread(upgrade, url, "head")
        scratch = Database(url)
        try:
            async with scratch.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO site_digests (site_id, workspace_id, channel, set_at)"
                        " VALUES (1, 1, 'CLYON2', :now)"
                    ),
                    {"now": now},
                )
                rows = await conn.execute(text("SELECT channel FROM site_digests"))
                assert [r[0] for r in rows.all()] == ["CLYON2"]
        finally:
            await scratch.dispose()
