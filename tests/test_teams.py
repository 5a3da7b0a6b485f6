"""The Teams adapter end to end: signed Activities in, Bot Connector calls out."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.cards import notice as notice_message
from bot.core import Core
from bot.settings import Settings
from domain import Platform
from relais.server import build_server
from storage.db import Database
from storage.models import Job, OutboxMessage, SiteReferent, Submission
from tests.support import FakeClock, count_rows, jpeg_bytes
from tests.teams_connector import FakeConnector

TEAM = "19:team-1@thread.tacv2"
REVIEW = "19:review@thread.tacv2"
CARD = "application/vnd.microsoft.card.adaptive"


def teams_settings(base: Settings, bf: FakeConnector, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "microsoft_app_id": bf.app_id,
        "microsoft_app_password": bf.app_password,
        "public_url": "https://relais.example.com",
        "relais_cms": ["aad-carla"],
        "relais_approvers": ["aad-boss"],
        "relais_review_channel": "",
        "relais_secret_key": "test-secret",
        **extra,
    }
    return base.model_copy(update=values)


class TeamsRig:
    """Relais (build_server) on 127.0.0.1, and helpers to act as Teams users."""

    def __init__(self, core: Core, bf: FakeConnector, *, auth: bool = True) -> None:
        self.core = core
        self.bf = bf
        overrides = bf.sdk_settings() if auth else {}
        overrides.pop("APP_ID", None)
        overrides.pop("APP_PASSWORD", None)
        overrides.pop("APP_TYPE", None)
        self.server = TestServer(build_server(core, teams_overrides=overrides), host="127.0.0.1")

    async def __aenter__(self) -> TeamsRig:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def send(self, activity: dict[str, Any], token: str | None = "valid") -> Any:
        if token == "valid":
            token = self.bf.channel_token()
        return await self.bf.post_activity(self.url, activity, token)

    def cards_to(self, conversation: str) -> list[dict[str, Any]]:
        """Adaptive Cards the bot sent to a conversation (thread suffixes included)."""
        found = []
        for activity in list(self.bf.sent):
            if not activity["conversation"]["id"].startswith(conversation):
                continue
            for attachment in activity.get("attachments") or []:
                if attachment.get("contentType") == CARD:
                    found.append({**attachment["content"], "_id": activity["id"]})
        return found

    async def wait_card(self, conversation: str, count: int = 1) -> dict[str, Any]:
        await self.bf.wait_for(lambda: len(self.cards_to(conversation)) >= count)
        return self.cards_to(conversation)[count - 1]

    async def review_card(self, count: int = 1) -> dict[str, Any]:
        """The ``count``-th review card posted in the review channel (waits for it)."""

        def found() -> list[dict[str, Any]]:
            return [c for c in self.cards_to(REVIEW) if "review.approve" in executes(c)]

        await self.bf.wait_for(lambda: len(found()) >= count)
        return found()[count - 1]

    async def settle(self) -> None:
        self.core.outbox_changed()
        self.core.jobs_changed()


def runs(card: Any) -> str:
    """Every text of a card (TextRun texts, titles, labels), for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "label", "placeholder"):
                if isinstance(node.get(key), str):
                    out.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(out)


def executes(card: Any) -> dict[str, dict[str, Any]]:
    """Action.Execute actions of a card by verb (including inside ShowCards)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.setdefault(node["verb"], node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


@pytest.fixture
async def bf() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as connector:
        connector.add_user("29:alice", "Alice Field", "aad-alice")
        connector.add_user("29:carla", "Carla CM", "aad-carla")
        connector.add_user("29:olive", "Olive Other", "aad-olive")
        connector.add_user("29:luc", "Luc Terrain", "aad-luc")
        connector.add_team(TEAM, "Ambassadors", {TEAM: None, REVIEW: "Review"})
        yield connector


@pytest.fixture
async def rig(
    settings: Settings, db: Database, clock: FakeClock, bf: FakeConnector
) -> AsyncIterator[TeamsRig]:
    core = Core(teams_settings(settings, bf), db, clock=clock)
    async with TeamsRig(core, bf) as running:
        yield running


async def _statuses(db: Database) -> list[str]:
    async with db.read() as r:
        return list(await r.session.scalars(select(Submission.status).order_by(Submission.id)))


async def install(rig: TeamsRig) -> None:
    """Carla adds Relais to the team and picks the review channel."""
    added = rig.bf.conversation_update_bot_added_to_team(
        TEAM, {TEAM: None, REVIEW: "Review"}, user_id="29:carla", aad="aad-carla", name="Carla CM"
    )
    assert (await rig.send(added)).status in (200, 201)
    here = rig.bf.channel_message(
        "review here", TEAM, REVIEW, user_id="29:carla", aad="aad-carla", name="Carla CM"
    )
    assert (await rig.send(here)).status in (200, 201)
    await rig.bf.wait_for(lambda: rig.bf.sent_to(REVIEW) or rig.cards_to(REVIEW))
    # The CM's list of sites, which the join and submission cards offer.
    carla_dm = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla_dm))
    add = rig.bf.personal_message(
        "site add Lyon", user_id="29:carla", aad="aad-carla", name="Carla CM"
    )
    assert (await rig.send(add)).status in (200, 201)
    assert "Site Lyon added" in runs(await rig.wait_card(carla_dm, before + 1))


def choice(card: Any, name: str, title: str) -> str | None:
    """The value of the option called ``title`` in the card's ChoiceSet ``name`` (None
    when the card has no such list)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Input.ChoiceSet" and node.get("id") == name:
                found.extend(c["value"] for c in node["choices"] if c["title"] == title)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    assert len(found) <= 1, f"two options {title!r} in {name!r}"
    return found[0] if found else None


async def join(rig: TeamsRig, user: str = "29:alice", aad: str = "aad-alice") -> None:
    """Type "join" to the bot, accept the charter in the card."""
    conversation = rig.bf.personal_conversation_id(user)
    before = len(rig.cards_to(conversation))
    await rig.send(rig.bf.personal_message("join", user_id=user, aad=aad))
    charter = await rig.wait_card(conversation, before + 1)
    accept = executes(charter)["charter.accept"]
    # The site from the list, when the CM made one (install() does).
    lyon = choice(charter, "site", "Lyon")
    site = {"site": lyon} if lyon else {}
    invoke = rig.bf.invoke_adaptive_card_action(
        "charter.accept", {**accept["data"], **site}, user_id=user, aad=aad
    )
    answer = await rig.send(invoke)
    assert answer.status == 200, answer.text
    assert "charter version 1" in json.dumps(answer.json())


async def send_photo(
    rig: TeamsRig, caption: str, file_id: str, colour: tuple[int, int, int] = (200, 30, 30)
) -> dict[str, Any]:
    """Send a pasted photo; returns the submission form card that comes back."""
    conversation = rig.bf.personal_conversation_id("29:alice")
    before = len(rig.cards_to(conversation))
    rig.bf.add_file(file_id, jpeg_bytes(colour))
    message = rig.bf.personal_message(
        caption, attachments=[rig.bf.image_attachment(file_id), rig.bf.html_attachment(caption)]
    )
    assert (await rig.send(message)).status in (200, 201)
    return await rig.wait_card(conversation, before + 1)


# -- authentication and malformed input -------------------------------------------------


async def test_requests_without_a_valid_token_get_401_and_record_nothing(
    rig: TeamsRig, db: Database
) -> None:
    message = rig.bf.personal_message("join")
    assert (await rig.send(message, token=None)).status == 401
    for kind in ("wrong_audience", "expired", "wrong_signature", "wrong_issuer"):
        response = await rig.send(message, token=rig.bf.bad_token(kind))
        assert response.status == 401, (kind, response.status, response.text)
    async with db.read() as r:
        assert await r.workspaces.find(Platform.TEAMS, "tenant-1") is None
    assert rig.bf.sent == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"type": "message"}',
        '{"type": "message", "serviceUrl": "https://x", "conversation": {"id": "a"}}',
        json.dumps(
            {
                "type": "message",
                "serviceUrl": "https://x",
                "from": {"id": "29:a"},
                "conversation": {"id": "a"},
                "text": "x" * 30_000,
            }
        ),
    ],
)
async def test_malformed_activities_get_a_clear_400(rig: TeamsRig, body: str) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{rig.url}/api/messages",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
        ) as response,
    ):
        assert response.status == 400
        assert "error" in await response.json()


async def test_unknown_activity_types_are_accepted_and_ignored(rig: TeamsRig) -> None:
    activity = rig.bf.personal_message("hi")
    activity["type"] = "typing"
    assert (await rig.send(activity)).status in (200, 201)
    await asyncio.sleep(0.1)
    assert rig.bf.sent == []


# -- the whole path ------------------------------------------------------------------------


async def test_install_join_photo_review_approve_full_path(rig: TeamsRig, db: Database) -> None:
    await install(rig)
    await join(rig)
    form = await send_photo(rig, "Team breakfast in Lyon", "img1")
    assert "1 photo" in runs(form)
    fetched = [(d.file_id, d.status) for d in rig.bf.downloads]
    assert fetched == [("img1", 200)]
    assert rig.bf.downloads[0].auth.startswith("Bearer ")  # the bot's token, on its own host
    submit = executes(form)["submission.create"]
    assert submit["data"]["value"].startswith("draft:1:")
    invoke = rig.bf.invoke_adaptive_card_action(
        "submission.create",
        {
            **submit["data"],
            "caption": "Team breakfast in Lyon",
            "appears": "outside",
            "outside_agreement": "true",
        },
    )
    answer = await rig.send(invoke)
    assert answer.status == 200, answer.text
    assert await _statuses(db) == ["pending"]

    card = await rig.review_card()
    assert "Team breakfast in Lyon" in runs(card) and "Alice" in runs(card)
    image = next(e for e in card["body"] if e.get("type") == "Image")
    assert image["url"].startswith("https://relais.example.com/media/")
    approve = executes(card)["review.approve"]
    decision = rig.bf.invoke_adaptive_card_action(
        "review.approve",
        approve["data"],
        user_id="29:carla",
        aad="aad-carla",
        name="Carla CM",
        conversation_id=REVIEW,
    )
    answer = await rig.send(decision)
    assert answer.status == 200, answer.text
    assert await _statuses(db) == ["approved"]
    await rig.bf.wait_for(lambda: rig.bf.updated.get(card["_id"]))
    decided = rig.bf.history(card["_id"])[-1]["attachments"][0]["content"]
    assert "Approved by Carla CM" in runs(decided)
    assert "review.approve" not in executes(decided)
    alice = rig.bf.personal_conversation_id("29:alice")
    await rig.bf.wait_for(lambda: any("approved" in runs(c).lower() for c in rig.cards_to(alice)))


async def test_photo_links_are_signed_and_serve_the_cleaned_photo(
    rig: TeamsRig, db: Database
) -> None:
    import aiohttp

    await install(rig)
    await join(rig)
    form = await send_photo(rig, "Link", "img-link")
    submit = executes(form)["submission.create"]
    await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "submission.create", {**submit["data"], "appears": "nobody"}
        )
    )
    card = await rig.review_card()
    url = next(e for e in card["body"] if e.get("type") == "Image")["url"]
    path = url.removeprefix("https://relais.example.com")
    async with aiohttp.ClientSession() as session:
        async with session.get(rig.url + path) as ok:
            assert ok.status == 200 and ok.content_type == "image/jpeg"
            assert (await ok.read())[:2] == b"\xff\xd8"
        async with session.get(rig.url + path[:-3] + "abc") as forged:
            assert forged.status == 404


# -- words typed to the bot ---------------------------------------------------------------


async def test_help_in_the_persons_language_and_one_reply_per_activity(rig: TeamsRig) -> None:
    message = rig.bf.personal_message("help", user_id="29:luc", aad="aad-luc", locale="fr-FR")
    first = await rig.send(message)
    again = await rig.send(message)  # the same activity delivered twice
    assert first.status in (200, 201) and again.status in (200, 201)
    conversation = rig.bf.personal_conversation_id("29:luc")
    card = await rig.wait_card(conversation)
    assert "ambassadeur" in runs(card).lower() and "snooze" in runs(card)
    await asyncio.sleep(0.3)
    assert len(rig.cards_to(conversation)) == 1


async def test_only_cms_may_choose_the_review_channel(rig: TeamsRig, db: Database) -> None:
    here = rig.bf.channel_message("review here", TEAM, REVIEW, user_id="29:olive", aad="aad-olive")
    await rig.send(here)
    await rig.bf.wait_for(lambda: rig.bf.sent)
    assert "community manager" in runs(rig.bf.sent[-1])
    async with db.read() as r:
        ws = await r.workspaces.find(Platform.TEAMS, "tenant-1")
        assert ws is not None
        assert await r.settings.get(ws.id, "review_channel") is None


# -- review rules ----------------------------------------------------------------------------


async def test_non_cm_click_is_refused_and_nothing_changes(rig: TeamsRig, db: Database) -> None:
    await install(rig)
    await join(rig)
    form = await send_photo(rig, "Refuse", "img-r")
    await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "submission.create",
            {**executes(form)["submission.create"]["data"], "appears": "nobody"},
        )
    )
    card = await rig.review_card()
    click = rig.bf.invoke_adaptive_card_action(
        "review.approve",
        executes(card)["review.approve"]["data"],
        user_id="29:olive",
        aad="aad-olive",
        name="Olive Other",
        conversation_id=REVIEW,
    )
    answer = await rig.send(click)
    assert answer.status == 200
    assert answer.json()["type"] == "application/vnd.microsoft.activity.message"
    assert await _statuses(db) == ["pending"]


async def test_reason_is_collected_in_the_card(rig: TeamsRig, db: Database) -> None:
    await install(rig)
    await join(rig)
    form = await send_photo(rig, "Blurry", "img-b")
    await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "submission.create",
            {**executes(form)["submission.create"]["data"], "appears": "nobody"},
        )
    )
    card = await rig.review_card()
    reject = executes(card)["review.reject"]
    carla = {"user_id": "29:carla", "aad": "aad-carla", "name": "Carla CM"}
    empty = await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "review.reject", {**reject["data"], "reason": ""}, conversation_id=REVIEW, **carla
        )
    )
    assert empty.status == 200 and await _statuses(db) == ["pending"]
    done = await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "review.reject",
            {**reject["data"], "reason": "Too blurry **sorry**"},
            conversation_id=REVIEW,
            **carla,
        )
    )
    assert done.status == 200 and await _statuses(db) == ["rejected"]
    await rig.bf.wait_for(lambda: rig.bf.updated.get(card["_id"]))
    assert "Too blurry **sorry**" in runs(rig.bf.history(card["_id"])[-1])


# -- attachments -----------------------------------------------------------------------------


async def test_attachment_on_another_host_is_never_fetched_with_our_token(
    rig: TeamsRig, db: Database
) -> None:
    await join(rig)
    evil = {"contentType": "image/jpeg", "contentUrl": "https://evil.example.com/x.jpg"}
    await rig.send(rig.bf.personal_message("look", attachments=[evil]))
    alice = rig.bf.personal_conversation_id("29:alice")
    card = await rig.wait_card(alice, 2)
    assert "x.jpg" in runs(card) or "image" in runs(card)
    assert await count_rows(db, Job) == 0


async def test_a_non_image_file_is_explained(rig: TeamsRig) -> None:
    await join(rig)
    pdf = rig.bf.file_attachment("doc1", "plan.pdf")
    await rig.send(rig.bf.personal_message("", attachments=[pdf]))
    alice = rig.bf.personal_conversation_id("29:alice")
    card = await rig.wait_card(alice, 2)
    assert "plan.pdf" in runs(card) and "JPEG, PNG, WebP" in runs(card)


# -- the connector failing ---------------------------------------------------------------------


async def test_connector_429_and_503_are_retried_and_nothing_is_lost(
    rig: TeamsRig, clock: FakeClock
) -> None:
    await join(rig)
    rig.bf.fail("/activities", 429, times=1, retry_after=5)
    rig.bf.fail("/activities", 503, times=1)
    await rig.send(rig.bf.personal_message("me"))
    alice = rig.bf.personal_conversation_id("29:alice")
    for _ in range(30):
        if len(rig.cards_to(alice)) >= 2:
            break
        clock.advance(seconds=60)
        await rig.settle()
        await asyncio.sleep(0.1)
    assert "Profile" in runs(rig.cards_to(alice)[-1])


async def test_removed_app_becomes_a_dead_letter_naming_the_person(
    rig: TeamsRig, db: Database, clock: FakeClock
) -> None:
    await join(rig)
    rig.bf.fail("/activities", 403, times=10)
    await rig.send(rig.bf.personal_message("me"))

    async def dead() -> bool:
        async with db.read() as r:
            return bool(await r.outbox.dead_letters())

    await rig.bf.wait_for(dead)
    async with db.read() as r:
        letter = (await r.outbox.dead_letters())[0]
    assert "user Alice:" in (letter.last_error or "")  # names the person
    assert await count_rows(db, OutboxMessage) >= 2


# -- pacing, duplicates, races, emulator ------------------------------------------------------


async def test_rate_limiter_keeps_teams_limits() -> None:
    from adapters.teams.port import PER_CONVERSATION, RateLimiter

    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(PER_CONVERSATION, clock=lambda: now[0], sleep=sleep)
    stamps = []
    for _ in range(30):
        await limiter.wait("conversation:a")
        stamps.append(now[0])
    for i, at in enumerate(stamps):
        in_window = [s for s in stamps[i:] if s - at < 1.0]
        assert len(in_window) <= PER_CONVERSATION
    assert stamps[-1] < 30 / PER_CONVERSATION  # and no slower than the limit
    await limiter.wait("conversation:b")  # another conversation is not held back
    assert now[0] == stamps[-1]


async def test_the_same_photo_activity_twice_gives_one_form(rig: TeamsRig, db: Database) -> None:
    await join(rig)
    rig.bf.add_file("twice", jpeg_bytes((1, 100, 1)))
    message = rig.bf.personal_message("Twice", attachments=[rig.bf.image_attachment("twice")])
    await asyncio.gather(rig.send(message), rig.send(message))
    alice = rig.bf.personal_conversation_id("29:alice")
    await rig.wait_card(alice, 2)
    await asyncio.sleep(0.3)
    assert len(rig.cards_to(alice)) == 2  # the charter, then one form
    assert await count_rows(db, Job) == 1


async def test_a_double_click_decides_once(rig: TeamsRig, db: Database) -> None:
    await install(rig)
    await join(rig)
    form = await send_photo(rig, "Race", "img-race")
    await rig.send(
        rig.bf.invoke_adaptive_card_action(
            "submission.create",
            {**executes(form)["submission.create"]["data"], "appears": "nobody"},
        )
    )
    card = await rig.review_card()
    data = executes(card)["review.approve"]["data"]
    clicks = [
        rig.bf.invoke_adaptive_card_action(
            "review.approve", data, user_id=u, aad=a, name=n, conversation_id=REVIEW
        )
        for u, a, n in (
            ("29:carla", "aad-carla", "Carla CM"),
            ("29:carla", "aad-carla", "Carla CM"),
        )
    ]
    answers = await asyncio.gather(*(rig.send(c) for c in clicks))
    assert [a.status for a in answers] == [200, 200]
    texts = [a.json()["value"] for a in answers]
    assert sum("already" in t.lower() for t in texts) == 1
    assert await _statuses(db) == ["approved"]


async def test_emulator_mode_needs_no_token(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    async with FakeConnector(require_bot_token=False) as bf:
        local = teams_settings(
            settings, bf, microsoft_app_id="", microsoft_app_password="", relais_teams_emulator=True
        )
        core = Core(local, db, clock=clock)
        async with TeamsRig(core, bf, auth=False) as rig:
            response = await rig.send(bf.personal_message("help"), token=None)
            assert response.status in (200, 201)
            await rig.wait_card(bf.personal_conversation_id("29:alice"))


async def test_text_with_teams_html_copy_is_a_command_and_photos_list_it(rig: TeamsRig) -> None:
    await join(rig)
    alice = rig.bf.personal_conversation_id("29:alice")
    typed = rig.bf.personal_message("me", attachments=[rig.bf.html_attachment("<p>me</p>")])
    await rig.send(typed)
    profile = await rig.wait_card(alice, 2)
    assert "Profile" in runs(profile)
    form = await send_photo(rig, "With copy", "img-html")
    assert "formatted (HTML) copy" in runs(form)


async def test_emulator_mode_posts_review_cards_in_a_channel(
    settings: Settings, db: Database, clock: FakeClock
) -> None:
    # Without an app id botbuilder's TeamsInfo takes its legacy path, which CloudAdapter
    # refuses ("service_url is required"): the card must still be posted, once.
    async with FakeConnector(require_bot_token=False) as bf:
        bf.add_user("29:alice", "Alice Field", "aad-alice")
        bf.add_user("29:carla", "Carla CM", "aad-carla")
        bf.add_team(TEAM, "Ambassadors", {TEAM: None, REVIEW: "Review"})
        local = teams_settings(
            settings, bf, microsoft_app_id="", microsoft_app_password="", relais_teams_emulator=True
        )
        core = Core(local, db, clock=clock)
        async with TeamsRig(core, bf, auth=False) as rig:
            rig.send = functools.partial(rig.send, token=None)  # type: ignore[method-assign]
            await install(rig)
            await join(rig)
            # No token without an app id: the photo is a shared file (pre-authenticated URL).
            bf.add_file("img-emu", jpeg_bytes((20, 90, 200)), require_auth=False)
            alice = bf.personal_conversation_id("29:alice")
            before = len(rig.cards_to(alice))
            photo = bf.personal_message(
                "Emulated breakfast", attachments=[bf.file_attachment("img-emu")]
            )
            assert (await rig.send(photo)).status in (200, 201)
            form = await rig.wait_card(alice, before + 1)
            submit = executes(form)["submission.create"]
            invoke = bf.invoke_adaptive_card_action(
                "submission.create",
                {
                    **submit["data"],
                    "caption": "Emulated breakfast",
                    "appears": "outside",
                    "outside_agreement": "true",
                },
            )
            assert (await rig.send(invoke)).status == 200
            card = await rig.review_card()
            assert "Emulated breakfast" in runs(card)
            async with db.read() as r:
                statuses = list(await r.session.scalars(select(OutboxMessage.status)))
            assert "dead" not in statuses


# -- a reply the Bot Connector refuses -------------------------------------------------------


@pytest.mark.parametrize("status", [500, 429])
async def test_a_channel_reply_refused_by_the_connector_is_queued_not_a_500(
    rig: TeamsRig, db: Database, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """The activity was received and acted on; only our reply in the turn failed. Bot
    Framework redelivers an activity answered with a 5xx (its action would run again), so
    the turn ends normally (botbuilder's ``on_turn_error`` contract), the reply goes
    through the outbox, and the log has one line, no traceback."""
    import logging

    from tests.edge_support import tracebacks

    caplog.set_level(logging.INFO)
    added = rig.bf.conversation_update_bot_added_to_team(
        TEAM, {TEAM: None, REVIEW: "Review"}, user_id="29:carla", aad="aad-carla", name="Carla CM"
    )
    assert (await rig.send(added)).status in (200, 201)
    rig.bf.fail("/activities", status, times=1, method="POST", retry_after=0)
    here = rig.bf.channel_message(
        "review here", TEAM, REVIEW, user_id="29:carla", aad="aad-carla", name="Carla CM"
    )
    answer = await rig.send(here)
    assert answer.status in (200, 201), answer.text
    assert tracebacks(caplog.records) == []
    async with db.read() as r:
        ws = await r.workspaces.find(Platform.TEAMS, "tenant-1")
        assert ws is not None
        assert await r.settings.get(ws.id, "review_channel") == REVIEW
    # The reply still reaches the channel, once, through the outbox.
    await rig.settle()
    await rig.bf.wait_for(lambda: any(REVIEW in a["conversation"]["id"] for a in rig.bf.sent))
    await asyncio.sleep(0.5)
    replies = [a for a in rig.bf.sent if a["conversation"]["id"].startswith(REVIEW)]
    assert len(replies) == 1, replies
    assert "review" in runs(replies[0]).lower()
    assert await count_rows(db, OutboxMessage, OutboxMessage.status == "sent") == 1
    assert tracebacks(caplog.records) == []


# -- sites and roles from chat -----------------------------------------------------------------


def mentioning(rig: TeamsRig, text: str, who: dict[str, str], **kw: Any) -> dict[str, Any]:
    """A personal message from Carla whose text mentions ``who`` as Teams sends it."""
    message = rig.bf.personal_message(
        text, user_id="29:carla", aad="aad-carla", name="Carla CM", **kw
    )
    said = f"<at>{who['name']}</at>"
    message["entities"].append({"type": "mention", "mentioned": who, "text": said})
    return message


async def test_cm_names_a_referent_with_a_teams_mention_and_they_are_told(
    rig: TeamsRig, db: Database
) -> None:
    await install(rig)
    await join(rig)  # Alice, at Lyon
    carla = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla))
    alice = {"id": "29:alice", "name": "Alice", "aadObjectId": "aad-alice"}
    grant = mentioning(rig, "role grant <at>Alice</at> referent Lyon", alice)
    assert (await rig.send(grant)).status in (200, 201)
    assert "Alice is now Site referent of Lyon" in runs(await rig.wait_card(carla, before + 1))
    alice_dm = rig.bf.personal_conversation_id("29:alice")
    await rig.bf.wait_for(
        lambda: any("made you Site referent" in runs(c) for c in rig.cards_to(alice_dm))
    )
    assert await count_rows(db, SiteReferent) == 1
    # A mention without the object id (some clients): the name the mention carries.
    bare = {"id": "29:alice", "name": "Alice"}
    again = mentioning(rig, "role grant <at>Alice</at> referent lyon", bare)
    assert (await rig.send(again)).status in (200, 201)
    assert "was already" in runs(await rig.wait_card(carla, before + 2))
    # A person nobody knows: named, nothing written.
    ghost = {"id": "29:ghost", "name": "Ghost", "aadObjectId": "aad-ghost"}
    unknown = mentioning(rig, "role grant <at>Ghost</at> referent Lyon", ghost)
    assert (await rig.send(unknown)).status in (200, 201)
    assert "No member found for Ghost" in runs(await rig.wait_card(carla, before + 3))
    assert await count_rows(db, SiteReferent) == 1
    listed = rig.bf.personal_message("role list", user_id="29:carla", aad="aad-carla")
    assert (await rig.send(listed)).status in (200, 201)
    assert "Alice" in runs(await rig.wait_card(carla, before + 4))


async def test_sites_in_french_from_teams_and_a_filtered_site_list(rig: TeamsRig) -> None:
    await install(rig)  # Lyon
    carla = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla))
    add = rig.bf.personal_message(
        "site ajouter Usine de Nantes", user_id="29:carla", aad="aad-carla", locale="fr-FR"
    )
    assert (await rig.send(add)).status in (200, 201)
    assert "Site Usine de Nantes ajouté" in runs(await rig.wait_card(carla, before + 1))
    # An ambassador may not: told in French.
    luc = rig.bf.personal_conversation_id("29:luc")
    nope = rig.bf.personal_message(
        "site ajouter Paris", user_id="29:luc", aad="aad-luc", name="Luc", locale="fr-FR"
    )
    assert (await rig.send(nope)).status in (200, 201)
    assert "Vous n’avez pas le rôle nécessaire" in runs(await rig.wait_card(luc, 1))
    # The join card lists the sites in a ChoiceSet that filters as one types.
    await rig.send(rig.bf.personal_message("join", user_id="29:luc", aad="aad-luc", locale="fr-FR"))
    charter = await rig.wait_card(luc, 2)
    assert choice(charter, "site", "Usine de Nantes") is not None
    menus = [n for n in _walk(charter) if n.get("type") == "Input.ChoiceSet"]
    assert [m["style"] for m in menus] == ["filtered"]


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for item in node:
            found += _walk(item)
    return found


async def test_cm_publishes_a_new_charter_from_teams_cards(rig: TeamsRig) -> None:
    await install(rig)
    await join(rig)  # Alice
    carla = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla))
    typed = rig.bf.personal_message("charter publish", user_id="29:carla", aad="aad-carla")
    assert (await rig.send(typed)).status in (200, 201)
    form = await rig.wait_card(carla, before + 1)
    publish = executes(form)["charter.publish"]
    (field,) = [n for n in _walk(form) if n.get("id") == "text"]
    new_text = field["value"] + "\nNo photos of screens."

    async def send(data: dict[str, Any]) -> dict[str, Any]:
        invoke = rig.bf.invoke_adaptive_card_action(
            "charter.publish", data, user_id="29:carla", aad="aad-carla", name="Carla CM"
        )
        answer = await rig.send(invoke)
        assert answer.status == 200, answer.text
        return answer.json()

    preview = await send({**publish["data"], "text": new_text})
    assert "+ No photos of screens." in runs(preview)
    confirm = executes(preview["value"])["charter.publish"]
    done = await send({**confirm["data"], "text": new_text, "confirm": "true"})
    assert "Charter version 2 published" in json.dumps(done)
    alice = rig.bf.personal_conversation_id("29:alice")
    await rig.bf.wait_for(
        lambda: any("published version 2" in runs(c) for c in rig.cards_to(alice))
    )
    dm = next(c for c in rig.cards_to(alice) if "published version 2" in runs(c))
    assert "+ No photos of screens." in runs(dm) and "relais.command" in json.dumps(dm)


async def test_cm_starts_a_campaign_from_a_teams_card_with_date_inputs(rig: TeamsRig) -> None:
    await install(rig)
    carla = rig.bf.personal_conversation_id("29:carla")
    before = len(rig.cards_to(carla))
    typed = rig.bf.personal_message(
        "campagne nouvelle", user_id="29:carla", aad="aad-carla", locale="fr-FR"
    )
    assert (await rig.send(typed)).status in (200, 201)
    form = await rig.wait_card(carla, before + 1)
    dates = [n for n in _walk(form) if n.get("type") == "Input.Date"]
    assert [d["id"] for d in dates] == ["starts_on", "ends_on"]
    new = executes(form)["campaign.new"]
    invoke = rig.bf.invoke_adaptive_card_action(
        "campaign.new",
        {**new["data"], "title": "Été", "starts_on": dates[0]["value"], "ends_on": "2099-07-01"},
        user_id="29:carla",
        aad="aad-carla",
        locale="fr-FR",
    )
    answer = await rig.send(invoke)
    assert answer.status == 200, answer.text
    assert "Campagne Été créée" in json.dumps(answer.json(), ensure_ascii=False)
    listed = rig.bf.personal_message(
        "campagne liste", user_id="29:carla", aad="aad-carla", locale="fr-FR"
    )
    assert (await rig.send(listed)).status in (200, 201)
    assert "Été" in runs(await rig.wait_card(carla, before + 2))


async def test_one_connection_is_reused_for_many_sends(rig: TeamsRig) -> None:
    """Bot Framework makes a connector client (an HTTP session) per send; Relais keeps one
    per service URL, so sends one after the other share one TCP connection."""
    await install(rig)
    await join(rig)
    alice = rig.bf.personal_conversation_id("29:alice")
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.TEAMS, rig.bf.tenant)
        assert ws is not None
        row = await r.members.find(ws.id, "aad-alice")
        assert row is not None
        view = await r.members.view(row.id)
    before = len(rig.cards_to(alice))
    first = len(rig.bf.calls)
    for i in range(5):
        await rig.core.send_dm(view, notice_message(f"note {i}"))
        await rig.wait_card(alice, before + i + 1)
    sends = [c for c in rig.bf.calls[first:] if c.method == "POST" and "/activities" in c.path]
    assert len(sends) == 5
    assert len({c.peer for c in sends}) == 1, [c.peer for c in sends]


async def test_a_campaign_for_two_sites_from_a_teams_multi_select(rig: TeamsRig) -> None:
    await install(rig)  # Lyon
    carla = rig.bf.personal_conversation_id("29:carla")
    for name in ("Nantes", "Paris"):
        before = len(rig.cards_to(carla))
        add = rig.bf.personal_message(f"site add {name}", user_id="29:carla", aad="aad-carla")
        assert (await rig.send(add)).status in (200, 201)
        await rig.wait_card(carla, before + 1)
    before = len(rig.cards_to(carla))
    typed = rig.bf.personal_message("campaign new", user_id="29:carla", aad="aad-carla")
    assert (await rig.send(typed)).status in (200, 201)
    form = await rig.wait_card(carla, before + 1)
    (menu,) = [n for n in _walk(form) if n.get("id") == "sites"]
    assert menu["type"] == "Input.ChoiceSet" and menu["isMultiSelect"] is True
    assert menu["style"] == "compact" and "value" not in menu and "isRequired" not in menu
    assert "Every site when none is chosen" in runs(form)
    lyon, nantes = choice(form, "sites", "Lyon"), choice(form, "sites", "Nantes")
    assert lyon and nantes and choice(form, "sites", "Paris")
    new = executes(form)["campaign.new"]

    async def send(sites: str) -> str:
        invoke = rig.bf.invoke_adaptive_card_action(
            "campaign.new",
            {**new["data"], "title": "Docks", "ends_on": "2099-07-01", "sites": sites},
            user_id="29:carla",
            aad="aad-carla",
        )
        answer = await rig.send(invoke)
        assert answer.status == 200, answer.text
        return json.dumps(answer.json())

    # Teams sends the chosen values separated by commas; one unknown: refused whole.
    assert "This site is no longer in the list" in await send(f"{lyon},999")
    assert "for Lyon, Nantes" in await send(f"{lyon},{nantes}")
    async with rig.core.db.read() as r:
        ws = await r.workspaces.find(Platform.TEAMS, "tenant-1")
        assert ws is not None
        (made,) = await r.campaigns.all(ws.id)
        ids = (await r.campaigns.site_ids([made.id]))[made.id]
    assert ids == {int(lyon), int(nantes)}
