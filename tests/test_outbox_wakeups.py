"""The dispatcher wakes itself for every row it put back for later, and sends one
recipient's rows from one round at a time.

These run the dispatcher as ``relais serve`` does (``run_forever``, real clock) with a
poll of 30 s: a row whose wake-up was lost would wait for that poll, well past the
waits here. The ports are platform stand-ins that record when each call ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bot import notify
from bot.outbox import Dispatcher, utcnow
from bot.ports import NotYet, RetryLater, Target
from bot.ui import Message, Paragraph
from domain import Platform
from storage.db import Database
from tests.waiting import poll

POLL = 30.0


def note(text: str) -> Message:
    return Message(text, (Paragraph(text),))


@dataclass
class TimedPort:
    """Records each post and update (text, start, end, target id); a post to a target in
    ``slow`` takes that many seconds; ``not_yet`` texts are refused once for pacing
    (NotYet), ``fail_once`` texts once as a transient failure."""

    platform: str = "console"
    slow: dict[str, float] = field(default_factory=dict)
    not_yet: dict[str, float] = field(default_factory=dict)
    fail_once: set[str] = field(default_factory=set)
    posts: list[tuple[str, float, float, str]] = field(default_factory=list)
    updates: list[tuple[str, float]] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    most_in_flight: dict[str, int] = field(default_factory=dict)

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        text = message.text
        if text in self.not_yet:
            wait = self.not_yet.pop(text)
            raise NotYet(wait, wait)
        if text in self.fail_once:
            self.fail_once.discard(text)
            raise RetryLater("503 from the platform")
        started = time.monotonic()
        self.in_flight[target.id] = self.in_flight.get(target.id, 0) + 1
        self.most_in_flight[target.id] = max(
            self.most_in_flight.get(target.id, 0), self.in_flight[target.id]
        )
        try:
            await asyncio.sleep(self.slow.get(target.id, 0.0))
        finally:
            self.in_flight[target.id] -= 1
        self.posts.append((text, started, time.monotonic(), target.id))
        return {"channel": target.id, "ts": str(len(self.posts))}

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        self.updates.append((message.text, time.monotonic()))

    def posted(self) -> list[str]:
        return [text for text, *_ in self.posts]


@contextlib.asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run_forever(stop, poll=POLL))
    try:
        yield
    finally:
        stop.set()
        dispatcher.wake()
        await asyncio.wait_for(task, timeout=15)


async def queue(db: Database, posts: list[tuple[str, str, str]]) -> dict[str, int]:
    """Queue ``(target kind, target id, text)`` posts in one transaction; text -> row id."""
    ids = {}
    async with db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform.CONSOLE, "T-wake", locale="en", timezone="UTC", now=utcnow()
        )
        for kind, where, text in posts:
            ids[text] = await r.outbox.add(
                workspace_id=ws.id,
                platform="console",
                kind="post",
                target=Target(kind, where).to_json(),
                payload=note(text).to_json(),
                now=utcnow(),
            )
    return ids


async def test_rows_given_back_for_a_time_already_past_when_the_round_ends_are_woken(
    db: Database,
) -> None:
    # "a 2" is paced for 0.3 s and given back; the round ends only when the slow DM's
    # send returns (0.8 s), after "a 2"'s time: it must be claimed at once then, not at
    # the next poll.
    port = TimedPort(slow={"UB": 0.8}, not_yet={"a 2": 0.3})
    await queue(db, [("channel", "CA", "a 1"), ("channel", "CA", "a 2"), ("user", "UB", "b")])
    dispatcher = Dispatcher(db, {"console": port})
    started = time.monotonic()
    async with running(dispatcher):
        dispatcher.wake()
        await poll(lambda: len(port.posts) == 3, timeout=5)
    assert sorted(port.posted()) == ["a 1", "a 2", "b"]
    [(_, a2_at, _, _)] = [p for p in port.posts if p[0] == "a 2"]
    assert a2_at - started < 2.0


async def test_an_update_waiting_for_its_card_is_woken_when_it_may_go(db: Database) -> None:
    # The card fails once and is retried within a few tenths of a second; its update,
    # claimed with it, waits for it (looks again a second later): that second must wake
    # the dispatcher, or the update waits for the next poll.
    port = TimedPort(fail_once={"card"})
    ids = await queue(db, [("channel", "CR", "card")])
    async with db.transaction() as r:
        await notify.replace(r, ids["card"], note("card approved"), now=utcnow())
    dispatcher = Dispatcher(db, {"console": port}, base_delay=0.2)
    started = time.monotonic()
    async with running(dispatcher):
        dispatcher.wake()
        await poll(lambda: len(port.updates) == 1, timeout=5)
    assert port.posted() == ["card"]
    [(text, at)] = port.updates
    assert text == "card approved"
    assert at - started < 3.0
    async with db.read() as r:
        assert await r.outbox.counts() == {"sent": 2}


async def test_one_round_at_a_time_sends_a_recipients_rows(db: Database) -> None:
    # Batches of two: the loop claims the channel's six rows in three rounds running side
    # by side. Sent from each round at once they would overtake one another (and spend
    # the channel's pace three times over); one round at a time, they go in order.
    port = TimedPort(slow={"CR": 0.15})
    await queue(db, [("channel", "CR", f"card {n}") for n in range(6)])
    dispatcher = Dispatcher(db, {"console": port}, batch_size=2)
    async with running(dispatcher):
        dispatcher.wake()
        await poll(lambda: len(port.posts) == 6, timeout=10)
    assert port.most_in_flight == {"CR": 1}
    assert port.posted() == [f"card {n}" for n in range(6)]
    for (_, _, end, _), (_, start, _, _) in zip(port.posts, port.posts[1:], strict=False):
        assert start >= end
