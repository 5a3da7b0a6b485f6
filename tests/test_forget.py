"""/relais forget and ``relais forget <platform user id>``: a person's data deleted,
approved submissions kept anonymised ("a colleague from Lyon") or deleted as the
workspace says, the audit trail under a pseudonym. On SQLite and PostgreSQL (the core
fixtures), through the wire on Slack, and the CLI."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot import cards
from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.i18n import translator
from bot.outbox import Dispatcher
from bot.settings import Settings
from relais.cli import app
from storage.models import (
    AuditEvent,
    Badge,
    Base,
    CharterAcceptance,
    ForgetMark,
    Media,
    Member,
    MemberRole,
    OutboxMessage,
    PointsEntry,
    ReviewEvent,
    SiteReferent,
    Submission,
)
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, buttons, texts
from tests.support import RecordingPort, ambassador, count_rows, member, photo, text_of
from tests.test_cli import env_for, runner
from tests.test_slack import REVIEW, fake, join, rig, submit_photo

__all__ = ["fake", "rig"]


async def _programme(core: Core) -> dict[str, int]:
    """Ana (Lyon, referent) with one approved, one pending and one rejected submission;
    Bob's pending one has the very same photo as Ana's pending one (one file, two rows)."""
    ana = await ambassador(core, "UANA", "Ana")
    bob = await ambassador(core, "UBOB", "Bob", site="Paris")
    carla = await member(core, "cm1", "Carla")
    await core.roles.grant(carla, "<@UANA>", cards.Role.REFERENT, "Lyon")
    approved = await core.submissions.create(ana, photos=[await photo(core)], caption="Kept")
    await core.review.approve(carla, approved.id)
    shared = await photo(core, (9, 9, 9))
    pending = await core.submissions.create(ana, photos=[shared], caption="Pending one")
    await core.submissions.create(bob, photos=[shared], caption="Bob's")
    rejected = await core.submissions.create(
        ana, photos=[await photo(core, (50, 60, 70))], caption="Rejected one"
    )
    await core.review.reject(carla, rejected.id, reason="Blurry")
    return {"ana": ana.id, "approved": approved.id, "pending": pending.id, "rejected": rejected.id}


async def test_forget_deletes_the_persons_data_and_keeps_approved_work_anonymised(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    ids = await _programme(core)
    await dispatcher.drain()
    async with core.db.read() as r:
        ana = await r.members.view(ids["ana"])
        files = {
            m.storage_key: core.store.path(m.storage_key)
            for m in (await r.session.scalars(select(Media))).all()
        }
        rejected_key = (
            await r.session.scalars(
                select(Media.storage_key).where(Media.owner_id == ana.id).order_by(Media.id)
            )
        ).all()[-1]
    assert all(path.exists() for path in files.values())

    prompt = await handle_command(core, ana, "/relais", "forget")
    assert prompt.message is not None
    assert "a colleague from your site" in text_of(prompt.message)
    done = await handle_action(core, ana, "forget.confirm", str(ana.id))
    assert done.message is not None and not done.failed
    assert "One approved submission stays" in text_of(done.message)

    async with core.db.read() as r:
        row = await r.session.get_one(Member, ana.id)
        assert row.external_id.startswith("forgotten:") and row.display_name == ""
        assert row.forgotten_at is not None and row.locale is None
        assert await r.members.find(ana.workspace_id, "UANA") is None
        pseudonym = row.external_id
        remaining = set(
            await r.session.scalars(select(Submission.id).where(Submission.author_id == ana.id))
        )
        kept = await r.members.view(ana.id)
    assert remaining == {ids["approved"]} and kept.forgotten
    for model in (MemberRole, SiteReferent, CharterAcceptance, PointsEntry, Badge):
        assert await count_rows(core.db, model, model.member_id == ana.id) == 0
    # Nothing is addressed to her any more; the audit trail names the pseudonym only.
    async with core.db.read() as r:
        targets = (await r.session.scalars(select(OutboxMessage.target))).all()
        subjects = (await r.session.scalars(select(AuditEvent.subject))).all()
        actions = dict(
            (await r.session.execute(select(AuditEvent.action, AuditEvent.subject))).all()
        )
    assert all("UANA" not in (t.get("id"), t.get("user")) for t in targets)
    assert "UANA" not in subjects
    assert actions["role.grant"] == pseudonym and actions["member.forget"] == pseudonym
    # The rejected photo's file is gone; the one Bob shares stays, as does the approved one.
    assert not files[rejected_key].exists()
    assert sum(path.exists() for path in files.values()) == len(files) - 1

    # The cards: the deleted ones say so; the kept one shows "a colleague from Lyon".
    await dispatcher.drain()
    updates = [text_of(u.message) for u in port.updates]
    assert any(f"#{ids['pending']} was deleted at its author's request" in u for u in updates)
    assert any("a colleague from Lyon" in u and "Ana" not in u for u in updates)
    digest, config = await core.rounds.preview(ana.workspace_id)
    shown = text_of(cards.digest_message(translator("en"), digest, config.timezone))
    assert "a colleague from Lyon" in shown and "Ana" not in shown

    # Writing again later makes her a new member, with nothing of the old one.
    again = await member(core, "UANA", "Ana")
    assert again.id != ana.id and again.roles == frozenset()


async def test_the_audit_trail_accepts_only_pseudonymisation(core: Core) -> None:
    ids = await _programme(core)
    async with core.db.read() as r:
        ana = await r.members.view(ids["ana"])
    await core.forgetting.forget(ana)
    for change in ({"action": "role.revoke"}, {"subject": "someone else"}):
        with pytest.raises((DBAPIError, IntegrityError)):
            async with core.db.transaction() as r:
                await r.session.execute(update(AuditEvent).values(**change))
    # Review events: only what a reviewer wrote may be rewritten (a forgotten name), and
    # only inside a transaction that forgets someone (it holds a mark, never committed).
    with pytest.raises((DBAPIError, IntegrityError)):
        async with core.db.transaction() as r:
            await r.session.execute(update(ReviewEvent).values(reason="edited"))
    async with core.db.transaction() as r:
        r.session.add(ForgetMark(at=core.clock()))
        await r.session.flush()
        await r.session.execute(update(ReviewEvent).values(reason="a colleague"))
        await r.session.execute(delete(ForgetMark))
    assert await count_rows(core.db, ForgetMark) == 0
    for review_change in ({"action": "approved"}, {"to_status": "approved"}):
        with pytest.raises((DBAPIError, IntegrityError)):
            async with core.db.transaction() as r:
                await r.session.execute(update(ReviewEvent).values(**review_change))


async def test_forget_with_approved_deleted_and_someone_elses_button(
    core: Core, dispatcher: Dispatcher
) -> None:
    ids = await _programme(core)
    carla = await member(core, "cm1", "Carla")
    await handle_command(core, carla, "/relais", "config forget_approved delete")
    async with core.db.read() as r:
        ana = await r.members.view(ids["ana"])
    # Carla clicking a prompt meant for Ana (a forwarded card) forgets nobody.
    refused = await handle_action(core, carla, "forget.confirm", str(ana.id))
    assert refused.failed and refused.message is not None
    assert "someone else" in text_of(refused.message)
    assert await count_rows(core.db, Member, Member.forgotten_at.is_not(None)) == 0
    prompt = await handle_command(core, ana, "/relais", "forget")
    assert prompt.message is not None and "deleted too" in text_of(prompt.message)
    done = await core.forgetting.forget(ana)
    assert (done.deleted, done.kept) == (3, 0)
    async with core.db.read() as r:
        left = await r.session.scalar(
            select(func.count()).select_from(Submission).where(Submission.author_id == ana.id)
        )
    assert left == 0


async def test_relais_forget_cli_for_someone_who_left(core: Core, settings: Settings) -> None:
    ids = await _programme(core)
    env = env_for(settings)
    missing = await asyncio.to_thread(runner.invoke, app, ["forget", "UNOBODY", "--yes"], env=env)
    assert missing.exit_code == 2 and "No member 'UNOBODY'" in missing.output
    asked = await asyncio.to_thread(runner.invoke, app, ["forget", "UANA"], env=env, input="n\n")
    assert asked.exit_code == 1 and "Nothing done" in asked.output
    done = await asyncio.to_thread(runner.invoke, app, ["forget", "UANA", "--yes"], env=env)
    assert done.exit_code == 0, done.output
    assert "2 submission(s) deleted, 1 kept anonymised" in done.output
    async with core.db.read() as r:
        row = await r.session.get_one(Member, ids["ana"], populate_existing=True)
        events = (
            await r.session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "member.forget")
            )
        ).all()
    assert row.forgotten_at is not None
    assert [e["by"] for e in events] == ["admin"]


async def test_slack_forget_asks_then_forgets_the_one_who_clicks(
    rig: SlackRig, fake: FakeSlack
) -> None:
    await join(rig, "UAMB")
    await submit_photo(rig, "UAMB", "Breakfast", "F1")
    prompt = await (await rig.command("UAMB", "/relais", "forget")).json()
    assert prompt["response_type"] == "ephemeral" and "Forget me" in texts(prompt["blocks"])
    button = buttons(prompt["blocks"])["forget.confirm"]
    # Someone else clicking the same button is refused.
    assert (await rig.click("UOTHER", button, channel="CGENERAL")).status == 200
    await fake.wait_for(lambda: fake.calls_to("chat.postEphemeral"))
    (refused,) = fake.calls_to("chat.postEphemeral")
    assert refused.params["user"] == "UOTHER" and "someone else" in str(refused.params)
    assert (await rig.click("UAMB", button, channel="CGENERAL")).status == 200
    await fake.wait_for(lambda: len(fake.calls_to("chat.postEphemeral")) == 2)
    done = fake.calls_to("chat.postEphemeral")[-1]
    assert done.params["user"] == "UAMB" and "Relais has forgotten you" in str(done.params)
    # The review card of the pending photo now says it was deleted.
    await fake.wait_for(
        lambda: any("deleted at its author" in str(c.params) for c in fake.calls_to("chat.update"))
    )
    (update,) = fake.calls_to("chat.update")
    assert update.params["channel"] == REVIEW


NAME, USER = "Anaïs Zorglub", "UZORG"


async def test_after_forget_no_table_nor_stored_file_holds_their_id_or_name(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    """The issue's check: a search of every table and of the media store for the person's
    platform id and name finds nothing (but the pseudonym), after a programme that put
    them everywhere: roles, the audit trail, cards, a digest, others' captions and a
    DM about them, their own data export, a CM's export, a job."""
    carla = await member(core, "cm1", "Carla")
    await handle_command(core, carla, "/relais", "config digest_channel C-digest")
    anais = await ambassador(core, USER, NAME)
    bob = await ambassador(core, "UBOB", "Bob", site="Paris")
    await core.roles.grant(carla, f"<@{USER}>", cards.Role.REFERENT, "Lyon")
    kept = await core.submissions.create(anais, photos=[await photo(core)], caption="Mine")
    await core.review.approve(carla, kept.id)
    await core.thanks.thank(carla, kept.id, f"Thank you {NAME}!")
    await core.submissions.create(anais, photos=[await photo(core, (3, 3, 3))], caption="Wait")
    about = await core.submissions.create(
        bob, photos=[await photo(core, (5, 5, 5))], caption=f"With {NAME} at the plant"
    )
    await core.review.reject(carla, about.id, reason=f"Ask {NAME} first")
    async with core.db.transaction() as r:
        await r.jobs.add(
            kind="slack.submission", key="j1", payload={"user": USER}, now=core.clock()
        )
    await core.rounds.send_now(anais.workspace_id)
    await handle_command(core, anais, "/relais", "mydata")
    await handle_command(core, carla, "/relais", "export")
    await dispatcher.drain()
    assert any(NAME in text_of(m) for m in port.in_channel("C-digest"))

    await core.forgetting.forget(anais)
    await dispatcher.drain()

    needles = (USER, NAME, "Zorglub")
    async with core.db.read() as r:
        for table in Base.metadata.sorted_tables:
            for row in (await r.session.execute(select(table))).all():
                text = json.dumps([_plain(v) for v in row], ensure_ascii=False)
                for needle in needles:
                    assert needle not in text, (table.name, text[:300])
    for path in core.store.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in data, path
    # What stays reads as a colleague: Bob's caption, and the approved work.
    async with core.db.read() as r:
        caption = (await r.session.get_one(Submission, about.id)).caption
    assert caption == "With a colleague at the plant"


def _plain(value: object) -> object:
    return (
        value if isinstance(value, (str, int, float, bool, type(None), dict, list)) else str(value)
    )
