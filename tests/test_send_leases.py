"""Rate limits hold across replicas: one dispatcher at a time sends a workspace's rows.

Platform limits are per workspace (Slack) and per tenant (Teams); each dispatcher paces
its own sends. A send lease per (platform, workspace) in the database makes one
dispatcher the sender of a workspace, so its pacers are the whole budget. Several
dispatchers here each have their own Database engine, as replicas do.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from adapters.slack.port import SlackClients, SlackPort
from bot import notify
from bot.core import Core
from bot.outbox import START_SETTLE, Dispatcher, utcnow
from bot.ports import Target
from bot.ui import Message, Paragraph
from domain import Platform
from storage.db import Database, alembic_config, upgrade
from tests.slack_api import FakeSlack, ReplicaInstallations
from tests.support import FakeClock, RecordingPort, scratch_database


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


async def test_a_dispatcher_that_stops_hands_its_workspaces_over_after_a_quiet_time(
    db: Database, clock: FakeClock
) -> None:
    """Released, not lapsed: free once the stopped holder's budget is back (the next
    holder's pacers start full), 5 s rather than a lease."""
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
    clock.advance(seconds=4.9)
    assert await b.drain() == 0
    clock.advance(seconds=0.1)
    assert await b.drain() == 5
    assert await leases(db, clock()) == {("slack", ws): "b"}
    assert len(a_port.posts) == len(b_port.posts) == 5


async def test_a_lapsed_lease_is_not_taken_while_its_holder_still_sends(
    db: Database, clock: FakeClock
) -> None:
    """a's send lease lapses (its heartbeat late) while it has rows in hand (their claims
    longer than the send lease here): b waits until a is done with them, or two replicas
    would send the workspace at once, each with its own budget."""
    ws = await queue(db, "slack", "T1", 10, clock())
    long = timedelta(seconds=60)
    a = dispatcher(db, clock, "a", batch_size=5, lease=long)
    b = dispatcher(db, clock, "b", batch_size=5, lease=long)
    batch = await a.claim()
    assert len(batch) == 5
    clock.advance(seconds=11)  # a's send lease lapsed, its rows still in hand
    assert await b.claim() == []
    assert await leases(db, clock()) == {}
    await a.work(batch)
    assert await b.drain() == 5, "a is done: b takes the workspace over"
    assert await leases(db, clock()) == {("slack", ws): "b"}


def dispatcher(db: Database, clock: FakeClock, name: str, **options: Any) -> Dispatcher:
    return Dispatcher(
        db,
        {"slack": RecordingPort(platform="slack")},
        clock=clock,
        worker_id=name,
        rng=random.Random(name),
        **options,
    )


async def test_replicas_share_the_workspaces_out(db: Database, clock: FakeClock) -> None:
    """Three running dispatchers, three workspaces with rows: each takes one, even when
    one claims twice before the others claim at all (a busy loop claims again at once)."""
    spaces = {
        await queue(db, "slack", team, n, clock())
        for team, n in [("T1", 100), ("T2", 3), ("T3", 3)]
    }
    a, b, c = (dispatcher(db, clock, name, batch_size=10) for name in "abc")
    for d in (a, b, c):
        await d.register()
    claimed = {name: await d.claim() for name, d in [("a", a), ("a again", a), ("b", b), ("c", c)]}
    held = await leases(db, clock())
    assert set(held) == {("slack", ws) for ws in spaces}
    assert sorted(held.values()) == ["a", "b", "c"], f"one workspace each: {held}"
    for name, rows in claimed.items():
        ours = {ws for (_, ws), holder in held.items() if holder == name[0]}
        assert {row.workspace_id for row in rows} <= ours
        assert rows or name == "a again"


async def test_replicas_started_a_moment_apart_share_the_workspaces_out(db: Database) -> None:
    """As ``relais serve`` runs them (``settle``): each counts itself among the running
    dispatchers, then waits before its first claim, so a replica started 0.3 s after
    another (both released by the migration lock) still gets a workspace. Without the
    wait, the first would claim alone and take both (a lone dispatcher takes them all)."""
    now = utcnow()
    spaces = {await queue(db, "slack", team, 10, now) for team in ("T1", "T2")}
    ports = {name: RecordingPort(platform="slack") for name in "ab"}
    engines = {name: Database(db.url) for name in ports}
    stop = asyncio.Event()
    tasks = []
    try:
        for name in "ab":
            d = Dispatcher(
                engines[name],
                {"slack": ports[name]},
                worker_id=name,
                settle=START_SETTLE,
                rng=random.Random(name),
            )
            tasks.append(asyncio.create_task(d.run_forever(stop, poll=0.1)))
            await asyncio.sleep(0.3)
        deadline = time.monotonic() + 20
        while sum(len(p.posts) for p in ports.values()) < 20:
            assert time.monotonic() < deadline, {n: len(p.posts) for n, p in ports.items()}
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for engine in engines.values():
            await engine.dispose()
    senders = {name: {sent.workspace for sent in port.posts} for name, port in ports.items()}
    assert all(len(teams) == 1 for teams in senders.values()), f"one each: {senders}"
    assert senders["a"] != senders["b"]
    assert len(spaces) == 2 and all(len(p.posts) == 10 for p in ports.values())


async def test_a_lone_dispatcher_takes_every_workspace_at_once(
    db: Database, clock: FakeClock
) -> None:
    spaces = {await queue(db, "slack", team, 3, clock()) for team in ("T1", "T2", "T3")}
    a = dispatcher(db, clock, "a")
    batch = await a.claim()
    assert {row.workspace_id for row in batch} == spaces
    assert await leases(db, clock()) == {("slack", ws): "a" for ws in spaces}


async def test_a_workspace_left_waiting_is_taken_beyond_the_share(
    db: Database, clock: FakeClock
) -> None:
    """b is counted as running but does not claim (stuck, or died a moment ago): after
    share_after, a takes the workspace b would have taken; a dispatcher that stops is no
    longer counted."""
    spaces = {await queue(db, "slack", team, 3, clock()) for team in ("T1", "T2")}
    a, b = (dispatcher(db, clock, name) for name in "ab")
    await b.register()
    [first] = {row.workspace_id for row in await a.claim()}
    assert await leases(db, clock()) == {("slack", first): "a"}, "its share: one of two"
    clock.advance(seconds=2)
    assert {row.workspace_id for row in await a.claim()} == set()
    assert set(await leases(db, clock())) == {("slack", first)}
    clock.advance(seconds=1.5)
    [other] = spaces - {first}
    assert {row.workspace_id for row in await a.claim()} == {other}
    assert await leases(db, clock()) == {("slack", ws): "a" for ws in spaces}

    async with db.read() as r:
        assert await r.send_leases.running(["slack"], now=clock()) == {"slack": 2}
    stop = asyncio.Event()
    stop.set()
    await b.run_forever(stop)
    async with db.read() as r:
        assert await r.send_leases.running(["slack"], now=clock()) == {"slack": 1}


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
            SlackClients(
                fake.api_url,
                installation_store=ReplicaInstallations({t: f"xoxb-{t}" for t in teams}, name),
            )
            for name in replicas
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


@dataclass
class SlowPort(RecordingPort):
    """A port whose sends take ``seconds`` (a platform slow to answer)."""

    seconds: float = 0.6

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        await asyncio.sleep(self.seconds)
        return await super().post(workspace, target, message)


async def test_the_heartbeat_keeps_the_lease_through_a_long_send(db: Database) -> None:
    """A send three times as long as the send lease: the heartbeat renews it, so no other
    dispatcher starts sending the workspace meanwhile (real clock, short leases; the
    heartbeat has ten chances per lease, so a loaded CI machine does not starve it)."""
    ws = await queue(db, "slack", "T1", 2, utcnow())
    short = timedelta(seconds=1.0)
    slow = SlowPort(platform="slack", seconds=3.0)
    other = RecordingPort(platform="slack")
    a = Dispatcher(
        db,
        {"slack": slow},
        worker_id="a",
        batch_size=1,
        lease=short,
        send_lease=short,
        heartbeat=0.1,
    )
    b = Dispatcher(db, {"slack": other}, worker_id="b", lease=short, send_lease=short)
    batch = await a.claim()
    work = asyncio.create_task(a.work(batch))
    for _ in range(10):  # well past the lease while the send runs
        await asyncio.sleep(0.25)
        assert await b.claim() == []
        assert (await leases(db, utcnow()))[("slack", ws)] == "a"
    await work
    assert len(slow.posts) == 1 and other.posts == []


async def test_migration_0021_up_and_down(db: Database, tmp_path: Path) -> None:
    """send_leases and send_dispatchers come with 0021 (a lease goes with its workspace)
    and leave with its downgrade to 0020; upgrading again works."""
    from alembic import command

    async with scratch_database(db, tmp_path, "send_leases") as url:
        await asyncio.to_thread(upgrade, url, "head")
        scratch = Database(url)
        now = utcnow()
        try:
            ws = await queue(scratch, "slack", "T1", 1, now)
            a = Dispatcher(scratch, {"slack": RecordingPort(platform="slack")}, worker_id="a")
            assert len(await a.claim()) == 1
            async with scratch.read() as r:
                assert await r.send_leases.held(now=now) == {("slack", ws): "a"}
                assert await r.send_leases.running(["slack"], now=now) == {"slack": 1}
            async with scratch.engine.begin() as conn:
                await conn.execute(text("DELETE FROM outbox"))
                await conn.execute(text("DELETE FROM workspaces"))
                left = await conn.execute(text("SELECT count(*) FROM send_leases"))
                assert left.scalar() == 0, "gone with its workspace"
        finally:
            await scratch.dispose()
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0020")
        scratch = Database(url)
        try:
            async with scratch.engine.connect() as conn:
                names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert "send_leases" not in names and "send_dispatchers" not in names
            assert "site_digests" in names
        finally:
            await scratch.dispose()
        await asyncio.to_thread(upgrade, url, "head")
