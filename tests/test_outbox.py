"""The outbox: retry with backoff, retry-after, dead letters, no double send."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.outbox import Dispatcher
from bot.ports import PermanentFailure, RetryLater, Target
from bot.ui import Message, Paragraph
from storage.db import Database
from tests.support import FakeClock, RecordingPort


async def queue(
    db: Database, clock: FakeClock, n: int = 1, platform: str = "console", to: str = "user"
) -> list[int]:
    async with db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            _platform(platform), "T-outbox", locale="en", timezone="UTC", now=clock()
        )
        return [
            await r.outbox.add(
                workspace_id=ws.id,
                platform=platform,
                kind="post",
                target=Target(to, f"U{i}").to_json(),
                payload=Message(f"hello {i}", (Paragraph(f"hello {i}"),)).to_json(),
                now=clock(),
            )
            for i in range(n)
        ]


def _platform(name: str):  # type: ignore[no-untyped-def]
    from domain import Platform

    return Platform(name)


async def status_of(db: Database, row_id: int) -> tuple[str, int, str | None]:
    async with db.transaction() as r:
        row = await r.outbox.get(row_id)
        assert row is not None
        return row.status, row.attempts, row.last_error


async def test_delivers_and_records_result(
    db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    [row_id] = await queue(db, clock)
    assert await dispatcher.drain() == 1
    assert [s.message.text for s in port.posts] == ["hello 0"]
    async with db.transaction() as r:
        row = await r.outbox.get(row_id)
        assert (
            row is not None and row.status == "sent" and row.result == {"channel": "U0", "ts": "1"}
        )
    assert await dispatcher.drain() == 0, "a sent row is never sent again"


async def test_retry_honours_retry_after_then_delivers(
    db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    [row_id] = await queue(db, clock)
    port.fail_next(RetryLater("429 rate limited", retry_after=120))
    await dispatcher.drain()
    status, attempts, error = await status_of(db, row_id)
    assert (status, attempts) == ("pending", 1) and "429" in (error or "")
    clock.advance(seconds=119)
    assert await dispatcher.drain() == 0, "not before Retry-After"
    clock.advance(seconds=2)
    assert await dispatcher.drain() == 1
    assert (await status_of(db, row_id))[0] == "sent"
    assert len(port.posts) == 1


async def test_backoff_grows_and_has_jitter(
    db: Database, port: RecordingPort, clock: FakeClock
) -> None:
    d = Dispatcher(db, {"console": port}, clock=clock, base_delay=2, max_delay=100)
    delays = [d.backoff(n, None) for n in range(1, 9)]
    assert 1 <= delays[0] <= 2
    assert 32 <= delays[5] <= 64
    assert all(50 <= x <= 100 for x in delays[6:]), "capped at max_delay"
    assert d.backoff(1, 30) == 30, "never sooner than retry-after"
    assert len({round(d.backoff(4, None), 6) for _ in range(20)}) > 1, "jittered"


async def test_keeps_failing_becomes_dead_letter(
    db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    # A home view is stale soon: it stops after max_attempts (DMs keep trying for hours).
    [row_id] = await queue(db, clock, to="home")
    port.fail_next(*[RetryLater("500 server error") for _ in range(10)])
    for _ in range(10):
        await dispatcher.drain()
        clock.advance(hours=2)
    status, attempts, error = await status_of(db, row_id)
    assert status == "dead" and attempts == 4 and "gave up after 4 tries" in (error or "")
    async with db.transaction() as r:
        assert [row.id for row in await r.outbox.dead_letters()] == [row_id]
    assert port.posts == []


async def test_permanent_failure_is_dead_at_once(
    db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    [row_id] = await queue(db, clock)
    port.fail_next(PermanentFailure("user_not_found"))
    await dispatcher.drain()
    status, attempts, error = await status_of(db, row_id)
    assert (status, attempts) == ("dead", 1) and "user_not_found" in (error or "")


async def test_unexpected_exception_is_retried(
    db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    [row_id] = await queue(db, clock)
    port.fail_next(ValueError("bug in an adapter"))
    await dispatcher.drain()
    assert (await status_of(db, row_id))[0] == "pending"
    clock.advance(minutes=5)
    await dispatcher.drain()
    assert (await status_of(db, row_id))[0] == "sent"


async def test_update_waits_for_its_post(
    db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    [post_id] = await queue(db, clock)
    async with db.transaction() as r:
        from bot import notify

        update_id = await notify.replace(r, post_id, Message("edited"), now=clock())
    port.fail_next(RetryLater("busy", retry_after=10))
    await dispatcher.drain()
    assert (await status_of(db, update_id))[0] == "pending", "waits while the post is pending"
    assert (await status_of(db, update_id))[1] == 0, "waiting does not use up a try"
    clock.advance(seconds=11)
    await dispatcher.drain()
    clock.advance(seconds=2)
    await dispatcher.drain()
    assert [u.message.text for u in port.updates] == ["edited"]
    assert port.updates[0].ref == port.posts[0].ref


async def test_expired_lease_is_sent_again_by_another_dispatcher(
    db: Database, clock: FakeClock, port: RecordingPort
) -> None:
    [row_id] = await queue(db, clock)
    async with db.transaction() as r:  # a dispatcher claims the row, then its process dies
        claimed = await r.outbox.claim(
            "dead-worker", platforms=["console"], now=clock(), lease=timedelta(minutes=5), limit=10
        )
        assert [c.id for c in claimed] == [row_id]
    other = Dispatcher(db, {"console": port}, clock=clock)
    assert await other.drain() == 0, "the lease protects the row"
    clock.advance(minutes=6)
    assert await other.drain() == 1
    assert (await status_of(db, row_id))[0] == "sent"


async def test_rows_for_other_platforms_are_left_alone(
    db: Database, clock: FakeClock, port: RecordingPort, dispatcher: Dispatcher
) -> None:
    [row_id] = await queue(db, clock, platform="slack")
    assert await dispatcher.drain() == 0
    assert (await status_of(db, row_id))[:2] == ("pending", 0)


class SlowPort(RecordingPort):
    async def post(self, workspace, target, message):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.002)
        return await super().post(workspace, target, message)


async def test_two_dispatchers_never_send_a_row_twice(db: Database, clock: FakeClock) -> None:
    """Two dispatchers on separate connections race over the same rows."""
    await queue(db, clock, n=120)
    port = SlowPort()
    first = Dispatcher(
        Database(db.url), {"console": port}, clock=clock, batch_size=7, worker_id="one"
    )
    second = Dispatcher(
        Database(db.url), {"console": port}, clock=clock, batch_size=7, worker_id="two"
    )
    try:
        await asyncio.gather(
            first.drain(max_batches=100),
            second.drain(max_batches=100),
            first.drain(max_batches=100),
            second.drain(max_batches=100),
        )
    finally:
        await first.db.dispose()
        await second.db.dispose()
    texts = [s.message.text for s in port.posts]
    assert len(texts) == 120
    assert len(set(texts)) == 120, "no row sent twice"
    async with db.transaction() as r:
        assert await r.outbox.counts() == {"sent": 120}
