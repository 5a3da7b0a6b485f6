"""The weekly digest and the nudges, with a controllable clock (no sleeping)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from adapters.slack import render as slack_render
from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.outbox import Dispatcher
from bot.schedule import (
    format_days,
    last_occurrence,
    parse_days,
    parse_slot,
    working_hours,
    working_hours_between,
)
from bot.ui import Mentions, Message
from domain import MemberView
from storage.db import Database
from storage.models import ScheduleRun
from tests.support import FakeClock, RecordingPort, ambassador, member, photo, text_of

DIGEST = "C-digest"
# Friday 2026-10-23 16:00 in Paris is 14:00 UTC (summer time); on Friday 2026-10-30,
# after the change to winter time on the 25th, 16:00 in Paris is 15:00 UTC.
SUMMER_SLOT = datetime(2026, 10, 23, 14, 0, tzinfo=UTC)
WINTER_SLOT = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)


async def setup_digest(core: Core, **extra: str) -> MemberView:
    cm = await member(core, "cm1", "Carla")
    await core.config.set(cm, "digest_channel", DIGEST)
    for key, value in extra.items():
        await core.config.set(cm, key, value)
    return cm


async def approved(core: Core, cm: MemberView, who: MemberView, color: int, caption: str) -> int:
    pic = await photo(core, (color % 256, (color * 7) % 256, 90))
    sub = await core.submissions.create(who, photos=[pic], caption=caption)
    await core.review.approve(cm, sub.id)
    return sub.id


def digests(port: RecordingPort) -> list[Message]:
    return port.in_channel(DIGEST)


async def runs(core: Core, kind: str) -> list[tuple[str, str, str]]:
    async with core.db.read() as r:
        rows = await r.session.execute(
            select(ScheduleRun.period, ScheduleRun.target, ScheduleRun.status)
            .where(ScheduleRun.kind == kind)
            .order_by(ScheduleRun.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


# -- the schedule ------------------------------------------------------------------------


async def three_replicas_tick_at_the_slot(core: Core, db_url: str, clock: FakeClock) -> None:
    """Three replicas (their own Core and engine on the database) tick the rounds three
    times each at once: at ``SUMMER_SLOT``, a minute later (a restart), then with the clock
    an hour back; the clock is left five minutes past the slot."""
    replicas = [Database(db_url) for _ in range(3)]
    try:
        cores = [Core(core.settings, db, clock=clock) for db in replicas]
        # The slot, then a restart, then a clock that jumps back.
        for offset in (timedelta(0), timedelta(minutes=1), -timedelta(hours=1)):
            clock.now = SUMMER_SLOT + offset
            await asyncio.gather(*(c.rounds.tick() for c in cores for _ in range(3)))
    finally:
        for db in replicas:
            await db.dispose()
    clock.now = SUMMER_SLOT + timedelta(minutes=5)


def test_slots_follow_local_time_across_daylight_saving() -> None:
    slot = parse_slot("fri 16:00")
    assert slot is not None and parse_slot("vendredi 16h00") == slot
    assert parse_slot("someday 25:00") is None
    assert last_occurrence(slot, "Europe/Paris", SUMMER_SLOT) == SUMMER_SLOT
    assert last_occurrence(slot, "Europe/Paris", WINTER_SLOT) == WINTER_SLOT
    just_before = WINTER_SLOT - timedelta(minutes=1)
    assert last_occurrence(slot, "Europe/Paris", just_before) == SUMMER_SLOT


def test_working_hours_skip_nights_and_weekends() -> None:
    friday_5pm = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 17:00 in Paris
    monday_11am = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Paris
    assert working_hours_between(friday_5pm, monday_11am, "Europe/Paris") == pytest.approx(3.0)


def test_working_days_are_read_in_english_and_french_and_wrap_around_the_week() -> None:
    assert parse_days("mon-fri") == frozenset(range(5)) == parse_days("lundi-vendredi")
    assert parse_days("sun-thu") == frozenset({6, 0, 1, 2, 3}) == parse_days("dim-jeu")
    assert parse_days("mon, tue,thu") == frozenset({0, 1, 3})
    assert parse_days("mon-sun") == frozenset(range(7))
    for bad in ("", "someday", "mon-", "mon-tue-wed", "mon,,fri", "xyz-fri"):
        assert parse_days(bad) is None, bad
    assert format_days(frozenset({6, 0, 1, 2, 3})) == "sun-thu"
    assert format_days(frozenset({0, 2, 4})) == "mon,wed,fri"
    assert format_days(frozenset({5})) == "sat"


@given(st.frozensets(st.integers(0, 6), min_size=1))
def test_working_days_written_back_read_the_same(days: frozenset[int]) -> None:
    assert parse_days(format_days(days)) == days


def test_working_hours_follow_the_working_week() -> None:
    sun_thu = parse_days("sun-thu")
    assert sun_thu is not None
    sunday_10am = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # 10:00 in Jerusalem
    friday_10am = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert working_hours(sunday_10am, "Asia/Jerusalem", sun_thu)
    assert not working_hours(sunday_10am, "Asia/Jerusalem")
    assert not working_hours(friday_10am, "Asia/Jerusalem", sun_thu)
    # Thursday 17:00 to Sunday 11:00: one hour on Thursday, two on Sunday.
    thursday_5pm = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    sunday_11am = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    hours = working_hours_between(thursday_5pm, sunday_11am, "Asia/Jerusalem", sun_thu)
    assert hours == pytest.approx(3.0)


# -- the digest ----------------------------------------------------------------------------


async def test_digest_at_the_slot_in_local_time_across_dst(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=2)
    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana")
    await approved(core, cm, ana, 1, "Before the first digest")
    clock.now = SUMMER_SLOT - timedelta(minutes=1)
    assert await core.rounds.tick() == 0
    clock.now = SUMMER_SLOT
    assert await core.rounds.tick() == 1
    assert await core.rounds.tick() == 0  # once
    await approved(core, cm, ana, 2, "During the winter week")
    clock.now = WINTER_SLOT - timedelta(minutes=1)  # 15:59 Paris: not yet
    assert await core.rounds.tick() == 0
    clock.now = WINTER_SLOT
    assert await core.rounds.tick() == 1
    await dispatcher.drain()
    first, second = digests(port)
    assert "Before the first digest" in text_of(first)
    assert "During the winter week" in text_of(second)
    assert "Before the first digest" not in text_of(second)
    sent = [p for p, _, status in await runs(core, "digest") if status == "sent"]
    assert sent == ["2026-W43", "2026-W44"]


async def test_a_missed_digest_is_caught_up_within_grace_then_skipped(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    await setup_digest(core)
    clock.now = SUMMER_SLOT + timedelta(hours=5)  # the bot was down at the slot
    assert await core.rounds.tick() == 1
    clock.now = WINTER_SLOT + timedelta(hours=7)  # down beyond the 6-hour grace
    assert await core.rounds.tick() == 0
    assert await core.rounds.tick() == 0
    await dispatcher.drain()
    assert len(digests(port)) == 1
    assert [(p, s) for p, _, s in await runs(core, "digest")] == [
        ("2026-W43", "sent"),
        ("2026-W44", "skipped"),
    ]


async def test_digest_content_thanks_sites_newcomers_campaign_milestone(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=10)
    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana", site="Lyon")
    for i in range(8):  # history: 8 approved before the week
        await approved(core, cm, ana, 100 + i, f"old {i}")
    clock.now = SUMMER_SLOT - timedelta(days=3)
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    async with core.db.transaction() as r:
        await r.campaigns.create(
            ana.workspace_id,
            title="Winter safety",
            brief="Show how your team stays safe",
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 11, 30),
            created_by=cm.id,
            now=clock(),
        )
    for i in range(5):
        await approved(core, cm, ana if i % 2 else bo, 200 + i, f"week photo {i}")
    clock.now = SUMMER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    message = digests(port)[0]
    text = text_of(message)
    assert "5 photos approved" in text
    assert "week photo 0" in text and "old 0" not in text
    assert "And 1 more" in text  # 4 highlights shown, the rest counted
    assert "Lyon" in text and "Nantes" in text
    assert "Winter safety" in text and "(until Nov 30, 2026)" in text
    assert "Milestone: 10 photos" in text
    thanks = [b for b in message.blocks if isinstance(b, Mentions)]
    assert [p[0] for p in thanks[0].people] == ["bo", "amb"]  # most approvals first
    assert [p[0] for p in thanks[1].people] == ["bo"]  # joined this week


@pytest.mark.parametrize("when_empty", ["send", "skip"])
async def test_an_empty_week_encourages_or_is_skipped(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort, when_empty: str
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    await setup_digest(core, digest_when_empty=when_empty)
    clock.now = SUMMER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    if when_empty == "send":
        assert "No photos were approved this week" in text_of(digests(port)[0])
    else:
        assert digests(port) == []
        assert [s for *_, s in await runs(core, "digest")] == ["skipped"]


async def test_exactly_once_with_three_replicas(
    core: Core, db_url: str, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT - timedelta(days=1)
    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana")
    await approved(core, cm, ana, 5, "shared")
    await three_replicas_tick_at_the_slot(core, db_url, clock)
    await dispatcher.drain()
    assert len(digests(port)) == 1
    assert [s for _, _, s in await runs(core, "digest")].count("sent") == 1


async def test_digest_preview_and_send_from_chat(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT + timedelta(days=1)
    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana")
    await approved(core, cm, ana, 9, "Fresh one")
    preview = await handle_command(core, cm, "/relais", "digest preview")
    assert preview.message is not None and "Fresh one" in text_of(preview.message)
    refused = await handle_command(core, ana, "/relais", "digest send")
    assert refused.failed
    sent = await handle_command(core, cm, "/relais", "digest send")
    assert "posted" in text_of(sent.message)  # type: ignore[arg-type]
    again = await handle_command(core, cm, "/relais", "digest send")
    assert "already" in text_of(again.message)  # type: ignore[arg-type]
    clock.now = WINTER_SLOT  # the scheduled slot of that period: not sent twice
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(digests(port)) == 1


async def test_an_early_send_covers_up_to_now_and_the_slot_what_came_after(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT + timedelta(days=5)  # Wednesday 2026-10-28
    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana")
    await approved(core, cm, ana, 11, "Monday photo")
    sent = await handle_command(core, cm, "/relais", "digest send")
    assert "posted" in text_of(sent.message)  # type: ignore[arg-type]
    clock.advance(days=1)  # Thursday
    await approved(core, cm, ana, 12, "Thursday photo")
    preview = await handle_command(core, cm, "/relais", "digest preview")
    assert preview.message is not None
    assert "Thursday photo" in text_of(preview.message)
    assert "Monday photo" not in text_of(preview.message), "already in the early digest"
    clock.now = WINTER_SLOT  # Friday 16:00: the scheduled digest still goes out
    assert await core.rounds.tick() == 1
    await dispatcher.drain()
    early, scheduled = digests(port)
    assert "Monday photo" in text_of(early) and "Thursday photo" not in text_of(early)
    assert "Thursday photo" in text_of(scheduled) and "Monday photo" not in text_of(scheduled)
    assert "1 photo approved" in text_of(scheduled)
    # The next week starts at that slot: nothing is shown twice, nothing is lost.
    clock.advance(days=1)
    await approved(core, cm, ana, 13, "Saturday photo")
    preview = await handle_command(core, cm, "/relais", "digest preview")
    assert preview.message is not None
    assert "Saturday photo" in text_of(preview.message)
    assert "Thursday photo" not in text_of(preview.message)


async def test_the_slot_after_an_early_send_with_nothing_new_posts_nothing(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = SUMMER_SLOT + timedelta(days=5)
    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana")
    await approved(core, cm, ana, 14, "Only photo")
    await handle_command(core, cm, "/relais", "digest send")
    clock.advance(minutes=10)
    again = await handle_command(core, cm, "/relais", "digest send")
    assert "already" in text_of(again.message)  # type: ignore[arg-type]
    clock.now = WINTER_SLOT
    await core.rounds.tick()
    await dispatcher.drain()
    assert len(digests(port)) == 1, "no empty 'nothing approved this week' after a digest"
    assert [s for *_, s in await runs(core, "digest")][-1] == "skipped"


async def test_config_from_chat_checks_values(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    ana = await member(core, "amb", "Ana")
    shown = await handle_command(core, cm, "/relais", "config")
    assert "digest_schedule" in text_of(shown.message)  # type: ignore[arg-type]
    done = await handle_command(core, cm, "/relais", "config digest_schedule mon 9:30")
    assert "mon 09:30" in text_of(done.message)  # type: ignore[arg-type]
    for bad in ("digest_schedule someday", "inactive_days 0", "timezone Mars/Olympus", "x y"):
        reply = await handle_command(core, cm, "/relais", f"config {bad}")
        assert reply.failed, bad
    assert (await handle_command(core, ana, "/relais", "config nudges off")).failed
    assert (await core.config.get(cm.workspace_id)).digest_schedule == parse_slot("mon 09:30")
    done = await handle_command(core, cm, "/relais", "config working_days dimanche-jeudi")
    assert "sun-thu" in text_of(done.message)  # type: ignore[arg-type]
    assert (await core.config.get(cm.workspace_id)).working_days == parse_days("sun-thu")
    refused = await handle_command(core, cm, "/relais", "config working_days someday")
    assert refused.failed and "mon-fri" in text_of(refused.message)  # type: ignore[arg-type]


# -- nudges --------------------------------------------------------------------------------

MONDAY_10_PARIS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _dms(port: RecordingPort, dispatcher: Dispatcher, user: str) -> list[Message]:
    await dispatcher.drain()
    return port.dms_to(user)


async def test_inactive_nudge_in_their_working_hours_capped_and_snoozable(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = MONDAY_10_PARIS - timedelta(days=40)
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    await approved(core, cm, ana, 3, "long ago")
    ny = await core.onboarding.identify(
        ana.platform, "T-test", "ny", display_name="Nia", timezone="America/New_York"
    )
    charter = await core.onboarding.charter(ny)
    await core.onboarding.join(ny, charter_version=charter.version)
    nia_first = [m for m in await _dms(port, dispatcher, "ny")]
    clock.now = MONDAY_10_PARIS  # 10:00 in Paris, 04:00 in New York
    await core.rounds.tick()
    nudges = [m for m in await _dms(port, dispatcher, "amb") if "a while" in m.text]
    assert len(nudges) == 1  # Ana, in Paris, at 10:00
    assert await _dms(port, dispatcher, "ny") == nia_first  # night in New York
    clock.now = MONDAY_10_PARIS + timedelta(hours=6)  # 16:00 Paris, 10:00 New York
    await core.rounds.tick()
    assert "/relais snooze 2w" in text_of(nudges[0])
    assert any("a while" in m.text for m in await _dms(port, dispatcher, "ny"))
    clock.now += timedelta(days=1)
    await core.rounds.tick()  # capped: at most once every 14 days
    assert len([m for m in await _dms(port, dispatcher, "amb") if "a while" in m.text]) == 1
    await handle_command(core, ana, "/relais", "snooze 4w")
    clock.now += timedelta(days=14)
    await core.rounds.tick()
    assert len([m for m in await _dms(port, dispatcher, "amb") if "a while" in m.text]) == 1
    await handle_command(core, ana, "/relais", "snooze never")
    clock.now += timedelta(days=60)
    await core.rounds.tick()
    assert len([m for m in await _dms(port, dispatcher, "amb") if "a while" in m.text]) == 1


async def test_no_nudge_at_night_or_on_weekends(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = MONDAY_10_PARIS - timedelta(days=40)
    await ambassador(core, "amb", "Ana")
    for moment in (
        datetime(2026, 11, 21, 10, 0, tzinfo=UTC),  # Saturday
        datetime(2026, 11, 23, 21, 0, tzinfo=UTC),  # Monday 22:00 in Paris
        datetime(2026, 11, 24, 5, 0, tzinfo=UTC),  # Tuesday 06:00
    ):
        clock.now = moment
        await core.rounds.tick()
    assert await _dms(port, dispatcher, "amb") == []


async def test_nudges_keep_to_the_workspaces_working_days(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    """With ``working_days sun-thu`` an inactive ambassador is nudged on a Sunday morning,
    and not on the Friday before (a working day by default)."""
    clock.now = MONDAY_10_PARIS - timedelta(days=40)
    cm = await member(core, "cm1", "Carla")
    await ambassador(core, "amb", "Ana")
    assert not (await handle_command(core, cm, "/relais", "config working_days sun-thu")).failed
    clock.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday 10:00 in Paris
    await core.rounds.tick()
    assert await _dms(port, dispatcher, "amb") == []
    clock.now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)  # Sunday 10:00 in Paris
    await core.rounds.tick()
    assert len(await _dms(port, dispatcher, "amb")) == 1


async def test_a_new_ambassador_gets_one_welcome_follow_up(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = MONDAY_10_PARIS - timedelta(days=8)
    await ambassador(core, "amb", "Ana")
    clock.now = MONDAY_10_PARIS - timedelta(days=2)
    await core.rounds.tick()
    assert await _dms(port, dispatcher, "amb") == []  # not a week yet
    clock.now = MONDAY_10_PARIS
    await core.rounds.tick()
    clock.now += timedelta(days=1)
    await core.rounds.tick()
    welcomes = [m for m in await _dms(port, dispatcher, "amb") if "Welcome aboard" in m.text]
    assert len(welcomes) == 1


async def test_reviews_waiting_past_the_sla_get_one_reminder_a_day(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)  # Thursday 09:00 in Paris
    ana = await ambassador(core, "amb", "Ana")
    cm = await member(core, "cm1", "Carla")
    await core.config.set(cm, "review_sla_hours", "16")
    old = await core.submissions.create(ana, photos=[await photo(core)], caption="old one")
    clock.now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # Friday 09:00
    await core.submissions.create(ana, photos=[await photo(core, (1, 2, 3))], caption="newer")
    clock.now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # Friday 15:00: 15 working hours
    await core.rounds.tick()
    assert [m for m in await _dms(port, dispatcher, "cm1") if "waiting" in m.text] == []
    clock.now = MONDAY_10_PARIS + timedelta(hours=1)  # 20 working hours for the first one
    await core.rounds.tick()
    await core.rounds.tick()
    reminders = [m for m in await _dms(port, dispatcher, "cm1") if "waiting" in m.text]
    assert len(reminders) == 1
    assert "#1" in text_of(reminders[0]) and "old one" not in reminders[0].text
    button = next(b for b in reminders[0].buttons() if b.action == "review.show")
    card = await handle_action(core, cm, button.action, button.value)
    assert card.message is not None and "old one" in text_of(card.message)
    assert (await handle_action(core, ana, button.action, button.value)).failed
    clock.now += timedelta(days=1)
    await core.rounds.tick()
    reminders = [m for m in await _dms(port, dispatcher, "cm1") if "waiting" in m.text]
    assert len(reminders) == 2 and "2 submissions are waiting" in reminders[1].text
    assert old.id == 1


async def test_campaign_announced_once_and_two_days_left_prompt(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = MONDAY_10_PARIS - timedelta(days=1)
    cm = await setup_digest(core)
    lyon = await ambassador(core, "amb", "Ana", site="Lyon")
    paris = await ambassador(core, "cleo", "Cleo", site="Paris")
    await ambassador(core, "bo", "Bo", site="Nantes")
    assert lyon.site_id and paris.site_id
    async with core.db.transaction() as r:
        await r.campaigns.create(
            lyon.workspace_id,
            title="Open doors",
            brief="Show the shop",
            starts_on=date(2026, 11, 23),
            ends_on=date(2026, 11, 27),
            site_ids={lyon.site_id, paris.site_id},
            created_by=cm.id,
            now=clock(),
        )
    clock.now = MONDAY_10_PARIS
    await core.rounds.tick()
    await core.rounds.tick()
    await dispatcher.drain()
    announcements = [m for m in port.in_channel(DIGEST) if "New campaign" in m.text]
    assert len(announcements) == 1
    clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 2 days before the 27th
    await core.rounds.tick()
    await core.rounds.tick()
    for who in ("amb", "cleo"):  # the campaign's two sites, not Nantes
        left = [m for m in await _dms(port, dispatcher, who) if "2 days left" in m.text]
        assert len(left) == 1, who
    assert not [m for m in await _dms(port, dispatcher, "bo") if "2 days left" in m.text]


async def test_nudges_off_for_the_workspace(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = MONDAY_10_PARIS - timedelta(days=40)
    cm = await member(core, "cm1", "Carla")
    await ambassador(core, "amb", "Ana")
    await core.config.set(cm, "nudges", "off")
    clock.now = MONDAY_10_PARIS
    await core.rounds.tick()
    assert await _dms(port, dispatcher, "amb") == []


# -- the pieces around it ----------------------------------------------------------------


async def test_the_scheduler_triggers_ticks(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    from relais.scheduler import scheduling

    clock.now = SUMMER_SLOT - timedelta(days=1)
    await setup_digest(core)
    clock.now = SUMMER_SLOT
    async with scheduling(core, every=0.05):
        for _ in range(200):
            async with core.db.read() as r:
                done = await r.session.scalar(select(func.count()).select_from(ScheduleRun))
            if done:
                break
            await asyncio.sleep(0.01)
    await dispatcher.drain()
    assert len(digests(port)) == 1


def test_slack_draws_thanks_as_real_mentions_and_nothing_else_as_markup() -> None:
    block = Mentions("Thanks <!channel> *to*", (("U0123ABC", "Ana"), ("not-an-id", "<@U999>")))
    [section] = slack_render.message_blocks(Message(text="x", blocks=(block,)))
    text = section["text"]["text"]
    assert section["text"]["type"] == "mrkdwn"
    assert "<@U0123ABC>" in text and "&lt;!channel&gt;" in text and "&lt;@U999&gt;" in text


async def test_relais_digest_preview_on_the_command_line(
    core: Core, clock: FakeClock, settings
) -> None:  # type: ignore[no-untyped-def]
    from relais.cli import app
    from tests.test_cli import env_for

    cm = await setup_digest(core)
    ana = await ambassador(core, "amb", "Ana")
    await approved(core, cm, ana, 11, "On the terminal")
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["digest", "preview"], env=env_for(settings)
    )
    assert result.exit_code == 0, result.output
    assert DIGEST in result.output
