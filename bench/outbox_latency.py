"""What a person waits for when many people submit at once: Approve -> the author's DM,
form -> review card, and a DM queued behind ten review cards (head-of-line).

    .venv/bin/python bench/outbox_latency.py                       # this code only
    .venv/bin/python bench/outbox_latency.py --before /tmp/relais-before
    .venv/bin/python bench/outbox_latency.py --before /tmp/relais-before \\
        --database-url postgresql://postgres@127.0.0.1:5432/relais_latency

``--before`` names a checkout of earlier code (``git worktree add /tmp/relais-before
<commit>``): each phase then runs on both, alternating (before, after, before, ...), each
run in a fresh process of its own tree, and the ratio after/before is printed.

A run (``--worker``): a fake Slack Web API (``tests.slack_api.FakeSlack``, always this
checkout's, in a child process so that its clock and CPU are not the dispatcher's) limits
``chat.postMessage`` and ``chat.update`` per channel like Slack: a token bucket of
``--slack-burst`` messages refilled at ``--slack-rate`` per second (429 with Retry-After
beyond it; Slack publishes "about one a second, short bursts allowed"). The real
``Dispatcher`` sends through the real ``SlackPort`` (default settings of the code under
test) on the real clock, woken by each commit as in ``relais serve`` (poll 1 s).

Scenarios:

- ``approve N``: N people submit at once: N review cards (each with a ``--photo-mb``
  photo, uploaded by the port) are queued in the review channel; a CM approves each card
  as soon as it is on screen: one transaction queues the card's update and the author's
  DM. Reported: form -> card (queued -> Slack accepted it) and Approve -> DM (commit of
  the approval -> Slack accepted the DM), p50/p99, and the cards' floor: the k-th card of
  a burst cannot be accepted before max(0, k - burst + 1) / rate seconds (the card updates
  share the channel too, so here the real floor is higher).
- ``cards N``: N people submit at once and nobody approves: form -> card alone, against
  the floor (the channel's burst, then its rate).
- ``hol``: ten review cards in one channel, then ten DMs to ten other people, queued
  together: how long each DM waits (head-of-line delay).

Every run waits until Slack accepted every card, update and DM it queued, and reports
those counts, 429s and duplicates. The load of the machine is printed per run: the load
average (1 min) and the CPU used by other processes (the whole machine's busy time from
/proc/stat, minus this run's processes), as a share of all cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
TEAM = "T1"
REVIEW = "CREVIEW"


# -- the fake Slack, in a child process ------------------------------------------------


def serve_slack(conn: Connection, root: str, rate: float, burst: int) -> None:
    """The child process: FakeSlack (from ``root``) until told to stop."""
    sys.path.insert(0, root)
    from tests.slack_api import FakeSlack

    async def main() -> None:
        async with FakeSlack(team_id=TEAM) as fake:
            for method in ("chat.postMessage", "chat.update"):
                fake.rate_limit(method, rate, scope="channel", burst=burst)
            conn.send((fake.api_url, fake.token))
            while True:
                ask = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
                if ask == "stop":
                    break
                seen = [
                    (
                        c.method,
                        str(c.params.get("channel")),
                        str(c.params.get("text")),
                        c.ok,
                        c.rate_limited,
                        c.at,
                    )
                    for c in fake.calls
                    if c.method in ("chat.postMessage", "chat.update")
                ]
                conn.send(seen)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            conn.send(usage.ru_utime + usage.ru_stime)

    asyncio.run(main())


@contextlib.contextmanager
def slack_process(rate: float, burst: int) -> Iterator[tuple[str, str, Connection]]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve_slack, args=(child, str(HERE), rate, burst), daemon=True
    )
    process.start()
    try:
        api_url, token = parent.recv()
        yield api_url, token, parent
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


# -- machine load ----------------------------------------------------------------------


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields) - idle) / tick, sum(fields) / tick


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- one run (--worker) ----------------------------------------------------------------


def noisy_jpeg(megabytes: float, seed: int) -> bytes:
    """A JPEG of about ``megabytes`` (noise does not compress)."""
    from PIL import Image as PILImage

    side = max(16, int((megabytes * 1024 * 1024 / 3 / 0.9) ** 0.5))
    rng = random.Random(seed)
    raw = rng.randbytes(side * side * 3)
    out = io.BytesIO()
    PILImage.frombytes("RGB", (side, side), raw).save(out, "JPEG", quality=95)
    return out.getvalue()


async def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    import hashlib

    from sqlalchemy import text

    from adapters.slack.port import SlackClients, SlackPort
    from bot import notify
    from bot.core import Core
    from bot.outbox import Dispatcher, utcnow
    from bot.settings import Settings, async_database_url
    from bot.ui import Image, Message, Paragraph
    from domain import MemberView, Platform
    from storage.db import Database, upgrade

    tmp = Path(tempfile.mkdtemp(prefix="relais-latency-"))
    if args.database_url:
        url = async_database_url(args.database_url)
        db0 = Database(url)
        async with db0.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await db0.dispose()
    else:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(_env_file=None, database_url=url, media_dir=tmp / "media")
    core = Core(settings, Database(url))

    people = args.n if args.scenario in ("approve", "cards") else 10
    now = utcnow()
    async with core.db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform.SLACK, TEAM, locale="en", timezone="UTC", now=now
        )
        members = []
        for i in range(people):
            row = await r.members.get_or_create(
                ws.id, f"U{i:04d}", display_name=f"P{i}", locale="en", timezone=None, now=now
            )
            members.append(
                MemberView(
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
            )
    photos: list[str | None] = [None] * people
    if args.scenario in ("approve", "cards") and args.photo_mb > 0:
        for i in range(people):
            data = noisy_jpeg(args.photo_mb, i)
            temp = core.store.new_temp_path()
            temp.write_bytes(data)
            photos[i] = core.store.commit(temp, hashlib.sha256(data).hexdigest(), "jpg")

    def card(i: int, state: str) -> Message:
        text_ = f"card {i} {state}"
        blocks: list[Any] = [Paragraph(text_)]
        if photos[i]:
            blocks.append(Image(photos[i] or "", "photo"))
        return Message(text_, tuple(blocks))

    def dm(i: int, what: str) -> Message:
        return Message(f"dm {i} {what}", (Paragraph(f"dm {i} {what}"),))

    with slack_process(args.slack_rate, args.slack_burst) as (api_url, token, conn):
        clients = SlackClients(api_url, bot_token=token)
        port = SlackPort(clients, core.relay.uploads, core.store, core.clock)
        dispatcher = Dispatcher(core.db, {"slack": port}, clock=core.clock)
        stop = asyncio.Event()
        queued: dict[str, float] = {}  # what -> monotonic time of its commit
        card_ids: dict[int, int] = {}

        load0, cpu0, busy0 = os.getloadavg()[0], own_cpu(), machine_busy()
        started = time.monotonic()
        task = asyncio.create_task(dispatcher.run_forever(stop, poll=1.0))

        async def submit(i: int) -> None:
            async with core.db.transaction() as r:
                card_ids[i] = await notify.channel_post(
                    r,
                    workspace_id=ws.id,
                    platform="slack",
                    channel=REVIEW,
                    message=card(i, "pending"),
                    now=utcnow(),
                )
            queued[f"card {i} pending"] = time.monotonic()
            dispatcher.wake()

        async def approve(i: int) -> None:
            async with core.db.transaction() as r:
                await notify.replace(r, card_ids[i], card(i, "approved"), now=utcnow())
                await notify.dm(r, members[i], dm(i, "approved"), now=utcnow())
            queued[f"dm {i} approved"] = time.monotonic()
            dispatcher.wake()

        expected: Counter[tuple[str, str]] = Counter()
        if args.scenario == "cards":
            await asyncio.gather(*(submit(i) for i in range(people)))
            expected.update({("chat.postMessage", REVIEW): people})
        elif args.scenario == "approve":
            await asyncio.gather(*(submit(i) for i in range(people)))
            # The CM approves each card as soon as it is on screen (its row is sent).
            approved: set[int] = set()
            approvals: list[asyncio.Task[None]] = []
            while len(approved) < people:
                async with core.db.read() as r:
                    for i, row_id in card_ids.items():
                        if i not in approved:
                            row = await r.outbox.get(row_id)
                            if row is not None and row.status == "sent":
                                approved.add(i)
                                approvals.append(asyncio.create_task(approve(i)))
                await asyncio.sleep(0.02)
            await asyncio.gather(*approvals)
            expected.update({("chat.postMessage", REVIEW): people})
            expected.update({("chat.update", REVIEW): people})
            expected.update({("chat.postMessage", m.external_id): 1 for m in members})
        else:  # hol: ten cards, then ten DMs, queued together
            async with core.db.transaction() as r:
                for i in range(10):
                    card_ids[i] = await notify.channel_post(
                        r,
                        workspace_id=ws.id,
                        platform="slack",
                        channel=REVIEW,
                        message=card(i, "pending"),
                        now=utcnow(),
                    )
                for m in members:
                    await notify.dm(r, m, dm(int(m.external_id[1:]), "hello"), now=utcnow())
            at = time.monotonic()
            queued.update({f"card {i} pending": at for i in range(10)})
            queued.update({f"dm {i} hello": at for i in range(10)})
            dispatcher.wake()
            expected.update({("chat.postMessage", REVIEW): 10})
            expected.update({("chat.postMessage", m.external_id): 1 for m in members})

        def done(seen: list[Any]) -> bool:
            got = Counter((method, ch) for method, ch, _, ok, _, _ in seen if ok)
            # A DM is posted to the user id; count it there.
            return all(got[key] >= n for key, n in expected.items())

        while True:
            conn.send("calls")
            seen = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            if done(seen) or time.monotonic() - started > args.timeout:
                break
            await asyncio.sleep(0.2)
        seconds = time.monotonic() - started
        cpu = own_cpu() - cpu0
        busy1 = machine_busy()
        load1 = os.getloadavg()[0]
        stop.set()
        dispatcher.wake()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)
        if hasattr(clients, "close"):  # earlier code has no shared session to close
            await clients.close()
        conn.send("stop")
        fake_cpu = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await core.db.dispose()

    accepted: dict[str, float] = {}
    duplicates = 0
    for _, _, text_, ok, _, at in seen:
        if ok:
            if text_ in accepted:
                duplicates += 1
            accepted.setdefault(text_, at)
    got = Counter((method, ch) for method, ch, _, ok, _, _ in seen if ok)
    cores = os.cpu_count() or 1
    machine = busy1[0] - busy0[0]
    other = max(0.0, machine - cpu - fake_cpu) / (seconds * cores)
    cards = sorted(
        accepted[f"card {i} pending"] - queued[f"card {i} pending"]
        for i in range(len(card_ids))
        if f"card {i} pending" in accepted
    )
    floor = [max(0.0, (k - args.slack_burst + 1) / args.slack_rate) for k in range(len(cards))]
    dms = [
        accepted[key] - at
        for key, at in queued.items()
        if key.startswith("dm ") and key in accepted
    ]
    import adapters.slack.port as code

    return {
        "code": code.__file__,
        "scenario": args.scenario,
        "n": people,
        "seconds": seconds,
        "cards": cards,
        "floor": floor,
        "dms": dms,
        "sent": dict(
            Counter(f"{m}:{'review' if ch == REVIEW else 'dm'}" for m, ch in got.elements())
        ),
        "expected": sum(expected.values()),
        "delivered": sum(min(got[k], n) for k, n in expected.items()),
        "rate_limited": sum(1 for *_, limited, _ in seen if limited),
        "duplicates": duplicates,
        "load": (load0 + load1) / 2,
        "other_cpu": other,
        "cpu": cpu / seconds,
    }


# -- comparing (--before) --------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def run_in(tree: Path, argv: list[str]) -> dict[str, Any]:
    """One worker run in ``tree`` (its code), with this checkout's bench and fake Slack."""
    python = tree / ".venv" / "bin" / "python"
    if not python.exists():
        python = HERE / ".venv" / "bin" / "python"
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--worker", "--root", str(tree), *argv],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def describe(side: str, result: dict[str, Any]) -> str:
    """One line of the table (card and DM latencies in seconds, floor p99, load)."""
    cards, floor, dms = result["cards"], result["floor"], result["dms"]
    over = [c - f for c, f in zip(cards, floor, strict=True)]
    return (
        f"{side:<7} {result['scenario']:<8} {result['n']:>3} "
        f"{pct(cards, 50):>7.2f} {pct(cards, 99):>7.2f} {pct(floor, 99):>6.2f} "
        f"{pct(over, 99):>7.2f} {pct(dms, 50):>7.2f} {pct(dms, 99):>7.2f} "
        f"{result['delivered']:>5}/{result['expected']:<5} {result['rate_limited']:>4} "
        f"{result['duplicates']:>4} {result['seconds']:>6.1f} {result['load']:>5.2f} "
        f"{result['other_cpu'] * 100:>5.0f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--database-url", help="a PostgreSQL database the bench may reset")
    parser.add_argument("--sizes", default="1,10,50", help="submitters per approve run")
    parser.add_argument("--card-sizes", default="1,5,50", help="submitters per cards run")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each side per phase")
    parser.add_argument("--slack-rate", type=float, default=1.0)
    parser.add_argument("--slack-burst", type=int, default=5)
    parser.add_argument("--photo-mb", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=HERE, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", default="approve", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        sys.path.insert(0, str(args.root))
        print(json.dumps(asyncio.run(run_worker(args))))
        return

    common = [
        f"--slack-rate={args.slack_rate}",
        f"--slack-burst={args.slack_burst}",
        f"--photo-mb={args.photo_mb}",
        f"--timeout={args.timeout}",
    ]
    if args.database_url:
        common.append(f"--database-url={args.database_url}")
    phases = [
        *(("approve", int(n)) for n in args.sizes.split(",") if n),
        *(("cards", int(n)) for n in args.card_sizes.split(",") if n),
        ("hol", 10),
    ]
    sides = [("before", args.before), ("after", HERE)] if args.before else [("after", HERE)]
    print(
        f"backend: {'PostgreSQL' if args.database_url else 'SQLite'}; Slack per channel: "
        f"{args.slack_rate:g}/s, burst {args.slack_burst}; photo {args.photo_mb:g} MB; "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'code':<7} {'scenario':<8} {'n':>3} {'card50':>7} {'card99':>7} {'floor':>6} "
        f"{'over99':>7} {'dm50':>7} {'dm99':>7} {'delivered':>11} {'429':>4} {'dup':>4} "
        f"{'secs':>6} {'load':>5} {'other':>6}"
    )
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for scenario, n in phases:
        for _ in range(args.rounds):
            for side, tree in sides:
                result = run_in(tree, [*common, f"--scenario={scenario}", f"--n={n}"])
                results.setdefault((side, scenario, n), []).append(result)
                print(describe(side, result), flush=True)
    if args.before:
        print("\nratio after/before (median over rounds): card p99, DM p50, DM p99")
        for scenario, n in phases:
            b, a = results[("before", scenario, n)], results[("after", scenario, n)]

            def med(rs: list[dict[str, Any]], key: str, p: float) -> float:
                return statistics.median(pct(r[key], p) for r in rs)

            ratios = [
                med(a, "cards", 99) / max(med(b, "cards", 99), 1e-9),
                med(a, "dms", 50) / max(med(b, "dms", 50), 1e-9),
                med(a, "dms", 99) / max(med(b, "dms", 99), 1e-9),
            ]
            print(f"{scenario:<8} {n:>3}  " + "  ".join(f"{x:6.2f}x" for x in ratios))


if __name__ == "__main__":
    main()
