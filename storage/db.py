"""Engine, transactions and migrations.

Services never see a session: they ask ``Database.transaction()`` for a ``Repos``
(one unit of work) and everything done through it commits together, or not at all.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.repositories import Repos

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_UNREACHABLE: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # the connection pool is exhausted
    OSError,  # refused, reset, unreachable (ConnectionError is an OSError)
    TimeoutError,
)


def _asyncpg_errors() -> tuple[type[BaseException], ...]:
    """asyncpg's connection errors, once something loaded asyncpg (PostgreSQL only)."""
    asyncpg: Any = sys.modules.get("asyncpg")
    if asyncpg is None:
        return ()
    return (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
    )


def unreachable(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) says the database cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNREACHABLE + _asyncpg_errors()):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


class CommitRefused(TimeoutError):
    """A watched transaction reached its commit after its deadline: rolled back instead."""


class CommitWatch:
    """The commits of one request's action, bounded by a deadline (event-loop time).

    No watched commit starts once the deadline has passed or the request was
    ``abandon()``-ed: it is rolled back instead (``CommitRefused``). ``started`` counts
    the commits that began, so whoever waits on the request knows whether the database
    may have recorded something (a commit in flight cannot be taken back).
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.abandoned = False
        self.started = 0

    def abandon(self) -> None:
        """The request gave up waiting: no commit may start from now on."""
        self.abandoned = True

    def before_commit(self) -> None:
        loop = asyncio.get_running_loop()
        if self.abandoned or loop.time() >= self.deadline:
            raise CommitRefused("the request's deadline passed before its commit")
        self.started += 1


_commit_watch: ContextVar[CommitWatch | None] = ContextVar("relais_commit_watch", default=None)
# Units of work that ended well in this task (see ``counting_answers``).
_own_answers: ContextVar[list[int] | None] = ContextVar("relais_own_answers", default=None)


@contextmanager
def counting_answers() -> Iterator[list[int]]:
    """Within this block, and in the tasks created in it, the units of work that end well
    are also counted in the returned one-item list (so a request's own answers can be
    told from the ones the database gave others)."""
    own = [0]
    token = _own_answers.set(own)
    try:
        yield own
    finally:
        _own_answers.reset(token)


@contextmanager
def watching_commits(watch: CommitWatch) -> Iterator[CommitWatch]:
    """Within this block (in this task), every ``Database.transaction`` reports to ``watch``."""
    token = _commit_watch.set(watch)
    try:
        yield watch
    finally:
        _commit_watch.reset(token)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an async engine with the per-dialect settings Relais relies on."""
    parsed = make_url(url)
    # A failed statement's message must not carry its parameters (captions, reasons,
    # names) into the logs: SQLAlchemy leaves them out of its exceptions with this.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _sqlite_serialised_writes(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_serialised_writes(engine: AsyncEngine) -> None:
    # SQLite's default deferred BEGIN upgrades read locks to write locks mid-transaction,
    # which fails at once with "database is locked" instead of waiting. BEGIN IMMEDIATE
    # takes the write lock up front so concurrent transactions queue on busy_timeout.
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The application's handle on the database."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Reads need no write lock: on SQLite a second engine without BEGIN IMMEDIATE lets
        # them run beside a writer (WAL); elsewhere the same engine serves both.
        self.read_engine = self.engine
        if self.engine.dialect.name == "sqlite":
            self.read_engine = create_async_engine(url, connect_args={"timeout": 30})
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # Units of work that ended well (committed, or read to the end): a request that
        # timed out while this grew found the database busy, not away.
        self.answers = 0

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repos]:
        """One unit of work: commits when the block ends, rolls back on any exception
        (and, inside ``watching_commits``, when the watch refuses the commit)."""
        async with self._sessions() as session, session.begin():
            yield Repos(session)
            watch = _commit_watch.get()
            if watch is not None:
                watch.before_commit()
        self._answered()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Repos]:
        """A read-only unit of work that takes no write lock (never write through it)."""
        # The session begins on first use and rolls back when closed.
        async with self._read_sessions() as session:
            yield Repos(session)
        self._answered()

    def _answered(self) -> None:
        self.answers += 1
        own = _own_answers.get()
        if own is not None:
            own[0] += 1

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A raw session, for storage code that manages its own statements."""
        async with self._sessions() as session:
            yield session

    async def revision(self) -> str | None:
        """The schema's Alembic revision (None before the first migration)."""
        # Imported when used (/readyz): a server that is not migrating keeps Alembic out
        # of memory until then.
        from alembic.runtime.migration import MigrationContext

        async with self.engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at our migrations, without an alembic.ini."""
    # Imported when used: a process that does not migrate (PostgreSQL is upgraded with
    # `relais db upgrade`) does not keep Alembic and Mako in memory (about 10 MB).
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@functools.cache
def head_revision() -> str | None:
    """The revision the code expects: the newest migration (read once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (blocking; call from a thread in async code)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Apply migrations from async code without blocking the event loop."""
    await asyncio.to_thread(upgrade, url, revision)
