"""The HTTP server behind ``relais serve``: aiohttp hosting health routes and the adapters."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from bot.core import Core
from bot.jobs import JobHandler, JobRunner
from bot.outbox import Dispatcher, stuck_count
from bot.ports import PlatformPort

log = logging.getLogger(__name__)
# Fewer young-generation collections under load (the default is 700 allocations).
GC_THRESHOLDS = (10_000, 20, 20)
CORE_KEY = web.AppKey("core", Core)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers and the media directory is writable."""
    core = request.app[CORE_KEY]
    problems: list[str] = []
    try:
        await asyncio.wait_for(core.db.ping(), timeout=5)
    except Exception as exc:
        problems.append(f"database: {type(exc).__name__}: {exc}")
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


def build_app(
    core: Core,
    ports: Mapping[str, PlatformPort] | None = None,
    job_handlers: Mapping[str, JobHandler] | None = None,
) -> web.Application:
    """The aiohttp application: routes, and the outbox dispatcher and job runner as
    background tasks."""
    app = web.Application(client_max_size=1024 * 1024)
    app[CORE_KEY] = core
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.on_startup.append(_sync_charter)
    app.on_startup.append(_settle_memory)
    if ports:
        app.cleanup_ctx.append(_dispatching(core, dict(ports)))
    if job_handlers:
        app.cleanup_ctx.append(_running_jobs(core, dict(job_handlers)))
    if ports:
        app.cleanup_ctx.append(_scheduling(core))
    return app


def _scheduling(core: Core):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application):  # type: ignore[no-untyped-def]
        from relais.scheduler import scheduling

        async with scheduling(core):
            yield

    return ctx


def build_server(core: Core, *, teams_overrides: dict[str, str] | None = None) -> web.Application:
    """``relais serve``: the app with every adapter whose settings are present."""
    from adapters.slack.app import SlackAdapter, slack_configured
    from adapters.teams.app import TeamsAdapter, teams_configured

    settings = core.settings
    ports: dict[str, PlatformPort] = {}
    handlers: dict[str, JobHandler] = {}
    slack = SlackAdapter(core, settings) if slack_configured(settings) else None
    if slack is not None:
        ports["slack"] = slack.port
        handlers.update(slack.job_handlers)
    teams = (
        TeamsAdapter(core, settings, sdk_overrides=teams_overrides)
        if teams_configured(settings)
        else None
    )
    if teams is not None:
        ports["teams"] = teams.port
        handlers.update(teams.job_handlers)
    app = build_app(core, ports, handlers)
    if teams is not None:
        teams.mount(app)
        app.router.add_get("/media/{token}", teams.links.handler(core.store))

        async def teams_running(app: web.Application) -> AsyncIterator[None]:
            yield
            await teams.close()

        app.cleanup_ctx.append(teams_running)
        if teams.auth:
            log.info("Teams: POST /api/messages for app %s", settings.microsoft_app_id)
        else:
            log.warning(
                "TEAMS AUTHENTICATION IS OFF (RELAIS_TEAMS_EMULATOR, no MICROSOFT_APP_ID): "
                "anyone who can reach /api/messages can act as anyone. Local emulator use only."
            )
        if not settings.public_url:
            log.warning("PUBLIC_URL is not set: Teams review cards will show no photos")
    if slack is not None:
        if not slack.socket_mode:
            # In Socket Mode requests arrive over the websocket, unsigned: no HTTP route.
            slack.mount(app)

        async def slack_running(app: web.Application) -> AsyncIterator[None]:
            async with slack.running():
                yield

        app.cleanup_ctx.append(slack_running)
        log.info(
            "Slack: %s, %s",
            "Socket Mode" if slack.socket_mode else "HTTP at POST /slack/events",
            "multi-workspace OAuth" if slack.oauth else "single workspace (SLACK_BOT_TOKEN)",
        )
    return app


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


def _running_jobs(core: Core, handlers: dict[str, JobHandler]):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application):  # type: ignore[no-untyped-def]
        runner = JobRunner(core.db, handlers, clock=core.clock)
        core.on_jobs(runner.wake)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run_forever(stop))
        yield
        stop.set()
        runner.wake()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=10)

    return ctx


def _dispatching(core: Core, ports: dict[str, PlatformPort]):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application):  # type: ignore[no-untyped-def]
        dispatcher = Dispatcher(
            core.db, ports, clock=core.clock, max_attempts=core.settings.relais_outbox_max_attempts
        )
        core.on_outbox(dispatcher.wake)
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run_forever(stop))
        yield
        # Drain on shutdown: finish the messages in flight, leave the rest for next start.
        stop.set()
        dispatcher.wake()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)

    return ctx
