"""Idle memory and CPU of ``relais serve`` (Slack configured), before and after a change,
beside a bare Bolt app, and where the memory goes at start.

    .venv/bin/python bench/idle_memory.py [--base REV] [--runs 1] [--idle 20]
        [--database-url postgresql://...] [--where]

Starts each server in its own process with the Slack adapter pointed at the local
Slack-compatible server (``tests/slack_api.py``, run by this process): ``relais serve``
of the code at ``--base`` (default: the merge-base of HEAD and ``main``, checked out in a
temporary git worktree removed at the end), ``relais serve`` of this tree, and the bare
slack-bolt app of ``bench/slack_ack.py`` (listeners that only ack, on aiohttp). Once a
server answers its health route it is left alone ``--settle`` seconds, then for
``--idle`` seconds its CPU is counted; its resident set (``VmRSS``) is read at the end.
The servers alternate (the order turns on every run). The database is a fresh SQLite file
per server (``relais serve`` migrates it on start), or with ``--database-url`` a
PostgreSQL database migrated once by each side's ``relais db upgrade`` (``serve`` does not
migrate PostgreSQL, so it never loads Alembic there).

``--where`` also builds, in a fresh process for each side, what ``relais serve`` builds
before it listens (settings, ``Core``, the server with its adapters) under ``tracemalloc``
and prints the memory allocated by Python per package (each allocation counted for the
package whose code ran the import or the call that made it), and the resident set
without ``tracemalloc``, and which large optional packages are loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import base_revision, machine_cpu, process_cpu  # noqa: E402
from tests.slack_api import FakeSlack  # noqa: E402

SECRET = "idle-bench-secret"
PLATFORM_PREFIXES = ("SLACK_", "RELAIS_", "MICROSOFT_", "DATABASE_URL", "MEDIA_DIR")
OPTIONAL = ("botbuilder", "botframework", "msrest", "alembic", "mako", "rich", "pygments")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_mb(pid: int | str, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def relais_argv(root: Path, *args: str) -> list[str]:
    """``relais ARGS`` with the code under ``root`` first on the path."""
    code = f"import sys; sys.path.insert(0, {str(root)!r}); from relais.cli import main; main()"
    return [sys.executable, "-c", code, *args]


def server_env(work: Path, fake: FakeSlack, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    env.update(
        DATABASE_URL=database_url or f"sqlite+aiosqlite:///{work / 'relais.db'}",
        MEDIA_DIR=str(work / "media"),
        SLACK_BOT_TOKEN=fake.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        RELAIS_CMS="UCM1",
        RELAIS_REVIEW_CHANNEL="CREVIEW",
    )
    return env


async def idle(
    name: str, argv: list[str], env: dict[str, str], health: str, args: argparse.Namespace
) -> dict[str, float]:
    """Start ``argv``, wait for ``health``, let it settle, count its idle CPU and memory."""
    port = free_port()
    log = Path(env["MEDIA_DIR"]).parent / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with aiohttp.ClientSession() as http:
                deadline = time.monotonic() + 60
                while True:
                    if proc.returncode is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{name} did not start:\n{log.read_text()[-2000:]}")
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{port}{health}") as response:
                            if response.status == 200:
                                break
                    await asyncio.sleep(0.2)
            await asyncio.sleep(args.settle)
            cpu, machine, load = process_cpu(proc.pid), machine_cpu(), os.getloadavg()[0]
            await asyncio.sleep(args.idle)
            return {
                "rss_mb": status_mb(proc.pid, "VmRSS"),
                "cpu": (process_cpu(proc.pid) - cpu) / args.idle,
                "machine": (machine_cpu() - machine) / args.idle,
                "load": load,
            }
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def measure(roots: dict[str, Path], args: argparse.Namespace, tmp: Path) -> None:
    bare = [
        sys.executable,
        str(ROOT / "bench" / "slack_ack.py"),
        "--parent",
        str(os.getpid()),
        "--serve-bare",
    ]
    results: dict[str, list[dict[str, float]]] = {}
    async with FakeSlack() as fake:
        if args.database_url:
            for side, root in roots.items():  # at head for both (idempotent)
                env = server_env(tmp, fake, args.database_url)
                proc = await asyncio.create_subprocess_exec(
                    *relais_argv(root, "db", "upgrade"), env=env
                )
                if await proc.wait() != 0:
                    raise RuntimeError(f"{side}: relais db upgrade failed")
        names = [*roots, "bare Bolt"]
        for run in range(args.runs):
            shift = run % len(names)
            for name in names[shift:] + names[:shift]:
                work = Path(tempfile.mkdtemp(dir=tmp))
                env = server_env(work, fake, args.database_url)
                if name == "bare Bolt":
                    argv = [*bare, "--api-url", fake.api_url]
                    result = await idle(name, argv, env, "/healthz", args)
                else:
                    argv = relais_argv(roots[name], "serve")
                    result = await idle(name, argv, env, "/readyz", args)
                results.setdefault(name, []).append(result)
                print(
                    f"{name:<10} RSS {result['rss_mb']:6.1f} MB, CPU {result['cpu'] * 100:4.1f} %"
                    f" of a core idle (machine {result['machine'] * 100:4.0f} % of"
                    f" {os.cpu_count() * 100} %, load {result['load']:.1f})",
                    flush=True,
                )
    print(f"\nmedian of {args.runs} run(s), after {args.settle} s settling, {args.idle} s idle")
    for name, rows in results.items():
        rss = statistics.median(r["rss_mb"] for r in rows)
        cpu = statistics.median(r["cpu"] for r in rows) * 100
        print(f"{name:<10} RSS {rss:6.1f} MB   CPU {cpu:4.1f} % of a core")


# -- where the memory goes (a child process per side) ----------------------------------------


def where(root: str) -> dict[str, Any]:
    """What ``relais serve`` builds before listening, under tracemalloc, grouped by package."""
    import tracemalloc

    tracemalloc.start(12)
    sys.path.insert(0, root)
    from bot.core import Core
    from bot.settings import Settings
    from relais.server import build_server
    from storage.db import Database

    settings = serve_start(Settings)
    build_server(Core(settings, Database(settings.database_url)))
    snapshot = tracemalloc.take_snapshot()
    by_package: dict[str, int] = {}
    for stat in snapshot.statistics("traceback"):
        frames = [f.filename for f in stat.traceback if not f.filename.startswith("<")]
        key = package(frames[-1], root) if frames else "(interpreter)"
        by_package[key] = by_package.get(key, 0) + stat.size
    tracemalloc.stop()
    top = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {
        "traced_mb": sum(by_package.values()) / 2**20,
        "top": [(k, v / 2**20) for k, v in top[:14]],
        "modules": len(sys.modules),
        "optional": [m for m in OPTIONAL if m in sys.modules],
    }


def package(filename: str, root: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith(root):
        return "relais: " + filename[len(root) :].lstrip("/").split("/", 1)[0]
    return "stdlib"


def rss_after_build(root: str) -> float:
    sys.path.insert(0, root)
    from bot.core import Core
    from bot.settings import Settings
    from relais.server import build_server
    from storage.db import Database

    settings = serve_start(Settings)
    build_server(Core(settings, Database(settings.database_url)))
    return status_mb("self", "VmRSS")


def serve_start(settings_class: Any) -> Any:
    """What ``relais serve`` does before building the server: it migrates SQLite (in a
    child process where ``relais.cli._upgrade_apart`` exists, else in the process)."""
    from sqlalchemy.engine import make_url

    import relais.cli
    from storage.db import upgrade

    settings = settings_class()
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        getattr(relais.cli, "_upgrade_apart", upgrade)(settings.database_url)
    return settings


async def where_all(roots: dict[str, Path], tmp: Path, database_url: str | None) -> None:
    async with FakeSlack() as fake:
        for side, root in roots.items():
            env = server_env(Path(tempfile.mkdtemp(dir=tmp)), fake, database_url)
            outs = []
            for mode in ("--child-where", "--child-rss"):
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    mode,
                    str(root),
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await proc.communicate()
                outs.append(json.loads(out.decode().strip().splitlines()[-1]))
            found, rss = outs
            print(
                f"\n{side}: RSS {rss:.1f} MB once the server is built (no tracemalloc);"
                f" {found['modules']} modules; traced {found['traced_mb']:.1f} MB;"
                f" optional packages loaded: {', '.join(found['optional']) or 'none'}"
            )
            for name, mb in found["top"]:
                print(f"  {mb:6.2f} MB  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base", help="the 'before' revision (default: merge-base with main)")
    parser.add_argument("--runs", type=int, default=1, help="0: only --where")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after ready")
    parser.add_argument("--database-url", help="PostgreSQL instead of a SQLite file each")
    parser.add_argument("--where", action="store_true", help="tracemalloc of the start-up")
    parser.add_argument("--child-where", help=argparse.SUPPRESS)
    parser.add_argument("--child-rss", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_where:
        print(json.dumps(where(args.child_where)))
        return
    if args.child_rss:
        print(json.dumps(rss_after_build(args.child_rss)))
        return
    rev = base_revision(args.base)
    print(f"before: {rev} (temporary worktree); after: {ROOT}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="relais-idle-bench-") as name:
        tmp = Path(name)
        before = tmp / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(before), rev],
            cwd=ROOT,
            check=True,
        )
        try:
            roots = {"before": before, "after": ROOT}
            if args.runs:
                asyncio.run(measure(roots, args, tmp))
            if args.where:
                asyncio.run(where_all(roots, tmp, args.database_url))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False
            )


if __name__ == "__main__":
    main()
