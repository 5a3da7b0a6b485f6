"""How long one weekly digest takes on PostgreSQL, and whether it grows with the history.

    .venv/bin/python bench/digest.py [--members 10000] [--submissions 100000] [--scale 10]
        [--runs 20] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--database-url postgresql://...] [--explain]

Creates a throwaway database (``relais_digest_bench_<pid>`` through ``--admin-url``; it is
dropped at the end, also on error) or resets the ``public`` schema of ``--database-url``,
migrates it, and bulk-loads with SQL (not through the services): one Slack workspace, a
charter, sites, campaigns (one running), members (most of them ambassadors, a few CMs),
``--submissions`` submissions over two years before the measured week (most approved,
some rejected, withdrawn or sent back) with a photo per approval, and the measured week
itself: 150 approvals by 80 authors (up to three photos each), 20 rejections, 30 pending,
5 withdrawn, 10 newcomers. After ``VACUUM (ANALYZE)`` it times ``Digests.build`` for that
week (warm-up, then median and p95 of ``--runs``), then each repository call of
``build_in`` on its own. Beside each build it times the round-trip floor: as many trivial
``SELECT 1`` as the build sends statements, in one ``db.read()`` session like the build
(alternately before and after each build), so the report says how far the build is from
what its number of round trips alone costs; and the machine's busy CPU while timing.
Each phase also times one site's local digest of the same week (``Digests.build`` with
``site``: the first site, about a tenth of the week's approvals), the build each site
with a digest channel costs at the slot.
Then it adds ``--scale - 1`` times as many older submissions (same members, same two
years, so the week is unchanged) and measures again. The ratio of the
two medians says whether the cost follows the week's content or the history.

``approved_total`` (milestones) counts every approval before the week's end: it is also
timed right after the load with plain ``ANALYZE``, before VACUUM sets the visibility map
(an index-only plan depends on it). Autovacuum is switched off on the loaded tables so
that each phase is measured in a known state. The script prints the EXPLAIN (ANALYZE,
BUFFERS) of ``approved_total`` at the larger history, and of the heaviest statement when
the ratio is above 1.5 (or with ``--explain``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text

from bench.machine import machine_cpu, reset_schema, throwaway_database
from bot.core import Core
from bot.services.digest import HIGHLIGHTS, Digests
from bot.services.submissions import load_view
from bot.settings import Settings, async_database_url
from storage.db import Database, upgrade_async

# The measured week: Friday 16:00 to Friday 16:00, Paris time (the default schedule).
END = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
START = END - timedelta(days=7)
TODAY = date(2026, 11, 20)
HISTORY_TO = START - timedelta(days=3)  # decisions come within 48 h: all before the week
HISTORY_FROM = HISTORY_TO - timedelta(days=730)
T0 = HISTORY_FROM - timedelta(days=30)

SITES = 8
CAMPAIGNS = 24
CMS = 5
NEWCOMERS = 10
# The week: (status, submissions, distinct authors).
WEEK = (("approved", 150, 80), ("rejected", 20, 20), ("pending", 30, 30), ("withdrawn", 5, 5))
WEEK_APPROVED = next(count for status, count, _ in WEEK if status == "approved")
LOADED_TABLES = ("members", "member_roles", "submissions", "media", "submission_media")


# -- the database -------------------------------------------------------------------------


async def maintenance(db: Database, *statements: str) -> None:
    """Run statements outside a transaction (VACUUM refuses to run inside one)."""
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await conn.execute(text(statement))


# -- bulk loading -------------------------------------------------------------------------

MEMBERS_SQL = """
INSERT INTO members (workspace_id, external_id, display_name, locale, timezone, site_id,
                     snoozed_until, nudges_opt_out, created_at)
SELECT CAST(:ws AS integer), 'U' || lpad(g::text, 9, '0'), 'Member ' || g,
       CASE WHEN g % 4 = 0 THEN 'fr' END, CASE WHEN g % 5 = 0 THEN 'Europe/Paris' END,
       CASE WHEN g % 10 < 7 THEN CAST(:s0 AS integer) + g % CAST(:sites AS integer) END,
       NULL, g % 50 = 0,
       CASE WHEN g > CAST(:old AS integer)
            THEN CAST(:start AS timestamptz) + (g - CAST(:old AS integer) - 1) * interval '16 hours'
                 + interval '2 hours'
            ELSE CAST(:t0 AS timestamptz) + g * interval '10 minutes' END
FROM generate_series(1, CAST(:n AS integer)) AS g
"""

# CMs decide; the admin is the first CM; ambassadors are nine members in ten, and the
# newcomers (the last members) became ambassadors during the measured week.
ROLES_SQL = """
INSERT INTO member_roles (member_id, role, granted_at, granted_by_id)
SELECT id, 'cm', created_at, CAST(NULL AS integer) FROM members
 WHERE workspace_id = CAST(:ws AS integer) AND id < CAST(:m0 AS integer) + CAST(:cms AS integer)
UNION ALL
SELECT id, 'admin', created_at, CAST(NULL AS integer) FROM members WHERE id = CAST(:m0 AS integer)
UNION ALL
SELECT id, 'ambassador', created_at + interval '1 hour', CAST(:m0 AS integer) FROM members
 WHERE workspace_id = CAST(:ws AS integer)
   AND id >= CAST(:m0 AS integer) + CAST(:cms AS integer)
   AND ((id - CAST(:m0 AS integer)) % 10 <> 9 OR id >= CAST(:m0 AS integer) + CAST(:old AS integer))
"""

CAMPAIGNS_SQL = """
INSERT INTO campaigns (workspace_id, title, brief, starts_on, ends_on, created_by_id,
                       created_at)
SELECT CAST(:ws AS integer), 'Campaign ' || k, 'Show us your best shot, round ' || k,
       CAST(:today AS date) - 10 - 30 * k, CAST(:today AS date) + 20 - 30 * k,
       CAST(:m0 AS integer), CAST(CAST(:today AS date) - 17 - 30 * k AS timestamptz)
FROM generate_series(0, CAST(:campaigns AS integer) - 1) AS k
"""

# Old submissions, uniformly over [hist_from, hist_to); authors skewed towards a core of
# regulars; ~84% approved, 10% rejected, 4% withdrawn, 2% sent back for changes.
HISTORY_SQL = """
WITH g AS MATERIALIZED (
    SELECT i, random() AS r, random() AS a, random() AS d, random() AS t, random() AS c
    FROM generate_series(1, CAST(:count AS integer)) AS i
), h AS (
    SELECT i, a, c, d * interval '48 hours' AS wait,
           CAST(:hist_from AS timestamptz)
           + t * (CAST(:hist_to AS timestamptz) - CAST(:hist_from AS timestamptz)) AS created,
           CASE WHEN r < 0.84 THEN 'approved' WHEN r < 0.94 THEN 'rejected'
                WHEN r < 0.98 THEN 'withdrawn' ELSE 'changes_requested' END AS status
    FROM g
)
INSERT INTO submissions (workspace_id, author_id, caption, site_id, campaign_id, status,
                         people_consented, sensitive, client_key, revision, created_at,
                         updated_at, decided_at, decided_by_id, decision_reason)
SELECT CAST(:ws AS integer),
       CAST(:m0 AS integer) + CAST(:cms AS integer)
           + CAST(floor(CAST(:authors AS integer) * a * a) AS integer),
       'Photo ' || i || ': ' || repeat('x', 40 + i % 80),
       CASE WHEN c < 0.7 THEN CAST(:s0 AS integer) + i % CAST(:sites AS integer) END,
       CASE WHEN c < 0.2
            THEN CAST(:c0 AS integer) + 1 + i % (CAST(:campaigns AS integer) - 1) END,
       status, true, i % 20 = 0, CAST(:tag AS text) || '-' || i, 1 + (i % 17 = 0)::int,
       created,
       CASE WHEN status IN ('approved', 'rejected') THEN created + wait
            ELSE created + interval '1 hour' END,
       CASE WHEN status IN ('approved', 'rejected') THEN created + wait END,
       CASE WHEN status IN ('approved', 'rejected')
            THEN CAST(:m0 AS integer) + i % CAST(:cms AS integer) END,
       CASE WHEN status = 'rejected' THEN 'Blurry photo' END
FROM h
"""

# One status of the measured week: ``count`` submissions spread evenly over the week by
# ``distinct`` authors (the first ``distinct`` rows each have their own author, the rest
# come from the 20 most active of them).
WEEK_SQL = """
WITH g AS MATERIALIZED (
    SELECT i, random() AS r,
           CAST(:start AS timestamptz) + (i + 0.5) * (CAST(:end AS timestamptz)
               - CAST(:start AS timestamptz)) / CAST(:count AS integer) AS at,
           CASE WHEN i < CAST(:distinct AS integer) THEN i
                ELSE (i - CAST(:distinct AS integer)) % 20 END AS k
    FROM generate_series(0, CAST(:count AS integer) - 1) AS i
), decided AS (
    SELECT g.*, CAST(:status AS text) IN ('approved', 'rejected') AS done FROM g
)
INSERT INTO submissions (workspace_id, author_id, caption, site_id, campaign_id, status,
                         people_consented, sensitive, client_key, revision, created_at,
                         updated_at, decided_at, decided_by_id, decision_reason)
SELECT CAST(:ws AS integer),
       CAST(:m0 AS integer) + CAST(:cms AS integer) + k * CAST(:stride AS integer),
       'This week ' || i || ': ' || repeat('y', 40 + i % 80),
       CASE WHEN i % 10 < 8 THEN CAST(:s0 AS integer) + i % CAST(:sites AS integer) END,
       CASE WHEN i % 3 = 0 THEN CAST(:c0 AS integer) END,
       CAST(:status AS text), true, i % 25 = 0, 'week-' || CAST(:status AS text) || '-' || i, 1,
       CASE WHEN done THEN at - (2 + r * 40) * interval '1 hour' ELSE at END,
       at,
       CASE WHEN done THEN at END,
       CASE WHEN done THEN CAST(:m0 AS integer) + i % CAST(:cms AS integer) END,
       CASE WHEN CAST(:status AS text) = 'rejected' THEN 'Off topic' END
FROM decided
"""

# Photos of the approvals loaded since ``after``: one each, up to three in the measured
# week. Ids are drawn first so the links can be written in the same statement.
MEDIA_SQL = """
WITH src AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('media', 'id')) AS mid, s.id AS sid,
           s.author_id, s.created_at, p, md5(s.id || '/' || p) || md5(p || '/' || s.id) AS sha
    FROM submissions AS s
    CROSS JOIN LATERAL generate_series(
        1, CASE WHEN s.decided_at >= CAST(:start AS timestamptz) THEN 1 + s.id % 3 ELSE 1 END
    ) AS p
    WHERE s.workspace_id = CAST(:ws AS integer) AND s.status = 'approved'
      AND s.id > CAST(:after AS integer)
), media_rows AS (
    INSERT INTO media (id, owner_id, sha256, source_sha256, mime, size, width, height,
                       storage_key, created_at)
    SELECT mid, author_id, sha, md5(sha) || md5(sid::text), 'image/jpeg',
           150000 + sid % 90000, 1600, 1200,
           substr(sha, 1, 2) || '/' || substr(sha, 3, 2) || '/' || sha || '.jpg', created_at
    FROM src
)
INSERT INTO submission_media (submission_id, media_id, position)
SELECT sid, mid, p - 1 FROM src
"""


class Layout:
    """Ids of what the base load created."""

    ws: int
    m0: int
    s0: int
    c0: int
    members: int

    def params(self) -> dict[str, Any]:
        return {
            "ws": self.ws,
            "m0": self.m0,
            "s0": self.s0,
            "c0": self.c0,
            "cms": CMS,
            "sites": SITES,
            "campaigns": CAMPAIGNS,
            "old": self.members - NEWCOMERS,
            "authors": self.members - NEWCOMERS - CMS,
            # spreads the week's authors over the members
            "stride": (self.members - NEWCOMERS - CMS) // 100,
        }


async def load_base(db: Database, members: int) -> Layout:
    layout = Layout()
    layout.members = members
    async with db.engine.begin() as conn:
        await conn.execute(text("SELECT setseed(0.42)"))
        layout.ws = (
            await conn.execute(
                text(
                    "INSERT INTO workspaces (platform, external_id, name, locale, timezone, "
                    "created_at) VALUES ('slack', 'TBENCH', 'Bench', 'en', 'Europe/Paris', :t0) "
                    "RETURNING id"
                ),
                {"t0": T0},
            )
        ).scalar_one()
        layout.s0 = (
            (
                await conn.execute(
                    text(
                        "INSERT INTO sites (workspace_id, name, key, created_at) "
                        "SELECT CAST(:ws AS integer), 'Site ' || g, 'site ' || g, "
                        "CAST(:t0 AS timestamptz) "
                        "FROM generate_series(1, CAST(:sites AS integer)) AS g "
                        "RETURNING id"
                    ),
                    {"ws": layout.ws, "t0": T0, "sites": SITES},
                )
            )
            .scalars()
            .all()[0]
        )
        await conn.execute(
            text(MEMBERS_SQL),
            {
                "ws": layout.ws,
                "s0": layout.s0,
                "sites": SITES,
                "old": members - NEWCOMERS,
                "n": members,
                "start": START,
                "t0": T0,
            },
        )
        layout.m0 = (
            await conn.execute(
                text("SELECT min(id) FROM members WHERE workspace_id = :ws"), {"ws": layout.ws}
            )
        ).scalar_one()
        await conn.execute(
            text(ROLES_SQL),
            {"ws": layout.ws, "m0": layout.m0, "cms": CMS, "old": members - NEWCOMERS},
        )
        await conn.execute(
            text(
                "INSERT INTO charter_versions (workspace_id, version, text, published_at, "
                "published_by_id) VALUES (:ws, 1, 'Be kind, ask before you shoot.', :t0, :m0)"
            ),
            {"ws": layout.ws, "t0": T0, "m0": layout.m0},
        )
        await conn.execute(
            text(CAMPAIGNS_SQL),
            {"ws": layout.ws, "m0": layout.m0, "today": TODAY, "campaigns": CAMPAIGNS},
        )
        layout.c0 = (
            await conn.execute(
                text("SELECT min(id) FROM campaigns WHERE workspace_id = :ws"), {"ws": layout.ws}
            )
        ).scalar_one()
        for table in LOADED_TABLES:
            await conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    return layout


async def load_history(db: Database, layout: Layout, count: int, tag: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("SELECT setseed(0.17)"))
        after = (await conn.execute(text("SELECT coalesce(max(id), 0) FROM submissions"))).scalar()
        await conn.execute(
            text(HISTORY_SQL),
            {
                **layout.params(),
                "count": count,
                "hist_from": HISTORY_FROM,
                "hist_to": HISTORY_TO,
                "tag": tag,
            },
        )
        await conn.execute(text(MEDIA_SQL), {"ws": layout.ws, "start": START, "after": after})


async def load_week(db: Database, layout: Layout) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("SELECT setseed(0.73)"))
        after = (await conn.execute(text("SELECT coalesce(max(id), 0) FROM submissions"))).scalar()
        for status, count, distinct in WEEK:
            await conn.execute(
                text(WEEK_SQL),
                {
                    **layout.params(),
                    "status": status,
                    "count": count,
                    "distinct": distinct,
                    "start": START,
                    "end": END,
                },
            )
        await conn.execute(text(MEDIA_SQL), {"ws": layout.ws, "start": START, "after": after})


async def counts(db: Database, ws: int) -> tuple[int, int]:
    """(submissions, approvals in the measured week)."""
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE status = 'approved' "
                    "AND decided_at >= :start AND decided_at < :end) "
                    "FROM submissions WHERE workspace_id = :ws"
                ),
                {"ws": ws, "start": START, "end": END},
            )
        ).one()
    return int(row[0]), int(row[1])


# -- measuring ----------------------------------------------------------------------------


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000


class SqlLog:
    """Every statement the engine sends while ``on``, with its parameters and duration."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.entries: list[tuple[str, Any, float]] = []
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        conn.info["bench_t"] = time.perf_counter()

    def _after(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if self.on:
            self.entries.append((statement, params, time.perf_counter() - conn.info["bench_t"]))


class Steps:
    """Wall time of each named step, accumulated over runs."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self._run: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self._run[name] = self._run.get(name, 0.0) + time.perf_counter() - begin

    def end_run(self) -> None:
        for name, seconds in self._run.items():
            self.samples[name].append(seconds)
        self._run = {}


async def time_builds(
    core: Core, ws: int, runs: int, warmup: int, log: SqlLog
) -> tuple[list[float], list[float], int]:
    """(build times, floor times, statements per build): each timed build is followed or
    preceded (alternately) by its floor, as many trivial ``SELECT 1`` as the build sends
    statements, through the same layer (one ``db.read()`` session)."""
    digests = Digests(core)
    for _ in range(warmup):
        await digests.build(ws, START, END)
    log.entries.clear()
    log.on = True
    await digests.build(ws, START, END)
    log.on = False
    per_build = len(log.entries)
    for _ in range(warmup):
        await round_trips(core.db, per_build)
    samples: list[float] = []
    floors: list[float] = []
    log.entries.clear()
    for n in range(runs):
        if n % 2:
            floors.append(await round_trips(core.db, per_build))
        log.on = True
        begin = time.perf_counter()
        digest = await digests.build(ws, START, END)
        samples.append(time.perf_counter() - begin)
        log.on = False
        if not n % 2:
            floors.append(await round_trips(core.db, per_build))
    assert digest.approved == WEEK_APPROVED, digest.approved
    return samples, floors, per_build


async def time_site_builds(
    core: Core, layout: Layout, runs: int, warmup: int
) -> tuple[list[float], int]:
    """(build times, approvals shown) of the first site's local digest of the week."""
    digests = Digests(core)
    site = (layout.s0, "Site 0")
    for _ in range(warmup):
        await digests.build(layout.ws, START, END, site=site)
    samples: list[float] = []
    for _ in range(runs):
        begin = time.perf_counter()
        digest = await digests.build(layout.ws, START, END, site=site)
        samples.append(time.perf_counter() - begin)
    return samples, digest.approved


async def round_trips(db: Database, count: int) -> float:
    """Seconds for ``count`` trivial statements in one read, as a build sends its own."""
    begin = time.perf_counter()
    async with db.read() as r:
        for _ in range(count):
            await r.session.execute(text("SELECT 1"))
    return time.perf_counter() - begin


async def time_steps(core: Core, ws: int, steps: Steps) -> None:
    """``Digests.build_in`` call by call, in the same order, on one read session."""
    async with core.db.read() as r:
        with steps("session: pool checkout + ping"):
            await r.session.connection()
        with steps("rounds.approved_by_author"):
            by_author = await r.rounds.approved_by_author(ws, START, END)
        approved = sum(n for _, n in by_author)
        with steps("rounds.approved_ids"):
            ids = await r.rounds.approved_ids(ws, START, END, limit=HIGHLIGHTS)
        with steps(f"load_view x{len(ids)} (highlights)"):
            for sid in ids:
                await load_view(r, sid)
        with steps("rounds.joined"):
            joined = await r.rounds.joined(ws, START, END)
        people = [mid for mid, _ in by_author] + joined
        with steps(f"members.views of {len(people)} (contributors, newcomers)"):
            await r.members.views(people)
        with steps("rounds.approved_by_site"):
            await r.rounds.approved_by_site(ws, START, END)
        with steps("rounds.approved_total"):
            total = await r.rounds.approved_total(ws, END)
        assert total >= approved
        with steps("workspaces.get"):
            await r.workspaces.get(ws)
        with steps("campaigns.active"):
            await r.campaigns.active(ws, TODAY, None)
    steps.end_run()


async def time_approved_total(core: Core, ws: int, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        async with core.db.read() as r:
            await r.session.connection()
            begin = time.perf_counter()
            await r.rounds.approved_total(ws, END)
            samples.append(time.perf_counter() - begin)
    return samples


def heaviest(entries: list[tuple[str, Any, float]], runs: int) -> list[tuple[str, Any, int, float]]:
    """Distinct statements of the timed builds: (sql, last params, executions per build,
    median ms per execution), heaviest per execution first."""
    by_sql: dict[str, list[float]] = defaultdict(list)
    params: dict[str, Any] = {}
    for statement, args, seconds in entries:
        by_sql[statement].append(seconds)
        params[statement] = args
    rows = [
        (sql, params[sql], len(times) // runs, median_ms(times)) for sql, times in by_sql.items()
    ]
    return sorted(rows, key=lambda row: row[3], reverse=True)


def short(sql: str) -> str:
    flat = " ".join(sql.split())
    where = flat.find(" WHERE ")
    head = flat[flat.find(" FROM ") :] if " FROM " in flat else flat
    return (flat[:40] + " ..." + head[:90] if where > 0 else flat[:130]).strip()


async def explain(db: Database, sql: str, params: Any) -> list[str]:
    async with db.engine.connect() as conn:
        result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [row[0] for row in result]


class Phase:
    """What one history size measured."""

    def __init__(self, history: int, week: int) -> None:
        self.history = history
        self.week = week
        self.builds: list[float] = []
        self.floors: list[float] = []
        self.busy = math.nan  # the machine's busy CPU while timing, in cores
        self.steps = Steps()
        self.total_cold: list[float] = []
        self.statements: list[tuple[str, Any, int, float]] = []
        self.per_build = 0
        self.site_builds: list[float] = []
        self.site_week = 0


async def measure(
    core: Core, layout: Layout, runs: int, warmup: int, log: SqlLog, label: str
) -> Phase:
    db = core.db
    history, week = await counts(db, layout.ws)
    phase = Phase(history, week)
    # The bulk load bypasses the approve transition that keeps the running total, so set
    # it the way migration 0005 does.
    async with db.transaction() as r:
        await r.session.execute(
            text(
                "UPDATE workspaces SET approved_total = (SELECT count(*) FROM submissions s "
                "WHERE s.workspace_id = workspaces.id AND s.status = 'approved')"
            )
        )
    step = time.perf_counter()
    await maintenance(db, "ANALYZE")
    phase.total_cold = await time_approved_total(core, layout.ws, 5)
    await maintenance(db, "VACUUM (ANALYZE)")
    print(f"  {label}: ANALYZE, approved_total cold, VACUUM {time.perf_counter() - step:.1f} s")
    before = os.getloadavg()[0]
    cpu, wall = machine_cpu(), time.perf_counter()
    phase.builds, phase.floors, phase.per_build = await time_builds(
        core, layout.ws, runs, warmup, log
    )
    phase.busy = (machine_cpu() - cpu) / (time.perf_counter() - wall)
    phase.statements = heaviest(log.entries, runs)
    phase.site_builds, phase.site_week = await time_site_builds(core, layout, runs, warmup)
    for _ in range(warmup):
        await time_steps(core, layout.ws, Steps())
    for _ in range(runs):
        await time_steps(core, layout.ws, phase.steps)
    # Everything here shares the machine: a busy one shows in the load average.
    print(
        f"  {label}: timed; load average {before:.2f} before, {os.getloadavg()[0]:.2f} after;"
        f" machine busy {phase.busy:.2f} of {os.cpu_count()} cores while building"
    )
    return phase


# -- the run ------------------------------------------------------------------------------


async def run(url: str, args: argparse.Namespace) -> None:
    await upgrade_async(url)
    db = Database(url)
    log = SqlLog(db)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(_env_file=None, database_url=url, media_dir=Path(tmp))
            core = Core(settings, db)
            step = time.perf_counter()
            layout = await load_base(db, args.members)
            await load_history(db, layout, args.submissions, "hist")
            await load_week(db, layout)
            print(
                f"loaded {args.members:,} members, {args.submissions:,} + week submissions "
                f"in {time.perf_counter() - step:.1f} s"
            )
            small = await measure(core, layout, args.runs, args.warmup, log, "small")
            extra = args.submissions * (args.scale - 1)
            step = time.perf_counter()
            await load_history(db, layout, extra, "old")
            print(f"loaded {extra:,} older submissions in {time.perf_counter() - step:.1f} s")
            large = await measure(core, layout, args.runs, args.warmup, log, "large")
            report(small, large)
            ratio = statistics.median(large.builds) / statistics.median(small.builds)
            top, params, _, _ = large.statements[0]
            if ratio > 1.5 or args.explain:
                print(f"\nEXPLAIN (ANALYZE, BUFFERS), heaviest statement at {large.history:,}:")
                print("  " + " ".join(top.split()))
                print("  params:", params)
                for line in await explain(db, top, params):
                    print("  " + line)
            # The site's own digest: the national statements with a site filter; the
            # EXPLAIN of those that filter submissions by site shows the plan it gets.
            log.entries.clear()
            log.on = True
            await Digests(core).build(layout.ws, START, END, site=(layout.s0, "Site 0"))
            log.on = False
            for site_sql, site_params, _ in log.entries:
                if "submissions.site_id =" in site_sql:
                    print(f"\nEXPLAIN (ANALYZE, BUFFERS), site digest at {large.history:,}:")
                    print("  " + short(site_sql))
                    for line in await explain(db, site_sql, site_params):
                        print("  " + line)
            for sql, params, _, _ in large.statements:
                counts_all = "count(submissions.id)" in sql and "GROUP BY" not in sql
                if counts_all and (sql != top or not (ratio > 1.5 or args.explain)):
                    print(f"\nEXPLAIN (ANALYZE, BUFFERS), approved_total at {large.history:,}:")
                    for line in await explain(db, sql, params):
                        print("  " + line)
                    break
    finally:
        await db.dispose()


def report(small: Phase, large: Phase) -> None:
    ratio = statistics.median(large.builds) / statistics.median(small.builds)
    print("\nDigests.build of the measured week (PostgreSQL, after VACUUM ANALYZE)")
    print(
        f"{'history':>10} {'week approved':>14} {'median ms':>10} {'p95 ms':>8} {'statements':>11}"
        f" {'floor ms':>9} {'x floor':>8} {'machine':>8}"
    )
    for phase in (small, large):
        floor = median_ms(phase.floors)
        print(
            f"{phase.history:>10,} {phase.week:>14} {median_ms(phase.builds):>10.1f} "
            f"{p95_ms(phase.builds):>8.1f} {phase.per_build:>11} {floor:>9.1f}"
            f" {median_ms(phase.builds) / floor:>8.2f} {phase.busy:>8.2f}"
        )
    print(f"ratio {large.history:,} / {small.history:,}: {ratio:.2f}")
    print("\nDigests.build of one site's local digest of the same week")
    print(f"{'history':>10} {'site approved':>14} {'median ms':>10} {'p95 ms':>8}")
    for phase in (small, large):
        print(
            f"{phase.history:>10,} {phase.site_week:>14} {median_ms(phase.site_builds):>10.1f}"
            f" {p95_ms(phase.site_builds):>8.1f}"
        )
    site_ratio = median_ms(large.site_builds) / median_ms(small.site_builds)
    print(f"ratio {large.history:,} / {small.history:,}: {site_ratio:.2f}")
    print(
        "floor: as many SELECT 1 as the build's statements, one read session, timed"
        " alternately with the builds (median); machine: busy cores while timing"
    )

    print("\nbuild_in call by call (median ms of the runs)")
    print(f"{'call':<38} {small.history:>10,} {large.history:>10,} {'ratio':>6}")

    def line(name: str, a: float, b: float) -> None:
        print(f"{name:<38} {a:>10.2f} {b:>10.2f} {b / a:>6.2f}")

    totals = [0.0, 0.0]
    for name, samples in small.steps.samples.items():
        a, b = median_ms(samples), median_ms(large.steps.samples[name])
        totals[0] += a
        totals[1] += b
        line(name, a, b)
    line("sum", *totals)
    count_ms = [median_ms(p.steps.samples["rounds.approved_total"]) for p in (small, large)]
    line("sum without approved_total", totals[0] - count_ms[0], totals[1] - count_ms[1])
    line("approved_total before VACUUM", median_ms(small.total_cold), median_ms(large.total_cold))

    print(f"\nheaviest statements per execution at {large.history:,} (median ms)")
    print(f"{'per build':>9} {'ms each':>8} {'ms/build':>9}  statement")
    for sql, _, count, ms in large.statements[:6]:
        print(f"{count:>9} {ms:>8.2f} {count * ms:>9.2f}  {short(sql)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--submissions", type=int, default=100_000, help="history before scaling")
    parser.add_argument("--scale", type=int, default=10, help="history multiplier of phase two")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server where the throwaway database is created and dropped",
    )
    parser.add_argument(
        "--database-url", help="use this PostgreSQL database instead (its public schema is reset)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="always EXPLAIN the heaviest statement"
    )
    args = parser.parse_args()

    async def go() -> None:
        if args.database_url:
            url = async_database_url(args.database_url)
            await reset_schema(url)
            await run(url, args)
            return
        async with throwaway_database(
            args.admin_url, f"relais_digest_bench_{os.getpid()}"
        ) as plain:
            await run(async_database_url(plain), args)

    asyncio.run(go())


if __name__ == "__main__":
    main()
