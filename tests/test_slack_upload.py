"""A review card's photo is uploaded to Slack once, even across failures, retries and crashes:
each of the three upload calls is recorded as it succeeds and a retry resumes after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack.port import SlackClients, SlackPort
from bot.core import Core
from bot.ports import RetryLater, Target
from bot.ui import Image, Message, Paragraph
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
