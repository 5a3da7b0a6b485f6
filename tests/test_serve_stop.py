"""SIGTERM to a real ``relais serve`` while work is in flight stops it cleanly.

Three ambassadors send a photo each; Slack stalls the three downloads half-way, so the
photo jobs are running (acked, after-ack work) when the process is told to stop. A
command sent in the same instant is answered. The process exits 0 within a bounded time
and says it stopped; nothing it accepted is lost: the next start finishes every photo
job, and each submission has one review card and one receipt.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from relais.server import DRAIN_TIMEOUT, STOP_WITHIN
from storage.db import Database
from storage.models import Job, Submission
from tests.serve_support import CMS, RemoteRig, Serve
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW
from tests.support import jpeg_bytes

pytestmark = pytest.mark.timeout_sensitive

AMBASSADORS = ["UAMB0", "UAMB1", "UAMB2"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user in AMBASSADORS + CMS:
            slack.add_user(user, name=user.lower(), real_name=user, locale="en-US")
        yield slack


def cards(fake: FakeSlack) -> list[str]:
    return [
        str(c.params["text"])
        for c in fake.calls_to("chat.postMessage")
        if c.ok and c.params["channel"] == REVIEW
    ]


async def test_sigterm_with_jobs_in_flight_exits_0_and_loses_nothing(
    fake: FakeSlack, db_url: str, tmp_path: Path
) -> None:
    serve = Serve(fake, db_url, tmp_path)
    db = Database(db_url)
    rig = RemoteRig(fake, serve.base_url)
    try:
        await serve.start()
        for user in AMBASSADORS:
            opened = len(fake.calls_to("views.open"))
            assert (await rig.command(user, "/relais", "join")).status_code == 200
            charter = await rig.opened_view(opened + 1)
            joined = (await rig.submit(user, charter, {"site": "Lyon"})).json()
            assert joined["response_action"] == "update", joined
        gate = fake.stall_downloads()
        for n, user in enumerate(AMBASSADORS):
            opened = len(fake.calls_to("views.open"))
            assert (await rig.command(user, "/submit", f"stop {n}")).status_code == 200
            form = await rig.opened_view(opened + 1)
            photo = fake.add_file(f"F{n}", jpeg_bytes((60 * n, 90, 150)), user=user)
            sent = (
                await rig.submit(
                    user, form, {"appears": "nobody", "photos": [photo]}, view_id=f"V{n}"
                )
            ).json()
            assert sent["response_action"] == "update", sent
        await fake.wait_for(lambda: len(fake.stalled_downloads) == len(AMBASSADORS), timeout=15)

        # A request arriving as the signal does is still answered.
        assert serve.proc is not None
        help_ = asyncio.create_task(rig.command("UCM1", "/relais", "help"))
        await asyncio.sleep(0.01)
        serve.proc.send_signal(signal.SIGTERM)
        told_at = time.monotonic()
        assert (await help_).status_code == 200
        code = await asyncio.wait_for(serve.proc.wait(), timeout=STOP_WITHIN + 5)
        took = time.monotonic() - told_at
        print(f"SIGTERM to exit: {took:.1f}s")
        assert code == 0, serve.output()
        assert took <= STOP_WITHIN, f"stopping took {took:.1f}s"
        log = serve.log_text()
        assert "Traceback" not in log, log
        assert "relais serve stopped" in log, log
        gave_back = f"after {DRAIN_TIMEOUT} s was cancelled; {len(AMBASSADORS)} row(s) given back"
        assert f"job runner: work still running {gave_back}" in log, log
        # The stalled jobs were given back: none was done, none is left claimed.
        async with db.read() as r:
            assert list(await r.session.scalars(select(Submission.id))) == []
            jobs = list(await r.session.execute(select(Job.status, Job.claimed_by)))
        assert [status for status, _ in jobs] == ["pending"] * len(AMBASSADORS), jobs
        assert all(by is None for _, by in jobs), jobs

        gate.set()
        restarted = time.monotonic()
        await serve.start()
        await fake.wait_for(lambda: len(cards(fake)) == len(AMBASSADORS), timeout=20)
        print(f"cards after the restart: {time.monotonic() - restarted:.1f}s")
        await fake.wait_for(
            lambda: all(
                any(c.ok and c.params["channel"] == u for c in fake.calls_to("chat.postMessage"))
                for u in AMBASSADORS
            ),
            timeout=10,
        )
        await asyncio.sleep(1.5)  # anything done twice would show up by now
        posted = Counter(
            (str(c.params["channel"]), str(c.params["text"]))
            for c in fake.calls_to("chat.postMessage")
            if c.ok
        )
        assert [m for m, n in posted.items() if n > 1] == [], "nothing sent twice"
        assert len(cards(fake)) == len(AMBASSADORS)
        for user in AMBASSADORS:
            assert sum(n for (channel, _), n in posted.items() if channel == user) == 1
        assert len(fake.completed_uploads) == len(AMBASSADORS)
        async with db.read() as r:
            captions = sorted(await r.session.scalars(select(Submission.caption)))
            statuses = list(await r.session.scalars(select(Job.status)))
            counts = await r.outbox.counts()
        assert captions == [f"stop {n}" for n in range(len(AMBASSADORS))]
        assert statuses == ["done"] * len(AMBASSADORS)
        assert set(counts) == {"sent"}, counts
    except AssertionError:
        print(serve.output())
        raise
    finally:
        await rig.close()
        await serve.stop()
        await db.dispose()
