"""/relais mydata: everything stored about the person (a JSON file) and their photos (a
zip), by direct message; nothing about anyone else. On SQLite and PostgreSQL (the core
fixtures), through the wire on Slack and Teams, and on the console."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from bot.actions import handle_command
from bot.core import Core
from bot.outbox import Dispatcher
from bot.ui import File
from tests.slack_api import FakeSlack
from tests.slack_support import SlackRig, texts
from tests.support import RecordingPort, ambassador, member, photo, text_of
from tests.test_slack import fake, join, rig, submit_photo
from tests.test_stats_platforms import _fetch, _walk, teams_rig
from tests.test_teams import TeamsRig, bf, install, runs
from tests.test_teams import join as teams_join
from tests.video_clips import clip

__all__ = ["bf", "fake", "rig", "teams_rig"]


def _files(port: RecordingPort, user: str) -> list[File]:
    return [b for sent in port.dms_to(user) for b in sent.blocks if isinstance(b, File)]


async def test_mydata_holds_the_persons_data_and_photos_and_nobody_elses(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    ana = await ambassador(core, "UANA", "Ana")
    bob = await ambassador(core, "UBOB", "Bob", site="Paris")
    carla = await member(core, "cm1", "Carla")
    mine = await core.submissions.create(
        ana, photos=[await photo(core), await photo(core, (10, 200, 10))], caption="Ana's day"
    )
    await core.submissions.create(
        bob, photos=[await photo(core, (1, 2, 3))], caption="Bob's secret"
    )
    await core.review.approve(carla, mine.id)
    await handle_command(core, ana, "/relais", "config me leaderboard off")
    await dispatcher.drain()

    reply = await handle_command(core, ana, "/relais", "mydata")
    assert reply.message is not None and not reply.failed
    assert "2 photos" in text_of(reply.message)
    await dispatcher.drain()
    data_file, zip_file = _files(port, "UANA")[-2:]
    assert data_file.filename.endswith(".json") and zip_file.filename.endswith(".zip")

    data = json.loads(core.store.path(data_file.media_key).read_text())
    assert data["profile"]["platform_user_id"] == "UANA"
    assert data["profile"]["site"] == "Lyon" and data["profile"]["leaderboard_hidden"] is True
    assert [r["role"] for r in data["roles"]] == ["ambassador"]
    assert [a["version"] for a in data["charter_acceptances"]] == [1]
    (sub,) = data["submissions"]
    assert sub["caption"] == "Ana's day" and sub["status"] == "approved"
    assert [h["status"] for h in sub["history"]][-1] == "approved"
    assert len(sub["photos"]) == 2
    assert sum(p["points"] for p in data["points"]) > 0
    assert [b["badge"] for b in data["badges"]] == ["first_approved"]
    assert data["thanks"] == {"received": [], "given": []}
    # The DMs Relais sent her (the approval) are there, with their text.
    assert any("approved" in m["text"].lower() for m in data["messages_to_you"])
    # Nothing about anyone else: not Bob, not his caption, not who approved.
    raw = core.store.path(data_file.media_key).read_text()
    for other in ("UBOB", "Bob's secret", "cm1", '"Carla"'):
        assert other not in raw, other

    with zipfile.ZipFile(core.store.path(zip_file.media_key)) as zf:
        names = sorted(zf.namelist())
        assert names == [f"submission-{mine.id}-1.jpg", f"submission-{mine.id}-2.jpg"]
        stored = core.store.path(sub["photos"][0]["storage_key"]).read_bytes()
        assert zf.read(names[0]) == stored
        with PILImage.open(io.BytesIO(zf.read(names[1]))) as img:
            assert img.format == "JPEG" and not img.getexif()


async def test_mydata_without_photos_in_french(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    zoe = await member(core, "UZOE", "Zoé", locale="fr")
    reply = await handle_command(core, zoe, "/relais", "mesdonnees")
    assert reply.message is not None and "arrive en message privé" in text_of(reply.message)
    await dispatcher.drain()
    (only,) = port.dms_to("UZOE")
    assert "aucune photo" in text_of(only)
    (data_file,) = _files(port, "UZOE")
    data = json.loads(core.store.path(data_file.media_key).read_text())
    assert data["submissions"] == [] and data["roles"] == []
    assert data["profile"]["display_name"] == "Zoé"


async def test_slack_mydata_shares_the_json_and_the_zip_in_the_dm(
    rig: SlackRig, fake: FakeSlack
) -> None:
    await join(rig, "UAMB")
    await submit_photo(rig, "UAMB", "Breakfast", "F1")
    reply = await (await rig.command("UAMB", "/relais", "mydata")).json()
    assert "and your photo, are on their way" in texts(reply["blocks"])

    def shared() -> list[dict[str, Any]]:
        return [u for u in fake.completed_uploads if u["channel_id"] == "DUAMB"]

    await fake.wait_for(lambda: len(shared()) >= 2)
    by_name = {
        str(fake.files[u["files"][0]["id"]]["name"]): fake.uploads[u["files"][0]["id"]]
        for u in shared()
    }
    (json_name,) = [n for n in by_name if n.endswith(".json")]
    (zip_name,) = [n for n in by_name if n.endswith(".zip")]
    data = json.loads(by_name[json_name])
    assert data["profile"]["platform_user_id"] == "UAMB"
    assert [s["caption"] for s in data["submissions"]] == ["Breakfast"]
    with zipfile.ZipFile(io.BytesIO(by_name[zip_name])) as zf:
        assert len(zf.namelist()) == 1


async def test_teams_mydata_gives_download_links(teams_rig: TeamsRig) -> None:
    rig = teams_rig
    await install(rig)
    await teams_join(rig)
    alice = rig.bf.personal_conversation_id("29:alice")
    before = len(rig.cards_to(alice))
    await rig.send(rig.bf.personal_message("mydata", user_id="29:alice", aad="aad-alice"))
    await rig.wait_card(alice, before + 2)  # the answer and the JSON file's card
    links = [
        a
        for card in rig.cards_to(alice)[before:]
        for a in _walk(card)
        if isinstance(a, dict) and a.get("type") == "Action.OpenUrl"
    ]
    (link,) = [x for x in links if str(x["title"]).endswith(".json")]
    body, content_type, disposition = await _fetch(rig, link["url"])
    assert content_type == "application/json" and disposition.startswith("attachment")
    assert json.loads(body)["profile"]["platform_user_id"] == "aad-alice"  # Entra object id
    assert any("Everything Relais stores" in runs(c) for c in rig.cards_to(alice)[before:])


def test_console_mydata_prints_the_files(tmp_path: Path) -> None:
    script = "/relais mydata\n"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
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
    (line,) = [x for x in done.stdout.splitlines() if x.endswith(".json]")]
    data = json.loads(Path(line.split(": ", 1)[1].rstrip("]")).read_text())
    assert data["profile"]["platform_user_id"] == "alice"


async def test_mydata_names_videos_by_their_type_in_the_zip(
    core: Core, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    ana = await ambassador(core, "UANA", "Ana")
    video = await core.media.intake_bytes(clip("mp4"))
    webm = await core.media.intake_bytes(clip("webm", "libvpx-vp9"))
    mine = await core.submissions.create(
        ana, photos=[await photo(core), video, webm], caption="A clip"
    )
    await handle_command(core, ana, "/relais", "mydata")
    await dispatcher.drain()
    _, zip_file = _files(port, "UANA")[-2:]
    with zipfile.ZipFile(core.store.path(zip_file.media_key)) as zf:
        assert sorted(zf.namelist()) == [
            f"submission-{mine.id}-1.jpg",
            f"submission-{mine.id}-2.mp4",
            f"submission-{mine.id}-3.webm",
        ]
