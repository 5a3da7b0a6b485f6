"""Rate limits hold across replicas: one dispatcher at a time sends a workspace's rows.

Platform limits are per workspace (Slack) and per tenant (Teams); each dispatcher paces
its own sends. A send lease per (platform, workspace) in the database makes one
dispatcher the sender of a workspace, so its pacers are the whole budget. Several
dispatchers here each have their own Database engine, as replicas do.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from adapters.slack.port import SlackClients, SlackPort
from bot import notify
from bot.core import Core
from bot.outbox import Dispatcher, utcnow
from bot.ports import Target
from bot.ui import Message, Paragraph
from domain import Platform
from storage.db import Database
from tests.slack_api import FakeSlack
from tests.support import FakeClock, RecordingPort


async def queue(db: Database, platform: str, team: str, count: int, now: datetime) -> int:
    """``count`` DMs to the workspace (tenant) ``team``; returns its id."""
    async with db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform(platform), team, locale="en", timezone="UTC", now=now
        )
        for i in range(count):
            await r.outbox.add(
                workspace_id=ws.id,
                platform=platform,
                kind="post",
                target=Target("user", f"U{i}").to_json(),
                payload=Message(f"{team}-{i}").to_json(),
                now=now,
            )
        return ws.id


async def leases(db: Database, now: datetime) -> dict[tuple[str, int], str]:
    async with db.read() as r:
        return await r.send_leases.held(now=now)


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_one_sender_per_workspace_taken_over_when_it_dies(
    db: Database, clock: FakeClock, platform: str
) -> None:
    ws = await queue(db, platform, "T1", 20, clock())
    ports = {name: RecordingPort(platform=platform) for name in ("a", "b")}
    engines = {name: Database(db.url) for name in ports}
    a, b = (
        Dispatcher(engines[n], {platform: ports[n]}, clock=clock, worker_id=n, batch_size=5)
        for n in ("a", "b")
    )
    try:
        batch = await a.claim()
        assert len(batch) == 5
        assert await leases(db, clock()) == {(platform, ws): "a"}
        # The workspace has rows due, but its sender is a: b sends none of them (its own
        # pacers would add a second budget).
        assert await b.claim() == []
        assert await b.drain() == 0
        # a dies with its batch in hand (no release): its lease and its rows' claims lapse.
        clock.advance(seconds=5)
        assert await b.claim() == []
        clock.advance(seconds=6)
        assert await b.drain() == 20
        assert await leases(db, clock()) == {(platform, ws): "b"}
        texts = Counter(sent.message.text for sent in ports["b"].posts)
        assert texts == Counter(f"T1-{i}" for i in range(20)), "each row once, through b"
        assert ports["a"].posts == []
    finally:
        for engine in engines.values():
            await engine.dispose()


async def test_a_dispatcher_that_stops_hands_its_workspaces_over_at_once(
    db: Database, clock: FakeClock
) -> None:
    ws = await queue(db, "slack", "T1", 10, clock())
    a_port, b_port = RecordingPort(platform="slack"), RecordingPort(platform="slack")
    a = Dispatcher(db, {"slack": a_port}, clock=clock, worker_id="a", batch_size=5)
    b = Dispatcher(db, {"slack": b_port}, clock=clock, worker_id="b", batch_size=5)
    assert await a.run_once() == 5
    assert await b.claim() == [], "a still has rows of T1 to send: it keeps the lease"
    stop = asyncio.Event()
    stop.set()
    await a.run_forever(stop)  # stops at once, and lets its leases go
    assert await leases(db, clock()) == {}
    assert await b.drain() == 5
    assert await leases(db, clock()) == {("slack", ws): "b"}
    assert len(a_port.posts) == len(b_port.posts) == 5


async def test_a_busy_dispatcher_leaves_other_workspaces_to_others(
    db: Database, clock: FakeClock
) -> None:
    big = await queue(db, "slack", "T1", 100, clock())
    small = await queue(db, "slack", "T2", 3, clock())
    a = Dispatcher(db, {"slack": RecordingPort(platform="slack")}, clock=clock, worker_id="a")
    b = Dispatcher(db, {"slack": RecordingPort(platform="slack")}, clock=clock, worker_id="b")
    a.batch_size = b.batch_size = 10
    first = await a.claim()
    assert {row.workspace_id for row in first} == {big}
    second = await b.claim()
    assert {row.workspace_id for row in second} == {small}, "b takes what a leaves"
    assert await leases(db, clock()) == {("slack", big): "a", ("slack", small): "b"}

    # Alone, a busy dispatcher still takes a workspace nobody took within share_after.
    late = await queue(db, "slack", "T3", 2, clock())
    clock.advance(seconds=0.5)
    await a.claim()
    assert ("slack", late) not in await leases(db, clock())
    clock.advance(seconds=1)
    await a.claim()
    assert (await leases(db, clock()))[("slack", late)] == "a"


class Installations(AsyncInstallationStore):
    """Bot tokens per workspace, one set per replica (the fake Slack tells the replicas
    apart by the token of each call)."""

    def __init__(self, replica: str) -> None:
        self.replica = replica

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return Bot(
            team_id=team_id,
            bot_token=f"xoxb-{team_id}-{self.replica}",
            bot_id="B1",
            bot_user_id="UBOT",
            installed_at=time.time(),
        )


async def test_three_replicas_share_one_slack_budget(core: Core) -> None:
    """Three dispatchers, each with its own engine and SlackPort paced at most of the
    limit, send three workspaces' fan-outs against a Slack that answers 429 over R calls
    a second per workspace: everything arrives once, each workspace through one replica,
    and no call is refused for rate (without leases three replicas send 2.4 x R)."""
    rate, people, teams, replicas = 10.0, 25, ("T1", "T2", "T3"), ("r0", "r1", "r2")
    now = utcnow()  # the dispatchers run on the real clock
    async with FakeSlack(team_id="T1") as fake:
        for team in teams:
            for replica in replicas:
                fake.add_token(f"xoxb-{team}-{replica}", team)
            members = [
                await core.onboarding.identify(Platform.SLACK, team, f"U{i:03d}")
                for i in range(people)
            ]
            async with core.db.transaction() as r:
                for person in members:
                    text = f"{team} {person.external_id}"
                    await notify.dm(r, person, Message(text, (Paragraph(text),)), now=now)
        fake.rate_limit("chat.postMessage", rate, scope="team")

        engines = [Database(core.db.url) for _ in replicas]
        clients = [
            SlackClients(fake.api_url, installation_store=Installations(name)) for name in replicas
        ]
        dispatchers = [
            Dispatcher(
                engine,
                {
                    "slack": SlackPort(
                        client,
                        core.relay.uploads,
                        core.store,
                        utcnow,
                        workspace_rate=0.8 * rate,
                    )
                },
                worker_id=name,
                batch_size=10,
            )
            for engine, client, name in zip(engines, clients, replicas, strict=True)
        ]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(d.run_forever(stop, poll=0.1)) for d in dispatchers]
        started = time.monotonic()
        try:
            while time.monotonic() - started < 60:
                async with core.db.read() as r:
                    counts = await r.outbox.counts()
                if counts == {"sent": people * len(teams)}:
                    break
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            for d in dispatchers:
                d.wake()
            await asyncio.gather(*tasks)
            for client in clients:
                await client.close()
            for engine in engines:
                await engine.dispose()
        assert counts == {"sent": people * len(teams)}

    calls = fake.calls_to("chat.postMessage")
    assert [c for c in calls if c.rate_limited] == [], "no call refused for rate"
    accepted = [c for c in calls if c.ok]
    delivered = Counter(c.params["text"] for c in accepted)
    expected = {f"{team} U{i:03d}" for team in teams for i in range(people)}
    assert set(delivered) == expected, "nothing lost"
    assert set(delivered.values()) == {1}, "nothing twice"
    senders: dict[str, set[Any]] = {}
    for call in accepted:
        team, replica = call.token.split("-")[1:] if call.token else ("", "")
        senders.setdefault(team, set()).add(replica)
    assert all(len(s) == 1 for s in senders.values()), f"one sender per workspace: {senders}"
    # Each workspace at most R a second: its people / R seconds at least.
    per_team: dict[str, list[float]] = {}
    for call in accepted:
        per_team.setdefault(fake.team_for(call.token), []).append(call.at)
    for times in per_team.values():
        assert max(times) - min(times) >= (people - rate) / rate


class SlowPort(RecordingPort):
    """A port whose sends take ``seconds`` (a platform slow to answer)."""

    seconds: float = 0.6

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        await asyncio.sleep(self.seconds)
        return await super().post(workspace, target, message)


async def test_the_heartbeat_keeps_the_lease_through_a_long_send(db: Database) -> None:
    """A send longer than the send lease: the heartbeat renews it, so no other dispatcher
    starts sending the workspace meanwhile (real clock, short leases)."""
    ws = await queue(db, "slack", "T1", 2, utcnow())
    short = timedelta(seconds=0.2)
    slow = SlowPort(platform="slack")
    other = RecordingPort(platform="slack")
    a = Dispatcher(
        db,
        {"slack": slow},
        worker_id="a",
        batch_size=1,
        lease=short,
        send_lease=short,
        heartbeat=0.05,
    )
    b = Dispatcher(db, {"slack": other}, worker_id="b", lease=short, send_lease=short)
    batch = await a.claim()
    work = asyncio.create_task(a.work(batch))
    for _ in range(5):  # well past the lease while the send runs
        await asyncio.sleep(0.1)
        assert await b.claim() == []
        assert (await leases(db, utcnow()))[("slack", ws)] == "a"
    await work
    assert len(slow.posts) == 1 and other.posts == []
