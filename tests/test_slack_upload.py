"""A review card's photo is uploaded to Slack once, even across failures, retries and crashes:
each of the three upload calls is recorded as it succeeds and a retry resumes after it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image as PILImage

from adapters.slack.port import SlackClients, SlackPort
from bot.core import Core
from bot.media import PhotoBudget
from bot.ports import PermanentFailure, RetryLater, Target
from bot.ui import File, Image, Message, Paragraph
from tests.slack_api import FakeSlack
from tests.support import FakeClock, photo

TEAM = "T1"


_CLIENTS: list[SlackClients] = []


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack
    while _CLIENTS:
        await _CLIENTS.pop().close()


def new_port(fake: FakeSlack, core: Core, clock: FakeClock) -> SlackPort:
    """A port as a (re)started process builds it: nothing in memory from an earlier one."""
    clients = SlackClients(fake.api_url, bot_token=fake.token)
    _CLIENTS.append(clients)
    return SlackPort(clients, core.relay.uploads, core.store, clock)


async def card(core: Core, color: tuple[int, int, int] = (10, 120, 200)) -> Message:
    image = await photo(core, color)
    return Message("Review #1", (Paragraph("Review #1"), Image(image.storage_key, "photo")))


def shown_file(fake: FakeSlack) -> str:
    post = [c for c in fake.calls_to("chat.postMessage") if c.ok][-1]
    image = next(b for b in post.params["blocks"] if b["type"] == "image")
    return str(image["slack_file"]["id"])


def steps(fake: FakeSlack) -> tuple[int, int, int]:
    """(upload URLs asked for, files whose bytes arrived, uploads completed)."""
    return (
        len(fake.calls_to("files.getUploadURLExternal")),
        len(fake.uploads),
        len(fake.completed_uploads),
    )


async def test_a_retry_after_a_failed_complete_does_not_upload_again(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    message = await card(core)
    fake.fail("files.completeUploadExternal", 500)
    with pytest.raises(RetryLater):
        await new_port(fake, core, clock).post(TEAM, Target("channel", "CREVIEW"), message)
    assert steps(fake) == (1, 1, 0)
    # The retry comes from another process (the first one crashed): it resumes at step 3.
    await new_port(fake, core, clock).post(TEAM, Target("channel", "CREVIEW"), message)
    assert steps(fake) == (1, 1, 1)
    assert len(fake.calls_to("files.completeUploadExternal")) == 2
    assert shown_file(fake) in fake.uploads


async def test_an_upload_completed_whose_answer_was_lost_is_not_redone(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    message = await card(core)
    complete = fake._builtin["files.completeUploadExternal"]
    answered = 0

    def lose_first_answer(params: dict[str, Any], token: str | None) -> dict[str, Any]:
        nonlocal answered
        answered += 1
        result = complete(params, token)
        if answered == 1:
            raise RuntimeError("the connection dropped after Slack completed the upload")
        return result  # type: ignore[return-value]

    fake.set_handler("files.completeUploadExternal", lose_first_answer)
    with pytest.raises(RetryLater):
        await new_port(fake, core, clock).post(TEAM, Target("channel", "CREVIEW"), message)
    assert steps(fake) == (1, 1, 1), "Slack did complete it"
    await new_port(fake, core, clock).post(TEAM, Target("channel", "CREVIEW"), message)
    assert steps(fake) == (1, 1, 1), "the retry found the completed file instead of uploading"
    assert shown_file(fake) == fake.completed_uploads[0]["files"][0]["id"]


async def test_a_retried_card_reuses_its_uploaded_photo(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    message = await card(core)
    fake.fail("chat.postMessage", 500)
    port = new_port(fake, core, clock)
    with pytest.raises(RetryLater):
        await port.post(TEAM, Target("channel", "CREVIEW"), message)
    await port.post(TEAM, Target("channel", "CREVIEW"), message)
    assert steps(fake) == (1, 1, 1)


async def test_two_cards_with_one_photo_at_once_upload_it_once(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    message = await card(core)
    port = new_port(fake, core, clock)
    await asyncio.gather(
        port.post(TEAM, Target("user", "UCM1"), message),
        port.post(TEAM, Target("user", "UCM2"), message),
    )
    assert steps(fake) == (1, 1, 1)


async def test_an_upload_url_slack_no_longer_accepts_starts_over(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    message = await card(core)
    # Step one is recorded, then the URL goes stale before the bytes are sent.
    port = new_port(fake, core, clock)
    async with core.db.transaction() as r:
        key = message.blocks[1].media_key  # type: ignore[union-attr]
        await r.slack_uploads.reserve(
            TEAM, key, "F-stale", f"{fake.url}/upload/F-stale", now=clock()
        )
    with pytest.raises(RetryLater, match="starting over"):
        await port.post(TEAM, Target("channel", "CREVIEW"), message)
    await port.post(TEAM, Target("channel", "CREVIEW"), message)
    assert shown_file(fake) != "F-stale"
    assert len(fake.completed_uploads) == 1


async def test_a_file_for_a_person_is_shared_in_their_dm_once_after_a_429(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    """An export (a File block) is uploaded and shared in the DM; a refused share is
    retried from the start and shares it once."""
    key = core.store.put(b"id,status\n1,approved\n", "csv")
    message = Message("Every submission (CSV)", (File(key, "export.csv", "Every submission"),))
    fake.fail("files.completeUploadExternal", 429, retry_after=2)
    with pytest.raises(RetryLater) as refused:
        await new_port(fake, core, clock).post(TEAM, Target("user", "UCM1"), message)
    assert refused.value.retry_after == 2
    assert fake.completed_uploads == []
    ref = await new_port(fake, core, clock).post(TEAM, Target("user", "UCM1"), message)
    (shared,) = fake.completed_uploads
    assert shared["channel_id"] == "DUCM1" == ref["channel"]
    assert shared["initial_comment"] == "Every submission (CSV)"
    file_id = shared["files"][0]["id"]
    assert ref["file"] == file_id and fake.uploads[file_id] == b"id,status\n1,approved\n"
    assert fake.files[file_id]["name"] == "export.csv"
    assert not fake.calls_to("chat.postMessage")  # the file is the message


async def test_a_file_missing_from_the_store_is_a_permanent_failure(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    key = core.store.put(b"a,b\n", "csv")
    core.store.delete(key)
    message = Message("Export", (File(key, "export.csv", "Export"),))
    with pytest.raises(PermanentFailure):
        await new_port(fake, core, clock).post(TEAM, Target("user", "UCM1"), message)
    assert not fake.calls_to("files.getUploadURLExternal")


async def test_the_stored_photo_is_uploaded_from_disk_as_it_is(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    message = await card(core)
    key = message.blocks[1].media_key  # type: ignore[union-attr]
    await new_port(fake, core, clock).post(TEAM, Target("channel", "CREVIEW"), message)
    stored = core.store.path(key).read_bytes()
    assert fake.uploads[shown_file(fake)] == stored
    asked = fake.calls_to("files.getUploadURLExternal")[0].params
    assert int(asked["length"]) == len(stored)


async def test_a_webp_photo_is_sent_as_png_within_the_photo_budget(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (120, 80), (30, 160, 90)).save(buffer, "WEBP", lossless=True)
    image = await core.media.intake_bytes(buffer.getvalue())
    assert image.storage_key.endswith(".webp")
    message = Message("Review #1", (Paragraph("Review #1"), Image(image.storage_key, "photo")))
    budget = PhotoBudget()
    port = SlackPort(
        SlackClients(fake.api_url, bot_token=fake.token),
        core.relay.uploads,
        core.store,
        clock,
        budget=budget,
    )
    await port.post(TEAM, Target("channel", "CREVIEW"), message)
    sent = fake.uploads[shown_file(fake)]
    asked = fake.calls_to("files.getUploadURLExternal")[0].params
    assert asked["filename"].endswith(".png") and int(asked["length"]) == len(sent)
    with (
        PILImage.open(io.BytesIO(sent)) as png,
        PILImage.open(core.store.path(image.storage_key)) as webp,
    ):
        assert png.format == "PNG" and png.size == (120, 80)
        assert png.tobytes() == webp.convert(png.mode).tobytes()  # the same pixels
    assert budget.peak == 120 * 80 * 4 * 4 and budget.in_use == 0  # decoded within it
    assert list((core.store.root / "tmp").iterdir()) == []  # the temporary PNG is gone
