"""Campaigns from chat (CM): the form, list, show, close with a result in the digest
channel; dates in the workspace's timezone (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.actions import handle_action, handle_command
from bot.core import Core
from bot.i18n import translator
from bot.outbox import Dispatcher
from bot.ui import DateInput, Select
from domain import MemberView, Status
from storage.models import AuditEvent, Campaign
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    count_rows,
    member,
    photo,
    text_of,
)

en, fr = translator("en"), translator("fr")
# Monday 30 November 2026, 10:00 in Paris.
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def new_campaign(core: Core, cm: MemberView, **values: Any) -> Any:
    form = (await handle_command(core, cm, "/relais", "campaign new")).form
    assert form is not None and form.action == "campaign.new"
    filled = {"title": "Summer", "brief": "Teams outside", "ends_on": "2026-12-04", **values}
    return await handle_action(core, cm, form.action, form.value, filled)


async def test_cm_creates_lists_shows_and_closes_a_campaign(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    clock.now = MONDAY
    cm = await member(core, "cm1", "Carla")
    await handle_command(core, cm, "/relais", "config digest_channel C-digest")
    ana = await ambassador(core, "amb", "Ana")
    bo = await ambassador(core, "bo", "Bo", site="Nantes")
    form = (await handle_command(core, cm, "/relais", "campaign new")).form
    assert form is not None
    dates = [i for i in form.inputs if isinstance(i, DateInput)]
    assert [(d.name, d.initial) for d in dates] == [("starts_on", "2026-11-30"), ("ends_on", "")]
    site = next(i for i in form.inputs if isinstance(i, Select))
    assert [o.label for o in site.options] == ["Lyon", "Nantes"]
    assert (
        site.multiple and site.initial == "" and site.placeholder == en("campaign.field.sites_hint")
    )
    made = await new_campaign(core, cm, hashtag="#summer26")
    assert not made.failed, made
    assert "Campaign Summer created, Nov 30, 2026 to Dec 4, 2026, for every site" in text_of(
        made.message
    )
    listed = text_of((await handle_command(core, cm, "/relais", "campaign list")).message)  # type: ignore[arg-type]
    assert "Summer" in listed and "#summer26" in listed and "every site" in listed
    # The submission form offers it; the review card and the approval carry it.
    choices = await core.submissions.form_choices(ana)
    assert [title for _, title in choices[1]] == ["Summer"]
    ((campaign_id, _),) = choices[1]
    for who, colour in ((ana, 1), (ana, 2), (bo, 3)):
        sub = await core.submissions.create(
            who,
            photos=[await photo(core, (colour * 60, 9, 9))],
            caption="x",
            campaign_id=campaign_id,
        )
        assert sub.campaign_title == "Summer"
        await core.review.approve(cm, sub.id)
    shown = text_of((await handle_command(core, cm, "/relais", "campaign show summer")).message)  # type: ignore[arg-type]
    assert "3 photos approved, from 2 sites" in shown
    assert "Ana" in shown and "2 approved" in shown and "Bo" in shown
    closed = await handle_command(core, cm, "/relais", "campaign close SUMMER")
    assert not closed.failed and "posted in C-digest" in text_of(closed.message)  # type: ignore[arg-type]
    await dispatcher.drain()
    (result,) = [m for m in port.in_channel("C-digest") if "is over" in m.text]
    assert result.text == (
        "Campaign Summer is over: 3 photos approved, from 2 sites. Thanks to Ana, Bo!"
    )
    # Closed: no longer offered, refused if a form still names it, closed once.
    assert (await core.submissions.form_choices(ana))[1] == []
    late = await handle_action(
        core,
        ana,
        "submission.create",
        "",
        {"caption": "late", "campaign": str(campaign_id), "appears": "nobody"},
        [await photo(core, (7, 7, 7))],
    )
    assert late.failed and "Campaign Summer is over" in late.errors["campaign"]
    again = await handle_command(core, cm, "/relais", "campaign close summer")
    assert again.failed and "already closed" in text_of(again.message)  # type: ignore[arg-type]
    actions = [e.action for e in await _audit(core, cm)]
    assert actions.count("campaign.new") == 1 and actions.count("campaign.close") == 1


async def _audit(core: Core, cm: MemberView) -> list[AuditEvent]:
    async with core.db.read() as r:
        return await r.audit.recent(cm.workspace_id)


async def test_bad_campaign_input_names_the_field_and_writes_nothing(
    core: Core, clock: FakeClock
) -> None:
    clock.now = MONDAY
    cm = await member(core, "cm1", "Carla", locale="fr")
    ana = await ambassador(core, "amb", "Ana")
    assert not (await new_campaign(core, cm)).failed
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"title": " "}, "title", fr("campaign.title_missing")),
        ({"title": "SUMMER"}, "title", "Une campagne nommée SUMMER est déjà ouverte"),
        ({"title": "B", "starts_on": "2026-11-29"}, "starts_on", fr("campaign.start_past")),
        ({"title": "B", "ends_on": "2026-11-29"}, "ends_on", fr("campaign.end_before_start")),
        ({"title": "B", "ends_on": ""}, "ends_on", fr("campaign.end_missing")),
        ({"title": "B", "ends_on": "someday"}, "ends_on", "someday n’est pas une date"),
        ({"title": "B", "sites": "999"}, "sites", fr("error.unknown_site")),
        # One site known, the other not: refused whole.
        ({"title": "B", "sites": f"{ana.site_id},999"}, "sites", fr("error.unknown_site")),
        ({"title": "B", "sites": "Lyon"}, "sites", fr("error.unknown_site")),
        ({"title": "B", "sites": "9" * 30}, "sites", fr("error.unknown_site")),
        ({"title": "B", "sites": "-1"}, "sites", fr("error.unknown_site")),
        ({"title": "B", "hashtag": "two words"}, "hashtag", "un seul mot"),
    ]
    for values, field, expected in cases:
        reply = await new_campaign(core, cm, **values)
        assert reply.failed and expected in reply.errors.get(field, ""), (values, reply)
    assert await count_rows(core.db, Campaign) == 1
    for line, expected in (
        ("campaign show Winter", "Aucune campagne nommée Winter"),
        ("campaign close Winter", "Aucune campagne nommée Winter"),
    ):
        reply = await handle_command(core, cm, "/relais", line)
        assert reply.failed and expected in text_of(reply.message)  # type: ignore[arg-type]
    # Not a CM: refused before any form, and a crafted form too.
    for line in ("campaign new", "campaign list", "campaign close summer"):
        reply = await handle_command(core, ana, "/relais", line)
        assert reply.failed and reply.form is None
        assert en("error.not_allowed") in text_of(reply.message)  # type: ignore[arg-type]
    crafted = await handle_action(
        core, ana, "campaign.new", "", {"title": "Mine", "ends_on": "2026-12-24"}
    )
    assert crafted.failed and await count_rows(core.db, Campaign) == 1


async def test_a_campaign_ending_today_takes_submissions_until_midnight_in_its_timezone(
    core: Core, clock: FakeClock
) -> None:
    # 23:30 in Paris on Friday 4 December is already Saturday in Tokyo, and 22:30 UTC.
    clock.now = MONDAY
    cm = await member(core, "cm1", "Carla")
    ana = await ambassador(core, "amb", "Ana")
    assert not (await new_campaign(core, cm, ends_on="2026-12-04")).failed
    ((campaign_id, _),) = (await core.submissions.form_choices(ana))[1]
    clock.now = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)
    assert (await core.submissions.form_choices(ana))[1] != []
    sub = await core.submissions.create(
        ana, photos=[await photo(core)], caption="just in time", campaign_id=campaign_id
    )
    assert sub.status is Status.PENDING and sub.campaign_title == "Summer"
    clock.now += timedelta(hours=1)  # 00:30 on Saturday in Paris
    assert (await core.submissions.form_choices(ana))[1] == []
    await handle_command(core, cm, "/relais", "config timezone America/New_York")
    assert (await core.submissions.form_choices(ana))[1] != [], "18:30 Friday in New York"
    assert date(2026, 12, 4) == (await core.campaigns.lines(cm.workspace_id))[0].ends_on
