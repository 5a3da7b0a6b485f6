"""Fan-out under a flaky Slack: every DM arrives exactly once despite 429s and 5xx."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from adapters.slack.port import SlackClients, SlackPort
from bot import notify
from bot.core import Core
from bot.outbox import Dispatcher
from bot.ui import Message, Paragraph
from domain import Platform
from tests.slack_api import FakeSlack
from tests.support import FakeClock

PEOPLE = 40


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


async def test_every_dm_arrives_once_through_429s_and_500s(
    core: Core, clock: FakeClock, fake: FakeSlack
) -> None:
    members = [
        await core.onboarding.identify(Platform.SLACK, "T1", f"U{i:04d}", display_name=f"P{i}")
        for i in range(PEOPLE)
    ]
    async with core.db.transaction() as r:
        for person in members:
            text = f"Hello {person.display_name}"
            await notify.dm(r, person, Message(text, (Paragraph(text),)), now=clock())
    fake.fail_share(0.3, statuses=(429, 500, 503), seed=7, retry_after=2)
    port = SlackPort(
        SlackClients(fake.api_url, bot_token=fake.token), core.relay.uploads, core.store, clock
    )
    dispatcher = Dispatcher(core.db, {"slack": port}, clock=clock, max_attempts=30)
    for _ in range(60):
        await dispatcher.drain()
        async with core.db.read() as r:
            counts = await r.outbox.counts()
        if counts.get("sent", 0) == PEOPLE:
            break
        clock.advance(seconds=120)  # past every Retry-After and backoff
    delivered = Counter(
        c.params["channel"] for c in fake.calls_to("chat.postMessage") if c.status == 200
    )
    failed = [c for c in fake.calls_to("chat.postMessage") if c.status != 200]
    assert failed, "the fake should have failed some calls"
    assert {m.external_id for m in members} == set(delivered)  # nobody lost
    assert set(delivered.values()) == {1}  # nobody twice
    assert counts == {"sent": PEOPLE}
    await port.clients.close()
