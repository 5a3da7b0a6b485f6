"""A database outage in the middle of sending: what Slack accepted while the database was
down is recorded once it is back, and sent once.

Runs a PostgreSQL cluster of its own (``initdb`` on a free port, in the test's temporary
directory), never the shared one; skipped when the PostgreSQL server binaries are absent.
The dispatcher's lease is shortened so the outage outlasts it, the case where a second
send used to follow: the whole claimed batch was re-sent once its record failed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.port import SlackClients, SlackPort
from bot.outbox import Dispatcher, utcnow
from bot.ports import Target
from bot.services.relay import Uploads
from bot.ui import Message, Paragraph
from domain import Platform
from storage.db import Database, upgrade
from storage.media_store import LocalMediaStore
from tests.pg_cluster import Cluster, postgres_bin
from tests.slack_api import FakeSlack

pytestmark = pytest.mark.timeout_sensitive


PG_BIN = postgres_bin()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser")
    cluster = Cluster(PG_BIN)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


class HeldPost:
    """Holds chat.postMessage of the text ``held`` open until ``release`` (then posts it)."""

    def __init__(self, fake: FakeSlack, held: str) -> None:
        self.post = fake._builtin["chat.postMessage"]
        self.held = held
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if params.get("text") == self.held:
            self.arrived.set()
            await self.release.wait()
        return self.post(params, token)  # type: ignore[return-value]


async def test_what_slack_accepted_during_a_database_outage_is_sent_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    url = cluster.url("postgres")
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with FakeSlack() as fake:
        held = HeldPost(fake, "hello 2")
        fake.set_handler("chat.postMessage", held)
        async with db.transaction() as r:
            ws = await r.workspaces.get_or_create(
                Platform.SLACK, fake.team_id, locale="en", timezone="UTC", now=utcnow()
            )
            for i in range(5):
                text = f"hello {i}"
                await r.outbox.add(
                    workspace_id=ws.id,
                    platform="slack",
                    kind="post",
                    target=Target("user", f"U{i}").to_json(),
                    payload=Message(text, (Paragraph(text),)).to_json(),
                    now=utcnow(),
                )
        port = SlackPort(
            SlackClients(fake.api_url, bot_token=fake.token),
            Uploads(db, utcnow),
            LocalMediaStore(tmp_path / "media"),
            utcnow,
        )
        # The outage below lasts longer than this lease.
        dispatcher = Dispatcher(
            db, {"slack": port}, lease=timedelta(seconds=2), heartbeat=0.5, worker_id="d1"
        )
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run_forever(stop, poll=0.2))
        try:
            await asyncio.wait_for(held.arrived.wait(), timeout=10)

            async def recorded() -> bool:
                async with db.read() as r:
                    return (await r.outbox.counts()).get("sent") == 4

            await fake.wait_for(recorded, timeout=10)
            await asyncio.to_thread(cluster.stop)
            held.release.set()  # Slack posts it while the database is down
            await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 5)
            await asyncio.sleep(4)  # two leases
            await asyncio.to_thread(cluster.start)

            async def all_sent() -> bool:
                try:
                    async with db.read() as r:
                        return await r.outbox.counts() == {"sent": 5}
                except Exception:
                    return False

            await fake.wait_for(all_sent, timeout=20)
            await asyncio.sleep(1.5)  # a second send would show up by now
        finally:
            held.release.set()
            stop.set()
            dispatcher.wake()
            await asyncio.wait_for(running, timeout=15)
            await port.clients.close()
            await db.dispose()
        delivered = Counter(c.params["text"] for c in fake.calls_to("chat.postMessage") if c.ok)
        assert delivered == Counter(f"hello {i}" for i in range(5)), "each message once"
