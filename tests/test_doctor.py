"""``relais doctor`` asks each platform whether it accepts Relais' credentials (Slack's
``auth.test``, a Bot Framework token for Teams) and writes to the media directory; each
failure says how to fix it and makes the doctor exit 1."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from relais.doctor import run_doctor
from storage.db import Database
from tests.slack_api import FakeSlack
from tests.slack_support import SECRET
from tests.teams_connector import FakeConnector
from tests.test_teams import teams_settings


async def doctor(settings: Settings, **kwargs: object) -> tuple[bool, str]:
    lines: list[str] = []
    ok = await run_doctor(settings, requeue_dead=False, echo=lines.append, **kwargs)  # type: ignore[arg-type]
    return ok, "\n".join(lines)


def slack(settings: Settings, fake: FakeSlack, token: str) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": token,
            "slack_signing_secret": SECRET,
            "slack_api_url": fake.api_url,
        }
    )


async def test_slack_token_accepted_and_refused(settings: Settings, db: Database) -> None:
    async with FakeSlack() as fake:
        ok, report = await doctor(slack(settings, fake, fake.token))
        assert ok, report
        assert "✓ Slack accepts the bot token: workspace T1, bot UBOT" in report
        assert "✓ media directory" in report and "is writable" in report

        ok, report = await doctor(slack(settings, fake, "xoxb-revoked"))
        assert not ok
        assert "✗ Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)" in report
        assert "OAuth & Permissions" in report  # the fix
        assert [c.method for c in fake.calls].count("auth.test") == 2


async def test_slack_unreachable(settings: Settings, db: Database) -> None:
    async with FakeSlack() as fake:
        gone = slack(settings, fake, fake.token)
    ok, report = await doctor(gone)  # the server is stopped now
    assert not ok
    assert f"✗ cannot reach Slack at {gone.slack_api_url}" in report
    assert "outbound HTTPS" in report


async def test_teams_token_issued_and_refused(settings: Settings, db: Database) -> None:
    async with FakeConnector() as bf:
        overrides = bf.sdk_settings()
        ok, report = await doctor(teams_settings(settings, bf), teams_overrides=overrides)
        assert ok, report
        assert "✓ Teams: a Bot Framework token was issued" in report

        wrong = teams_settings(settings, bf, microsoft_app_password="expired-secret")
        ok, report = await doctor(wrong, teams_overrides=bf.sdk_settings())
        assert not ok
        assert "✗ no Bot Framework token for MICROSOFT_APP_ID" in report
        assert "MICROSOFT_APP_PASSWORD" in report


async def test_media_directory_not_writable(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    ok, report = await doctor(settings.model_copy(update={"media_dir": blocker / "media"}))
    assert not ok
    assert f"✗ media directory {blocker / 'media'} is not writable" in report
    assert "MEDIA_DIR" in report
