"""Client-side pacing of platform API calls, shared by the Slack and Teams ports.

A ``RateLimiter`` keeps, per key (a channel, a workspace, a tenant), the times of its
last events in this process and makes a caller wait until one more stays within the
rate. Events are spread evenly (one every ``per / rate`` seconds) rather than sent in
bursts, so a server counting in a sliding window sees a steady stream even when the
network delays some requests more than others. A sender that comes back a little late
(the event loop wakes sleepers a millisecond or so after their time; a dispatcher pauses
to write to its database between batches) keeps its place in the schedule: the slots it
missed in the last 100 ms may go at once, so short pauses do not lower the rate.
``hold(key, seconds)`` pushes a key back after the platform answered 429 with
``Retry-After``, so the sends queued behind it wait instead of all hitting the limit too.

A ``TokenBucket`` allows a short burst instead: up to ``burst`` events at once per key,
then ``rate`` per second as the bucket refills (Slack's per-channel limit is about one
message a second with short bursts allowed). After the platform answers 429 the key is
held for ``Retry-After``, its bucket starts empty, and it gets no burst for a while
(``cool_down``): it slows down only when told to.

Pacing is per key: waiting on one key never delays another. ``pace()`` waits on
several limiters at once (a channel and its workspace) and records the event in all of
them at the same moment, so a send held back by one limiter does not use up a slot of
the other while it waits. ``delay(key)`` tells, without counting anything, how long a
key would have to wait: the outbox uses it to put a paced message back for later instead
of keeping a sender waiting on it.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["Limiter", "RateLimiter", "TokenBucket", "pace"]

Sleep = Callable[[float], Awaitable[None]]

# The shortest sleep: a clock read back a hair short of a computed instant still moves on.
_MIN_SLEEP = 1e-6
# Forget keys idle for longer than their window once this many are kept.
_PRUNE_AT = 4096
# How late an event may be and still keep the schedule (seconds).
_CATCH_UP = 0.1


class Limiter(Protocol):
    """What ``pace()`` needs of a limiter."""

    interval: float
    sleep: Sleep

    def delay(self, key: str) -> float:
        """Seconds until one more event for ``key`` is allowed (0: now)."""
        ...

    def record(self, key: str) -> None:
        """Count one event for ``key`` now."""
        ...


class RateLimiter:
    """At most ``rate`` events per ``per`` seconds per key, in this process.

    Events of a key are scheduled ``per / rate`` seconds apart; after one that went
    through late by up to 100 ms, the next keep their places in the schedule (the missed
    slots may go at once). No window of ``per`` seconds ever holds more than
    ``ceil(rate)`` events (an exact count of their times). ``rate`` may be fractional:
    ``RateLimiter(0.5)`` lets one event through every two seconds, ``RateLimiter(2.5)``
    one every 0.4 s.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not rate > 0 or not per > 0 or math.isinf(rate):
            raise ValueError("rate and per must be positive and finite")
        self.rate = rate
        self.per = per
        self.interval = per / rate
        self.limit = math.ceil(rate)
        self.catch_up = _CATCH_UP
        self.clock = clock
        self.sleep = sleep
        # Per key: the times of the last ``limit`` events, and when the next one is due.
        self._events: dict[str, collections.deque[float]] = {}
        self._due: dict[str, float] = {}
        self._held: dict[str, float] = {}

    def delay(self, key: str) -> float:
        """Seconds until one more event for ``key`` stays within the rate (0: now)."""
        now = self.clock()
        wait = self._held.get(key, now) - now
        due = self._due.get(key)
        if due is not None and now < due:
            wait = max(wait, due - now, _MIN_SLEEP)
        events = self._events.get(key)
        if events and len(events) >= self.limit and now - events[0] < self.per:
            wait = max(wait, events[0] + self.per - now, _MIN_SLEEP)
        return max(wait, 0.0)

    def record(self, key: str) -> None:
        """Count one event for ``key`` now (call only when ``delay(key)`` is 0)."""
        now = self.clock()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= _PRUNE_AT:
                self._prune()
            events = self._events[key] = collections.deque(maxlen=self.limit)
        events.append(now)
        # On schedule or a little late: the next is due an interval after this one's slot
        # (after a hold, the schedule starts again when it ended); later than that (the key
        # was idle): an interval from now.
        due = self._due.get(key)
        held = self._held.get(key)
        if held is not None and (due is None or held > due):
            due = held
        slot = due if due is not None and now - due <= self.catch_up else now
        self._due[key] = slot + self.interval

    def hold(self, key: str, seconds: float) -> None:
        """Let no event for ``key`` through for ``seconds`` (the platform's Retry-After)."""
        if seconds > 0:
            until = self.clock() + seconds
            self._held[key] = max(self._held.get(key, until), until)

    def release(self, key: str) -> None:
        """End a ``hold`` on ``key`` early."""
        self._held.pop(key, None)

    async def wait(self, key: str) -> None:
        """Return when one more event for ``key`` stays within the rate, and count it."""
        await pace((self, key))

    def _prune(self) -> None:
        now = self.clock()
        horizon = max(self.per, self.interval)
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= horizon]:
            del self._events[key]
            self._due.pop(key, None)
        for key in [k for k, until in self._held.items() if until <= now]:
            del self._held[key]


class TokenBucket:
    """Per key, a bucket of ``burst`` tokens refilled at ``rate`` per second; an event
    takes one. A key idle long enough may send ``burst`` events at once, then ``rate``
    per second.

    ``hold(key, seconds)`` (a 429's Retry-After) lets nothing through for that long, then
    one event, and no burst (at most one token) for ``cool_down`` seconds after the hold:
    a key that was refused slows to the steady rate and only gets its burst back once it
    has been quiet.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        cool_down: float = 60.0,
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not rate > 0 or math.isinf(rate) or burst < 1 or margin < 0:
            raise ValueError("rate must be positive and finite, burst at least 1")
        self.rate = rate
        self.burst = burst
        # An event waits until the bucket holds ``1 + margin * rate`` tokens: each one goes
        # ``margin`` seconds after its token came back, so a request the network delays a
        # little more than the one before it still reaches the server after its token came
        # back there; the refill is continuous, so a steady stream stays ``1 / rate`` apart
        # (the margin is one offset, not added again at every event: 50 cards in a channel
        # are not 50 margins late).
        self.margin = margin
        self.need = 1.0 + margin * rate
        self.interval = 1.0 / rate
        self.cool_down = cool_down
        self.clock = clock
        self.sleep = sleep
        # Per key: (tokens, when they were counted); holds; when the burst comes back.
        self._tokens: dict[str, tuple[float, float]] = {}
        self._held: dict[str, float] = {}
        self._no_burst: dict[str, float] = {}

    def capacity(self, key: str) -> int:
        """How many events ``key`` may send at once now."""
        until = self._no_burst.get(key)
        if until is not None:
            if self.clock() < until:
                return 1
            del self._no_burst[key]
        return self.burst

    def _level(self, key: str, now: float) -> float:
        held = self._held.get(key)
        if held is not None and now < held:
            return 0.0
        tokens, at = self._tokens.get(key, (float(self.burst), now))
        if held is not None and at < held:
            tokens, at = 1.0, held  # after a hold: one send (what Retry-After allows), then refill
        cap = max(float(self.capacity(key)), self.need)
        return min(cap, tokens + max(0.0, now - at) * self.rate)

    def delay(self, key: str) -> float:
        """Seconds until ``key`` has a token (0: now)."""
        now = self.clock()
        held = self._held.get(key)
        if held is not None and now < held:
            return max(held - now, _MIN_SLEEP)
        level = self._level(key, now)
        missing = self.need - level
        # A hair of float error must not make a full token look missing.
        if missing <= 1e-9:
            return 0.0
        start = self._tokens.get(key, (0.0, now))[1]
        return max(missing / self.rate + max(0.0, start - now), _MIN_SLEEP)

    def record(self, key: str) -> None:
        """Take a token for ``key`` (call only when ``delay(key)`` is 0)."""
        now = self.clock()
        if len(self._tokens) >= _PRUNE_AT and key not in self._tokens:
            self._prune(now)
        self._tokens[key] = (max(0.0, self._level(key, now) - 1.0), now)
        held = self._held.get(key)
        if held is not None and held <= now:
            del self._held[key]

    def hold(self, key: str, seconds: float) -> None:
        """Let nothing through for ``seconds`` (Retry-After); then slowly (no burst)."""
        if seconds > 0:
            now = self.clock()
            until = max(self._held.get(key, now), now + seconds)
            self._held[key] = until
            self._tokens[key] = (1.0, until)
            self._no_burst[key] = until + self.cool_down

    def release(self, key: str) -> None:
        """End a ``hold`` on ``key`` early (its bucket stays empty, refilling from now)."""
        if self._held.pop(key, None) is not None:
            self._tokens[key] = (0.0, self.clock())

    async def wait(self, key: str) -> None:
        """Return when ``key`` has a token, and take it."""
        await pace((self, key))

    def _prune(self, now: float) -> None:
        full = self.burst / self.rate  # time for an empty bucket to fill up
        for key in [k for k, (_, at) in self._tokens.items() if now - at >= full]:
            if key not in self._held:
                del self._tokens[key]
        for key in [k for k, until in self._held.items() if until <= now]:
            del self._held[key]
        for key in [k for k, until in self._no_burst.items() if until <= now]:
            del self._no_burst[key]


async def pace(*limits: tuple[Limiter, str]) -> None:
    """Wait until every ``(limiter, key)`` allows one more event, then count it in all.

    The check and the counting happen with no ``await`` in between, so concurrent callers
    never both take the last slot. The first limiter's ``sleep`` is used to wait.
    """
    if not limits:
        return
    sleep = limits[0][0].sleep
    while True:
        wait = max(limiter.delay(key) for limiter, key in limits)
        if wait <= 0:
            for limiter, key in limits:
                limiter.record(key)
            return
        await sleep(wait)
