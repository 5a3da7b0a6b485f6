"""The Thank button in the core: the author's thank-you, sent once however many clicks
(two replicas at once included), and the ``thanks`` migration.

Every test here runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect, select

from bot.actions import handle_action
from bot.core import Core
from bot.errors import AlreadyThanked
from bot.outbox import Dispatcher
from bot.ui import Message, TextInput
from domain import THANKS_NOTE_MAX, MemberView, Status, SubmissionView
from storage.db import Database
from storage.models import OutboxMessage, Thanks
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
from tests.test_review import two_cores

# -- the Thank button --------------------------------------------------------------------


async def approved(
    core: Core, author: MemberView, cm: MemberView, color: int = 1
) -> SubmissionView:
    pic = await photo(core, (color * 30 % 256, 60, 90))
    sub = await core.submissions.create(author, photos=[pic], caption=f"Market day {color}")
    return await core.review.approve(cm, sub.id)


def thanks_dms(port: RecordingPort, user: str) -> list[Message]:
    return [m for m in port.dms_to(user) if "thanks you" in m.text or "remercie" in m.text]


async def test_thank_once_however_many_clicks(
    core: Core, port: RecordingPort, dispatcher: Dispatcher, clock: FakeClock
) -> None:
    ana = await ambassador(core, "amb", "Ana")
    carla = await member(core, "cm1", "Carla")
    chris = await member(core, "cm2", "Chris")
    sub = await approved(core, ana, carla)
    await dispatcher.drain()
    # The approved card carries the Thank button.
    [card_update] = port.updates
    [thank] = card_update.message.buttons()
    assert (thank.action, thank.value) == ("review.thank", str(sub.id))
    # A click opens a small form, a line ready to send.
    form = (await handle_action(core, carla, thank.action, thank.value)).form
    assert form is not None and form.action == "review.thank"
    [note] = form.inputs
    assert isinstance(note, TextInput) and note.initial == "Thank you for this photo!"
    assert not note.required and note.max_length == THANKS_NOTE_MAX
    personal = "Great light <@U1> *really*"
    done = await handle_action(core, carla, form.action, form.value, {"note": personal})
    assert not done.failed and "Your thanks were sent to Ana" in text_of(done.message)  # type: ignore[arg-type]
    await dispatcher.drain()
    [dm] = thanks_dms(port, "amb")
    assert dm.text == f"Carla thanks you for your submission #{sub.id}!"
    assert f"Their note: {personal}" in text_of(dm)  # plain text; adapters escape it
    # The card now says who thanked, and offers no second Thank.
    last = port.updates[-1].message
    assert last.buttons() == [] and "Thanked by Carla on Nov 20, 2026" in text_of(last)
    # Later clicks, by anyone: told who thanked and when; no form, no second message.
    clock.advance(hours=3)
    for who in (carla, chris):
        again = await handle_action(core, who, thank.action, thank.value)
        assert again.failed and again.form is None
        assert f"#{sub.id} was already thanked by Carla on Nov 20, 2026" in text_of(again.message)  # type: ignore[arg-type]
        late = await handle_action(core, who, form.action, form.value, {"note": "again"})
        assert late.failed and "already thanked by Carla" in text_of(late.message)  # type: ignore[arg-type]
    await dispatcher.drain()
    assert len(thanks_dms(port, "amb")) == 1
    assert await count_rows(core.db, Thanks) == 1


async def test_concurrent_clicks_on_two_replicas_send_one_thank_you(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    carla = await member(core, "cm1", "Carla")
    chris = await member(core, "cm2", "Chris")
    sub = await approved(core, ana, carla)
    async with two_cores(core) as (first, second):
        results = await asyncio.gather(
            *(
                c.thanks.thank(who, sub.id, f"thanks from {who.display_name}")
                for c, who in ((first, carla), (second, chris), (first, chris), (second, carla))
            ),
            return_exceptions=True,
        )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 3
    assert all(isinstance(e, AlreadyThanked) for e in lost), lost
    assert await count_rows(core.db, Thanks) == 1
    assert (
        await count_rows(core.db, OutboxMessage, OutboxMessage.dedupe_key == f"thanks:{sub.id}")
        == 1
    )
    async with core.db.read() as r:
        note = await r.session.scalar(select(Thanks.note))
    assert note == f"thanks from {won[0].thanked_by_name}"


async def test_only_approved_submissions_are_thanked(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    ana = await ambassador(core, "amb", "Ana")
    carla = await member(core, "cm1", "Carla")
    pending = await core.submissions.create(ana, photos=[await photo(core)], caption="x")
    rejected = await core.submissions.create(
        ana, photos=[await photo(core, (1, 2, 3))], caption="y"
    )
    await core.review.reject(carla, rejected.id, "Blurry")
    await dispatcher.drain()
    assert all(
        b.action != "review.thank"
        for sent in port.posts + port.updates
        for b in sent.message.buttons()
    )
    for sub in (pending, rejected):
        reply = await handle_action(core, carla, "review.thank", str(sub.id))
        assert reply.failed and reply.form is None
        assert "Only an approved submission can be thanked" in text_of(reply.message)  # type: ignore[arg-type]
        form_sent = await handle_action(core, carla, "review.thank", str(sub.id), {"note": "hi"})
        assert form_sent.failed
    assert await count_rows(core.db, Thanks) == 0


async def test_thanks_in_the_authors_language_and_the_note_is_bounded(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    luc = await ambassador(core, "luc", "Luc", locale="fr")
    carla = await member(core, "cm1", "Carla")
    sub = await approved(core, luc, carla)
    too_long = await handle_action(
        core, carla, "review.thank", str(sub.id), {"note": "x" * (THANKS_NOTE_MAX + 1)}
    )
    assert too_long.failed and "note" in too_long.errors
    # An empty note sends the thank-you alone.
    done = await handle_action(core, carla, "review.thank", str(sub.id), {"note": "  "})
    assert not done.failed
    await dispatcher.drain()
    [dm] = thanks_dms(port, "luc")
    assert dm.text == f"Carla vous remercie pour votre contribution n° {sub.id} !"
    assert "Son mot" not in text_of(dm)
    after = await stored(core, sub.id)
    assert (after.status, after.thanked_by_name) == (Status.APPROVED, "Carla")


# -- the migration -----------------------------------------------------------------------


async def _tables(url: str) -> set[str]:
    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await database.dispose()


async def test_thanks_migration_goes_down_and_up_again(db: Database, tmp_path: Path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config, upgrade

    # The revision before the one that adds ``thanks``, found by its title (the numbers
    # are given when branches are merged).
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    [thanks] = [s for s in scripts.walk_revisions() if (s.doc or "").startswith("thanks:")]
    before = thanks.down_revision
    assert isinstance(before, str)

    async with scratch_database(db, tmp_path, "thanks") as url:
        await asyncio.to_thread(upgrade, url, "head")
        assert "thanks" in await _tables(url)
        await asyncio.to_thread(command.downgrade, alembic_config(url), before)
        assert "thanks" not in await _tables(url)
        await asyncio.to_thread(upgrade, url, "head")
        assert "thanks" in await _tables(url)
