"""Recognition: points from the ledger (one row per reason, values from chat) and badges,
awarded in the approval's transaction from the facts in the database."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.console.app import ConsoleApp
from adapters.slack import render as slack_render
from bot.actions import handle_command
from bot.core import Core
from bot.errors import AlreadyDecided
from bot.outbox import Dispatcher
from bot.ui import Mentions
from domain import MemberView, Platform, Role, Status
from storage.db import Database
from storage.models import Badge, Member, PointsEntry, Submission
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, buttons, texts
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    count_rows,
    jpeg_bytes,
    member,
    photo,
    site_named,
    text_of,
)
from tests.test_console import Terminal, console_core
from tests.test_review import two_cores
from tests.test_slack import card_ref, fake, join, rig, submit_photo
from tests.test_stats_platforms import teams_rig
from tests.test_teams import REVIEW as TEAMS_REVIEW
from tests.test_teams import (
    TEAM,
    TeamsRig,
    bf,
    executes,
    install,
    runs,
    send_photo,
)
from tests.test_teams import join as teams_join

__all__ = ["bf", "fake", "rig", "teams_rig"]

DIGEST = "C-digest"


async def say(core: Core, who: MemberView, line: str) -> tuple[bool, str]:
    """``/relais <line>`` as ``who``: (refused, what they read)."""
    reply = await handle_command(core, who, "/relais", line)
    return reply.failed, text_of(reply.message) if reply.message else ""


async def campaign(core: Core, cm: MemberView, title: str = "Winter safety") -> int:
    async with core.db.transaction() as r:
        row = await r.campaigns.create(
            cm.workspace_id,
            title=title,
            brief="",
            starts_on=date(2026, 11, 1),
            ends_on=date(2026, 12, 31),
            site_ids=(),
            created_by=cm.id,
            now=core.clock(),
        )
        return row.id


async def seed(
    core: Core,
    author: MemberView,
    count: int,
    *,
    status: Status = Status.PENDING,
    site_id: int | None = None,
    campaign_id: int | None = None,
) -> list[int]:
    """``count`` submissions of ``author`` written directly (no photos): history seeded
    fast, or pending ones for the review service to decide."""
    now = core.clock()
    async with core.db.transaction() as r:
        rows = [
            Submission(
                workspace_id=author.workspace_id,
                author_id=author.id,
                caption=f"seeded {i}",
                site_id=site_id,
                campaign_id=campaign_id,
                status=status.value,
                people_consented=True,
                sensitive=False,
                revision=1,
                created_at=now,
                updated_at=now,
                decided_at=now if status is Status.APPROVED else None,
            )
            for i in range(count)
        ]
        r.session.add_all(rows)
        await r.session.flush()
        return [row.id for row in rows]


async def ledger(core: Core, workspace_id: int) -> list[tuple[str, str, int, int | None]]:
    """(person, reason, points, submission) rows of a workspace, in order."""
    async with core.db.read() as r:
        rows = await r.session.execute(
            select(
                Member.external_id,
                PointsEntry.reason,
                PointsEntry.points,
                PointsEntry.submission_id,
            )
            .join(Member, Member.id == PointsEntry.member_id)
            .where(Member.workspace_id == workspace_id)
            .order_by(PointsEntry.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def badges(core: Core, who: MemberView) -> list[str]:
    async with core.db.read() as r:
        return await r.badges.of(who.id)


def badge_dms(port: RecordingPort, user: str) -> list[str]:
    return [m.text for m in port.dms_to(user) if m.text.startswith(("New badge", "Nouveau badge"))]


# -- points ------------------------------------------------------------------------------


async def test_each_reason_is_a_ledger_row_with_the_values_set_from_chat(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    cm = await member(core, "cm1", "Carla")
    for line in (
        "config points_approved 7",
        "config points_first 11",
        "config points_campaign 3",
        "config points_referent 4",
        "config referents_review on",
    ):
        refused, said = await say(core, cm, line)
        assert not refused, said
    refused, shown = await say(core, cm, "config")
    lines = shown.split("\n")
    for key, value in (
        ("points_approved", "7"),
        ("points_first", "11"),
        ("points_campaign", "3"),
        ("points_referent", "4"),
    ):
        assert lines[lines.index(key) + 1] == value
    ana = await ambassador(core, "amb", "Ana", site="Lyon")
    rita = await ambassador(core, "rita", "Rita", site="Lyon")
    await core.roles.grant(cm, "rita", Role.REFERENT, "Lyon")
    winter = await campaign(core, cm)
    sub = await core.submissions.create(
        ana, photos=[await photo(core)], caption="Helmets on", campaign_id=winter
    )
    # The referent asks for changes, then approves the resubmission: credited once.
    await core.review.request_changes(rita, sub.id, "Crop the faces")
    await core.submissions.resubmit(ana, sub.id, caption="Helmets on, cropped", campaign_id=winter)
    await core.review.approve(rita, sub.id)
    assert await ledger(core, ana.workspace_id) == [
        ("rita", "referent", 4, sub.id),
        ("amb", "approved", 7, sub.id),
        ("amb", "first", 11, sub.id),
        ("amb", "campaign", 3, sub.id),
    ]
    await dispatcher.drain()
    outcome = next(m for m in port.dms_to("amb") if "was approved by Rita" in m.text)
    assert "Points earned: +21" in text_of(outcome)
    # A second one, outside a campaign, decided by the CM: the approval's points only.
    second = await core.submissions.create(ana, photos=[await photo(core, (1, 2, 3))], caption="")
    await core.review.approve(cm, second.id)
    assert (await ledger(core, ana.workspace_id))[-1] == ("amb", "approved", 7, second.id)
    assert len(await ledger(core, ana.workspace_id)) == 5
    assert (await core.onboarding.profile(ana)).points == 7 + 11 + 3 + 7
    assert (await core.onboarding.profile(rita)).points == 4
    # A value of 0 credits nothing (no row), and the outcome DM then shows no points.
    await say(core, cm, "config points_approved 0")
    third = await core.submissions.create(ana, photos=[await photo(core, (9, 9, 9))], caption="")
    await core.review.approve(cm, third.id)
    assert len(await ledger(core, ana.workspace_id)) == 5
    await dispatcher.drain()
    last = next(m for m in reversed(port.dms_to("amb")) if "was approved" in m.text)
    assert f"#{third.id}" in last.text and "Points earned" not in text_of(last)


async def test_bad_points_values_are_refused_and_change_nothing(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    for value in ("-1", "1001", "ten", "2.5", "+5"):
        refused, said = await say(core, cm, f"config points_first {value}")
        assert refused, value
    refused, said = await say(core, cm, "config points_first 1001")
    assert "points_first must be a whole number from 0 to 1000" in said
    assert (await core.config.get(cm.workspace_id)).points_first == 20  # the env default
    ana = await ambassador(core, "amb", "Ana")
    refused, _ = await say(core, ana, "config points_first 500")
    assert refused
    assert (await core.config.get(cm.workspace_id)).points_first == 20
    refused, said = await say(core, cm, "config points_first 1000")
    assert not refused and (await core.config.get(cm.workspace_id)).points_first == 1000


async def test_no_points_nor_badges_for_approving_ones_own(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    chris = await member(core, "cm2", "Chris")
    await say(core, cm, "config self_review on")
    own = await seed(core, cm, 1)
    await core.review.approve(cm, own[0])
    assert await ledger(core, cm.workspace_id) == []
    assert await badges(core, cm) == []
    # Another CM approves her next one: her approved submissions reached the first
    # badge already, so it comes now; the "first" bonus belonged to the first one.
    other = await seed(core, cm, 1)
    await core.review.approve(chris, other[0])
    assert await ledger(core, cm.workspace_id) == [("cm1", "approved", 10, other[0])]
    assert await badges(core, cm) == ["first_approved"]


# -- badges ------------------------------------------------------------------------------


async def test_badges_at_1_10_and_50_approved(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana", site=None)

    async def approve_one() -> None:
        [pending] = await seed(core, ana, 1)
        await core.review.approve(cm, pending)

    await approve_one()
    assert await badges(core, ana) == ["first_approved"]
    await seed(core, ana, 7, status=Status.APPROVED)  # 8 approved
    await approve_one()  # 9
    assert await badges(core, ana) == ["first_approved"]
    await approve_one()  # 10
    assert await badges(core, ana) == ["first_approved", "approved_10"]
    await seed(core, ana, 38, status=Status.APPROVED)  # 48
    await approve_one()  # 49
    assert len(await badges(core, ana)) == 2
    await approve_one()  # 50
    assert await badges(core, ana) == ["first_approved", "approved_10", "approved_50"]
    await approve_one()  # 51: nothing new
    await dispatcher.drain()
    assert badge_dms(port, "amb") == [
        "New badge: First approved photo",
        "New badge: 10 approved photos",
        "New badge: 50 approved photos",
    ]
    # /relais me lists them, in the order they were earned.
    me = await handle_command(core, ana, "/relais", "me")
    assert me.message is not None
    lines = text_of(me.message).split("\n")
    assert lines[lines.index("Badges") + 1] == (
        "First approved photo, 10 approved photos, 50 approved photos"
    )


async def test_first_campaign_and_three_sites_from_the_submissions_sites(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana", site="Lyon")
    lyon = await site_named(core, ana.workspace_id, "Lyon")
    nantes = await site_named(core, ana.workspace_id, "Nantes")
    lille = await site_named(core, ana.workspace_id, "Lille")
    winter = await campaign(core, cm)
    for site in (lyon, lyon, nantes):
        [sid] = await seed(core, ana, 1, site_id=site)
        await core.review.approve(cm, sid)
    assert await badges(core, ana) == ["first_approved"]
    # A rejected one from a third site does not count.
    [rejected] = await seed(core, ana, 1, site_id=lille, campaign_id=winter)
    await core.review.reject(cm, rejected, "Blurred")
    assert await badges(core, ana) == ["first_approved"]
    [from_lille] = await seed(core, ana, 1, site_id=lille, campaign_id=winter)
    await core.review.approve(cm, from_lille)
    assert await badges(core, ana) == ["first_approved", "first_campaign", "three_sites"]
    async with core.db.read() as r:
        triggered = await r.session.scalars(
            select(Badge.submission_id).where(Badge.member_id == ana.id).order_by(Badge.id)
        )
        assert list(triggered)[1:] == [from_lille, from_lille]
    await dispatcher.drain()
    assert badge_dms(port, "amb")[1:] == ["New badge: First campaign", "New badge: Three sites"]
    dm = next(m for m in port.dms_to("amb") if m.text == "New badge: Three sites")
    assert "three different sites" in text_of(dm)
    # Ana did not agree to have them announced: told so, and nothing in any channel.
    assert "/relais config me share_badges on" in text_of(dm)
    assert not [s for s in port.posts if s.target and s.target.kind == "channel"]


async def test_a_double_click_or_retry_credits_and_tells_once(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    cm = await member(core, "cm1", "Carla")
    chris = await member(core, "cm2", "Chris")
    ana = await ambassador(core, "amb", "Ana")
    await say(core, cm, f"config digest_channel {DIGEST}")
    await say(core, ana, "config me share_badges on")
    [sid] = await seed(core, ana, 1)
    async with two_cores(core) as (one, two):
        results = await asyncio.gather(
            one.review.approve(cm, sid),
            two.review.approve(cm, sid),
            one.review.approve(chris, sid),
            return_exceptions=True,
        )
    assert sum(not isinstance(x, BaseException) for x in results) == 1, results
    assert all(isinstance(x, AlreadyDecided) for x in results if isinstance(x, BaseException))
    # The retry of a click that already won.
    try:
        await core.review.approve(cm, sid)
    except AlreadyDecided:
        pass
    else:
        raise AssertionError("a second approval went through")
    assert [(r, p) for _, r, p, _ in await ledger(core, ana.workspace_id)] == [
        ("approved", 10),
        ("first", 20),
    ]
    assert await count_rows(core.db, Badge) == 1
    await dispatcher.drain()
    assert badge_dms(port, "amb") == ["New badge: First approved photo"]
    assert len(port.in_channel(DIGEST)) == 1


async def test_the_9th_and_10th_approved_at_once_give_the_badge_once(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    cm = await member(core, "cm1", "Carla")
    chris = await member(core, "cm2", "Chris")
    ana = await ambassador(core, "amb", "Ana")
    await seed(core, ana, 8, status=Status.APPROVED)
    ninth, tenth = await seed(core, ana, 2)
    async with two_cores(core) as (one, two):
        await asyncio.gather(one.review.approve(cm, ninth), two.review.approve(chris, tenth))
    # The seeded history held no badge: the 9th brings the first, the 10th the second.
    assert await badges(core, ana) == ["first_approved", "approved_10"]
    assert await count_rows(core.db, Badge, Badge.badge == "approved_10") == 1
    await dispatcher.drain()
    assert sorted(badge_dms(port, "amb")) == [
        "New badge: 10 approved photos",
        "New badge: First approved photo",
    ]


async def test_the_channel_hears_of_a_badge_only_with_consent(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo <!channel> *now*")
    await say(core, bo, "config me share_badges on")
    winter = await campaign(core, cm)
    # No digest channel yet: Bo agreed, but there is nowhere to post.
    [b1] = await seed(core, bo, 1)
    await core.review.approve(cm, b1)
    await say(core, cm, f"config digest_channel {DIGEST}")
    [a1] = await seed(core, ana, 1, campaign_id=winter)
    await core.review.approve(cm, a1)  # Ana did not agree: told by DM only
    [b2] = await seed(core, bo, 1, campaign_id=winter)
    await core.review.approve(cm, b2)
    await dispatcher.drain()
    assert badge_dms(port, "amb") == [
        "New badge: First approved photo",
        "New badge: First campaign",
    ]
    assert badge_dms(port, "bo") == ["New badge: First approved photo", "New badge: First campaign"]
    [post] = port.in_channel(DIGEST)
    assert post.text == "Bo <!channel> *now* earned the badge First campaign"
    [mention] = [b for b in post.blocks if isinstance(b, Mentions)]
    assert mention.people == (("bo", "Bo <!channel> *now*"),)
    # Slack draws the name escaped (a console id is no Slack user id), never as markup.
    drawn = str(slack_render.message_blocks(post))
    assert "<!channel>" not in drawn and "&lt;!channel&gt;" in drawn
    # The DM to Bo does not suggest what he already did.
    dm = next(m for m in port.dms_to("bo") if m.text.startswith("New badge"))
    assert "share_badges" not in text_of(dm)


async def test_badges_in_french_and_english(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    cm = await member(core, "cm1", "Carla")
    await say(core, cm, f"config digest_channel {DIGEST}")
    luc = await ambassador(core, "luc", "Luc", locale="fr")
    await say(core, luc, "config moi badges oui")
    [sid] = await seed(core, luc, 1)
    await core.review.approve(cm, sid)
    await dispatcher.drain()
    [dm] = [m for m in port.dms_to("luc") if m.text.startswith("Nouveau badge")]
    assert dm.text == "Nouveau badge : Première photo approuvée"
    assert "Bienvenue parmi celles et ceux qui racontent notre histoire" in text_of(dm)
    # The channel speaks the workspace's language (English here).
    [post] = port.in_channel(DIGEST)
    assert post.text == "Luc earned the badge First approved photo"
    me = await handle_command(core, luc, "/relais", "me")
    assert me.message is not None
    lines = text_of(me.message).split("\n")
    assert lines[lines.index("Badges") + 1] == "Première photo approuvée"
    english = await handle_command(core, cm, "/relais", "me")
    assert english.message is not None
    lines = text_of(english.message).split("\n")
    assert lines[lines.index("Badges") + 1] == "None"


# -- replay --------------------------------------------------------------------------------


async def test_the_same_events_replayed_give_the_same_points_and_badges(
    core: Core, clock: FakeClock
) -> None:
    """One sequence of events on two fresh workspaces: the same ledger and badges, person
    by person and submission by submission (ids differ, their order does not)."""

    async def replay(
        team: str,
    ) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, str, int]]]:
        async def person(user: str, site: str | None, locale: str = "en") -> MemberView:
            m = await core.onboarding.identify(
                Platform.CONSOLE, team, user, display_name=user, locale=locale
            )
            charter = await core.onboarding.charter(m)
            site_id = await site_named(core, m.workspace_id, site) if site else None
            return await core.onboarding.join(m, charter_version=charter.version, site_id=site_id)

        # cm1 is a CM of every workspace (RELAIS_CMS in the tests' settings).
        cm = await core.onboarding.identify(Platform.CONSOLE, team, "cm1", display_name="cm")
        await say(core, cm, "config referents_review on")
        await say(core, cm, "config points_campaign 7")
        ana = await person("ana", "Lyon")
        rita = await person("rita", "Lyon")
        await core.roles.grant(cm, "rita", Role.REFERENT, "Lyon")
        winter = await campaign(core, cm)
        sites = {n: await site_named(core, cm.workspace_id, n) for n in ("Lyon", "Nantes", "Lille")}
        order: list[int] = []
        events = [
            (ana, "Lyon", None, "changes", rita),
            (ana, "Lyon", None, "approve", rita),
            (ana, "Nantes", winter, "approve", cm),
            (rita, "Lyon", None, "reject", cm),
            (rita, "Lille", winter, "approve", cm),
            (ana, "Lille", None, "approve", cm),
            (ana, "Lyon", winter, "approve", rita),
        ]
        for author, site, camp, decision, by in events:
            [sid] = await seed(core, author, 1, site_id=sites[site], campaign_id=camp)
            order.append(sid)
            if decision == "approve":
                await core.review.approve(by, sid)
            elif decision == "reject":
                await core.review.reject(by, sid, "no")
            else:
                await core.review.request_changes(by, sid, "again")
            clock.advance(minutes=1)
        points = [
            (who, reason, value, order.index(sid))
            for who, reason, value, sid in await ledger(core, cm.workspace_id)
            if sid is not None
        ]
        async with core.db.read() as r:
            rows = await r.session.execute(
                select(Member.external_id, Badge.badge, Badge.submission_id)
                .join(Member, Member.id == Badge.member_id)
                .where(Member.workspace_id == cm.workspace_id)
                .order_by(Badge.id)
            )
            awarded = [(who, badge, order.index(sid)) for who, badge, sid in rows.all()]
        return points, awarded

    first = await replay("T-first")
    second = await replay("T-second")
    assert first == second
    points, awarded = first
    totals: dict[str, int] = {}
    for who, _, value, _ in points:
        totals[who] = totals.get(who, 0) + value
    # ana: four approvals (10 each), her first (20), two in the campaign (7 each); rita:
    # her decisions on three of ana's Lyon submissions (2 each) and her own approved
    # submission from Lille, in the campaign (10 + 20 + 7).
    assert totals == {"ana": 10 * 4 + 20 + 7 * 2, "rita": 2 * 3 + 10 + 20 + 7}
    assert awarded == [
        ("ana", "first_approved", 1),
        ("ana", "first_campaign", 2),
        ("rita", "first_approved", 4),
        ("rita", "first_campaign", 4),
        ("ana", "three_sites", 5),
    ]


# -- programme milestones ------------------------------------------------------------------


async def test_the_100th_approved_photo_is_celebrated_once(
    core: Core, db_url: str, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    from tests.test_rounds import SUMMER_SLOT, WINTER_SLOT, digests, setup_digest

    clock.now = SUMMER_SLOT - timedelta(days=10)
    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana")
    # 98 approved long ago, counted in the workspace's running total.
    await seed(core, ana, 98, status=Status.APPROVED)
    async with core.db.transaction() as r:
        ws = await r.workspaces.get(ana.workspace_id)
        ws.approved_total = 98
    clock.now = SUMMER_SLOT - timedelta(days=2)
    for sid in await seed(core, ana, 3):  # 99, 100, 101 this week
        await core.review.approve(cm, sid)
    # Three replicas reach the slot at once, then a CM asks for an early send.
    clock.now = SUMMER_SLOT
    replicas = [Database(db_url) for _ in range(3)]
    try:
        cores = [Core(core.settings, d, clock=clock) for d in replicas]
        await asyncio.gather(*(c.rounds.tick() for c in cores for _ in range(2)))
    finally:
        for d in replicas:
            await d.dispose()
    clock.now = SUMMER_SLOT + timedelta(hours=1)
    await say(core, cm, "digest send")
    await say(core, cm, "digest send")
    # The next week crosses nothing.
    for sid in await seed(core, ana, 2):
        await core.review.approve(cm, sid)
    clock.now = WINTER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    said = [text_of(m) for m in digests(port)]
    assert len(said) == 2, said
    assert sum(t.count("Milestone: 100 photos") for t in said) == 1
    assert "Milestone: 100 photos" in said[0] and "Milestone" not in said[1]


# -- through the wire ---------------------------------------------------------------------


async def test_slack_badge_dm_and_consented_post_arrive(rig: SlackRig, fake: FakeSlack) -> None:
    assert (await rig.command("UCM1", "/relais", "config digest_channel CDIGEST")).status == 200
    await join(rig, "UAMB")
    assert (await rig.command("UAMB", "/relais", "config me share_badges on")).status == 200
    card = await submit_photo(rig, "UAMB", "Night shift", "FB1")
    _, ts = card_ref(rig)
    approve = buttons(card["blocks"])["review.approve"]
    assert (await rig.click("UCM1", approve, message_ts=ts)).status == 200
    await fake.wait_for(lambda: rig.posts_to("CDIGEST"))
    await fake.wait_for(
        lambda: any("New badge" in texts(p["blocks"]) for p in rig.posts_to("UAMB"))
    )
    [dm] = [p for p in rig.posts_to("UAMB") if "New badge" in texts(p["blocks"])]
    assert "First approved photo" in texts(dm["blocks"])
    [post] = rig.posts_to("CDIGEST")
    [section] = [b for b in post["blocks"] if b["type"] == "section"]
    # A real mention of the person, the label escaped: the only markup Relais sends.
    assert section["text"] == {
        "type": "mrkdwn",
        "text": "New badge, First approved photo, for <@UAMB>",
    }
    assert post["text"] == "Ana Field earned the badge First approved photo"
    me = await (await rig.command("UAMB", "/relais", "me")).json()
    assert "First approved photo" in texts(me["blocks"])


async def test_teams_badge_dm_and_consented_post_arrive(teams_rig: TeamsRig) -> None:
    rig = teams_rig
    await install(rig)
    await teams_join(rig)
    carla = rig.bf.personal_conversation_id("29:carla")
    alice = rig.bf.personal_conversation_id("29:alice")
    before = len(rig.cards_to(carla))
    await rig.send(
        rig.bf.personal_message(
            f"config digest_channel {TEAM}", user_id="29:carla", aad="aad-carla"
        )
    )
    await rig.wait_card(carla, before + 1)
    before = len(rig.cards_to(alice))
    await rig.send(rig.bf.personal_message("config me share_badges on", user_id="29:alice"))
    await rig.wait_card(alice, before + 1)
    form = await send_photo(rig, "Morning delivery", "imgb1")
    submit = executes(form)["submission.create"]
    invoke = rig.bf.invoke_adaptive_card_action(
        "submission.create", {**submit["data"], "caption": "Morning delivery", "appears": "nobody"}
    )
    assert (await rig.send(invoke)).status == 200
    card = await rig.review_card()
    decision = rig.bf.invoke_adaptive_card_action(
        "review.approve",
        executes(card)["review.approve"]["data"],
        user_id="29:carla",
        aad="aad-carla",
        name="Carla CM",
        conversation_id=TEAMS_REVIEW,
    )
    assert (await rig.send(decision)).status == 200
    await rig.bf.wait_for(lambda: any("New badge" in runs(c) for c in rig.cards_to(alice)))
    [dm] = [c for c in rig.cards_to(alice) if "New badge" in runs(c)]
    assert "First approved photo" in runs(dm)
    await rig.bf.wait_for(lambda: any("New badge" in runs(c) for c in rig.cards_to(TEAM)))
    [post] = [c for c in rig.cards_to(TEAM) if "New badge" in runs(c)]
    assert "New badge, First approved photo, for" in runs(post)
    assert post["msteams"]["entities"][0]["mentioned"]["name"] == "Alice"


async def test_the_console_shows_the_badge_and_the_profile_lists_it(
    core: Core, tmp_path: Path
) -> None:
    picture = tmp_path / "team photo.jpg"
    picture.write_bytes(jpeg_bytes())
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",
            "/as alice",
            "/submit Shop window",  # the charter first: a site, accept
            "Lyon",
            "y",
            f"'{picture}'",
            "",
            "",
            "",
            "",
            "1",
            "",
            "",
            "n",
            "y",  # photos, title, caption kept, link, site, who appears (nobody), colleagues,
            # outside agreement, sensitive, send
            "/as cm1",
            "1",  # Approve on the review card
            "/as alice",
            "/relais me",
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert "(Points earned: +30)" in out
    # The badge's DM after the decision's, its heading drawn as the console draws them.
    decision = out.index("Good news: your submission #1 was approved by Cm1.")
    badge = out.index("─── DM to alice ───\nNEW BADGE: FIRST APPROVED PHOTO\nYour first photo")
    assert decision < badge
    assert "Points  : 30\n  Badges  : First approved photo\n" in out
