"""What the benchmarks share: CPU and memory readings of a process and of the machine
(Linux /proc), the measured phases of the memory benchmarks, the revision a run compares
against, and throwaway PostgreSQL databases.

The scripts put the repository root on ``sys.path`` and import this as ``bench.machine``.
Nothing heavy is imported at the top: the memory benchmarks' measured processes load
this module too, and the database helpers import what they need when called.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from adapters.slack.port import SlackPort
    from bot.core import Core

T = TypeVar("T")

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


def status_kb(field: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> None:
    """Make VmHWM the current resident set (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


async def phase(phases: dict[str, dict[str, float]], name: str, work: Awaitable[T], fake: int) -> T:
    """Await ``work`` and record in ``phases[name]`` what it cost this process: its resident
    set before (MB), the growth of its peak resident set over that (MB, VmHWM reset first),
    the seconds, and CPU in cores: this process's, the process ``fake``'s (the fake server
    the benchmark serves), the whole machine's; with the 1-minute load average before."""
    gc.collect()
    rss = status_kb("VmRSS")
    reset_peak()
    cpu, fake_cpu, machine = time.process_time(), process_cpu(fake), machine_cpu()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    result = await work
    seconds = time.perf_counter() - start
    phases[name] = {
        "rss_mb": rss / 1024,
        "growth_mb": (status_kb("VmHWM") - rss) / 1024,
        "seconds": seconds,
        "cpu": (time.process_time() - cpu) / seconds,
        "fake_cpu": (process_cpu(fake) - fake_cpu) / seconds,
        "machine_cpu": (machine_cpu() - machine) / seconds,
        "load_before": load,
    }
    return result


def phase_cells(phases: dict[str, dict[str, float]]) -> list[str]:
    """A cell a phase for a benchmark's result line: peak growth, seconds, and CPU in % of
    one core (the machine's, this process's, the fake's, the rest) with the load before."""
    return [
        f"{name} +{p['growth_mb']:6.1f} MB {p['seconds']:5.2f} s"
        f" (machine {p['machine_cpu'] * 100:4.0f} %, this {p['cpu'] * 100:4.0f} %,"
        f" fake {p['fake_cpu'] * 100:3.0f} %,"
        f" other {(p['machine_cpu'] - p['cpu'] - p['fake_cpu']) * 100:4.0f} %,"
        f" load {p['load_before']:.1f})"
        for name, p in phases.items()
    ]


async def run_child(script: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --child <spec as JSON>`` in a fresh process (its peak is its own) and
    return the JSON object it prints last."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        script,
        "--child",
        json.dumps(spec),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def slack_core(spec: dict[str, Any]) -> tuple[Core, SlackPort]:
    """In a measured process: a ``Core`` on a new SQLite database and media directory in
    ``spec["work"]``, and a ``SlackPort`` to the Slack-compatible server at
    ``spec["api_url"]`` (with ``spec["token"]``), from the code first on ``sys.path``."""
    from adapters.slack.port import SlackClients, SlackPort
    from bot.core import Core
    from bot.settings import Settings
    from storage.db import Database, upgrade_async

    work = Path(spec["work"])
    url = f"sqlite+aiosqlite:///{work / 'relais.db'}"
    await upgrade_async(url)
    settings = Settings(_env_file=None, database_url=url, media_dir=work / "media")
    core = Core(settings, Database(url))
    port = SlackPort(
        SlackClients(spec["api_url"], bot_token=spec["token"]),
        core.relay.uploads,
        core.store,
        core.clock,
    )
    return core, port


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
