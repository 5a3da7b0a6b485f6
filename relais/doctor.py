"""``relais doctor``: configuration check, outbox health (stuck messages, dead letters)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from bot.outbox import STUCK_AFTER
from bot.settings import Settings
from storage.db import Database, head_revision
from storage.media_store import S3MediaStore, media_store


async def run_doctor(
    settings: Settings,
    *,
    requeue_dead: bool,
    echo: Callable[[str], None],
    teams_overrides: dict[str, str] | None = None,
) -> bool:
    """Print a report; True when nothing needs attention. ``teams_overrides``: the Bot
    Framework SDK's URLs (tests point them at a local connector)."""
    ok = True
    echo(f"database: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    db = Database(settings.database_url)
    try:
        try:
            await db.ping()
        except Exception as exc:
            echo(f"  ✗ cannot connect: {exc}")
            return False
        head = head_revision()
        current = await db.revision()
        if current != head:
            ok = False
            fix = "run `relais db upgrade`"
            echo(f"  ✗ schema at {current or 'nothing'}, code expects {head}: {fix}")
        else:
            echo(f"  ✓ schema at {head}")
            max_attempts = settings.relais_outbox_max_attempts
            ok = await _outbox_report(db, requeue_dead, max_attempts, echo) and ok
            ok = await _jobs_report(db, echo) and ok
            ok = await _retention_report(settings, db, echo) and ok
    finally:
        await db.dispose()
    ok = _platform_report(settings, echo) and ok
    ok = await _connectivity_report(settings, echo, teams_overrides) and ok
    ok = await _media_report(settings, echo) and ok
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


async def _retention_report(settings: Settings, db: Database, echo: Callable[[str], None]) -> bool:
    """What the next retention round would delete, and when it runs; False when the
    database knows none of the stored files (the round then collects nothing)."""
    from bot.services.retention import ORPHAN_AFTER, Retention

    store = media_store(settings.media_dir, settings.media_url)
    days = settings.relais_retention_days
    retention = Retention(db, store, days, lambda: datetime.now(UTC))
    try:
        due = await retention.due()
    except Exception as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        echo(f"retention: could not list the media store ({detail})")
        return True  # the media checks below say what is wrong with it
    last = due.last_run.strftime("%Y-%m-%d %H:%M UTC") if due.last_run else "never"
    when = (
        f"next run {due.next_run:%Y-%m-%d %H:%M} UTC"
        if due.next_run
        else "due now (the next minute's tick of `relais serve`)"
    )
    echo(f"retention: daily round, last run {last}, {when}")
    echo(
        f"  - {due.photos} photo file(s) to delete: of {due.submissions} submission(s) "
        f"rejected or withdrawn, or replaced by a resubmission, over {days} days ago "
        "(RELAIS_RETENTION_DAYS)"
    )
    if due.wrong_database:
        echo(
            f"  ✗ none of the {due.orphans} files stored over {ORPHAN_AFTER.days} days ago is "
            "known to this database, so none is deleted: check that DATABASE_URL is the "
            "database of this MEDIA_DIR or MEDIA_URL"
        )
        return False
    echo(
        f"  - {due.orphans} orphan file(s) (referenced by nothing, stored over "
        f"{ORPHAN_AFTER.days} days ago) to delete"
    )
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
    return ok


# How long a platform may take to answer the doctor.
CONNECT_TIMEOUT = 10.0


async def _connectivity_report(
    settings: Settings, echo: Callable[[str], None], teams_overrides: dict[str, str] | None
) -> bool:
    """Ask each configured platform whether it accepts Relais' credentials."""
    ok = True
    if settings.slack_bot_token and not settings.slack_problem():
        ok = await _slack_auth_test(settings, echo) and ok
    elif settings.slack_client_id and not settings.slack_problem():
        echo("  - Slack (OAuth): each workspace's token is checked when it is used")
    if settings.microsoft_app_id and not settings.teams_problem():
        ok = await _teams_token(settings, echo, teams_overrides) and ok
    return ok


async def _slack_auth_test(settings: Settings, echo: Callable[[str], None]) -> bool:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.port import api_base_url

    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=api_base_url(settings.slack_api_url),
        timeout=int(CONNECT_TIMEOUT),
    )
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        echo(
            f"  ✗ Slack refused SLACK_BOT_TOKEN (auth.test: {error or exc.response.status_code}): "
            "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions "
            "page, or reinstall the app if it was removed"
        )
        return False
    except Exception as exc:
        echo(
            f"  ✗ cannot reach Slack at {settings.slack_api_url} ({type(exc).__name__}): "
            "allow outbound HTTPS to slack.com (and set HTTPS_PROXY if you use a proxy)"
        )
        return False
    team, bot = answer.get("team_id"), answer.get("user_id")
    echo(f"  ✓ Slack accepts the bot token: workspace {team}, bot {bot}")
    return True


async def _teams_token(
    settings: Settings, echo: Callable[[str], None], overrides: dict[str, str] | None
) -> bool:
    from adapters.teams.app import fetch_bot_token

    try:
        await asyncio.wait_for(fetch_bot_token(settings, overrides), timeout=CONNECT_TIMEOUT)
    except Exception as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        echo(
            f"  ✗ no Bot Framework token for MICROSOFT_APP_ID ({detail}): check "
            "MICROSOFT_APP_PASSWORD (a client secret that has not expired), and for a "
            "SingleTenant bot MICROSOFT_APP_TYPE=SingleTenant with MICROSOFT_APP_TENANT_ID"
        )
        return False
    echo("  ✓ Teams: a Bot Framework token was issued for MICROSOFT_APP_ID")
    return True


async def _media_report(settings: Settings, echo: Callable[[str], None]) -> bool:
    """The media directory exists and takes a file (photos are written there)."""
    media = settings.media_dir

    def probe() -> None:
        media.mkdir(parents=True, exist_ok=True)
        path = media / f".doctor-{os.getpid()}"
        path.write_bytes(b"ok")
        path.unlink()

    try:
        await asyncio.to_thread(probe)
    except OSError as exc:
        echo(
            f"  ✗ media directory {media} is not writable ({exc.strerror or exc}): give the "
            "user running Relais write access, or point MEDIA_DIR at a writable volume"
        )
        return False
    echo(f"  ✓ media directory {media} is writable")
    if not settings.media_url:
        return True
    try:
        store = S3MediaStore.from_url(settings.media_url, media)
        await asyncio.to_thread(store.check)
    except Exception as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        echo(
            f"  ✗ media bucket {settings.media_url} ({detail}): check the bucket exists and "
            "AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY allow putting, getting and deleting objects in it"
        )
        return False
    echo(f"  ✓ media bucket {settings.media_url} takes, returns and deletes an object")
    return True
