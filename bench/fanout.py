"""A nudge to every member of a big Slack workspace: paced, nothing lost, nothing doubled.

    .venv/bin/python bench/fanout.py [--rate 50] [--messages 5000] [--budget 1.0]
        [--fail-share 0.10] [--database-url postgresql://127.0.0.1/relais_fanout]
        [--processes 3] [--workspaces 3] [--calls calls.tsv]

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

``--processes N`` runs N dispatcher processes (replicas), each with its own engine and
``SlackPort`` at the full budget, against the one database and the one fake Slack: the
send lease per workspace keeps their sum within R (without it, N replicas send N x R).
``--workspaces K`` spreads the members over K workspaces (the fake limits each to R; the
floor is then messages / K / R), so that the replicas have workspaces to share out. The
load average of the machine (shared, 2 CPUs) is printed before and after the run.
``--calls FILE`` writes every call the fake saw (time, team, replica, channel, outcome):
where the refusals fall, and which replica sent before and after them.

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
import os
import random
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
from bench.machine import process_cpu, reset_schema
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
from tests.slack_api import FakeSlack, ReplicaInstallations

TEAM = "T1"

#: One chat.postMessage call as the fake Slack saw it.
Seen = tuple[str, bool, bool, bool, float, str]  # channel, ok, rate limited, injected, at, token


def teams(count: int) -> list[str]:
    """The workspaces' team ids: T1 (the fake's own) and more with ``--workspaces``."""
    return [TEAM] + [f"T{i}" for i in range(2, count + 1)]


def serve_slack(
    conn: Connection, rate: float, fail_share: float, seed: int, workspaces: int, processes: int
) -> None:
    """The child process: a rate-limited, failing FakeSlack until told to stop."""
    # The fake keeps every call and message: its garbage collector's pauses would bunch up
    # the requests that arrive meanwhile and make the limit's window see bursts that the
    # dispatcher never sent. Slack's servers do not pause like that; this one need not.
    gc.disable()

    async def main() -> None:
        async with FakeSlack(team_id=TEAM) as fake:
            fake.rate_limit("chat.postMessage", rate, scope="team")
            fake.fail_share(fail_share, statuses=(429, 500, 503), seed=seed)
            # A token per workspace and replica: the calls tell who sent what.
            tokens = {team: f"xoxb-bench-{team}" for team in teams(workspaces)}
            for team, token in tokens.items():
                for n in range(processes):
                    fake.add_token(f"{token}-r{n}", team)
            conn.send((fake.api_url, tokens))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            seen: list[Seen] = [
                (
                    str(c.params.get("channel")),
                    c.ok,
                    c.rate_limited,
                    c.injected,
                    c.at,
                    c.token or "",
                )
                for c in fake.calls_to("chat.postMessage")
            ]
            conn.send(seen)

    asyncio.run(main())


@contextlib.contextmanager
def slack_process(
    args: argparse.Namespace,
) -> Iterator[tuple[str, dict[str, str], Connection]]:
    """(api_url, bot token per team, connection) of a FakeSlack in a child process."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_slack,
        args=(child, args.rate, args.fail_share, args.seed, args.workspaces, args.processes),
        daemon=True,
    )
    process.start()
    try:
        api_url, tokens = parent.recv()
        yield api_url, tokens, parent
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
    workspaces: int = 1
    processes: int = 1
    # The most replicas that sent one workspace's messages (1: the lease held), and how
    # many replicas sent anything.
    senders: int = 1
    replicas_used: int = 1

    @property
    def floor(self) -> float:
        return self.messages / self.workspaces / self.rate

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


async def queue(core: Core, messages: int, workspaces: int) -> None:
    """``workspaces`` workspaces, ``messages`` members spread over them, a DM to each (the
    outbox rows of a round)."""
    now = utcnow()
    async with core.db.transaction() as r:
        spaces = [
            await r.workspaces.get_or_create(
                Platform.SLACK, team, locale="en", timezone="Europe/Paris", now=now
            )
            for team in teams(workspaces)
        ]
        people = []
        for i in range(messages):
            ws = spaces[i % workspaces]
            row = await r.members.get_or_create(
                ws.id, f"U{i:06d}", display_name=f"Member {i}", locale="en", timezone=None, now=now
            )
            people.append((ws, row))
    async with core.db.transaction() as r:
        for ws, row in people:
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


@dataclass
class Sender:
    """One dispatcher with its own engine and SlackPort (one replica's)."""

    core: Core
    clients: SlackClients
    dispatcher: Dispatcher
    holds: int = 0

    async def finish(self, stop: asyncio.Event, task: asyncio.Task[None]) -> None:
        """Stop the dispatcher's ``run_forever`` ``task`` (its sends in hand finished),
        then close the Slack clients and the engine."""
        stop.set()
        self.dispatcher.wake()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)
        await self.clients.close()
        await self.core.db.dispose()


def sender(
    url: str,
    args: argparse.Namespace,
    media: Path,
    api_url: str,
    tokens: dict[str, str],
    replica: int = 0,
) -> Sender:
    settings = Settings(_env_file=None, database_url=url, media_dir=media)
    core = Core(settings, Database(url))
    clients = SlackClients(api_url, installation_store=ReplicaInstallations(tokens, f"r{replica}"))
    port = SlackPort(
        clients, core.relay.uploads, core.store, core.clock, workspace_rate=args.budget * args.rate
    )
    dispatcher = Dispatcher(
        core.db,
        {"slack": port},
        base_delay=args.base_delay,
        max_attempts=args.max_attempts,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        lease=timedelta(minutes=10),
        # Which free workspace a replica tries first (seeded: a run can be repeated).
        rng=random.Random(args.seed * 1000 + replica),
    )
    made = Sender(core, clients, dispatcher)
    hold = port.per_workspace.hold

    def counted_hold(key: str, seconds: float) -> None:
        made.holds += 1
        hold(key, seconds)

    port.per_workspace.hold = counted_hold  # type: ignore[method-assign]
    return made


def serve_gc() -> None:
    """The garbage collector as ``relais serve`` sets it up once started."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def replica(
    conn: Connection,
    url: str,
    args: argparse.Namespace,
    media: Path,
    api_url: str,
    tokens: dict[str, str],
    number: int,
) -> None:
    """A dispatcher process (``--processes``): sends until told to stop, then reports its
    workspace holds."""
    logging.basicConfig(level=logging.ERROR)

    async def main() -> None:
        made = sender(url, args, media, api_url, tokens, number)
        serve_gc()
        stop = asyncio.Event()
        # Counted among the running dispatchers before "ready" (``run_forever`` registers
        # again, harmlessly): released together, each takes its share from its first claim.
        await made.dispatcher.register()
        conn.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "go"
        task = asyncio.create_task(made.dispatcher.run_forever(stop, poll=args.poll))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        await made.finish(stop, task)
        conn.send(made.holds)

    asyncio.run(main())


def sent_by(token: str) -> tuple[str, str]:
    """(team, replica) of the token a call was made with (``xoxb-bench-<team>-r<n>``);
    empty strings for a token of another form."""
    team, replica_name = [*token.split("-")[2:4], "", ""][:2]
    return team, replica_name


def write_calls(path: Path, seen: list[Seen], started: float) -> None:
    """Every chat.postMessage call as the fake saw it, in arrival order: seconds since the
    start, team, replica, channel, and what became of it (ok, 429 limit, injected)."""
    with path.open("w") as out:
        out.write("at\tteam\treplica\tchannel\toutcome\n")
        for channel, ok, limited, injected, at, token in sorted(seen, key=lambda c: c[4]):
            team, replica_name = sent_by(token)
            outcome = "ok" if ok else "limit" if limited else "injected" if injected else "error"
            out.write(f"{at - started:.4f}\t{team}\t{replica_name}\t{channel}\t{outcome}\n")


async def run(
    url: str, args: argparse.Namespace, media: Path, slack: tuple[str, dict[str, str], Connection]
) -> Result:
    api_url, tokens, conn = slack
    settings = Settings(_env_file=None, database_url=url, media_dir=media)
    core = Core(settings, Database(url))
    await queue(core, args.messages, args.workspaces)
    loop = asyncio.get_running_loop()

    holds = 0
    children: list[tuple[Any, Connection]] = []
    local: Sender | None = None
    task: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    if args.processes == 1:
        local = sender(url, args, media, api_url, tokens)
        serve_gc()
        started = time.monotonic()
        cpu0 = time.process_time()
        task = asyncio.create_task(local.dispatcher.run_forever(stop, poll=args.poll))
    else:
        spawn = multiprocessing.get_context("spawn")
        for number in range(args.processes):
            parent, child = spawn.Pipe()
            process = spawn.Process(
                target=replica,
                args=(child, url, args, media, api_url, tokens, number),
                daemon=True,
            )
            process.start()
            children.append((process, parent))
        for _, parent in children:  # every replica set up, then all start together
            await loop.run_in_executor(None, parent.recv)
        started = time.monotonic()
        cpu0 = sum(process_cpu(p.pid) for p, _ in children)
        for _, parent in children:
            parent.send("go")
    while True:
        await asyncio.sleep(0.2)
        remaining, dead = await unfinished(core.db)
        if remaining == 0:
            break
        if task is not None and task.done():
            task.result()
            raise RuntimeError("the dispatcher stopped")
        if any(not p.is_alive() for p, _ in children):
            raise RuntimeError("a dispatcher process stopped")
    seconds = time.monotonic() - started
    if local is not None and task is not None:
        cpu = (time.process_time() - cpu0) / seconds
        await local.finish(stop, task)
        holds = local.holds
    else:
        cpu = (sum(process_cpu(p.pid) for p, _ in children) - cpu0) / seconds
        for _, parent in children:
            parent.send("stop")
        for process, parent in children:
            holds += await loop.run_in_executor(None, parent.recv)
            process.join(timeout=30)
    await core.db.dispose()

    conn.send("stop")
    seen: list[Seen] = await loop.run_in_executor(None, conn.recv)
    if args.calls:
        write_calls(Path(args.calls), seen, started)
    delivered = Counter(channel for channel, ok, *_ in seen if ok)
    # Which replicas sent each workspace's messages (xoxb-bench-<team>-r<replica>).
    senders: dict[str, set[str]] = {}
    for _, ok, _, _, _, token in seen:
        if ok:
            team, replica_name = sent_by(token)
            senders.setdefault(team, set()).add(replica_name)
    users = [f"U{i:06d}" for i in range(args.messages)]
    # CLOCK_MONOTONIC is one clock for the whole machine: the child's times compare.
    last = max((at for _, ok, _, _, at, _ in seen if ok), default=started) - started
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
        workspaces=args.workspaces,
        processes=args.processes,
        senders=max((len(r) for r in senders.values()), default=0),
        replicas_used=len(set().union(*senders.values())) if senders else 0,
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
    parser.add_argument(
        "--processes", type=int, default=1, help="dispatcher processes (replicas) sending"
    )
    parser.add_argument(
        "--workspaces", type=int, default=1, help="workspaces the members are spread over"
    )
    parser.add_argument("--calls", help="write every chat.postMessage call to this TSV file")
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
        load0 = os.getloadavg()[0]
        with slack_process(args) as slack:
            result = asyncio.run(run(url, args, Path(tmp) / "media", slack))
        load1 = os.getloadavg()[0]

    columns: list[tuple[str, str, Any]] = [
        ("backend", "<10", result.backend),
        ("procs", ">5", result.processes),
        ("wss", ">3", result.workspaces),
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
        ("senders/ws", ">10", result.senders),
        ("replicas used", ">13", result.replicas_used),
        ("last sent s", ">11", f"{result.last_delivery:.1f}"),
        # The dispatcher process(es), with their database clients, as a share of one core.
        ("CPU", ">4", f"{result.cpu:.0%}"),
    ]
    print("  ".join(f"{name:{fmt}}" for name, fmt, _ in columns))
    print("  ".join(f"{value!s:{fmt}}" for _, fmt, value in columns))
    print(f"load average {load0:.2f} before, {load1:.2f} after")


if __name__ == "__main__":
    main()
