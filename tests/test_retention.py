"""The retention round: photos of rejected and withdrawn submissions deleted after
``RELAIS_RETENTION_DAYS``, orphan files collected, once across replicas; and what
``relais doctor`` says is due. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core import Core
from bot.services.retention import ORPHAN_AFTER, period_of
from bot.settings import Settings
from domain import MemberView, Status, SubmissionView
from relais.doctor import run_doctor
from storage.db import Database
from storage.models import Media, ReviewEvent, ScheduleRun, Submission, SubmissionMedia
from tests.support import FakeClock, ambassador, count_rows, member, photo, scratch_database, stored

DAY = timedelta(days=1)


async def send(core: Core, who: MemberView, color: int) -> SubmissionView:
    pic = await photo(core, (color, 120, 40))
    return await core.submissions.create(who, photos=[pic], caption=f"photo {color}")


async def file_of(core: Core, submission_id: int) -> str:
    async with core.db.read() as r:
        keys = await r.session.scalars(
            select(Media.storage_key)
            .join(SubmissionMedia, SubmissionMedia.media_id == Media.id)
            .where(SubmissionMedia.submission_id == submission_id)
        )
        (key,) = keys.all()
    return key


def age(core: Core, key: str, now: datetime, by: timedelta) -> None:
    """Make a stored file look last stored ``by`` before ``now``."""
    moment = (now - by).timestamp()
    os.utime(core.store.local_path(key), (moment, moment))


async def test_rejected_and_withdrawn_photos_go_after_the_retention_days(
    core: Core, clock: FakeClock
) -> None:
    ana = await ambassador(core, "ana", "Ana")
    cm = await member(core, "cm1", "Carla")
    old_rejected = await send(core, ana, 10)
    await core.review.reject(cm, old_rejected.id, "blurry")
    old_withdrawn = await send(core, ana, 20)
    await core.submissions.withdraw(ana, old_withdrawn.id)
    old_changes = await send(core, ana, 30)
    await core.review.request_changes(cm, old_changes.id, "crop it")
    old_approved = await send(core, ana, 40)
    await core.review.approve(cm, old_approved.id)
    clock.advance(days=2)
    young_rejected = await send(core, ana, 50)
    await core.review.reject(cm, young_rejected.id, "off topic")

    clock.advance(days=89, hours=1)  # the old ones 91 days after, the young one 89
    keys = {s.id: await file_of(core, s.id) for s in (old_rejected, old_withdrawn)}
    kept = [await file_of(core, s.id) for s in (old_changes, old_approved, young_rejected)]
    # The scheduler's tick runs it.
    await core.rounds.tick()
    for key in keys.values():
        assert not core.store.exists(key)
    for key in kept:
        assert core.store.exists(key)
    # The submissions and their history stay; their photos are no longer shown.
    for sub_id in keys:
        view = await stored(core, sub_id)
        assert view.media_keys == ()
        assert view.status in (Status.REJECTED, Status.WITHDRAWN)
    assert (await stored(core, old_rejected.id)).decision_reason == "blurry"
    assert await count_rows(core.db, ReviewEvent, ReviewEvent.submission_id == old_rejected.id) == 2
    assert await count_rows(core.db, Media, Media.purged_at.is_not(None)) == 2
    assert (await stored(core, old_approved.id)).media_keys == (kept[1],)

    # Again the same day: nothing more to do, nothing run twice.
    assert await core.retention.tick() == 0
    # Two days later the young one is past 90 days too.
    clock.advance(days=2)
    assert await core.retention.tick() == 1
    assert not core.store.exists(kept[2])
    assert core.store.exists(kept[0]) and core.store.exists(kept[1])


async def test_photos_replaced_by_a_resubmission_go_too(core: Core, clock: FakeClock) -> None:
    ana = await ambassador(core, "ana", "Ana")
    cm = await member(core, "cm1", "Carla")
    sub = await send(core, ana, 90)
    first = await file_of(core, sub.id)
    await core.review.request_changes(cm, sub.id, "another angle")
    clock.advance(days=1)
    again = await core.submissions.resubmit(
        ana, sub.id, caption="better", photos=[await photo(core, (90, 10, 200))]
    )
    (second,) = again.media_keys
    clock.advance(days=89, hours=23)  # the first photo stored 90 days ago and an hour
    assert await core.retention.tick() == 1
    assert not core.store.exists(first)
    assert core.store.exists(second)
    # A pending (then approved) submission keeps its photo, however old.
    await core.review.approve(cm, sub.id)
    clock.advance(days=400)
    assert await core.retention.tick() == 0
    assert (await stored(core, sub.id)).media_keys == (second,)


async def test_a_file_another_photo_still_uses_is_kept(core: Core, clock: FakeClock) -> None:
    ana = await ambassador(core, "ana", "Ana")
    cm = await member(core, "cm1", "Carla")
    first = await send(core, ana, 60)
    await core.review.reject(cm, first.id, "not now")
    # The same picture sent again after the rejection: the same content-addressed file.
    again = await send(core, ana, 60)
    await core.review.approve(cm, again.id)
    key = await file_of(core, first.id)
    assert await file_of(core, again.id) == key
    clock.advance(days=91)
    assert await core.retention.tick() == 0
    assert core.store.exists(key)
    assert await count_rows(core.db, Media, Media.purged_at.is_not(None)) == 1
    assert (await stored(core, again.id)).media_keys == (key,)


async def test_orphan_files_are_collected_and_fresh_ones_kept(core: Core, clock: FakeClock) -> None:
    clock.now = datetime.now(UTC)
    now = clock.now
    ana = await ambassador(core, "ana", "Ana")
    approved = await send(core, ana, 70)
    await core.review.approve(await member(core, "cm1"), approved.id)
    used = await file_of(core, approved.id)
    # A photo stored before a transaction that failed: no row points at it.
    lost = (await photo(core, (1, 2, 3))).storage_key
    in_flight = (await photo(core, (4, 5, 6))).storage_key
    export = core.store.put(b"id,caption\n1,x\n", "csv")
    recent_export = core.store.put(b"id,caption\n2,y\n", "csv")
    for key, by in (
        (used, 30 * DAY),
        (lost, ORPHAN_AFTER + DAY),
        (in_flight, DAY),
        (export, ORPHAN_AFTER + DAY),
        (recent_export, 3 * DAY),
    ):
        age(core, key, now, by)
    stale_temp = core.store.new_temp_path()
    stale_temp.write_bytes(b"half a photo")
    os.utime(stale_temp, ((now - 30 * DAY).timestamp(),) * 2)

    assert await core.retention.tick() == 2
    assert not core.store.exists(lost) and not core.store.exists(export)
    assert core.store.exists(used) and core.store.exists(in_flight)
    assert core.store.exists(recent_export)
    assert not stale_temp.exists()

    # Storing the same bytes again renews the file's age: a new chart is not collected.
    age(core, recent_export, now, ORPHAN_AFTER + DAY)
    assert core.store.put(b"id,caption\n2,y\n", "csv") == recent_export
    clock.advance(days=1)
    assert await core.retention.tick() == 0
    assert core.store.exists(recent_export)


async def test_a_crash_between_marking_and_deleting_is_finished_later(
    core: Core, clock: FakeClock
) -> None:
    ana = await ambassador(core, "ana", "Ana")
    sub = await send(core, ana, 80)
    await core.review.reject(await member(core, "cm1"), sub.id, "no")
    key = await file_of(core, sub.id)
    clock.advance(days=91)
    # A run that marked the row and died before deleting the file.
    async with core.db.transaction() as r:
        ids = await r.retention.due(None, clock.now - timedelta(days=90))
        assert await r.retention.purge(ids, clock.now) == [key]
    assert core.store.exists(key)
    age(core, key, clock.now, ORPHAN_AFTER + DAY)
    # The next run finds no photo due, and the file an orphan.
    assert await core.retention.tick() == 1
    assert not core.store.exists(key)


async def test_two_replicas_at_once_purge_once(
    core: Core, settings: Settings, clock: FakeClock, db_url: str
) -> None:
    ana = await ambassador(core, "ana", "Ana")
    cm = await member(core, "cm1")
    subs = [await send(core, ana, 20 + 40 * i) for i in range(5)]
    for sub in subs:
        await core.review.reject(cm, sub.id, "no")
    keys = [await file_of(core, s.id) for s in subs]
    clock.advance(days=91)
    # Each replica with its own engine (its own connections), same database and files.
    other_db = Database(db_url)
    try:
        replicas = [core, Core(settings, other_db, clock=clock)]
        results = await asyncio.gather(*(c.retention.tick() for c in replicas))
    finally:
        await other_db.dispose()
    assert sum(results) == 5
    assert not any(core.store.exists(k) for k in keys)
    runs = await count_rows(core.db, ScheduleRun, ScheduleRun.kind == "retention")
    assert runs == 2  # this workspace's photos, and the store's orphans: once each
    assert await count_rows(core.db, Media, Media.purged_at.is_not(None)) == 5


async def test_doctor_says_what_is_due_and_when(
    core: Core, settings: Settings, clock: FakeClock
) -> None:
    # The doctor reads the real clock: the decisions are 100 days in the past.
    real_now = datetime.now(UTC)
    clock.now = real_now - timedelta(days=100)
    ana = await ambassador(core, "ana", "Ana")
    cm = await member(core, "cm1")
    for color in (140, 150):
        sub = await send(core, ana, color)
        await core.review.reject(cm, sub.id, "no")
    orphan = core.store.put(b"old export\n", "csv")
    age(core, orphan, real_now, ORPHAN_AFTER + DAY)

    async def report() -> str:
        lines: list[str] = []
        await run_doctor(settings, requeue_dead=False, echo=lines.append)
        return "\n".join(lines)

    before = await report()
    assert "retention: daily round, last run never, due now" in before
    assert (
        "2 photo file(s) to delete: of 2 submission(s) rejected or withdrawn, or replaced "
        "by a resubmission, over 90 days ago (RELAIS_RETENTION_DAYS)" in before
    )
    assert "1 orphan file(s)" in before

    clock.now = real_now
    assert await core.retention.tick() == 3
    after = await report()
    assert "0 photo file(s) to delete: of 0 submission(s)" in after
    assert "0 orphan file(s)" in after
    next_day = period_of(real_now) + DAY
    assert f"next run {next_day.isoformat()} 03:00 UTC" in after
    assert "last run never" not in after


async def test_migration_0012_down_and_up_keeps_every_photo_link(
    db: Database, tmp_path: Path
) -> None:
    from alembic import command

    from storage.db import alembic_config, upgrade

    async with scratch_database(db, tmp_path, "retention") as url:
        await asyncio.to_thread(upgrade, url, "head")
        settings = Settings(_env_file=None, database_url=url, media_dir=tmp_path / "media")
        fresh = Database(url)
        core = Core(settings, fresh, clock=FakeClock())
        ana = await ambassador(core, "ana", "Ana")
        await send(core, ana, 200)
        await fresh.dispose()
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0008")
        await asyncio.to_thread(upgrade, url, "head")
        again = Database(url)
        try:
            assert await count_rows(again, SubmissionMedia) == 1
            assert await count_rows(again, Submission) == 1
            assert await count_rows(again, Media, Media.purged_at.is_(None)) == 1
        finally:
            await again.dispose()


async def test_a_database_that_knows_none_of_the_files_collects_nothing(
    core: Core, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.services.retention as retention

    clock.now = datetime.now(UTC)
    await member(core, "ana")  # a workspace, with no photo of any of these files
    keys = [core.store.put(f"export {i}\n".encode(), "csv") for i in range(4)]
    for key in keys:
        age(core, key, clock.now, ORPHAN_AFTER + DAY)
    monkeypatch.setattr(retention, "WRONG_DATABASE_FILES", 3)
    lines: list[str] = []
    assert not await run_doctor(settings, requeue_dead=False, echo=lines.append)
    assert any("✗ none of the 4 files stored over 7 days ago is known" in x for x in lines)
    assert await core.retention.tick() == 0
    assert all(core.store.exists(k) for k in keys)
    # Within the threshold, unknown old files are orphans indeed.
    monkeypatch.setattr(retention, "WRONG_DATABASE_FILES", 4)
    clock.advance(days=1)
    assert await core.retention.tick() == 4
