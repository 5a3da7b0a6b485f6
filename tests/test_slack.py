"""The Slack adapter end to end: signed requests in, Web API calls out (FakeSlack)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from bot.core import Core
from bot.domain import Platform
from bot.settings import Settings
from storage.db import Database
from storage.models import Job, Submission
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SlackRig, buttons, slack_settings, texts
from tests.support import FakeClock, jpeg_bytes

VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = 1531420618
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
PEOPLE = {
    "UAMB": ("ana", "Ana Field", "en-US"),
    "UFR": ("luc", "Luc Terrain", "fr-FR"),
    "UCM1": ("carla", "Carla CM", "en-GB"),
    "UCM2": ("chris", "Chris CM", "en-US"),
    "UBOSS": ("bea", "Bea Boss", "en-US"),
    "UOTHER": ("olive", "Olive Other", "en-US"),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        for user, (name, real, locale) in PEOPLE.items():
            slack.add_user(user, name=name, real_name=real, display_name=real, locale=locale)
        yield slack


@pytest.fixture
async def rig(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> AsyncIterator[SlackRig]:
    core = Core(slack_settings(settings, fake), db, clock=clock)
    async with SlackRig(core, fake, clock) as running:
        yield running


async def count(db: Database, model: Any) -> int:
    async with db.read() as r:
        return int(await r.session.scalar(select(func.count()).select_from(model)) or 0)


async def join(rig: SlackRig, user: str, site: str = "Lyon") -> None:
    """/relais join, accept the charter in the modal."""
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command(user, "/relais", "join")).status == 200
    charter = await rig.opened_view(opened + 1)
    answer = await (await rig.submit(user, charter, {"site": site})).json()
    assert answer["response_action"] == "update"


async def submit_photo(
    rig: SlackRig, user: str, caption: str, file_id: str, **flags: Any
) -> dict[str, Any]:
    """/submit with one photo; returns the review card's chat.postMessage call params."""
    before = len(rig.posts_to(REVIEW))
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command(user, "/submit", caption)).status == 200
    form = await rig.opened_view(opened + 1)
    assert form["callback_id"] == "submission.create"
    photo = rig.fake.add_file(file_id, jpeg_bytes(), name=f"{file_id}.jpg", user=user)
    response = await rig.submit(user, form, {"photos": [photo], **flags}, view_id=f"V{file_id}")
    answer = await response.json()
    assert answer["response_action"] == "update", answer
    await rig.fake.wait_for(lambda: len(rig.posts_to(REVIEW)) > before)
    return rig.posts_to(REVIEW)[before]


def card_ref(rig: SlackRig, index: int = 0) -> tuple[str, str]:
    calls = [c for c in rig.fake.calls_to("chat.postMessage") if c.ok]
    cards = [c for c in calls if c.params.get("channel") == REVIEW]
    return cards[index].response["channel"], cards[index].response["ts"]


# -- request verification ---------------------------------------------------------------


def test_slack_test_vector_is_what_bolt_verifies() -> None:
    verifier = SignatureVerifier(VECTOR_SECRET, clock=_Frozen(VECTOR_TIMESTAMP))
    headers = {
        "x-slack-request-timestamp": str(VECTOR_TIMESTAMP),
        "x-slack-signature": VECTOR_SIGNATURE,
    }
    assert verifier.is_valid_request(VECTOR_BODY, headers)
    assert not verifier.is_valid_request(VECTOR_BODY + "x", headers)


class _Frozen:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


async def test_forged_and_stale_requests_get_401_and_record_nothing(
    rig: SlackRig, db: Database
) -> None:
    # Slack's published vector: correctly signed, but its timestamp is years old.
    stale = await rig.post(VECTOR_BODY, timestamp=VECTOR_TIMESTAMP, secret=VECTOR_SECRET)
    assert stale.status == 401
    body = VECTOR_BODY.replace("%2Fwebhook-collect", "%2Frelais")
    assert (await rig.post(body, secret="wrong-secret")).status == 401
    assert (await rig.post(body, signed=False)).status == 401
    six_minutes_ago = int(time.time()) - 360
    assert (await rig.post(body, timestamp=six_minutes_ago)).status == 401
    assert (await rig.post(body)).status == 200  # the same request, signed now: accepted
    await asyncio.sleep(0.05)
    async with db.read() as r:
        ws = await r.workspaces.find(Platform.SLACK, "T1DC2JH3J")
        assert ws is not None  # only the accepted request created anything
        members = await r.members.find(ws.id, "U2CERLKJA")
        assert members is not None


async def test_unsigned_requests_never_reach_the_core(rig: SlackRig, db: Database) -> None:
    for _ in range(3):
        response = await rig.post(VECTOR_BODY, signed=False)
        assert response.status == 401
    async with db.read() as r:
        assert await r.workspaces.find(Platform.SLACK, "T1DC2JH3J") is None
    assert rig.fake.calls == []


# -- the whole path ----------------------------------------------------------------------


async def test_join_submit_review_approve_full_path(rig: SlackRig, fake: FakeSlack) -> None:
    # A newcomer runs /submit: the charter comes first, then the photo form.
    assert (await rig.command("UAMB", "/submit", "Team breakfast in Lyon")).status == 200
    charter = await rig.opened_view()
    assert charter["callback_id"] == "charter.accept"
    assert "charter" in texts(charter["blocks"]).lower()
    answer = await (await rig.submit("UAMB", charter, {"site": "Lyon"})).json()
    assert answer["response_action"] == "update"
    form = answer["view"]
    assert form["callback_id"] == "submission.create"
    caption = next(b for b in form["blocks"] if b.get("block_id") == "caption")
    assert caption["element"]["initial_value"] == "Team breakfast in Lyon"
    site = next(b for b in form["blocks"] if b.get("block_id") == "site")
    assert site["element"]["initial_option"]["text"]["text"] == "Lyon"  # the member's site
    photos = next(b for b in form["blocks"] if b.get("block_id") == "photos")
    assert photos["element"]["type"] == "file_input"

    photo = fake.add_file("F1", jpeg_bytes(), name="breakfast.jpg", user="UAMB")
    received = await (await rig.submit("UAMB", form, {"photos": [photo]}, view_id="V1")).json()
    assert received["response_action"] == "update"

    # After the ack: the photo is fetched with the bot token, cleaned, re-uploaded, and
    # the card goes to the review channel with the cleaned photo.
    await fake.wait_for(lambda: rig.posts_to(REVIEW))
    assert ("F1", fake.token) in fake.file_downloads
    card = rig.posts_to(REVIEW)[0]
    image = next(b for b in card["blocks"] if b["type"] == "image")
    uploaded = image["slack_file"]["id"]
    assert uploaded in fake.uploads and uploaded != "F1"
    assert "Team breakfast in Lyon" in texts(card["blocks"])
    assert "Ana Field" in texts(card["blocks"])
    await fake.wait_for(lambda: rig.posts_to("UAMB"))  # receipt DM

    # A CM approves with one click: the card changes in place, the author hears of it.
    channel, ts = card_ref(rig)
    approve = buttons(card["blocks"])["review.approve"]
    assert (await rig.click("UCM1", approve, message_ts=ts)).status == 200
    await fake.wait_for(lambda: len(fake.message_history(channel, ts)) >= 2)
    decided = fake.message_history(channel, ts)[-1]
    assert "Approved by Carla CM" in texts(decided["blocks"])
    assert "review.approve" not in buttons(decided["blocks"])
    await fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 2)
    outcome = rig.posts_to("UAMB")[-1]
    assert "approved" in texts(outcome["blocks"]).lower()
    # The reviewer is told too, only to them.
    await fake.wait_for(lambda: fake.ephemerals)
    assert fake.ephemerals[-1]["user"] == "UCM1"


# -- helpers for the unit checks below ---------------------------------------------------


async def _status(db: Database) -> list[str]:
    async with db.read() as r:
        return list(await r.session.scalars(select(Submission.status).order_by(Submission.id)))


async def _jobs_done(rig: SlackRig) -> None:
    async def done() -> bool:
        async with rig.core.db.read() as r:
            rows = list(await r.session.scalars(select(Job.status)))
        return bool(rows) and all(s in ("done", "dead") for s in rows)

    deadline = time.monotonic() + 5
    while not await done():
        assert time.monotonic() < deadline, "jobs did not finish"
        await asyncio.sleep(0.02)


def _json(params: dict[str, Any]) -> str:
    return json.dumps(params, ensure_ascii=False)
