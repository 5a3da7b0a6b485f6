"""Test helpers: a controllable clock, a recording platform port, member and photo makers."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from sqlalchemy import func, select, text

from bot.core import Core
from bot.media import CleanImage
from bot.ports import Target
from bot.services.submissions import load_view
from bot.ui import Message
from domain import MemberView, Platform, SubmissionView
from storage.db import Database

WORKSPACE = "T-test"


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Sent:
    workspace: str
    target: Target | None
    message: Message
    ref: dict[str, Any] | None = None


@dataclass
class RecordingPort:
    """A platform port that records what would be sent and can be told to fail."""

    platform: str = "console"
    posts: list[Sent] = field(default_factory=list)
    updates: list[Sent] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    calls: int = 0

    def fail_next(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)

    async def post(self, workspace: str, target: Target, message: Message) -> dict[str, Any]:
        self._maybe_fail()
        ref = {"channel": target.id, "ts": str(len(self.posts) + 1)}
        self.posts.append(Sent(workspace, target, message, ref))
        return ref

    async def update(self, workspace: str, ref: dict[str, Any], message: Message) -> None:
        self._maybe_fail()
        self.updates.append(Sent(workspace, None, message, ref))

    def dms_to(self, user: str) -> list[Message]:
        return [s.message for s in self.posts if s.target == Target("user", user)]

    def in_channel(self, channel: str) -> list[Message]:
        return [s.message for s in self.posts if s.target == Target("channel", channel)]


def jpeg_bytes(
    color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)
) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


async def photo(core: Core, color: tuple[int, int, int] = (200, 30, 30)) -> CleanImage:
    return await core.media.intake_bytes(jpeg_bytes(color))


async def member(core: Core, user: str, name: str | None = None, locale: str = "en") -> MemberView:
    return await core.onboarding.identify(
        Platform.CONSOLE, WORKSPACE, user, display_name=name or user, locale=locale
    )


async def ambassador(
    core: Core, user: str, name: str | None = None, locale: str = "en", site: str | None = "Lyon"
) -> MemberView:
    m = await member(core, user, name, locale)
    charter = await core.onboarding.charter(m)
    site_id = await site_named(core, m.workspace_id, site) if site else None
    return await core.onboarding.join(m, charter_version=charter.version, site_id=site_id)


async def site_named(core: Core, workspace_id: int, name: str) -> int:
    """The id of the site called ``name``, added first when the CM has not yet."""
    await core.sites.ensure(workspace_id, [name])
    found = [i for i, n in await core.sites.names(workspace_id) if n == " ".join(name.split())]
    return found[0]


def text_of(message: Message) -> str:
    """Every string of a message, for assertions."""
    parts = [message.text]
    for block in message.blocks:
        for value in vars(block).values():
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, tuple):
                        parts.extend(str(x) for x in item)
                    elif hasattr(item, "label"):
                        parts.append(item.label)
    return "\n".join(parts)


async def stored(core: Core, submission_id: int) -> SubmissionView:
    """A submission as stored now (tests read it directly; people go through actions)."""
    async with core.db.read() as r:
        return await load_view(r, submission_id)


async def count_rows(db: Database, model: Any, *where: Any) -> int:
    """How many rows of ``model`` (matching ``where``) the database holds now."""
    async with db.read() as r:
        query = select(func.count()).select_from(model).where(*where)
        return int(await r.session.scalar(query) or 0)


@asynccontextmanager
async def scratch_database(db: Database, tmp_path: Path, name: str) -> AsyncIterator[str]:
    """The URL of an empty database of the test's own, beside ``db``: on PostgreSQL a new
    database on the same server (dropped afterwards, even when the test fails), on SQLite
    a file in ``tmp_path``. For migration tests that start from an old revision."""
    database = f"relais_{name}_{os.getpid()}"
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        admin = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {database}"))
            await conn.execute(text(f"CREATE DATABASE {database}"))
        url = db.engine.url.set(database=database).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    try:
        yield url
    finally:
        if postgresql:
            admin = db.engine.execution_options(isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
