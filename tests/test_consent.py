"""Consent of the people in a photo (issue 13), on the core, SQLite and PostgreSQL.

The form says who appears; each colleague named is asked by DM and answers with a
button only they can use; the review card shows the answers as they come; approval for
use outside the company waits for everyone (or warns, as the workspace chooses);
``/relais consent`` lists the photos one appears in with Withdraw; a withdrawal keeps the
photo out of digests and the export's external use, tells the CMs and is audited; one
polite reminder goes to whoever has not answered. The platforms' pickers are tested
through the wire in tests/test_consent_platforms.py.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.i18n import translator
from bot.outbox import Dispatcher
from bot.ui import Image, Message
from domain import Appears, ConsentState, MemberView, Status, SubmissionView
from storage.models import AuditEvent, Consent, Submission
from tests.conftest import REVIEW_CHANNEL
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    count_rows,
    member,
    photo,
    scratch_database,
    stored,
    text_of,
)

t = translator("en")
fr = translator("fr")


def buttons(message: Message) -> dict[str, str]:
    """action -> value of a message's buttons."""
    return {b.action: b.value for b in message.buttons()}


async def send(core: Core, who: MemberView, values: dict[str, Any], color: int = 1) -> Any:
    pic = await photo(core, (color * 37 % 256, 120, 60))
    base = {"caption": f"Team lunch {color}"}
    return await handle_action(core, who, "submission.create", "", {**base, **values}, [pic])


async def named_submission(core: Core, ana: MemberView, *people: str) -> SubmissionView:
    reply = await send(core, ana, {"appears": "colleagues", "people": list(people)})
    assert not reply.failed, reply
    return await stored(core, await _last_id(core))


async def _last_id(core: Core) -> int:
    async with core.db.read() as r:
        return int(await r.session.scalar(select(func.max(Submission.id))) or 0)


async def test_who_appears_is_required_and_checked(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    await member(core, "bo", "Bo")
    # No answer: refused on that field (no default that would mean "nobody").
    reply = await send(core, ana, {})
    assert reply.failed and reply.errors == {"appears": t("error.appears_required")}
    # Colleagues, but nobody picked (naming oneself does not count).
    for people in ([], ["amb"]):
        reply = await send(core, ana, {"appears": "colleagues", "people": people})
        assert reply.errors == {"people": t("error.people_required")}
    # Names that are nobody here are refused, naming them.
    reply = await send(core, ana, {"appears": "colleagues", "people": ["bo", "@zed", "Quinn"]})
    assert reply.errors == {"people": t("error.unknown_people", names="zed, Quinn")}
    # People outside the company: the author must declare holding their agreement.
    reply = await send(core, ana, {"appears": "outside", "outside_agreement": False})
    assert reply.errors == {"outside_agreement": t("error.outside_agreement_required")}
    reply = await send(core, ana, {"appears": "outside", "outside_agreement": True})
    assert not reply.failed, reply
    sub = await stored(core, await _last_id(core))
    assert (sub.appears, sub.people_consented, sub.consents) == (Appears.OUTSIDE, True, ())
    assert sub.external_use_ok, "their written agreement is declared"
    reply = await send(core, ana, {"appears": "nobody", "people": ["bo"]}, color=2)
    assert not reply.failed
    nobody = await stored(core, await _last_id(core))
    assert (nobody.appears, nobody.consents) == (Appears.NOBODY, ())
    assert nobody.external_use_ok


async def test_named_colleagues_answer_and_the_card_follows(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    bo = await member(core, "bo", "Bo")
    cleo = await member(core, "cleo", "Cléo", locale="fr")
    sub = await named_submission(core, ana, "bo", "@Cléo")
    assert [(c.name, c.state) for c in sub.consents] == [
        ("Bo", ConsentState.PENDING),
        ("Cléo", ConsentState.PENDING),
    ]
    await dispatcher.drain()
    # Each gets the photo, who sent it and two buttons, in their own language.
    (ask_bo,) = port.dms_to("bo")
    assert t("consent.request", author="Ana", id=sub.id) in text_of(ask_bo)
    assert any(isinstance(b, Image) for b in ask_bo.blocks)
    assert set(buttons(ask_bo)) == {"consent.agree", "consent.decline"}
    (ask_cleo,) = port.dms_to("cleo")
    assert fr("consent.request", author="Ana", id=sub.id) in text_of(ask_cleo)
    # The review card lists them, waiting, and offers "Approve (internal only)".
    (card,) = port.in_channel(REVIEW_CHANNEL)
    assert "Bo\nwaiting" in text_of(card) and "Cléo\nwaiting" in text_of(card)
    assert {"review.approve", "review.approve_internal"} <= set(buttons(card))

    reply = await handle_action(core, bo, "consent.agree", buttons(ask_bo)["consent.agree"])
    assert not reply.failed and t("consent.agreed", id=sub.id) in text_of(reply.message)
    await dispatcher.drain()
    updated = port.updates[-1].message
    assert "Bo\nagreed" in text_of(updated) and "Cléo\nwaiting" in text_of(updated)
    # A double click changes nothing and queues nothing.
    before = len(port.updates)
    await handle_action(core, bo, "consent.agree", buttons(ask_bo)["consent.agree"])
    await dispatcher.drain()
    assert len(port.updates) == before

    # Approval for outside use waits for Cléo (block, the default); internal use does not.
    carla = await member(core, "cm1")
    value = f"{sub.id}:{sub.revision}"
    refused = await handle_action(core, carla, "review.approve", value)
    assert refused.failed
    assert t("error.consent_incomplete", names="Cléo") in text_of(refused.message)
    assert (await stored(core, sub.id)).status is Status.PENDING
    done = await handle_action(core, carla, "review.approve_internal", value)
    assert not done.failed, done
    after = await stored(core, sub.id)
    assert (after.status, after.internal_only, after.external_use_ok) == (
        Status.APPROVED,
        True,
        False,
    )
    await dispatcher.drain()
    assert t("card.internal_only") in text_of(port.updates[-1].message)
    # The author is told (a badge DM may follow the outcome's).
    assert any(t("card.internal_only") in text_of(m) for m in port.dms_to("amb"))

    # Cléo declines once it is approved: a withdrawal, told to the CMs and audited.
    await handle_action(core, cleo, "consent.decline", buttons(ask_cleo)["consent.decline"])
    await dispatcher.drain()
    after = await stored(core, sub.id)
    assert after.consent_withdrawn
    assert [c.state for c in after.consents] == [ConsentState.AGREED, ConsentState.DECLINED]
    note = t("consent.cms_withdrawn", id=sub.id, name="Cléo", author="Ana")
    assert note in text_of(port.in_channel(REVIEW_CHANNEL)[-1])
    assert t("card.consent_withdrawn") in text_of(port.updates[-1].message)
    async with core.db.read() as r:
        actions = list(await r.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["consent.agreed", "consent.declined"]


async def test_the_warn_rule_lets_outside_use_through_with_a_warning(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    await member(core, "bo", "Bo")
    assert not (await handle_command(core, carla, "/relais", "config consent_rule warn")).failed
    bad = await handle_command(core, carla, "/relais", "config consent_rule maybe")
    assert bad.failed
    sub = await named_submission(core, ana, "bo")
    done = await handle_action(core, carla, "review.approve", f"{sub.id}:{sub.revision}")
    assert not done.failed, done
    after = await stored(core, sub.id)
    assert after.status is Status.APPROVED and not after.internal_only
    assert not after.external_use_ok, "Bo has not agreed: not cleared for outside use"
    await dispatcher.drain()
    assert t("card.consent_warning") in text_of(port.updates[-1].message)


async def test_consent_list_withdraw_digest_and_export(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    bo = await member(core, "bo", "Bo")
    sub = await named_submission(core, ana, "bo")
    assert not (await handle_action(core, bo, "consent.agree", str(sub.consents[0].id))).failed
    await handle_action(core, carla, "review.approve", f"{sub.id}:{sub.revision}")
    other = await send(core, ana, {"appears": "nobody"}, color=5)
    assert not other.failed
    own = await stored(core, await _last_id(core))
    await handle_action(core, carla, "review.approve", f"{own.id}:{own.revision}")
    assert (await stored(core, sub.id)).external_use_ok

    digest, _ = await core.rounds.preview(ana.workspace_id)
    assert [h.id for h in digest.highlights] == [sub.id, own.id]
    listing = (await core.stats.submissions_csv(ana.workspace_id, "UTC")).splitlines()
    rows = list(csv.DictReader(io.StringIO("\n".join(listing))))
    assert (rows[0]["appears"], rows[0]["people_named"], rows[0]["people_agreed"]) == (
        "colleagues",
        "1",
        "1",
    )
    assert [r["external_use"] for r in rows] == ["yes", "yes"]

    # Bo's list: the photo he is in, his answer, Withdraw. Ana's: her own photos in use.
    mine = await handle_command(core, bo, "/relais", "consent")
    assert "your answer: agreed" in text_of(mine.message)
    withdraw = buttons(mine.message)["consent.withdraw"]
    # French word too.
    assert not (await handle_command(core, bo, "/relais", "consentement")).failed
    hers = await handle_command(core, ana, "/relais", "consent")
    assert set(buttons(hers.message)) == {"consent.withdraw_own"}
    assert buttons(hers.message)["consent.withdraw_own"] in (str(sub.id), str(own.id))

    reply = await handle_action(core, bo, "consent.withdraw", withdraw)
    assert t("consent.withdrawn", id=sub.id) in text_of(reply.message)
    # The author withdraws her other photo's outside use the same way.
    reply = await handle_action(core, ana, "consent.withdraw_own", str(own.id))
    assert not reply.failed, reply
    for gone in (sub.id, own.id):
        assert (await stored(core, gone)).consent_withdrawn
    digest, _ = await core.rounds.preview(ana.workspace_id)
    assert digest.highlights == () and digest.approved == 2, "counted, never shown"
    rows = list(csv.DictReader(io.StringIO(await core.stats.submissions_csv(1, "UTC"))))
    assert [(r["consent_withdrawn"], r["external_use"]) for r in rows] == [("yes", "no")] * 2
    await dispatcher.drain()
    channel = text_of(port.in_channel(REVIEW_CHANNEL)[-1])
    assert t("consent.cms_withdrawn_author", id=own.id, name="Ana", author="Ana") in channel
    async with core.db.read() as r:
        details = list(
            await r.session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "consent.withdrawn")
            )
        )
    assert [d["by"] for d in details] == ["person", "author"]
    # Withdrawn stays withdrawn: a later "I agree" is refused.
    again = await handle_action(core, bo, "consent.agree", withdraw)
    assert again.failed and t("error.consent_withdrawn_already") in text_of(again.message)


async def test_one_polite_reminder_in_working_hours(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Paris
    ana = await ambassador(core, "amb", "Ana")
    await member(core, "bo", "Bo")
    await member(core, "cleo", "Cleo")
    first = await named_submission(core, ana, "bo", "cleo")
    await send(core, ana, {"appears": "colleagues", "people": ["bo"]}, color=7)
    await handle_action(
        core, await member(core, "cleo"), "consent.agree", str(first.consents[1].id)
    )
    await dispatcher.drain()
    asked = len(port.dms_to("bo"))
    assert asked == 2
    clock.advance(hours=47)
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(port.dms_to("bo")) == asked, "not before 48 hours"
    clock.now = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)  # 23:30 in Paris: quiet hours
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(port.dms_to("bo")) == asked
    clock.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    await core.rounds.tick()
    await core.rounds.tick()
    await dispatcher.drain()
    dms = port.dms_to("bo")
    assert len(dms) == asked + 1, "one a day per person"
    assert t("consent.reminder", author="Ana") in text_of(dms[-1])
    assert set(buttons(dms[-1])) == {"consent.agree", "consent.decline"}
    assert port.dms_to("cleo")[1:] == [], "Cleo answered: no reminder"
    clock.advance(days=1)
    await core.rounds.tick()
    clock.advance(days=1)
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(port.dms_to("bo")) == asked + 2, "the second request's one reminder, next day"
    async with core.db.read() as r:
        reminded = list(await r.session.scalars(select(Consent.reminded_at)))
    assert sum(1 for at in reminded if at is not None) == 2


async def test_resubmission_keeps_answers_and_asks_newcomers(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    bo = await member(core, "bo", "Bo")
    await member(core, "cleo", "Cleo")
    await member(core, "dan", "Dan")
    sub = await named_submission(core, ana, "bo", "cleo")
    await handle_action(core, bo, "consent.agree", str(sub.consents[0].id))
    await handle_action(
        core, carla, "review.changes", f"{sub.id}:{sub.revision}", {"reason": "crop"}
    )
    form = (await handle_action(core, ana, "submission.resubmit_form", str(sub.id))).form
    assert form is not None
    people = next(i for i in form.inputs if i.name == "people")
    assert people.initial == ("bo", "cleo")  # type: ignore[union-attr]
    reply = await handle_action(
        core,
        ana,
        "submission.resubmit",
        str(sub.id),
        {"caption": "cropped", "appears": "colleagues", "people": "bo, dan"},
    )
    assert not reply.failed, reply
    after = await stored(core, sub.id)
    assert [(c.name, c.state) for c in after.consents] == [
        ("Bo", ConsentState.AGREED),
        ("Dan", ConsentState.PENDING),
    ]
    await dispatcher.drain()
    assert (len(port.dms_to("bo")), len(port.dms_to("dan"))) == (1, 1), "Bo is not asked twice"


async def test_mydata_and_forget_cover_consents(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    ana = await ambassador(core, "amb", "Ana")
    bo = await member(core, "bo", "Bo")
    sub = await named_submission(core, ana, "bo")
    await handle_action(core, bo, "consent.agree", str(sub.consents[0].id))
    bo_data = await core.privacy.collect(bo)
    assert [(c["submission_id"], c["state"]) for c in bo_data["consents_given"]] == [
        (sub.id, "agreed")
    ]
    ana_data = await core.privacy.collect(ana)
    (mine,) = ana_data["submissions"]
    assert mine["who_appears"] == "colleagues"
    assert [c["state"] for c in mine["consents_asked"]] == ["agreed"]
    assert "Bo" not in str(mine["consents_asked"]), "who answered is not named"
    # Bo is forgotten: his answer becomes a withdrawal; the photo leaves outside use.
    await core.forgetting.forget(bo)
    after = await stored(core, sub.id)
    assert [c.state for c in after.consents] == [ConsentState.WITHDRAWN]
    assert after.consent_withdrawn and not after.external_use_ok
    # Ana is forgotten (her pending submission deleted): the requests go with it.
    await core.forgetting.forget(ana)
    assert await count_rows(core.db, Consent) == 0


async def test_only_the_person_named_answers(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    await member(core, "bo", "Bo")
    carla = await member(core, "cm1", "Carla")
    sub = await named_submission(core, ana, "bo")
    value = str(sub.consents[0].id)
    for who in (ana, carla):
        reply = await handle_action(core, who, "consent.agree", value)
        assert reply.failed and t("error.not_named") in text_of(reply.message)
    for crafted in ("0", "x", "999999", "9" * 30):
        reply = await handle_action(core, ana, "consent.decline", crafted)
        assert reply.failed and t("error.consent_not_found") in text_of(reply.message)
    assert (await stored(core, sub.id)).consents[0].state is ConsentState.PENDING


async def test_the_migration_keeps_the_old_box_as_a_declaration(core: Core, tmp_path: Any) -> None:
    """0015 on a database at 0014: the old ticked box becomes "outside, declared"; the
    others stay unanswered (never cleared for outside use); down and up again works."""
    import asyncio

    from alembic import command
    from sqlalchemy import text

    from storage.db import Database, alembic_config, upgrade

    db = core.db
    async with scratch_database(db, tmp_path, "consent") as url:
        await asyncio.to_thread(upgrade, url, "0014")
        old = Database(url)
        now: object = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        if db.engine.dialect.name == "sqlite":
            now = "2026-11-01 10:00:00.000000"
        async with old.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO workspaces (id, platform, external_id, name, locale, timezone,"
                    " approved_total, created_at) VALUES (1, 'slack', 'T1', '', 'en', 'UTC', 0,"
                    " :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO members (id, workspace_id, external_id, display_name,"
                    " nudges_opt_out, created_at) VALUES (1, 1, 'U1', 'Ana', false, :now)"
                ),
                {"now": now},
            )
            for sub_id, ticked in ((1, True), (2, False)):
                await conn.execute(
                    text(
                        "INSERT INTO submissions (id, workspace_id, author_id, caption, status,"
                        " people_consented, sensitive, revision, created_at, updated_at)"
                        " VALUES (:id, 1, 1, 'c', 'approved', :ticked, false, 1, :now, :now)"
                    ),
                    {"id": sub_id, "ticked": ticked, "now": now},
                )
        await old.dispose()
        for target in ("head", "0014", "head"):
            if target == "0014":
                await asyncio.to_thread(command.downgrade, alembic_config(url), "0014")
            else:
                await asyncio.to_thread(upgrade, url, target)
        new = Database(url)
        async with new.read() as r:
            from bot.services.submissions import load_view

            views = [await load_view(r, i) for i in (1, 2)]
        await new.dispose()
    assert [(v.appears, v.internal_only, v.consent_withdrawn) for v in views] == [
        (Appears.OUTSIDE, False, False),
        (None, False, False),
    ]
    assert [v.external_use_ok for v in views] == [True, False]
