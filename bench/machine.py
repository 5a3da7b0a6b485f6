"""What the benchmarks share: CPU readings of a process and of the machine (Linux /proc),
the revision a run compares against, and throwaway PostgreSQL databases.

The scripts put the repository root on ``sys.path`` and import this as ``bench.machine``.
Nothing heavy is imported at the top: the memory benchmarks' measured processes load
this module too, and the database helpers import what they need when called.
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (NaN once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine since boot (all but idle and iowait)."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return math.nan
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def base_revision(arg: str | None) -> str:
    """The short revision a run compares against: ``arg``, else where HEAD left main."""
    rev = arg or git("merge-base", "HEAD", "main")
    return git("rev-parse", "--short", rev)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@asynccontextmanager
async def throwaway_database(admin_url: str, name: str) -> AsyncIterator[str]:
    """A new empty database ``name`` on the server of ``admin_url``, dropped on the way out
    (``WITH (FORCE)``: a benchmark that failed half-way leaves nothing behind)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def reset_schema(url: str) -> None:
    """Empty a PostgreSQL database the benchmark was given (its ``public`` schema)."""
    from sqlalchemy import text

    from storage.db import Database

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()
