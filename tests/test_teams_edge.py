"""Malformed Teams activities get a 400 with the reason, never a 500 or a traceback; text is
cleaned before it can reach the database; photo links that name no photo are a 404."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.teams.media_links import MediaLinks
from bot.core import Core
from bot.links import link_secret
from bot.settings import Settings
from storage.db import Database
from storage.models import Member, Workspace
from tests.edge_support import tracebacks
from tests.support import FakeClock, count_rows
from tests.teams_connector import FakeConnector
from tests.test_teams import TeamsRig, teams_settings


@pytest.fixture
async def bf() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as connector:
        connector.add_user("29:alice", "Alice Field", "aad-alice")
        yield connector


@pytest.fixture
async def rig(
    settings: Settings, db: Database, clock: FakeClock, bf: FakeConnector
) -> AsyncIterator[TeamsRig]:
    core = Core(teams_settings(settings, bf), db, clock=clock)
    async with TeamsRig(core, bf) as running:
        yield running


Change = Callable[[dict[str, Any]], None]


def setting(path: str, value: Any) -> Change:
    """Set ``a.b.c`` in an activity (creating objects on the way)."""

    def change(activity: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = activity
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


def dropping(path: str) -> Change:
    def change(activity: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = activity
        for key in parents:
            node = node[key]
        node.pop(last, None)

    return change


MENTION = {"type": "mention", "mentioned": "Relais", "text": "<at>Relais</at>"}

MALFORMED: dict[str, Change] = {
    "attachments of strings": setting("attachments", ["x"]),
    "attachment contentType a number": setting("attachments", [{"contentType": 5}]),
    "attachment content a string": setting(
        "attachments", [{"contentType": "image/png", "contentUrl": 5}]
    ),
    "entities a string": setting("entities", "x"),
    "entity a string": setting("entities", ["x"]),
    "entity without a type": setting("entities", [{"locale": "en-US"}]),
    "mentioned not an object": setting("entities", [MENTION]),
    "mentioned without id": setting("entities", [{**MENTION, "mentioned": {"name": "R"}}]),
    "timestamp unparseable": setting("timestamp", "yesterday-ish"),
    "localTimestamp unparseable": setting("localTimestamp", "2026-13-45T99:00:00"),
    "timestamp a number": setting("timestamp", 1700000000),
    "membersAdded a string": setting("membersAdded", "x"),
    "membersAdded of numbers": setting("membersAdded", [5]),
    "membersAdded without ids": setting("membersAdded", [{"name": "x"}]),
    "membersRemoved a string": setting("membersRemoved", "x"),
    "from a string": setting("from", "29:alice"),
    "from.id a number": setting("from.id", 5),
    "from.id with NUL": setting("from.id", "29:al\x00ice"),
    "from.id of 300 characters": setting("from.id", "29:" + "a" * 300),
    "from.id empty": setting("from.id", ""),
    "aadObjectId with NUL": setting("from.aadObjectId", "aad-\x00"),
    "aadObjectId of 300 characters": setting("from.aadObjectId", "a" * 300),
    "conversation.id with NUL": setting("conversation.id", "a:\x00"),
    "conversation.id of 3000 characters": setting("conversation.id", "a:" + "x" * 3000),
    "tenant id with NUL": setting("channelData.tenant.id", "tenant\x00"),
    "tenant id of 300 characters": setting("channelData.tenant.id", "t" * 300),
    "channelData a string": setting("channelData", "x"),
    "channel id with NUL": setting("channelData.channel", {"id": "19:\x00"}),
    "recipient a string": setting("recipient", "28:bot"),
    "activity id of 300 characters": setting("id", "1" * 300),
    "activity id with NUL": setting("id", "1\x00"),
    "locale a number": setting("locale", 5),
    "from.name a number": setting("from.name", 5),
    "no from": dropping("from"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_malformed_activities_get_a_400_with_the_reason_and_no_traceback(
    rig: TeamsRig, db: Database, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.INFO)
    activity = rig.bf.personal_message("help")
    MALFORMED[name](activity)
    response = await rig.send(activity)
    assert response.status == 400, (response.status, response.text)
    assert response.json()["error"]
    await asyncio.sleep(0.05)
    assert tracebacks(caplog.records) == []
    assert await count_rows(db, Workspace) == 0
    assert await count_rows(db, Member) == 0


async def test_a_sound_activity_with_a_mention_and_members_added_is_processed(
    rig: TeamsRig, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    activity = rig.bf.personal_message("help")
    activity["entities"] = [
        *activity["entities"],
        {"type": "mention", "mentioned": {"id": rig.bf.bot["id"], "name": "Relais"}},
    ]
    activity["timestamp"] = "2026-11-20T09:00:00.1234567Z"
    response = await rig.send(activity)
    assert response.status in (200, 201), response.text
    await rig.bf.wait_for(lambda: rig.bf.sent)
    assert tracebacks(caplog.records) == []


async def test_invoke_with_a_value_that_is_not_an_object_is_refused(rig: TeamsRig) -> None:
    invoke = rig.bf.invoke_adaptive_card_action("charter.accept")
    invoke["value"] = {"action": "x"}
    response = await rig.send(invoke)
    assert response.status == 400, response.text
    invoke["value"] = {"action": {"type": "Action.Execute", "verb": 5, "data": {}}}
    assert (await rig.send(invoke)).status == 400


# -- text that PostgreSQL cannot store -----------------------------------------------------


async def test_nul_and_lone_surrogates_are_cleaned_before_the_database(
    rig: TeamsRig, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    activity = rig.bf.personal_message("he\x00lp\ud800", name="Ali\x00ce \udc00Field")
    response = await rig.send(copy.deepcopy(activity))
    assert response.status in (200, 201), response.text
    await rig.bf.wait_for(lambda: rig.bf.sent)
    async with db.read() as r:
        names = list(await r.session.scalars(select(Member.display_name)))
    # Besides the people named in the settings (rows created at start, named by their id).
    assert [n for n in names if not n.startswith("aad-")] == ["Alice Field"]
    assert "help" in str(rig.bf.sent[0]).lower()
    assert tracebacks(caplog.records) == []


# -- photo links -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "../../../etc/passwd",
        "ab/cd/../../../secret.jpg",
        "ab/cd/\x00.jpg",
        "\x00",
        "",
        "ab/cd/" + "a" * 5000 + ".jpg",
    ],
)
async def test_a_signed_photo_link_to_no_photo_is_a_404(
    rig: TeamsRig, settings: Settings, caplog: pytest.LogCaptureFixture, key: str
) -> None:
    links = MediaLinks(link_secret(rig.core.settings), "")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{rig.url}/media/{links.token(key)}") as response,
    ):
        assert response.status == 404, await response.text()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{rig.url}/media/%00..%2F..%2F") as response,
    ):
        assert response.status == 404
    assert tracebacks(caplog.records) == []
