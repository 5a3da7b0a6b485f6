"""A nudge to every member of a big Slack workspace: paced, nothing lost, nothing doubled.

    .venv/bin/python bench/fanout.py [--rate 50] [--messages 5000] [--budget 1.0]
        [--fail-share 0.10] [--database-url postgresql://127.0.0.1/relais_fanout]

A fake Slack Web API (``tests.slack_api.FakeSlack`` on 127.0.0.1, in a process of its own
so that its clock and CPU are not the dispatcher's, as Slack's are not) limits
``chat.postMessage`` to ``--rate`` R accepted calls per second per workspace (a sliding
window of one second; a call over it is answered 429 with ``Retry-After: 1``) and fails
``--fail-share`` of all calls at random with 429, 500 or 503 (those are not accepted, so
they do not count against R; the port's budget counts every call it makes). The database
gets one workspace with ``--messages`` members and, in one transaction, a DM
(``bot.notify.dm``) to each of them: the outbox rows a nudge round writes. Then the real
``Dispatcher`` sends them through the real ``SlackPort`` (per-workspace budget
``--budget`` x R, one message per second per channel) on the real clock, and the time
until every row is sent (or dead) is compared with the floor, messages / R: what the
server's limit allows at best. The garbage collector of this process is set up as
``relais serve`` sets it.

Deliveries are counted at the fake Slack from its successful ``chat.postMessage`` calls:
a member with none is lost, every delivery after a member's first is a duplicate; both
must be 0. "429 limit" counts the calls the server's rate limit refused (the pacing should
keep that at 0); "injected" the random failures (each one is retried by the outbox).

``--database-url`` takes a PostgreSQL database that the benchmark may reset (its
``public`` schema is dropped); the default is a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import multiprocessing
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from adapters.slack.port import SlackClients, SlackPort
from bench.machine import reset_schema
from bot import notify
from bot.core import Core
from bot.i18n import translator
from bot.outbox import Dispatcher, utcnow
from bot.settings import Settings, async_database_url
from bot.ui import Actions, Button, Context, Message, Paragraph
from domain import MemberView, Platform
from relais.server import GC_THRESHOLDS
from storage.db import Database, upgrade
from storage.models import OutboxMessage
from tests.slack_api import FakeSlack

TEAM = "T1"

#: One chat.postMessage call as the fake Slack saw it.
Seen = tuple[str, bool, bool, bool, float]  # channel, ok, rate limited, injected, at


def serve_slack(conn: Connection, rate: float, fail_share: float, seed: int) -> None:
    """The child process: a rate-limited, failing FakeSlack until told to stop."""
    # The fake keeps every call and message: its garbage collector's pauses would bunch up
    # the requests that arrive meanwhile and make the limit's window see bursts that the
    # dispatcher never sent. Slack's servers do not pause like that; this one need not.
    gc.disable()

    async def main() -> None:
        async with FakeSlack(team_id=TEAM) as fake:
            fake.rate_limit("chat.postMessage", rate, scope="team")
            fake.fail_share(fail_share, statuses=(429, 500, 503), seed=seed)
            conn.send((fake.api_url, fake.token))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            seen: list[Seen] = [
                (str(c.params.get("channel")), c.ok, c.rate_limited, c.injected, c.at)
                for c in fake.calls_to("chat.postMessage")
            ]
            conn.send(seen)

    asyncio.run(main())


@contextlib.contextmanager
def slack_process(args: argparse.Namespace) -> Iterator[tuple[str, str, Connection]]:
    """(api_url, token, connection) of a FakeSlack running in a child process."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_slack, args=(child, args.rate, args.fail_share, args.seed), daemon=True
    )
    process.start()
    try:
        api_url, token = parent.recv()
        yield api_url, token, parent
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


@dataclass
class Result:
    backend: str
    rate: float
    messages: int
    seconds: float
    last_delivery: float
    lost: int
    duplicated: int
    limit_429: int
    injected: int
    calls: int
    dead: int
    workspace_holds: int
    cpu: float

    @property
    def floor(self) -> float:
        return self.messages / self.rate

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor


def nudge(name: str) -> Message:
    """The inactive-ambassador nudge, as the rounds service writes it."""
    t = translator("en")
    body = t("nudge.inactive", name=name)
    button = Button(t("button.snooze"), "relais.command", "snooze 2w")
    return Message(
        text=body, blocks=(Paragraph(body), Context(t("nudge.snooze_hint")), Actions((button,)))
    )


async def queue(core: Core, messages: int) -> None:
    """One workspace, ``messages`` members, a DM to each (the outbox rows of a round)."""
    now = utcnow()
    async with core.db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform.SLACK, TEAM, locale="en", timezone="Europe/Paris", now=now
        )
        people = []
        for i in range(messages):
            row = await r.members.get_or_create(
                ws.id, f"U{i:06d}", display_name=f"Member {i}", locale="en", timezone=None, now=now
            )
            people.append(row)
    async with core.db.transaction() as r:
        for row in people:
            person = MemberView(
                id=row.id,
                workspace_id=ws.id,
                platform=Platform.SLACK,
                external_id=row.external_id,
                display_name=row.display_name,
                locale="en",
                timezone=None,
                site_id=None,
                roles=frozenset(),
            )
            await notify.dm(r, person, nudge(person.display_name), now=now)


async def unfinished(db: Database) -> tuple[int, int]:
    """(rows neither sent nor dead, dead rows)."""
    async with db.read() as r:
        rows = await r.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        counts: dict[str, int] = {status: int(n) for status, n in rows.all()}
    dead = counts.pop("dead", 0)
    counts.pop("sent", None)
    return sum(counts.values()), dead


async def run(
    url: str, args: argparse.Namespace, media: Path, slack: tuple[str, str, Connection]
) -> Result:
    api_url, token, conn = slack
    settings = Settings(_env_file=None, database_url=url, media_dir=media)
    core = Core(settings, Database(url))
    await queue(core, args.messages)

    clients = SlackClients(api_url, bot_token=token)
    port = SlackPort(
        clients, core.relay.uploads, core.store, core.clock, workspace_rate=args.budget * args.rate
    )
    holds = 0
    hold = port.per_workspace.hold

    def counted_hold(key: str, seconds: float) -> None:
        nonlocal holds
        holds += 1
        hold(key, seconds)

    port.per_workspace.hold = counted_hold  # type: ignore[method-assign]
    dispatcher = Dispatcher(
        core.db,
        {"slack": port},
        base_delay=args.base_delay,
        max_attempts=args.max_attempts,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        lease=timedelta(minutes=10),
    )
    # The garbage collector as ``relais serve`` sets it up once started.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    stop = asyncio.Event()
    cpu0 = time.process_time()
    started = time.monotonic()
    task = asyncio.create_task(dispatcher.run_forever(stop, poll=args.poll))
    while True:
        await asyncio.sleep(0.2)
        remaining, dead = await unfinished(core.db)
        if remaining == 0:
            break
        if task.done():
            task.result()
            raise RuntimeError("the dispatcher stopped")
    seconds = time.monotonic() - started
    cpu = (time.process_time() - cpu0) / seconds
    stop.set()
    dispatcher.wake()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=30)
    await clients.close()
    await core.db.dispose()

    conn.send("stop")
    seen: list[Seen] = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    delivered = Counter(channel for channel, ok, _, _, _ in seen if ok)
    users = [f"U{i:06d}" for i in range(args.messages)]
    # CLOCK_MONOTONIC is one clock for the whole machine: the child's times compare.
    last = max((at for _, ok, _, _, at in seen if ok), default=started) - started
    return Result(
        backend=core.db.dialect,
        rate=args.rate,
        messages=args.messages,
        seconds=seconds,
        last_delivery=last,
        lost=sum(1 for u in users if delivered[u] == 0),
        duplicated=sum(n - 1 for n in delivered.values() if n > 1),
        limit_429=sum(1 for s in seen if s[2]),
        injected=sum(1 for s in seen if s[3]),
        calls=len(seen),
        dead=dead,
        workspace_holds=holds,
        cpu=cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0, help="the server's limit R, per s")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument(
        "--budget", type=float, default=1.0, help="SlackPort's workspace budget, as a share of R"
    )
    parser.add_argument("--fail-share", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--base-delay", type=float, default=0.2)
    parser.add_argument("--max-attempts", type=int, default=20)
    parser.add_argument("--poll", type=float, default=1.0, help="the dispatcher's idle poll, s")
    parser.add_argument("--database-url", help="PostgreSQL database the benchmark may reset")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # One connection per Web API call (slack_sdk without a session): keep enough descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            url = async_database_url(args.database_url)
            asyncio.run(reset_schema(url))
        else:
            url = f"sqlite+aiosqlite:///{tmp}/fanout.db"
        upgrade(url)
        with slack_process(args) as slack:
            result = asyncio.run(run(url, args, Path(tmp) / "media", slack))

    columns: list[tuple[str, str, Any]] = [
        ("backend", "<10", result.backend),
        ("R/s", ">5", f"{result.rate:g}"),
        ("budget/s", ">8", f"{args.budget * result.rate:g}"),
        ("messages", ">8", result.messages),
        ("seconds", ">8", f"{result.seconds:.1f}"),
        ("floor s", ">7", f"{result.floor:.1f}"),
        ("ratio", ">5", f"{result.ratio:.3f}"),
        ("lost", ">4", result.lost),
        ("duplicated", ">10", result.duplicated),
        ("429 limit", ">9", result.limit_429),
        ("injected", ">8", result.injected),
        ("calls", ">5", result.calls),
        ("dead", ">4", result.dead),
        ("ws holds", ">8", result.workspace_holds),
        ("last sent s", ">11", f"{result.last_delivery:.1f}"),
        ("CPU", ">4", f"{result.cpu:.0%}"),  # this process: the dispatcher and its database
    ]
    print("  ".join(f"{name:{fmt}}" for name, fmt, _ in columns))
    print("  ".join(f"{value!s:{fmt}}" for _, fmt, value in columns))


if __name__ == "__main__":
    main()
