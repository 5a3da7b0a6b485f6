"""Two dispatcher processes on one database never send a row twice, and each workspace's
rows go out through the one process that holds its send lease."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from bot.outbox import utcnow
from bot.ports import Target
from bot.ui import Message
from domain import Platform
from storage.db import Database
from tests.support import FakeClock

ROOT = Path(__file__).resolve().parent.parent
WORKER = """
import asyncio, os, sys
from bot.outbox import Dispatcher
from storage.db import Database

class FilePort:
    platform = "console"
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    async def post(self, workspace, target, message):
        await asyncio.sleep(0.005)
        os.write(self.fd, f"{message.text} {sys.argv[3]} {workspace}\\n".encode())
        return {"ok": True}
    async def update(self, workspace, ref, message):
        raise AssertionError("no updates here")

async def main():
    db = Database(sys.argv[1])
    # share_after: a process busy with one workspace leaves the other to the other process.
    d = Dispatcher(
        db, {"console": FilePort(sys.argv[2])}, worker_id=sys.argv[3], batch_size=5,
        share_after=60,
    )
    # Start together: each counts itself among the running dispatchers, announces itself
    # and waits for the other, so both take part (each takes its share: one workspace).
    await d.register()
    ready = sys.argv[2] + "." + sys.argv[3]
    open(ready, "w").close()
    while len([p for p in os.listdir(os.path.dirname(ready)) if ".proc" in p]) < 2:
        await asyncio.sleep(0.01)
    idle = 0
    while idle < 3:
        idle = idle + 1 if await d.run_once() == 0 else 0
    await db.dispose()

asyncio.run(main())
"""


async def test_two_processes_share_the_outbox(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    # The processes run on the real clock: the rows are due now on it.
    now = utcnow()
    async with db.transaction() as r:
        spaces = [
            await r.workspaces.get_or_create(
                Platform.CONSOLE, team, locale="en", timezone="UTC", now=now
            )
            for team in ("T1", "T2")
        ]
        for i in range(200):
            await r.outbox.add(
                workspace_id=spaces[i % 2].id,
                platform="console",
                kind="post",
                target=Target("user", "U").to_json(),
                payload=Message(f"m{i}").to_json(),
                now=now,
            )
    sent = tmp_path / "sent.txt"
    root = ROOT
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            db.url,
            str(sent),
            f"proc{n}",
            cwd=root,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    for proc in procs:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()
    lines = sent.read_text().splitlines()
    messages = [line.split()[0] for line in lines]
    assert sorted(messages) == sorted(f"m{i}" for i in range(200)), "each row exactly once"
    workers = {line.split()[1] for line in lines}
    assert workers == {"proc0", "proc1"}, "both processes took part"
    senders = {(line.split()[2], line.split()[1]) for line in lines}
    assert len(senders) == 2, f"one sender per workspace (its send lease): {sorted(senders)}"
    async with db.transaction() as r:
        assert await r.outbox.counts() == {"sent": 200}
