"""Field news: a submission without a photo (a title, a text, an optional link) through
submit -> review (approve, reject with a reason, sensitive -> an approver) -> digest ->
content library, over the wire on Slack, Teams and the console; the title, text and
link checked on their fields; the link never drawn as markup; migration 0018 up and
down with data. On SQLite and PostgreSQL (the core fixtures)."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.console.app import ConsoleApp
from adapters.slack import render as slack_render
from bot.actions import handle_command
from bot.core import Core
from bot.errors import InvalidInput
from bot.i18n import translator
from bot.services.submissions import check_link
from bot.settings import Settings
from bot.ui import LINK, Actions
from domain import LINK_MAX, NEWS_TITLE_MAX, Appears, Platform, Status
from relais.server import build_app
from storage.db import Database, alembic_config, upgrade
from tests.slack_api import FakeSlack
from tests.slack_support import REVIEW, SlackRig, buttons, slack_settings, texts
from tests.support import FakeClock, ambassador, member, photo, scratch_database, stored, text_of
from tests.test_campaign_sites import _rows, _run, seed_submission, sql_now
from tests.test_console import Terminal
from tests.test_slack import card_ref, fake, join
from tests.test_teams import REVIEW as TEAMS_REVIEW
from tests.test_teams import TEAM as TEAMS_TEAM
from tests.test_teams import TeamsRig, bf, executes, install, runs, teams_settings
from tests.test_teams import join as teams_join

__all__ = ["bf", "fake"]

DIGEST = "CDIGEST"
LINK_TYPED = "https://example.com/news?a=1&b=<x>"
# As stored: pydantic's HttpUrl percent-encodes what a URL may not hold.
LINK_STORED = "https://example.com/news?a=1&b=%3Cx%3E"


# -- the rules, in the core ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored_as"),
    [
        ("https://example.com", "https://example.com/"),
        ("http://intranet.example.com/a?b=c#d", "http://intranet.example.com/a?b=c#d"),
        ("  https://exämple.com/x  ", "https://xn--exmple-cua.com/x"),
        (LINK_TYPED, LINK_STORED),
        ("", None),
    ],
)
def test_a_link_is_http_or_https_and_stored_normalised(typed: str, stored_as: str | None) -> None:
    assert check_link(typed) == stored_as


@pytest.mark.parametrize(
    "typed",
    [
        "javascript:alert(1)",
        "ftp://example.com/file",
        "example.com",
        "https://",
        "https://bank.example@elsewhere.example/",
        "https://example.com/a b",
        "https://example.com/\x00",
        "https://example.com/" + "a" * LINK_MAX,
    ],
)
def test_a_bad_link_is_refused_on_its_field(typed: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_link(typed)
    assert (err.value.field, err.value.key) == ("link", "error.bad_link")


async def test_news_needs_a_title_and_a_text_each_refused_on_its_field(core: Core) -> None:
    amb = await ambassador(core, "amb")
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"title": "", "caption": "Text"}, "title", "error.news_title_required"),
        ({"title": "   ", "caption": "Text"}, "title", "error.news_title_required"),
        ({"title": "Title", "caption": "  "}, "caption", "error.news_text_required"),
        ({"title": "T" * (NEWS_TITLE_MAX + 1), "caption": "x"}, "title", "error.title_too_long"),
        ({"title": "Title", "caption": "x", "link": "ftp://x"}, "link", "error.bad_link"),
    ]
    for fields, field, key in cases:
        with pytest.raises(InvalidInput) as err:
            await core.submissions.create(amb, photos=[], **fields)
        assert (err.value.field, err.value.key) == (field, key), fields
    async with core.db.read() as r:
        assert await r.submissions.count_awaiting_review(amb.workspace_id) == 0


async def test_a_news_item_asks_no_consent_and_a_photo_keeps_its_rules(core: Core) -> None:
    cm = await member(core, "cm1", "Carla")
    amb = await ambassador(core, "amb", "Ana")
    bob = await ambassador(core, "bob", "Bob")
    # Colleagues named on a news item: there is no picture for them to appear in.
    news = await core.submissions.create(
        amb,
        photos=[],
        title="  Lyon   shop\nreopens ",
        caption="We reopened today.",
        link="https://example.com/lyon",
        appears=Appears.COLLEAGUES,
        people=["bob"],
    )
    assert news.is_news and news.title == "Lyon shop reopens"
    assert (news.appears, news.consents) == (Appears.NOBODY, ())
    approved = await core.review.approve(cm, news.id)
    assert approved.status is Status.APPROVED and approved.external_use_ok
    # A photo with a title and a link: still a photo, who appears still asked.
    pic = await core.submissions.create(
        bob,
        photos=[await photo(core)],
        caption="Shop window",
        title="Window",
        link="http://example.com/w",
        appears=Appears.NOBODY,
    )
    assert not pic.is_news and (pic.title, pic.link) == ("Window", "http://example.com/w")
    assert len(pic.media_keys) == 1


async def test_the_review_card_draws_the_link_as_a_button_and_plain_text(core: Core) -> None:
    amb = await ambassador(core, "amb", "Ana")
    sub = await core.submissions.create(
        amb,
        photos=[],
        title="*Bold* <!channel>",
        caption="<https://evil.example|click me>",
        link=LINK_TYPED,
    )
    from bot import cards

    t = translator("en")
    card = cards.review_card(t, sub, "UTC")
    assert "Field news #1" in text_of(card)
    (opener,) = [
        b for block in card.blocks if isinstance(block, Actions) for b in block.buttons if b.url
    ]
    assert (opener.action, opener.url) == (LINK, LINK_STORED)
    drawn = slack_render.message_blocks(card)
    # Slack: user text only in plain_text objects; the link is a button's url.
    for block in drawn:
        for element in [block.get("text"), *(block.get("elements") or [])]:
            if isinstance(element, dict) and element.get("type") == "mrkdwn":
                pytest.fail(f"user text drawn as mrkdwn: {element}")
    assert any(
        e.get("url") == LINK_STORED for b in drawn if b["type"] == "actions" for e in b["elements"]
    )


# -- Slack, over the wire -----------------------------------------------------------------


@pytest.fixture
async def news_rig(
    settings: Settings, db: Database, clock: FakeClock, fake: FakeSlack
) -> AsyncIterator[SlackRig]:
    core = Core(slack_settings(settings, fake, relais_digest_channel=DIGEST), db, clock=clock)
    async with SlackRig(core, fake, clock) as running:
        assert (await running.command("UCM1", "/relais", "site add Lyon")).status == 200
        yield running


async def _slack_news(rig: SlackRig, values: dict[str, Any], view_id: str) -> dict[str, Any]:
    """/submit, fill the modal with no photo; the review card's postMessage params."""
    before = len(rig.posts_to(REVIEW))
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command("UAMB", "/submit", "")).status == 200
    form = await rig.opened_view(opened + 1)
    answer = await (await rig.submit("UAMB", form, values, view_id=view_id)).json()
    assert answer["response_action"] == "update", answer
    await rig.fake.wait_for(lambda: len(rig.posts_to(REVIEW)) > before)
    return rig.posts_to(REVIEW)[before]


async def _status(core: Core, submission_id: int) -> Status:
    return (await stored(core, submission_id)).status


async def _until_status(core: Core, submission_id: int, status: Status) -> None:
    """A Slack click is handled after its ack: wait (5 s at most) for the decision."""
    for _ in range(250):
        if await _status(core, submission_id) is status:
            return
        await asyncio.sleep(0.02)
    assert await _status(core, submission_id) is status


async def test_slack_news_through_review_digest_and_library(
    news_rig: SlackRig, fake: FakeSlack
) -> None:
    rig = news_rig
    await join(rig, "UAMB")
    assert (await rig.command("UAMB", "/submit", "")).status == 200
    form = await rig.opened_view(2)
    inputs = {b["block_id"]: b for b in form["blocks"] if b.get("type") == "input"}
    # One form: photos optional, a title, the text, a link; who appears asked with photos.
    assert inputs["photos"]["optional"] is True
    assert inputs["title"]["element"]["max_length"] == NEWS_TITLE_MAX
    assert inputs["link"]["optional"] is True and inputs["appears"]["optional"] is True
    assert "field news without a photo" in texts(form["blocks"])
    # Nothing filled: the title and the text are asked for, on their fields, at once.
    empty = await (await rig.submit("UAMB", form, {"photos": []})).json()
    assert empty["response_action"] == "errors"
    assert set(empty["errors"]) == {"title", "caption"}
    assert "needs a title" in empty["errors"]["title"]
    bad = await (
        await rig.submit(
            "UAMB", form, {"title": "T", "caption": "x", "link": "javascript:alert(1)"}
        )
    ).json()
    assert set(bad["errors"]) == {"link"} and "http://" in bad["errors"]["link"]

    # 1. Approved by a CM.
    card = await _slack_news(
        rig,
        {"title": "Lyon shop reopens", "caption": "Doors open *today* <!here>", "link": LINK_TYPED},
        "VN1",
    )
    shown = texts(card["blocks"])
    assert "Field news #1" in shown and "Lyon shop reopens" in shown
    assert "Doors open *today* <!here>" in shown
    assert "Nobody (news without a photo)" in shown
    assert not any(b["type"] == "image" for b in card["blocks"])
    urls = [e.get("url") for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert LINK_STORED in urls
    channel, ts = card_ref(rig, 0)
    assert (
        await rig.click("UCM1", buttons(card["blocks"])["review.approve"], message_ts=ts)
    ).status == 200
    await fake.wait_for(lambda: len(fake.message_history(channel, ts)) >= 2)
    assert "Approved by Carla CM" in texts(fake.message_history(channel, ts)[-1]["blocks"])
    await fake.wait_for(
        lambda: any("approved" in texts(p["blocks"]).lower() for p in rig.posts_to("UAMB"))
    )

    # 2. Rejected with a reason.
    card = await _slack_news(rig, {"title": "Old news", "caption": "From 2019"}, "VN2")
    channel, ts = card_ref(rig, 1)
    opened = len(fake.calls_to("views.open"))
    await rig.click("UCM1", buttons(card["blocks"])["review.reject"], message_ts=ts)
    reason_form = await rig.opened_view(opened + 1)
    assert reason_form["callback_id"] == "review.reject"
    done = await (await rig.submit("UCM1", reason_form, {"reason": "Already told"})).json()
    assert done["response_action"] == "update"
    await _until_status(rig.core, 2, Status.REJECTED)
    await fake.wait_for(
        lambda: any("Already told" in texts(p["blocks"]) for p in rig.posts_to("UAMB"))
    )

    # 3. Sensitive: a CM cannot approve it, an approver can.
    card = await _slack_news(
        rig, {"title": "Reorganisation", "caption": "Teams merge", "sensitive": True}, "VN3"
    )
    assert "Sensitive" in texts(card["blocks"])
    channel, ts = card_ref(rig, 2)
    approve = buttons(card["blocks"])["review.approve"]
    told = len(fake.ephemerals)
    assert (await rig.click("UCM1", approve, message_ts=ts)).status == 200
    await fake.wait_for(lambda: len(fake.ephemerals) > told)
    assert "approver" in texts(fake.ephemerals[-1]["blocks"]).lower()
    assert await _status(rig.core, 3) is Status.PENDING
    assert (await rig.click("UBOSS", approve, message_ts=ts)).status == 200
    await _until_status(rig.core, 3, Status.APPROVED)

    # The digest: both approved news items, as news, with the link as a button.
    sent = await (await rig.command("UCM1", "/relais", "digest send")).json()
    assert "Digest posted" in str(sent), sent
    await fake.wait_for(lambda: rig.posts_to(DIGEST))
    digest = rig.posts_to(DIGEST)[0]
    said = texts(digest["blocks"])
    assert "News: Lyon shop reopens" in said and "News: Reorganisation" in said
    assert "Old news" not in said
    digest_urls = [
        e.get("url") for b in digest["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert LINK_STORED in digest_urls

    # The library: the page lists them as news, the link an escaped anchor.
    reply = await (await rig.command("UCM1", "/relais", "library")).json()
    path = urlsplit(buttons(reply["blocks"])["link"]["url"]).path
    page = await rig.http.get(path)
    assert page.status == 200
    body = await page.text()
    assert body.count("Field news</p>") == 2
    assert "<h2>Lyon shop reopens</h2>" in body and "Old news" not in body
    assert f'<a href="{html.escape(LINK_STORED)}" rel="noopener noreferrer nofollow">' in body
    assert "Doors open *today* &lt;!here&gt;" in body
    assert "News without a photo: nobody appears" in body and "By Ana Field" in body


# -- Teams, over the wire -----------------------------------------------------------------


@pytest.fixture
async def news_teams_rig(
    settings: Settings, db: Database, clock: FakeClock, bf: Any
) -> AsyncIterator[TeamsRig]:
    core = Core(teams_settings(settings, bf, relais_digest_channel=TEAMS_TEAM), db, clock=clock)
    async with TeamsRig(core, bf) as running:
        yield running


async def _teams_form(rig: TeamsRig) -> dict[str, Any]:
    """Alice types ``submit`` with no photo: the submission form card."""
    alice = rig.bf.personal_conversation_id("29:alice")
    before = len(rig.cards_to(alice))
    await rig.send(rig.bf.personal_message("submit"))

    def forms() -> list[dict[str, Any]]:
        # Receipts of earlier submissions may arrive in between: the form is the card
        # with the form's button.
        new = rig.cards_to(alice)[before:]
        return [c for c in new if "submission.create" in executes(c)]

    await rig.bf.wait_for(forms)
    return forms()[0]


async def test_teams_news_typed_submit_review_digest_and_library(
    news_teams_rig: TeamsRig,
) -> None:
    rig = news_teams_rig
    await install(rig)
    await teams_join(rig)
    form = await _teams_form(rig)
    said = runs(form)
    assert "For news without a photo, fill in a title and a text" in said
    assert "Title (required for news without a photo)" in said
    submit = executes(form)["submission.create"]
    # No title: refused on its field, nothing recorded.
    refused = await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "submission.create", {**submit["data"], "caption": "Text only"}
        )
    )
    assert refused.status == 200 and "needs a title" in str(refused.json())
    async with rig.core.db.read() as r:
        assert await r.submissions.get(1) is None
    for title, caption in (("Plant open day", "Saturday 10:00"), ("Canteen menu", "Fish")):
        form = await _teams_form(rig)
        answer = await rig.send(
            rig.bf.invoke_adaptive_card_action(
                "submission.create",
                {
                    **executes(form)["submission.create"]["data"],
                    "title": title,
                    "caption": caption,
                    "link": "https://example.com/open-day" if title == "Plant open day" else "",
                },
            )
        )
        assert answer.status == 200, answer.text
    carla = {"user_id": "29:carla", "aad": "aad-carla", "name": "Carla CM"}
    first = await rig.review_card(1)
    assert "Field news #1" in runs(first) and "Plant open day" in runs(first)
    assert not any(e.get("type") == "Image" for e in first["body"])
    opens = [
        a
        for a in _nodes(first)
        if a.get("type") == "Action.OpenUrl" and a.get("url") == "https://example.com/open-day"
    ]
    assert opens, "the link is an Action.OpenUrl"
    answer = await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "review.approve",
            executes(first)["review.approve"]["data"],
            conversation_id=TEAMS_REVIEW,
            **carla,
        )
    )
    assert answer.status == 200 and await _status(rig.core, 1) is Status.APPROVED
    second = await rig.review_card(2)
    answer = await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "review.reject",
            {**executes(second)["review.reject"]["data"], "reason": "Not news"},
            conversation_id=TEAMS_REVIEW,
            **carla,
        )
    )
    assert answer.status == 200 and await _status(rig.core, 2) is Status.REJECTED
    assert (await stored(rig.core, 2)).decision_reason == "Not news"

    # The digest in the team's channel, then the library through its signed link.
    carla_dm = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla_dm))
    await rig.send(rig.bf.personal_message("digest send", **carla))
    await rig.wait_card(carla_dm, before + 1)
    await rig.bf.wait_for(
        lambda: any("News: Plant open day" in runs(c) for c in rig.cards_to(TEAMS_TEAM))
    )
    digest = next(c for c in rig.cards_to(TEAMS_TEAM) if "News: Plant open day" in runs(c))
    assert "Canteen menu" not in runs(digest)
    before = len(rig.cards_to(carla_dm))
    await rig.send(rig.bf.personal_message("library", **carla))
    card = await rig.wait_card(carla_dm, before + 1)
    (library,) = [a for a in _nodes(card) if a.get("type") == "Action.OpenUrl"]
    path = urlsplit(library["url"]).path
    async with aiohttp.ClientSession() as http, http.get(rig.url + path) as page:
        body = await page.text()
    assert page.status == 200
    assert "<h2>Plant open day</h2>" in body and "Canteen menu" not in body
    assert 'href="https://example.com/open-day"' in body


def _nodes(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            out += _nodes(value)
    elif isinstance(node, list):
        for item in node:
            out += _nodes(item)
    return out


# -- the console -----------------------------------------------------------------------------


@pytest.fixture
async def library_client(core: Core) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(build_app(core))) as client:
        yield client


async def test_console_news_refused_then_sent_approved_digest_and_library(core: Core) -> None:
    settings = core.settings.model_copy(update={"relais_digest_channel": "digest"})
    console = Core(
        settings, core.db, clock=core.clock, review_channels={Platform.CONSOLE: "review"}
    )
    term = Terminal(
        [
            "/relais join",
            "y",
            "/submit",
            "",  # no photo: news
            "",  # no title: refused on its field
            "Our plant won the safety award",
            "http://",  # a bad link: refused on its field
            "",  # who appears: not asked of news (nothing picked)
            "",
            "n",
            "n",
            "y",
            "Safety award",  # the title, asked again
            "y",
            "https://example.com/award",  # then the link
            "y",
            "/as cm1",
            "1",  # Approve on the review card
            "/relais digest send",
            "/relais library",
        ]
    )
    await ConsoleApp(console, term.ask, term.say).run()
    out = term.text
    assert "! Title (required for news without a photo): News without a photo needs a title" in out
    assert "! Link (optional, http or https): The link must be a web address" in out
    assert "Thanks! Submission #1 is sent for review." in out
    assert "FIELD NEWS #1" in out and "Safety award" in out
    assert "Open the link: https://example.com/award" in out
    assert "Approved by Cm1 on" in out
    assert "News: Safety award" in out.split("/relais digest send", 1)[1]
    sub = await stored(core, 1)
    assert (sub.title, sub.caption, sub.link, sub.media_keys) == (
        "Safety award",
        "Our plant won the safety award",
        "https://example.com/award",
        (),
    )
    path = urlsplit(out.rsplit("Open the library: ", 1)[1].split()[0]).path
    # The page of the same process (its link key is its own).
    async with TestClient(TestServer(build_app(console))) as client:
        body = await (await client.get(path)).text()
    assert "<h2>Safety award</h2>" in body and "Our plant won the safety award" in body


async def test_console_news_in_french(core: Core) -> None:
    settings = core.settings.model_copy(update={"relais_locale": "fr"})
    console = Core(
        settings, core.db, clock=core.clock, review_channels={Platform.CONSOLE: "review"}
    )
    term = Terminal(
        [
            *("/relais rejoindre", "o", "/submit", ""),
            *("Portes ouvertes", "Samedi", "", "", "", "n", "n", "o"),
            *("/as cm1", "/inbox"),
        ]
    )
    await ConsoleApp(console, term.ask, term.say).run()
    out = term.text
    assert "Titre (obligatoire pour une actualité sans photo)" in out
    assert "ACTUALITÉ TERRAIN N° 1" in out and "Personne (actualité sans photo)" in out


# -- the existing photo flow and the library's reads ------------------------------------------


async def test_library_lists_news_beside_photos(
    core: Core, library_client: TestClient[web.Request, web.Application]
) -> None:
    cm = await member(core, "cm1", "Carla")
    amb = await ambassador(core, "amb", "Ana")
    pic = await core.submissions.create(
        amb, photos=[await photo(core)], caption="A photo", appears=Appears.NOBODY
    )
    news = await core.submissions.create(amb, photos=[], title="<b>Bold</b>", caption="Text")
    for sub in (pic, news):
        await core.review.approve(cm, sub.id)
    reply = await handle_command(core, cm, "/relais", "library")
    assert reply.message is not None
    (url,) = [
        b.url for block in reply.message.blocks if isinstance(block, Actions) for b in block.buttons
    ]
    body = await (await library_client.get(urlsplit(url).path)).text()
    assert "2 approved submissions" in body
    assert "<h2>&lt;b&gt;Bold&lt;/b&gt;</h2>" in body and "<b>Bold</b>" not in body
    assert body.count("Field news</p>") == 1 and "Photo: Ana" in body and "By Ana" in body


# -- migration 0018 ---------------------------------------------------------------------------


async def test_migration_0018_adds_title_and_link_and_goes_back_with_the_rows(
    db: Database, tmp_path: Path
) -> None:
    from alembic import command

    async with scratch_database(db, tmp_path, "news_0018") as url:
        await asyncio.to_thread(upgrade, url, "0017")
        now = sql_now(db)
        await seed_submission(url, now, "a photo", "approved")
        await asyncio.to_thread(upgrade, url, "head")
        rows = "SELECT id, caption, title, link FROM submissions ORDER BY id"
        assert await _rows(url, rows) == [(1, "a photo", None, None)]
        await _run(
            url,
            "INSERT INTO submissions (id, workspace_id, author_id, caption, status,"
            " people_consented, sensitive, revision, created_at, updated_at, title, link)"
            " VALUES (2, 1, 1, 'text', 'pending', false, false, 1, :now, :now, 'News',"
            " 'https://example.com/')",
            now=now,
        )
        assert await _rows(url, rows) == [
            (1, "a photo", None, None),
            (2, "text", "News", "https://example.com/"),
        ]
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0017")
        kept = "SELECT id, caption, status FROM submissions ORDER BY id"
        assert await _rows(url, kept) == [(1, "a photo", "approved"), (2, "text", "pending")]
        await asyncio.to_thread(upgrade, url, "head")
        assert await _rows(url, rows) == [(1, "a photo", None, None), (2, "text", None, None)]


# -- a person's data -------------------------------------------------------------------------


async def test_forgetting_someone_rewrites_their_name_in_a_news_title(core: Core) -> None:
    ana = await ambassador(core, "UANA", "Anaïs Zorglub")
    bob = await ambassador(core, "UBOB", "Bob")
    about = await core.submissions.create(
        bob,
        photos=[],
        title="Anaïs Zorglub retires",
        caption="Thirty years at the plant",
        link="https://example.com/retire",
    )
    async with core.db.read() as r:
        (entry,) = await r.personal.submissions(bob.id)
    assert (entry["title"], entry["link"]) == (
        "Anaïs Zorglub retires",
        "https://example.com/retire",
    )
    await core.forgetting.forget(ana)
    after = await stored(core, about.id)
    assert after.title == "a colleague retires"
    assert after.caption == "Thirty years at the plant"


async def test_a_news_item_sent_back_for_changes_stays_news_unless_photos_are_added(
    core: Core,
) -> None:
    cm = await member(core, "cm1", "Carla")
    amb = await ambassador(core, "amb", "Ana")
    news = await core.submissions.create(amb, photos=[], title="Draft", caption="Text")
    await core.review.request_changes(cm, news.id, "Say when")
    with pytest.raises(InvalidInput) as err:
        await core.submissions.resubmit(amb, news.id, caption="Text", title="")
    assert (err.value.field, err.value.key) == ("title", "error.news_title_required")
    again = await core.submissions.resubmit(
        amb, news.id, caption="Saturday at 10", title="Open day", link="https://example.com/o"
    )
    assert again.is_news and (again.title, again.caption, again.revision) == (
        "Open day",
        "Saturday at 10",
        2,
    )
    assert again.appears is Appears.NOBODY and again.link == "https://example.com/o"
    # Photos added on the next round: a photo now, and who appears is asked as for any.
    await core.review.request_changes(cm, news.id, "Add a picture")
    with pytest.raises(InvalidInput) as err:
        await core.submissions.resubmit(
            amb,
            news.id,
            caption="Saturday",
            title="Open day",
            photos=[await photo(core)],
            appears=Appears.COLLEAGUES,
        )
    assert err.value.field == "people"
    pic = await core.submissions.resubmit(
        amb,
        news.id,
        caption="Saturday",
        title="Open day",
        photos=[await photo(core)],
        appears=Appears.NOBODY,
    )
    assert not pic.is_news and len(pic.media_keys) == 1


async def test_news_in_the_library_in_a_real_browser(core: Core, db_url: str) -> None:
    """The library page with a photo and a news item in headless chromium (skipped without
    it, as tests/test_library_browser.py): the news item shows its title, text and link,
    the link is a real anchor to its address, and nothing is blocked by the page's CSP."""
    from tests.test_library_browser import _browser_or_skip, library_page, screenshot_path

    chromium = _browser_or_skip()
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "UANA", "Ana")
    pic = await core.submissions.create(
        ana, photos=[await photo(core)], caption="Team day", appears=Appears.NOBODY
    )
    news = await core.submissions.create(
        ana,
        photos=[],
        title="Safety award <script>alert(1)</script>",
        caption="Our plant won it.",
        link=LINK_TYPED,
    )
    for sub in (pic, news):
        await core.review.approve(cm, sub.id)
    async with library_page(core, cm, chromium) as opened:
        page = opened.page
        assert await page.inner_text("h1") == "Approved photos and news"
        assert await page.locator("figure").count() == 2
        item = page.locator("figure", has_text="Field news")
        assert await item.locator("h2").inner_text() == "Safety award <script>alert(1)</script>"
        anchor = item.locator("a[rel~=noopener]")
        assert await anchor.get_attribute("href") == LINK_STORED
        assert await anchor.inner_text() == LINK_STORED
        assert await page.locator("script").count() == 0
        assert opened.blocked == []
        shot = await screenshot_path(db_url, "library-news")
        await page.screenshot(path=str(shot))
