"""The Slack adapter end to end: signed requests in, Web API calls out (FakeSlack)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select, text, update

from adapters.slack import render
from adapters.slack.files import FileFetcher, NotRecorded, SubmissionJob
from adapters.slack.port import SlackClients
from bot.core import Core
from bot.i18n import translator
from bot.settings import Settings
from bot.ui import Form, Option, Select
from domain import Platform
from storage.db import Database
from storage.models import Job, Submission
from tests.slack_api import FakeSlack
from tests.slack_support import (
    REVIEW,
    TEAM,
    SlackRig,
    buttons,
    command_payload,
    fill_state,
    slack_settings,
    texts,
)
from tests.support import FakeClock, count_rows, jpeg_bytes

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
        # The CM's list of sites, which the join and submission forms offer.
        assert (await running.command("UCM1", "/relais", "site add Lyon")).status == 200
        yield running


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
    colour = tuple(b for b in file_id.encode()[-3:].rjust(3, b"0"))
    photo = rig.fake.add_file(file_id, jpeg_bytes(colour), name=f"{file_id}.jpg", user=user)
    response = await rig.submit(
        user, form, {"appears": "nobody", "photos": [photo], **flags}, view_id=f"V{file_id}"
    )
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
    before = list(rig.fake.calls)  # the set-up's (the CM adding a site)
    for _ in range(3):
        response = await rig.post(VECTOR_BODY, signed=False)
        assert response.status == 401
    async with db.read() as r:
        assert await r.workspaces.find(Platform.SLACK, "T1DC2JH3J") is None
    assert rig.fake.calls == before


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
    received = await (
        await rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="V1")
    ).json()
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


async def test_an_approver_who_never_wrote_gets_the_escalation_by_dm(
    rig: SlackRig, fake: FakeSlack
) -> None:
    # UBOSS is in RELAIS_APPROVERS and has never used Relais: escalation is allowed, and
    # the approver's card is a DM to their user id.
    assert (await rig.command("UAMB", "/submit", "The CEO visits")).status == 200
    charter = await rig.opened_view()
    form = (await (await rig.submit("UAMB", charter, {"site": "Lyon"})).json())["view"]
    photo = fake.add_file("F9", jpeg_bytes(), name="ceo.jpg", user="UAMB")
    await rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="V9")
    await fake.wait_for(lambda: rig.posts_to(REVIEW))
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.SLACK, fake.team_id)
        assert ws is not None
        cm_row = await r.members.find(ws.id, "UCM1")
        assert cm_row is not None
        cm = await r.members.view(cm_row.id)
        sub_id = await r.session.scalar(select(Submission.id))
    assert sub_id is not None
    await rig.core.review.escalate(cm, sub_id)
    await fake.wait_for(lambda: rig.posts_to("UBOSS"))
    card = rig.posts_to("UBOSS")[0]
    assert "review.approve" in buttons(card["blocks"])


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


# -- commands in the member's language ---------------------------------------------------


async def test_relais_help_answers_ephemerally_in_the_users_language(rig: SlackRig) -> None:
    response = await rig.command("UFR", "/relais", "help")
    answer = await response.json()
    assert answer["response_type"] == "ephemeral"
    assert "/relais join" in texts(answer["blocks"])
    assert "Relais" in answer["text"]
    assert "ambassadeur" in texts(answer["blocks"]).lower()  # Slack locale fr-FR
    english = await (await rig.command("UAMB", "/relais", "help")).json()
    assert "ambassador" in texts(english["blocks"]).lower()


async def test_unknown_locale_falls_back_to_relais_locale(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> None:
    fake.add_user("UDE", name="hans", locale="de-DE")
    core = Core(slack_settings(settings, fake, relais_locale="fr"), db, clock=clock)
    async with SlackRig(core, fake, clock) as rig:
        answer = await (await rig.command("UDE", "/relais", "help")).json()
    assert "ambassadeur" in texts(answer["blocks"]).lower()


async def test_relais_me_snooze_leave(rig: SlackRig) -> None:
    await join(rig, "UAMB")
    me = await (await rig.command("UAMB", "/relais", "me")).json()
    assert "Ana Field" in texts(me["blocks"]) and "Lyon" in texts(me["blocks"])
    snooze = await (await rig.command("UAMB", "/relais", "snooze 2w")).json()
    assert "Dec 4, 2026" in snooze["text"]
    bad = await (await rig.command("UAMB", "/relais", "snooze someday")).json()
    assert "2w" in bad["text"]
    left = await (await rig.command("UAMB", "/relais", "leave")).json()
    assert left["response_type"] == "ephemeral"
    again = await (await rig.command("UAMB", "/relais", "leave")).json()
    assert again["text"] != left["text"]


# -- the submission form -----------------------------------------------------------------


async def test_form_errors_come_back_on_the_field_at_once(rig: SlackRig, db: Database) -> None:
    await join(rig, "UAMB")
    await rig.command("UAMB", "/submit", "")
    form = await rig.opened_view(2)
    # No photo: field news, which needs a title and a text (tests/test_news.py).
    no_photo = await (await rig.submit("UAMB", form, {"appears": "nobody", "photos": []})).json()
    assert no_photo["response_action"] == "errors"
    assert set(no_photo["errors"]) == {"title", "caption"}
    jpeg = rig.fake.add_file("FJPG", b"\xff\xd8\xff", name="a.jpg", mimetype="image/jpeg")
    long = await (await rig.submit("UAMB", form, {"caption": "x" * 2001, "photos": [jpeg]})).json()
    # Who appears was not answered either: every field in error at once.
    assert set(long["errors"]) == {"caption", "appears"}
    pdf = rig.fake.add_file("FPDF", b"%PDF-1.4", name="plan.pdf", mimetype="application/pdf")
    wrong = await (await rig.submit("UAMB", form, {"appears": "nobody", "photos": [pdf]})).json()
    assert "JPEG, PNG, WebP" in wrong["errors"]["photos"]
    assert await count_rows(db, Job) == 0
    assert await count_rows(db, Submission) == 0


@pytest.mark.parametrize("kind", ["html_named_jpg", "login_page"])
async def test_unusable_file_gets_a_clear_dm_and_no_submission(
    rig: SlackRig, db: Database, kind: str
) -> None:
    await join(rig, "UAMB")
    await rig.command("UAMB", "/submit", "Shop opening")
    form = await rig.opened_view(2)
    if kind == "html_named_jpg":
        file = rig.fake.add_file(
            "FBAD", b"<html><body>hi</body></html>", name="photo.jpg", user="UAMB"
        )
        expected = "JPEG, PNG, WebP"
    else:
        file = rig.fake.add_file(
            "FLOGIN", jpeg_bytes(), name="photo.jpg", serve_as="login", user="UAMB"
        )
        expected = "files:read"
    answer = await (
        await rig.submit("UAMB", form, {"appears": "nobody", "photos": [file]}, view_id="VBAD")
    ).json()
    assert answer["response_action"] == "update"
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    dm = texts(rig.posts_to("UAMB")[-1]["blocks"])
    assert "photo.jpg" in dm and expected in dm and "not recorded" in dm
    await _jobs_done(rig)
    assert await count_rows(db, Submission) == 0
    assert rig.posts_to(REVIEW) == []


async def test_someone_elses_file_is_never_downloaded_or_recorded(
    rig: SlackRig, db: Database
) -> None:
    """A signed form (or a crafted "Submit this?" click) naming a file another person
    shared: files.info says whose it is, and Relais refuses it without downloading."""
    await join(rig, "UAMB")
    theirs = rig.fake.add_file("FTHEIRS", jpeg_bytes((9, 9, 9)), name="hr.jpg", user="UOTHER")
    await rig.command("UAMB", "/submit", "mine")
    form = await rig.opened_view(2)
    answer = await (
        await rig.submit("UAMB", form, {"appears": "nobody", "photos": [theirs]}, view_id="VX")
    ).json()
    assert answer["response_action"] == "update"
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    assert "someone else shared this file" in texts(rig.posts_to("UAMB")[-1]["blocks"])
    # The dropped-photos path: a crafted button value naming the same file.
    crafted = {"action_id": "slack.submit_dropped", "value": "FTHEIRS", "text": "Submit"}
    await rig.click("UAMB", crafted, channel="DUAMB")
    dropped = await rig.opened_view(3)
    await rig.submit("UAMB", dropped, {"caption": "mine too", "appears": "nobody"}, view_id="VY")
    await rig.fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 2)
    await _jobs_done(rig)
    assert ("FTHEIRS", rig.fake.token) not in rig.fake.file_downloads
    assert await count_rows(db, Submission) == 0
    assert rig.posts_to(REVIEW) == []


async def test_user_text_is_shown_literally(rig: SlackRig) -> None:
    await join(rig, "UAMB")
    hostile = "<!channel> hello <@U123> see <https://x.example|y> *bold* &amp;"
    card = await submit_photo(rig, "UAMB", hostile, "FH")
    blocks = card["blocks"]
    assert hostile in texts(blocks)
    assert '"mrkdwn"' not in _json(blocks)  # no block is parsed for markup
    assert card["mrkdwn"] is False
    assert "<!channel>" not in card["text"] and "<@" not in card["text"]
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    for call in rig.fake.calls_to("chat.postMessage"):
        assert "<!channel>" not in call.params.get("text", "")


# -- review ------------------------------------------------------------------------------


async def test_only_cms_may_decide_and_others_are_told(rig: SlackRig, db: Database) -> None:
    await join(rig, "UAMB")
    card = await submit_photo(rig, "UAMB", "Plant tour", "FR1")
    _, ts = card_ref(rig)
    approve = buttons(card["blocks"])["review.approve"]
    await rig.click("UOTHER", approve, message_ts=ts)
    await rig.fake.wait_for(lambda: rig.fake.ephemerals)
    refusal = rig.fake.ephemerals[-1]
    assert refusal["user"] == "UOTHER" and refusal["channel"] == REVIEW
    assert await _status(db) == ["pending"]
    assert rig.fake.calls_to("chat.update") == []


async def test_reject_asks_a_reason_then_updates_card_and_tells_author(
    rig: SlackRig, db: Database
) -> None:
    await join(rig, "UAMB")
    card = await submit_photo(rig, "UAMB", "Blurry", "FJ1")
    channel, ts = card_ref(rig)
    await rig.click("UCM1", buttons(card["blocks"])["review.reject"], message_ts=ts)
    reason_form = await rig.opened_view(3)
    assert reason_form["callback_id"] == "review.reject"
    empty = await (await rig.submit("UCM1", reason_form, {"reason": ""})).json()
    assert empty["response_action"] == "errors" and "reason" in empty["errors"]
    done = await (await rig.submit("UCM1", reason_form, {"reason": "Too blurry <@U1>"})).json()
    assert done["response_action"] == "update"
    assert await _status(db) == ["rejected"]
    await rig.fake.wait_for(lambda: len(rig.fake.message_history(channel, ts)) >= 2)
    assert "Too blurry <@U1>" in texts(rig.fake.message_history(channel, ts)[-1]["blocks"])
    await rig.fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 2)
    assert "Too blurry" in texts(rig.posts_to("UAMB")[-1]["blocks"])


async def test_double_click_and_two_reviewers_decide_once(rig: SlackRig, db: Database) -> None:
    await join(rig, "UAMB")
    card = await submit_photo(rig, "UAMB", "Race", "FX1")
    channel, ts = card_ref(rig)
    approve = buttons(card["blocks"])["review.approve"]
    responses = await asyncio.gather(
        rig.click("UCM1", approve, message_ts=ts),
        rig.click("UCM1", approve, message_ts=ts),
        rig.click("UCM2", approve, message_ts=ts),
    )
    assert [r.status for r in responses] == [200, 200, 200]
    await rig.fake.wait_for(lambda: len(rig.fake.ephemerals) >= 3)
    assert await _status(db) == ["approved"]
    notes = [texts(e["blocks"]) for e in rig.fake.ephemerals]
    assert sum("already" in n.lower() for n in notes) == 2
    # The receipt, the decision, and the badge of a first approved photo.
    await rig.fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 3)
    await rig.fake.wait_for(lambda: len(rig.fake.message_history(channel, ts)) >= 2)
    await asyncio.sleep(0.2)
    assert len(rig.fake.message_history(channel, ts)) == 2  # posted once, updated once
    outcomes = [p for p in rig.posts_to("UAMB") if "was approved by" in texts(p["blocks"])]
    assert len(outcomes) == 1
    badges = [p for p in rig.posts_to("UAMB") if "New badge" in texts(p["blocks"])]
    assert len(badges) == 1 and "First approved photo" in texts(badges[0]["blocks"])


# -- photos dropped in the bot's DM, and Slack's retries --------------------------------


async def test_photo_dropped_in_dm_offers_one_click_submit_once(
    rig: SlackRig, db: Database
) -> None:
    await join(rig, "UAMB")
    photo = rig.fake.add_file("FDM", jpeg_bytes((10, 200, 10)), name="dm.jpg", user="UAMB")
    event = {
        "type": "message",
        "subtype": "file_share",
        "channel": "DUAMB",
        "channel_type": "im",
        "user": "UAMB",
        "text": "From the shop",
        "ts": "1700000001.000200",
        "files": [photo],
    }
    first = await rig.event(event, event_id="Ev1")
    retried = await rig.event(event, event_id="Ev1", retry=1)
    assert first.status == retried.status == 200
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    await asyncio.sleep(0.2)
    prompts = [p for p in rig.posts_to("UAMB") if "slack.submit_dropped" in _json(p["blocks"])]
    assert len(prompts) == 1
    button = buttons(prompts[0]["blocks"])["slack.submit_dropped"]
    await rig.click("UAMB", button, channel="DUAMB")
    form = await rig.opened_view(2)
    assert not any(b.get("block_id") == "photos" for b in form["blocks"])
    assert "1 photo" in texts(form["blocks"])
    values = {"caption": "From the shop", "appears": "nobody"}
    answer = await (await rig.submit("UAMB", form, values)).json()
    assert answer["response_action"] == "update"
    await rig.fake.wait_for(lambda: rig.posts_to(REVIEW))
    assert ("FDM", rig.fake.token) in rig.fake.file_downloads
    assert await _status(db) == ["pending"]


async def test_plain_dm_gets_a_hint_and_bot_messages_are_ignored(rig: SlackRig) -> None:
    hello = {
        "type": "message",
        "channel": "DUAMB",
        "channel_type": "im",
        "user": "UAMB",
        "text": "hello",
        "ts": "1700000002.000100",
    }
    await rig.event(hello, event_id="Ev2")
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    assert "/submit" in texts(rig.posts_to("UAMB")[0]["blocks"])
    own = {**hello, "bot_id": "BBOT", "ts": "1700000003.000100"}
    await rig.event(own, event_id="Ev3")
    await asyncio.sleep(0.2)
    assert len(rig.posts_to("UAMB")) == 1


# -- App Home ----------------------------------------------------------------------------


async def test_app_home_shows_submissions_and_the_queue_for_cms(rig: SlackRig) -> None:
    await join(rig, "UAMB")
    await submit_photo(rig, "UAMB", "First", "FA1")
    await submit_photo(rig, "UAMB", "Second", "FA2")
    opened = {
        "type": "app_home_opened",
        "user": "UAMB",
        "channel": "DUAMB",
        "tab": "home",
        "event_ts": "1700000005.000100",
    }
    await rig.event(opened, event_id="EvH1")
    await rig.fake.wait_for(lambda: "UAMB" in rig.fake.home)
    home = texts(rig.fake.home["UAMB"]["blocks"])
    assert "First" in home and "Second" in home and "Pending" in home
    await rig.event({**opened, "user": "UCM1"}, event_id="EvH2")
    await rig.fake.wait_for(lambda: "UCM1" in rig.fake.home)
    cm_home = rig.fake.home["UCM1"]
    assert "(2)" in texts(cm_home["blocks"])
    # Home buttons run the same subcommands: the CM joins from here.
    join_button = buttons(cm_home["blocks"])["relais.command"]
    assert join_button["value"] == "join"
    await rig.click("UCM1", join_button, view={"id": "VHOME", "type": "home"})
    charter = await rig.opened_view(4)
    assert charter["callback_id"] == "charter.accept"


async def test_snooze_from_app_home_refreshes_it(rig: SlackRig) -> None:
    await join(rig, "UAMB")
    opened = {
        "type": "app_home_opened",
        "user": "UAMB",
        "channel": "DUAMB",
        "tab": "home",
        "event_ts": "1700000005.000100",
    }
    await rig.event(opened, event_id="EvH3")
    await rig.fake.wait_for(lambda: "UAMB" in rig.fake.home)
    snooze = next(
        b for b in buttons(rig.fake.home["UAMB"]["blocks"]).values() if "snooze" in b["value"]
    )
    publishes = len(rig.fake.calls_to("views.publish"))
    await rig.click("UAMB", snooze, view={"id": "VHOME", "type": "home"})
    await rig.fake.wait_calls("views.publish", publishes + 1)
    assert "Dec 4, 2026" in texts(rig.fake.home["UAMB"]["blocks"])


# -- Slack failing -----------------------------------------------------------------------


async def test_429_and_500_delay_messages_but_lose_none(rig: SlackRig, clock: FakeClock) -> None:
    await join(rig, "UAMB")
    rig.fake.fail("chat.postMessage", 429, times=1, retry_after=30)
    rig.fake.fail("chat.postMessage", 500, times=1)
    started = time.monotonic()
    assert (await rig.command("UAMB", "/submit", "Rainy day")).status == 200
    form = await rig.opened_view(2)
    photo = rig.fake.add_file("F429", jpeg_bytes(), name="rain.jpg", user="UAMB")
    response = await rig.submit(
        "UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="V429"
    )
    assert response.status == 200
    assert time.monotonic() - started < 2  # the acks never waited for Slack
    await rig.fake.wait_for(
        lambda: [c.status for c in rig.fake.calls_to("chat.postMessage")][:1] == [429]
    )
    for _ in range(20):  # let the clock pass Retry-After and the backoff
        if rig.posts_to(REVIEW) and rig.posts_to("UAMB"):
            break
        clock.advance(seconds=40)
        await rig.settle()
        await asyncio.sleep(0.1)
    statuses = [c.status for c in rig.fake.calls_to("chat.postMessage")]
    assert statuses[:2] == [429, 500]
    assert len(rig.posts_to(REVIEW)) == 1 and len(rig.posts_to("UAMB")) == 1


# -- Socket Mode, OAuth, restarts --------------------------------------------------------


async def test_socket_mode_needs_no_public_url(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> None:
    socket = slack_settings(settings, fake, slack_app_token="xapp-1-test", slack_signing_secret="")
    core = Core(socket, db, clock=clock)
    async with SlackRig(core, fake, clock) as rig:
        await fake.wait_socket_connected()
        # No HTTP route: in Socket Mode requests come over the websocket only.
        assert (await rig.post("token=x")).status in (404, 405)
        answer = await fake.socket_send(
            "slash_commands", command_payload(fake.url, "UFR", "/relais", "help", "CGENERAL")
        )
        assert answer is not None and answer["response_type"] == "ephemeral"
        assert "ambassadeur" in texts(answer["blocks"]).lower()
        await fake.socket_send(
            "slash_commands", command_payload(fake.url, "UAMB", "/relais", "join", "CGENERAL")
        )
        charter = await rig.opened_view()
        assert charter["callback_id"] == "charter.accept"


async def test_oauth_install_then_the_new_workspace_works(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> None:
    oauth = slack_settings(
        settings,
        fake,
        slack_bot_token="",
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        public_url="https://relais.example.com",
    )
    core = Core(oauth, db, clock=clock)
    token = fake.add_oauth_code("code-1", team_id="T2", user_id="UCM1")
    fake.add_user("UT2", name="tess", team_id="T2", locale="en-US")
    async with SlackRig(core, fake, clock) as rig:
        install = await rig.http.get("/slack/install", allow_redirects=False)
        assert install.status in (200, 302)
        cookie = install.headers["Set-Cookie"].split(";")[0]
        state = cookie.split("=", 1)[1]
        page = await install.text()
        assert "client_id=111.222" in (page + install.headers.get("Location", ""))
        done = await rig.http.get(
            f"/slack/oauth_redirect?code=code-1&state={state}",
            headers={"Cookie": cookie},
            allow_redirects=False,
        )
        assert done.status in (200, 302), await done.text()
        async with db.read() as r:
            rows = await r.session.execute(
                text("SELECT team_id, bot_token FROM slack_installations")
            )
            assert [tuple(row) for row in rows] == [("T2", token)]
        # A request from the newly installed workspace uses its own token.
        assert (await rig.command("UT2", "/relais", "join", team="T2")).status == 200
        await rig.opened_view()
        assert fake.calls_to("views.open")[-1].token == token
        # A workspace that never installed Relais has no token: nothing happens.
        unknown = await rig.command("UT9", "/relais", "help", team="T9")
        assert unknown.status == 200  # Bolt answers, but nothing reaches the core
        async with db.read() as r:
            assert await r.workspaces.find(Platform.SLACK, "T9") is None


async def test_a_photo_job_interrupted_by_a_crash_resumes_after_restart(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> None:
    core = Core(slack_settings(settings, fake), db, clock=clock)
    async with SlackRig(core, fake, clock) as rig:
        await join(rig, "UAMB")
    photo = fake.add_file("FCRASH", jpeg_bytes((1, 2, 3)), name="crash.jpg", user="UAMB")
    # What the previous process left: the modal was acknowledged (job committed), the
    # worker took the job and died mid-download; its lease ran out since.
    async with db.transaction() as r:
        await r.jobs.add(
            kind="slack.submission",
            key="slack:view:VCRASH",
            payload={
                "team": "T1",
                "user": "UAMB",
                "files": [photo],
                "values": {
                    "caption": "Before the crash",
                    "appears": "outside",
                    "outside_agreement": True,
                },
                "action": "submission.create",
                "value": "",
                "client_key": "slack:view:VCRASH",
            },
            now=clock(),
        )
        await r.session.execute(
            update(Job).values(
                status="running", claimed_by="dead-worker", claimed_until=clock() - timedelta(1)
            )
        )
    restarted = Core(slack_settings(settings, fake), db, clock=clock)
    async with SlackRig(restarted, fake, clock) as rig:
        await fake.wait_for(lambda: rig.posts_to(REVIEW))
        await _jobs_done(rig)
    assert await _status(db) == ["pending"]
    assert "Before the crash" in texts(rig.posts_to(REVIEW)[0]["blocks"])


async def test_when_slack_cannot_open_the_form_the_person_is_told(rig: SlackRig) -> None:
    rig.fake.fail("views.open", 500, times=2)
    assert (await rig.command("UAMB", "/submit", "x", channel="CFIELD")).status == 200
    await rig.fake.wait_for(lambda: rig.fake.ephemerals)
    told = rig.fake.ephemerals[-1]
    assert told["user"] == "UAMB" and told["channel"] == "CFIELD"
    assert "run the command again" in texts(told["blocks"])


async def test_same_modal_submitted_twice_records_one_submission(
    rig: SlackRig, db: Database
) -> None:
    await join(rig, "UAMB")
    await rig.command("UAMB", "/submit", "Twice")
    form = await rig.opened_view(2)
    photo = rig.fake.add_file("FTW", jpeg_bytes((9, 9, 9)), name="twice.jpg", user="UAMB")
    first, second = await asyncio.gather(
        rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="VTWICE"),
        rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="VTWICE"),
    )
    assert first.status == second.status == 200
    await rig.fake.wait_for(lambda: rig.posts_to(REVIEW))
    await _jobs_done(rig)
    assert await count_rows(db, Job) == 1
    assert await _status(db) == ["pending"]
    assert len(rig.posts_to(REVIEW)) == 1


async def test_a_file_host_error_is_retried_by_the_job(
    rig: SlackRig, db: Database, clock: FakeClock
) -> None:
    await join(rig, "UAMB")
    rig.fake.fail("files.download", 503, times=2)
    await rig.command("UAMB", "/submit", "Retry me")
    form = await rig.opened_view(2)
    photo = rig.fake.add_file("FRT", jpeg_bytes((7, 7, 7)), name="retry.jpg", user="UAMB")
    await rig.submit("UAMB", form, {"appears": "nobody", "photos": [photo]}, view_id="VRETRY")
    await rig.fake.wait_for(lambda: len(rig.fake.file_downloads) >= 1)
    for _ in range(20):
        if rig.posts_to(REVIEW):
            break
        clock.advance(seconds=120)
        await rig.settle()
        await asyncio.sleep(0.1)
    assert len(rig.fake.file_downloads) == 3
    assert await _status(db) == ["pending"]


async def test_a_submission_that_cannot_be_recorded_does_not_blame_the_photos(
    rig: SlackRig,
) -> None:
    """Photos fetched, recording failed on every try: the person is told that, with their
    caption, not that Slack's photos could not be fetched."""
    await join(rig, "UAMB")
    clients = SlackClients(rig.fake.api_url, bot_token=rig.fake.token)
    job = SubmissionJob(rig.core, FileFetcher(rig.core, clients))
    payload = {"team": "T1", "user": "UAMB", "values": {"caption": "Shop"}, "client_key": "k"}
    try:
        raise NotRecorded("DataError: invalid byte sequence")
    except NotRecorded as exc:
        error = f"gave up after 6 tries: {type(exc).__name__}: {exc}"
    await job.gave_up(payload, error)
    await rig.fake.wait_for(lambda: rig.posts_to("UAMB"))
    said = texts(rig.posts_to("UAMB")[-1]["blocks"])
    assert "your photos arrived" in said and "Shop" in said
    assert "could not fetch" not in said
    await job.gave_up(payload, "gave up after 6 tries: RetryLater: HTTP 503")
    await rig.fake.wait_for(lambda: len(rig.posts_to("UAMB")) >= 2)
    assert "could not fetch your photos" in texts(rig.posts_to("UAMB")[-1]["blocks"])
    await clients.close()


# -- sites and roles from chat -------------------------------------------------------------


async def test_cm_names_a_referent_with_a_mention_and_they_are_told_in_their_language(
    rig: SlackRig, fake: FakeSlack
) -> None:
    await join(rig, "UAMB")
    await join(rig, "UFR")
    # With should_escape, Slack sends a typed @ana as <@UAMB> (older clients add |name).
    answer = await (await rig.command("UCM1", "/relais", "role grant <@UAMB> referent lyon")).json()
    assert answer["response_type"] == "ephemeral"
    assert "Ana Field is now Site referent of Lyon" in answer["text"]
    fr = await (await rig.command("UCM1", "/relais", "role grant <@UFR|luc> referent Lyon")).json()
    assert "Luc Terrain is now Site referent of Lyon" in fr["text"]
    await fake.wait_for(lambda: rig.posts_to("UAMB") and rig.posts_to("UFR"))
    assert "Carla CM made you Site referent of Lyon" in texts(rig.posts_to("UAMB")[-1]["blocks"])
    assert "Carla CM vous a donné le rôle Référent de site de Lyon" in texts(
        rig.posts_to("UFR")[-1]["blocks"]
    )
    listed = await (await rig.command("UCM1", "/relais", "role list")).json()
    assert "Ana Field" in texts(listed["blocks"]) and "Lyon" in texts(listed["blocks"])
    # A CM is not an admin: naming a CM is refused, in the CM's language, nothing written.
    refused = await (await rig.command("UCM1", "/relais", "role grant <@UAMB> cm")).json()
    assert "Only an admin" in refused["text"]
    # Someone unknown to Relais, a site that does not exist: said, nothing written.
    unknown = await (
        await rig.command("UCM1", "/relais", "role grant <@UNOBODY> referent Lyon")
    ).json()
    assert "No member found for UNOBODY" in unknown["text"]
    nowhere = await (
        await rig.command("UCM1", "/relais", "role grant <@UAMB> referent Paris")
    ).json()
    assert "No site called Paris" in nowhere["text"]


async def test_sites_from_slack_in_french_and_refused_to_an_ambassador(rig: SlackRig) -> None:
    await join(rig, "UFR")
    refused = await (await rig.command("UFR", "/relais", "site ajouter Paris")).json()
    assert refused["response_type"] == "ephemeral"
    assert translator("fr")("error.not_allowed") in refused["text"]
    added = await (await rig.command("UCM1", "/relais", "site add  paris  ")).json()
    assert "Site paris added" in added["text"]
    dup = await (await rig.command("UCM1", "/relais", "site add PARIS")).json()
    assert "There is already a site called paris" in dup["text"]
    listed = await (await rig.command("UCM1", "/relais", "site list")).json()
    assert "2 sites" in listed["text"] and "Lyon" in texts(listed["blocks"])


async def test_a_long_site_menu_loads_what_the_person_types(rig: SlackRig) -> None:
    """Past 100 sites Slack's static menu cannot hold them: the join form gets an
    external_select, and Slack's block_suggestion is answered with the matching sites."""
    await rig.command("UAMB", "/relais", "help")  # Ana is known
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.SLACK, TEAM)
    assert ws is not None
    await rig.core.sites.ensure(ws.id, [f"Agence {i:03d}" for i in range(1, 151)])
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command("UAMB", "/relais", "join")).status == 200
    charter = await rig.opened_view(opened + 1)
    site = next(b for b in charter["blocks"] if b.get("block_id") == "site")
    assert site["element"]["type"] == "external_select"
    suggestion = {
        "type": "block_suggestion",
        "user": {"id": "UAMB", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "test"},
        "api_app_id": "A1",
        "token": "legacy",
        "action_id": "site",
        "block_id": "site",
        "value": "agence 01",
        "view": charter,
    }
    options = (await (await rig.interactive(suggestion)).json())["options"]
    labels = [o["text"]["text"] for o in options]
    assert labels[:2] == ["Agence 010", "Agence 011"] and len(labels) == 10
    everything = await (await rig.interactive({**suggestion, "value": ""})).json()
    assert len(everything["options"]) == 100  # Slack's limit per answer
    chosen = next(o for o in options if o["text"]["text"] == "Agence 012")
    answer = await (await rig.submit("UAMB", charter, {"site": chosen})).json()
    assert answer["response_action"] == "update"
    me = await (await rig.command("UAMB", "/relais", "me")).json()
    assert "Agence 012" in texts(me["blocks"])


def test_a_multiple_select_keeps_its_initial_options_static_or_loaded() -> None:
    for count, kind in ((3, "multi_static_select"), (150, "multi_external_select")):
        options = tuple(Option(str(i), f"Site {i}") for i in range(1, count + 1))
        several = Select("sites", "Sites", options, initial="3,2", typeahead=True, multiple=True)
        view = render.form_view(Form("campaign.new", "New", "Create", (several,)), close_label="x")
        (block,) = view["blocks"]
        assert block["element"]["type"] == kind and block["optional"] is True
        chosen = block["element"]["initial_options"]
        assert [o["value"] for o in chosen] == ["2", "3"]
        # Sent back unchanged: the core gets the values separated by commas.
        values, _ = render.form_values(fill_state(view, {}))
        assert values == {"sites": "2,3"}


async def _campaign_sites(rig: SlackRig, title: str) -> list[str]:
    """The names of the sites a campaign is for, as stored."""
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.SLACK, TEAM)
        assert ws is not None
        (made,) = [c for c in await r.campaigns.all(ws.id) if c.title == title]
        ids = (await r.campaigns.site_ids([made.id])).get(made.id, set())
        return sorted(s.name for s in await r.sites.list(ws.id) if s.id in ids)


async def test_a_campaign_for_two_sites_from_a_slack_multi_select(
    rig: SlackRig, fake: FakeSlack, clock: FakeClock
) -> None:
    for name in ("Nantes", "Paris"):
        assert (await rig.command("UCM1", "/relais", f"site add {name}")).status == 200
    await join(rig, "UAMB")  # Lyon
    await join(rig, "UFR", site="Paris")
    opened = len(fake.calls_to("views.open"))
    assert (await rig.command("UCM1", "/relais", "campaign new")).status == 200
    form = await rig.opened_view(opened + 1)
    sites = next(b for b in form["blocks"] if b.get("block_id") == "sites")
    assert sites["optional"] is True
    assert sites["element"]["type"] == "multi_static_select"
    assert sites["element"]["placeholder"]["text"] == "Every site when none is chosen"
    assert [o["text"]["text"] for o in sites["element"]["options"]] == [
        "Lyon",
        "Nantes",
        "Paris",
    ]
    end = (clock.now + timedelta(days=10)).date().isoformat()
    # A value that is not one of the sites (a crafted payload): refused on the field.
    bad = await (
        await rig.submit("UCM1", form, {"title": "Docks", "ends_on": end, "sites": ["Lyon", "999"]})
    ).json()
    assert bad["response_action"] == "errors" and "sites" in bad["errors"]
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.SLACK, TEAM)
        assert ws is not None and await r.campaigns.all(ws.id) == []
    values = {"title": "Docks", "ends_on": end, "sites": ["Lyon", "Nantes"]}
    done = await (await rig.submit("UCM1", form, values)).json()
    assert done["response_action"] == "update"
    assert "for Lyon, Nantes" in texts(done["view"]["blocks"])
    assert await _campaign_sites(rig, "Docks") == ["Lyon", "Nantes"]
    # Ana (Lyon) is offered it in her photo form, Luc (Paris) is not.
    for user, offered in (("UAMB", True), ("UFR", False)):
        opened = len(fake.calls_to("views.open"))
        assert (await rig.command(user, "/submit", "")).status == 200
        photo_form = await rig.opened_view(opened + 1)
        campaign = [b for b in photo_form["blocks"] if b.get("block_id") == "campaign"]
        assert bool(campaign) is offered, user
    # None chosen: every site.
    opened = len(fake.calls_to("views.open"))
    assert (await rig.command("UCM1", "/relais", "campaign new")).status == 200
    form = await rig.opened_view(opened + 1)
    done = await (await rig.submit("UCM1", form, {"title": "All", "ends_on": end})).json()
    assert "for every site" in texts(done["view"]["blocks"])
    assert await _campaign_sites(rig, "All") == []


async def test_past_100_sites_the_campaign_form_loads_the_sites_typed(
    rig: SlackRig, fake: FakeSlack, clock: FakeClock
) -> None:
    await rig.command("UCM1", "/relais", "help")
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.SLACK, TEAM)
    assert ws is not None
    await rig.core.sites.ensure(ws.id, [f"Agence {i:03d}" for i in range(1, 151)])
    opened = len(fake.calls_to("views.open"))
    assert (await rig.command("UCM1", "/relais", "campaign new")).status == 200
    form = await rig.opened_view(opened + 1)
    sites = next(b for b in form["blocks"] if b.get("block_id") == "sites")
    assert sites["element"]["type"] == "multi_external_select"
    suggestion = {
        "type": "block_suggestion",
        "user": {"id": "UCM1", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "test"},
        "api_app_id": "A1",
        "token": "legacy",
        "action_id": "sites",
        "block_id": "sites",
        "value": "agence 14",
        "view": form,
    }
    options = (await (await rig.interactive(suggestion)).json())["options"]
    assert [o["text"]["text"] for o in options] == [f"Agence {i}" for i in range(140, 150)]
    chosen = [o for o in options if o["text"]["text"] in ("Agence 140", "Agence 141")]
    assert len(chosen) == 2
    end = (clock.now + timedelta(days=10)).date().isoformat()
    values = {"title": "Agencies", "ends_on": end, "sites": chosen}
    done = await (await rig.submit("UCM1", form, values)).json()
    assert done["response_action"] == "update"
    assert await _campaign_sites(rig, "Agencies") == ["Agence 140", "Agence 141"]


async def test_slack_escaping_is_undone_in_relais_commands(rig: SlackRig) -> None:
    """Slack writes a typed & < > as entities: the arrow and names reach the core as typed."""
    added = await (await rig.command("UCM1", "/relais", "site add R&amp;D lab")).json()
    # What Relais answers is escaped for Slack in turn (Slack shows R&D).
    assert "Site R&amp;D lab added" in added["text"]
    renamed = await (
        await rig.command("UCM1", "/relais", "site rename r&amp;d lab -&gt; R&amp;D")
    ).json()
    assert "Site R&amp;D lab is now called R&amp;D." in renamed["text"]
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.SLACK, TEAM)
        assert ws is not None
        assert "R&D" in [s.name for s in await r.sites.list(ws.id)]


async def test_cm_publishes_a_new_charter_from_a_slack_modal(
    rig: SlackRig, fake: FakeSlack
) -> None:
    await join(rig, "UAMB")
    await join(rig, "UFR")
    opened = len(fake.calls_to("views.open"))
    assert (await rig.command("UCM1", "/relais", "charter publish")).status == 200
    form = await rig.opened_view(opened + 1)
    assert form["callback_id"] == "charter.publish"
    text_block = next(b for b in form["blocks"] if b.get("block_id") == "text")
    assert text_block["element"]["max_length"] == 3000
    new_text = text_block["element"]["initial_value"] + "\nNo photos of screens."
    preview = await (await rig.submit("UCM1", form, {"text": new_text})).json()
    assert preview["response_action"] == "update"
    assert "+ No photos of screens." in texts(preview["view"]["blocks"])
    done = await (
        await rig.submit("UCM1", preview["view"], {"text": new_text, "confirm": True})
    ).json()
    assert done["response_action"] == "update"
    assert "Charter version 2 published" in texts(done["view"]["blocks"])
    await fake.wait_for(lambda: any("version 2" in texts(p["blocks"]) for p in rig.posts_to("UFR")))
    luc = [p for p in rig.posts_to("UFR") if "version 2" in texts(p["blocks"])][-1]
    assert "a publié la version 2 de la charte" in texts(luc["blocks"])
    assert "Lire et accepter" in json.dumps(luc["blocks"], ensure_ascii=False)
    # Ana is asked again at her next /submit: the charter comes first.
    opened = len(fake.calls_to("views.open"))
    assert (await rig.command("UAMB", "/submit", "hi")).status == 200
    assert (await rig.opened_view(opened + 1))["callback_id"] == "charter.accept"


async def test_cm_starts_a_campaign_from_a_slack_modal_with_date_pickers(
    rig: SlackRig, fake: FakeSlack, clock: FakeClock
) -> None:
    await join(rig, "UAMB")
    opened = len(fake.calls_to("views.open"))
    assert (await rig.command("UCM1", "/relais", "campaign new")).status == 200
    form = await rig.opened_view(opened + 1)
    assert form["callback_id"] == "campaign.new"
    kinds = {b["block_id"]: b["element"]["type"] for b in form["blocks"] if b["type"] == "input"}
    assert kinds["starts_on"] == kinds["ends_on"] == "datepicker"
    today = clock.now.date().isoformat()
    start = next(b for b in form["blocks"] if b.get("block_id") == "starts_on")
    assert start["element"]["initial_date"] == today
    # The end before the start: the error comes back on the field, nothing is created.
    bad = await (
        await rig.submit("UCM1", form, {"title": "Winter", "ends_on": "2020-01-01"})
    ).json()
    assert bad["response_action"] == "errors" and "ends_on" in bad["errors"]
    end = (clock.now + timedelta(days=10)).date().isoformat()
    done = await (await rig.submit("UCM1", form, {"title": "Winter", "ends_on": end})).json()
    assert done["response_action"] == "update"
    assert "Campaign Winter created" in texts(done["view"]["blocks"])
    # The ambassador's photo form offers it.
    opened = len(fake.calls_to("views.open"))
    assert (await rig.command("UAMB", "/submit", "")).status == 200
    photo_form = await rig.opened_view(opened + 1)
    campaign = next(b for b in photo_form["blocks"] if b.get("block_id") == "campaign")
    assert [o["text"]["text"] for o in campaign["element"]["options"]] == ["Winter"]
