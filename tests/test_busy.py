"""A burst beyond what one process works on at once (``WORK_LIMIT``) while the database
answers: whoever cannot be served in time is told Relais is *busy* and to try again in a
few seconds, in their language, never that the database cannot be reached.

The database is fine throughout; Slack is slow to answer ``users.info`` (the first visit
of each person), so the turns are held and the burst queues behind them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.deadline import Attempt, Unavailable, work_after_answers_ended
from adapters.slack.listeners import WORK_LIMIT
from bot.core import Core
from bot.settings import Settings
from storage.db import Database
from storage.models import Job
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, slack_settings, texts
from tests.support import FakeClock

pytestmark = pytest.mark.timeout_sensitive

PROFILE_DELAY = 0.8  # Slack's users.info answer, for each newcomer
BUSY = {"en": "relais is busy right now", "fr": "relais est très sollicité"}
AGAIN = {"en": "try again in a few seconds", "fr": "réessayez dans quelques secondes"}
OUTAGE = ("cannot reach its database", "n’arrive pas à joindre sa base")
HELP = {"en": "/relais join", "fr": "/relais join"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def said(body: dict[str, Any]) -> str:
    return (str(body.get("text") or "") + "\n" + texts(body.get("blocks") or [])).lower()


async def test_a_burst_beyond_the_work_limit_is_told_busy_not_outage(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> None:
    people = {f"UNEW{i:02d}": ("fr-FR" if i % 2 else "en-US") for i in range(WORK_LIMIT * 4)}
    for user, locale in people.items():
        fake.add_user(user, name=user.lower(), locale=locale)
    profile = fake._builtin["users.info"]

    async def slow_profile(params: dict[str, Any], token: str | None) -> Any:
        await asyncio.sleep(PROFILE_DELAY)
        return profile(params, token)

    fake.set_handler("users.info", slow_profile)
    core = Core(slack_settings(settings, fake, relais_locale="en"), db, clock=clock)
    async with SlackRig(core, fake, clock) as rig:

        async def help_(user: str) -> tuple[float, int, dict[str, Any]]:
            started = time.monotonic()
            response = await rig.command(user, "/relais", "help")
            raw = await response.read()
            return time.monotonic() - started, response.status, json.loads(raw or b"{}")

        answers = await asyncio.gather(*(help_(user) for user in people))
        busy = 0
        for (elapsed, status, body), (user, locale) in zip(answers, people.items(), strict=True):
            assert status == 200 and elapsed < 3.0, (user, elapsed, status)
            text = said(body)
            assert not any(o in text for o in OUTAGE), (user, text)
            lang = locale[:2]
            # A newcomer's language is known once users.info answered; one whose turn never
            # came is told in the workspace's (English here).
            told = lang if BUSY[lang] in text else "en" if BUSY["en"] in text else None
            if told is not None:
                assert AGAIN[told] in text, text
                busy += 1
            else:
                assert HELP[lang] in text, (user, text)
        print(f"{busy} of {len(people)} told busy")
        assert 0 < busy < len(people)


async def test_a_timeout_while_the_database_answered_others_is_busy(
    db: Database, clock: FakeClock
) -> None:
    """``Attempt``: no answer in time is an outage unless the database answered other
    work meanwhile."""
    never = asyncio.Event()
    with pytest.raises(Unavailable) as alone:
        await Attempt(0.2, db).run(never.wait())
    assert not alone.value.busy and alone.value.notice == "outage.try_again"

    async def others() -> None:
        async with db.transaction() as r:
            await r.jobs.add(kind="test", key="other", payload={}, now=clock())

    async def reads_then_hangs() -> None:
        async with db.read() as r:
            await r.session.get(Job, 1)
        await never.wait()

    # Its own answers do not make the database busy (frozen after the first read).
    with pytest.raises(Unavailable) as own:
        await Attempt(0.3, db).run(reads_then_hangs())
    assert not own.value.busy

    attempt = Attempt(0.3, db)
    await others()
    with pytest.raises(Unavailable) as shared:
        await attempt.run(never.wait())
    assert shared.value.busy
    assert (shared.value.notice, shared.value.form_notice) == (
        "busy.try_again",
        "busy.form_not_sent",
    )
    async with db.read() as r:
        assert await r.session.get(Job, 1) is not None


async def test_submit_while_a_long_write_holds_the_database_is_told_busy(
    settings: Settings, db: Database, db_url: str, clock: FakeClock, fake: FakeSlack
) -> None:
    """A newcomer's ``/submit`` must write (who they are) while another transaction holds
    the write lock for longer than the request's budget; reads go on meanwhile. The person
    is told, through the response URL, that Relais is busy."""
    fake.add_user("UKNOWN", name="kim", locale="en-US")
    fake.add_user("UNEW", name="nils", locale="fr-FR")
    core = Core(slack_settings(settings, fake, relais_locale="en"), db, clock=clock)
    async with SlackRig(core, fake, clock) as rig:
        assert (await rig.command("UKNOWN", "/relais", "me")).status == 200
        writer = Database(db_url)
        locked, release = asyncio.Event(), asyncio.Event()

        async def long_write() -> None:
            async with writer.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE
                if writer.dialect == "postgresql":
                    await conn.exec_driver_sql("LOCK TABLE members IN EXCLUSIVE MODE")
                locked.set()
                await release.wait()

        holding = asyncio.create_task(long_write())
        try:
            await asyncio.wait_for(locked.wait(), 5)
            started = time.monotonic()
            submitted = await rig.command("UNEW", "/submit", "")
            assert submitted.status == 200 and time.monotonic() - started < 3.0
            # Others are served meanwhile (reads need no write lock).
            while time.monotonic() - started < 2.4:
                me = json.loads(await (await rig.command("UKNOWN", "/relais", "me")).read())
                assert "busy" not in said(me), me
                await asyncio.sleep(0.2)
            [told] = await fake.wait_responses(1, timeout=3)
        finally:
            release.set()
            await holding
            await writer.dispose()
        text = said(told)
        assert BUSY["en"] in text and AGAIN["en"] in text, text  # not known yet: workspace's
        assert not any(o in text for o in OUTAGE), text
        # Once the write is over, the same command opens the form.
        opened = len(fake.calls_to("views.open"))
        assert (await rig.command("UNEW", "/submit", "")).status == 200
        await fake.wait_for(lambda: len(fake.calls_to("views.open")) > opened, timeout=5)
        # The first /submit's work, abandoned at its deadline, ends before the rig closes
        # the database: closing a connection under it can wait forever (aiosqlite).
        assert await work_after_answers_ended(10.0) == 0, "abandoned request work still running"
