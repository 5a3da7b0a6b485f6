"""A real ``relais serve`` process for the crash and outage tests, and Slack requests to it.

``Serve`` starts ``python -m relais.cli serve`` on a free port against a database and a
``FakeSlack`` (its output goes to a log file in the test's directory), waits for
``/readyz``, and can ``kill()`` it (SIGKILL) and start another on the same database.
``RemoteRig`` sends ``SlackRig``'s signed payloads to it over HTTP (httpx responses).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.slack_api import FakeSlack, signed_headers
from tests.slack_support import REVIEW, SECRET, SlackRig

CMS = ["UCM1", "UCM2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RemoteRig(SlackRig):
    """``SlackRig``'s Slack payloads, sent to a ``relais serve`` process over HTTP."""

    def __init__(self, fake: FakeSlack, base_url: str) -> None:
        self.fake = fake
        self.base_url = base_url
        self._triggers = itertools.count(1)
        # One client for every request: building one costs tens of milliseconds of CPU
        # (its TLS context), which would count in the timed answers.
        self.client = httpx.AsyncClient(base_url=base_url, timeout=10)

    async def post(  # type: ignore[override]
        self, body: str, **_: Any
    ) -> httpx.Response:
        return await self.client.post(
            "/slack/events", content=body.encode(), headers=signed_headers(SECRET, body)
        )

    async def close(self) -> None:
        await self.client.aclose()


class Serve:
    """``relais serve`` processes on one database, one after the other."""

    def __init__(self, fake: FakeSlack, db_url: str, tmp_path: Path) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "MEDIA_DIR": str(tmp_path / "media"),
            "PORT": str(self.port),
            "SLACK_BOT_TOKEN": fake.token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "RELAIS_CMS": ",".join(CMS),
            "RELAIS_REVIEW_CHANNEL": REVIEW,
            "RELAIS_LOCALE": "en",
            "RELAIS_TIMEZONE": "Europe/Paris",
        }
        self.cwd = tmp_path
        self.proc: asyncio.subprocess.Process | None = None
        self.logs: list[Path] = []

    async def start(self) -> None:
        log = self.cwd / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "relais.cli",
                "serve",
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while True:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.proc.returncode is None, self.output()
                assert time.monotonic() < deadline, "relais serve did not start in 30 s"
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def log_text(self) -> str:
        """Everything the processes logged, in full."""
        return "\n".join(log.read_text(errors="replace") for log in self.logs)

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace")[-4000:] for log in self.logs)
