"""Fixtures: every database test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

The schema comes from the Alembic migrations (so they are tested too): once per run
into a template SQLite file copied per test, and once into the PostgreSQL database,
truncated between tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.core import Core
from bot.outbox import Dispatcher
from bot.settings import Settings, async_database_url
from storage.db import Database, upgrade
from storage.models import Base
from tests.support import FakeClock, RecordingPort

PG_URL = (
    async_database_url(os.environ["TEST_DATABASE_URL"])
    if os.environ.get("TEST_DATABASE_URL")
    else None
)
#: ``TEST_BACKENDS=postgresql`` (with TEST_DATABASE_URL) runs only what touches
#: PostgreSQL: the database tests on it and the tests marked ``postgresql``. ``.ci/run``
#: runs the same command on SQLite first, so the rest has already run once.
PG_ONLY = PG_URL is not None and os.environ.get("TEST_BACKENDS", "").strip() == "postgresql"
BACKENDS = ["postgresql"] if PG_ONLY else ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
REVIEW_CHANNEL = "C-review"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``PG_ONLY``, deselect the tests that never reach PostgreSQL."""
    if not PG_ONLY:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        reaches = "db_url" in getattr(item, "fixturenames", ()) or item.get_closest_marker(
            "postgresql"
        )
        (keep if reaches else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "relais.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema() -> str | None:
    if PG_URL is None:
        return None

    async def reset() -> None:
        db = Database(PG_URL)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await db.dispose()

    asyncio.run(reset())
    upgrade(PG_URL)
    return PG_URL


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # Synchronous on purpose: the session fixtures run migrations with their own loop.
    if request.param == "sqlite":
        path = tmp_path / "relais.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_schema")

    async def truncate() -> None:
        db = Database(url)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await db.dispose()

    asyncio.run(truncate())
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=db_url,
        media_dir=tmp_path / "media",
        relais_cms=["cm1", "cm2"],
        relais_approvers=["boss"],
        relais_review_channel=REVIEW_CHANNEL,
        relais_locale="en",
        relais_timezone="Europe/Paris",
    )


@pytest.fixture
def core(settings: Settings, db: Database, clock: FakeClock) -> Core:
    return Core(settings, db, clock=clock)


@pytest.fixture
def port() -> RecordingPort:
    return RecordingPort()


@pytest.fixture
def dispatcher(db: Database, port: RecordingPort, clock: FakeClock) -> Dispatcher:
    # One send at a time so tests can rely on delivery order (card before DM, as queued);
    # concurrent delivery is exercised by the two-dispatcher tests.
    return Dispatcher(db, {"console": port}, clock=clock, max_attempts=4, concurrency=1)
