"""The HTTP server behind ``relais serve``: aiohttp hosting health routes and the adapters."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.base import Adapter
from adapters.deadline import work_after_answers_ended
from bot import metrics
from bot.core import Core
from bot.jobs import JobHandler, JobRunner
from bot.outbox import START_SETTLE, Dispatcher, stuck_count
from bot.ports import PlatformPort
from bot.worker import Worker
from relais import legal, library
from storage.db import head_revision

log = logging.getLogger(__name__)
# Fewer young-generation collections under load (the default is 700 allocations).
GC_THRESHOLDS = (10_000, 20, 20)
CORE_KEY = web.AppKey("core", Core)
# SIGTERM to exit within STOP_WITHIN seconds: requests in flight get REQUEST_GRACE (Slack
# wants its ack within 3 s anyway); request work left running after its answer, the job
# runner and the dispatcher finish what is in flight until DRAIN_TIMEOUT after the signal,
# one deadline for all of them; a loop told to stop later still gets MIN_DRAIN for its
# current sends; rows still held are then given back within GIVE_BACK_TIMEOUT.
STOP_WITHIN = 10.0
REQUEST_GRACE = 3.0
DRAIN_TIMEOUT = 5.0
MIN_DRAIN = 1.5
GIVE_BACK_TIMEOUT = 1.0


@dataclass
class _Stop:
    """When the drain ends (the loop's clock), once shutdown has begun."""

    deadline: float | None = None


STOP_KEY = web.AppKey("stop", _Stop)
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers, its schema is the code's, and the media directory
    is writable."""
    core = request.app[CORE_KEY]
    problems: list[str] = []
    try:
        await asyncio.wait_for(core.db.ping(), timeout=5)
        current = await asyncio.wait_for(core.db.revision(), timeout=5)
    except Exception as exc:
        problems.append(f"database: {type(exc).__name__}: {exc}")
    else:
        expected = head_revision()
        if current != expected:
            # A replica of a newer version started before anyone migrated (or an older
            # one after): it would fail on the columns it expects.
            problems.append(
                f"migrations pending: schema at {current or 'nothing'}, code expects "
                f"{expected}: run `relais db upgrade`"
            )
    media_dir = core.settings.media_dir
    try:
        media_dir.mkdir(parents=True, exist_ok=True)
        probe = media_dir / ".ready"
        await asyncio.to_thread(probe.write_bytes, b"")
    except OSError as exc:
        problems.append(f"media: {exc}")
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    # Messages still being retried long after they were queued: shown, not a failure.
    max_attempts = core.settings.relais_outbox_max_attempts
    try:
        stuck = await asyncio.wait_for(
            stuck_count(core.db, now=core.clock(), max_attempts=max_attempts), timeout=5
        )
    except Exception:
        log.exception("readyz: counting stuck outbox messages failed")
        stuck = None
    return web.json_response({"status": "ready", "stuck": stuck})


async def metrics_route(request: web.Request) -> web.Response:
    """Prometheus text format; with ``RELAIS_METRICS_TOKEN`` set, only for its bearer."""
    core = request.app[CORE_KEY]
    token = core.settings.relais_metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return web.Response(
                status=401,
                text="a bearer token is required (RELAIS_METRICS_TOKEN)\n",
                headers={"WWW-Authenticate": 'Bearer realm="relais metrics"'},
            )
    try:
        await asyncio.wait_for(metrics.read_backlog(core.db, core.clock()), timeout=5)
    except Exception as exc:
        # The process's own counters are still worth scraping while the database is away.
        metrics.SCRAPE_ERRORS.inc()
        log.warning("metrics: could not read the outbox and job backlog: %s", type(exc).__name__)
    body = generate_latest(metrics.REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(
    core: Core,
    ports: Mapping[str, PlatformPort] | None = None,
    job_handlers: Mapping[str, JobHandler] | None = None,
) -> web.Application:
    """The aiohttp application: routes, and the outbox dispatcher and job runner as
    background tasks."""
    app = web.Application(client_max_size=1024 * 1024)
    app[CORE_KEY] = core
    app[STOP_KEY] = _Stop()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_route)
    legal.mount(app, core.settings.relais_retention_days)
    library.mount(app, core)
    app.on_startup.append(_sync_charter)
    app.on_startup.append(_roles_from_settings)
    app.on_startup.append(_settle_memory)
    if ports:
        app.cleanup_ctx.append(_dispatching(core, dict(ports)))
    if job_handlers:
        app.cleanup_ctx.append(_running_jobs(core, dict(job_handlers)))
    if ports:
        app.cleanup_ctx.append(_scheduling(core))
    app.on_shutdown.append(_stop_clock)
    # Last in, so first out on shutdown: before the loops and the adapters close.
    app.cleanup_ctx.append(_request_work_ends)
    return app


async def _stop_clock(app: web.Application) -> None:
    """Shutdown begins (aiohttp calls this as it stops listening): the drain's deadline."""
    app[STOP_KEY].deadline = asyncio.get_running_loop().time() + DRAIN_TIMEOUT


def _drain_deadline(app: web.Application) -> float:
    deadline = app[STOP_KEY].deadline
    return deadline if deadline is not None else asyncio.get_running_loop().time() + DRAIN_TIMEOUT


async def _request_work_ends(app: web.Application) -> AsyncIterator[None]:
    """On shutdown, request work that outlived its answer (``adapters.deadline``: work
    abandoned at its deadline, or a commit whose outcome the person is told when it ends)
    finishes before the loops and the adapters close, within the drain's deadline."""
    yield
    left = _drain_deadline(app) - asyncio.get_running_loop().time()
    running = await work_after_answers_ended(max(0.0, left))
    if running:
        log.warning("%d request task(s) still running at the drain deadline are cancelled", running)


def _scheduling(core: Core) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        from relais.scheduler import scheduling

        async with scheduling(core):
            yield

    return ctx


def configured_adapters(
    core: Core, *, teams_overrides: dict[str, str] | None = None
) -> list[Adapter]:
    """Every adapter whose settings are present. An adapter's module (and its SDK) is
    imported only when it is configured: the Teams SDK alone is about 20 MB resident."""
    settings = core.settings
    adapters: list[Adapter] = []
    if settings.slack_configured():
        from adapters.slack.app import SlackAdapter

        adapters.append(SlackAdapter(core, settings))
    if settings.teams_configured():
        from adapters.teams.app import TeamsAdapter

        adapters.append(TeamsAdapter(core, settings, sdk_overrides=teams_overrides))
    return adapters


def build_server(core: Core, *, teams_overrides: dict[str, str] | None = None) -> web.Application:
    """``relais serve``: the app with every adapter whose settings are present, each
    started the same way (``adapters.base.Adapter``)."""
    adapters = configured_adapters(core, teams_overrides=teams_overrides)
    ports = {adapter.name: adapter.port for adapter in adapters}
    handlers = {kind: h for adapter in adapters for kind, h in adapter.job_handlers.items()}
    app = build_app(core, ports, handlers)
    for index, adapter in enumerate(adapters):
        adapter.mount(app)
        # Started before the dispatcher and the job runner, so closed after them: their
        # last sends still have the adapter's connections.
        app.cleanup_ctx.insert(index, _running(adapter))
        for line in adapter.describe():
            if line.startswith("WARNING "):
                log.warning(line.removeprefix("WARNING "))
            else:
                log.info(line)
    return app


def _running(adapter: Adapter) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with adapter.running():
            yield

    return ctx


async def _settle_memory(app: web.Application) -> None:
    # Everything loaded so far (modules, SDKs, the app) lives as long as the process:
    # freezing it keeps full garbage collections from scanning it again and again, which
    # showed up as 150-200 ms pauses in the Slack acknowledgement benchmark.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _sync_charter(app: web.Application) -> None:
    updated = await app[CORE_KEY].onboarding.sync_charter_file()
    if updated:
        log.info(
            "published RELAIS_CHARTER_FILE as a new charter version in %d workspace(s)",
            len(updated),
        )


async def _roles_from_settings(app: web.Application) -> None:
    try:
        granted = await app[CORE_KEY].onboarding.roles_from_settings()
    except Exception as exc:
        # Serve anyway (/readyz reports the database): identify() grants them on sight.
        log.warning("could not give the roles named in the settings at start: %s", exc)
        return
    if granted:
        log.info("gave %d role(s) named in RELAIS_CMS/APPROVERS/ADMINS", granted)


def _running_jobs(core: Core, handlers: dict[str, JobHandler]) -> CleanupCtx:
    def start() -> Worker:
        runner = JobRunner(core.db, handlers, clock=core.clock)
        core.on_jobs(runner.wake)
        return runner

    return _in_background(start)


def _dispatching(core: Core, ports: dict[str, PlatformPort]) -> CleanupCtx:
    def start() -> Worker:
        dispatcher = Dispatcher(
            core.db,
            ports,
            clock=core.clock,
            max_attempts=core.settings.relais_outbox_max_attempts,
            settle=START_SETTLE,
        )
        core.on_outbox(dispatcher.wake)
        return dispatcher

    return _in_background(start)


def _in_background(start: Callable[[], Worker]) -> CleanupCtx:
    """Run a worker loop (outbox dispatcher, job runner) for the life of the app.

    On shutdown it is told to stop and finishes what is in flight until the drain's
    deadline (``DRAIN_TIMEOUT`` after the signal, shared with the other loops, and at least
    ``MIN_DRAIN`` from its own stop); work still running then is cancelled and its rows
    are given back (due again at once, the try not counted), so that the next start or
    another replica takes them without waiting for their lease to run out.
    """

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        worker = start()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop), name=worker.name)
        yield
        stop.set()
        worker.wake()
        loop = asyncio.get_running_loop()
        left = max(MIN_DRAIN, _drain_deadline(app) - loop.time())
        done, _ = await asyncio.wait({task}, timeout=left)
        if done:
            task.result()
            return
        unfinished = worker.in_hand()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            given = await asyncio.wait_for(worker.give_back(unfinished), GIVE_BACK_TIMEOUT)
        except Exception as exc:
            log.warning(
                "%s: work still running after %s s was cancelled; giving back its %d row(s) "
                "failed (%s): they are taken again when their lease runs out",
                worker.name,
                DRAIN_TIMEOUT,
                len(unfinished),
                type(exc).__name__,
            )
            return
        log.warning(
            "%s: work still running after %s s was cancelled; %d row(s) given back for the "
            "next start or another replica",
            worker.name,
            DRAIN_TIMEOUT,
            given,
        )

    return ctx
