"""Bounded request work (adapters/deadline.py): refused means nothing was recorded."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.deadline import Attempt, Unavailable, unreachable
from storage.db import CommitRefused, CommitWatch, Database, watching_commits
from storage.models import Job
from tests.support import FakeClock


async def add_job(db: Database, clock: FakeClock, key: str, pause: float = 0.0) -> None:
    async with db.transaction() as r:
        await r.jobs.add(kind="test", key=key, payload={}, now=clock())
        if pause:
            await asyncio.sleep(pause)


async def job_exists(db: Database, key: str) -> bool:
    async with db.read() as r:
        return await r.session.scalar(select(Job.id).where(Job.key == key)) is not None


async def test_a_commit_reached_after_the_deadline_is_rolled_back(
    db: Database, clock: FakeClock
) -> None:
    watch = CommitWatch(asyncio.get_running_loop().time() + 0.05)
    with watching_commits(watch), pytest.raises(CommitRefused):
        await add_job(db, clock, "late", pause=0.1)
    assert watch.started == 0
    assert not await job_exists(db, "late")


async def test_abandoned_work_commits_nothing_even_if_it_ignores_the_cancel(
    db: Database, clock: FakeClock
) -> None:
    attempt = Attempt(0.1)
    finished = asyncio.Event()

    async def stubborn() -> None:
        with attempt.action():
            try:
                async with db.transaction() as r:
                    await r.jobs.add(kind="test", key="stubborn", payload={}, now=clock())
                    try:
                        await asyncio.sleep(0.3)
                    except asyncio.CancelledError:
                        pass  # carries on to its commit regardless
            finally:
                finished.set()

    with pytest.raises(Unavailable) as refused:
        await attempt.run(stubborn())
    assert not refused.value.uncertain and refused.value.late is None
    await asyncio.wait_for(finished.wait(), 2)
    assert not await job_exists(db, "stubborn")


async def test_work_whose_commit_started_is_left_to_finish(db: Database, clock: FakeClock) -> None:
    attempt = Attempt(0.1)

    async def committed_then_slow() -> str:
        with attempt.action():
            await add_job(db, clock, "kept")
            await asyncio.sleep(0.3)  # e.g. reading the answer back from a frozen database
        return "answer"

    with pytest.raises(Unavailable) as late:
        await attempt.run(committed_then_slow())
    assert late.value.uncertain and late.value.late is not None
    assert await late.value.late == "answer"
    assert await job_exists(db, "kept")


async def test_work_done_in_time_returns_its_result(db: Database, clock: FakeClock) -> None:
    attempt = Attempt(2.0)

    async def quick() -> int:
        with attempt.action():
            await add_job(db, clock, "quick")
        return 7

    assert await attempt.run(quick()) == 7
    assert await job_exists(db, "quick")


def test_what_counts_as_an_unreachable_database() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed")
    assert unreachable(refused)
    assert unreachable(OperationalError("SELECT 1", {}, refused))
    wrapped = RuntimeError("while answering")
    wrapped.__cause__ = OperationalError("SELECT 1", {}, Exception("server closed"))
    assert unreachable(wrapped)
    assert not unreachable(ValueError("a bug"))
    assert not unreachable(IntegrityError("INSERT", {}, Exception("duplicate key")))


async def other_work(db: Database, stop: asyncio.Event) -> None:
    """Reads answered one after another until ``stop``: the database is busy, not away."""
    while not stop.is_set():
        async with db.read() as r:
            await r.session.scalar(select(Job.id).limit(1))
        await asyncio.sleep(0.02)


async def test_patient_work_waits_on_after_its_budget_while_the_database_answers_others(
    db: Database, clock: FakeClock
) -> None:
    # Work after an ack, slower than its budget because others keep the database busy:
    # the deadline moves on while other work gets answers, so it is done, not refused.
    attempt = Attempt(0.2, db, patience=2.0)
    others = asyncio.Event()

    async def slow() -> str:
        with attempt.action():
            await asyncio.sleep(0.5)  # waiting for its turn, past two budgets
            await add_job(db, clock, "patient")
        return "done"

    busy = asyncio.create_task(other_work(db, others))
    try:
        assert await attempt.run(slow()) == "done"
    finally:
        others.set()
        await busy
    assert await job_exists(db, "patient")


async def test_patience_does_not_outlast_a_database_that_answers_nothing(
    db: Database, clock: FakeClock
) -> None:
    # No other work is answered while it waits: the database may be away, so the person
    # is told at the first deadline, however much patience was allowed.
    attempt = Attempt(0.2, db, patience=5.0)

    async def stuck() -> None:
        with attempt.action():
            await asyncio.sleep(0.5)
            await add_job(db, clock, "stuck")

    started = asyncio.get_running_loop().time()
    with pytest.raises(Unavailable) as refused:
        await attempt.run(stuck())
    assert asyncio.get_running_loop().time() - started < 0.45
    assert not refused.value.busy and not refused.value.uncertain
    await asyncio.sleep(0.4)
    assert not await job_exists(db, "stuck")


async def test_patience_runs_out(db: Database, clock: FakeClock) -> None:
    attempt = Attempt(0.1, db, patience=0.2)
    others = asyncio.Event()

    async def slower() -> None:
        with attempt.action():
            await asyncio.sleep(1.0)
            await add_job(db, clock, "too-late")

    busy = asyncio.create_task(other_work(db, others))
    try:
        with pytest.raises(Unavailable) as refused:
            await attempt.run(slower())
    finally:
        others.set()
        await busy
    assert refused.value.busy and not refused.value.uncertain
    assert not await job_exists(db, "too-late")
