"""The outbox dispatcher: sends queued rows through the platform ports.

Services write outbox rows in the transaction that caused them (``Repos.outbox.add``);
this module delivers them. A row is claimed with a short lease (renewed by a heartbeat
while its send runs), sent, and recorded as sent as soon as its send returns: sends that
finish while a record is being written are recorded together in the next transaction
(group commit), never held back for the rest of their batch. So a crash, or a database
that goes away, can only re-send the messages whose send had returned but whose record
was not yet committed: one message per send in flight.

Rows go out in lanes, one per recipient (a channel, a person's DMs, a conversation):
a lane sends its rows one after another in id order (so a review card goes before its
update), lanes run side by side, and a send slot (``concurrency``) is held only for the
call itself. Batches worked on side by side take turns on a lane they share, in the order
they were claimed. When a recipient's pace has no room (the port raises ``NotYet``, e.g. a
channel that used its burst), its lane gives its rows back to the table with a next-send
time each, one interval apart, instead of waiting on them: the batch ends as soon as the
other lanes' sends return, and those rows come back (the dispatcher wakes itself then,
or at once for a time already past when the batch ends) while unrelated messages go out.
A row queued later for a lane with rows given back is given back behind them, so the
order within a lane holds across claims.

Replicas share the rate budgets: one dispatcher at a time sends a (platform, workspace)'s
rows, the holder of its send lease (``send_leases``), and each running dispatcher takes
about its share of the workspaces with rows to send (see ``_leases_to_take``).

A transient failure puts a row back with exponential backoff and jitter (never sooner than
the port's retry-after). What a person is owed (DMs, channel posts such as review cards,
and card updates) keeps trying for a day, at most ``KEEP_TRYING_MAX_DELAY`` apart; only
replies to a click (ephemeral) and home views, which are stale by then, stop after
``max_attempts`` tries. A row that has failed ``max_attempts`` times or waited longer than
``STUCK_AFTER`` is "stuck": ``relais doctor`` and ``/readyz`` count it, and when it is a
review card the CMs are told by DM. What cannot be sent becomes a dead letter.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import logging
import math
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import metrics, notify
from bot.i18n import translator
from bot.ports import NotYet, PermanentFailure, PlatformPort, RetryLater, Target
from bot.ui import Context, Message, Paragraph
from bot.worker import LEASE, Clock, Worker, utcnow
from domain import Role
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import Repos
from storage.repositories.send_leases import Key, Waiting

log = logging.getLogger(__name__)

__all__ = ["Clock", "Dispatcher", "keeps_trying", "lane_of", "stuck_count", "utcnow"]

# How long a message a person is owed keeps being retried, and the longest wait between
# two tries (the backoff grows to it, with jitter).
KEEP_TRYING = timedelta(hours=24)
KEEP_TRYING_MAX_DELAY = 900.0
# A message still not sent this long after it was queued is stuck (as is one that failed
# max_attempts times).
STUCK_AFTER = timedelta(minutes=15)
# A lane whose recipient has room again within this many seconds waits for it in place
# (holding no send slot) rather than giving its rows back to the table.
SHORT_WAIT = 0.25
# A wake-up set for rows given back comes this much after their next-send time, so that
# they are due when the claim reads the clock.
WAKE_MARGIN = 0.005

# A workspace seen with rows due and no replica holding its send lease for this long is
# taken by the next claim whatever the claimer already has in hand (seconds; three polls:
# a replica counted as running but not claiming, e.g. one that died less than a send
# lease ago, does not leave it waiting longer).
SHARE_AFTER = 3.0

# How long a stopping dispatcher tries to release its send leases before letting them lapse.
RELEASE_TIMEOUT = 2.0
# A lease released by a stopping dispatcher is free to take this long after (seconds):
# the next holder's pacers start full, so the one that just stopped must have its budget
# back by then (a Slack channel's burst refills in 5 s; the workspace's window is 1 s).
# A lapsed lease needs no such wait: it lapses a whole lease after its last renewal, and
# its holder's last send was at most a heartbeat (a third of a lease) after that one, so
# at least ~6.7 s before (a holder still sending keeps its workspace: see ``claim``).
HANDOVER_QUIET = timedelta(seconds=5)
# Seconds ``run_forever`` waits between counting itself among the running dispatchers and
# its first claim (``relais serve`` passes it): replicas started together (after the one
# that applied the migrations releases the others) then count each other, and the first
# to claim takes its share instead of every workspace (``claim``: a lone dispatcher takes
# them all at once). Tests and benchmarks that start dispatchers one by one keep 0.
START_SETTLE = 1.0

# How many of a lane's rows are prepared (photos uploaded) ahead of their sends, and how
# many of those uploads run side by side: about a channel's burst (Slack: ~5), in the
# rows' order, so the burst's cards are not slowed by the uploads of the cards paced
# after it; each row waits for its own upload only.
PREPARE_AHEAD = 8
PREPARE_SIDE_BY_SIDE = 5

Lane = tuple[str, int, str, str, str]


def lane_of(row: OutboxMessage) -> Lane:
    """The recipient a row goes to: (platform, workspace, target kind, id, user). An update
    carries the target of the post it rewrites, so it is in that post's lane."""
    target = row.target or {}
    return (
        row.platform,
        row.workspace_id,
        str(target.get("kind", "")),
        str(target.get("id", "")),
        str(target.get("user", "")),
    )


class _LaneTurns:
    """Whose turn it is to send each lane's rows: rounds in the order they asked."""

    def __init__(self) -> None:
        self._queues: dict[Lane, collections.deque[asyncio.Future[None]]] = {}

    def ask(self, lane: Lane) -> asyncio.Future[None]:
        """A turn for ``lane``: done when every turn asked before it is over."""
        queue = self._queues.setdefault(lane, collections.deque())
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not queue:
            turn.set_result(None)
        queue.append(turn)
        return turn

    def done(self, lane: Lane, turn: asyncio.Future[None]) -> None:
        """``turn`` is over (or given up): the next one starts (twice is harmless)."""
        queue = self._queues.get(lane)
        if queue is None or turn not in queue:
            return
        queue.remove(turn)
        if not queue:
            del self._queues[lane]
        elif not queue[0].done():
            queue[0].set_result(None)


@dataclass
class _GivenBack:
    """A lane's rows given back for pacing: row id -> next-send time."""

    interval: float
    due: dict[int, datetime] = field(default_factory=dict)


def keeps_trying(row: OutboxMessage) -> bool:
    """True for messages that matter for hours: DMs, channel posts (review cards, the
    digest) and card updates; False for ephemeral replies and home views."""
    return row.kind == "update" or (row.target or {}).get("kind") in ("user", "channel")


async def stuck_count(db: Database, *, now: datetime, max_attempts: int) -> int:
    """How many outbox rows are stuck (see the module docstring), for health checks."""
    async with db.read() as r:
        return await r.outbox.count_stuck(attempts=max_attempts, queued_before=now - STUCK_AFTER)


class Dispatcher(Worker):
    """Delivers due outbox rows for the platforms it has ports for."""

    name = "outbox dispatcher"

    def __init__(
        self,
        db: Database,
        ports: Mapping[str, PlatformPort],
        *,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 3600.0,
        keep_trying: timedelta = KEEP_TRYING,
        keep_trying_max_delay: float = KEEP_TRYING_MAX_DELAY,
        lease: timedelta = LEASE,
        send_lease: timedelta = LEASE,
        share_after: float = SHARE_AFTER,
        handover_quiet: timedelta = HANDOVER_QUIET,
        heartbeat: float | None = None,
        settle: float = 0.0,
        batch_size: int = 50,
        concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            base_delay=base_delay,
            max_delay=max_delay,
            lease=lease,
            # The heartbeat renews the rows in hand and the send leases: often enough for both.
            heartbeat=heartbeat
            if heartbeat is not None
            else min(lease, send_lease).total_seconds() / 3,
            rng=rng,
        )
        self.send_lease = send_lease
        self.share_after = share_after
        self.handover_quiet = handover_quiet
        self.settle = settle
        self._free_since: dict[Key, datetime] = {}
        # Until when this dispatcher is counted among the running ones, and how long
        # before that its next claim says it is still running.
        self._present_until: datetime | None = None
        self._renew_every = send_lease * 2 / 3
        self.db = db
        self.ports = dict(ports)
        self.worker_id = worker_id or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.max_attempts = max_attempts
        self.keep_trying = keep_trying
        self.keep_trying_max_delay = keep_trying_max_delay
        self.batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)
        self._workspaces: dict[int, str] = {}
        self._given_back: dict[Lane, _GivenBack] = {}
        self._turns = _LaneTurns()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: datetime | None = None
        self._wakes: list[datetime] = []

    async def claim(self) -> list[OutboxMessage]:
        """Claim up to ``batch_size`` due rows of the platforms this dispatcher sends to,
        of the workspaces whose send lease it holds (taking or renewing them first)."""
        now = self.clock()
        # Only rows for our platforms: a process without Slack settings leaves Slack rows
        # to a process that has them.
        platforms = sorted(self.ports)
        present = self._present_until is None or now >= self._present_until - self._renew_every
        async with self.db.transaction() as repos:
            if present:
                await self._say_present(repos, now)
            running = await repos.send_leases.running(platforms, now=now)
            waiting = await repos.send_leases.waiting(
                platforms, now=now, soon=now + self.send_lease, me=self.worker_id
            )
            leased = await repos.send_leases.held(now=now)
            keep, fresh, room = self._leases_to_take(waiting, running, leased, now)
            until = now + self.send_lease
            held = await repos.send_leases.take(keep, self.worker_id, now=now, until=until)
            await repos.send_leases.create([w.key for w in fresh if w.holder is None], now=now)
            for w in fresh:
                platform = w.key[0]
                if room[platform] > 0 and await repos.send_leases.take_free(
                    w.key, self.worker_id, now=now, until=until
                ):
                    held.append(w.key)
                    room[platform] -= 1
            self._count_leases(held)
            batch = await repos.outbox.claim(
                self.worker_id,
                platforms=platforms,
                now=now,
                lease=self.lease,
                limit=self.batch_size,
                exclude=sorted(self._held),
                workspaces=held,
            )
        if present:
            self._present_until = now + self.send_lease
        return batch

    async def register(self) -> None:
        """Count this dispatcher among the running ones now (its claims keep it counted),
        so that replicas started together share the first workspaces out."""
        now = self.clock()
        async with self.db.transaction() as repos:
            await self._say_present(repos, now)
        self._present_until = now + self.send_lease

    async def _say_present(self, repos: Repos, now: datetime) -> None:
        """Count this dispatcher among the running ones of its platforms for a send lease
        from ``now`` (the caller notes ``_present_until`` once that is committed)."""
        await repos.send_leases.present(
            sorted(self.ports), self.worker_id, now=now, until=now + self.send_lease
        )

    def _leases_to_take(
        self,
        waiting: list[Waiting],
        running: dict[str, int],
        leased: dict[Key, str],
        now: datetime,
    ) -> tuple[list[Key], list[Waiting], dict[str, int]]:
        """The workspaces to hold for this claim: ``keep``, those already ours with rows
        due now or soon (kept while given-back rows wait for their pace), and every free
        one (nobody's, or its holder's lease lapsed) it has seen waiting for
        ``share_after`` seconds (no other replica took it meanwhile); then ``fresh``, the
        other free ones with rows due, in random order, of which it takes up to ``room``
        per platform: what brings it to its fair share (the workspaces with rows to send
        over the dispatchers running, rounded up). Replicas so share the workspaces out
        (a replica does not take a second one while another has none to send), a lone
        replica takes them all at once, and trying them in random order, replicas
        claiming at the same time rarely want the same one."""
        mine = [w for w in waiting if w.holder == self.worker_id]
        free = [
            w
            for w in waiting
            if w.holder != self.worker_id
            and (w.holder is None or w.until is None or w.until <= now)
            and w.due > 0
            # A holder whose lease lapsed while it still sends rows it has in hand (its
            # heartbeat late on a loaded machine): taking over now would add a second
            # sender, and a second budget, until those are done.
            and w.in_others_hands == 0
        ]
        keep = [w.key for w in mine]
        # Since when this dispatcher has seen each free workspace with rows due (not the
        # rows' own age: a round's rows may be older than their commit).
        seen = {w.key: self._free_since.get(w.key, now) for w in free}
        self._free_since = seen
        late = [w for w in free if (now - seen[w.key]).total_seconds() >= self.share_after]
        keep += [w.key for w in late]
        fresh = [w for w in free if w not in late]
        self._rng.shuffle(fresh)
        # The workspaces being sent (a lease not lapsed, its rows maybe all in hand) or
        # with rows to send, and ours of them.
        wanted = {w.key for w in waiting} | set(leased)
        ours = set(keep) | {key for key, holder in leased.items() if holder == self.worker_id}
        room = {}
        for platform, dispatchers in running.items():
            share = math.ceil(sum(1 for k in wanted if k[0] == platform) / max(1, dispatchers))
            room[platform] = max(0, share - sum(1 for k in ours if k[0] == platform))
        return keep, fresh, room

    def _count_leases(self, held: list[Key]) -> None:
        for platform in self.ports:
            metrics.SEND_LEASES.labels(platform).set(sum(1 for p, _ in held if p == platform))

    async def release_leases(self) -> None:
        """Let this dispatcher's send leases go, so another replica takes its workspaces
        over ``handover_quiet`` later rather than when they lapse (a dispatcher that
        stops; one that dies loses them when they lapse)."""
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT):
                async with self.db.transaction() as repos:
                    now = self.clock()
                    await repos.send_leases.release(
                        self.worker_id, now=now, free_at=now + self.handover_quiet
                    )
        except Exception as exc:  # the database is away or slow: the leases lapse instead
            log.warning("outbox: releasing the send leases failed: %s", exc)
        self._count_leases([])

    async def run_forever(self, stop: asyncio.Event, *, poll: float = 1.0, rounds: int = 4) -> None:
        """Count this dispatcher among the running ones, wait ``settle`` seconds (the
        other replicas started with it do the same), then ``Worker.run_forever``; once
        stopped, let the send leases go. A task that is cancelled or fails instead lets
        them lapse (as a process that dies does): it must not wait on the database on its
        way out."""
        try:
            await self.register()
        except Exception as exc:  # the database is away: its first claim counts it instead
            log.warning("outbox: counting this dispatcher among the running ones failed: %s", exc)
        if self.settle > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settle)
        await super().run_forever(stop, poll=poll, rounds=rounds)
        await self.release_leases()

    async def work(self, batch: list[OutboxMessage]) -> None:
        """Deliver a claimed batch lane by lane, recording each row as soon as its send
        returns; rows whose recipient is paced are given back with a next-send time."""
        sent = _SentRecorder(self)
        lanes: dict[Lane, list[OutboxMessage]] = {}
        for row in sorted(batch, key=lambda r: r.id):
            lanes.setdefault(lane_of(row), []).append(row)
        # One round at a time per lane: rounds run side by side (``run_forever``), and a
        # later round's rows of a recipient wait for the earlier round's to be sent or
        # given back (then go behind them), never sent beside them. The turns are asked
        # for before any await, so in the order the rounds were claimed.
        turns = {lane: self._turns.ask(lane) for lane in lanes}
        try:
            async with self.holding(row.id for row in batch):
                await self._load_workspaces({row.workspace_id for row in batch})
                await asyncio.gather(
                    *(self._lane(lane, rows, sent, turns[lane]) for lane, rows in lanes.items())
                )
                await sent.flushed()
        finally:
            for lane, turn in turns.items():
                self._turns.done(lane, turn)
        self._wake_for_given_back()

    async def _lane(
        self,
        lane: Lane,
        rows: list[OutboxMessage],
        sent: _SentRecorder,
        turn: asyncio.Future[None],
    ) -> None:
        """Send one recipient's rows in order, once its turn comes; give the rest back
        when its pace is full."""
        try:
            await turn
            await self._lane_rows(lane, rows, sent)
        finally:
            self._turns.done(lane, turn)

    async def _lane_rows(self, lane: Lane, rows: list[OutboxMessage], sent: _SentRecorder) -> None:
        prepare = getattr(self.ports[lane[0]], "prepare", None)
        ready: dict[int, asyncio.Future[None]] = {}
        if prepare is not None and len(rows) > 1:
            # What the sends need and no pace limits (photo uploads), ahead of the sends and
            # side by side, so that one recipient's burst is not spent waiting on one upload
            # after another; only for the first few (those past a burst wait for their turn
            # anyway). Each row waits for its own: the first card goes once its photo is up.
            turns = asyncio.Semaphore(PREPARE_SIDE_BY_SIDE)
            for row in rows[:PREPARE_AHEAD]:
                ready[row.id] = asyncio.ensure_future(self._prepare(prepare, row, turns))
        try:
            for index, row in enumerate(rows):
                behind = self._behind(lane, row)
                if behind is not None:
                    await self._give_back(lane, rows[index:], *behind)
                    return
                if row.id in ready:
                    await ready[row.id]
                while True:
                    try:
                        await self._deliver(row, sent)
                    except NotYet as exc:
                        if exc.retry_after <= SHORT_WAIT:
                            await asyncio.sleep(exc.retry_after)
                            continue
                        at = self.clock() + timedelta(seconds=exc.retry_after)
                        await self._give_back(lane, rows[index:], at, exc.interval)
                        return
                    except Exception as exc:
                        # Recording a failure failed (the database went away): the lease
                        # runs out and the row is tried again.
                        log.error("outbox row %s: %s", row.id, exc)
                    break
        finally:
            for task in ready.values():  # rows given back: their uploads done are kept
                task.cancel()
            await asyncio.gather(*ready.values(), return_exceptions=True)

    async def _prepare(self, prepare: Any, row: OutboxMessage, turns: asyncio.Semaphore) -> None:
        async with turns, self._limit:
            try:
                workspace = await self._workspace_external_id(row.workspace_id)
                await prepare(workspace, Message.from_json(row.payload))
            except Exception as exc:  # the send does it again, and reports what fails
                log.debug("outbox row %s: preparing it failed: %s", row.id, exc)

    def _behind(self, lane: Lane, row: OutboxMessage) -> tuple[datetime, float] | None:
        """When ``row`` may go if rows of its lane queued before it were given back and
        are not sent yet (their last next-send time plus an interval), else None."""
        given = self._given_back.get(lane)
        if given is None:
            return None
        given.due.pop(row.id, None)
        now = self.clock()
        # A row not back a lease after its time went elsewhere (another replica sent it).
        for row_id in [i for i, at in given.due.items() if at < now - self.lease]:
            del given.due[row_id]
        ahead = [at for row_id, at in given.due.items() if row_id < row.id]
        if not given.due:
            del self._given_back[lane]
        if not ahead:
            return None
        return max(max(ahead), now) + timedelta(seconds=given.interval), given.interval

    async def _give_back(
        self, lane: Lane, rows: list[OutboxMessage], first: datetime, interval: float
    ) -> None:
        """Put ``rows`` (one lane's, in order) back unsent, ``interval`` seconds apart from
        ``first``, without counting a try (``work`` then sets a wake-up for the first)."""
        times = [first + timedelta(seconds=k * interval) for k in range(len(rows))]
        try:
            async with self.db.transaction() as repos:
                for row, at in zip(rows, times, strict=True):
                    await repos.outbox.put_back(row.id, self.worker_id, at=at)
        except Exception as exc:  # the database went away: the leases run out instead
            log.error("outbox rows %s: giving them back failed: %s", [r.id for r in rows], exc)
            return
        log.debug(
            "outbox rows %s paced: given back from %s, %.3fs apart",
            [r.id for r in rows],
            first.isoformat(),
            interval,
        )
        given = self._given_back.setdefault(lane, _GivenBack(interval))
        given.interval = interval
        for row, at in zip(rows, times, strict=True):
            given.due[row.id] = at
            self.release(row.id)

    def _wake_for_given_back(self) -> None:
        """Wake up when the next row given back is due (rows of a lane come back one
        interval apart, each in a claim of its own); at once when one is due already (the
        round outlasted its time: the other lanes' sends took longer)."""
        now = self.clock()
        # A row not back a lease after its time went elsewhere (``_behind``): no wake-up.
        times = [
            at
            for given in self._given_back.values()
            for at in given.due.values()
            if at >= now - self.lease
        ]
        if times:
            self._wake_at(min(times))

    def _wake_at(self, at: datetime) -> None:
        """Wake the loop when ``at`` comes (rather than at its next poll)."""
        heapq.heappush(self._wakes, at)
        if len(self._wakes) > 1024:  # many retries: keep the soonest
            self._wakes = heapq.nsmallest(256, self._wakes)
        self._arm()

    def _arm(self) -> None:
        """Set the timer for the soonest wake-up still to come."""
        now = self.clock()
        past = False
        while self._wakes and self._wakes[0] <= now:
            heapq.heappop(self._wakes)
            past = True
        if past:  # its time came before a timer could be set for it: now
            self.wake()
        if not self._wakes:
            return
        soonest = self._wakes[0]
        if self._timer is not None:
            if self._timer_at is not None and self._timer_at <= soonest:
                return
            self._timer.cancel()
        delay = (soonest - now).total_seconds() + WAKE_MARGIN

        def ring() -> None:
            # Done with what it was set for, even on a clock that did not move (tests).
            while self._wakes and self._wakes[0] <= soonest:
                heapq.heappop(self._wakes)
            self._timer = self._timer_at = None
            self.wake()
            self._arm()

        self._timer = asyncio.get_running_loop().call_later(delay, ring)
        self._timer_at = soonest

    async def renew(self, ids: list[int], until: datetime) -> int:
        """The heartbeat: keep the rows in hand, this dispatcher's send leases and its
        place among the running dispatchers (in two transactions, each locking in a
        claim's order: running dispatchers, then lease rows, then outbox rows; a claim
        never waits on a heartbeat holding both)."""
        async with self.db.transaction() as repos:
            now = self.clock()
            await self._say_present(repos, now)
            await repos.send_leases.renew(self.worker_id, now=now, until=now + self.send_lease)
        self._present_until = now + self.send_lease
        async with self.db.transaction() as repos:
            return await repos.outbox.renew(ids, self.worker_id, until=until)

    async def give_back(self, ids: list[int]) -> int:
        async with self.db.transaction() as repos:
            return await repos.outbox.give_back(ids, self.worker_id, now=self.clock())

    async def _load_workspaces(self, ids: set[int]) -> None:
        """Look up the batch's workspaces once, before its sends start (in claim order)."""
        missing = sorted(ids - self._workspaces.keys())
        if missing:
            async with self.db.read() as repos:
                for workspace_id in missing:
                    ws = await repos.workspaces.get(workspace_id)
                    self._workspaces[workspace_id] = ws.external_id

    async def _workspace_external_id(self, workspace_id: int) -> str:
        if workspace_id not in self._workspaces:
            async with self.db.transaction() as repos:
                ws = await repos.workspaces.get(workspace_id)
                self._workspaces[workspace_id] = ws.external_id
        return self._workspaces[workspace_id]

    async def _deliver(self, row: OutboxMessage, sent: _SentRecorder) -> None:
        """Send one row and hand it to ``sent`` to record, or record why it was not sent."""
        async with self._limit:
            port = self.ports[row.platform]
            try:
                workspace = await self._workspace_external_id(row.workspace_id)
                message = Message.from_json(row.payload)
                if row.kind == "update":
                    ref = await self._posted_ref(row, sent)
                    if ref is None:
                        return
                    await port.update(workspace, ref, message)
                    result: dict[str, Any] | None = ref
                else:
                    result = await port.post(workspace, Target.from_json(row.target), message)
            except NotYet:
                raise
            except RetryLater as exc:
                reason = "rate_limited" if exc.retry_after is not None else "transient"
                metrics.SEND_FAILURES.labels(row.platform, reason).inc()
                await self._failed(row, str(exc), exc.retry_after)
                return
            except PermanentFailure as exc:
                metrics.SEND_FAILURES.labels(row.platform, "permanent").inc()
                await self._dead(row, f"permanent: {exc}")
                return
            except Exception as exc:  # a bug or an unexpected SDK error: retry, then park
                metrics.SEND_FAILURES.labels(row.platform, "error").inc()
                log.exception("outbox row %s failed", row.id)
                await self._failed(row, f"{type(exc).__name__}: {exc}", None)
                return
            metrics.SENDS.labels(row.platform, row.kind).inc()
            sent.add(row.id, result)

    async def _posted_ref(self, row: OutboxMessage, sent: _SentRecorder) -> dict[str, Any] | None:
        """The platform reference of the post this update rewrites, or None to wait for it."""
        if row.replaces_id in sent.delivered:  # posted earlier in this lane, being recorded
            return sent.delivered[row.replaces_id]
        async with self.db.transaction() as repos:
            original = await repos.outbox.get(row.replaces_id) if row.replaces_id else None
            if original is None or original.status == "dead":
                await repos.outbox.mark_dead(
                    row.id, self.worker_id, error="the message to update was never delivered"
                )
                self.release(row.id)
                return None
            if original.status != "sent" or not original.result:
                # The card is still on its way; look again shortly (not before its own
                # next try) without using up a try.
                at = self.clock() + timedelta(seconds=1)
                if original.status == "pending" and original.next_attempt_at > at:
                    at = original.next_attempt_at
                await repos.outbox.mark_retry(
                    row.id,
                    self.worker_id,
                    at=at,
                    error="waiting for the original message",
                    count_attempt=False,
                )
                self.release(row.id)
                self._wake_at(at)
                return None
            return dict(original.result)

    async def _failed(self, row: OutboxMessage, error: str, retry_after: float | None) -> None:
        if keeps_trying(row):
            if self.clock() - row.created_at >= self.keep_trying:
                hours = self.keep_trying.total_seconds() / 3600
                await self._dead(row, f"gave up after {hours:g} h, {row.attempts} tries: {error}")
                return
            delay = self.backoff(row.attempts, retry_after, cap=self.keep_trying_max_delay)
        elif row.attempts >= self.max_attempts:
            await self._dead(row, f"gave up after {row.attempts} tries: {error}")
            return
        else:
            delay = self.backoff(row.attempts, retry_after)
        log.warning("outbox row %s: %s; retry in %.1fs", row.id, error, delay)
        at = self.clock() + timedelta(seconds=delay)
        async with self.db.transaction() as repos:
            await repos.outbox.mark_retry(row.id, self.worker_id, at=at, error=error)
        self.release(row.id)
        self._wake_at(at)
        if row.attempts == self.max_attempts:
            log.error("outbox row %s is stuck after %d tries: %s", row.id, row.attempts, error)
            await self._tell_cms(row, error)

    async def _dead(self, row: OutboxMessage, error: str) -> None:
        log.error("outbox row %s is a dead letter: %s", row.id, error)
        metrics.DEAD_LETTERS.labels(row.platform).inc()
        async with self.db.transaction() as repos:
            await repos.outbox.mark_dead(row.id, self.worker_id, error=error)
        self.release(row.id)
        await self._tell_cms(row, error)

    async def _tell_cms(self, row: OutboxMessage, error: str) -> None:
        """A review card is stuck or dead: tell each CM by DM (at most once an hour each),
        since the author was told it is waiting for review."""
        parts = (row.dedupe_key or "").split(":")
        if row.kind != "post" or parts[0] != "card" or len(parts) < 2:
            return
        hour = self.clock().strftime("%Y-%m-%dT%H")
        hours = round(self.keep_trying.total_seconds() / 3600)
        try:
            async with self.db.transaction() as r:
                for cm in await r.members.with_role(row.workspace_id, Role.CM):
                    key = f"stuck:{row.workspace_id}:{cm.id}:{hour}"
                    if await r.outbox.has_dedupe_key(key):
                        continue
                    t = translator(cm.locale)
                    text = t(
                        "outbox.card_stuck",
                        id=parts[1],
                        tries=row.attempts,
                        error=error[:200],
                        hours=hours,
                    )
                    message = Message(text, (Paragraph(text), Context(f"outbox #{row.id}")))
                    await notify.dm(r, cm, message, now=self.clock(), dedupe_key=key)
        except Exception:  # a concurrent notice, or the database: the doctor still shows it
            log.exception("outbox row %s: telling the CMs that it is stuck failed", row.id)
            return
        self.wake()


class _SentRecorder:
    """Records delivered rows as sent, as soon as possible, in as few transactions as that
    allows: while one transaction is being written, rows whose send returns meanwhile
    queue up and go in the next one (group commit). Fast sends share a transaction (the
    batching gain), slow sends (a real platform) are recorded one by one, and no delivered
    row waits for the rest of its batch."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._queue: list[tuple[int, dict[str, Any] | None, datetime]] = []
        self._writer: asyncio.Task[None] | None = None
        # What each row delivered in this batch posted (an update later in its lane
        # rewrites it without waiting for the record).
        self.delivered: dict[int, dict[str, Any]] = {}

    def add(self, row_id: int, result: dict[str, Any] | None) -> None:
        """``row_id`` was delivered (the platform answered ``result``)."""
        if result:
            self.delivered[row_id] = result
        self._queue.append((row_id, result, self.dispatcher.clock()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def flushed(self) -> None:
        """Wait until every delivered row is recorded."""
        while self._writer is not None and not self._writer.done():
            await self._writer

    async def _write(self) -> None:
        d = self.dispatcher
        while self._queue:
            # In id order, so two transactions lock shared rows in the same order.
            batch = sorted(self._queue, key=lambda item: item[0])
            self._queue = []

            async def record(
                batch: list[tuple[int, dict[str, Any] | None, datetime]] = batch,
            ) -> None:
                async with d.db.transaction() as repos:
                    for row_id, result, at in batch:
                        await repos.outbox.mark_sent(row_id, d.worker_id, result=result, now=at)

            # The messages are out: wait for the database rather than let the lease expire
            # and send them again.
            await d.persist(f"{len(batch)} sent row(s)", record)
            for row_id, _, _ in batch:
                d.release(row_id)
