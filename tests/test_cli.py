"""The command line and the HTTP server: db upgrade, doctor, serve's health routes."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, select
from typer.testing import CliRunner

from bot.core import Core
from bot.ports import Target
from bot.settings import Settings
from bot.ui import Message
from domain import Platform
from relais import server
from relais.cli import app
from relais.server import build_app
from storage.db import Database
from storage.models import Base, Job, OutboxMessage
from tests.slack_api import FakeSlack, signed_headers
from tests.slack_support import command_payload

runner = CliRunner()


def env_for(settings: Settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "MEDIA_DIR": str(settings.media_dir)}


async def test_models_and_migrations_agree(db: Database) -> None:
    """Autogenerate finds nothing to add: the migrations create exactly the models."""
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert diff == []


def _shape(table: Table) -> tuple[object, ...]:
    columns = tuple(
        (
            c.name,
            repr(c.type),
            c.nullable,
            c.primary_key,
            c.autoincrement,
            None if c.default is None else str(getattr(c.default, "arg", None)),
        )
        for c in table.columns
    )
    indexes = sorted((i.name, tuple(c.name for c in i.columns), i.unique) for i in table.indexes)
    return columns, tuple(indexes)


def test_slack_store_tables_match_bolts() -> None:
    """storage declares Bolt's installation and state tables without importing slack_sdk:
    they must stay the tables the SDK's stores read and write."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    sdk = MetaData()
    built = [
        SQLAlchemyInstallationStore.build_installations_table(sdk, "slack_installations"),
        SQLAlchemyInstallationStore.build_bots_table(sdk, "slack_bots"),
        SQLAlchemyOAuthStateStore.build_oauth_states_table(sdk, "slack_oauth_states"),
    ]
    for table in built:
        assert _shape(Base.metadata.tables[table.name]) == _shape(table), table.name


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(app, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert "is at revision head" in result.output
    assert (tmp_path / "fresh.db").exists()


async def test_doctor_lists_dead_letters_then_requeues(core: Core, settings: Settings) -> None:
    async with core.db.transaction() as r:
        ws = await r.workspaces.get_or_create(
            Platform.CONSOLE, "T", locale="en", timezone="UTC", now=core.clock()
        )
        row_id = await r.outbox.add(
            workspace_id=ws.id,
            platform="teams",
            kind="post",
            target=Target("user", "29:alice").to_json(),
            payload={"text": "hi", "blocks": []},
            now=core.clock(),
        )
        await r.session.execute(
            Base.metadata.tables["outbox"]
            .update()
            .values(status="dead", last_error="permanent: 404 conversation not found")
        )
    # The CLI runs its own event loop, so it runs in a thread here.
    result = await asyncio.to_thread(runner.invoke, app, ["doctor"], env=env_for(settings))
    assert result.exit_code == 1, result.output
    assert f"#{row_id} teams post to user 29:alice" in result.output
    assert "404 conversation not found" in result.output
    again = await asyncio.to_thread(
        runner.invoke, app, ["doctor", "--requeue-dead"], env=env_for(settings)
    )
    assert "1 dead letter(s) queued again" in again.output
    async with core.db.transaction() as r:
        assert await r.outbox.counts() == {"pending": 1}


async def test_doctor_lists_unfinished_jobs(core: Core, settings: Settings) -> None:
    async with core.db.transaction() as r:
        await r.jobs.add(
            kind="slack.submission", key="k1", payload={"user": "U42"}, now=core.clock()
        )
        await r.session.execute(
            Base.metadata.tables["jobs"]
            .update()
            .values(status="dead", attempts=6, last_error="slack file download: HTTP 503")
        )
    result = await asyncio.to_thread(runner.invoke, app, ["doctor"], env=env_for(settings))
    assert result.exit_code == 1, result.output
    assert "slack.submission for U42, dead, 6 tries: slack file download: HTTP 503" in result.output


def test_doctor_flags_a_missing_signing_secret(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "",
        "MEDIA_DIR": str(tmp_path / "m"),
    }
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "SLACK_SIGNING_SECRET is required" in result.output


def test_serve_refuses_teams_emulator_mode_with_an_app_id(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
        "MICROSOFT_APP_ID": "app-1",
        "MICROSOFT_APP_PASSWORD": "x",
        "RELAIS_TEAMS_EMULATOR": "true",
        "MEDIA_DIR": str(tmp_path / "m"),
    }
    result = runner.invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "leave MICROSOFT_APP_ID empty" in result.output


def test_serve_refuses_a_broken_slack_configuration(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xoxb-not-an-app-token",
        "MEDIA_DIR": str(tmp_path / "m"),
    }
    result = runner.invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "SLACK_APP_TOKEN must be an app-level token" in result.output


async def test_health_and_readiness(core: Core) -> None:
    async with TestClient(TestServer(build_app(core))) as client:
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json()) == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status == 200 and (await ready.json()) == {"status": "ready", "stuck": 0}


async def test_not_ready_when_the_database_is_down(settings: Settings) -> None:
    broken = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        async with TestClient(TestServer(build_app(Core(settings, broken)))) as client:
            ready = await client.get("/readyz")
            body = await ready.json()
            assert ready.status == 503 and body["status"] == "unavailable"
            assert body["problems"][0].startswith("database:")
    finally:
        await broken.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout_sensitive
def test_relais_serve_answers_health_checks(tmp_path: Path) -> None:
    """The real console script starts, migrates its SQLite file and serves /healthz."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "relais.cli", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "relais serve did not start in 30 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert (tmp_path / "serve.db").exists()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=15)[0].decode()
    assert "No chat platform is configured yet" in output


@pytest.mark.timeout_sensitive
async def test_relais_serve_mounts_slack_and_verifies_signatures(tmp_path: Path) -> None:
    """The real process with Slack settings: unsigned requests get 401, signed ones an answer."""
    port = _free_port()
    async with FakeSlack() as slack:
        slack.add_user("U1", name="ana", locale="en-US")
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "MEDIA_DIR": str(tmp_path / "media"),
            "PORT": str(port),
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": "s3cret",
            "SLACK_API_URL": slack.api_url,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "relais.cli",
            "serve",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert proc.returncode is None, "relais serve exited"
                    assert time.monotonic() < deadline, "relais serve did not start in 30 s"
                    await asyncio.sleep(0.2)
                body = urlencode(command_payload(slack.url, "U1", "/relais", "help", "C1"))
                unsigned = await http.post("/slack/events", content=body)
                assert unsigned.status_code == 401
                signed = await http.post(
                    "/slack/events", content=body, headers=signed_headers("s3cret", body)
                )
                assert signed.status_code == 200
                assert signed.json()["response_type"] == "ephemeral"
        finally:
            proc.terminate()
            output = (await proc.communicate())[0].decode()
    assert "Slack: HTTP at POST /slack/events, single workspace" in output


def test_relais_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "MEDIA_DIR": str(tmp_path / "media"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
        }
        done = subprocess.run(
            [sys.executable, "-m", "relais.cli", "serve"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    errors = [line for line in done.stderr.splitlines() if str(port) in line]
    assert len(errors) == 1, done.stderr
    assert "already in use" in errors[0] and "--port" in errors[0] and "PORT=" in errors[0]


class HangingPort:
    """A platform whose sends never return (a stuck connection)."""

    platform = "console"

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, str]:
        self.entered.set()
        await asyncio.Event().wait()
        return {}

    async def update(self, workspace: str, ref: dict[str, str], message: Message) -> None:
        await self.post(workspace, Target("user", "x"), message)


@pytest.mark.parametrize("stuck", ["outbox", "jobs", "both"])
async def test_shutdown_ends_after_the_grace_when_work_is_stuck(
    core: Core, monkeypatch: pytest.MonkeyPatch, stuck: str
) -> None:
    """Both background loops (outbox dispatcher, job runner) stop the same way: they
    drain until the one drain deadline (DRAIN_TIMEOUT after shutdown began, shared: two
    stuck loops do not take twice as long), then shutdown goes on without an error and
    gives the cancelled rows back."""
    monkeypatch.setattr(server, "DRAIN_TIMEOUT", 1.5)
    monkeypatch.setattr(server, "MIN_DRAIN", 0.1)
    hanging = HangingPort()
    job_entered = asyncio.Event()

    class StuckJob:
        async def run(self, payload: dict[str, Any]) -> None:
            job_entered.set()
            await asyncio.Event().wait()

        async def gave_up(self, payload: dict[str, Any], error: str) -> None:
            return None

    app = build_app(core, {"console": hanging}, {"stuck": StuckJob()})
    test_server = TestServer(app)
    await test_server.start_server()
    alice = await core.onboarding.identify(Platform.CONSOLE, "T", "alice")
    if stuck in ("outbox", "both"):
        await core.send_dm(alice, Message(text="hello"))
        await asyncio.wait_for(hanging.entered.wait(), timeout=10)
    if stuck in ("jobs", "both"):
        async with core.db.transaction() as r:
            await r.jobs.add(kind="stuck", key="k1", payload={}, now=core.clock())
        core.jobs_changed()
        await asyncio.wait_for(job_entered.wait(), timeout=10)
    started = time.monotonic()
    await test_server.close()
    took = time.monotonic() - started
    # One deadline: about 1.5 s however many loops are stuck (one after the other would
    # take 3 s and more when both are).
    assert 1.4 < took < 2.6, took
    # What was cancelled is given back, due at once for the next start, its try not counted.
    async with core.db.read() as r:
        rows: list[Any] = []
        if stuck in ("outbox", "both"):
            rows.append(await r.session.scalar(select(OutboxMessage)))
        if stuck in ("jobs", "both"):
            rows.append(await r.session.scalar(select(Job)))
    for row in rows:
        assert (row.status, row.claimed_by, row.claimed_until, row.attempts) == (
            "pending",
            None,
            None,
            0,
        )
        assert row.next_attempt_at <= core.clock()


_LOADED = """
import sys
from bot.core import Core
from bot.settings import Settings
from relais.cli import _upgrade_apart
from relais.server import build_server
from storage.db import Database

settings = Settings(_env_file=None)
_upgrade_apart(settings.database_url)
build_server(Core(settings, Database(settings.database_url)))
print(",".join(m for m in ("botbuilder", "slack_bolt", "alembic", "mako") if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("platform", "loaded"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "slack_bolt"),
        ({"RELAIS_TEAMS_EMULATOR": "1"}, "botbuilder"),
    ],
)
def test_serve_loads_only_the_configured_platform_and_no_migration_tool(
    tmp_path: Path, platform: dict[str, str], loaded: str
) -> None:
    """What serve builds before it listens: the other platform's SDK and Alembic (run in
    a child process to migrate SQLite) stay out of the server's memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        MEDIA_DIR=str(tmp_path / "media"),
        **platform,
    )
    out = subprocess.run(
        [sys.executable, "-c", _LOADED], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == loaded
    with sqlite3.connect(tmp_path / "serve.db") as conn:  # migrated all the same
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()
