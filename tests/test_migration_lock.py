"""Replicas starting together on a fresh PostgreSQL database: each runs the migrations,
one applies them under an advisory lock and the others wait, then find nothing to do."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database, alembic_config
from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(PG_URL is None, reason="PostgreSQL only (TEST_DATABASE_URL)"),
]
PROCESSES = 4


@pytest.fixture
async def fresh_url() -> AsyncIterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    assert PG_URL is not None
    name = f"relais_lock_{uuid.uuid4().hex[:10]}"
    admin = Database(make_url(PG_URL).set(database="postgres").render_as_string(False))
    async with admin.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(False)
    finally:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


async def test_replicas_upgrading_one_fresh_database_at_once(fresh_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_url}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "relais.cli",
            "db",
            "upgrade",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(PROCESSES)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in procs))
    for proc, (out, _) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out.decode(errors="replace")[-3000:]

    head = ScriptDirectory.from_config(alembic_config(fresh_url)).get_current_head()
    db = Database(fresh_url)
    try:
        async with db.engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            tables = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
    finally:
        await db.dispose()
    assert [v for (v,) in versions] == [head]
    assert tables and tables > 10
