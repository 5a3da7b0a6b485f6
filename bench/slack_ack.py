"""How fast Relais acknowledges Slack requests, against a bare Bolt app that only acks.

    .venv/bin/python bench/slack_ack.py [--commands 1000] [--clicks 1000] [--concurrency 50]
        [--database-url postgresql://postgres@127.0.0.1:5432/relais_slack_bench]
        [--server-gc log|no-full]

Everything runs on 127.0.0.1. A fake Slack Web API (``tests.slack_api.FakeSlack``) runs in
this process; ``relais serve`` runs in its own process (one core, as in production) with
the Slack adapter pointed at it. Before the timed run the database is seeded with
ambassadors who accepted the charter and a pending submission for each distinct click
(their review cards are posted and drained first). Then ``--concurrency`` workers send
freshly signed requests: ``/submit`` slash commands (each opens the photo form through
``views.open``), then "Approve" clicks by the community managers on distinct cards, with a
share of second clicks on a card someone just approved (``--double-clicks``). Latency is
measured from sending a request to having read the whole response (the ack).

The baseline is a bare slack-bolt ``AsyncApp`` whose ``/submit`` and ``review.approve``
listeners only ``ack()``, mounted on aiohttp the same way and run in its own process
(this script with ``--serve-bare --port PORT``), sent the same requests.

After each Relais phase the script waits until the work behind the acks arrived at the
fake Slack (``views.open`` per command; card ``chat.update``, outcome DM and ephemeral
notice per approval) and reports it, and counts the approved submissions in the database.
CPU columns say what each process used during a phase (100% = one core); "other CPU" is
the rest of the machine, so a run disturbed by something else shows it.

``--database-url`` takes a PostgreSQL database that the benchmark may reset (its
``public`` schema is dropped); the default is a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from PIL import Image
from sqlalchemy import text

from tests.slack_api import FakeSlack, signed_headers

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
SECRET = "bench-signing-secret"
TEAM = "T1"
REVIEW = "CREVIEW"
AUTHORS = [f"UAMB{i:02d}" for i in range(20)]
REVIEWERS = [f"UCM{i}" for i in range(5)]
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.5
TRIGGER_S = 3.0  # a trigger_id is valid for 3 s: views.open must happen within it
PLATFORM_PREFIXES = ("SLACK_", "RELAIS_", "MICROSOFT_")


# -- what Slack sends ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    kind: str  # "command" or "click"
    body: str
    key: str  # the trigger id of a command, the submission id of a click


def command_body(user: str, seq: int) -> str:
    """``/submit`` as Slack posts it (form body)."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": "CGENERAL",
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/submit",
            "text": "",
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": f"http://127.0.0.1:9/commands/{TEAM}/{seq}/x",
            "trigger_id": trigger(seq),
        }
    )


def click_body(user: str, submission_id: int, seq: int) -> str:
    """An "Approve" press on a review card (``block_actions``, ``payload=<json>``)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": f"{seq}.5678.{seq:08x}",
        "team": {"id": TEAM, "domain": "bench"},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {
            "type": "message",
            "message_ts": f"1700000000.{submission_id:06d}",
            "channel_id": REVIEW,
            "is_ephemeral": False,
        },
        "channel": {"id": REVIEW, "name": "review"},
        "message": {"type": "message", "ts": f"1700000000.{submission_id:06d}", "user": "UBOT"},
        "response_url": f"http://127.0.0.1:9/actions/{TEAM}/{seq}/x",
        "actions": [
            {
                "type": "button",
                "action_id": "review.approve",
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": f"{submission_id}:1",
                "style": "primary",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def command(user: str, seq: int) -> Request:
    return Request("command", command_body(user, seq), trigger(seq))


def click(user: str, submission_id: int, seq: int) -> Request:
    return Request("click", click_body(user, submission_id, seq), str(submission_id))


def trigger(seq: int) -> str:
    return f"{seq}.1234.{seq:08x}"


@dataclass
class Plan:
    """Every request of a run, built before timing it."""

    warmup: list[Request]
    commands: list[Request]
    clicks: list[Request]
    approvals: int  # distinct submissions approved by the timed clicks


def make_plan(
    warmup_ids: list[int], click_ids: list[int], commands: int, doubles: int, seed: int = 7
) -> Plan:
    rng = random.Random(seed)
    seq = iter(range(1, 10**9))
    warmup: list[Request] = []
    for i, sid in enumerate(warmup_ids):
        # Warm-up: every person once, so each is known to the server before timing.
        author = AUTHORS[i % len(AUTHORS)]
        warmup.append(command(author, next(seq)))
        warmup.append(click(REVIEWERS[i % len(REVIEWERS)], sid, next(seq)))
    timed_commands = [command(AUTHORS[i % len(AUTHORS)], next(seq)) for i in range(commands)]
    clicks = [
        click(REVIEWERS[i % len(REVIEWERS)], sid, next(seq)) for i, sid in enumerate(click_ids)
    ]
    # Second clicks by another reviewer, a few requests behind the first: they race it.
    for i in sorted(rng.sample(range(len(click_ids)), doubles), reverse=True):
        other = REVIEWERS[(i + 1) % len(REVIEWERS)]
        where = min(len(clicks), i + 1 + rng.randrange(0, 40))
        clicks.insert(where, click(other, click_ids[i], next(seq)))
    return Plan(warmup, timed_commands, clicks, approvals=len(click_ids))


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu: float = 0.0  # CPU seconds the server process used during the phase
    bench_cpu: float = 0.0  # CPU seconds this process (load + fake Slack) used
    machine_cpu: float = 0.0  # CPU seconds used on the whole machine (all processes)
    requests: int = 0
    acked: dict[str, float] = field(default_factory=dict)  # key -> first ack, monotonic
    started: float = 0.0  # time.monotonic() at the first request and after the last
    ended: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def ms(self, pct: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] * 1000

    @staticmethod
    def total(phases: list[Phase]) -> Phase:
        out = Phase("overall")
        for p in phases:
            out.latencies += p.latencies
            out.errors += p.errors
            out.seconds += p.seconds
            out.server_cpu += p.server_cpu
            out.bench_cpu += p.bench_cpu
            out.machine_cpu += p.machine_cpu
            out.requests += p.requests
        return out


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine since boot (Linux /proc/stat)."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return math.nan
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def fire(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[Request],
    concurrency: int,
    name: str,
    server_pid: int,
) -> Phase:
    """Send ``requests`` with ``concurrency`` workers, each request signed as it leaves."""
    phase = Phase(name, requests=len(requests))
    queue: Iterator[Request] = iter(requests)

    async def worker() -> None:
        for request in queue:
            headers = signed_headers(SECRET, request.body)
            data = request.body.encode()
            start = time.perf_counter()
            try:
                async with session.post(url, data=data, headers=headers) as response:
                    body = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                phase.errors[type(exc).__name__] += 1
                continue
            elapsed = time.perf_counter() - start
            if status == 200:
                phase.latencies.append(elapsed)
                phase.acked.setdefault(request.key, time.monotonic())
            else:
                phase.errors[f"HTTP {status} {body[:60]!r}"] += 1

    cpu0, bench0, machine0 = process_cpu(server_pid), time.process_time(), machine_cpu()
    start, phase.started = time.perf_counter(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.seconds, phase.ended = time.perf_counter() - start, time.monotonic()
    phase.server_cpu = process_cpu(server_pid) - cpu0
    phase.bench_cpu = time.process_time() - bench0
    phase.machine_cpu = machine_cpu() - machine0
    return phase


# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A child process serving HTTP on 127.0.0.1:port; always stopped on exit."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = cwd / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*argv, *self._port_args()],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        CHILDREN.append(self.proc)

    def _port_args(self) -> list[str]:
        return ["--host", "127.0.0.1", "--port", str(self.port)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, session: aiohttp.ClientSession, path: str, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(self.url + path) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {within}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_errors(self) -> list[str]:
        """Lines the server logged at WARNING or above (the access log is INFO)."""
        self._log.flush()
        pattern = re.compile(r" (WARNING|ERROR|CRITICAL) ")
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if pattern.search(line)
        ]

    async def stop(self) -> None:
        """SIGTERM (Relais drains its outbox, which needs the fake Slack to keep answering:
        so wait without blocking the loop), then SIGKILL after 15 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(self.proc.wait, 15)
        kill(self.proc)
        self._log.close()


CHILDREN: list[subprocess.Popen[bytes]] = []


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def child_env(tmp: Path, database_url: str, fake: FakeSlack) -> dict[str, str]:
    """The process environment of ``relais serve`` (and ``relais db upgrade``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    env.pop("DATABASE_URL", None)
    env.pop("MEDIA_DIR", None)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        DATABASE_URL=database_url,
        MEDIA_DIR=str(tmp / "media"),
        SLACK_BOT_TOKEN=fake.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        RELAIS_CMS=",".join(REVIEWERS),
        RELAIS_REVIEW_CHANNEL=REVIEW,
        RELAIS_LOCALE="en",
    )
    return env


GC_LOG = "server-gc.log"
SITECUSTOMIZE = """\
# Written by bench/slack_ack.py --server-gc: diagnosis of the server's garbage collector.
import gc, os, time
_log = open(os.environ["BENCH_GC_LOG"], "a", buffering=1)
_start = [0.0]
def _timed(phase, info):
    if phase == "start":
        _start[0] = time.monotonic()
    elif info["generation"] == 2:
        _log.write(f"{_start[0]:.6f} {(time.monotonic() - _start[0]) * 1000:.3f}\\n")
gc.callbacks.append(_timed)
if os.environ.get("BENCH_NO_FULL_GC"):
    gc.set_threshold(*gc.get_threshold()[:2], 10**9)
"""


def gc_diagnosis(tmp: Path, env: dict[str, str], *, no_full: bool) -> dict[str, str]:
    """Environment that makes the server log its full (generation 2) collections, through a
    ``sitecustomize`` module; with ``no_full`` it also stops making them."""
    folder = tmp / "gc-diagnosis"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    extra = {
        "PYTHONPATH": os.pathsep.join([str(folder), env["PYTHONPATH"]]),
        "BENCH_GC_LOG": str(tmp / GC_LOG),
    }
    if no_full:
        extra["BENCH_NO_FULL_GC"] = "1"
    return extra


def read_gc_log(path: Path) -> list[tuple[float, float]] | None:
    if not path.exists():
        return None
    return [
        (float(start), float(ms))
        for start, ms in (line.split() for line in path.read_text().splitlines() if line)
    ]


async def reset_postgres(url: str) -> None:
    from storage.db import Database

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()


# -- seeding ----------------------------------------------------------------------------------


def jpeg(i: int) -> bytes:
    """A small JPEG that differs for every ``i`` (the same photo twice is refused)."""
    buffer = io.BytesIO()
    color = (i % 251, (i // 251) % 251, 40 + (i // 63001) % 200)
    Image.new("RGB", (24 + i % 7, 16 + i % 5), color).save(buffer, "JPEG")
    return buffer.getvalue()


async def seed(env: dict[str, str], submissions: int) -> list[int]:
    """Ambassadors with the charter accepted, reviewers, and pending submissions."""
    from bot.core import Core
    from bot.settings import Settings
    from domain import Platform
    from storage.db import Database

    settings = Settings(
        _env_file=None,
        database_url=env["DATABASE_URL"],
        media_dir=Path(env["MEDIA_DIR"]),
        relais_cms=REVIEWERS,
        relais_review_channel=REVIEW,
        relais_locale="en",
        slack_bot_token=env["SLACK_BOT_TOKEN"],
        slack_signing_secret=SECRET,
        slack_api_url=env["SLACK_API_URL"],
    )
    core = Core(settings, Database(settings.database_url))
    try:
        authors = []
        for user in AUTHORS:
            member = await core.onboarding.identify(
                Platform.SLACK, TEAM, user, display_name=f"Ambassador {user}", locale="en"
            )
            charter = await core.onboarding.charter(member)
            await core.sites.ensure(member.workspace_id, ["Lyon"])
            lyon = (await core.sites.names(member.workspace_id))[0][0]
            authors.append(
                await core.onboarding.join(member, charter_version=charter.version, site_id=lyon)
            )
        for user in REVIEWERS:
            await core.onboarding.identify(
                Platform.SLACK, TEAM, user, display_name=f"Reviewer {user}", locale="en"
            )
        ids = []
        for i in range(submissions):
            photo = await core.media.intake_bytes(jpeg(i))
            view = await core.submissions.create(
                authors[i % len(authors)],
                photos=[photo],
                caption=f"Bench submission {i}",
                site_id=None,
                campaign_id=None,
                people_consented=True,
                sensitive=False,
            )
            ids.append(view.id)
        return ids
    finally:
        await core.db.dispose()


async def count_approved(database_url: str) -> int:
    from storage.db import Database

    db = Database(database_url)
    try:
        # A read (no write lock): on SQLite the server's writers must not starve it.
        async with db.read_engine.connect() as conn:
            result = await conn.execute(
                text("SELECT count(*) FROM submissions WHERE status = 'approved'")
            )
            return int(result.scalar_one())
    finally:
        await db.dispose()


# -- the fake Slack ---------------------------------------------------------------------------


def counts(fake: FakeSlack) -> Counter[str]:
    """Successful Web API calls by method."""
    return Counter(c.method for c in fake.calls if c.ok)


async def wait_counts(
    fake: FakeSlack, want: dict[str, int], base: Counter[str], within: float
) -> tuple[dict[str, int], float]:
    """Poll until each method got ``want`` more successful calls than ``base``."""
    start = time.perf_counter()
    while True:
        now = counts(fake)
        got = {m: now[m] - base[m] for m in want}
        if all(got[m] >= n for m, n in want.items()):
            break
        if time.perf_counter() - start > within:
            break
        await asyncio.sleep(0.05)
    return got, time.perf_counter() - start


# -- the runs ---------------------------------------------------------------------------------


@dataclass
class Work:
    """What the fake Slack received after a phase's acks, and how long that took."""

    phase: str
    expected: dict[str, int]
    got: dict[str, int]
    seconds: float
    server_cpu: float = 0.0  # CPU seconds the server used until the work arrived
    what: str = ""  # the call whose delay after the ack is measured
    delays: list[float] = field(default_factory=list)  # seconds from ack to that call


CARD_ID = re.compile(r"Submission #(\d+)")


def delays(fake: FakeSlack, phase: Phase, since: int) -> tuple[str, list[float]]:
    """Seconds from each ack to the Web API call that did its work: ``views.open`` with
    the command's trigger; the ``chat.update`` of the card a click approved."""
    out: list[float] = []
    for call in fake.calls[since:]:
        if not call.ok:
            continue
        if phase.name == "commands" and call.method == "views.open":
            key = str(call.params.get("trigger_id"))
        elif phase.name == "clicks" and call.method == "chat.update":
            found = CARD_ID.search(json.dumps(call.params.get("blocks")))
            key = found.group(1) if found else ""
        else:
            continue
        if key in phase.acked:
            out.append(call.at - phase.acked[key])
    return ("views.open" if phase.name == "commands" else "card chat.update"), out


@dataclass
class Result:
    app: str
    phases: list[Phase]
    work: list[Work] = field(default_factory=list)
    approved: int | None = None
    expected_approved: int | None = None
    log_errors: list[str] = field(default_factory=list)
    full_gcs: list[tuple[float, float]] | None = None  # (start, ms) of the server's full GCs


async def run_relais(
    args: argparse.Namespace, tmp: Path, fake: FakeSlack, session: aiohttp.ClientSession
) -> tuple[Result, Plan]:
    if args.database_url:
        from bot.settings import async_database_url

        url = async_database_url(args.database_url)
        await reset_postgres(url)
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'relais.db'}"
    env = child_env(tmp, url, fake)
    print(f"database: {url.split('@')[-1]}", flush=True)
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relais.cli", "db", "upgrade", env=env, cwd=tmp
    )
    if await upgrade.wait():
        raise RuntimeError("relais db upgrade failed")
    warm = args.warmup // 2
    doubles = round(args.clicks * args.double_clicks)
    distinct = args.clicks - doubles
    start = time.perf_counter()
    ids = await seed(env, warm + distinct)
    print(
        f"seeded {len(AUTHORS)} ambassadors, {len(REVIEWERS)} reviewers, {len(ids)} pending "
        f"submissions in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    plan = make_plan(ids[:warm], ids[warm:], args.commands, doubles)

    server_env = dict(env)
    if args.server_gc != "default":
        server_env.update(gc_diagnosis(tmp, env, no_full=args.server_gc == "no-full"))
    server = Server("relais", [sys.executable, "-m", "relais.cli", "serve"], server_env, tmp)
    try:
        await server.ready(session, "/readyz", within=60)
        print(f"relais serve: pid {server.proc.pid} at {server.url}", flush=True)
        # The seeded review cards and receipts go out first (photo upload + 2 posts each).
        _, took = await wait_counts(
            fake, {"chat.postMessage": 2 * len(ids)}, Counter(), args.drain_timeout
        )
        print(f"seed outbox drained in {took:.1f} s", flush=True)
        url_events = server.url + "/slack/events"
        warm_commands = sum(r.kind == "command" for r in plan.warmup)
        base = counts(fake)
        await fire(session, url_events, plan.warmup, args.concurrency, "warm-up", server.proc.pid)
        await wait_counts(
            fake,
            {"views.open": warm_commands, "chat.update": warm, "chat.postEphemeral": warm},
            base,
            args.drain_timeout,
        )
        result = Result("relais", [])
        for name, requests, want in (
            ("commands", plan.commands, {"views.open": len(plan.commands)}),
            (
                "clicks",
                plan.clicks,
                {
                    "chat.update": plan.approvals,
                    "chat.postMessage": plan.approvals,
                    "chat.postEphemeral": len(plan.clicks),
                },
            ),
        ):
            base, since = counts(fake), len(fake.calls)
            phase = await fire(
                session, url_events, requests, args.concurrency, name, server.proc.pid
            )
            result.phases.append(phase)
            cpu = process_cpu(server.proc.pid)
            got, took = await wait_counts(fake, want, base, args.drain_timeout)
            cpu = process_cpu(server.proc.pid) - cpu
            what, waited = delays(fake, phase, since)
            result.work.append(Work(name, want, got, took, cpu, what, waited))
        result.approved = await count_approved(url)
        result.expected_approved = len(ids)
        result.log_errors = server.log_errors()
        result.full_gcs = read_gc_log(tmp / GC_LOG)
        return result, plan
    finally:
        await server.stop()


async def run_bare(
    args: argparse.Namespace, tmp: Path, fake: FakeSlack, session: aiohttp.ClientSession, plan: Plan
) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    argv = [
        sys.executable,
        str(SCRIPT),
        "--api-url",
        fake.api_url,
        "--parent",
        str(os.getpid()),
        "--serve-bare",
    ]
    server = Server("bare", argv, env, tmp)
    try:
        await server.ready(session, "/healthz", within=30)
        print(f"bare Bolt: pid {server.proc.pid} at {server.url}", flush=True)
        url_events = server.url + "/slack/events"
        await fire(session, url_events, plan.warmup, args.concurrency, "warm-up", server.proc.pid)
        result = Result("bare Bolt", [])
        for name, requests in (("commands", plan.commands), ("clicks", plan.clicks)):
            result.phases.append(
                await fire(session, url_events, requests, args.concurrency, name, server.proc.pid)
            )
        result.log_errors = server.log_errors()
        return result
    finally:
        await server.stop()


# -- the bare Bolt app (child process) ---------------------------------------------------------


def serve_bare(host: str, port: int, api_url: str, parent: int) -> None:
    """A slack-bolt app whose listeners only acknowledge, on aiohttp like Relais."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Built as Relais builds its own (adapters/slack/app.py): the same Bolt middleware runs.
    bolt = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token="xoxb-test", base_url=api_url),
        process_before_response=False,
    )

    @bolt.command("/submit")
    async def submit(ack: Any) -> None:
        await ack()

    @bolt.action("review.approve")
    async def approve(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def orphan_guard(app: web.Application) -> Any:
        async def watch() -> None:
            while True:
                await asyncio.sleep(1)
                if os.getppid() != parent:  # the benchmark died: do not linger
                    os.kill(os.getpid(), signal.SIGTERM)
                    return

        task = asyncio.create_task(watch())
        yield
        task.cancel()

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(orphan_guard)
    web.run_app(app, host=host, port=port, print=lambda msg: logging.getLogger("bare").info(msg))


# -- report -----------------------------------------------------------------------------------


def print_report(relais: Result, bare: Result) -> None:
    print()
    print("server CPU: the server process; bench CPU: this process (load and fake Slack);")
    print("other CPU: the rest of the machine (PostgreSQL, anything else running); 100% = 1 core")
    print(
        f"{'app':<10} {'phase':<9} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'server CPU':>10} {'bench CPU':>9} "
        f"{'other CPU':>9}"
    )
    totals: dict[str, Phase] = {}
    for result in (relais, bare):
        phases = [*result.phases, Phase.total(result.phases)]
        totals[result.app] = phases[-1]
        for p in phases:
            print(
                f"{result.app:<10} {p.name:<9} {p.requests:>8} {sum(p.errors.values()):>6} "
                f"{p.rate:>7.0f} {p.ms(50):>7.1f} {p.ms(95):>7.1f} {p.ms(99):>7.1f} "
                f"{p.ms(100):>7.1f} {p.server_cpu / (p.seconds or 1):>10.0%} "
                f"{p.bench_cpu / (p.seconds or 1):>9.0%} "
                f"{max(0.0, p.machine_cpu - p.server_cpu - p.bench_cpu) / (p.seconds or 1):>9.0%}"
            )
    print()
    for i, name in enumerate(["commands", "clicks", "overall"]):
        r = relais.phases[i] if i < 2 else totals[relais.app]
        b = bare.phases[i] if i < 2 else totals[bare.app]
        ratio = r.rate / b.rate if b.rate else math.nan
        p99 = r.ms(99)
        print(
            f"{name:<9} Relais/bare throughput {ratio:5.2f}x "
            f"({'meets' if ratio >= TARGET_RATIO else 'MISSES'} >= {TARGET_RATIO}x); "
            f"Relais p99 {p99:6.1f} ms "
            f"({'meets' if p99 < TARGET_P99_MS else 'MISSES'} < {TARGET_P99_MS:.0f} ms); "
            f"p99 Relais/bare {p99 / b.ms(99):4.1f}x"
        )
    print()
    print("ack p99 in ms over each fifth of a phase, in completion order (stalls show as spikes)")
    for result in (relais, bare):
        for p in result.phases:
            n = len(p.latencies)
            fifths = [
                Phase("fifth", latencies=p.latencies[n * i // 5 : n * (i + 1) // 5])
                for i in range(5)
            ]
            print(f"  {result.app:<10} {p.name:<9} " + " ".join(f"{f.ms(99):6.1f}" for f in fifths))
    print()
    print("work behind Relais's acks (successful fake Slack calls after each phase):")
    for work in relais.work:
        parts = ", ".join(f"{m} {work.got[m]}/{n}" for m, n in work.expected.items())
        done = all(work.got[m] >= n for m, n in work.expected.items())
        phase = next(p for p in relais.phases if p.name == work.phase)
        total = phase.seconds + work.seconds or 1
        print(
            f"  {work.phase:<9} {parts}; {'all arrived' if done else 'INCOMPLETE'} "
            f"{work.seconds:.1f} s after the last ack (server CPU "
            f"{work.server_cpu / (work.seconds or 1):.0%}): {phase.requests} requests fully "
            f"served in {total:.1f} s = {phase.requests / total:.0f}/s"
        )
        if work.delays:
            late = Phase("delay", latencies=work.delays)
            over = sum(d > TRIGGER_S for d in work.delays)
            expired = over and work.what == "views.open"
            print(
                f"  {'':<9} ack -> {work.what}: p50 {late.ms(50):.0f} ms, p95 {late.ms(95):.0f} "
                f"ms, max {late.ms(100):.0f} ms; {over} of {len(work.delays)} later than "
                f"{TRIGGER_S:.0f} s"
                + (" (on Slack the trigger_id would have expired)" if expired else "")
            )
    print(f"  submissions approved in the database: {relais.approved}/{relais.expected_approved}")
    if relais.full_gcs is not None:
        for p in relais.phases:
            pauses = [ms for at, ms in relais.full_gcs if p.started <= at <= p.ended]
            print(
                f"  server full GCs during the {p.name} acks: {len(pauses)}"
                + (f", longest {max(pauses):.0f} ms, {sum(pauses):.0f} ms in all" if pauses else "")
            )
    for result in (relais, bare):
        errors = Counter[str]()
        for p in result.phases:
            errors += p.errors
        for what, n in errors.most_common(5):
            print(f"  {result.app} errors: {n} x {what}")
        # Grouped by level, logger and the start of the message (timestamps dropped).
        logged = Counter(line.split(" ", 2)[-1][:130] for line in result.log_errors)
        for line, n in logged.most_common(4):
            print(f"  {result.app} logged {n} x {line}")


# -- main -------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="slack-ack-") as name:
        tmp = Path(name)
        async with FakeSlack() as fake:
            for user in [*AUTHORS, *REVIEWERS]:
                fake.add_user(user, name=user.lower(), locale="en-US")
            connector = aiohttp.TCPConnector(limit=args.concurrency)
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                relais, plan = await run_relais(args, tmp, fake, session)
                bare = await run_bare(args, tmp, fake, session, plan)
            print_report(relais, bare)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=1000, help="timed /submit commands")
    parser.add_argument("--clicks", type=int, default=1000, help="timed Approve clicks")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument(
        "--double-clicks",
        type=float,
        default=0.1,
        help="share of the clicks that are a second reviewer's click on a card just approved",
    )
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests first")
    parser.add_argument(
        "--database-url", help="PostgreSQL database the benchmark may reset (default: SQLite)"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=180, help="seconds to wait for the work"
    )
    parser.add_argument(
        "--server-gc",
        choices=["default", "log", "no-full"],
        default="default",
        help="diagnosis: log the Relais server's full garbage collections (log), or also "
        "disable them (no-full); default: leave the server as it is",
    )
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.host, args.port, args.api_url, args.parent)
        return
    if not 0 <= args.double_clicks < 1 or args.warmup < 2:
        parser.error("--double-clicks must be in [0, 1) and --warmup at least 2")

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # run the finally blocks: child processes are stopped

    signal.signal(signal.SIGTERM, stop)
    try:
        asyncio.run(bench(args))
    finally:
        for proc in CHILDREN:  # whatever happened above, leave no server behind
            kill(proc)


if __name__ == "__main__":
    main()
