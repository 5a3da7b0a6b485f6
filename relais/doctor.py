"""``relais doctor``: configuration check, outbox health (stuck messages, dead letters)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from bot.outbox import STUCK_AFTER
from bot.settings import Settings
from storage.db import Database, alembic_config


async def run_doctor(
    settings: Settings, *, requeue_dead: bool, echo: Callable[[str], None]
) -> bool:
    """Print a report; True when nothing needs attention."""
    ok = True
    echo(f"database: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    db = Database(settings.database_url)
    try:
        try:
            await db.ping()
        except Exception as exc:
            echo(f"  ✗ cannot connect: {exc}")
            return False
        head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
        async with db.engine.connect() as conn:
            current = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
        if current != head:
            ok = False
            fix = "run `relais db upgrade`"
            echo(f"  ✗ schema at {current or 'nothing'}, code expects {head}: {fix}")
        else:
            echo(f"  ✓ schema at {head}")
            max_attempts = settings.relais_outbox_max_attempts
            ok = await _outbox_report(db, requeue_dead, max_attempts, echo) and ok
            ok = await _jobs_report(db, echo) and ok
    finally:
        await db.dispose()
    ok = _platform_report(settings, echo) and ok
    return ok


async def _stuck_report(db: Database, max_attempts: int, echo: Callable[[str], None]) -> bool:
    now = datetime.now(UTC)
    async with db.read() as r:
        queued_before = now - STUCK_AFTER
        total = await r.outbox.count_stuck(attempts=max_attempts, queued_before=queued_before)
        stuck = await r.outbox.stuck(attempts=max_attempts, queued_before=queued_before)
    if not total:
        echo("  ✓ nothing stuck")
        return True
    minutes = int(STUCK_AFTER.total_seconds() // 60)
    echo(
        f"  ✗ {total} message(s) stuck ({max_attempts}+ tries or queued over {minutes} min "
        "ago; still being retried, oldest first):"
    )
    for row in stuck:
        who = f"{row.target.get('kind')} {row.target.get('id')}"
        age = now - row.created_at
        echo(
            f"    #{row.id} {row.platform} {row.kind} to {who}, {row.attempts} tries, "
            f"queued {int(age.total_seconds() // 60)} min ago: {(row.last_error or '')[:200]}"
        )
    return False


async def _outbox_report(
    db: Database, requeue_dead: bool, max_attempts: int, echo: Callable[[str], None]
) -> bool:
    async with db.transaction() as r:
        counts = await r.outbox.counts()
        dead = await r.outbox.dead_letters(limit=50)
        if requeue_dead and dead:
            n = await r.outbox.requeue_dead(now=datetime.now(UTC))
            echo(f"  ↻ {n} dead letter(s) queued again")
            return True
    echo("outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"))
    ok = await _stuck_report(db, max_attempts, echo)
    if not dead:
        echo("  ✓ no dead letters")
        return ok
    echo(f"  ✗ {counts.get('dead', len(dead))} dead letter(s) (newest first):")
    for row in dead:
        who = f"{row.target.get('kind')} {row.target.get('id')}"
        echo(
            f"    #{row.id} {row.platform} {row.kind} to {who}, {row.attempts} tries: "
            f"{(row.last_error or '')[:200]}"
        )
    echo("  fix the cause, then `relais doctor --requeue-dead` to try them again")
    return False


async def _jobs_report(db: Database, echo: Callable[[str], None]) -> bool:
    async with db.read() as r:
        counts = await r.jobs.counts()
        unfinished = await r.jobs.unfinished(limit=50)
    echo("jobs: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    dead = [job for job in unfinished if job.status == "dead"]
    for job in unfinished:
        who = job.payload.get("user", "?")
        error = f": {(job.last_error or '')[:200]}" if job.last_error else ""
        echo(f"    #{job.id} {job.kind} for {who}, {job.status}, {job.attempts} tries{error}")
    if dead:
        echo(f"  ✗ {len(dead)} job(s) failed for good (the person was told)")
        return False
    echo("  ✓ no failed jobs")
    return True


def _platform_report(settings: Settings, echo: Callable[[str], None]) -> bool:
    ok = True
    echo("platforms:")
    if settings.slack_bot_token or settings.slack_client_id:
        problem = settings.slack_problem()
        if problem:
            ok = False
            echo(f"  ✗ Slack: {problem}")
        else:
            mode = "Socket Mode" if settings.slack_app_token else "HTTP (POST /slack/events)"
            workspaces = "OAuth, many workspaces" if settings.slack_client_id else "one workspace"
            echo(f"  ✓ Slack settings present: {mode}, {workspaces}")
    else:
        echo("  - Slack: not configured")
    if settings.microsoft_app_id or settings.relais_teams_emulator:
        problem = settings.teams_problem()
        if problem:
            ok = False
            echo(f"  ✗ Teams: {problem}")
        elif settings.relais_teams_emulator:
            echo("  ! Teams: emulator mode, authentication OFF (local use only)")
        else:
            echo(f"  ✓ Teams settings present ({settings.microsoft_app_type})")
        if not settings.public_url:
            echo("  ! PUBLIC_URL is not set: Teams review cards will show no photos")
    else:
        echo("  - Teams: not configured")
    media = settings.media_dir
    try:
        media.mkdir(parents=True, exist_ok=True)
        echo(f"  ✓ media directory {media}")
    except OSError as exc:
        ok = False
        echo(f"  ✗ media directory {media}: {exc}")
    return ok
