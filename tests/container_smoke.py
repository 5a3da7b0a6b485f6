"""Smoke test of the container image, run by `.ci/run` after `podman build`.

    python -m tests.container_smoke IMAGE [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Starts the image with podman on the host's network against a throwaway PostgreSQL
database and the local Slack-compatible server (``tests/slack_api.py``, on the host), and
checks that the container runs as a non-root numeric user with no compiler, answers
``/healthz`` and ``/readyz`` (and its own HEALTHCHECK), applied the migrations, answers a
signed ``/relais help``, takes a member through join -> ``/submit`` with a photo -> the
review card -> approval -> the author's DM, serves ``/metrics`` behind its token, and
logs JSON lines with no token and no caption. Exits 1 (with the container's log) on the
first thing that is wrong. Not collected by pytest: it needs podman and a built image.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.settings import async_database_url
from storage.db import Database, alembic_config
from tests.serve_support import RemoteRig
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SECRET, buttons
from tests.support import jpeg_bytes

AMBASSADOR, CM = "UAMB", "UCM1"
CAPTION = "Smoke-Caption-4e1d from the field"
METRICS_TOKEN = "smoke-metrics-token"
EXPECTED_UID = "10001"


class Failed(Exception):
    pass


def check(condition: object, what: str) -> None:
    if not condition:
        raise Failed(what)


def podman(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_database(admin_url: str) -> tuple[str, str]:
    name = f"relais_smoke_{uuid.uuid4().hex[:10]}"
    admin = Database(async_database_url(admin_url))
    try:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        await admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return name, url


async def drop_database(admin_url: str, name: str) -> None:
    admin = Database(async_database_url(admin_url))
    try:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        await admin.dispose()


async def wait_http(base: str, path: str, container: str, within: float = 90) -> httpx.Response:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base, timeout=3) as http:
        while True:
            try:
                response = await http.get(path)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            state = podman("inspect", "--format", "{{.State.Status}}", container).stdout.strip()
            check(state == "running", f"the container stopped ({state}) before {path} answered")
            check(time.monotonic() < deadline, f"{path} did not answer 200 within {within:.0f} s")
            await asyncio.sleep(0.5)


async def smoke(image: str, admin_url: str) -> None:
    name, db_url = await create_database(admin_url)
    container = f"relais-smoke-{uuid.uuid4().hex[:8]}"
    port = free_port()
    try:
        async with FakeSlack() as fake:
            for user in (AMBASSADOR, CM):
                fake.add_user(user, name=user.lower(), real_name=user, locale="en-US")
            env = {
                "PORT": str(port),
                "DATABASE_URL": db_url,
                "SLACK_BOT_TOKEN": fake.token,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "RELAIS_CMS": CM,
                "RELAIS_REVIEW_CHANNEL": REVIEW,
                "RELAIS_METRICS_TOKEN": METRICS_TOKEN,
            }
            flags = [arg for key, val in env.items() for arg in ("-e", f"{key}={val}")]
            started = podman("run", "-d", "--name", container, "--network", "host", *flags, image)
            check(started.returncode == 0, f"podman run failed: {started.stderr}")
            try:
                await exercise(container, f"http://127.0.0.1:{port}", fake, db_url)
            except BaseException:
                print("---- container log ----", file=sys.stderr)
                log = podman("logs", container)
                print(log.stdout[-8000:], log.stderr[-8000:], file=sys.stderr)
                raise
            finally:
                podman("rm", "-f", "-t", "5", container)
    finally:
        await drop_database(admin_url, name)


async def exercise(container: str, base: str, fake: FakeSlack, db_url: str) -> None:
    started = time.monotonic()
    await wait_http(base, "/healthz", container)
    print(f"ok   /healthz answered {time.monotonic() - started:.1f} s after start")

    uid = podman("exec", container, "id", "-u").stdout.strip()
    check(uid == EXPECTED_UID, f"the container runs as uid {uid!r}, not {EXPECTED_UID}")
    tools = podman("exec", container, "sh", "-c", "command -v gcc cc make || true").stdout.strip()
    check(tools == "", f"build tools in the final image: {tools}")
    health = podman("healthcheck", "run", container)
    check(health.returncode == 0, f"the image's HEALTHCHECK failed: {health.stdout}{health.stderr}")
    print(f"ok   runs as uid {uid}, no compiler, HEALTHCHECK passes")

    ready = (await wait_http(base, "/readyz", container)).json()
    check(ready.get("status") == "ready", f"/readyz: {ready}")
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    db = Database(async_database_url(db_url))
    try:
        async with db.engine.connect() as conn:
            revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await db.dispose()
    check(revision == head, f"database at revision {revision}, expected {head}")
    print(f"ok   /readyz ready, migrations applied (revision {revision})")

    rig = RemoteRig(fake, base)
    help_answer = await rig.command(AMBASSADOR, "/relais", "help")
    check(help_answer.status_code == 200, f"/relais help: HTTP {help_answer.status_code}")
    check("/submit" in help_answer.text, f"/relais help answered {help_answer.text[:300]!r}")
    print("ok   signed /relais help answered")

    await submit_and_approve(rig, fake)
    print("ok   join -> /submit with a photo -> review card -> approve -> author's DM")

    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        refused = await http.get("/metrics")
        check(refused.status_code == 401, f"/metrics without the token: {refused.status_code}")
        scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    check(scraped.status_code == 200, f"/metrics with the token: {scraped.status_code}")
    for needle in (
        'relais_requests_total{kind="command",platform="slack",status="200"}',
        'relais_sends_total{kind="post",platform="slack"}',
        "relais_outbox_oldest_pending_seconds",
    ):
        check(needle in scraped.text, f"/metrics lacks {needle}")
    print("ok   /metrics behind its token")

    logs = podman("logs", container)
    lines = [line for line in (logs.stdout + logs.stderr).splitlines() if line.strip()]
    podman_noise = [line for line in lines if line.startswith("time=")]
    records = []
    for line in lines:
        if line in podman_noise:
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise Failed(f"a log line is not JSON: {line[:300]!r}") from exc
    text_ = "\n".join(lines)
    for secret in (fake.token, SECRET, METRICS_TOKEN, CAPTION):
        check(secret not in text_, f"{secret[:12]!r}... reached the container's log")
    check(any(r.get("workspace") == "T1" for r in records), "no log line names the workspace")
    print(f"ok   {len(records)} JSON log lines, no token or caption")


async def submit_and_approve(rig: RemoteRig, fake: FakeSlack) -> None:
    opened = len(fake.calls_to("views.open"))
    check((await rig.command(AMBASSADOR, "/relais", "join")).status_code == 200, "/relais join")
    charter = await rig.opened_view(opened + 1)
    joined = (await rig.submit(AMBASSADOR, charter, {"site": "Lyon"})).json()
    check(joined.get("response_action") == "update", f"joining: {joined}")
    check((await rig.command(AMBASSADOR, "/submit", CAPTION)).status_code == 200, "/submit")
    form = await rig.opened_view(opened + 2)
    photo = fake.add_file("F1", jpeg_bytes((30, 120, 200)), user=AMBASSADOR)
    sent = (
        await rig.submit(AMBASSADOR, form, {"appears": "nobody", "photos": [photo]}, view_id="V1")
    ).json()
    check(sent.get("response_action") == "update", f"submitting: {sent}")

    def cards() -> list[Any]:
        return [
            c for c in fake.calls_to("chat.postMessage") if c.ok and c.params["channel"] == REVIEW
        ]

    await fake.wait_for(lambda: cards(), timeout=30)
    card = cards()[0]
    check(fake.completed_uploads, "the card's photo was not uploaded to Slack")
    approve = buttons(card.params["blocks"])["review.approve"]
    clicked = await rig.click(CM, approve, message_ts=card.response["ts"])
    check(clicked.status_code == 200, f"approve: HTTP {clicked.status_code}")
    await fake.wait_for(lambda: len(fake.calls_to("chat.update")) >= 1, timeout=20)

    def dms() -> int:
        calls = fake.calls_to("chat.postMessage")
        return sum(1 for c in calls if c.ok and c.params["channel"] == AMBASSADOR)

    await fake.wait_for(lambda: dms() >= 2, timeout=20)  # the receipt, then the approval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if shutil.which("podman") is None:
        sys.exit("podman is not installed (see ../shared/tools/podman-here)")
    started = time.monotonic()
    try:
        asyncio.run(smoke(args.image, args.admin_url))
    except Failed as failed:
        print(f"FAIL {failed}", file=sys.stderr)
        sys.exit(1)
    print(f"container smoke test passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
