"""The outbox does not hold one recipient's messages behind another's pace.

The real ``Dispatcher`` sends through the real ``SlackPort`` over HTTP to ``FakeSlack``,
which limits ``chat.postMessage`` per channel like Slack (a token bucket: a short burst,
then a steady rate; 429 with ``Retry-After`` beyond it). Review cards queued in one
channel use up its burst and are given back to the table with a next-send time each,
while a DM queued after them goes out at once; the cards still arrive in the order they
were queued, each card's update after it, and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.port import SlackClients, SlackPort
from bot import notify
from bot.core import Core
from bot.outbox import Dispatcher, utcnow
from bot.services.relay import Uploads
from bot.ui import Image, Message, Paragraph
from domain import Platform
from storage.db import Database
from storage.media_store import LocalMediaStore
from tests.slack_api import FakeSlack
from tests.support import photo

# The review channel's pace in these tests: 5 a second after a burst of 2 (Slack's is
# about 1 a second; faster keeps the tests short, the shape is the same). The fake Slack
# allows a little more than the port assumes (SLACK_RATE), so that the jitter of a shared
# machine never turns into a 429 (the last test is about 429s).
RATE = 5.0
SLACK_RATE = 6.0
BURST = 2


def note(text: str) -> Message:
    return Message(text, (Paragraph(text),))


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


@contextlib.asynccontextmanager
async def dispatching(
    fake: FakeSlack,
    db: Database,
    tmp_path: Path,
    *,
    burst: int = BURST,
    store: LocalMediaStore | None = None,
) -> AsyncIterator[Dispatcher]:
    """A dispatcher running as in ``relais serve`` (real clock), sending to ``fake``."""
    clients = SlackClients(fake.api_url, bot_token=fake.token)
    port = SlackPort(
        clients,
        Uploads(db, utcnow),
        store or LocalMediaStore(tmp_path / "media"),
        utcnow,
        channel_rate=RATE,
        channel_burst=burst,
    )
    dispatcher = Dispatcher(db, {"slack": port})
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run_forever(stop, poll=30))
    try:
        yield dispatcher
    finally:
        stop.set()
        dispatcher.wake()
        await asyncio.wait_for(running, timeout=15)
        await clients.close()


async def queue_posts(
    db: Database, fake: FakeSlack, posts: list[tuple[str, str, str]]
) -> dict[str, int]:
    """Queue ``(kind, channel or user, text)`` posts in one transaction; text -> row id."""
    ids = {}
    async with db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform.SLACK, fake.team_id, locale="en", timezone="UTC", now=utcnow()
        )
        for kind, where, text in posts:
            if kind == "channel":
                ids[text] = await notify.channel_post(
                    r,
                    workspace_id=ws.id,
                    platform="slack",
                    channel=where,
                    message=note(text),
                    now=utcnow(),
                )
            else:
                ids[text] = await r.outbox.add(
                    workspace_id=ws.id,
                    platform="slack",
                    kind="post",
                    target={"kind": "user", "id": where},
                    payload=note(text).to_json(),
                    now=utcnow(),
                )
    return ids


def accepted(fake: FakeSlack, method: str = "chat.postMessage") -> list[tuple[str, str, float]]:
    """(channel, text, time) of the accepted calls, in the order Slack accepted them."""
    return [
        (str(c.params["channel"]), str(c.params.get("text")), c.at)
        for c in fake.calls_to(method)
        if c.ok
    ]


async def counts(db: Database) -> dict[str, int]:
    async with db.read() as r:
        return await r.outbox.counts()


async def test_a_dm_is_not_held_behind_a_paced_channel(
    fake: FakeSlack, db: Database, tmp_path: Path
) -> None:
    fake.rate_limit("chat.postMessage", SLACK_RATE, scope="channel", burst=BURST)
    cards = [("channel", "CREVIEW", f"card {n}") for n in range(10)]
    await queue_posts(db, fake, [*cards, ("user", "UAUTHOR", "approved!")])
    async with dispatching(fake, db, tmp_path) as dispatcher:
        dispatcher.wake()
        await fake.wait_for(lambda: len(accepted(fake)) == 11, timeout=15)
        await fake.wait_for(lambda: _all_sent(db, 11), timeout=5)
    sent = accepted(fake)
    review = [(text, at) for channel, text, at in sent if channel == "CREVIEW"]
    [dm_at] = [at for channel, _, at in sent if channel == "UAUTHOR"]
    # The cards are paced: the burst, then one every 1/RATE s (8 more: at least 1.6 s).
    assert review[-1][1] - review[0][1] >= (10 - BURST) / RATE - 0.05
    # The DM was queued after all ten and went out with the burst, not after the cards.
    assert dm_at < review[BURST][1]
    assert dm_at - review[0][1] < 0.5
    # In the order they were queued, each once, and never refused for rate.
    assert [text for text, _ in review] == [f"card {n}" for n in range(10)]
    assert not [c for c in fake.calls_to("chat.postMessage") if c.rate_limited]
    async with db.read() as r:
        rows = await r.outbox.dead_letters()
    assert rows == []


async def test_order_within_a_channel_holds_across_claims_and_updates_follow_their_card(
    fake: FakeSlack, db: Database, tmp_path: Path
) -> None:
    fake.rate_limit("chat.postMessage", SLACK_RATE, scope="channel", burst=BURST)
    fake.rate_limit("chat.update", SLACK_RATE, scope="channel", burst=BURST)
    ids = await queue_posts(db, fake, [("channel", "CREVIEW", f"card {n}") for n in range(6)])
    async with dispatching(fake, db, tmp_path) as dispatcher:
        dispatcher.wake()
        await fake.wait_for(lambda: len(accepted(fake)) >= BURST)
        # Queued while the first cards' successors are given back: decisions on cards 0
        # and 4 (updates), a new card, and a DM.
        async with db.transaction() as r:
            for n in (0, 4):
                await notify.replace(r, ids[f"card {n}"], note(f"card {n} approved"), now=utcnow())
        await queue_posts(
            db, fake, [("channel", "CREVIEW", "card 6"), ("user", "UAUTHOR", "approved!")]
        )
        dispatcher.wake()
        await fake.wait_for(lambda: len(accepted(fake)) == 8, timeout=15)
        await fake.wait_for(lambda: len(accepted(fake, "chat.update")) == 2, timeout=15)
        await fake.wait_for(lambda: _all_sent(db, 10), timeout=5)
    posted = [text for channel, text, _ in accepted(fake) if channel == "CREVIEW"]
    assert posted == [f"card {n}" for n in range(7)]  # card 6, queued last, went last
    updates = accepted(fake, "chat.update")
    assert sorted(text for _, text, _ in updates) == ["card 0 approved", "card 4 approved"]
    posted_at = {text: at for _, text, at in accepted(fake)}
    for _, text, at in updates:
        assert at >= posted_at[text.removesuffix(" approved")]
    [dm_at] = [at for channel, _, at in accepted(fake) if channel == "UAUTHOR"]
    assert dm_at < posted_at["card 5"]  # the DM did not wait for the channel
    async with db.read() as r:
        for row_id in ids.values():
            row = await r.outbox.get(row_id)
            assert row is not None and row.status == "sent"
            assert row.attempts == 1, "being given back for pacing does not count as a try"


async def _all_sent(db: Database, n: int) -> bool:
    return (await counts(db)).get("sent") == n


async def test_a_429_holds_the_channel_for_retry_after_and_the_dm_still_goes(
    fake: FakeSlack, db: Database, tmp_path: Path
) -> None:
    # Slack allows less of a burst than the port assumes: one 429 (Retry-After: 1), then
    # the channel goes at its steady rate; the DM is not held back by it.
    fake.rate_limit("chat.postMessage", SLACK_RATE, scope="channel", burst=1, retry_after=1)
    await queue_posts(
        db,
        fake,
        [*(("channel", "CREVIEW", f"card {n}") for n in range(5)), ("user", "UAUTHOR", "hi")],
    )
    async with dispatching(fake, db, tmp_path, burst=3) as dispatcher:
        dispatcher.wake()
        await fake.wait_for(lambda: len(accepted(fake)) == 6, timeout=20)
        await fake.wait_for(lambda: _all_sent(db, 6), timeout=5)
    calls = fake.calls_to("chat.postMessage")
    refused = [c for c in calls if c.rate_limited]
    assert len(refused) == 1
    review = [(text, at) for channel, text, at in accepted(fake) if channel == "CREVIEW"]
    delivered = Counter(text for text, _ in review)
    assert delivered == Counter(f"card {n}" for n in range(5))  # each once
    after = [at for _, at in review if at > refused[0].at]
    assert after and after[0] >= refused[0].at + 1.0 - 0.05  # Retry-After was honoured
    [dm_at] = [at for channel, _, at in accepted(fake) if channel == "UAUTHOR"]
    assert dm_at < refused[0].at + 0.5


async def test_a_channels_cards_have_their_photos_uploaded_side_by_side_before_posting(
    fake: FakeSlack, core: Core, tmp_path: Path
) -> None:
    # Each upload is held until all three have begun: one after another (the lane's sends)
    # they could not all begin, and the cards would not be posted.
    begun: list[str] = []
    everyone = asyncio.Event()
    reserve = fake._files_get_upload_url

    async def held(params: dict[str, Any], token: str | None) -> dict[str, Any]:
        begun.append(str(params.get("filename")))
        if len(begun) >= 3:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), timeout=10)
        return reserve(params, token)

    fake.set_handler("files.getUploadURLExternal", held)
    images = [await photo(core, (40 * n, 90, 200)) for n in range(3)]
    async with core.db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform.SLACK, fake.team_id, locale="en", timezone="UTC", now=utcnow()
        )
        for n, image in enumerate(images):
            message = Message(f"card {n}", (Paragraph(f"card {n}"), Image(image.storage_key, "")))
            await notify.channel_post(
                r,
                workspace_id=ws.id,
                platform="slack",
                channel="CREVIEW",
                message=message,
                now=utcnow(),
            )
    async with dispatching(fake, core.db, tmp_path, store=core.store) as dispatcher:
        dispatcher.wake()
        await fake.wait_for(lambda: len(accepted(fake)) == 3, timeout=15)
    assert len(begun) == 3
    assert [text for _, text, _ in accepted(fake)] == ["card 0", "card 1", "card 2"]
