"""The ``relais`` command line (typer): serve, console, db upgrade, doctor, teams-package."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.engine import make_url

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.core import Core
    from storage.db import Database

app = typer.Typer(
    help="Relais: the ambassador programme bot for Slack and Microsoft Teams.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
digest_app = typer.Typer(help="The weekly digest.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")
site_app = typer.Typer(help="The sites ambassadors pick from.", no_args_is_help=True)
app.add_typer(site_app, name="site")

CONSOLE_DEFAULT_CMS = ["cm"]
CONSOLE_DEFAULT_APPROVERS = ["approver"]


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the variable and the problem
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (to the latest by default)."""
    from storage.db import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"Database at {_describe(settings.database_url)} is at revision {revision}.")


@app.command()
def console() -> None:
    """The whole product in this terminal: join, submit a photo, review, notifications."""
    from adapters.console.app import ConsoleApp, terminal_ask
    from bot.core import Core
    from domain import Platform
    from storage.db import Database, upgrade

    settings = _settings()
    if not settings.relais_cms:
        settings.relais_cms = CONSOLE_DEFAULT_CMS
    if not settings.relais_approvers:
        settings.relais_approvers = CONSOLE_DEFAULT_APPROVERS
    upgrade(settings.database_url)

    async def main() -> None:
        db = Database(settings.database_url)
        core = Core(
            settings,
            db,
            review_channels={Platform.CONSOLE: settings.relais_review_channel or "review"},
        )
        try:
            await core.onboarding.sync_charter_file()
            await core.onboarding.roles_from_settings()
            await ConsoleApp(core, terminal_ask, print).run()
        finally:
            await db.dispose()

    asyncio.run(main())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT, 3000).")] = None,
    upgrade_db: Annotated[
        bool,
        typer.Option(
            "--upgrade",
            help="Apply migrations before serving, on PostgreSQL too (replicas starting at "
            "once take turns on an advisory lock). SQLite is always upgraded.",
        ),
    ] = False,
) -> None:
    """Run the HTTP server: health routes, and Slack (HTTP or Socket Mode) when configured."""
    from aiohttp import web

    from bot.core import Core
    from relais.logs import ACCESS_LOG_FORMAT, configure
    from relais.server import REQUEST_GRACE, build_server
    from storage.db import Database

    configure()
    settings = _settings()
    if upgrade_db or make_url(settings.database_url).get_backend_name() == "sqlite":
        _upgrade_apart(settings.database_url)
    if not (
        settings.slack_bot_token
        or settings.slack_client_id
        or settings.microsoft_app_id
        or settings.relais_teams_emulator
    ):
        logging.getLogger("relais").warning(
            "No chat platform is configured yet (SLACK_* or MICROSOFT_* settings); "
            "serving health routes only. Try `relais console` for the full flow."
        )
    problem = settings.slack_problem() or settings.teams_problem()
    if problem:
        typer.echo(f"Configuration error: {problem}", err=True)
        raise typer.Exit(2)
    if settings.relais_teams_emulator and host is None:
        # Without Bot Framework authentication, listen on this machine only unless the
        # command line says otherwise (HOST from the environment is not enough).
        host = "127.0.0.1"
    host, port = host or settings.host, port if port is not None else settings.port
    # Try the address before anything starts (the scheduler's catch-up, the dispatcher),
    # and again around the real bind in case another process took it in between.
    problem = _cannot_listen(host, port)
    if problem:
        typer.echo(problem, err=True)
        raise typer.Exit(1)
    core = Core(settings, Database(settings.database_url))
    try:
        web.run_app(
            build_server(core),
            host=host,
            port=port,
            access_log_format=ACCESS_LOG_FORMAT,
            shutdown_timeout=REQUEST_GRACE,
            print=lambda msg: logging.getLogger("relais").info(msg),
        )
        logging.getLogger("relais").info("relais serve stopped")
    except OSError as exc:
        if exc.errno not in _BIND_ERRORS and not isinstance(exc, socket.gaierror):
            raise
        typer.echo(_listen_message(host, port, exc), err=True)
        raise typer.Exit(1) from None


_BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})


def _upgrade_apart(url: str) -> None:
    """Migrate in a short-lived child process: Alembic, Mako and Pygments (about 10 MB)
    are then never loaded in the server, which has no use for them after start."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    code = "import sys; from storage.db import upgrade; upgrade(sys.argv[1])"
    if subprocess.run([sys.executable, "-c", code, url], env=env, check=False).returncode:
        typer.echo(f"Could not migrate the database at {_describe(url)} (see above).", err=True)
        raise typer.Exit(1)


def _cannot_listen(host: str, port: int) -> str | None:
    """Why ``relais serve`` cannot listen on ``host:port``, in one line; None when it can.

    Binds the way aiohttp will (``loop.create_server``, every address of ``host``) and
    closes at once.
    """

    async def probe() -> None:
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, host, port)
        server.close()
        await server.wait_closed()

    try:
        asyncio.run(probe())
    except OSError as exc:
        return _listen_message(host, port, exc)
    return None


def _listen_message(host: str, port: int, exc: OSError) -> str:
    other = port + 1 if 0 < port < 65535 else 3000
    where = f"port {port} on {host}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"relais serve: {where} is already in use (another relais serve?). Stop that "
            f"process, or choose another port: PORT={other} relais serve, or relais serve "
            f"--port {other}."
        )
    if exc.errno == errno.EACCES:
        return (
            f"relais serve: not allowed to listen on {where} (ports below 1024 need "
            f"privileges). Choose another port: PORT={other} relais serve, or relais serve "
            f"--port {other}."
        )
    reason = exc.strerror or str(exc)
    return (
        f"relais serve: cannot listen on {where}: {reason}. Set HOST (or --host) to an "
        "address of this machine, such as 127.0.0.1 or 0.0.0.0."
    )


def _digest_core(settings: Settings) -> tuple[Core, Database]:
    """(core, database) for the commands that work without serving (digest, stats)."""
    from bot.core import Core
    from storage.db import Database

    db = Database(settings.database_url)
    return Core(settings, db), db


@digest_app.command("preview")
def digest_preview(
    workspace: Annotated[
        str | None, typer.Option(help="Workspace id on its platform (default: all).")
    ] = None,
) -> None:
    """Print the next digest of each workspace (what was approved so far this period)."""
    from adapters.console.render import render
    from bot import cards
    from bot.i18n import translator

    settings = _settings()

    async def main() -> None:
        core, db = _digest_core(settings)
        try:
            for ws_id, external, platform, locale in await _workspaces(core, workspace):
                digest, config = await core.rounds.preview(ws_id)
                message = cards.digest_message(translator(locale), digest, config.timezone)
                channel = config.digest_channel or "(no digest channel set)"
                typer.echo(f"=== {platform} {external} -> {channel} ===")
                lines = render(message, number_button=lambda a, v: 0, media_dir=settings.media_dir)
                for line in lines:
                    typer.echo(line)
        finally:
            await db.dispose()

    asyncio.run(main())


@digest_app.command("send")
def digest_send(
    workspace: Annotated[
        str | None, typer.Option(help="Workspace id on its platform (default: all).")
    ] = None,
) -> None:
    """Queue each workspace's digest for this period now (once: a second send is refused);
    `relais serve` delivers it."""
    settings = _settings()

    async def main() -> None:
        core, db = _digest_core(settings)
        try:
            for ws_id, external, platform, _ in await _workspaces(core, workspace):
                config = await core.config.get(ws_id)
                if not config.digest_channel:
                    typer.echo(f"{platform} {external}: no digest channel set (skipped)")
                    continue
                sent = await core.rounds.send_now(ws_id)
                state = "queued" if sent else "already sent (nothing approved since)"
                typer.echo(f"{platform} {external}: digest {state} for {config.digest_channel}")
        finally:
            await db.dispose()

    asyncio.run(main())


@app.command()
def stats(
    workspace: Annotated[
        str | None, typer.Option(help="Workspace id on its platform (default: all).")
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="The figures as CSV (section,item,value).")
    ] = False,
    submissions: Annotated[
        bool, typer.Option(help="With --csv: every submission instead of the figures.")
    ] = False,
    chart: Annotated[
        Path | None, typer.Option(help="Also write the 12-week chart (PNG) to this file.")
    ] = None,
) -> None:
    """The CM's numbers over the last 12 weeks (what /relais stats shows)."""
    from adapters.console.render import render
    from bot import cards
    from bot.chart import render_weeks
    from bot.i18n import translator
    from bot.services.stats import figures_csv
    from domain import StatsView

    settings = _settings()

    async def main() -> None:
        core, db = _digest_core(settings)
        try:
            found = await _workspaces(core, workspace)
            if as_csv and len(found) > 1:
                typer.echo("Several workspaces: name one with --workspace.", err=True)
                raise typer.Exit(2)
            for ws_id, external, platform, locale in found:
                figures = await core.stats.compute(ws_id, StatsView.WORKSPACE)
                if as_csv and submissions:
                    text = await core.stats.submissions_csv(ws_id, figures.timezone)
                    typer.echo(text, nl=False)
                elif as_csv:
                    typer.echo(figures_csv(figures), nl=False)
                else:
                    typer.echo(f"=== {platform} {external} ===")
                    message = cards.stats_message(translator(locale), figures)
                    lines = render(message, number_button=lambda a, v: 0, media_dir=Path())
                    for line in lines:
                        typer.echo(line)
                if chart is not None:
                    png = await asyncio.to_thread(render_weeks, figures.weeks, translator(locale))
                    chart.write_bytes(png)
                    typer.echo(f"Chart written to {chart}", err=True)
        finally:
            await db.dispose()

    asyncio.run(main())


@app.command()
def export(
    workspace: Annotated[
        str | None,
        typer.Option(help="Workspace id on its platform (needed when there are several)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder the files are written to.")] = Path(),
    photos: Annotated[
        bool,
        typer.Option(
            "--photos",
            help="Also a zip of the approved photos cleared for use outside the company, "
            "each with a JSON sidecar (faces blurred where face_blur says so).",
        ),
    ] = False,
) -> None:
    """What /relais export sends a CM, as files: the figures and every submission (CSV,
    with the consent columns); with --photos, the photos that may be used outside."""
    from bot.services.stats import figures_csv
    from domain import StatsView

    settings = _settings()

    async def main() -> int:
        core, db = _digest_core(settings)
        try:
            found = await _workspaces(core, workspace)
            if len(found) != 1:
                if found:
                    typer.echo("Several workspaces: name one with --workspace.", err=True)
                return 2
            ws_id, external, platform, _ = found[0]
            figures = await core.stats.compute(ws_id, StatsView.WORKSPACE)
            day = core.clock().date().isoformat()
            out.mkdir(parents=True, exist_ok=True)
            written = [
                (out / f"relais-stats-{day}.csv", figures_csv(figures)),
                (
                    out / f"relais-submissions-{day}.csv",
                    await core.stats.submissions_csv(ws_id, figures.timezone),
                ),
            ]
            for path, text in written:
                path.write_text(text, encoding="utf-8")
                typer.echo(f"{platform} {external}: wrote {path}")
            if photos:
                target = out / f"relais-photos-{day}.zip"
                count = await core.outside.photos_zip(ws_id, target)
                typer.echo(f"{platform} {external}: wrote {target} ({count} photo(s))")
        finally:
            await db.dispose()
        return 0

    raise typer.Exit(asyncio.run(main()))


async def _workspaces(core: Core, workspace: str | None) -> list[tuple[int, str, str, str]]:
    async with core.db.read() as r:
        found = []
        for ws_id in await r.workspaces.ids():
            ws = await r.workspaces.get(ws_id)
            if workspace is None or ws.external_id == workspace:
                found.append((ws.id, ws.external_id, ws.platform, ws.locale))
    if not found:
        typer.echo("No workspace yet (nobody has used Relais).")
    return found


@site_app.command("import")
def site_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV file: one site name per line, in the first column (a header row "
            "'name', 'site' or 'nom' is skipped).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    workspace: Annotated[
        str | None,
        typer.Option(help="Workspace id on its platform (needed when there are several)."),
    ] = None,
) -> None:
    """Add the sites of a CSV file to a workspace. Running it again adds only what is new:
    names equal but for case, accents and spaces are the same site."""
    names = _site_names(file)
    settings = _settings()

    async def main() -> int:
        core, db = _digest_core(settings)
        try:
            found = await _workspaces(core, workspace)
            if len(found) != 1:
                if found:
                    ids = ", ".join(f"{platform} {external}" for _, external, platform, _ in found)
                    typer.echo(
                        f"Several workspaces ({ids}): choose one with --workspace.", err=True
                    )
                return 2
            ws_id, external, platform, _ = found[0]
            done = await core.sites.ensure(ws_id, names)
        finally:
            await db.dispose()
        typer.echo(
            f"{platform} {external}: {len(done.added)} site(s) added, "
            f"{done.existing} already there."
        )
        for line, name in done.refused:
            typer.echo(f"line {line}: refused, longer than 120 characters: {name[:60]}…", err=True)
        return 1 if done.refused else 0

    raise typer.Exit(asyncio.run(main()))


def _site_names(file: Path) -> list[str]:
    """The first column of each row (utf-8, with or without a BOM; comma, semicolon or
    tab separated, as spreadsheets export), the header skipped."""
    import csv

    with file.open(encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                sample, delimiters=",;\t"
            )
        except csv.Error:
            dialect = csv.excel
        rows = [row[0] if row else "" for row in csv.reader(handle, dialect)]
    if rows and rows[0].strip().lower() in ("name", "site", "nom", "sites"):
        rows[0] = ""
    return rows


@app.command()
def forget(
    user: Annotated[
        str,
        typer.Argument(help="The person's platform user id (Slack U…, Teams Entra object id)."),
    ],
    workspace: Annotated[
        str | None,
        typer.Option(help="Workspace id on its platform (needed when there are several)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Forget someone who left the company: as /relais forget, run by an administrator.
    Their profile and personal data are deleted; approved submissions are deleted or
    kept anonymised as the workspace's forget_approved setting says."""
    settings = _settings()

    async def main() -> int:
        core, db = _digest_core(settings)
        try:
            found = await _workspaces(core, workspace)
            targets = []
            for ws_id, external, platform, _ in found:
                async with core.db.read() as r:
                    row = await r.members.find(ws_id, user)
                    if row is not None:
                        targets.append(((platform, external), await r.members.view(row.id)))
            if not targets:
                typer.echo(
                    f"No member {user!r} in {'that workspace' if workspace else 'any workspace'}.",
                    err=True,
                )
                return 2
            if len(targets) > 1:
                ids = ", ".join(f"{p} {e}" for (p, e), _ in targets)
                typer.echo(
                    f"{user!r} is in several workspaces ({ids}): choose one with --workspace.",
                    err=True,
                )
                return 2
            (platform, external), member = targets[0]
            who = f"{member.display_name or user} ({platform} {external})"
            if not yes and not typer.confirm(f"Forget {who}? This cannot be undone."):
                typer.echo("Nothing done.")
                return 1
            done = await core.forgetting.forget(member, by="admin")
        finally:
            await db.dispose()
        typer.echo(
            f"{platform} {external}: {user} forgotten (now {done.pseudonym} in the audit trail): "
            f"{done.deleted} submission(s) deleted, {done.kept} kept anonymised, "
            f"{done.files_removed} photo file(s) removed."
        )
        return 0

    raise typer.Exit(asyncio.run(main()))


@app.command()
def doctor(
    requeue_dead: Annotated[
        bool, typer.Option(help="Give dead letters a fresh set of tries.")
    ] = False,
) -> None:
    """Check the configuration and list dead letters; exits 1 when something needs care."""
    from relais.doctor import run_doctor

    ok = asyncio.run(run_doctor(_settings(), requeue_dead=requeue_dead, echo=typer.echo))
    raise typer.Exit(0 if ok else 1)


@app.command("teams-package")
def teams_package(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the zip.")] = Path(
        "relais-teams.zip"
    ),
) -> None:
    """Build the Teams app package (manifest and icons) from MICROSOFT_APP_ID and PUBLIC_URL."""
    from adapters.teams.package import PackageError, build_package

    settings = _settings()
    try:
        path = build_package(settings, output)
    except PackageError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:
        typer.echo(f"Could not write {output}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"Wrote {path} (manifest.json, color.png, outline.png) for app "
        f"{settings.microsoft_app_id.strip()} at {settings.public_url.strip().rstrip('/')}."
    )
    typer.echo(
        "Next: upload it in the Teams admin center (Teams apps > Manage apps > Upload new app), "
        "or in Teams (Apps > Manage your apps > Upload an app > Upload a custom app)."
    )


def main() -> None:
    """Console-script entry point."""
    app(prog_name="relais")


if __name__ == "__main__":
    main()
