"""Slack pacing: the real SlackPort against a FakeSlack that enforces rate limits.

The port's limiters and the fake's rate limit run on one virtual clock (``SteppedTime``):
time stands still while any send is under way, its HTTP round trip included, and jumps
to the next wake-up once every unfinished send is asleep. So the time the server reads
for a call is exactly the time the port let it through, and the spacing asserted below is
deterministic (nothing here depends on how fast the machine is).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from adapters.pacing import RateLimiter, TokenBucket, pace
from adapters.slack.port import SlackClients, SlackPort
from bot.ports import NotYet, RetryLater, Target
from bot.services.relay import Uploads
from bot.ui import Message, Paragraph
from storage.db import Database
from storage.media_store import LocalMediaStore
from tests.slack_api import Call, FakeSlack
from tests.support import FakeClock
from tests.waiting import poll

TEAM = "T1"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class SteppedTime:
    """Virtual seconds that move only when every unfinished task is asleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        """The same time as a datetime (the outbox's clock)."""
        return START + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def run(self, *coros: Coroutine[Any, Any, Any]) -> list[Any]:
        """Run ``coros`` concurrently to the end; results or exceptions, in order."""
        tasks = [asyncio.ensure_future(c) for c in coros]

        def settled() -> bool:
            running = sum(not t.done() for t in tasks)
            return running == 0 or running == len(self._sleepers)

        while True:
            await poll(settled, 10, message="every send finished or asleep")
            if all(t.done() for t in tasks):
                break
            self.now = max(self.now, min(at for at, _ in self._sleepers))
            due = [(at, f) for at, f in self._sleepers if at <= self.now]
            self._sleepers = [(at, f) for at, f in self._sleepers if at > self.now]
            for _, future in due:
                future.set_result(None)
        return [t.exception() or t.result() for t in tasks]


@pytest.fixture
def time() -> SteppedTime:
    return SteppedTime()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


_CLIENTS: list[SlackClients] = []


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    while _CLIENTS:
        await _CLIENTS.pop().close()


def make_port(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime, **options: Any
) -> SlackPort:
    clients = SlackClients(fake.api_url, bot_token=fake.token)
    _CLIENTS.append(clients)
    store = LocalMediaStore(tmp_path / "media")
    uploads = Uploads(db, time.wall)
    options.setdefault("channel_margin", 0.0)  # virtual time has no network jitter
    return SlackPort(clients, uploads, store, time.wall, timer=time, sleep=time.sleep, **options)


async def paced(time: SteppedTime, send: Callable[[], Awaitable[Any]]) -> Any:
    """``send()`` as the outbox makes it: when the port says ``NotYet`` (the channel has
    no token), wait that long and try again."""
    while True:
        try:
            return await send()
        except NotYet as exc:
            assert exc.retry_after > 0 and exc.interval > 0
            await time.sleep(exc.retry_after)


def note(n: int) -> Message:
    return Message(f"note {n}", (Paragraph(f"note {n}"),))


def posts(fake: FakeSlack) -> list[Call]:
    return fake.calls_to("chat.postMessage")


def by_channel(calls: list[Call]) -> dict[str, list[float]]:
    """Accepted calls' virtual times per channel, in order."""
    times: dict[str, list[float]] = {}
    for call in calls:
        if call.ok:
            assert call.rated_at is not None
            times.setdefault(str(call.params["channel"]), []).append(call.rated_at)
    return times


def gaps(stamps: list[float]) -> Iterator[float]:
    return (b - a for a, b in itertools.pairwise(stamps))


# -- the limiter ------------------------------------------------------------------------


def sequential_clock() -> tuple[Callable[[], float], Callable[[float], Awaitable[None]]]:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    return (lambda: now[0]), sleep


async def stamps_of(limiter: RateLimiter, key: str, count: int) -> list[float]:
    stamps = []
    for _ in range(count):
        await limiter.wait(key)
        stamps.append(limiter.clock())
    return stamps


async def test_fractional_rates_space_events_evenly() -> None:
    clock, sleep = sequential_clock()
    every_two_seconds = await stamps_of(RateLimiter(0.5, clock=clock, sleep=sleep), "k", 4)
    assert list(gaps(every_two_seconds)) == pytest.approx([2.0] * 3, abs=1e-3)

    clock, sleep = sequential_clock()
    stamps = await stamps_of(RateLimiter(2.5, clock=clock, sleep=sleep), "k", 11)
    assert list(gaps(stamps)) == pytest.approx([0.4] * 10, abs=1e-3)  # never in a burst
    for i, at in enumerate(stamps):
        assert len([s for s in stamps[i:] if s - at < 1.0]) <= 3

    clock, sleep = sequential_clock()
    per_minute = await stamps_of(RateLimiter(30, per=60, clock=clock, sleep=sleep), "k", 3)
    assert list(gaps(per_minute)) == pytest.approx([2.0] * 2, abs=1e-3)


async def test_a_late_event_keeps_the_schedule_but_never_exceeds_the_window() -> None:
    clock, sleep = sequential_clock()
    limiter = RateLimiter(10, clock=clock, sleep=sleep)
    await limiter.wait("k")  # at 0; the next is due at 0.1
    await sleep(0.13)  # the event loop woke this sender 30 ms late
    await limiter.wait("k")
    await limiter.wait("k")
    assert clock() == pytest.approx(0.2)  # back on the schedule, not at 0.23
    stamps = [0.0, 0.13, 0.2, *await stamps_of(limiter, "k", 30)]
    for i, at in enumerate(stamps):  # ...and never more than 10 in any second
        assert len([s for s in stamps[i:] if s - at < 1.0]) <= 10
    await sleep(5)  # idle: the next one goes at once and the one after an interval later
    await limiter.wait("k")
    start = clock()
    await limiter.wait("k")
    assert clock() - start == pytest.approx(0.1)


async def test_hold_pushes_a_key_back_and_only_that_key() -> None:
    clock, sleep = sequential_clock()
    limiter = RateLimiter(10, clock=clock, sleep=sleep)
    await limiter.wait("a")
    limiter.hold("a", 3.0)
    await limiter.wait("b")  # another key is not held
    assert clock() == 0.0
    await limiter.wait("a")
    assert clock() == 3.0
    limiter.hold("a", 60.0)
    limiter.release("a")  # ended early: the key goes again on its usual schedule
    await limiter.wait("a")
    assert clock() == pytest.approx(3.1)


async def test_pace_counts_an_event_in_every_limiter_only_when_all_allow_it() -> None:
    clock, sleep = sequential_clock()
    channel = RateLimiter(1, clock=clock, sleep=sleep)
    workspace = RateLimiter(2, clock=clock, sleep=sleep)
    await pace((channel, "c1"), (workspace, "w"))
    await pace((channel, "c1"), (workspace, "w"))  # waits a second for the channel
    assert clock() == 1.0
    # The wait used up no workspace slot: another channel goes half a second later.
    await pace((channel, "c2"), (workspace, "w"))
    assert clock() == pytest.approx(1.5)


async def test_token_bucket_bursts_then_refills_and_a_hold_takes_the_burst_away() -> None:
    clock, sleep = sequential_clock()
    bucket = TokenBucket(1.0, 3, cool_down=60, clock=clock, sleep=sleep)
    assert await stamps_of(bucket, "k", 5) == pytest.approx([0, 0, 0, 1, 2])
    assert bucket.delay("other") == 0.0  # keys are independent
    await sleep(10)  # quiet: the burst is back, never more than its size
    assert await stamps_of(bucket, "k", 4) == pytest.approx([12, 12, 12, 13])
    bucket.hold("k", 5.0)  # a 429 with Retry-After: 5
    assert bucket.delay("k") == pytest.approx(5.0)
    # After the hold: an empty bucket, and no burst while it cools down...
    assert await stamps_of(bucket, "k", 3) == pytest.approx([18, 19, 20])
    await sleep(10)
    assert await stamps_of(bucket, "k", 2) == pytest.approx([30, 31])
    await sleep(60)  # ...then the burst again
    assert await stamps_of(bucket, "k", 4) == pytest.approx([91, 91, 91, 92])


# -- the fake's rate limit ---------------------------------------------------------------


async def test_fake_slack_rate_limit_counts_only_accepted_calls(
    fake: FakeSlack, time: SteppedTime
) -> None:
    fake.rate_limit("chat.postMessage", 2, scope="team", retry_after=3, clock=time)
    client = SlackClients(fake.api_url, bot_token=fake.token).new_client(fake.token)
    fake.fail("chat.postMessage", 500)
    for channel in ("C1", "C2", "C3", "C4"):  # the 500 does not count: C2 and C3 get in
        with contextlib.suppress(SlackApiError):
            await client.chat_postMessage(channel=channel, text="hi")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C5", text="hi")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "3"
    calls = posts(fake)
    assert [(c.status, c.injected, c.rate_limited) for c in calls] == [
        (500, True, False),
        (200, False, False),
        (200, False, False),
        (429, False, True),
        (429, False, True),
    ]
    time.now = 1.0  # a second later the window has room again
    await client.chat_postMessage(channel="C6", text="hi")
    fake.rate_limit("chat.postMessage", 0, scope="team")  # off
    for _ in range(5):
        await client.chat_postMessage(channel="C7", text="hi")


# -- the port against a rate-limited Slack -----------------------------------------------


async def test_one_channel_gets_its_burst_then_a_message_a_second_and_never_a_429(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    fake.rate_limit("chat.postMessage", 1, scope="channel", clock=time, burst=5)
    # Unpaced, the sixth message within the second is refused: the limit bites.
    client = SlackClients(fake.api_url, bot_token=fake.token).new_client(fake.token)
    for n in range(5):
        await client.chat_postMessage(channel="CPROBE", text=f"{n}")
    with pytest.raises(Exception, match="ratelimited"):
        await client.chat_postMessage(channel="CPROBE", text="six")
    fake.calls.clear()

    port = make_port(fake, db, tmp_path, time)
    target = Target("channel", "CGENERAL")
    results = await time.run(
        *(paced(time, lambda n=n: port.post(TEAM, target, note(n))) for n in range(8))
    )
    assert all(isinstance(r, dict) and r["channel"] == "CGENERAL" for r in results)
    assert [c.status for c in posts(fake)] == [200] * 8  # no 429 at all
    stamps = by_channel(posts(fake))["CGENERAL"]
    # The burst at once (the workspace budget spreads it 1/20 s apart), then one a second.
    assert stamps[:5] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2], abs=1e-3)
    assert list(gaps(stamps[4:])) == pytest.approx([0.8, 1.0, 1.0], abs=1e-3)


async def test_a_channel_without_room_raises_not_yet_and_sends_nothing(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    port = make_port(fake, db, tmp_path, time, channel_burst=2)
    target = Target("channel", "CGENERAL")
    await time.run(port.post(TEAM, target, note(1)), port.post(TEAM, target, note(2)))
    start = time.now  # the workspace budget spread the two 1/20 s apart
    [not_yet] = await time.run(port.post(TEAM, target, note(3)))
    assert isinstance(not_yet, NotYet)
    assert not_yet.retry_after == pytest.approx(1.0 - start)
    assert not_yet.interval == pytest.approx(1.0)
    assert len(posts(fake)) == 2  # nothing was sent for it
    [other] = await time.run(port.post(TEAM, Target("user", "U1"), note(4)))
    assert isinstance(other, dict)  # another channel goes at once
    time.now = 1.0
    [sent] = await time.run(port.post(TEAM, target, note(3)))
    assert isinstance(sent, dict)


async def test_a_429_takes_the_burst_away_and_the_channel_slows_to_a_message_a_second(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    # Slack allows less of a burst than the port assumed: one 429, then no more.
    fake.rate_limit("chat.postMessage", 1, scope="channel", clock=time, burst=2)
    port = make_port(fake, db, tmp_path, time, channel_burst=4)
    target = Target("channel", "CGENERAL")
    results = await time.run(
        *(paced(time, lambda n=n: port.post(TEAM, target, note(n))) for n in range(6))
    )
    refused = [r for r in results if isinstance(r, RetryLater)]
    assert len(refused) == 1 and refused[0].retry_after == 1.0  # the outbox retries it
    assert [c.status for c in posts(fake)].count(429) == 1
    stamps = by_channel(posts(fake))["CGENERAL"]
    assert len(stamps) == 5
    assert stamps[2] >= stamps[1] + 1.0  # held for Retry-After...
    assert all(g >= 1.0 - 1e-6 for g in gaps(stamps[2:]))  # ...then no burst: 1 a second


async def test_channels_are_paced_independently(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    fake.rate_limit("chat.postMessage", 1, scope="channel", clock=time)
    port = make_port(fake, db, tmp_path, time, channel_burst=1)
    channels = ["CA", "CB", "CC", "UDM"]  # a DM is paced as the person's channel
    sends = [
        paced(
            time,
            lambda ch=ch, n=n: port.post(  # type: ignore[misc]
                TEAM, Target("user" if ch.startswith("U") else "channel", ch), note(n)
            ),
        )
        for n in range(3)
        for ch in channels
    ]
    results = await time.run(*sends)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert [c.status for c in posts(fake)] == [200] * 12
    times = by_channel(posts(fake))
    assert sorted(times) == ["CA", "CB", "CC", "UDM"]
    for stamps in times.values():
        assert all(g >= 1.0 - 1e-9 for g in gaps(stamps))
        # Each channel's first message went at once (workspace spacing of 1/20 s aside),
        # not behind the other channels' messages...
        assert stamps[0] < 0.2
        # ...and its third a second after its second: 12 messages took 2 s, not 11.
        assert stamps[2] < 2.2


async def test_the_workspace_budget_spreads_sends_under_the_team_limit(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    fake.rate_limit("chat.postMessage", 5, scope="team", clock=time)
    port = make_port(fake, db, tmp_path, time, workspace_rate=5)
    users = [f"U{n:03d}" for n in range(12)]
    results = await time.run(*(port.post(TEAM, Target("user", u), note(0)) for u in users))
    assert not [r for r in results if isinstance(r, BaseException)]
    assert [c.status for c in posts(fake)] == [200] * 12
    stamps = sorted(c.rated_at for c in posts(fake) if c.rated_at is not None)
    assert list(gaps(stamps)) == pytest.approx([0.2] * 11, abs=1e-3)
    for i, at in enumerate(stamps):
        assert len([s for s in stamps[i:] if s - at < 1.0]) <= 5


async def test_a_429_holds_its_channel_back_for_retry_after(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    fake.rate_limit("chat.postMessage", 100, scope="global", clock=time)  # to timestamp calls
    port = make_port(fake, db, tmp_path, time)
    fake.fail("chat.postMessage", 429, retry_after=5)
    general, other = Target("channel", "CGENERAL"), Target("channel", "COTHER")
    first, second, elsewhere = await time.run(
        port.post(TEAM, general, note(1)),
        paced(time, lambda: port.post(TEAM, general, note(2))),
        port.post(TEAM, other, note(3)),
    )
    assert isinstance(first, RetryLater) and first.retry_after == 5.0  # the outbox retries it
    assert isinstance(second, dict) and isinstance(elsewhere, dict)
    times = by_channel(posts(fake))
    assert times["CGENERAL"][0] >= 5.0  # the queued one waited instead of hitting 429 too
    assert times["COTHER"][0] < 1.0  # one 429 holds back its channel, not the workspace
    assert [c.status for c in posts(fake)].count(429) == 1


async def test_429s_in_a_row_hold_the_whole_workspace(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    fake.rate_limit("chat.postMessage", 100, scope="global", clock=time)  # to timestamp calls
    port = make_port(fake, db, tmp_path, time)
    fake.fail("chat.postMessage", 429, times=3, retry_after=4)
    results = await time.run(
        *(port.post(TEAM, Target("channel", f"C{n}"), note(n)) for n in range(5))
    )
    assert [type(r).__name__ for r in results] == ["RetryLater"] * 3 + ["dict"] * 2
    calls = posts(fake)
    assert [c.status for c in calls] == [429, 429, 429, 200, 200]
    stamps = [c.rated_at or 0.0 for c in calls]
    assert stamps[:3] == pytest.approx([0.0, 0.05, 0.1])  # the budget: 20 a second
    # After the third 429 in a row every channel waits out its Retry-After, not only the
    # three that were refused.
    assert stamps[3] >= stamps[2] + 4.0
    assert stamps[4] == pytest.approx(stamps[3] + 0.05)


async def test_a_dm_and_its_update_are_paced_as_one_channel(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    fake.rate_limit("chat.postMessage", 1, scope="channel", clock=time)
    fake.rate_limit("chat.update", 1, scope="channel", clock=time)
    port = make_port(fake, db, tmp_path, time, channel_burst=1)
    [ref] = await time.run(port.post(TEAM, Target("user", "UCM1"), note(1)))
    assert ref["channel"] == "DUCM1"  # Slack answers a DM with its D... channel
    await time.run(paced(time, lambda: port.update(TEAM, ref, note(2))))
    [update] = fake.calls_to("chat.update")
    assert update.ok and update.rated_at is not None and update.rated_at >= 1.0


async def test_a_hold_ends_when_retry_after_passed_on_the_outbox_clock(
    fake: FakeSlack, db: Database, tmp_path: Path, time: SteppedTime
) -> None:
    # The dispatcher retries the refused row once Retry-After has passed on its own clock
    # (tests move that clock forward): the port must not then wait out the hold again.
    outbox_clock = FakeClock()
    clients = SlackClients(fake.api_url, bot_token=fake.token)
    _CLIENTS.append(clients)
    port = SlackPort(
        clients,
        Uploads(db, outbox_clock),
        LocalMediaStore(tmp_path / "media"),
        outbox_clock,
        channel_margin=0.0,
        timer=time,
        sleep=time.sleep,
    )
    fake.rate_limit("chat.postMessage", 100, scope="global", clock=time)  # to timestamp calls
    fake.fail("chat.postMessage", 429, retry_after=30)
    general = Target("channel", "CGENERAL")
    [refused] = await time.run(port.post(TEAM, general, note(1)))
    assert isinstance(refused, RetryLater) and refused.retry_after == 30.0
    outbox_clock.advance(seconds=31)
    [sent] = await time.run(paced(time, lambda: port.post(TEAM, general, note(1))))
    assert isinstance(sent, dict)
    assert time.now == pytest.approx(1.0)  # the channel's second, not the 30 s hold
