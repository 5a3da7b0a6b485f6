"""The CM's numbers: ``/relais stats`` (figures and a 12-week chart) and the CSV export.

Every figure covers a window of ``WEEKS`` local weeks (Monday 00:00 in the workspace
timezone, so a week across a daylight-saving change is 167 or 169 hours long), ending with
the current week; "this month" is the calendar month in the same timezone. The reads are
bounded by that window (``storage/repositories/stats.py``), so the cost follows the
window's content, not the history.

- submissions per week: created in that week (any status); approved: of those, approved;
- approval rate: approved / (approved + rejected) among decisions taken in the window;
- decision time: from submission (its first sending) to the decision, for decisions taken
  in the window: median and 90th percentile (linear interpolation between closest ranks,
  as PostgreSQL's ``percentile_cont``), in hours of wall-clock time;
- escalations: submissions escalated in the window, how many still wait for an approver,
  and the time from escalation to decision;
- ambassadors: current ones, active (a submission in the last 30 days), joined this month;
- sites: ambassadors, submissions this month and in the window; silent: none this month;
- campaigns: those running at some point of the window, with what they brought in.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import cards
from bot.chart import render_weeks
from bot.i18n import Translator, translator
from domain import (
    Appears,
    CampaignFigures,
    Durations,
    MemberView,
    SiteFigures,
    Stats,
    StatsView,
    Status,
    WeekCount,
    external_use_allowed,
    quantile,
)
from storage.repositories.stats import ExportRow, Scope

if TYPE_CHECKING:
    from bot.core import Core

WEEKS = 12
ACTIVE_DAYS = 30
FINAL = (Status.APPROVED, Status.REJECTED)


def durations(hours: Sequence[float]) -> Durations:
    """Median and 90th percentile of ``hours``."""
    return Durations(len(hours), quantile(hours, 0.5), quantile(hours, 0.9))


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def week_starts(now: datetime, tz: str, weeks: int = WEEKS) -> list[date]:
    """The Mondays (local dates) of the ``weeks`` weeks ending with the one holding ``now``."""
    today = now.astimezone(ZoneInfo(tz)).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def local_midnight(day: date, tz: str) -> datetime:
    """00:00 of ``day`` in ``tz``, as UTC."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


class StatsService:
    """Computes the figures, draws the chart, writes the CSV files."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def compute(
        self,
        workspace_id: int,
        view: StatsView,
        *,
        author_id: int | None = None,
        site_id: int | None = None,
    ) -> Stats:
        """The figures of one view: the workspace, one site (``site_id``) or one person's
        own (``author_id``). Who may ask for which view is the action table's business."""
        ws = workspace_id
        config = await self.core.config.recent(ws)
        tz, now = config.timezone, self.core.clock()
        if view is StatsView.OWN:
            if author_id is None:
                raise ValueError("the own view needs author_id")
            scope = Scope(ws, author_id=author_id)
        elif view is StatsView.SITE:
            if site_id is None:
                raise ValueError("the site view needs site_id")
            scope = Scope(ws, site_id=site_id)
        else:
            scope = Scope(ws)
        mondays = week_starts(now, tz)
        bounds = [local_midnight(m, tz) for m in (*mondays, mondays[-1] + timedelta(weeks=1))]
        start = bounds[0]
        month = now.astimezone(ZoneInfo(tz)).date().replace(day=1)
        month_start = local_midnight(month, tz)
        async with self.core.db.read() as r:
            weekly = await r.stats.weekly(scope, bounds)
            active = await r.stats.active_authors(scope, now - timedelta(days=ACTIVE_DAYS))
            decisions = await r.stats.decisions(scope, start)
            escalations = await r.stats.escalated_since(scope, start)
            ambassadors, joined = (
                await r.stats.ambassador_counts(ws, scope.site_id, month_start)
                if view is not StatsView.OWN
                else (0, 0)
            )
            sites = await r.stats.sites(ws) if view is StatsView.WORKSPACE else []
            per_site = (
                {c.site_id: c for c in await r.stats.per_site(scope, start, month_start)}
                if sites
                else {}
            )
            campaigns = await r.stats.campaigns_since(ws, mondays[0], scope.site_id)
            counts = {
                c.campaign_id: c
                for c in await r.stats.campaign_counts(scope, [c.id for c in campaigns])
            }
        site_figures = tuple(
            SiteFigures(
                name=site.name,
                ambassadors=site.ambassadors,
                submitted_month=per_site[site.id].month if site.id in per_site else 0,
                contributors_month=(
                    per_site[site.id].contributors_month if site.id in per_site else 0
                ),
                submitted_window=per_site[site.id].window if site.id in per_site else 0,
            )
            for site in sites
        )
        campaign_figures = tuple(
            CampaignFigures(
                c.title,
                c.starts_on,
                c.ends_on,
                counts[c.id].submissions if c.id in counts else 0,
                counts[c.id].approved if c.id in counts else 0,
                counts[c.id].contributors if c.id in counts else 0,
            )
            for c in campaigns
            if view is not StatsView.OWN or c.id in counts
        )
        escalation_hours = [
            _hours(e.escalated_at, e.decided_at)
            for e in escalations
            if e.decided_at is not None and e.status in FINAL
        ]
        return Stats(
            view=view,
            timezone=tz,
            at=now,
            month=month,
            ambassadors=ambassadors,
            active_30_days=active,
            joined_this_month=joined,
            weeks=tuple(WeekCount(m, n, ok) for m, (n, ok) in zip(mondays, weekly, strict=True)),
            approved=decisions.approved,
            rejected=decisions.rejected,
            decision=Durations(decisions.count, decisions.median_hours, decisions.p90_hours),
            escalated=len(escalations),
            escalations_pending=sum(1 for e in escalations if e.status == Status.ESCALATED),
            escalation_decision=durations(escalation_hours),
            sites=site_figures,
            campaigns=campaign_figures,
        )

    async def chart(self, stats: Stats, t: Translator) -> str:
        """Draw the 12-week chart in ``t``'s language (in a worker thread) and store it;
        returns its media key."""
        png = await asyncio.to_thread(render_weeks, stats.weeks, t)
        return await asyncio.to_thread(self.core.store.put, png, "png")

    async def send_chart(self, member: MemberView, stats: Stats) -> str:
        """Draw the chart and queue it to ``member`` by direct message (on Slack it is
        uploaded as a file by the outbox, on Teams shown through a signed link)."""
        t = translator(member.locale)
        key = await self.chart(stats, t)
        await self.core.send_dm(member, cards.stats_chart_message(t, stats, key))
        return key

    async def export(self, member: MemberView) -> tuple[str, str]:
        """Write the figures and the list of submissions as CSV files and queue both to
        ``member`` by direct message; returns their media keys (figures, submissions)."""
        t = translator(member.locale)
        stats = await self.compute(member.workspace_id, StatsView.WORKSPACE)
        figures = figures_csv(stats).encode()
        listing = (await self.submissions_csv(member.workspace_id, stats.timezone)).encode()
        figures_key = await asyncio.to_thread(self.core.store.put, figures, "csv")
        listing_key = await asyncio.to_thread(self.core.store.put, listing, "csv")
        await self.core.record_exports(member, [figures_key, listing_key])
        day = stats.at.astimezone(ZoneInfo(stats.timezone)).date().isoformat()
        for key, name, title in (
            (figures_key, f"relais-stats-{day}.csv", t("export.figures")),
            (listing_key, f"relais-submissions-{day}.csv", t("export.submissions")),
        ):
            await self.core.send_dm(member, cards.export_message(t, key, name, title))
        return figures_key, listing_key

    async def submissions_csv(self, workspace_id: int, tz: str) -> str:
        """Every submission: id, date, site, campaign, status, decision time, decided by."""
        zone = ZoneInfo(tz)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(SUBMISSION_COLUMNS)
        async with self.core.db.read() as r:
            async for row in r.stats.export(workspace_id):
                hours = (
                    f"{_hours(row.created_at, row.decided_at):.2f}"
                    if row.decided_at is not None and row.status in FINAL
                    else ""
                )
                writer.writerow(
                    [
                        row.id,
                        row.created_at.astimezone(zone).isoformat(timespec="seconds"),
                        safe_cell(row.site or ""),
                        safe_cell(row.campaign or ""),
                        row.status,
                        hours,
                        safe_cell(row.decided_by or "") if row.status in FINAL else "",
                        *consent_cells(row),
                        "photos" if row.photos or row.videos else "news",
                        row.photos,
                        row.videos,
                    ]
                )
        return out.getvalue()


SUBMISSION_COLUMNS = (
    "id",
    "submitted_at",
    "site",
    "campaign",
    "status",
    "decision_hours",
    "decided_by",
    # Consent of the people in the photos: who appears (empty: sent before the form
    # asked), how many colleagues were named and agreed, internal-only approval,
    # withdrawal, and the rule's answer: may it be used outside the company.
    "appears",
    "people_named",
    "people_agreed",
    "internal_only",
    "consent_withdrawn",
    "external_use",
    # What was sent: "photos" (photos and/or videos) or "news" (a text without a photo),
    # and how many photos and videos.
    "kind",
    "photos",
    "videos",
)


def consent_cells(row: ExportRow) -> list[str]:
    """The export's consent columns for one submission (yes/no as in the rule of
    ``domain.external_use_allowed``; approved or not)."""
    appears = Appears(row.appears) if row.appears else None
    external = external_use_allowed(
        appears,
        people_consented=row.people_consented,
        internal_only=row.internal_only,
        withdrawn=row.consent_withdrawn_at is not None,
        everyone_agreed=row.people_agreed == row.people_named,
    )
    return [
        row.appears or "",
        str(row.people_named),
        str(row.people_agreed),
        "yes" if row.internal_only else "no",
        "yes" if row.consent_withdrawn_at is not None else "no",
        "yes" if external and row.status == Status.APPROVED.value else "no",
    ]


def safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (names and titles are typed by
    people): one starting with ``= + - @`` or a tab/CR is prefixed with ``'``."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def figures_csv(stats: Stats) -> str:
    """The figures as CSV rows ``section,item,value`` (machine-readable keys; dates ISO)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "value"))
    rows: list[tuple[str, str, object]] = [
        ("programme", "timezone", stats.timezone),
        ("programme", "computed_at", stats.at.isoformat(timespec="seconds")),
        ("ambassadors", "total", stats.ambassadors),
        ("ambassadors", "active_30_days", stats.active_30_days),
        ("ambassadors", "joined_this_month", stats.joined_this_month),
    ]
    rows += [("submitted_per_week", w.start.isoformat(), w.submitted) for w in stats.weeks]
    rows += [("approved_per_week", w.start.isoformat(), w.approved) for w in stats.weeks]
    rate = stats.approval_rate
    rows += [
        ("decisions", "approved", stats.approved),
        ("decisions", "rejected", stats.rejected),
        ("decisions", "approval_rate", "" if rate is None else f"{rate:.4f}"),
        ("decisions", "median_hours", _number(stats.decision.median_hours)),
        ("decisions", "p90_hours", _number(stats.decision.p90_hours)),
        ("escalations", "count", stats.escalated),
        ("escalations", "pending", stats.escalations_pending),
        ("escalations", "median_hours", _number(stats.escalation_decision.median_hours)),
        ("escalations", "p90_hours", _number(stats.escalation_decision.p90_hours)),
    ]
    for site in stats.sites:
        name = safe_cell(site.name)
        rows += [
            (f"site:{name}", "ambassadors", site.ambassadors),
            (f"site:{name}", "submitted_this_month", site.submitted_month),
            (f"site:{name}", "contributors_this_month", site.contributors_month),
            (f"site:{name}", "submitted_12_weeks", site.submitted_window),
        ]
    for c in stats.campaigns:
        title = safe_cell(c.title)
        rows += [
            (f"campaign:{title}", "dates", f"{c.starts_on.isoformat()}/{c.ends_on.isoformat()}"),
            (f"campaign:{title}", "submitted", c.submitted),
            (f"campaign:{title}", "approved", c.approved),
            (f"campaign:{title}", "contributors", c.contributors),
        ]
    writer.writerows(rows)
    return out.getvalue()
