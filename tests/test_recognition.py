"""Recognition in the core: ``/relais leaderboard`` (each privacy rule on its own) from a
seeded points ledger, and the Thank button's thank-you, sent once however many clicks.

Every test here runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, select, text

from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.errors import AlreadyThanked
from bot.outbox import Dispatcher
from bot.ui import Message, TextInput
from domain import LEADERBOARD_TOP, THANKS_NOTE_MAX, MemberView, Platform, Status, SubmissionView
from storage.db import Database
from storage.models import OutboxMessage, Thanks
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    count_rows,
    member,
    photo,
    stored,
    text_of,
)
from tests.test_review import two_cores

# The fixture clock: Friday 20 November 2026, 10:00 in Paris (the workspace timezone).
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=2)


async def credit(
    core: Core, who: MemberView, points: int, at: datetime = EARLIER, reason: str = "approved"
) -> None:
    """A ledger row, as an approval (or any other reason) writes it."""
    async with core.db.transaction() as r:
        await r.points.credit(who.id, points, reason=reason, submission_id=None, now=at)


async def board(core: Core, who: MemberView, args: str = "") -> str:
    reply = await handle_command(core, who, "/relais", f"leaderboard {args}".strip())
    assert not reply.failed, reply
    assert reply.message is not None
    return text_of(reply.message)


async def hide(core: Core, who: MemberView) -> None:
    reply = await handle_command(core, who, "/relais", "config me leaderboard off")
    assert not reply.failed, reply


# -- the leaderboard ---------------------------------------------------------------------


async def test_month_starts_at_midnight_in_the_workspace_timezone(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    cy = await ambassador(core, "cy", "Cy")
    # 1 November 00:30 in Paris is still 31 October in UTC: this month.
    await credit(core, ana, 10, datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    # 31 October 23:59 in Paris: last month.
    await credit(core, bo, 30, datetime(2026, 10, 31, 22, 59, tzinfo=UTC))
    await credit(core, cy, 5, EARLIER)
    month = await board(core, cy)
    assert "Leaderboard — November 2026" in month
    assert "1. Ana — 10 points" in month and "2. Cy (you) — 5 points" in month
    assert "Bo" not in month
    # ``month`` says the same; ``all`` counts everything, best first.
    assert await board(core, cy, "month") == month
    everything = await board(core, cy, "all")
    assert "Leaderboard — all time" in everything
    assert everything.index("1. Bo — 30 points") < everything.index("2. Ana — 10 points")
    # Next month (1 December 00:00 in Paris), November's points no longer count.
    core.clock = lambda: datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # type: ignore[method-assign]
    assert "No points yet for this period." in await board(core, cy)


async def test_french_words_and_french_text(core: Core) -> None:
    luc = await ambassador(core, "luc", "Luc", locale="fr")
    await credit(core, luc, 1)
    await credit(core, luc, 20, datetime(2025, 5, 1, tzinfo=UTC))
    mois = await board(core, luc, "mois")
    assert "Classement — novembre 2026" in mois and "1. Luc (vous) — 1 point" in mois
    tout = await board(core, luc, "tout")
    assert "Classement — depuis le début" in tout and "1. Luc (vous) — 21 points" in tout
    reply = await handle_command(core, luc, "/relais", "classement tout")
    assert text_of(reply.message) == tout  # type: ignore[arg-type]


async def test_ties_go_to_whoever_reached_the_total_first(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    cy = await ambassador(core, "cy", "Cy")
    # Bo reached 20 before Ana (their last credit is earlier), whatever the alphabet.
    await credit(core, ana, 20, EARLIER + timedelta(hours=2))
    await credit(core, bo, 10, EARLIER - timedelta(hours=5))
    await credit(core, bo, 10, EARLIER)
    # Same points at the same moment: who joined first (Ana before Cy).
    await credit(core, cy, 5, EARLIER)
    await credit(core, ana, 0, EARLIER)
    text = await board(core, ana)
    assert text.index("1. Bo — 20") < text.index("2. Ana (you) — 20") < text.index("3. Cy — 5")
    dan = await ambassador(core, "dan", "Dan")
    await credit(core, dan, 5, EARLIER)
    text = await board(core, ana)
    assert text.index("3. Cy — 5") < text.index("4. Dan — 5")


async def test_top_ten_then_the_readers_own_line(core: Core) -> None:
    people = [await ambassador(core, f"u{i:02}", f"Person {i:02}") for i in range(13)]
    for i, who in enumerate(people):
        await credit(core, who, 100 - i)
    last = people[-1]
    text = await board(core, last)
    for i in range(LEADERBOARD_TOP):
        assert f"{i + 1}. Person {i:02} — {100 - i} points" in text
    assert "Person 10 " not in text and "Person 11" not in text
    assert "…and 3 other people (points: 267)" in text
    assert "13. Person 12 (you) — 88 points" in text
    assert "only you see" not in text
    # Someone in the top ten finds their line marked, no second line.
    text = await board(core, people[2])
    assert "3. Person 02 (you) — 98 points" in text and text.count("(you)") == 1


async def test_rule_a_a_hidden_member_is_never_named_to_others(core: Core) -> None:
    """Privacy rule (a): off the leaderboard by name, still counted."""
    hana = await ambassador(core, "hana", "Hana")
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    await credit(core, hana, 50)
    await credit(core, ana, 20)
    await credit(core, bo, 10)
    await hide(core, hana)
    for reader in (ana, bo):
        for args in ("", "all", "Lyon"):
            text = await board(core, reader, args)
            assert "Hana" not in text
    text = await board(core, ana)
    assert "1. Ana (you) — 20 points" in text and "2. Bo — 10 points" in text
    assert "…and 1 other person (points: 50)" in text
    # Hana sees where she would stand, marked as seen by her only.
    own = await board(core, hana)
    assert "1. Hana (you) — 50 points (only you see this line" in own
    assert "1. Ana — 20 points" in own
    # Showing her name again puts her back in the ranking.
    assert not (await handle_command(core, hana, "/relais", "config me leaderboard on")).failed
    assert "1. Hana — 50 points" in await board(core, ana)


async def test_rule_b_a_site_with_fewer_than_three_names_shows_counts_only(core: Core) -> None:
    """Privacy rule (b): a site board names nobody when fewer than 3 would be named."""
    ana = await ambassador(core, "amb", "Ana", site="Saint-Étienne")
    bo = await ambassador(core, "bo", "Bo", site="Saint-Étienne")
    hana = await ambassador(core, "hana", "Hana", site="Saint-Étienne")
    nantes = [await ambassador(core, f"n{i}", f"Nantais {i}", site="Nantes") for i in range(3)]
    for who, points in ((ana, 20), (bo, 10), (hana, 5), *((n, 7) for n in nantes)):
        await credit(core, who, points)
    await hide(core, hana)
    # Case, accents and spaces aside, like the other commands.
    text = await board(core, ana, "  saint-ETIENNE ")
    assert "Leaderboard — Saint-Étienne, November 2026" in text
    for name in ("Ana", "Bo", "Hana"):
        assert f"{name} —" not in text and f". {name}" not in text
    assert "3 people contributed — points: 35, approved photos: 3" in text
    assert "Fewer than 3 people would be named here" in text
    assert "You: 20 points" in text  # their own total, no rank
    # Three people to name: names.
    text = await board(core, nantes[0], "all Nantes")
    assert "1. Nantais 0 (you) — 7 points" in text and "3. Nantais 2 — 7 points" in text
    # The whole workspace names whoever did not hide, however few.
    assert "1. Ana (you) — 20 points" in await board(core, ana)
    # An unknown site is named back.
    reply = await handle_command(core, ana, "/relais", "leaderboard month Atlantis")
    assert reply.failed and "No site called Atlantis" in text_of(reply.message)  # type: ignore[arg-type]


async def test_rule_c_other_workspaces_never_count(core: Core) -> None:
    """Privacy rule (c): only the reader's workspace's ledger."""
    ana = await ambassador(core, "amb", "Ana")
    stranger = await core.onboarding.identify(
        Platform.CONSOLE, "T-other", "amb", display_name="Stranger"
    )
    await credit(core, ana, 10)
    await credit(core, stranger, 500)
    for args in ("", "all"):
        text = await board(core, ana, args)
        assert "Stranger" not in text and "500" not in text and "other" not in text
    own = await board(core, stranger, "all")
    assert "1. Stranger (you) — 500 points" in own and "Ana" not in own


async def test_rule_d_people_who_left_keep_the_points_they_earned(core: Core) -> None:
    """Rule (d): leaving the programme does not erase the period's points."""
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo")
    await credit(core, ana, 10)
    await credit(core, bo, 5)
    assert not (await handle_command(core, ana, "/relais", "leave")).failed
    assert "1. Ana — 10 points" in await board(core, bo)


async def test_every_ledger_reason_counts_and_photos_are_the_approvals(core: Core) -> None:
    ana = await ambassador(core, "amb", "Ana", site="Nantes")
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    cy = await ambassador(core, "cy", "Cy", site="Nantes")
    await hide(core, cy)
    await credit(core, ana, 10)
    await credit(core, ana, 25, reason="first")
    await credit(core, bo, 10)
    await credit(core, cy, 10)
    text = await board(core, bo, "Nantes")
    assert "3 people contributed — points: 55, approved photos: 3" in text


async def test_a_newcomer_may_read_it_and_help_lists_it(core: Core) -> None:
    nina = await member(core, "newbie", "Nina")
    assert "No points yet for this period." in await board(core, nina)
    help_text = text_of((await handle_command(core, nina, "/relais", "help")).message)  # type: ignore[arg-type]
    assert "/relais leaderboard [month|all] [site]" in help_text


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
                c.recognition.thank(who, sub.id, f"thanks from {who.display_name}")
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

    from storage.db import alembic_config, upgrade

    database = f"relais_thanks_{os.getpid()}"
    if db.engine.dialect.name == "postgresql":
        admin = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {database}"))
            await conn.execute(text(f"CREATE DATABASE {database}"))
        url = db.engine.url.set(database=database).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'thanks.db'}"
    try:
        await asyncio.to_thread(upgrade, url, "head")
        assert "thanks" in await _tables(url)
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0010")
        assert "thanks" not in await _tables(url)
        await asyncio.to_thread(upgrade, url, "head")
        assert "thanks" in await _tables(url)
    finally:  # a failing run leaves no database behind
        if db.engine.dialect.name == "postgresql":
            admin = db.engine.execution_options(isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
