"""How fast the outbox dispatcher drains, on SQLite and (if given) PostgreSQL.

    .venv/bin/python bench/outbox_dispatch.py [--rows 2000] [--pg postgresql://...]
        [--latency-ms 20]

Queues N posts, then times a Dispatcher draining them through a port that only counts.
The baseline is the same port called N times directly, in the same process, so the
ratio is the cost the outbox adds per message (claim, lease, mark sent). ``txns`` is how
many transactions the dispatcher opened (claims, marks): unlike the times, it does not
depend on how busy the machine is. ``--latency-ms`` makes each send take that long, like
a platform's answer, so sends return at different moments as they do in production.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bot.outbox import Dispatcher, utcnow
from bot.ports import Target
from bot.settings import async_database_url
from bot.ui import Message, Paragraph
from domain import Platform
from storage.db import Database, upgrade
from storage.models import Base


class CountingPort:
    platform = "console"

    def __init__(self, latency: float = 0.0) -> None:
        self.sent = 0
        self.latency = latency

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, int]:
        if self.latency:
            await asyncio.sleep(self.latency)
        self.sent += 1
        return {"n": self.sent}

    async def update(self, workspace: str, ref: dict[str, int], message: Message) -> None:
        self.sent += 1


async def run(url: str, rows: int, latency: float) -> tuple[float, float, int]:
    db = Database(url)
    if db.dialect == "postgresql":
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    message = Message("hello", (Paragraph("hello"),))
    async with db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform.CONSOLE, "bench", locale="en", timezone="UTC", now=utcnow()
        )
        for i in range(rows):
            await r.outbox.add(
                workspace_id=ws.id,
                platform="console",
                kind="post",
                target=Target("user", f"U{i}").to_json(),
                payload=message.to_json(),
                now=utcnow(),
            )
    port = CountingPort(latency)
    transactions = 0
    opened = db.transaction

    def counted():  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return opened()

    db.transaction = counted  # type: ignore[method-assign]
    dispatcher = Dispatcher(db, {"console": port}, batch_size=100)
    start = time.perf_counter()
    await dispatcher.drain(max_batches=rows)
    outbox_s = time.perf_counter() - start
    assert port.sent == rows, (port.sent, rows)
    baseline = CountingPort(latency)
    start = time.perf_counter()
    if latency:  # as many sends at once as the dispatcher (8)
        limit = asyncio.Semaphore(8)

        async def send(i: int) -> None:
            async with limit:
                target = Target("user", f"U{i}")
                await baseline.post("bench", target, Message.from_json(message.to_json()))

        await asyncio.gather(*(send(i) for i in range(rows)))
    else:
        for i in range(rows):
            target = Target("user", f"U{i}")
            await baseline.post("bench", target, Message.from_json(message.to_json()))
    baseline_s = time.perf_counter() - start
    await db.dispose()
    return outbox_s, baseline_s, transactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--pg", help="PostgreSQL URL of a database the benchmark may reset")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="time each send takes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.db"}
        if args.pg:
            urls["postgresql"] = async_database_url(args.pg)
        print(
            f"{'backend':<11} {'rows':>6} {'outbox s':>9} {'msgs/s':>8} {'baseline s':>10} "
            f"{'overhead/msg':>13} {'txns':>6}"
        )
        for name, url in urls.items():
            upgrade(url)
            outbox_s, baseline_s, txns = asyncio.run(run(url, args.rows, args.latency_ms / 1000))
            per_msg_ms = (outbox_s - baseline_s) / args.rows * 1000
            print(
                f"{name:<11} {args.rows:>6} {outbox_s:>9.3f} {args.rows / outbox_s:>8.0f} "
                f"{baseline_s:>10.4f} {per_msg_ms:>10.3f} ms {txns:>6}"
            )


if __name__ == "__main__":
    main()
