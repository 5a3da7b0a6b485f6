"""/relais library and ``GET /library/{token}``: a signed, short-lived link to a page of
approved photos, filterable by site, campaign and week; tampered and expired links are
refused with a page saying what to do. On SQLite and PostgreSQL (the core fixtures),
the link through the wire on Slack and Teams, and the console."""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PILImage
from sqlalchemy import select

from bot.actions import handle_command
from bot.core import Core
from bot.faces import find_faces
from bot.links import LibraryLinks
from bot.settings import Settings
from bot.ui import LINK, Actions
from domain import Appears, MemberView
from relais.cli import app
from relais.server import build_app
from storage.db import Database
from storage.models import Media
from tests.slack_support import SlackRig, buttons
from tests.support import FakeClock, ambassador, member, photo, text_of
from tests.test_cli import runner
from tests.test_slack import fake, join, rig, submit_photo
from tests.test_stats_platforms import _walk, teams_rig
from tests.test_teams import TeamsRig, bf, install
from tests.test_teams import join as teams_join

__all__ = ["bf", "fake", "rig", "teams_rig"]

ASTRONAUT = Path(__file__).parent / "data" / "astronaut.png"


@pytest.fixture
async def client(core: Core) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(build_app(core))) as c:
        yield c


class _Page(HTMLParser):
    def __init__(self, body: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(body)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def images(self) -> list[str]:
        return [str(a["src"]) for tag, a in self.tags if tag == "img"]


def _link_of(reply_message: object) -> str:
    (url,) = [
        b.url
        for block in getattr(reply_message, "blocks", ())
        if isinstance(block, Actions)
        for b in block.buttons
        if b.action == LINK
    ]
    return url


async def _library_path(core: Core, cm: MemberView) -> str:
    reply = await handle_command(core, cm, "/relais", "library")
    assert reply.message is not None and not reply.failed
    return urlsplit(_link_of(reply.message)).path


async def _approved(
    core: Core, cm: MemberView, who: MemberView, caption: str, colour: tuple[int, int, int]
) -> int:
    sub = await core.submissions.create(who, photos=[await photo(core, colour)], caption=caption)
    await core.review.approve(cm, sub.id)
    return sub.id


async def test_the_library_shows_approved_photos_only_with_filters(
    core: Core, client: TestClient[web.Request, web.Application], clock: FakeClock
) -> None:
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "UANA", "Ana")
    bob = await ambassador(core, "UBOB", "Bob", site="Paris")
    await _approved(core, carla, ana, "Lyon <b>team</b> day", (1, 2, 3))
    clock.advance(days=8)
    paris = await _approved(core, carla, bob, "Paris market", (4, 5, 6))
    pending = await core.submissions.create(
        bob, photos=[await photo(core, (7, 8, 9))], caption="Not yet"
    )
    path = await _library_path(core, carla)

    page = await client.get(path)
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    body = await page.text()
    parsed = _Page(body)
    text = " ".join(parsed.text)
    # Captions are text, never markup; the pending one is not there.
    assert "Lyon <b>team</b> day" in text and "<b>team</b>" not in body
    assert "Paris market" in text and "Not yet" not in text
    assert "Photo: Ana" in text and "Photo: Bob" in text
    assert "2 approved submissions" in text
    # Nothing from elsewhere: every image is served by this page's own route.
    assert all(src.startswith(f"{path}/photo/") for src in parsed.images())
    assert not any(tag == "script" for tag, _ in parsed.tags)

    # Filters: a site (an unknown one means "All"), and a week.
    everything = await (await client.get(path, params={"site": "999999"})).text()
    assert "2 approved submissions" in everything
    async with core.db.read() as r:
        site_ids, _ = await r.library.choices(carla.workspace_id)
    paris_site = next(i for i, n in site_ids if n == "Paris")
    paris_body = await (await client.get(path, params={"site": paris_site})).text()
    only_paris = " ".join(_Page(paris_body).text)
    assert "Paris market" in only_paris and "Photo: Ana" not in only_paris
    assert "1 approved submission" in only_paris
    # The newest week is offered first: the week of the Paris approval.
    monday = re.search(r'<option value="(\d{4}-\d\d-\d\d)"', body)
    assert monday is not None
    week_body = await (await client.get(path, params={"week": monday.group(1)})).text()
    week = " ".join(_Page(week_body).text)
    assert "Paris market" in week and "Photo: Ana" not in week

    # The photos: the cleaned copy, and as an attachment with ?download=1.
    first = _Page(paris_body).images()[0]
    got = await client.get(first)
    assert got.status == 200 and got.content_type == "image/jpeg"
    async with core.db.read() as r:
        keys = await r.submissions.media_keys(paris)
    assert await got.read() == core.store.path(keys[0]).read_bytes()
    download = await client.get(first, params={"download": "1"})
    disposition = download.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="relais-{paris}-1.jpg"'
    # A pending submission's photo is not served, nor an unknown one.
    async with core.db.read() as r:
        pending_media = (await r.personal.submissions(bob.id))[-1]["photos"]
        media_ids = await r.session.scalars(
            select(Media.id).where(Media.storage_key == pending_media[0]["storage_key"])
        )
    assert pending.status.value == "pending"
    for media_id in [*media_ids, 999999]:
        assert (await client.get(f"{path}/photo/{media_id}")).status == 404


async def test_tampered_and_expired_links_get_a_clear_page(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    keyed = settings.model_copy(update={"relais_secret_key": "library-test-key"})
    core = Core(keyed, db, clock=clock)
    async with TestClient(TestServer(build_app(core))) as client:
        await _refusals(core, client)


async def _refusals(core: Core, client: TestClient[web.Request, web.Application]) -> None:
    carla = await member(core, "cm1", "Carla", locale="fr")
    path = await _library_path(core, carla)
    token = path.rsplit("/", 1)[1]
    body, signature = token.split(".")
    forged = f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    refused = await client.get(f"/library/{forged}", headers={"Accept-Language": "fr"})
    assert refused.status == 403
    assert "pas valide" in await refused.text() and "/relais library" in await refused.text()
    assert (await client.get(f"/library/{forged}/photo/1")).status == 403
    old = LibraryLinks(b"library-test-key", clock=lambda: 1_000_000.0)
    expired = await client.get(f"/library/{old.token(carla.workspace_id, carla.id, 'en')}")
    assert expired.status == 410 and "has expired" in await expired.text()
    # A link naming a workspace that is not there (deleted since) is refused too.
    other = core.library_links.token(carla.workspace_id + 1000, carla.id, "en")
    assert (await client.get(f"/library/{other}")).status == 403


async def test_only_cms_get_a_library_link(core: Core) -> None:
    ana = await ambassador(core, "UANA", "Ana")
    refused = await handle_command(core, ana, "/relais", "library")
    assert refused.failed
    claire = await member(core, "cm1", "Claire", locale="fr")
    reply = await handle_command(core, claire, "/relais", "photothèque")
    assert reply.message is not None and "Ouvrir la photothèque" in text_of(reply.message)
    assert "2 heures" in text_of(reply.message)


async def test_slack_library_answers_with_a_link_button(rig: SlackRig) -> None:
    await join(rig, "UAMB")
    await submit_photo(rig, "UAMB", "Breakfast", "F1")
    reply = await (await rig.command("UCM1", "/relais", "library")).json()
    button = buttons(reply["blocks"])["link"]
    assert button["url"].startswith("http") and "/library/" in button["url"]
    # Slack still sends block_actions for a URL button: acknowledged, nothing else.
    assert (await rig.click("UCM1", button, channel="CGENERAL")).status == 200


async def test_teams_library_answers_with_an_open_url_action(teams_rig: TeamsRig) -> None:
    rig = teams_rig
    await install(rig)
    await teams_join(rig)
    carla = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla))
    await rig.send(rig.bf.personal_message("library", user_id="29:carla", aad="aad-carla"))
    card = await rig.wait_card(carla, before + 1)
    (action,) = [
        a for a in _walk(card) if isinstance(a, dict) and a.get("type") == "Action.OpenUrl"
    ]
    assert action["url"].startswith("https://relais.example.com/library/")


def test_console_library_prints_the_link(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "relais.cli", "console"],
        input="/as cm\n/relais library\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert re.search(r"Open the library: http://127\.0\.0\.1:3000/library/\S+", done.stdout)


async def test_the_library_shows_consent_and_use_and_leaves_withdrawn_photos_out(
    core: Core, client: TestClient[web.Request, web.Application]
) -> None:
    """Each photo says who appears and whether it may be used outside the company (the
    one rule, ``domain.external_use_allowed``); the Use filter follows it; a photo whose
    consent was withdrawn is not in the library at all."""
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "UANA", "Ana")
    await ambassador(core, "UBO", "Bo")  # the colleague named in "With Bo"

    async def sent(caption: str, colour: tuple[int, int, int], **form: object) -> int:
        sub = await core.submissions.create(
            ana,
            photos=[await photo(core, colour)],
            caption=caption,
            **form,  # type: ignore[arg-type]
        )
        return sub.id

    nobody = await sent("Empty hall", (10, 10, 10), appears=Appears.NOBODY)
    waiting = await sent("With Bo", (20, 20, 20), appears=Appears.COLLEAGUES, people=["UBO"])
    outside = await sent("Customers", (30, 30, 30), appears=Appears.OUTSIDE, people_consented=True)
    await core.review.approve(carla, nobody)
    await core.review.approve(carla, waiting, internal_only=True)
    await core.review.approve(carla, outside)
    path = await _library_path(core, carla)

    text = " ".join(_Page(await (await client.get(path)).text()).text)
    assert "3 approved submissions" in text
    assert "Nobody recognisable in the photo" in text
    assert "0 of 1 colleague named agreed" in text
    assert "People outside the company: written agreement held" in text
    assert text.count("Cleared for use outside the company") == 2 + 1  # two, and the filter
    outside_only = " ".join(
        _Page(await (await client.get(path, params={"use": "external"})).text()).text
    )
    assert "2 approved submissions" in outside_only and "With Bo" not in outside_only
    internal = " ".join(
        _Page(await (await client.get(path, params={"use": "internal"})).text()).text
    )
    assert "1 approved submission" in internal and "With Bo" in internal

    # The author takes back the use of "Customers": it leaves the library.
    await core.consents.withdraw_as_author(ana, outside)
    after = " ".join(_Page(await (await client.get(path)).text()).text)
    assert "2 approved submissions" in after and "Customers" not in after


async def test_face_blur_in_the_copy_for_use_outside(
    core: Core, client: TestClient[web.Request, web.Application]
) -> None:
    """``face_blur on``: the copy for use outside has the face blurred when more faces are
    found than people who agreed (nobody was named here), the original is untouched;
    with a colleague who agreed, one face is theirs to show; off, the copy is the
    original."""
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "UANA", "Ana")
    await ambassador(core, "UBO", "Bo")
    portrait = await core.media.intake_bytes(ASTRONAUT.read_bytes())
    sub = await core.submissions.create(
        ana, photos=[portrait], caption="Visitor", appears=Appears.OUTSIDE, people_consented=True
    )
    await core.review.approve(carla, sub.id)
    path = await _library_path(core, carla)
    async with core.db.read() as r:
        (media_id,) = await r.session.scalars(
            select(Media.id).where(Media.storage_key == portrait.storage_key)
        )
    original = core.store.path(portrait.storage_key).read_bytes()
    outside = {"download": "1", "copy": "outside"}

    same = await client.get(f"{path}/photo/{media_id}", params=outside)
    assert await same.read() == original  # face_blur is off

    await handle_command(core, carla, "/relais", "config face_blur on")
    page = await (await client.get(path)).text()
    assert "faces blurred if needed" in page
    blurred = await client.get(f"{path}/photo/{media_id}", params=outside)
    assert blurred.status == 200 and blurred.content_type == "image/png"
    assert blurred.headers["Content-Disposition"].endswith(f'-{sub.id}-1-blurred.png"')
    body = await blurred.read()
    assert find_faces(body)[1] == () and find_faces(original)[1] != ()
    # The original is still there for the CMs, unchanged.
    internal = await client.get(f"{path}/photo/{media_id}", params={"download": "1"})
    assert await internal.read() == original == core.store.path(portrait.storage_key).read_bytes()

    # A colleague named who agreed: the one face found may be theirs, shown as it is.
    bo = await member(core, "UBO", "Bo")
    flipped = io.BytesIO()
    with PILImage.open(ASTRONAUT) as img:
        img.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT).save(flipped, "PNG")
    with_bo = await core.submissions.create(
        ana,
        photos=[await core.media.intake_bytes(flipped.getvalue())],
        caption="With Bo",
        appears=Appears.COLLEAGUES,
        people=["UBO"],
    )
    async with core.db.read() as r:
        (line,) = await r.consents.lines(with_bo.id)
    await core.consents.answer(bo, line.id, agree=True)
    await core.review.approve(carla, with_bo.id)
    async with core.db.read() as r:
        hit_key = with_bo_key = (await r.submissions.media_keys(with_bo.id))[0]
        (bo_media,) = await r.session.scalars(select(Media.id).where(Media.storage_key == hit_key))
    shown = await client.get(f"{path}/photo/{bo_media}", params=outside)
    assert await shown.read() == core.store.path(with_bo_key).read_bytes()


async def test_relais_export_photos_zips_what_may_be_used_outside(
    core: Core, settings: Settings, tmp_path: Path
) -> None:
    """``relais export --photos``: the CSV files, and a zip of the approved photos cleared
    for use outside the company (their copy for outside: faces blurred with face_blur on),
    each with a JSON sidecar; internal-only and withdrawn ones are not in it."""
    carla = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "UANA", "Ana")
    await handle_command(core, carla, "/relais", "config face_blur on")
    portrait = await core.media.intake_bytes(ASTRONAUT.read_bytes())
    visitor = await core.submissions.create(
        ana, photos=[portrait], caption="Visitor", appears=Appears.OUTSIDE, people_consented=True
    )
    hall = await core.submissions.create(
        ana, photos=[await photo(core, (9, 9, 9))], caption="Hall", appears=Appears.NOBODY
    )
    inside = await core.submissions.create(
        ana, photos=[await photo(core, (8, 8, 8))], caption="Inside", appears=Appears.NOBODY
    )
    for sub in (visitor, hall):
        await core.review.approve(carla, sub.id)
    await core.review.approve(carla, inside.id, internal_only=True)

    env = {"DATABASE_URL": settings.database_url, "MEDIA_DIR": str(settings.media_dir)}
    args = ["export", "--photos", "--out", str(tmp_path / "out")]
    done = await asyncio.to_thread(runner.invoke, app, args, env=env)
    assert done.exit_code == 0, done.output
    assert "(2 photo(s))" in done.output
    (zipped,) = (tmp_path / "out").glob("relais-photos-*.zip")
    assert len(list((tmp_path / "out").glob("relais-*.csv"))) == 2
    with zipfile.ZipFile(zipped) as zf:
        names = sorted(zf.namelist())
        expected = [
            f"submission-{visitor.id}-1.json",
            f"submission-{visitor.id}-1.png",
            f"submission-{hall.id}-1.jpg",
            f"submission-{hall.id}-1.json",
        ]
        assert names == sorted(expected)
        sidecar = json.loads(zf.read(f"submission-{visitor.id}-1.json"))
        assert sidecar["faces_blurred"] is True and sidecar["credit"] == "Ana"
        assert sidecar["who_appears"] == "outside" and sidecar["external_use"] is True
        assert find_faces(zf.read(f"submission-{visitor.id}-1.png"))[1] == ()
        assert json.loads(zf.read(f"submission-{hall.id}-1.json"))["faces_blurred"] is False
