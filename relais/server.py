"""The HTTP server behind ``relais serve``: aiohttp hosting health routes and the adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot.core import Core
from bot.outbox import Dispatcher
from bot.ports import PlatformPort

log = logging.getLogger(__name__)
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
    return web.json_response({"status": "ready"})


def build_app(core: Core, ports: dict[str, PlatformPort] | None = None) -> web.Application:
    """The aiohttp application: routes, and the outbox dispatcher as a background task."""
    app = web.Application(client_max_size=1024 * 1024)
    app[CORE_KEY] = core
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.on_startup.append(_sync_charter)
    if ports:
        app.cleanup_ctx.append(_dispatching(core, ports))
    return app


async def _sync_charter(app: web.Application) -> None:
    updated = await app[CORE_KEY].onboarding.sync_charter_file()
    if updated:
        log.info(
            "published RELAIS_CHARTER_FILE as a new charter version in %d workspace(s)",
            len(updated),
        )


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
