"""The submission form's choices, cached per workspace (bot/services/forms.py): a change
of sites, campaigns or the charter shows in the next form, made in this process or by
another Core (a replica) on the same database; over Slack as Slack calls us."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import Core
from bot.services.forms import VERSION_FRESH
from bot.settings import Settings
from domain import Platform
from storage.db import Database
from tests.slack_api import FakeSlack
from tests.slack_support import TEAM, SlackRig, slack_settings, texts
from tests.support import FakeClock
from tests.test_slack import fake, join, rig

__all__ = ["fake", "rig"]


@pytest.fixture
async def other(
    settings: Settings, db_url: str, clock: FakeClock, fake: FakeSlack
) -> AsyncIterator[Core]:
    """Another replica: a Core of its own, with its own pool, on the same database."""
    database = Database(db_url)
    yield Core(slack_settings(settings, fake), database, clock=clock)
    await database.dispose()


async def submit_form(rig: SlackRig, user: str = "UAMB") -> dict[str, Any]:
    """What /submit opens for ``user``."""
    opened = len(rig.fake.calls_to("views.open"))
    assert (await rig.command(user, "/submit", "")).status == 200
    return await rig.opened_view(opened + 1)


def offered(view: dict[str, Any], field: str) -> list[str]:
    """The option labels of the select ``field`` of a view ([] when it has none)."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == field:
            element = block.get("element") or {}
            return [o["text"]["text"] for o in element.get("options") or []]
    return []


async def later() -> None:
    """Past the age of a version read a form may use (a change on another replica)."""
    await asyncio.sleep(VERSION_FRESH * 1.5)


async def cm_of(core: Core) -> Any:
    found = await core.onboarding.find(Platform.SLACK, TEAM, "UCM1")
    assert found is not None
    return found


async def test_a_site_added_is_in_the_next_form_on_this_and_on_another_core(
    rig: SlackRig, other: Core
) -> None:
    await join(rig, "UAMB")
    assert offered(await submit_form(rig), "site") == ["Lyon"]
    # The other replica has its own cache, filled by a form of its own.
    ana = await other.onboarding.find(Platform.SLACK, TEAM, "UAMB")
    assert ana is not None
    assert [name for _, name in (await other.forms.choices(ana))[0]] == ["Lyon"]

    # Added here, from chat: offered at once here, and by the other replica.
    assert (await rig.command("UCM1", "/relais", "site add Nantes")).status == 200
    assert offered(await submit_form(rig), "site") == ["Lyon", "Nantes"]
    await later()
    assert [name for _, name in (await other.forms.choices(ana))[0]] == ["Lyon", "Nantes"]

    # Added, renamed and merged on the other replica: the next form here has it.
    cm = await cm_of(other)
    await other.sites.add(cm, "Brest")
    await later()
    assert offered(await submit_form(rig), "site") == ["Brest", "Lyon", "Nantes"]
    await other.sites.rename(cm, "Nantes", "Nantes Port")
    await later()
    assert offered(await submit_form(rig), "site") == ["Brest", "Lyon", "Nantes Port"]
    await other.sites.merge(cm, "Brest", "Lyon")
    await later()
    assert offered(await submit_form(rig), "site") == ["Lyon", "Nantes Port"]


async def test_a_campaign_opened_or_closed_elsewhere_shows_in_the_next_form(
    rig: SlackRig, other: Core
) -> None:
    await join(rig, "UAMB")
    assert offered(await submit_form(rig), "campaign") == []
    cm = await cm_of(other)
    today = (await other.campaigns.today(cm.workspace_id)).isoformat()
    await other.campaigns.create(
        cm, title="Harbour week", brief="Boats", starts=today, ends=today, site_ids=[], hashtag=""
    )
    await later()
    assert "Harbour week" in offered(await submit_form(rig), "campaign")
    await other.campaigns.close(cm, "Harbour week")
    await later()
    assert "Harbour week" not in offered(await submit_form(rig), "campaign")


async def test_a_charter_published_elsewhere_is_asked_for_before_the_next_form(
    rig: SlackRig, other: Core
) -> None:
    await join(rig, "UAMB")
    assert (await submit_form(rig))["callback_id"] == "submission.create"
    await other.onboarding.publish_charter(await cm_of(other), "Version two: be kind.")
    await later()
    form = await submit_form(rig)
    assert form["callback_id"] != "submission.create"
    assert "Version two" in texts(form["blocks"])
