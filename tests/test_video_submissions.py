"""Videos in submissions: stored with their poster frame, shown on the review card, the
digest and the console; refused files leave no row; the migration (0019) with data.
Every test here runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import Image as PILImage
from sqlalchemy import select

from adapters.console.app import ConsoleApp
from bot import cards
from bot.actions import handle_command
from bot.core import Core
from bot.i18n import translate, translator
from bot.outbox import Dispatcher
from bot.services.retention import ORPHAN_AFTER
from bot.ui import Image
from domain import Appears, Status
from storage.db import Database, alembic_config, upgrade
from storage.models import Media, Submission
from tests.conftest import REVIEW_CHANNEL
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    count_rows,
    jpeg_bytes,
    member,
    photo,
    scratch_database,
    stored,
)
from tests.test_campaign_sites import _rows, _run, seed_submission, sql_now
from tests.test_console import Terminal, console_core
from tests.test_library import _library_path, _Page, client
from tests.video_clips import LATITUDE, clip, location_tags, rotation_of

# The library's test client, shared with its own tests.
__all__ = ["client"]


async def test_a_video_and_a_photo_in_one_submission(
    core: Core, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    amb = await ambassador(core, "amb", "Ana")
    picture = await photo(core)
    video = await core.media.intake_bytes(clip("mov", rotation=90, apple_keys=True))
    sub = await core.submissions.create(amb, photos=[picture, video], caption="Site visit")
    # The poster frame stands for the video among the media; the clip is kept beside it.
    assert sub.media_keys == (picture.storage_key, video.poster_key)
    assert sub.videos == ((video.poster_key, video.storage_key),)
    assert sub.video_for(video.poster_key) == video.storage_key
    assert sub.video_for(picture.storage_key) == ""
    async with core.db.read() as r:
        rows = (await r.session.scalars(select(Media).order_by(Media.id))).all()
    assert [(m.mime, m.poster_key) for m in rows] == [
        ("image/jpeg", None),
        ("video/mp4", video.poster_key),
    ]

    assert await dispatcher.drain() >= 1
    [card] = port.in_channel(REVIEW_CHANNEL)
    images = [b for b in card.blocks if isinstance(b, Image)]
    assert [(i.media_key, i.video_key) for i in images] == [
        (picture.storage_key, ""),
        (video.poster_key, video.storage_key),
    ]
    assert images[1].alt == "Video 2 sent by Ana (poster frame)"
    assert images[1].play_label == "▶ Play video 2"

    # Approved, it is in the digest with its poster frame and its clip.
    cm = await member(core, "cm1", "Cem")
    await core.review.approve(cm, sub.id, revision=sub.revision)
    assert (await stored(core, sub.id)).status is Status.APPROVED
    digest = await core.rounds.digests.build(
        amb.workspace_id, core.clock() - timedelta(days=7), core.clock() + timedelta(minutes=1)
    )
    message = cards.digest_message(translator("fr"), digest, "Europe/Paris")
    [shown] = [b for b in message.blocks if isinstance(b, Image)]
    assert (shown.media_key, shown.video_key) == (picture.storage_key, "")


async def test_a_digest_shows_a_videos_poster_and_plays_it(core: Core) -> None:
    amb = await ambassador(core, "amb", "Ana")
    video = await core.media.intake_bytes(clip("mp4"))
    sub = await core.submissions.create(amb, photos=[video], caption="Clip")
    await core.review.approve(await member(core, "cm1", "Cem"), sub.id, revision=sub.revision)
    digest = await core.rounds.digests.build(
        amb.workspace_id, core.clock() - timedelta(days=7), core.clock() + timedelta(minutes=1)
    )
    message = cards.digest_message(translator("fr"), digest, "Europe/Paris")
    [shown] = [b for b in message.blocks if isinstance(b, Image)]
    assert (shown.media_key, shown.video_key) == (video.poster_key, video.storage_key)
    assert shown.alt == "Vidéo 1 envoyée par Ana (image d’aperçu)"
    assert shown.play_label == "▶ Lire la vidéo 1"


async def test_a_video_alone_is_a_submission(core: Core) -> None:
    amb = await ambassador(core, "amb", "Ana")
    video = await core.media.intake_bytes(clip("webm", "libvpx-vp9"))
    sub = await core.submissions.create(amb, photos=[video], caption="")
    assert sub.media_keys == (video.poster_key,) and sub.videos[0][1].endswith(".webm")


async def test_the_submissions_csv_says_photos_videos_and_news(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    amb = await ambassador(core, "amb", "Ana")
    video = await core.media.intake_bytes(clip("mp4"))
    both = await core.submissions.create(amb, photos=[await photo(core), video], caption="a")
    news = await core.submissions.create(
        amb, photos=[], caption="The new line runs", title="Line 4", appears=Appears.NOBODY
    )
    text = await core.stats.submissions_csv(cm.workspace_id, "Europe/Paris")
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(text))}
    assert (rows[both.id]["kind"], rows[both.id]["photos"], rows[both.id]["videos"]) == (
        "photos",
        "1",
        "1",
    )
    assert (rows[news.id]["kind"], rows[news.id]["photos"], rows[news.id]["videos"]) == (
        "news",
        "0",
        "0",
    )


async def test_a_refused_clip_writes_no_row(core: Core, tmp_path: Path) -> None:
    """Through the console, as a person would: a text file named .mp4, a clip too long."""
    fake = tmp_path / "clip.mp4"
    fake.write_text("not a video at all\n")
    long = tmp_path / "long.mov"
    long.write_bytes(clip("mov", frames=4, frame_seconds=3600, audio=False))
    term = Terminal(
        ["/relais join", "", "y", "/submit hi", f"{fake} {long}", "/cancel", "/relais me"]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    assert (
        "clip.mp4: This file is not a photo or video we can use. "
        "Accepted: JPEG, PNG, WebP, MP4, MOV, WebM."
    ) in out
    assert "long.mov: This video is longer than 120 seconds. Please send a shorter clip." in out
    assert await count_rows(core.db, Media) == 0
    assert await count_rows(core.db, Submission) == 0
    # The same refusals in French.
    accepted = "JPEG, PNG, WebP, MP4, MOV, WebM"
    assert translate("fr", "media.unsupported_type", accepted=accepted) == (
        "Ce fichier n’est ni une photo ni une vidéo utilisable. Formats acceptés : "
        "JPEG, PNG, WebP, MP4, MOV, WebM."
    )
    assert "120 secondes" in translate("fr", "media.too_long", limit_s=120)


async def test_console_submits_a_video_and_the_cm_plays_it(core: Core, tmp_path: Path) -> None:
    picture = tmp_path / "team.jpg"
    picture.write_bytes(jpeg_bytes())
    video = tmp_path / "IMG_0001.MOV"
    video.write_bytes(clip("mov", rotation=90, apple_keys=True))
    term = Terminal(
        [
            "/as cm1",
            "/relais site add Lyon",
            "/as alice",
            "/submit Our new line",
            "Lyon",
            "y",
            f"{picture} '{video}'",
            "",  # no title
            "",  # the caption as typed
            "",  # no link
            "",  # the site: the default
            "1",  # who appears: nobody
            "",  # no colleague named
            "n",  # no outside agreement needed
            "n",  # not sensitive
            "y",  # send
            "/as cm1",
            "1",  # Approve
        ]
    )
    await ConsoleApp(console_core(core), term.ask, term.say).run()
    out = term.text
    media_dir = core.settings.media_dir
    async with core.db.read() as r:
        rows = (await r.session.scalars(select(Media).order_by(Media.id))).all()
    clip_row = rows[1]
    assert clip_row.mime == "video/mp4" and clip_row.poster_key
    assert f"[Video 2 sent by Alice (poster frame): {media_dir / clip_row.poster_key}]" in out
    assert f"[▶ Play video 2: {media_dir / clip_row.storage_key}]" in out
    assert "Submission #1 from Alice approved." in out
    cleaned = (media_dir / clip_row.storage_key).read_bytes()
    assert LATITUDE not in cleaned and location_tags(cleaned) == {}
    assert rotation_of(cleaned) == 90
    assert "Our new line" in out


async def test_migration_0019_adds_and_drops_the_poster_key_with_data(
    db: Database, tmp_path: Path
) -> None:
    from alembic import command

    async with scratch_database(db, tmp_path, "video_posters") as url:
        await asyncio.to_thread(upgrade, url, "0017")
        now = sql_now(db)
        await seed_submission(
            url,
            now,
            "a",
            "pending",
            "INSERT INTO media (id, owner_id, sha256, source_sha256, mime, size, width, height,"
            " storage_key, created_at) VALUES (1, 1, 'a', 'b', 'image/jpeg', 1, 1, 1, 'k.jpg',"
            " :now)",
            "INSERT INTO submission_media (id, submission_id, media_id, position)"
            " VALUES (1, 1, 1, 0)",
        )
        await asyncio.to_thread(upgrade, url, "0019")
        assert await _rows(url, "SELECT id, poster_key FROM media") == [(1, None)]
        await _run(
            url,
            "INSERT INTO media (id, owner_id, sha256, source_sha256, mime, size, width, height,"
            " storage_key, poster_key, created_at) VALUES (2, 1, 'c', 'd', 'video/mp4', 1, 1,"
            " 1, 'v.mp4', 'p.jpg', :now)",
            "INSERT INTO submission_media (id, submission_id, media_id, position)"
            " VALUES (2, 1, 2, 1)",
            now=now,
        )
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0017")
        assert await _rows(url, "SELECT id, mime, storage_key FROM media ORDER BY id") == [
            (1, "image/jpeg", "k.jpg"),
            (2, "video/mp4", "v.mp4"),
        ]
        # The links survive the downgrade (no table rebuild cascading deletes).
        links = "SELECT submission_id, media_id FROM submission_media ORDER BY id"
        assert await _rows(url, links) == [(1, 1), (1, 2)]
        await asyncio.to_thread(upgrade, url, "head")
        assert await _rows(url, "SELECT id, poster_key FROM media ORDER BY id") == [
            (1, None),
            (2, None),
        ]


async def test_retention_keeps_a_live_videos_poster_and_purges_a_rejected_ones(
    core: Core, clock: FakeClock
) -> None:
    clock.now = datetime.now(UTC)
    ana = await ambassador(core, "ana", "Ana")
    cm = await member(core, "cm1", "Carla")
    kept = await core.media.intake_bytes(clip("mp4", frames=5))
    approved = await core.submissions.create(ana, photos=[kept], caption="kept")
    await core.review.approve(cm, approved.id)
    gone = await core.media.intake_bytes(clip("mov", rotation=90, frames=6))
    rejected = await core.submissions.create(ana, photos=[gone], caption="gone")
    await core.review.reject(cm, rejected.id, "off topic")
    # Every file looks old enough for the orphan collection.
    for key in (kept.storage_key, kept.poster_key, gone.storage_key, gone.poster_key):
        old = (clock.now - ORPHAN_AFTER - timedelta(days=1)).timestamp()
        os.utime(core.store.local_path(key), (old, old))
    clock.advance(days=91)
    assert await core.retention.tick() == 2  # files deleted: the clip and its poster
    # The rejected video goes with its poster frame; the approved one's poster, which no
    # media row names as its storage key, is not taken for an orphan.
    assert not core.store.exists(gone.storage_key) and not core.store.exists(gone.poster_key)
    assert core.store.exists(kept.storage_key) and core.store.exists(kept.poster_key)
    assert (await stored(core, rejected.id)).media_keys == ()
    assert (await stored(core, approved.id)).media_keys == (kept.poster_key,)


async def test_forgetting_the_author_deletes_the_clip_and_its_poster(core: Core) -> None:
    ana = await ambassador(core, "ana", "Ana")
    video = await core.media.intake_bytes(clip("mp4"))
    await core.submissions.create(ana, photos=[video], caption="mine")
    await core.forgetting.forget(ana, by="self")
    assert not core.store.exists(video.storage_key)
    assert not core.store.exists(video.poster_key)
    assert await count_rows(core.db, Media) == 0


async def test_the_library_shows_a_videos_poster_and_plays_the_cleaned_clip(
    core: Core, client: TestClient[web.Request, web.Application]
) -> None:
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "UANA", "Ana")
    video = await core.media.intake_bytes(clip("mov", rotation=90, apple_keys=True))
    sub = await core.submissions.create(
        ana, photos=[video], caption="Plant tour", appears=Appears.NOBODY
    )
    await core.review.approve(carla, sub.id)
    path = await _library_path(core, carla)
    async with core.db.read() as r:
        (media_id,) = await r.session.scalars(
            select(Media.id).where(Media.storage_key == video.storage_key)
        )
    page = _Page(await (await client.get(path)).text())
    assert page.images() == [f"{path}/photo/{media_id}?poster=1"]
    assert "▶ Video: open it to play" in "".join(page.text)
    poster = await client.get(f"{path}/photo/{media_id}", params={"poster": "1"})
    assert poster.status == 200 and poster.content_type == "image/jpeg"
    with PILImage.open(io.BytesIO(await poster.read())) as picture:
        assert picture.size == (48, 64)
    played = await client.get(f"{path}/photo/{media_id}")
    assert played.status == 200 and played.content_type == "video/mp4"
    data = await played.read()
    assert LATITUDE not in data and location_tags(data) == {} and rotation_of(data) == 90
    download = await client.get(f"{path}/photo/{media_id}", params={"download": "1"})
    assert download.headers["Content-Disposition"].endswith(f'relais-{sub.id}-1.mp4"')
    # Faces cannot be blurred in a video: with face_blur on it has no copy for outside.
    outside = {"download": "1", "copy": "outside"}
    assert (await client.get(f"{path}/photo/{media_id}", params=outside)).status == 200
    await handle_command(core, carla, "/relais", "config face_blur on")
    assert (await client.get(f"{path}/photo/{media_id}", params=outside)).status == 404
    page = _Page(await (await client.get(path)).text())
    assert not any("copy=outside" in str(a.get("href")) for _, a in page.tags)
