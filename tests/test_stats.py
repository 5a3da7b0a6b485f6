"""/relais stats and /relais export: figures checked against a dataset computed by hand.

The workspace is in Europe/Paris and "now" is Friday 2026-11-20 10:00 local, so the 12
weeks run from Monday 31 August (00:00 CEST = 30 Aug 22:00 UTC) and cross the end of
daylight saving time (Sunday 25 October). Every figure below is worked out in the comments.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image as PILImage
from typer.testing import CliRunner

from bot.actions import handle_command
from bot.chart import HEIGHT, WIDTH, render_weeks
from bot.core import Core
from bot.i18n import translator
from bot.outbox import Dispatcher
from bot.services.stats import figures_csv, safe_cell
from bot.settings import Settings
from bot.ui import File, Image
from domain import MemberView, Platform, Role, StatsView, WeekCount, quantile
from relais.cli import app
from tests.support import (
    FakeClock,
    RecordingPort,
    ambassador,
    member,
    photo,
    site_named,
    text_of,
)

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
runner = CliRunner()


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Programme:
    """The seeded programme: who is who, and submission ids by name."""

    def __init__(self) -> None:
        self.people: dict[str, MemberView] = {}
        self.ids: dict[str, int] = {}


async def seed(core: Core, clock: FakeClock) -> Programme:
    p = Programme()
    clock.now = utc(8, 1, 9)
    for user, site in (("ana", "Lyon"), ("bob", "Lyon"), ("cleo", "Paris"), ("dan", "Lyon")):
        p.people[user] = await ambassador(core, user, user.title(), site=site)
    p.people["cm"] = await member(core, "cm1", "Camille")
    p.people["boss"] = await member(core, "boss", "Boss")
    ws = p.people["ana"].workspace_id
    async with core.db.transaction() as r:
        autumn = await r.campaigns.create(
            ws, title="Autumn", brief="", starts_on=date(2026, 10, 1),
            ends_on=date(2026, 10, 31), created_by=None, now=clock.now,
        )  # fmt: skip
        await r.campaigns.create(
            ws, title="Spring", brief="", starts_on=date(2026, 4, 1),
            ends_on=date(2026, 6, 30), created_by=None, now=clock.now,
        )  # fmt: skip
        autumn_id = autumn.id
    # Eve joins this month (November, local): the site Nantes has her and nothing else.
    clock.now = utc(11, 10, 9)
    p.people["eve"] = await ambassador(core, "eve", "Eve", site="Nantes")

    colour = iter(range(1, 100))

    async def submit(name: str, who: str, at: datetime, campaign: int | None = None) -> int:
        clock.now = at

        pic = await photo(core, (next(colour) * 20 % 256, 80, 120))
        sub = await core.submissions.create(
            p.people[who], photos=[pic], caption=name, campaign_id=campaign
        )
        p.ids[name] = sub.id
        return sub.id

    async def approve(name: str, at: datetime, by: str = "cm") -> None:
        clock.now = at
        await core.review.approve(p.people[by], p.ids[name])

    cm = p.people["cm"]
    # S1: 23:59 local on Sunday 30 August, the week before the window; approved 4 h later,
    # inside it: no week counts it, the decisions do.
    await submit("S1", "ana", utc(8, 30, 21, 59))
    await approve("S1", utc(8, 31, 1, 59))
    # S2: Monday 31 August 00:00 local, first week; rejected after 10 h.
    await submit("S2", "bob", utc(8, 30, 22))
    clock.now = utc(8, 31, 8)
    await core.review.reject(cm, p.ids["S2"], "blurry")
    # S3: Monday 7 September 00:30 local (still Sunday in UTC): week 2; approved after 2 h.
    await submit("S3", "ana", utc(9, 6, 22, 30))
    await approve("S3", utc(9, 7, 0, 30))
    # S4: Sunday 25 October 23:30 local (CET, after the change): week of 19 October
    # (at the summer offset it would be Monday). Campaign Autumn; approved after 30 h.
    await submit("S4", "cleo", utc(10, 25, 22, 30), autumn_id)
    await approve("S4", utc(10, 27, 4, 30))
    # S5: Monday 26 October 00:00 local: week of 26 October. Campaign Autumn. Escalated
    # after 1 h, approved by the approver 24 h after the escalation (25 h in all).
    await submit("S5", "bob", utc(10, 25, 23), autumn_id)
    clock.now = utc(10, 26, 0)
    await core.review.escalate(cm, p.ids["S5"], "legal?")
    await approve("S5", utc(10, 27, 0), by="boss")
    # S6: 2 November, approved after 6 h.
    await submit("S6", "ana", utc(11, 2, 10))
    await approve("S6", utc(11, 2, 16))
    # This week (16 November): S7 pending, S8 escalated and waiting, S9 withdrawn.
    await submit("S7", "bob", utc(11, 16, 8))
    await submit("S8", "ana", utc(11, 18, 12))
    clock.now = utc(11, 18, 13)
    await core.review.escalate(cm, p.ids["S8"])
    await submit("S9", "dan", utc(11, 19, 9))
    clock.now = utc(11, 19, 10)
    await core.submissions.withdraw(p.people["dan"], p.ids["S9"])
    clock.now = NOW
    return p


MONDAYS = [date(2026, 8, 31) + timedelta(weeks=k) for k in range(12)]


async def test_workspace_figures_match_the_hand_computed_ones(core: Core, clock: FakeClock) -> None:
    p = await seed(core, clock)
    s = await core.stats.compute(p.people["cm"].workspace_id, StatsView.WORKSPACE)
    assert s.timezone == "Europe/Paris"
    assert [w.start for w in s.weeks] == MONDAYS
    # Weeks: S2 (rejected) in week 0, S3 in 1, S4 in 7 (Sunday after the DST change), S5 in
    # 8, S6 in 9, S7-S9 in 11; S1 is before the window.
    submitted = [1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 3]
    approved = [0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]
    assert [w.submitted for w in s.weeks] == submitted
    assert [w.approved for w in s.weeks] == approved
    # Decisions in the window: S1 4 h, S2 10 h, S3 2 h, S4 30 h, S5 25 h, S6 6 h.
    # Sorted 2 4 6 10 25 30: median (6 + 10) / 2 = 8; p90 at rank 4.5: 25 + 0.5 * 5 = 27.5.
    assert (s.approved, s.rejected) == (5, 1)
    assert s.approval_rate == pytest.approx(5 / 6)
    assert s.decision.count == 6
    assert s.decision.median_hours == pytest.approx(8.0)
    assert s.decision.p90_hours == pytest.approx(27.5)
    # Escalations: S5 (decided 24 h after) and S8 (waiting).
    assert (s.escalated, s.escalations_pending) == (2, 1)
    assert s.escalation_decision.count == 1
    assert s.escalation_decision.median_hours == pytest.approx(24.0)
    # Ambassadors: ana, bob, cleo, dan, eve; eve joined in November; active since
    # 21 October: cleo (S4), bob, ana, dan.
    assert (s.ambassadors, s.joined_this_month, s.active_30_days) == (5, 1, 4)
    # Sites, by name. November (local) began on 31 Oct 23:00 UTC: S6-S9, all from Lyon,
    # by ana, bob and dan. The window: Lyon S2 S3 S5 S6 S7 S8 S9, Paris S4.
    assert [
        (x.name, x.ambassadors, x.submitted_month, x.contributors_month, x.submitted_window)
        for x in s.sites
    ] == [("Lyon", 3, 4, 3, 7), ("Nantes", 1, 0, 0, 0), ("Paris", 1, 0, 0, 1)]
    assert s.silent_sites == ("Nantes", "Paris")
    # Campaigns running in the window: Autumn (S4, S5), not Spring (ended in June).
    assert [(c.title, c.submitted, c.approved, c.contributors) for c in s.campaigns] == [
        ("Autumn", 2, 2, 2)
    ]


async def test_an_ambassador_sees_their_own(core: Core, clock: FakeClock) -> None:
    p = await seed(core, clock)
    ana = p.people["ana"]
    s = await core.stats.compute(ana.workspace_id, StatsView.OWN, author_id=ana.id)
    # ana: S3 (week 1), S6 (week 9), S8 (week 11, escalated); S1 decided in the window.
    assert [w.submitted for w in s.weeks] == [0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]
    assert [w.approved for w in s.weeks] == [0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    # S1 4 h, S3 2 h, S6 6 h: median 4; p90 at rank 1.8: 4 + 0.8 * 2 = 5.6.
    assert (s.approved, s.rejected) == (3, 0)
    assert s.decision.median_hours == pytest.approx(4.0)
    assert s.decision.p90_hours == pytest.approx(5.6)
    assert (s.escalated, s.escalations_pending) == (1, 1)
    assert s.sites == () and s.ambassadors == 0
    assert s.campaigns == ()  # she sent nothing to a campaign


async def test_a_site_view_counts_only_that_site(core: Core, clock: FakeClock) -> None:
    """The view a referent will get (not offered in chat yet): Paris is cleo's S4."""
    p = await seed(core, clock)
    cleo = p.people["cleo"]
    assert cleo.site_id is not None
    s = await core.stats.compute(cleo.workspace_id, StatsView.SITE, site_id=cleo.site_id)
    assert sum(w.submitted for w in s.weeks) == 1
    assert s.weeks[7].submitted == 1
    assert (s.approved, s.rejected, s.ambassadors) == (1, 0, 1)
    assert s.decision.median_hours == pytest.approx(30.0)


async def test_a_referent_sees_their_sites_numbers(core: Core, clock: FakeClock) -> None:
    p = await seed(core, clock)
    await core.roles.grant(p.people["cm"], "cleo", Role.REFERENT, "Paris")
    await core.roles.grant(p.people["cm"], "cleo", Role.REFERENT, "Lyon")
    cleo = await member(core, "cleo", "Cleo")
    assert len(cleo.referent_sites) == 2
    first = await handle_command(core, cleo, "/relais", "stats")
    assert first.message is not None
    text = text_of(first.message)
    assert "Numbers of Lyon" in text  # the first by name, when none is named
    paris = await handle_command(core, cleo, "/relais", "stats  paris ")
    assert paris.message is not None
    text = text_of(paris.message)
    assert "Numbers of Paris" in text and "Your numbers" not in text
    assert "median 30.0 h, 90th percentile 30.0 h (1 decision)" in text  # S4, Paris only
    # Not a referent of Nantes: her first site instead, never another site's numbers.
    nantes = await handle_command(core, cleo, "/relais", "stats Nantes")
    assert nantes.message is not None and "Numbers of Lyon" in text_of(nantes.message)


def test_quantiles_interpolate_between_ranks() -> None:
    assert quantile([], 0.5) is None
    assert quantile([3.0], 0.9) == 3.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    # 1..10: p90 at rank 8.1 -> 9.1 (PostgreSQL's percentile_cont(0.9) gives the same).
    assert quantile([float(x) for x in range(10, 0, -1)], 0.9) == pytest.approx(9.1)


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_the_chart_is_a_png_of_the_expected_size(locale: str) -> None:
    weeks = [WeekCount(m, 3 * i, 2 * i) for i, m in enumerate(MONDAYS)]
    png = render_weeks(weeks, translator(locale))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with PILImage.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == (WIDTH, HEIGHT)


def test_the_chart_is_labelled_in_the_readers_language() -> None:
    weeks = [WeekCount(m, 1, 1) for m in MONDAYS]
    assert render_weeks(weeks, translator("en")) != render_weeks(weeks, translator("fr"))


async def test_stats_command_replies_with_figures_and_dms_the_chart(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    p = await seed(core, clock)
    reply = await handle_command(core, p.people["cm"], "/relais", "stats")
    assert not reply.failed and reply.message is not None
    text = text_of(reply.message)
    assert "Programme numbers" in text
    assert "83%" in text  # 5 of 6
    assert "median 8.0 h, 90th percentile 27.5 h (6 decisions)" in text
    assert "Silent in November 2026: Nantes, Paris" in text
    assert "Week of 19 Oct: 1 / 1" in text
    await dispatcher.drain()
    (chart,) = port.dms_to("cm1")
    (image,) = [b for b in chart.blocks if isinstance(b, Image)]
    with PILImage.open(core.store.path(image.media_key)) as png:
        assert png.size == (WIDTH, HEIGHT)
    # In French, for a French-speaking ambassador: her own numbers.
    fr = await ambassador(core, "zoe", "Zoé", locale="fr")
    reply = await handle_command(core, fr, "/relais", "chiffres")
    assert reply.message is not None and "Vos chiffres" in text_of(reply.message)
    assert "Ambassadeurs" not in text_of(reply.message)


async def test_export_sends_two_csv_files(
    core: Core, clock: FakeClock, dispatcher: Dispatcher, port: RecordingPort
) -> None:
    p = await seed(core, clock)
    reply = await handle_command(core, p.people["cm"], "/relais", "export")
    assert reply.message is not None and "two CSV files" in text_of(reply.message)
    await dispatcher.drain()
    files = [b for m in port.dms_to("cm1") for b in m.blocks if isinstance(b, File)]
    assert [f.filename for f in files] == [
        "relais-stats-2026-11-20.csv",
        "relais-submissions-2026-11-20.csv",
    ]
    figures = list(csv.reader(io.StringIO(core.store.path(files[0].media_key).read_text())))
    assert ["decisions", "median_hours", "8.00"] in figures
    assert ["decisions", "p90_hours", "27.50"] in figures
    assert ["submitted_per_week", "2026-10-19", "1"] in figures
    rows = list(csv.DictReader(io.StringIO(core.store.path(files[1].media_key).read_text())))
    assert [r["id"] for r in rows] == [str(p.ids[f"S{i}"]) for i in range(1, 10)]
    s4 = rows[3]
    assert s4["submitted_at"] == "2026-10-25T23:30:00+01:00"
    assert (s4["site"], s4["campaign"], s4["status"]) == ("Paris", "Autumn", "approved")
    assert (s4["decision_hours"], s4["decided_by"]) == ("30.00", "Camille")
    assert rows[4]["decided_by"] == "Boss"
    assert rows[6]["status"] == "pending" and rows[6]["decision_hours"] == ""
    # Only CMs export.
    refused = await handle_command(core, p.people["ana"], "/relais", "export")
    assert refused.failed


def test_csv_cells_never_start_a_formula() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@SUM") == "'@SUM"
    assert safe_cell("Lyon") == "Lyon"


async def test_figures_csv_is_stable_in_every_language(core: Core, clock: FakeClock) -> None:
    p = await seed(core, clock)
    s = await core.stats.compute(p.people["cm"].workspace_id, StatsView.WORKSPACE)
    text = figures_csv(s)
    assert text.splitlines()[0] == "section,item,value"
    assert "ambassadors,total,5" in text
    assert "site:Paris,submitted_this_month,0" in text


async def test_cli_prints_the_figures_the_csv_and_writes_the_chart(
    core: Core, clock: FakeClock, settings: Settings, tmp_path: Path
) -> None:
    await seed(core, clock)
    env = {"DATABASE_URL": settings.database_url, "MEDIA_DIR": str(settings.media_dir)}
    png = tmp_path / "chart.png"
    shown = await asyncio.to_thread(runner.invoke, app, ["stats", "--chart", str(png)], env=env)
    assert shown.exit_code == 0, shown.output
    assert "PROGRAMME NUMBERS" in shown.stdout and "Lyon" in shown.stdout
    with PILImage.open(png) as picture:
        assert picture.size == (WIDTH, HEIGHT)
    figures = await asyncio.to_thread(runner.invoke, app, ["stats", "--csv"], env=env)
    assert figures.exit_code == 0
    assert figures.stdout.startswith("section,item,value\n")
    assert "ambassadors,total,5\n" in figures.stdout
    listing = await asyncio.to_thread(
        runner.invoke, app, ["stats", "--csv", "--submissions"], env=env
    )
    rows = list(csv.DictReader(io.StringIO(listing.stdout)))
    assert len(rows) == 9 and rows[1]["status"] == "rejected"


async def test_another_workspace_never_counts(core: Core, clock: FakeClock) -> None:
    p = await seed(core, clock)
    before = await core.stats.compute(p.people["cm"].workspace_id, StatsView.WORKSPACE)
    stranger = await core.onboarding.identify(
        Platform.CONSOLE, "T-other", "olaf", display_name="Olaf", locale="en"
    )
    charter = await core.onboarding.charter(stranger)
    lyon = await site_named(core, stranger.workspace_id, "Lyon")
    stranger = await core.onboarding.join(stranger, charter_version=charter.version, site_id=lyon)
    clock.now = utc(11, 18, 9)
    await core.submissions.create(stranger, photos=[await photo(core, (1, 2, 3))], caption="x")
    clock.now = NOW
    after = await core.stats.compute(p.people["cm"].workspace_id, StatsView.WORKSPACE)
    assert after == before
