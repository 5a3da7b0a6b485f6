"""How long ``/relais stats`` takes on PostgreSQL, and whether it grows with the history.

    .venv/bin/python bench/stats.py [--members 5000] [--submissions 100000] [--scale 10]
        [--runs 40] [--rounds 4] [--breakdown]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates two throwaway databases (``relais_stats_bench_<pid>_small`` and ``_large``, through
``--admin-url``; dropped at the end, also on error), migrates them and bulk-loads them with
SQL (not through the services): one workspace in Europe/Paris, 8 sites, 24 campaigns,
``--members`` members (nine in ten ambassadors, 5 CMs), and ``--submissions`` submissions
over two years up to "now" (about 84% approved, 10% rejected, 4% withdrawn, 2% sent back;
one in twenty sensitive and escalated, with its audit row; one in five, of the last two
years, sent to the campaign running on its day). The large database has the same rows
(same random seed) plus ``--scale - 1`` times as many submissions *before* the 12 weeks
shown, so what the command shows is identical. After ``VACUUM (ANALYZE)`` it times, warm,
in ``--rounds`` rounds alternating between the two databases (so a change in the machine's
load weighs on both alike), ``--runs`` runs per database of:

- **figures**: ``StatsService.compute`` for the whole workspace (every read and figure);
- **with chart**: ``/relais stats`` as a CM through the action table (``handle_command``):
  the figures, the PNG chart drawn in a worker thread and stored, the DM that carries it
  queued in the outbox, and the reply card.

It prints the medians and 90th percentiles, the ratio of the medians (large / small: does
the cost follow the window or the history?), the load average after each round (2 cores
shared with other work give noisy numbers), and with ``--breakdown`` each query of the
figures on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.machine import throwaway_database
from bot.actions import handle_command
from bot.core import Core
from bot.settings import Settings, async_database_url
from domain import StatsView, quantile
from storage.db import Database, upgrade_async
from storage.repositories import Repos
from storage.repositories.stats import Scope

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WINDOW = timedelta(weeks=12)
SPAN = timedelta(days=730)
SITES, CAMPAIGNS, CMS = 8, 24, 5
LOADED = ("members", "member_roles", "submissions", "review_events", "campaigns", "sites")


async def maintenance(db: Database, *statements: str) -> None:
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await conn.execute(text(statement))


BASE_SQL = (
    """INSERT INTO workspaces (platform, external_id, name, locale, timezone, approved_total,
                               created_at)
       VALUES ('slack', 'TBENCH', 'Bench', 'en', 'Europe/Paris', 0, :t0)""",
    """INSERT INTO sites (workspace_id, name, key, created_at)
       SELECT 1, 'Site ' || g, 'site ' || g, :t0 FROM generate_series(1, :sites) AS g""",
    """INSERT INTO members (workspace_id, external_id, display_name, locale, timezone,
                            site_id, snoozed_until, nudges_opt_out, created_at)
       SELECT 1, 'U' || lpad(g::text, 9, '0'), 'Member ' || g, NULL, NULL,
              CASE WHEN g % 10 < 8 THEN 1 + g % :sites END, NULL, false,
              CAST(:t0 AS timestamptz) + g * interval '3 hours'
       FROM generate_series(1, :members) AS g""",
    """INSERT INTO member_roles (member_id, role, granted_at, granted_by_id)
       SELECT id, 'cm', created_at, NULL FROM members WHERE id <= :cms
       UNION ALL
       SELECT id, 'ambassador', created_at + interval '1 hour', 1 FROM members
        WHERE id > :cms AND id % 10 <> 9""",
    """INSERT INTO campaigns (workspace_id, title, brief, starts_on, ends_on,
                             created_by_id, created_at)
       SELECT 1, 'Campaign ' || k, '', CAST(:now AS date) - 10 - 30 * k,
              CAST(:now AS date) + 20 - 30 * k, 1, :t0
       FROM generate_series(0, :campaigns - 1) AS k""",
)

# ``count`` submissions uniformly over [from, to), authors skewed towards regulars.
SUBMISSIONS_SQL = """
WITH g AS MATERIALIZED (
    SELECT i, random() AS r, random() AS a, random() AS d, random() AS t, random() AS c
    FROM generate_series(1, :count) AS i
), h AS (
    SELECT i, a, c, d * interval '48 hours' AS wait,
           CAST(:from AS timestamptz)
             + t * (CAST(:to AS timestamptz) - CAST(:from AS timestamptz)) AS created,
           CASE WHEN r < 0.84 THEN 'approved' WHEN r < 0.94 THEN 'rejected'
                WHEN r < 0.98 THEN 'withdrawn' ELSE 'changes_requested' END AS status
    FROM g
)
INSERT INTO submissions (workspace_id, author_id, caption, site_id, campaign_id, status,
                         people_consented, sensitive, client_key, revision, created_at,
                         updated_at, decided_at, decided_by_id, decision_reason)
SELECT 1, :cms + 1 + CAST(floor((:members - :cms - 1) * a * a) AS integer),
       'Photo ' || i, CASE WHEN c < 0.7 THEN 1 + i % :sites END,
       CASE WHEN c < 0.2 AND CAST(:now AS date) + 20 - CAST(created AS date) < 30 * :campaigns
            THEN 1 + (CAST(:now AS date) + 20 - CAST(created AS date)) / 30 END,
       status, true, i % 20 = 0, :tag || '-' || i, 1, created, created + wait,
       CASE WHEN status IN ('approved', 'rejected') THEN created + wait END,
       CASE WHEN status IN ('approved', 'rejected') THEN 1 + i % :cms END, NULL
FROM h
"""

ESCALATIONS_SQL = """
INSERT INTO review_events (submission_id, actor_id, action, from_status, to_status, reason, at)
SELECT id, 1, 'escalated', 'pending', 'escalated', NULL, created_at + interval '1 hour'
FROM submissions WHERE sensitive AND client_key LIKE :tag || '-%'
"""


async def execute(db: Database, sql: str, seed: float | None = None, **params: Any) -> None:
    async with db.engine.begin() as conn:
        if seed is not None:
            # The same seed gives the same rows in both databases (same window content).
            await conn.execute(text("SELECT setseed(:seed)"), {"seed": seed})
        await conn.execute(text(sql), params)


async def load_base(db: Database, members: int) -> None:
    params = {
        "t0": NOW - SPAN * 11,
        "now": NOW,
        "sites": SITES,
        "members": members,
        "cms": CMS,
        "campaigns": CAMPAIGNS,
    }
    for sql in BASE_SQL:
        names = {k: v for k, v in params.items() if f":{k}" in sql}
        await execute(db, sql, **names)


async def load_submissions(
    db: Database, members: int, count: int, start: datetime, end: datetime, tag: str, seed: float
) -> None:
    await execute(
        db,
        SUBMISSIONS_SQL,
        seed,
        count=count,
        **{"from": start, "to": end},
        now=NOW,
        cms=CMS,
        members=members,
        sites=SITES,
        campaigns=CAMPAIGNS,
        tag=tag,
    )
    await execute(db, ESCALATIONS_SQL, tag=tag)


async def total(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM submissions"))).scalar_one())


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> list[float]:
    await work()  # warm-up
    await work()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


async def per_query(core: Core, runs: int) -> None:  # medians of ``runs`` runs
    """Each read of ``compute`` on its own (median ms), to see which one grows."""
    scope = Scope(1)
    bounds = [NOW - WINDOW + timedelta(weeks=k) for k in range(13)]
    start, month = bounds[0], NOW - timedelta(days=19)
    calls: dict[str, Callable[[Repos], Awaitable[Any]]] = {
        "weekly": lambda r: r.stats.weekly(scope, bounds),
        "active_authors": lambda r: r.stats.active_authors(scope, NOW - timedelta(days=30)),
        "decisions": lambda r: r.stats.decisions(scope, start),
        "escalated_since": lambda r: r.stats.escalated_since(scope, start),
        "ambassador_counts": lambda r: r.stats.ambassador_counts(1, None, month),
        "sites": lambda r: r.stats.sites(1),
        "per_site": lambda r: r.stats.per_site(scope, start, month),
        "campaigns": lambda r: r.stats.campaign_counts(scope, list(range(1, 5))),
    }
    for name, call in calls.items():

        async def once(call: Callable[[Repos], Awaitable[Any]] = call) -> None:
            async with core.db.read() as r:
                await call(r)

        samples = await timed(runs, once)
        print(f"    {name:18} {statistics.median(samples):7.1f} ms")


class Side:
    """One database (a history size) and a core on it."""

    def __init__(self, label: str, url: str, media: Path) -> None:
        self.label = label
        self.db = Database(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            media_dir=media,
            relais_timezone="Europe/Paris",
            relais_locale="en",
        )
        self.core = Core(settings, self.db, clock=lambda: NOW)
        self.figures: list[float] = []
        self.command: list[float] = []

    async def load(self, members: int, submissions: int, scale: int) -> None:
        started = time.perf_counter()
        await load_base(self.db, members)
        tables = (f"ALTER TABLE {t} SET (autovacuum_enabled = off)" for t in LOADED)
        await maintenance(self.db, *tables)
        # The 12 weeks shown, and the rest of the history before them: the same rows in
        # both databases; the larger one has (scale - 1) x submissions more, all older.
        in_window = round(submissions * WINDOW / SPAN)
        await load_submissions(self.db, members, in_window, NOW - WINDOW, NOW, "w", 0.25)
        older = submissions - in_window
        await load_submissions(self.db, members, older, NOW - SPAN, NOW - WINDOW, "h1", 0.5)
        if scale > 1:
            more, span = submissions * (scale - 1), SPAN * scale
            await load_submissions(self.db, members, more, NOW - span, NOW - SPAN, "h2", 0.75)
        await maintenance(self.db, "VACUUM (ANALYZE)")
        async with self.db.read() as r:
            self.cm = await r.members.view(1)
        print(
            f"{self.label}: {await total(self.db)} submissions, {members} members,"
            f" loaded in {time.perf_counter() - started:.0f} s"
        )

    async def round(self, runs: int) -> None:
        async def figures() -> None:
            await self.core.stats.compute(1, StatsView.WORKSPACE)

        async def command() -> None:
            reply = await handle_command(self.core, self.cm, "/relais", "stats")
            assert reply.message is not None and not reply.failed, reply

        self.figures += await timed(runs, figures)
        self.command += await timed(runs, command)

    async def describe(self, breakdown: bool, runs: int) -> None:
        stats = await self.core.stats.compute(1, StatsView.WORKSPACE)
        shown = sum(w.submitted for w in stats.weeks)
        f, c = self.figures, self.command
        print(
            f"{self.label}: figures median {statistics.median(f):6.1f} ms"
            f" p90 {quantile(f, 0.9) or 0:6.1f} ms; with chart median"
            f" {statistics.median(c):6.1f} ms p90 {quantile(c, 0.9) or 0:6.1f} ms"
            f"  ({shown} submissions in the 12 weeks, {stats.decision.count} decisions)"
        )
        if breakdown:
            await per_query(self.core, runs)


async def run(args: argparse.Namespace, small_url: str, large_url: str) -> None:
    small_url, large_url = async_database_url(small_url), async_database_url(large_url)
    await upgrade_async(small_url)
    await upgrade_async(large_url)
    media = tempfile.TemporaryDirectory(prefix="relais-stats-bench-")
    small = Side("history 1x", small_url, Path(media.name))
    large = Side(f"history {args.scale}x", large_url, Path(media.name))
    try:
        await small.load(args.members, args.submissions, 1)
        await large.load(args.members, args.submissions, args.scale)
        # Rounds alternate between the two (the order rotating), so a change in the
        # machine's load weighs on both alike.
        per_round = max(1, args.runs // args.rounds)
        for index in range(args.rounds):
            sides = (small, large) if index % 2 == 0 else (large, small)
            for side in sides:
                await side.round(per_round)
            print(f"  round {index + 1}/{args.rounds}: {load()}")
        await small.describe(args.breakdown, per_round)
        await large.describe(args.breakdown, per_round)
        ratio_f = statistics.median(large.figures) / statistics.median(small.figures)
        ratio_c = statistics.median(large.command) / statistics.median(small.command)
        print(
            f"ratio {args.scale}x history / 1x (medians): figures {ratio_f:.2f},"
            f" with chart {ratio_c:.2f} (target <= 1.3)"
        )
        worst_f = max(statistics.median(s.figures) for s in (small, large))
        worst_c = max(statistics.median(s.command) for s in (small, large))
        met = worst_f < 300 and worst_c < 1000
        print(f"targets (figures < 300 ms, with chart < 1 s): {'met' if met else 'MISSED'}")
    finally:
        await small.db.dispose()
        await large.db.dispose()
        media.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--runs", type=int, default=40, help="timed runs per side")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the sides")
    parser.add_argument("--breakdown", action="store_true", help="also time each query")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")

    async def go() -> None:
        async with (
            throwaway_database(args.admin_url, f"relais_stats_bench_{os.getpid()}_small") as small,
            throwaway_database(args.admin_url, f"relais_stats_bench_{os.getpid()}_large") as large,
        ):
            await run(args, small, large)

    args = parser.parse_args()
    print(f"bench/stats.py on {os.uname().nodename}: {load()}")
    asyncio.run(go())


if __name__ == "__main__":
    main()
