"""Videos over the wire, as Slack and Teams call us: a phone clip with its location and a
rotation goes in through the platform, the card shows its poster frame, and the copy
the CM plays (Slack: the bot's upload in the card's thread; Teams: a signed link) holds
no location and keeps the rotation. A file that is not a video is explained."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image as PILImage

from adapters.slack.port import SlackClients, SlackPort
from bot.core import Core
from bot.ports import Target
from bot.ui import Image, Message, Paragraph
from storage.db import Database
from storage.models import Media, Submission
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SlackRig, texts
from tests.support import count_rows
from tests.test_slack import _jobs_done, card_ref, fake, join, rig
from tests.test_stats_platforms import teams_rig
from tests.test_teams import TeamsRig, bf, executes, install, runs
from tests.test_teams import join as teams_join
from tests.video_clips import LATITUDE, clip, location_tags, rotation_of

# Fixtures shared with the platforms' own tests.
__all__ = ["bf", "fake", "rig", "teams_rig"]


def assert_clean_clip(data: bytes) -> None:
    assert LATITUDE not in data and b"\xa9xyz" not in data
    assert location_tags(data) == {}
    assert rotation_of(data) == 90


async def test_slack_form_with_a_video_card_shows_the_poster_and_the_clip_in_its_thread(
    rig: SlackRig, db: Database
) -> None:
    await join(rig, "UAMB")
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command("UAMB", "/submit", "Line 3 opening")).status == 200
    form = await rig.opened_view(opened + 1)
    photos = next(b for b in form["blocks"] if b.get("block_id") == "photos")
    assert "mov" in photos["element"]["filetypes"] and "mp4" in photos["element"]["filetypes"]
    source = clip("mov", rotation=90, apple_keys=True)
    assert LATITUDE in source
    video = rig.fake.add_file(
        "FVID", source, name="IMG_0001.MOV", mimetype="video/quicktime", filetype="mov", user="UAMB"
    )
    answer = await (
        await rig.submit("UAMB", form, {"appears": "nobody", "photos": [video]}, view_id="VV")
    ).json()
    assert answer["response_action"] == "update", answer
    await rig.fake.wait_for(lambda: rig.posts_to(REVIEW))
    card = rig.posts_to(REVIEW)[0]
    # The poster frame, uploaded by the bot, is the card's image, marked as a video.
    image = next(b for b in card["blocks"] if b["type"] == "image")
    assert image["alt_text"] == "Video 1 sent by Ana Field (poster frame)"
    with PILImage.open(io.BytesIO(rig.fake.uploads[image["slack_file"]["id"]])) as poster:
        assert poster.format == "JPEG" and poster.size == (48, 64)
    assert "▶ Play video 1" in texts(card["blocks"])
    # The cleaned clip is shared in the card's thread, where the CM plays it.
    channel, ts = card_ref(rig)
    await rig.fake.wait_for(lambda: any(u["thread_ts"] == ts for u in rig.fake.completed_uploads))
    [shared] = [u for u in rig.fake.completed_uploads if u["thread_ts"] == ts]
    assert shared["channel_id"] == channel
    assert shared["files"][0]["title"] == "▶ Play video 1"
    assert_clean_clip(rig.fake.uploads[shared["files"][0]["id"]])
    # No copy Relais uploaded anywhere holds the coordinates.
    assert not any(LATITUDE in data for data in rig.fake.uploads.values())
    async with db.read() as r:
        [row] = (await r.session.execute(Media.__table__.select())).all()
    assert row.mime == "video/mp4" and row.poster_key


async def test_slack_video_dropped_in_the_dm_is_offered_for_submission(rig: SlackRig) -> None:
    await join(rig, "UAMB")
    video = rig.fake.add_file(
        "FDMV", clip("mp4", rotation=90), name="clip.mp4", mimetype="video/mp4", user="UAMB"
    )
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel": "DUAMB",
        "channel_type": "im",
        "user": "UAMB",
        "text": "",
        "ts": "1700000001.000300",
        "files": [video],
    }
    assert (await rig.event(event, event_id="EvV")).status == 200
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    prompt = rig.posts_to("UAMB")[-1]
    assert "slack.submit_dropped" in str(prompt["blocks"])


async def test_slack_text_file_named_mp4_is_explained_and_not_recorded(
    rig: SlackRig, db: Database
) -> None:
    await join(rig, "UAMB")
    await rig.command("UAMB", "/submit", "Clip")
    form = await rig.opened_view(2)
    fake_clip = rig.fake.add_file(
        "FTXT", b"just some text\n", name="clip.mp4", mimetype="video/mp4", user="UAMB"
    )
    answer = await (
        await rig.submit("UAMB", form, {"appears": "nobody", "photos": [fake_clip]}, view_id="VT")
    ).json()
    assert answer["response_action"] == "update"
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    dm = texts(rig.posts_to("UAMB")[-1]["blocks"])
    assert "clip.mp4" in dm and "JPEG, PNG, WebP, MP4, MOV, WebM" in dm
    assert "not a photo or video" in dm
    await _jobs_done(rig)
    assert await count_rows(db, Submission) == 0
    assert await count_rows(db, Media) == 0


async def test_teams_video_attachment_review_card_links_the_cleaned_clip(
    teams_rig: TeamsRig, db: Database
) -> None:
    await install(teams_rig)
    await teams_join(teams_rig)
    alice = teams_rig.bf.personal_conversation_id("29:alice")
    before = len(teams_rig.cards_to(alice))
    teams_rig.bf.add_file(
        "vid1", clip("mov", rotation=90, apple_keys=True), "video/quicktime", False
    )
    attachment = teams_rig.bf.file_attachment("vid1", "IMG_0002.MOV")
    await teams_rig.send(
        teams_rig.bf.personal_message("Clip from the plant", attachments=[attachment])
    )
    form = await teams_rig.wait_card(alice, before + 1)
    submit = executes(form)["submission.create"]
    answer = await teams_rig.send(
        teams_rig.bf.invoke_adaptive_card_action(
            "submission.create",
            {**submit["data"], "caption": "Clip from the plant", "appears": "nobody"},
        )
    )
    assert answer.status == 200, answer.text
    card = await teams_rig.review_card()
    image = next(e for e in card["body"] if e.get("type") == "Image")
    assert image["altText"] == "Video 1 sent by Alice (poster frame)"
    plays = [
        a
        for e in card["body"]
        if e.get("type") == "ActionSet"
        for a in e["actions"]
        if a.get("title") == "▶ Play video 1"
    ]
    assert len(plays) == 1 and plays[0]["type"] == "Action.OpenUrl"
    async with aiohttp.ClientSession() as session:
        poster_path = image["url"].removeprefix("https://relais.example.com")
        async with session.get(teams_rig.url + poster_path) as got:
            assert got.status == 200 and got.content_type == "image/jpeg"
            with PILImage.open(io.BytesIO(await got.read())) as poster:
                assert poster.size == (48, 64)
        clip_path = plays[0]["url"].removeprefix("https://relais.example.com")
        async with session.get(teams_rig.url + clip_path) as got:
            assert got.status == 200 and got.content_type == "video/mp4"
            assert "attachment" not in got.headers.get("Content-Disposition", "")
            assert_clean_clip(await got.read())
        # A browser's player asks for ranges.
        async with session.get(teams_rig.url + clip_path, headers={"Range": "bytes=0-99"}) as part:
            assert part.status == 206 and len(await part.read()) == 100
    assert "Clip from the plant" in runs(card)


@pytest.mark.parametrize("status", [429, 500])
async def test_slack_share_of_the_clip_is_tried_again_after_a_transient_failure(
    core: Core, fake: FakeSlack, status: int
) -> None:
    """The card is already posted when the clip is shared in its thread: a 429 or a 500
    on the share is tried again in place (the outbox would post the card twice)."""
    video = await core.media.intake_bytes(clip("mov", rotation=90, apple_keys=True))
    clients = SlackClients(fake.api_url, bot_token=fake.token)
    port = SlackPort(clients, core.relay.uploads, core.store, core.clock)
    try:
        image = Image(video.poster_key, "Video 1", video.storage_key, "▶ Play video 1")
        message = Message("Review #1", (Paragraph("Review #1"), image))
        await port.prepare(fake.team_id, message)  # the poster frame is up
        fake.fail("files.completeUploadExternal", status, times=1, retry_after=1)
        ref = await port.post(fake.team_id, Target("channel", "CREVIEW"), message)
        [shared] = [u for u in fake.completed_uploads if u["thread_ts"] == ref["ts"]]
        assert_clean_clip(fake.uploads[shared["files"][0]["id"]])
        assert len([c for c in fake.calls_to("chat.postMessage") if c.ok]) == 1
    finally:
        await clients.close()


async def test_teams_a_file_that_is_neither_says_photos_and_videos_are_accepted(
    teams_rig: TeamsRig,
) -> None:
    await teams_join(teams_rig)
    pdf = teams_rig.bf.file_attachment("doc1", "plan.pdf")
    await teams_rig.send(teams_rig.bf.personal_message("", attachments=[pdf]))
    alice = teams_rig.bf.personal_conversation_id("29:alice")
    card = await teams_rig.wait_card(alice, 2)
    assert "plan.pdf" in runs(card)
    assert "JPEG, PNG, WebP, MP4, MOV, WebM" in runs(card)
