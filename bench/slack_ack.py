"""How fast Relais acknowledges Slack requests, beside a bare Bolt app that only acks.

    .venv/bin/python bench/slack_ack.py [--commands 1000] [--clicks 1000] [--concurrency 50]
        [--rounds 5] [--teams 20] [--compare REV]
        [--database-url postgresql://postgres@127.0.0.1:5432/relais_slack_bench]
        [--server-gc log|no-full]
    .venv/bin/python bench/slack_ack.py --burst 1000 --concurrency 50 [--rounds 1]

Everything runs on 127.0.0.1. ``relais serve`` runs in its own process (one core, as in
production) with its Slack adapter pointed at a fake Slack Web API
(``tests.slack_api.FakeSlack``) that runs in this process. The baseline is a bare
slack-bolt ``AsyncApp`` whose ``/submit`` and ``review.approve`` listeners only
``ack()``, mounted on aiohttp the same way, in its own process (this script with
``--serve-bare``). With ``--compare REV`` a second Relais runs from a git worktree of
``REV`` (its own database and fake Slack): the same load, to show a regression or a gain.

Before timing, each Relais's database is seeded with ambassadors who accepted the charter
in ``--teams`` workspaces, each with its own review channel, and a pending submission for
each distinct click; their review cards are posted and drained first. Slack allows about
one message per second per channel, so spreading the cards over channels is what lets
the work behind the acks finish in minutes (one channel: one card update per second).

The load is sent in ``--rounds`` rounds. In each round every side (Relais, the compared
Relais, bare Bolt) gets its share of the requests, the order of the sides rotating from
round to round, so a change of the machine's load touches every side alike: first
``/submit`` slash commands (each opens the photo form through ``views.open``), then
"Approve" clicks by the community managers on distinct cards, with a share of second
clicks on a card someone just approved (``--double-clicks``). ``--concurrency`` workers
send freshly signed requests; latency runs from sending a request to having read its
response (the ack). After each of a Relais's phases the script waits until the work behind
the acks arrived at its fake Slack (``views.open`` per command; card ``chat.update``,
outcome DM and ephemeral notice per approval) before the next side starts, and reports
what arrived, how long after the ack, and the approved submissions in the database.

CPU columns say what each process used during a phase (100% = one core); "other CPU" is
the rest of the machine and "load" the 1-minute load average at the end of the phase, so
a run disturbed by something else shows it.

``--burst N`` measures what issue 14 asks of the forms instead: one burst of ``N``
``/submit`` commands (no clicks) sent to each app in turn, ``--rounds`` times, and for
each app the share of forms opened inside Slack's 3 s trigger window (``views.open``
received by the app's fake Slack no later than 3 s after the ack), with p50/p95/p99 of
ack -> ``views.open`` (and of request sent -> ``views.open``, which is what Slack's
trigger really counts from). The bare Bolt app of this mode acks and then calls
``views.open`` with a small static form, against a fake Slack of its own: the floor.

``--database-url`` takes a PostgreSQL database that the benchmark may reset (its
``public`` schema is dropped; with ``--compare`` a second database named ``<name>_compare``
is created beside it); the default is a temporary SQLite file per Relais.
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
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from PIL import Image
from sqlalchemy import text

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# The code under test: this checkout, or (in the seeding subprocess of ``--compare``) the
# worktree of another commit, found first on the path.
CODE_ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or ROOT)
sys.path.insert(0, str(ROOT))
if CODE_ROOT != ROOT:
    sys.path.insert(0, str(CODE_ROOT))

from bench.machine import machine_cpu, process_cpu  # noqa: E402

if TYPE_CHECKING:
    from tests.slack_api import FakeSlack

SECRET = "bench-signing-secret"
REVIEWERS = [f"UCM{i}" for i in range(5)]
AUTHORS_PER_TEAM = 3
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.5
STALL = 20.0  # seconds without any Web API call after which the work is not awaited more
TRIGGER_S = 3.0  # a trigger_id is valid for 3 s: views.open must happen within it
PLATFORM_PREFIXES = ("SLACK_", "RELAIS_", "MICROSOFT_")


def teams(n: int) -> list[str]:
    return [f"T{i:02d}" for i in range(1, n + 1)]


def review_channel(team: str) -> str:
    return f"CREVIEW{team}"


def authors(team: str) -> list[str]:
    return [f"UAMB{team}{i}" for i in range(AUTHORS_PER_TEAM)]


# -- what Slack sends ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    kind: str  # "command" or "click"
    body: str
    key: str  # the trigger id of a command, the submission id of a click


def command_body(base: str, team: str, user: str, seq: int) -> str:
    """``/submit`` as Slack posts it (form body)."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": team,
            "team_domain": "bench",
            "channel_id": "CGENERAL",
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/submit",
            "text": "",
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": f"{base}/commands/{team}/{seq}/x",
            "trigger_id": trigger(seq),
        }
    )


def click_body(base: str, team: str, user: str, submission_id: int, seq: int) -> str:
    """An "Approve" press on a review card (``block_actions``, ``payload=<json>``)."""
    channel = review_channel(team)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": f"{seq}.5678.{seq:08x}",
        "team": {"id": team, "domain": "bench"},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {
            "type": "message",
            "message_ts": f"1700000000.{submission_id:06d}",
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "review"},
        "message": {"type": "message", "ts": f"1700000000.{submission_id:06d}", "user": "UBOT"},
        "response_url": f"{base}/actions/{team}/{seq}/x",
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


def trigger(seq: int) -> str:
    return f"{seq}.1234.{seq:08x}"


@dataclass
class Plan:
    """Every request of a run, built before timing it, cut into rounds."""

    warmup: list[Request]
    commands: list[list[Request]]  # per round
    clicks: list[list[Request]]  # per round
    approvals: list[int]  # per round: distinct submissions first approved in it


def make_plan(
    warmup_ids: list[tuple[int, str]],
    click_ids: list[tuple[int, str]],
    n_teams: int,
    commands: int,
    doubles: int,
    rounds: int,
    base: str,
    seed: int = 7,
) -> Plan:
    """``*_ids``: (submission id, its workspace) from the seed; ``base``: where the
    requests' ``response_url`` points (the fake Slack's URL)."""
    rng = random.Random(seed)
    seq = iter(range(1, 10**9))
    people = [(team, user) for team in teams(n_teams) for user in authors(team)]
    warmup: list[Request] = []
    for i, (sid, team) in enumerate(warmup_ids):
        # Warm-up: one command and one click per seeded warm-up card.
        team_c, user = people[i % len(people)]
        n = next(seq)
        warmup.append(Request("command", command_body(base, team_c, user, n), trigger(n)))
        n = next(seq)
        reviewer = REVIEWERS[i % len(REVIEWERS)]
        warmup.append(Request("click", click_body(base, team, reviewer, sid, n), str(sid)))
    timed_commands = []
    for i in range(commands):
        team, user = people[i % len(people)]
        n = next(seq)
        timed_commands.append(Request("command", command_body(base, team, user, n), trigger(n)))
    clicks: list[tuple[Request, bool]] = []  # (request, first click on its card)
    for i, (sid, team) in enumerate(click_ids):
        n = next(seq)
        reviewer = REVIEWERS[i % len(REVIEWERS)]
        clicks.append((Request("click", click_body(base, team, reviewer, sid, n), str(sid)), True))
    # Second clicks by another reviewer, a few requests behind the first: they race it.
    for i in sorted(rng.sample(range(len(click_ids)), doubles), reverse=True):
        sid, team = click_ids[i]
        other = REVIEWERS[(i + 1) % len(REVIEWERS)]
        where = min(len(clicks), i + 1 + rng.randrange(0, 40))
        clicks.insert(
            where,
            (Request("click", click_body(base, team, other, sid, next(seq)), str(sid)), False),
        )
    plan = Plan(warmup, [], [], [])
    for r in range(rounds):
        plan.commands.append(
            timed_commands[
                len(timed_commands) * r // rounds : len(timed_commands) * (r + 1) // rounds
            ]
        )
        part = clicks[len(clicks) * r // rounds : len(clicks) * (r + 1) // rounds]
        plan.clicks.append([request for request, _ in part])
        plan.approvals.append(sum(first for _, first in part))
    return plan


def retarget(plan: Plan, ids: dict[int, int], old_base: str, new_base: str) -> Plan:
    """The same plan for another Relais: its seed gave other ids (old id -> new id) and
    its fake Slack answers the ``response_url`` posts at ``new_base``."""

    def move(request: Request) -> Request:
        form = dict(parse_qsl(request.body))
        if request.kind == "command":
            form["response_url"] = form["response_url"].replace(old_base, new_base, 1)
            return Request("command", urlencode(form), request.key)
        payload = json.loads(form["payload"])
        new = ids[int(request.key)]
        payload["response_url"] = payload["response_url"].replace(old_base, new_base, 1)
        payload["actions"][0]["value"] = f"{new}:1"
        payload["container"]["message_ts"] = payload["message"]["ts"] = f"1700000000.{new:06d}"
        return Request("click", urlencode({"payload": json.dumps(payload)}), str(new))

    return Plan(
        [move(r) for r in plan.warmup],
        [[move(r) for r in part] for part in plan.commands],
        [[move(r) for r in part] for part in plan.clicks],
        plan.approvals,
    )


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
    load: list[float] = field(default_factory=list)  # 1-min load average at each end
    requests: int = 0
    acked: dict[str, float] = field(default_factory=dict)  # key -> first ack, monotonic
    sent: dict[str, float] = field(default_factory=dict)  # key -> first send, monotonic
    spans: list[tuple[float, float]] = field(default_factory=list)  # monotonic (start, end)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def ms(self, pct: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] * 1000

    def share(self, cpu: float) -> float:
        return cpu / self.seconds if self.seconds else 0.0

    @property
    def other_cpu(self) -> float:
        return self.share(max(0.0, self.machine_cpu - self.server_cpu - self.bench_cpu))

    def add(self, other: Phase) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.seconds += other.seconds
        self.server_cpu += other.server_cpu
        self.bench_cpu += other.bench_cpu
        self.machine_cpu += other.machine_cpu
        self.load += other.load
        self.requests += other.requests
        self.acked.update(other.acked)
        self.sent.update(other.sent)
        self.spans += other.spans


async def fire(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[Request],
    concurrency: int,
    name: str,
    server_pid: int,
) -> Phase:
    """Send ``requests`` with ``concurrency`` workers, each request signed as it leaves."""
    from tests.slack_api import signed_headers

    phase = Phase(name, requests=len(requests))
    queue: Iterator[Request] = iter(requests)

    async def worker() -> None:
        for request in queue:
            headers = signed_headers(SECRET, request.body)
            data = request.body.encode()
            start = time.perf_counter()
            phase.sent.setdefault(request.key, time.monotonic())
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
    start, started = time.perf_counter(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - start
    phase.spans.append((started, time.monotonic()))
    phase.server_cpu = process_cpu(server_pid) - cpu0
    phase.bench_cpu = time.process_time() - bench0
    phase.machine_cpu = machine_cpu() - machine0
    phase.load.append(os.getloadavg()[0])
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
        self.log_path = cwd / f"{name.replace(' ', '-').replace('@', '-')}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        CHILDREN.append(self.proc)

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
        if not self._log.closed:
            self._log.flush()
        pattern = re.compile(r" (WARNING|ERROR|CRITICAL) |\"level\": \"(warning|error)")
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


def child_env(tmp: Path, code: Path, database_url: str, fake: FakeSlack) -> dict[str, str]:
    """The environment of ``relais serve``, ``relais db upgrade`` and the seed for the
    Relais whose code is in ``code``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    env.pop("DATABASE_URL", None)
    env.pop("MEDIA_DIR", None)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")])),
        BENCH_CODE_ROOT=str(code),
        DATABASE_URL=database_url,
        MEDIA_DIR=str(tmp / "media"),
        SLACK_BOT_TOKEN=fake.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        RELAIS_CMS=",".join(REVIEWERS),
        RELAIS_REVIEW_CHANNEL=review_channel("T00"),
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
    """Drop and recreate the ``public`` schema of ``url``, creating the database first if
    it does not exist."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        await admin.dispose()
    engine = create_async_engine(target)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


# -- seeding (runs in a subprocess with the code under test first on the path) -------------------


def jpeg(i: int) -> bytes:
    """A small JPEG that differs for every ``i`` (the same photo twice is refused)."""
    buffer = io.BytesIO()
    color = (i % 251, (i // 251) % 251, 40 + (i // 63001) % 200)
    Image.new("RGB", (24 + i % 7, 16 + i % 5), color).save(buffer, "JPEG")
    return buffer.getvalue()


async def seed(n_teams: int, submissions: int) -> list[tuple[int, str]]:
    """Ambassadors with the charter accepted and reviewers in ``n_teams`` workspaces, each
    workspace's review channel set from chat, and pending submissions spread over them.
    Reads its settings from the environment (``child_env``)."""
    from bot.core import Core
    from bot.settings import Settings
    from storage.db import Database

    try:
        from domain import Platform
    except ImportError:  # the code before the ground floor (issue 9)
        from bot.domain import Platform  # type: ignore[import-not-found,no-redef]

    settings = Settings()
    core = Core(settings, Database(settings.database_url))
    try:
        people = []
        for team in teams(n_teams):
            for user in REVIEWERS:
                reviewer = await core.onboarding.identify(
                    Platform.SLACK, team, user, display_name=f"Reviewer {user}", locale="en"
                )
            await core.config.set(reviewer, "review_channel", review_channel(team))
            for user in authors(team):
                member = await core.onboarding.identify(
                    Platform.SLACK, team, user, display_name=f"Ambassador {user}", locale="en"
                )
                charter = await core.onboarding.charter(member)
                if hasattr(core, "sites"):  # sites are a CM's list (issue 11)
                    await core.sites.ensure(member.workspace_id, ["Lyon"])
                    lyon = (await core.sites.names(member.workspace_id))[0][0]
                    joined = await core.onboarding.join(
                        member, charter_version=charter.version, site_id=lyon
                    )
                else:  # the code before it
                    joined = await core.onboarding.join(
                        member, charter_version=charter.version, site_name="Lyon"
                    )
                people.append((team, joined))
        ids = []
        for i in range(submissions):
            team, author = people[i % len(people)]
            photo = await core.media.intake_bytes(jpeg(i))
            view = await core.submissions.create(
                author,
                photos=[photo],
                caption=f"Bench submission {i}",
                site_id=None,
                campaign_id=None,
                people_consented=True,
                sensitive=False,
            )
            ids.append((view.id, team))
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
    """Poll until each method got ``want`` more successful calls than ``base``, or until
    ``within`` seconds passed, or ``STALL`` seconds passed with no new call at all (work
    refused, for example acks that told the person to try again, never arrives)."""
    start = last = time.perf_counter()
    seen = len(fake.calls)
    while True:
        now = counts(fake)
        got = {m: now[m] - base[m] for m in want}
        if all(got[m] >= n for m, n in want.items()):
            break
        clock = time.perf_counter()
        if len(fake.calls) != seen:
            seen, last = len(fake.calls), clock
        if clock - start > within or clock - last > STALL:
            break
        await asyncio.sleep(0.05)
    return got, time.perf_counter() - start


# -- the sides --------------------------------------------------------------------------------


@dataclass
class Work:
    """What a fake Slack received after one phase's acks, and how long that took."""

    expected: Counter[str] = field(default_factory=Counter)
    got: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # from the last ack to the last call awaited
    server_cpu: float = 0.0  # CPU seconds the server used meanwhile
    delays: list[float] = field(default_factory=list)  # seconds from ack to the work's call
    told: Counter[str] = field(default_factory=Counter)  # response_url posts, by text
    sent_delays: list[float] = field(default_factory=list)  # from sending the request
    within: list[int] = field(default_factory=list)  # per round: work done within 3 s

    @property
    def done(self) -> bool:
        return all(self.got[m] >= n for m, n in self.expected.items())

    def add(self, other: Work) -> None:
        self.expected += other.expected
        self.got += other.got
        self.seconds += other.seconds
        self.server_cpu += other.server_cpu
        self.delays += other.delays
        self.sent_delays += other.sent_delays
        self.within += other.within
        self.told += other.told


CARD_ID = re.compile(r"Submission #(\d+)")
WHAT = {"commands": "views.open", "clicks": "card chat.update"}


def delays(fake: FakeSlack, phase: Phase, since: int, *, from_send: bool = False) -> list[float]:
    """Seconds from each ack (``from_send``: from sending the request) to the Web API call
    that did its work: ``views.open`` with the command's trigger; the ``chat.update`` of
    the card a click approved."""
    start = phase.sent if from_send else phase.acked
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
            out.append(call.at - start[key])
    return out


@dataclass
class Side:
    """One app under load: a Relais (with its own database and fake Slack) or bare Bolt."""

    name: str
    server: Server
    plan: Plan
    fake: FakeSlack | None = None  # None: bare Bolt, no work to wait for
    database_url: str = ""
    phases: dict[str, list[Phase]] = field(default_factory=lambda: {"commands": [], "clicks": []})
    work: dict[str, Work] = field(default_factory=lambda: {"commands": Work(), "clicks": Work()})
    approved: int | None = None
    expected_approved: int | None = None
    log_errors: list[str] = field(default_factory=list)
    full_gcs: list[tuple[float, float]] | None = None
    gc_log: Path | None = None

    def total(self, name: str) -> Phase:
        out = Phase(name)
        for p in (
            self.phases[name]
            if name != "overall"
            else [*self.phases["commands"], *self.phases["clicks"]]
        ):
            out.add(p)
        return out

    async def run(
        self, session: aiohttp.ClientSession, args: argparse.Namespace, name: str, r: int
    ) -> None:
        """Round ``r``'s requests of phase ``name``; for a Relais, then wait for the work."""
        requests = self.plan.commands[r] if name == "commands" else self.plan.clicks[r]
        base = counts(self.fake) if self.fake else Counter[str]()
        since = len(self.fake.calls) if self.fake else 0
        answered = len(self.fake.responses) if self.fake else 0
        url = self.server.url + "/slack/events"
        phase = await fire(session, url, requests, args.concurrency, name, self.server.proc.pid)
        self.phases[name].append(phase)
        if self.fake is None:
            return
        if name == "commands":
            want = {"views.open": len(requests)}
        else:
            approvals = self.plan.approvals[r]
            want = {
                "chat.update": approvals,
                "chat.postMessage": approvals,
                "chat.postEphemeral": len(requests),
            }
        cpu = process_cpu(self.server.proc.pid)
        got, took = await wait_counts(self.fake, want, base, args.drain_timeout)
        told = Counter(str(r.get("text"))[:70] for r in self.fake.responses[answered:])
        done = delays(self.fake, phase, since)
        self.work[name].add(
            Work(
                Counter(want),
                Counter(got),
                took,
                process_cpu(self.server.proc.pid) - cpu,
                done,
                told,
                delays(self.fake, phase, since, from_send=True),
                [sum(d <= TRIGGER_S for d in done)],
            )
        )


async def start_relais(
    args: argparse.Namespace,
    name: str,
    code: Path,
    tmp: Path,
    fake: FakeSlack,
    session: aiohttp.ClientSession,
    database_url: str | None,
) -> tuple[Side, list[tuple[int, str]]]:
    """Migrate and seed a database for the Relais in ``code``, start ``relais serve`` and
    wait until the seeded cards went out; the plan is filled in by the caller."""
    os.mkdir(tmp)
    if database_url:
        from bot.settings import async_database_url

        url = async_database_url(database_url)
        await reset_postgres(url)
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'relais.db'}"
    for user in REVIEWERS:
        fake.add_user(user, name=user.lower(), locale="en-US")
    for team in teams(args.teams):
        for user in authors(team):
            fake.add_user(user, name=user.lower(), locale="en-US", team_id=team)
    env = child_env(tmp, code, url, fake)
    print(f"{name}: database {url.split('@')[-1]}", flush=True)
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relais.cli", "db", "upgrade", env=env, cwd=tmp
    )
    if await upgrade.wait():
        raise RuntimeError(f"{name}: relais db upgrade failed")
    warm = args.warmup // 2
    doubles = round(args.clicks * args.double_clicks)
    distinct = args.clicks - doubles
    start = time.perf_counter()
    seeding = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        "--seed",
        str(warm + distinct),
        "--teams",
        str(args.teams),
        env=env,
        cwd=tmp,
        stdout=subprocess.PIPE,
    )
    out, _ = await seeding.communicate()
    if seeding.returncode:
        raise RuntimeError(f"{name}: seeding failed")
    ids = [(int(sid), team) for sid, team in json.loads(out.decode().splitlines()[-1])]
    print(
        f"{name}: seeded {args.teams} workspaces ({AUTHORS_PER_TEAM} ambassadors, "
        f"{len(REVIEWERS)} reviewers each), {len(ids)} pending submissions in "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    server_env = dict(env)
    gc_log = None
    if args.server_gc != "default" and code == ROOT:
        server_env.update(gc_diagnosis(tmp, env, no_full=args.server_gc == "no-full"))
        gc_log = tmp / GC_LOG
    server = Server(name, [sys.executable, "-m", "relais.cli", "serve"], server_env, tmp)
    await server.ready(session, "/readyz", within=60)
    print(f"{name}: relais serve pid {server.proc.pid} at {server.url}", flush=True)
    # The seeded review cards and receipts go out first (photo upload + 2 posts each).
    got, took = await wait_counts(
        fake, {"chat.postMessage": 2 * len(ids)}, Counter(), args.drain_timeout
    )
    if got["chat.postMessage"] < 2 * len(ids):
        raise RuntimeError(
            f"{name}: only {got['chat.postMessage']} of {2 * len(ids)} seed messages went "
            f"out in {took:.0f} s (--drain-timeout)"
        )
    print(f"{name}: seed outbox drained in {took:.1f} s", flush=True)
    empty = Plan([], [], [], [])
    side = Side(name, server, empty, fake, url, gc_log=gc_log)
    side.expected_approved = len(ids)
    return side, ids


async def start_bare(
    tmp: Path,
    api_url: str,
    session: aiohttp.ClientSession,
    plan: Plan,
    fake: FakeSlack | None = None,
) -> Side:
    """The bare Bolt app; with ``fake`` (the burst mode) it calls ``views.open`` there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    argv = [
        sys.executable,
        str(SCRIPT),
        "--api-url",
        fake.api_url if fake is not None else api_url,
        "--parent",
        str(os.getpid()),
        "--serve-bare",
    ]
    if fake is not None:
        argv.append("--bare-views-open")
    server = Server("bare Bolt", argv, env, tmp)
    await server.ready(session, "/healthz", within=30)
    print(f"bare Bolt: pid {server.proc.pid} at {server.url}", flush=True)
    return Side("bare Bolt", server, plan, fake)


def worktree(tmp: Path, rev: str) -> Path:
    """A detached git worktree of ``rev`` (removed by ``drop_worktree``)."""
    path = tmp / f"code-{rev}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), rev],
        check=True,
    )
    return path


def drop_worktree(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False
    )


# -- the bare Bolt app (child process) ---------------------------------------------------------


BARE_VIEW = {
    "type": "modal",
    "callback_id": "submission.create",
    "title": {"type": "plain_text", "text": "Submit a photo"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "caption",
            "label": {"type": "plain_text", "text": "Caption"},
            "element": {"type": "plain_text_input", "action_id": "caption", "multiline": True},
        }
    ],
}


def serve_bare(host: str, port: int, api_url: str, parent: int, views_open: bool) -> None:
    """A slack-bolt app whose listeners only acknowledge, on aiohttp like Relais; with
    ``views_open`` its ``/submit`` then opens a small static form (``views.open``, one
    shared HTTP session as Relais has): the floor of the burst mode."""
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
    async def submit(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        if views_open:
            await client.views_open(trigger_id=command["trigger_id"], view=BARE_VIEW)

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
        # One connection pool for the Web API calls, as Relais has (adapters/slack/port.py).
        bolt.client.session = aiohttp.ClientSession()
        yield
        task.cancel()
        await bolt.client.session.close()

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(orphan_guard)
    web.run_app(app, host=host, port=port, print=lambda msg: logging.getLogger("bare").info(msg))


# -- report -----------------------------------------------------------------------------------


def print_report(sides: list[Side], rounds: int) -> None:
    bare = sides[-1]
    print()
    print("server CPU: the server process; bench CPU: this process (load and fake Slack);")
    print("other CPU: the rest of the machine (PostgreSQL, anything else running); 100% = 1 core;")
    print("load: 1-minute load average at the end of the phase (mean over the rounds)")
    print(
        f"{'app':<18} {'phase':<9} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'server CPU':>10} {'bench CPU':>9} "
        f"{'other CPU':>9} {'load':>5}"
    )
    for side in sides:
        for name in ("commands", "clicks", "overall"):
            p = side.total(name)
            print(
                f"{side.name:<18} {name:<9} {p.requests:>8} {sum(p.errors.values()):>6} "
                f"{p.rate:>7.0f} {p.ms(50):>7.1f} {p.ms(95):>7.1f} {p.ms(99):>7.1f} "
                f"{p.ms(100):>7.1f} {p.share(p.server_cpu):>10.0%} "
                f"{p.share(p.bench_cpu):>9.0%} {p.other_cpu:>9.0%} "
                f"{statistics.fmean(p.load) if p.load else math.nan:>5.2f}"
            )
    print()
    print("throughput against bare Bolt: each round, then all rounds together")
    for side in sides[:-1]:
        for name in ("commands", "clicks"):
            per_round = [
                mine.rate / theirs.rate if theirs.rate else math.nan
                for mine, theirs in zip(side.phases[name], bare.phases[name], strict=True)
            ]
            print(
                f"  {side.name:<18} {name:<9} "
                + " ".join(f"{x:5.2f}x" for x in per_round)
                + f"   median {statistics.median(per_round):.2f}x"
            )
        for name in ("commands", "clicks", "overall"):
            r, b = side.total(name), bare.total(name)
            ratio = r.rate / b.rate if b.rate else math.nan
            p99 = r.ms(99)
            print(
                f"  {side.name:<18} {name:<9} Relais/bare {ratio:5.2f}x "
                f"({'meets' if ratio >= TARGET_RATIO else 'MISSES'} >= {TARGET_RATIO}x); "
                f"p99 {p99:6.1f} ms ({'meets' if p99 < TARGET_P99_MS else 'MISSES'} < "
                f"{TARGET_P99_MS:.0f} ms); p99 Relais/bare {p99 / b.ms(99):4.1f}x"
            )
    print()
    print(f"ack p99 in ms in each of the {rounds} rounds (stalls show as spikes)")
    for side in sides:
        for name in ("commands", "clicks"):
            print(
                f"  {side.name:<18} {name:<9} "
                + " ".join(f"{p.ms(99):6.1f}" for p in side.phases[name])
            )
    for side in sides[:-1]:
        print()
        print(f"work behind {side.name}'s acks (successful fake Slack calls after each phase):")
        for name in ("commands", "clicks"):
            work = side.work[name]
            phase = side.total(name)
            parts = ", ".join(f"{m} {work.got[m]}/{n}" for m, n in work.expected.items())
            total = phase.seconds + work.seconds or 1
            print(
                f"  {name:<9} {parts}; {'all arrived' if work.done else 'INCOMPLETE'}, "
                f"{work.seconds / rounds:.1f} s after the last ack of a round on average "
                f"(server CPU {work.server_cpu / (work.seconds or 1):.0%}): "
                f"{phase.requests} requests fully served in {total:.1f} s = "
                f"{phase.requests / total:.0f}/s"
            )
            for text_, n in work.told.most_common(3):
                print(f"  {'':<9} told through response_url: {n} x {text_!r}")
            if work.delays:
                late = Phase("delay", latencies=work.delays)
                over = sum(d > TRIGGER_S for d in work.delays)
                within = 1 - over / len(work.delays)
                print(
                    f"  {'':<9} ack -> {WHAT[name]}: p50 {late.ms(50):.0f} ms, p95 "
                    f"{late.ms(95):.0f} ms, max {late.ms(100):.0f} ms; {over} of "
                    f"{len(work.delays)} later than {TRIGGER_S:.0f} s"
                    + (
                        f" ({within:.1%} of the forms opened inside Slack's trigger window)"
                        if name == "commands"
                        else ""
                    )
                )
        print(f"  submissions approved in the database: {side.approved}/{side.expected_approved}")
        if side.full_gcs is not None:
            for name in ("commands", "clicks"):
                spans = side.total(name).spans
                pauses = [ms for at, ms in side.full_gcs if any(a <= at <= b for a, b in spans)]
                print(
                    f"  server full GCs during the {name} acks: {len(pauses)}"
                    + (
                        f", longest {max(pauses):.0f} ms, {sum(pauses):.0f} ms in all"
                        if pauses
                        else ""
                    )
                )
    print()
    for side in sides:
        errors = side.total("overall").errors
        for what, n in errors.most_common(5):
            print(f"  {side.name} errors: {n} x {what}")
        # Grouped by level, logger and the start of the message (timestamps dropped).
        logged = Counter(line.split(" ", 2)[-1][:130] for line in side.log_errors)
        for line, n in logged.most_common(4):
            print(f"  {side.name} logged {n} x {line}")


def print_burst(sides: list[Side], args: argparse.Namespace) -> None:
    """The burst mode's report: acks, then the forms (ack -> views.open) of each app."""
    print()
    print(
        f"{args.rounds} burst(s) of {args.burst} /submit at {args.concurrency} in flight, "
        "per app; latencies in ms"
    )
    print(
        f"{'app':<18} {'acked':>11} {'ack p50':>7} {'ack p99':>7} {'req/s':>6} "
        f"{'forms':>11} {'in 3 s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6} "
        f"{'sent->open p95':>14} {'server CPU':>10} {'load':>5}"
    )
    for side in sides:
        p = side.total("commands")
        work = side.work["commands"]
        opened = Phase("open", latencies=work.delays)
        sent = Phase("sent", latencies=work.sent_delays)
        within = sum(d <= TRIGGER_S for d in work.delays) / p.requests if p.requests else 0
        print(
            f"{side.name:<18} {len(p.latencies):>5}/{p.requests:<5} {p.ms(50):>7.1f} "
            f"{p.ms(99):>7.1f} {p.rate:>6.0f} {len(work.delays):>5}/{p.requests:<5} "
            f"{within:>7.1%} {opened.ms(50):>6.0f} {opened.ms(95):>6.0f} {opened.ms(99):>6.0f} "
            f"{opened.ms(100):>6.0f} {sent.ms(95):>14.0f} {p.share(p.server_cpu):>10.0%} "
            f"{statistics.fmean(p.load) if p.load else math.nan:>5.2f}"
        )
    print()
    for side in sides:
        work = side.work["commands"]
        per_round = work.within
        print(
            f"  {side.name}: forms within 3 s per round "
            + " ".join(str(n) for n in per_round)
            + f"; {work.seconds / args.rounds:.1f} s from a burst's last ack to its last form"
        )
        for text_, n in work.told.most_common(3):
            print(f"  {side.name}: told through response_url: {n} x {text_!r}")
        errors = side.total("commands").errors
        for what, n in errors.most_common(5):
            print(f"  {side.name} errors: {n} x {what}")
        logged = Counter(line.split(" ", 2)[-1][:130] for line in side.log_errors)
        for line, n in logged.most_common(4):
            print(f"  {side.name} logged {n} x {line}")
    relais = sides[0].work["commands"]
    share = sum(d <= TRIGGER_S for d in relais.delays) / max(1, sides[0].total("commands").requests)
    print()
    print(
        f"{sides[0].name}: {share:.1%} of the forms opened within {TRIGGER_S:.0f} s of the ack "
        f"({'meets' if share >= 0.95 else 'MISSES'} >= 95%)"
    )


# -- main -------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> None:
    from tests.slack_api import FakeSlack

    with tempfile.TemporaryDirectory(prefix="slack-ack-") as name:
        tmp = Path(name)
        trees: list[Path] = []
        sides: list[Side] = []
        try:
            async with contextlib.AsyncExitStack() as stack:
                connector = aiohttp.TCPConnector(limit=args.concurrency)
                timeout = aiohttp.ClientTimeout(total=30)
                session = await stack.enter_async_context(
                    aiohttp.ClientSession(connector=connector, timeout=timeout)
                )
                codes = [("relais", ROOT, args.database_url)]
                if args.compare:
                    trees.append(worktree(tmp, args.compare))
                    compare_db = args.database_url and f"{args.database_url}_compare"
                    codes.append((f"relais@{args.compare}", trees[0], compare_db))
                ids0: list[tuple[int, str]] = []
                for i, (label, code, db) in enumerate(codes):
                    fake = await stack.enter_async_context(FakeSlack())
                    side, ids = await start_relais(
                        args, label, code, tmp / f"side{i}", fake, session, db
                    )
                    sides.append(side)
                    warm = args.warmup // 2
                    if i == 0:
                        ids0 = ids
                        plan = make_plan(
                            ids[:warm],
                            ids[warm:],
                            args.teams,
                            args.commands,
                            round(args.clicks * args.double_clicks),
                            args.rounds,
                            fake.url,
                        )
                        side.plan = plan
                    else:
                        if [t for _, t in ids] != [t for _, t in ids0]:
                            raise RuntimeError(f"{label}: seeded submissions in other workspaces")
                        side.plan = retarget(
                            sides[0].plan,
                            {a: b for (a, _), (b, _) in zip(ids0, ids, strict=True)},
                            sides[0].fake.url,
                            fake.url,
                        )
                bare_fake = None
                if args.burst:
                    bare_fake = await stack.enter_async_context(FakeSlack())
                sides.append(
                    await start_bare(tmp, sides[0].fake.api_url, session, sides[0].plan, bare_fake)
                )
                for side in sides:
                    base = counts(side.fake) if side.fake else Counter[str]()
                    await fire(
                        session,
                        side.server.url + "/slack/events",
                        side.plan.warmup,
                        args.concurrency,
                        "warm-up",
                        side.server.proc.pid,
                    )
                    if side.fake:
                        warm_commands = sum(r.kind == "command" for r in side.plan.warmup)
                        warm_clicks = len(side.plan.warmup) - warm_commands
                        want = {"views.open": warm_commands}
                        if side is not sides[-1]:  # the bare app only acks the clicks
                            want.update(
                                {"chat.update": warm_clicks, "chat.postEphemeral": warm_clicks}
                            )
                        await wait_counts(side.fake, want, base, args.drain_timeout)
                for r in range(args.rounds):
                    order = sides[r % len(sides) :] + sides[: r % len(sides)]
                    print(
                        f"round {r + 1}/{args.rounds}: " + ", ".join(s.name for s in order),
                        flush=True,
                    )
                    for side in order:
                        for phase in ("commands",) if args.burst else ("commands", "clicks"):
                            await side.run(session, args, phase, r)
                for side in sides:
                    if side.database_url:
                        side.approved = await count_approved(side.database_url)
                        side.full_gcs = read_gc_log(side.gc_log) if side.gc_log else None
                    await side.server.stop()
                    side.log_errors = side.server.log_errors()
        finally:
            for side in sides:
                kill(side.server.proc)
            for tree in trees:
                drop_worktree(tree)
        if args.burst:
            print_burst(sides, args)
        else:
            print_report(sides, args.rounds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=1000, help="timed /submit commands")
    parser.add_argument("--clicks", type=int, default=1000, help="timed Approve clicks")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the sides alternate in")
    parser.add_argument(
        "--teams", type=int, default=20, help="workspaces (review channels) the cards spread over"
    )
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
        "--compare", metavar="REV", help="also run the Relais of this git commit, interleaved"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=300, help="seconds to wait for the work"
    )
    parser.add_argument(
        "--server-gc",
        choices=["default", "log", "no-full"],
        default="default",
        help="diagnosis: log the Relais server's full garbage collections (log), or also "
        "disable them (no-full); default: leave the server as it is",
    )
    parser.add_argument(
        "--burst",
        type=int,
        metavar="N",
        help="issue 14's form burst: N /submit at once per app and round, no clicks; "
        "reports the share of forms opened within Slack's 3 s trigger window",
    )
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare-views-open", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        print(json.dumps(asyncio.run(seed(args.teams, args.seed))))
        return
    if args.serve_bare:
        serve_bare(args.host, args.port, args.api_url, args.parent, args.bare_views_open)
        return
    if not 0 <= args.double_clicks < 1 or args.warmup < 2 or args.rounds < 1 or args.teams < 1:
        parser.error(
            "--double-clicks must be in [0, 1), --warmup at least 2, --rounds and "
            "--teams at least 1"
        )

    if args.burst is not None:
        if args.burst < 1:
            parser.error("--burst must be at least 1")
        # One burst per app and round: every command is timed, no clicks.
        args.commands, args.clicks = args.burst * args.rounds, 0

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
