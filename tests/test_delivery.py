"""Delivery across crashes: each message recorded as sent when its send returns, short
leases kept alive by a heartbeat while the work runs, so a dead worker's rows and jobs are
taken over within seconds."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.core import Core
from bot.jobs import JobRunner
from bot.outbox import Dispatcher, stuck_count
from bot.ports import RetryLater, Target
from bot.settings import Settings
from bot.ui import Message
from relais.doctor import run_doctor
from relais.server import build_app
from storage.db import Database
from storage.models import Job, OutboxMessage
from tests.conftest import REVIEW_CHANNEL
from tests.support import FakeClock, RecordingPort, text_of
from tests.test_outbox import queue, status_of
from tests.test_review import people, submit
from tests.waiting import poll


class GatedPort(RecordingPort):
    """Sends return at once, except those whose text is in ``held``: they wait for ``gate``."""

    def __init__(self, held: set[str]) -> None:
        super().__init__()
        self.held = held
        self.gate = asyncio.Event()
        self.waiting: list[str] = []

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        if message.text in self.held:
            self.waiting.append(message.text)
            await self.gate.wait()
        return await super().post(workspace, target, message)


async def test_each_message_is_recorded_as_sent_when_its_send_returns(
    db: Database, clock: FakeClock
) -> None:
    """Not after the whole batch: a crash while the slowest send of a batch is in flight
    must not send again the ones already delivered."""
    ids = await queue(db, clock, n=4)
    port = GatedPort(held={"hello 3"})
    dispatcher = Dispatcher(db, {"console": port}, clock=clock, concurrency=4)
    batch = asyncio.create_task(dispatcher.run_once())
    try:
        await poll(lambda: port.waiting, 5, message="the slow send to start")

        async def recorded() -> bool:
            return all([(await status_of(db, i))[0] == "sent" for i in ids[:3]])

        await poll(recorded, 5, message="the three delivered rows recorded as sent")
        assert (await status_of(db, ids[3]))[0] == "sending"
    finally:
        port.gate.set()
        assert await batch == 4
    assert [(await status_of(db, i))[0] for i in ids] == ["sent"] * 4


async def test_fast_sends_still_share_transactions(db: Database, clock: FakeClock) -> None:
    """Group commit: sends that return while a record is being written go in the next one."""
    await queue(db, clock, n=60)
    port = RecordingPort()
    dispatcher = Dispatcher(db, {"console": port}, clock=clock, batch_size=60)
    transactions = 0
    original = db.transaction

    def counting():  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return original()

    db.transaction = counting  # type: ignore[method-assign]
    try:
        assert await dispatcher.run_once() == 60
    finally:
        del db.transaction
    assert len(port.posts) == 60
    # One to claim, one for the workspace, then far fewer than one per row to record them.
    assert transactions < 20, transactions
    async with db.transaction() as r:
        assert await r.outbox.counts() == {"sent": 60}


async def test_the_heartbeat_keeps_a_slow_send_leased(db: Database, clock: FakeClock) -> None:
    [row_id] = await queue(db, clock)
    port = GatedPort(held={"hello 0"})
    slow = Dispatcher(db, {"console": port}, clock=clock, heartbeat=0.02, worker_id="slow")
    other_port = RecordingPort()
    other = Dispatcher(db, {"console": other_port}, clock=clock, worker_id="other")
    batch = asyncio.create_task(slow.run_once())
    try:
        await poll(lambda: port.waiting, 5, message="the send to start")
        clock.advance(minutes=10)  # far past any lease: only the heartbeat can keep the row

        async def renewed() -> bool:
            async with db.read() as r:
                row = await r.outbox.get(row_id)
                return (
                    row is not None
                    and row.claimed_until is not None
                    and row.claimed_until > clock()
                )

        await poll(renewed, 5, message="the heartbeat to renew the lease")
        assert await other.drain() == 0, "a row whose send is still running is not taken over"
    finally:
        port.gate.set()
        await batch
    assert len(port.posts) == 1 and other_port.posts == []
    assert (await status_of(db, row_id))[0] == "sent"


async def test_a_dead_dispatchers_rows_are_taken_over_within_seconds(
    db: Database, clock: FakeClock
) -> None:
    [row_id] = await queue(db, clock)
    port = RecordingPort()
    dead = Dispatcher(db, {"console": port}, clock=clock, worker_id="dead")
    async with db.transaction() as r:  # it claims the row with its lease, then dies
        claimed = await r.outbox.claim(
            dead.worker_id, platforms=["console"], now=clock(), lease=dead.lease, limit=10
        )
        assert [c.id for c in claimed] == [row_id]
    assert dead.lease <= timedelta(seconds=15)
    other = Dispatcher(db, {"console": port}, clock=clock, worker_id="other")
    assert await other.drain() == 0, "the lease protects the row while it lasts"
    clock.advance(seconds=11)
    assert await other.drain() == 1
    assert (await status_of(db, row_id))[0] == "sent"


class SlowJob:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = 0
        self.finished = 0

    async def run(self, payload: dict[str, Any]) -> None:
        self.started += 1
        await self.gate.wait()
        self.finished += 1

    async def gave_up(self, payload: dict[str, Any], error: str) -> None:
        raise AssertionError("never gives up here")


async def _add_job(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as r:
        assert await r.jobs.add(kind="slow", key="job-1", payload={}, now=clock())


async def _job_status(db: Database) -> str:
    async with db.read() as r:
        job = await r.session.scalar(select(Job).where(Job.key == "job-1"))
        assert job is not None
        return job.status


async def test_a_running_job_keeps_its_lease_and_a_dead_ones_is_resumed(
    db: Database, clock: FakeClock
) -> None:
    await _add_job(db, clock)
    handler = SlowJob()
    runner = JobRunner(db, {"slow": handler}, clock=clock, heartbeat=0.02, worker_id="a")
    other = JobRunner(db, {"slow": handler}, clock=clock, worker_id="b")
    batch = asyncio.create_task(runner.run_once())
    try:
        await poll(lambda: handler.started, 5, message="the job to start")
        clock.advance(minutes=10)

        async def renewed() -> bool:
            async with db.read() as r:
                job = await r.session.scalar(select(Job).where(Job.key == "job-1"))
                return (
                    job is not None
                    and job.claimed_until is not None
                    and job.claimed_until > clock()
                )

        await poll(renewed, 5, message="the heartbeat to renew the job's lease")
        assert await other.run_once() == 0, "a running job is not taken over"
    finally:
        handler.gate.set()
        await batch
    assert (handler.started, handler.finished) == (1, 1)
    assert await _job_status(db) == "done"


async def test_a_dead_runners_job_is_resumed_within_seconds(db: Database, clock: FakeClock) -> None:
    await _add_job(db, clock)
    handler = SlowJob()
    handler.gate.set()
    dead = JobRunner(db, {"slow": handler}, clock=clock, worker_id="dead")
    async with db.transaction() as r:
        assert (
            len(await r.jobs.claim("dead", kinds=["slow"], now=clock(), lease=dead.lease, limit=5))
            == 1
        )
    other = JobRunner(db, {"slow": handler}, clock=clock, worker_id="other")
    assert await other.run_once() == 0
    clock.advance(seconds=11)
    assert await other.run_once() == 1
    assert await _job_status(db) == "done"


class RateLimitedJob:
    """Answered 429 (Retry-After) ``limited`` times, then done; ``failures`` 500s first."""

    def __init__(self, limited: int, failures: int = 0) -> None:
        self.limited = limited
        self.failures = failures
        self.runs = 0
        self.gave_up_with: str | None = None

    async def run(self, payload: dict[str, Any]) -> None:
        self.runs += 1
        if self.failures:
            self.failures -= 1
            raise RetryLater("slack file download: HTTP 500")
        if self.limited:
            self.limited -= 1
            raise RetryLater("slack: rate limited (429)", retry_after=3)

    async def gave_up(self, payload: dict[str, Any], error: str) -> None:
        self.gave_up_with = error


async def test_a_rate_limited_job_waits_as_told_and_is_never_given_up(
    db: Database, clock: FakeClock
) -> None:
    # More 429s than the tries a job has: each is waited out (Retry-After, not a backoff
    # that grows with the count) and none counts towards giving up; a 500 still counts.
    await _add_job(db, clock)
    handler = RateLimitedJob(limited=10, failures=2)
    runner = JobRunner(db, {"slow": handler}, clock=clock, max_attempts=3)
    for _ in range(2):  # the 500s: backed off
        assert await runner.run_once() == 1
        clock.advance(minutes=5)
    for _ in range(10):
        assert await runner.run_once() == 1
        assert await runner.run_once() == 0, "not before Retry-After"
        clock.advance(seconds=3)
    assert await runner.run_once() == 1
    assert handler.gave_up_with is None
    assert (handler.runs, await _job_status(db)) == (13, "done")


async def test_failures_that_are_not_rate_limits_still_give_up(
    db: Database, clock: FakeClock
) -> None:
    await _add_job(db, clock)
    handler = RateLimitedJob(limited=0, failures=5)
    runner = JobRunner(db, {"slow": handler}, clock=clock, max_attempts=3)
    for _ in range(3):
        assert await runner.run_once() == 1
        clock.advance(minutes=30)
    assert await _job_status(db) == "dead"
    assert handler.gave_up_with is not None and "3 tries" in handler.gave_up_with


# -- important messages keep trying ------------------------------------------------------


class ChannelDownPort(RecordingPort):
    """Every post to a channel fails with a 500 while ``down``; DMs go through."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.channel_tries = 0

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        if target.kind == "channel" and self.down:
            self.channel_tries += 1
            raise RetryLater("slack: HTTP 500")
        return await super().post(workspace, target, message)


async def _card_row(core: Core) -> OutboxMessage:
    async with core.db.read() as r:
        rows = await r.session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("card:%"))
        )
        [row] = list(rows)
        return row


async def test_a_review_card_keeps_trying_for_hours_and_the_cms_are_told_once(
    core: Core, clock: FakeClock
) -> None:
    amb, _cm1, _cm2, _boss = await people(core)
    await submit(core, amb)
    port = ChannelDownPort()
    dispatcher = Dispatcher(core.db, {"console": port}, clock=clock, max_attempts=4)
    max_attempts = core.settings.relais_outbox_max_attempts
    for _ in range(24):  # six hours of 500s
        await dispatcher.drain()
        clock.advance(minutes=15)  # the longest wait between two tries
    card = await _card_row(core)
    assert card.status == "pending", "still trying, not a dead letter"
    assert card.attempts == port.channel_tries >= 20
    assert card.next_attempt_at - clock() <= timedelta(minutes=15)
    assert await stuck_count(core.db, now=clock(), max_attempts=max_attempts) == 1
    for cm in ("cm1", "cm2"):
        notices = [m for m in port.dms_to(cm) if "has not reached the reviewers" in m.text]
        assert len(notices) == 1, f"{cm} is told once, not at every try"
        assert f"#{card.id}" in text_of(notices[0]) and "HTTP 500" in notices[0].text
    port.down = False
    await dispatcher.drain()
    assert len(port.in_channel(REVIEW_CHANNEL)) == 1
    assert (await _card_row(core)).status == "sent"
    assert await stuck_count(core.db, now=clock(), max_attempts=max_attempts) == 0


async def test_a_review_card_gives_up_after_a_day(core: Core, clock: FakeClock) -> None:
    amb, *_ = await people(core)
    await submit(core, amb)
    port = ChannelDownPort()
    dispatcher = Dispatcher(core.db, {"console": port}, clock=clock, max_attempts=4)
    await dispatcher.drain()
    clock.advance(hours=25)
    await dispatcher.drain()
    card = await _card_row(core)
    assert card.status == "dead" and "gave up after 24 h" in (card.last_error or "")


async def test_stuck_messages_show_in_readyz_and_doctor(
    core: Core, settings: Settings, clock: FakeClock
) -> None:
    amb, *_ = await people(core)
    await submit(core, amb)
    async with TestClient(TestServer(build_app(core))) as client:
        ready = await client.get("/readyz")
        assert ready.status == 200 and (await ready.json())["stuck"] == 0
        clock.advance(minutes=20)  # nobody sent the card: it is stuck, and readiness holds
        ready = await client.get("/readyz")
        assert ready.status == 200
        body = await ready.json()
        assert body["status"] == "ready" and body["stuck"] >= 1
    card = await _card_row(core)
    lines: list[str] = []
    await run_doctor(
        settings.model_copy(update={"database_url": core.db.url}),
        requeue_dead=False,
        echo=lines.append,
    )
    report = "\n".join(lines)
    assert "message(s) stuck" in report
    assert f"#{card.id} console post to channel {REVIEW_CHANNEL}" in report


async def test_a_row_still_in_hand_is_not_claimed_again_after_its_lease_lapsed(
    db: Database, clock: FakeClock
) -> None:
    """The heartbeat could not renew (the database was away): the same dispatcher must not
    send the row a second time from another batch while its first send is still running."""
    [row_id] = await queue(db, clock)
    port = GatedPort(held={"hello 0"})
    dispatcher = Dispatcher(db, {"console": port}, clock=clock, heartbeat=3600)
    batch = asyncio.create_task(dispatcher.run_once())
    try:
        await poll(lambda: port.waiting, 5, message="the send to start")
        clock.advance(minutes=1)  # the lease lapsed, nothing renewed it
        assert await dispatcher.claim() == []
    finally:
        port.gate.set()
        await batch
    assert len(port.posts) == 1
    assert (await status_of(db, row_id))[0] == "sent"
