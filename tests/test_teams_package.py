"""`relais teams-package`: the Teams app zip (manifest filled from the settings, two icons)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from adapters.teams.package import MANIFEST_DIR, PackageError, build_package
from bot.actions import TABLE
from bot.i18n import translator
from bot.settings import Settings
from relais.cli import app

APP_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
PUBLIC_URL = "https://relais.example.com"
runner = CliRunner()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "microsoft_app_id": APP_ID,
        "microsoft_app_password": "x",
        "public_url": PUBLIC_URL,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'relais.db'}",
        "media_dir": tmp_path / "media",
        **overrides,
    }
    return Settings(_env_file=None, **values)


def read_zip(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    return json.loads(files["manifest.json"]), files


def test_the_package_holds_the_filled_manifest_and_both_icons(tmp_path: Path) -> None:
    out = build_package(make_settings(tmp_path), tmp_path / "out" / "relais-teams.zip")
    assert out == tmp_path / "out" / "relais-teams.zip"
    manifest, files = read_zip(out)
    assert sorted(files) == ["color.png", "manifest.json", "outline.png"]  # all at the root
    assert manifest["manifestVersion"] == "1.17"
    assert manifest["$schema"].endswith("/teams/v1.17/MicrosoftTeams.schema.json")
    assert manifest["id"] == APP_ID
    bot = manifest["bots"][0]
    assert bot["botId"] == APP_ID
    assert bot["supportsFiles"] is True
    assert bot["isNotificationOnly"] is False
    assert bot["scopes"] == ["personal", "team"]
    assert manifest["validDomains"] == ["relais.example.com"]
    assert manifest["developer"]["privacyUrl"] == f"{PUBLIC_URL}/privacy"
    assert manifest["developer"]["termsOfUseUrl"].startswith(f"{PUBLIC_URL}/")
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert "{{" not in files["manifest.json"].decode()


def test_personal_commands_are_the_words_the_teams_adapter_understands(tmp_path: Path) -> None:
    manifest, _ = read_zip(build_package(make_settings(tmp_path), tmp_path / "p.zip"))
    lists = {
        tuple(entry["scopes"]): entry["commands"] for entry in manifest["bots"][0]["commandLists"]
    }
    personal = [command["title"] for command in lists[("personal",)]]
    words = {e.words[0] for e in TABLE.values() if e.words} | {"submit"}
    # Teams lists at most ten: every one is a word the adapter understands; the others
    # are in the help words (below).
    assert set(personal) <= words
    assert set(personal) == {
        "help",
        "join",
        "me",
        "submit",
        "snooze",
        "leave",
        "config",
        "stats",
        "site",
        "role",
    }
    assert len(personal) <= 10  # Teams shows at most ten commands per scope
    # The words the bot's own help lists in Teams.
    help_words = translator("en")("teams.help_words")
    assert all(word in help_words for word in words), sorted(
        w for w in words if w not in help_words
    )
    assert [command["title"] for command in lists[("team",)]] == ["review here"]
    for command in (*lists[("personal",)], *lists[("team",)]):
        # Limits of the v1.17 schema.
        assert 0 < len(command["title"]) <= 32
        assert 0 < len(command["description"]) <= 128


def test_manifest_fields_fit_the_schema_limits(tmp_path: Path) -> None:
    manifest, _ = read_zip(build_package(make_settings(tmp_path), tmp_path / "p.zip"))
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert manifest["accentColor"] == "#1F4E79"
    assert manifest["permissions"] == ["identity", "messageTeamMembers"]
    assert "webApplicationInfo" not in manifest


def test_icons_have_the_sizes_teams_asks_for(tmp_path: Path) -> None:
    _, files = read_zip(build_package(make_settings(tmp_path), tmp_path / "p.zip"))
    color = Image.open(io.BytesIO(files["color.png"]))
    outline = Image.open(io.BytesIO(files["outline.png"]))
    assert (color.format, color.size) == ("PNG", (192, 192))
    assert (outline.format, outline.size) == ("PNG", (32, 32))
    # The outline icon is white on transparent: every pixel is white, only alpha varies.
    rgba = outline.convert("RGBA")
    assert {rgba.getpixel((x, y))[:3] for x in range(32) for y in range(32)} == {(255, 255, 255)}
    assert rgba.getpixel((0, 0))[3] == 0


def test_public_url_with_a_trailing_slash_and_a_path(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_url="https://Chat.Example.com/relais/")
    manifest, _ = read_zip(build_package(settings, tmp_path / "p.zip"))
    assert manifest["validDomains"] == ["chat.example.com"]
    assert manifest["developer"]["privacyUrl"] == "https://Chat.Example.com/relais/privacy"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"microsoft_app_id": ""}, "MICROSOFT_APP_ID is required"),
        ({"microsoft_app_id": "my-bot"}, "must be the Azure Bot's Microsoft App ID"),
        ({"public_url": ""}, "PUBLIC_URL is required"),
        ({"public_url": "http://relais.example.com"}, "must be an https URL"),
        ({"public_url": "relais.example.com"}, "must be an https URL"),
        ({"public_url": "https://relais.example.com/?x=1"}, "plain base URL"),
    ],
)
def test_missing_or_wrong_settings_are_refused(
    tmp_path: Path, overrides: dict[str, str], message: str
) -> None:
    out = tmp_path / "p.zip"
    with pytest.raises(PackageError, match=message):
        build_package(make_settings(tmp_path, **overrides), out)
    assert not out.exists()
    assert list(tmp_path.glob("*.zip")) == []


def test_the_same_settings_give_the_same_bytes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = build_package(settings, tmp_path / "a.zip").read_bytes()
    assert build_package(settings, tmp_path / "b.zip").read_bytes() == first


def test_the_template_is_valid_json_with_only_known_placeholders() -> None:
    text = (MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8")
    json.loads(text)  # placeholders sit inside strings
    assert set(re.findall(r"\{\{(\w+)\}\}", text)) == {
        "MICROSOFT_APP_ID",
        "PUBLIC_URL",
        "PUBLIC_HOST",
    }


# -- the command line ------------------------------------------------------------------------


def cli_env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {
        "MICROSOFT_APP_ID": "",
        "MICROSOFT_APP_PASSWORD": "",
        "PUBLIC_URL": "",
        "RELAIS_TEAMS_EMULATOR": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        **values,
    }


def test_cli_writes_relais_teams_zip_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = cli_env(
        tmp_path, MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD="x", PUBLIC_URL=PUBLIC_URL
    )
    result = runner.invoke(app, ["teams-package"], env=env)
    assert result.exit_code == 0, result.output
    manifest, _ = read_zip(tmp_path / "relais-teams.zip")
    assert manifest["id"] == APP_ID
    assert manifest["validDomains"] == ["relais.example.com"]
    assert "relais-teams.zip" in result.output
    assert "Upload a custom app" in result.output


def test_cli_output_option(tmp_path: Path) -> None:
    env = cli_env(tmp_path, MICROSOFT_APP_ID=APP_ID, PUBLIC_URL=PUBLIC_URL)
    out = tmp_path / "dist" / "teams.zip"
    result = runner.invoke(app, ["teams-package", "--output", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert read_zip(out)[0]["bots"][0]["botId"] == APP_ID


def test_cli_exits_2_without_an_app_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["teams-package"], env=cli_env(tmp_path, PUBLIC_URL=PUBLIC_URL))
    assert result.exit_code == 2
    assert "MICROSOFT_APP_ID is required" in result.output
    assert not (tmp_path / "relais-teams.zip").exists()


def test_cli_exits_2_without_a_public_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = cli_env(tmp_path, MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD="x")
    result = runner.invoke(app, ["teams-package"], env=env)
    assert result.exit_code == 2
    assert "PUBLIC_URL is required" in result.output
    assert not (tmp_path / "relais-teams.zip").exists()
