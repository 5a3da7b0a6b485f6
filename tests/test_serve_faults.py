"""Slack failing a fifth of its calls at random (429 with Retry-After, 500) under a real
``relais serve`` process, on SQLite and PostgreSQL: every review card, receipt, card
update and decision DM arrives exactly once, no message becomes a dead letter, and each
photo is uploaded once (the retries do not redo the steps that succeeded).

The forms are opened before the faults start (a ``views.open`` that fails is told to the
person at once and is not retried: the trigger has expired); everything after the
submissions (photo downloads, uploads, cards, receipts, approvals and their messages)
runs through the faults.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database
from tests.serve_support import CMS, RemoteRig, Serve
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, buttons
from tests.support import jpeg_bytes

pytestmark = pytest.mark.timeout_sensitive

AMBASSADORS = [f"UAMB{i}" for i in range(8)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user in AMBASSADORS + CMS:
            slack.add_user(user, name=user.lower(), real_name=user, locale="en-US")
        yield slack


def ok_calls(fake: FakeSlack, method: str) -> list[Any]:
    return [c for c in fake.calls_to(method) if c.ok]


def cards(fake: FakeSlack) -> list[Any]:
    return [c for c in ok_calls(fake, "chat.postMessage") if c.params["channel"] == REVIEW]


def dms(fake: FakeSlack) -> Counter[str]:
    """Messages posted to each ambassador's DM (receipts and decisions)."""
    return Counter(
        str(c.params["channel"])
        for c in ok_calls(fake, "chat.postMessage")
        if c.params["channel"] in AMBASSADORS
    )


async def test_a_fifth_of_slack_calls_failing_loses_nothing_and_doubles_nothing(
    fake: FakeSlack, db_url: str, tmp_path: Path
) -> None:
    serve = Serve(fake, db_url, tmp_path)
    db = Database(db_url)
    await serve.start()
    rig = RemoteRig(fake, serve.base_url)
    try:
        forms = []
        for n, user in enumerate(AMBASSADORS):
            opened = len(fake.calls_to("views.open"))
            assert (await rig.command(user, "/relais", "join")).status_code == 200
            charter = await rig.opened_view(opened + 1)
            joined = (await rig.submit(user, charter, {"site": "Lyon"})).json()
            assert joined["response_action"] == "update", joined
            assert (await rig.command(user, "/submit", f"caption {n}")).status_code == 200
            forms.append(await rig.opened_view(opened + 2))

        fake.fail_share(0.2, statuses=(429, 500), seed=11, retry_after=1)
        for n, (user, form) in enumerate(zip(AMBASSADORS, forms, strict=True)):
            photo = fake.add_file(f"F{n}", jpeg_bytes((30 * n, 80, 160)), user=user)
            sent = await rig.submit(
                user, form, {"appears": "nobody", "photos": [photo]}, view_id=f"V{n}"
            )
            assert sent.status_code == 200
            assert sent.json()["response_action"] == "update", sent.json()

        await fake.wait_for(lambda: len(cards(fake)) >= len(AMBASSADORS), timeout=90)
        for n, call in enumerate(cards(fake)):
            approve = buttons(call.params["blocks"])["review.approve"]
            clicked = await rig.click(CMS[n % 2], approve, message_ts=call.response["ts"])
            assert clicked.status_code == 200

        def done() -> bool:
            updates = {c.params["ts"] for c in ok_calls(fake, "chat.update")}
            return len(updates) >= len(AMBASSADORS) and sum(dms(fake).values()) >= 3 * len(
                AMBASSADORS
            )

        await fake.wait_for(done, timeout=120)
        injected = sum(1 for c in fake.calls if c.injected)
        fake.fail_share(0)
        await fake.wait_for(
            lambda: len(ok_calls(fake, "chat.postEphemeral")) >= len(AMBASSADORS), timeout=60
        )

        assert injected >= 10, f"only {injected} faults were injected: the test tests nothing"
        assert len(cards(fake)) == len(AMBASSADORS), "each review card once"
        assert dms(fake) == dict.fromkeys(AMBASSADORS, 3), (
            "a receipt, a decision and a first badge each"
        )
        updates = Counter(c.params["ts"] for c in ok_calls(fake, "chat.update"))
        assert len(updates) == len(AMBASSADORS) and set(updates.values()) == {1}
        # Each photo uploaded once: a retry does not redo the steps that succeeded.
        assert len(fake.completed_uploads) == len(AMBASSADORS)

        # The last send's row is marked sent just after Slack answered it: wait for that.
        async def counts() -> dict[str, int]:
            async with db.read() as r:
                return await r.outbox.counts()

        async def all_sent() -> bool:
            return set(await counts()) == {"sent"}

        await fake.wait_for(all_sent, timeout=15)
        assert "Traceback" not in serve.log_text()
    except AssertionError:
        print(serve.output())
        raise
    finally:
        await rig.close()
        await serve.stop()
        await db.dispose()
