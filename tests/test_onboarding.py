"""Onboarding: identity and role bootstrap, charter gating, join/leave, profile, commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.errors import CharterChanged, CharterNotAccepted, NotAllowed, NotAmbassador
from bot.outbox import Dispatcher
from bot.settings import Settings
from bot.ui import FileInput, TextInput
from domain import MemberView, Platform, Role, Status
from relais.server import build_app
from tests.support import (
    WORKSPACE,
    FakeClock,
    RecordingPort,
    ambassador,
    member,
    photo,
    site_named,
    text_of,
)


async def submit(core: Core, who: MemberView, caption: str = "from the field", color: int = 1):
    """One pending submission with a photo of its own colour (so it is never a duplicate)."""
    pic = await photo(core, (color * 20 % 256, 90, 150))
    return await core.submissions.create(who, photos=[pic], caption=caption)


async def test_identify_creates_workspace_member_and_charter_v1(core: Core) -> None:
    alice = await member(core, "alice", "Alice Martin")
    assert alice.external_id == "alice" and alice.display_name == "Alice Martin"
    assert alice.roles == frozenset() and alice.site_id is None and alice.locale == "en"
    async with core.db.transaction() as r:
        ws = await r.workspaces.get(alice.workspace_id)
        assert (ws.platform, ws.external_id, ws.locale) == ("console", WORKSPACE, "en")
        charter = await r.charters.current(ws.id)
        assert charter is not None and charter.version == 1 and charter.text.strip()
        assert await r.charters.accepted_version(alice.id) is None
    again = await member(core, "alice", "Alice M.")
    assert (again.id, again.workspace_id, again.display_name) == (
        alice.id,
        alice.workspace_id,
        "Alice M.",
    ), "the same person is found again, and the new name is kept"
    async with core.db.transaction() as r:
        charter = await r.charters.current(alice.workspace_id)
        assert charter is not None and charter.version == 1, "no second charter on re-identify"


async def test_settings_bootstrap_cm_and_approver_roles(core: Core) -> None:
    cm1, cm2, boss, bob = [await member(core, u) for u in ("cm1", "cm2", "boss", "bob")]
    assert cm1.roles == frozenset({Role.CM}) and cm2.roles == frozenset({Role.CM})
    assert boss.roles == frozenset({Role.APPROVER})
    assert bob.roles == frozenset()
    assert len({cm1.workspace_id, cm2.workspace_id, boss.workspace_id, bob.workspace_id}) == 1
    async with core.db.transaction() as r:
        assert [m.external_id for m in await r.members.with_role(cm1.workspace_id, Role.CM)] == [
            "cm1",
            "cm2",
        ]


async def test_an_approver_named_in_settings_counts_before_speaking_to_the_bot(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb = await ambassador(core, "amb", "Ana")  # the workspace's first request
    carla = await member(core, "cm1", "Carla")
    pic = await photo(core, (10, 200, 90))
    sub = await core.submissions.create(amb, photos=[pic], caption="the CEO on site")
    escalated = await core.review.escalate(carla, sub.id, "Shows the CEO")
    assert escalated.status is Status.ESCALATED, "boss never wrote to Relais, and counts"
    await dispatcher.drain()
    [card] = [m for m in port.dms_to("boss") if "review.approve" in [b.action for b in m.buttons()]]
    assert "Carla passed submission" in text_of(card)
    boss = await member(core, "boss", "Bea")  # when Bea writes, the same row gets her name
    assert boss.roles == frozenset({Role.APPROVER}) and boss.display_name == "Bea"
    async with core.db.read() as r:
        approvers = await r.members.with_role(amb.workspace_id, Role.APPROVER)
    assert [m.external_id for m in approvers] == ["boss"]


async def test_roles_in_settings_are_given_at_start_in_existing_workspaces(
    core: Core, settings: Settings
) -> None:
    carla = await member(core, "cm1", "Carla")
    later = settings.model_copy(update={"relais_admins": ["root"], "relais_approvers": ["boss2"]})
    restarted = Core(later, core.db, clock=core.clock)
    server = TestServer(build_app(restarted))
    await server.start_server()
    await server.close()
    async with core.db.read() as r:
        admins = await r.members.with_role(carla.workspace_id, Role.ADMIN)
        approvers = await r.members.with_role(carla.workspace_id, Role.APPROVER)
    assert [m.external_id for m in admins] == ["root"]
    assert [m.external_id for m in approvers] == ["boss", "boss2"]


async def test_settings_ids_are_given_roles_only_on_the_platform_they_belong_to(
    core: Core, settings: Settings
) -> None:
    mixed = settings.model_copy(
        update={"relais_cms": ["UCM1", "aad-carla"], "relais_approvers": ["W0BOSS"]}
    )
    both = Core(mixed, core.db, clock=core.clock)
    found: dict[Platform, list[tuple[str, str]]] = {}
    for platform in (Platform.SLACK, Platform.TEAMS, Platform.CONSOLE):
        someone = await both.onboarding.identify(platform, f"{platform.value}-ws", "someone")
        async with both.db.read() as r:
            rows = []
            for role in (Role.CM, Role.APPROVER):
                for m in await r.members.with_role(someone.workspace_id, role):
                    rows.append((m.external_id, role.value))
        found[platform] = sorted(rows)
    assert found[Platform.SLACK] == [("UCM1", "cm"), ("W0BOSS", "approver")]
    assert found[Platform.TEAMS] == [("aad-carla", "cm")]
    assert found[Platform.CONSOLE] == [("UCM1", "cm"), ("W0BOSS", "approver"), ("aad-carla", "cm")]


async def test_submitting_before_joining_is_refused(core: Core) -> None:
    bob = await member(core, "bob")
    with pytest.raises(NotAmbassador):
        await submit(core, bob)


async def test_join_with_current_version_makes_an_ambassador_with_a_site(core: Core) -> None:
    bob = await member(core, "bob")
    charter = await core.onboarding.charter(bob)
    assert (charter.version, charter.accepted_version, charter.accepted) == (1, None, False)
    lyon = await site_named(core, bob.workspace_id, "  Lyon plant ")
    joined = await core.onboarding.join(bob, charter_version=1, site_id=lyon)
    assert joined.roles == frozenset({Role.AMBASSADOR})
    assert await core.sites.names(bob.workspace_id) == [(joined.site_id, "Lyon plant")]
    assert (await core.onboarding.charter(joined)).accepted
    sub = await submit(core, joined)
    assert sub.status is Status.PENDING and sub.site_name == "Lyon plant"


async def test_new_charter_version_gates_submissions_until_accepted(core: Core) -> None:
    cm = await member(core, "cm1")
    amb = await ambassador(core, "amb")
    await submit(core, amb, color=1)
    assert await core.onboarding.publish_charter(cm, "  Charter v2: be kind.  ") == 2
    charter = await core.onboarding.charter(amb)
    assert (charter.version, charter.text, charter.accepted_version) == (
        2,
        "Charter v2: be kind.",
        1,
    )
    with pytest.raises(CharterNotAccepted) as refused:
        await submit(core, amb, color=2)
    assert refused.value.params == {"version": 2}
    with pytest.raises(CharterChanged) as stale:
        await core.onboarding.join(amb, charter_version=1)
    assert stale.value.params == {"version": 2}
    with pytest.raises(CharterNotAccepted):
        await submit(core, amb, color=2)
    rejoined = await core.onboarding.join(amb, charter_version=2)
    assert rejoined.site_id == amb.site_id, "re-joining without a site keeps the old one"
    sub = await submit(core, rejoined, color=2)
    assert sub.status is Status.PENDING
    async with core.db.transaction() as r:
        assert len(await r.submissions.by_author(amb.id)) == 2


async def test_only_a_cm_can_publish_the_charter(core: Core) -> None:
    amb = await ambassador(core, "amb")
    boss = await member(core, "boss")
    for who in (amb, boss):
        with pytest.raises(NotAllowed):
            await core.onboarding.publish_charter(who, "my own charter")
    assert (await core.onboarding.charter(amb)).version == 1
    assert (await core.onboarding.charter(amb)).accepted, "nothing was published"


async def test_leave_removes_the_role_and_submitting_is_refused(core: Core) -> None:
    amb = await ambassador(core, "amb")
    assert await core.onboarding.leave(amb) is True
    async with core.db.transaction() as r:
        assert (await r.members.view(amb.id)).roles == frozenset()
    assert await core.onboarding.leave(amb) is False, "leaving twice says so"
    with pytest.raises(NotAmbassador):
        await submit(core, amb)


async def test_after_leave_me_no_longer_says_the_charter_is_accepted(core: Core) -> None:
    amb = await ambassador(core, "amb")
    before = text_of((await handle_command(core, amb, "/relais", "me")).message)
    assert "Version 1 accepted" in before
    await handle_command(core, amb, "/relais", "leave")
    after = text_of((await handle_command(core, amb, "/relais", "me")).message)
    assert "Version 1 accepted" not in after and "/relais join" in after
    assert not (await core.onboarding.charter(amb)).accepted
    async with core.db.read() as r:
        assert await r.charters.accepted_version(amb.id) == 1, "the record of acceptance stays"
    rejoined = await core.onboarding.join(amb, charter_version=1)
    assert (await core.onboarding.profile(rejoined)).charter.accepted


async def test_profile_points_charter_recent_and_review_queue(core: Core, clock: FakeClock) -> None:
    cm = await member(core, "cm1", "Carla")
    amb = await ambassador(core, "amb", "Ana")
    ids = []
    for i, caption in enumerate(["first", "second", "third"]):
        ids.append((await submit(core, amb, caption, color=i + 1)).id)
        clock.advance(minutes=10)
    await core.review.approve(cm, ids[1])

    mine = await core.onboarding.profile(amb)
    # The approval and the bonus of a first approved submission.
    assert mine.points == core.settings.relais_points_per_approval + 20 == 30
    assert (mine.charter.version, mine.charter.accepted) == (1, True)
    assert mine.site_name == "Lyon"
    assert [(s.id, s.caption, s.status) for s in mine.recent] == [
        (ids[2], "third", Status.PENDING),
        (ids[1], "second", Status.APPROVED),
        (ids[0], "first", Status.PENDING),
    ], "newest first"
    assert mine.awaiting_review == (), "an ambassador has no review queue"

    queue = await core.onboarding.profile(cm)
    assert [(s.id, s.caption) for s in queue.awaiting_review] == [
        (ids[0], "first"),
        (ids[2], "third"),
    ], "oldest first, decided ones left out"
    assert queue.points == 0 and queue.recent == ()
    assert (queue.charter.version, queue.charter.accepted) == (1, False)


async def test_snooze_two_weeks_then_off(core: Core, clock: FakeClock) -> None:
    amb = await ambassador(core, "amb")
    reply = await handle_command(core, amb, "/relais", "snooze 2w")
    assert reply.message is not None and "Reminders paused until" in reply.message.text
    assert (await core.onboarding.profile(amb)).snoozed_until == clock() + timedelta(days=14)
    reply = await handle_command(core, amb, "/relais", "snooze off")
    assert reply.message is not None and reply.message.text == "Reminders are back on."
    assert (await core.onboarding.profile(amb)).snoozed_until is None


async def test_submit_before_joining_goes_through_the_charter_then_the_form(
    core: Core,
) -> None:
    bob = await member(core, "bob")
    reply = await handle_command(core, bob, "/submit", "hello")
    assert reply.form is not None and reply.form.action == "charter.accept"
    assert reply.form.value == "1:submit:hello"
    assert reply.message is not None and reply.message.text == (
        "To send photos, first read and accept the ambassador charter."
    )

    lyon = await site_named(core, bob.workspace_id, "Lyon")
    accepted = await handle_action(
        core, bob, "charter.accept", reply.form.value, {"site": str(lyon)}
    )
    assert accepted.errors == {}
    assert accepted.message is not None
    assert "You accepted charter version 1." in accepted.message.text
    form = accepted.form
    assert form is not None and form.action == "submission.create"
    caption = next(i for i in form.inputs if isinstance(i, TextInput) and i.name == "caption")
    assert caption.initial == "hello"
    assert any(isinstance(i, FileInput) and i.name == "photos" for i in form.inputs)
    async with core.db.transaction() as r:
        fresh = await r.members.view(bob.id)
        assert Role.AMBASSADOR in fresh.roles
        assert await r.charters.accepted_version(bob.id) == 1
    assert await core.sites.names(bob.workspace_id) == [(fresh.site_id, "Lyon")]


async def test_accepting_a_stale_charter_form_says_it_changed(core: Core) -> None:
    cm = await member(core, "cm1")
    bob = await member(core, "bob")
    form = (await handle_command(core, bob, "/submit", "hi")).form
    assert form is not None
    await core.onboarding.publish_charter(cm, "Charter v2")
    reply = await handle_action(core, bob, "charter.accept", form.value, {})
    assert reply.form is None
    assert reply.message is not None
    assert "The charter was updated to version 2" in reply.message.text
    async with core.db.transaction() as r:
        assert Role.AMBASSADOR not in (await r.members.view(bob.id)).roles


async def test_french_member_reads_french(core: Core) -> None:
    marie = await member(core, "marie", "Marie", locale="fr-FR")
    assert marie.locale == "fr"
    reply = await handle_command(core, marie, "/relais", "aide")
    assert reply.message is not None
    assert reply.message.text == "Relais : ce que vous pouvez faire"
    assert "Relais transmet vos photos du terrain" in text_of(reply.message)
    english = await handle_command(core, await member(core, "bob"), "/relais", "help")
    assert english.message is not None and english.message.text == "Relais: what you can do"


async def test_charter_file_edit_publishes_a_new_version(core: Core, tmp_path: Path) -> None:
    charter_file = tmp_path / "charter.txt"
    charter_file.write_text("- Be kind.\n")
    settings = core.settings.model_copy(update={"relais_charter_file": charter_file})
    with_file = Core(settings, core.db, clock=core.clock)
    amb = await ambassador(with_file, "amb")
    assert (await with_file.onboarding.charter(amb)).text == "- Be kind."
    assert await with_file.onboarding.sync_charter_file() == [], "unchanged text: no version"
    charter_file.write_text("- Be kind.\n- Ask before you shoot.\n")
    assert await with_file.onboarding.sync_charter_file() == [amb.workspace_id]
    charter = await with_file.onboarding.charter(amb)
    assert (charter.version, charter.accepted) == (2, False)
    with pytest.raises(CharterNotAccepted):
        await with_file.submissions.create(amb, photos=[await photo(with_file)], caption="x")
