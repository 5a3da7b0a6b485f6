"""/relais stats and /relais export through the wire: Slack (signed requests to the real
adapter, FakeSlack's Web API), Teams (Bot Connector activities, the local connector) and
the console."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image as PILImage

from bot.chart import HEIGHT, WIDTH
from bot.core import Core
from bot.settings import Settings
from storage.db import Database
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, texts
from tests.support import FakeClock
from tests.teams_connector import FakeConnector
from tests.test_slack import fake, join, rig, submit_photo
from tests.test_teams import TeamsRig, bf, install, runs, teams_settings
from tests.test_teams import join as teams_join

__all__ = ["bf", "fake", "rig"]


@pytest.fixture
async def teams_rig(
    settings: Settings,
    db: Database,
    clock: FakeClock,
    bf: FakeConnector,
) -> AsyncIterator[TeamsRig]:
    core = Core(teams_settings(settings, bf), db, clock=clock)
    async with TeamsRig(core, bf) as running:
        yield running


async def test_slack_stats_answers_in_the_ack_and_uploads_the_chart(
    rig: SlackRig,
    fake: FakeSlack,
) -> None:
    await join(rig, "UAMB")
    await submit_photo(rig, "UAMB", "Breakfast", "F1")
    answer = await rig.command("UCM1", "/relais", "stats")
    assert answer.status == 200
    reply = await answer.json()
    assert reply["response_type"] == "ephemeral"
    assert "Programme numbers" in texts(reply["blocks"])
    assert "Lyon" in texts(reply["blocks"])
    # The chart arrives by DM: uploaded as a file (the outbox's upload path), then shown.
    await fake.wait_for(lambda: rig.posts_to("UCM1"))
    dm = rig.posts_to("UCM1")[-1]
    image = next(b for b in dm["blocks"] if b["type"] == "image")
    file_id = image["slack_file"]["id"]
    with PILImage.open(io.BytesIO(fake.uploads[file_id])) as png:
        assert png.format == "PNG" and png.size == (WIDTH, HEIGHT)
    # An ambassador gets their own numbers; a member who never joined is refused.
    mine = await (await rig.command("UAMB", "/relais", "stats")).json()
    assert "Your numbers" in texts(mine["blocks"])
    refused = await (await rig.command("UOTHER", "/relais", "stats")).json()
    assert "Your numbers" not in texts(refused["blocks"])


async def test_slack_export_shares_two_csv_files_in_the_dm(
    rig: SlackRig,
    fake: FakeSlack,
) -> None:
    await join(rig, "UAMB")
    await submit_photo(rig, "UAMB", "Breakfast", "F1")
    reply = await (await rig.command("UCM1", "/relais", "export")).json()
    assert "two CSV files" in texts(reply["blocks"])

    def shared_files() -> list[dict[str, object]]:
        return [u for u in fake.completed_uploads if u["channel_id"]]

    await fake.wait_for(lambda: len(shared_files()) >= 2)
    # Two messages to one DM: each is uploaded in three calls, so they may complete in
    # either order.
    shared = sorted(
        shared_files(),
        key=lambda u: str(fake.files[u["files"][0]["id"]]["name"]),  # type: ignore[index]
    )
    assert [u["channel_id"] for u in shared] == ["DUCM1", "DUCM1"]
    ids = [u["files"][0]["id"] for u in shared]  # type: ignore[index]
    names = [fake.files[i]["name"] for i in ids]
    assert names[0].startswith("relais-stats-") and names[1].startswith("relais-submissions-")
    assert shared[1]["initial_comment"] == "Every submission (CSV)"
    listing = fake.uploads[ids[1]].decode()
    rows = list(csv.DictReader(io.StringIO(listing)))
    assert [(r["site"], r["status"]) for r in rows] == [("Lyon", "pending")]
    # Not for ambassadors.
    refused = await (await rig.command("UAMB", "/relais", "export")).json()
    assert "two CSV files" not in texts(refused["blocks"])
    assert len(shared_files()) == 2


def test_console_stats_and_export_print_the_files(tmp_path: Path) -> None:
    script = "/as cm\n/relais stats\n/relais export\n"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "RELAIS_LOCALE": "fr",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "relais.cli", "console"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    out = done.stdout
    assert "LES CHIFFRES DU PROGRAMME" in out
    chart = next(line for line in out.splitlines() if line.startswith("[Contributions par"))
    path = Path(chart.split(": ", 1)[1].rstrip("]"))
    with PILImage.open(path) as png:
        assert png.size == (WIDTH, HEIGHT)
    exported = [line for line in out.splitlines() if line.endswith(".csv]")]
    assert len(exported) == 2
    figures = Path(exported[0].split(": ", 1)[1].rstrip("]")).read_text()
    assert figures.startswith("section,item,value\n")


# -- Teams -----------------------------------------------------------------------------------


async def test_teams_stats_card_chart_link_and_export_link(teams_rig: TeamsRig) -> None:
    rig = teams_rig
    await install(rig)
    await teams_join(rig)
    carla = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla))  # adding the site was answered too
    await rig.send(rig.bf.personal_message("stats", user_id="29:carla", aad="aad-carla"))
    # The figures (the reply) and the chart by DM (in either order), shown through a
    # signed link.
    await rig.wait_card(carla, before + 2)
    (figures,) = [c for c in rig.cards_to(carla) if "Programme numbers" in runs(c)]
    assert "Lyon" in runs(figures)
    (chart,) = [c for c in rig.cards_to(carla) if any(e.get("type") == "Image" for e in c["body"])]
    image = next(e for e in chart["body"] if e.get("type") == "Image")
    assert image["url"].startswith("https://relais.example.com/media/")
    png = await _fetch(rig, image["url"])
    assert png[1] == "image/png"
    with PILImage.open(io.BytesIO(png[0])) as picture:
        assert picture.size == (WIDTH, HEIGHT)
    # The export: two cards by DM, each with a signed download link to its CSV.
    await rig.send(rig.bf.personal_message("export", user_id="29:carla", aad="aad-carla"))
    await rig.wait_card(carla, before + 5)
    links = sorted(
        (
            a
            for card in rig.cards_to(carla)
            for a in _walk(card)
            if isinstance(a, dict) and a.get("type") == "Action.OpenUrl"
        ),
        key=lambda link: str(link["title"]),
    )
    assert [link["title"][:13] for link in links] == ["relais-stats-", "relais-submis"]
    body, content_type, disposition = await _fetch(rig, links[1]["url"])
    assert content_type == "text/csv" and disposition.startswith("attachment")
    assert body.decode().startswith("id,submitted_at,site,campaign,status,")
    # An ambassador may not export.
    alice = rig.bf.personal_conversation_id("29:alice")
    before = len(rig.cards_to(alice))
    await rig.send(rig.bf.personal_message("export", user_id="29:alice", aad="aad-alice"))
    refused = await rig.wait_card(alice, before + 1)
    assert "Download" not in runs(refused) and "relais-" not in runs(refused)


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


async def _fetch(rig: TeamsRig, url: str) -> tuple[bytes, str, str]:
    path = url.removeprefix("https://relais.example.com")
    async with aiohttp.ClientSession() as session, session.get(rig.url + path) as got:
        assert got.status == 200
        return await got.read(), got.content_type, got.headers.get("Content-Disposition", "")
