"""A request's database work, bounded so the platform gets its answer in time.

Slack wants every request acknowledged within 3 s, Teams wants an answer to each
activity; the database may be stopped (connections refused at once) or frozen
(queries hang). ``Attempt.run()`` waits for a request's work at most until the
attempt's deadline, and says what happened:

- it finished: its result;
- it failed because the database cannot be reached, or did not finish in time and no
  commit of its *action* had started: ``Unavailable(uncertain=False)``. The work is
  cancelled and ``CommitWatch`` rolls back any commit that would start after the
  deadline, so nothing of it is recorded: the person can be told "nothing was done, try
  again in a minute". If the database answered other work while this one waited (a
  burst: turns taken, a pool or a lock shared), it is only busy: ``Unavailable(busy=True)``
  (given the ``Database``), and the person is told to try again in a few seconds;
- it did not finish in time but a commit of its action had started (a commit in flight
  cannot be taken back): ``Unavailable(uncertain=True, late=task)``. The work is left to
  finish; the caller tells the person the answer will follow and delivers the task's
  real outcome when it ends.

The action is the part of the work inside ``attempt.action()``; what comes before it
(who the person is, their conversation reference) may be recorded or not without
changing what the person is told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc

from storage.db import (
    CommitRefused,
    CommitWatch,
    Database,
    counting_answers,
    unreachable,
    watching_commits,
)

log = logging.getLogger(__name__)

__all__ = [
    "AFTER_ACK_BUDGET",
    "AFTER_ACK_PATIENCE",
    "SLACK_BUDGET",
    "TEAMS_BUDGET",
    "Attempt",
    "Unavailable",
    "describe",
    "unreachable",
    "work_after_answers_ended",
]

T = TypeVar("T")

#: Seconds a Slack request may spend on the database before its ack (Slack: 3 s).
SLACK_BUDGET = 2.0
#: Seconds for work done after a Slack ack (buttons): the person hears back within it.
AFTER_ACK_BUDGET = 5.0
#: Seconds more that work after an ack may wait while the database answers other work
#: (a burst): no platform deadline applies after the ack, so the click is done rather
#: than refused; a database that answers nothing is still told after AFTER_ACK_BUDGET.
AFTER_ACK_PATIENCE = 25.0
#: Seconds a Teams activity may spend on the database before it is answered.
TEAMS_BUDGET = 3.0


def describe(error: BaseException) -> str:
    """One line for the log: the error's type and first line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


class Unavailable(Exception):
    """The database did not let a request finish in time (see the module docstring)."""

    def __init__(
        self,
        reason: str,
        *,
        uncertain: bool,
        late: asyncio.Future[Any] | None = None,
        busy: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.uncertain = uncertain
        self.late = late
        self.busy = busy and not uncertain

    @property
    def notice(self) -> str:
        """The i18n key of what the person is told about a request (not a form)."""
        if self.uncertain:
            return "outage.unconfirmed"
        return "busy.try_again" if self.busy else "outage.try_again"

    @property
    def form_notice(self) -> str:
        """The i18n key of what a form that could not be taken says on its first field."""
        if self.uncertain:
            return "outage.form_unconfirmed"
        return "busy.form_not_sent" if self.busy else "outage.form_not_sent"


class Attempt:
    """One request's database work, bounded by ``budget`` seconds from now. With ``db``,
    a timeout while ``db`` answered other work is told as busy, not as an outage."""

    def __init__(self, budget: float, db: Database | None = None, *, patience: float = 0.0) -> None:
        """``patience``: seconds the deadline may move on, ``budget`` at a time, while
        ``db`` keeps answering other work (busy, not away): for work after an ack, which
        no platform deadline bounds. Without ``db`` it has no effect."""
        loop = asyncio.get_running_loop()
        self.watch = CommitWatch(loop.time() + budget)
        self._budget = budget
        self._last_call = loop.time() + budget + (patience if db is not None else 0.0)
        self._db = db
        self._answers = db.answers if db is not None else 0
        self._own = [0]
        self._own_seen = 0  # of them, counted before the last move of the deadline

    def _busy(self) -> bool:
        """True when the database answered other work (not this attempt's own) since
        this attempt began."""
        if self._db is None:
            return False
        return self._db.answers - self._answers - (self._own[0] - self._own_seen) > 0

    def action(self) -> AbstractContextManager[CommitWatch]:
        """Mark the request's action: its commits are watched (use inside the work)."""
        return watching_commits(self.watch)

    async def run(self, work: Awaitable[T]) -> T:
        """``work``'s result, or ``Unavailable`` (module docstring) by the deadline."""
        loop = asyncio.get_running_loop()
        with counting_answers() as self._own:
            task = asyncio.ensure_future(work)  # counts in its own copy of the context
        while True:
            left = max(0.0, self.watch.deadline - loop.time())
            done, _ = await asyncio.wait({task}, timeout=left)
            if task in done or not self._extend(loop.time()):
                break
        if task in done:
            error = None if task.cancelled() else task.exception()
            if error is None:
                return task.result()
            if isinstance(error, CommitRefused) or unreachable(error):
                # Waiting (a deadline, a pool's timeout) is not being refused: a database
                # that cut or refused the connection is away, however busy it was before.
                waited = isinstance(error, (CommitRefused, sa_exc.TimeoutError))
                raise Unavailable(
                    describe(error),
                    uncertain=self.watch.started > 0,
                    busy=waited and self._busy(),
                ) from error
            raise error
        if self.watch.started:
            _outlives_answer(task)
            raise Unavailable("still committing at the deadline", uncertain=True, late=task)
        # Nothing of the action was committed, and now nothing will be.
        self.watch.abandon()
        task.cancel()
        task.add_done_callback(_collect)
        _outlives_answer(task)
        busy = self._busy()
        reason = "busy: other work came first" if busy else "no answer from the database in time"
        raise Unavailable(reason, uncertain=False, busy=busy)

    def _extend(self, now: float) -> bool:
        """At the deadline: move it on by one budget when patience is left and the database
        answered other work meanwhile (it is busy, not away); True when it moved."""
        if now >= self._last_call or not self._busy():
            return False
        self._answers = self._db.answers if self._db is not None else 0
        self._own_seen = self._own[0]
        self.watch.deadline = min(now + self._budget, self._last_call)
        log.debug("request work still waiting on a busy database; its deadline moves on")
        return True


#: Request work still running after its request was answered: cancelled at its deadline
#: (a cancel it may take a moment to honour), or still committing (its outcome is told
#: when it ends). ``relais serve`` waits for it on shutdown before the loops and the
#: adapters close (``work_after_answers_ended``).
_AFTER_ANSWER: set[asyncio.Future[Any]] = set()


def _outlives_answer(task: asyncio.Future[Any]) -> None:
    _AFTER_ANSWER.add(task)
    task.add_done_callback(_AFTER_ANSWER.discard)


async def work_after_answers_ended(within: float) -> int:
    """Wait up to ``within`` seconds for this loop's request work that outlived its
    answer; what is still running then is cancelled. Returns how many were cancelled."""
    loop = asyncio.get_running_loop()
    running = {t for t in _AFTER_ANSWER if not t.done() and t.get_loop() is loop}
    if not running:
        return 0
    _, pending = await asyncio.wait(running, timeout=max(0.0, within))
    for task in pending:
        task.cancel()
    return len(pending)


def _collect(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned task's outcome (so asyncio does not report it as lost)."""
    error = None if task.cancelled() else task.exception()
    if error is not None:
        log.debug("abandoned request work ended with %s", describe(error))
