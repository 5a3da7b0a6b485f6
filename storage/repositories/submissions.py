"""Submissions, their photos, the audit trail, points and campaigns."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import ReviewAction, Status, transition
from storage.models import (
    Campaign,
    CampaignSite,
    Media,
    PointsEntry,
    ReviewEvent,
    Site,
    Submission,
    SubmissionMedia,
    Workspace,
)
from storage.repositories.dml import insert_once, rowcount


class SubmissionRepository:
    """Rows of ``submissions`` and ``submission_media``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def create(
        self,
        *,
        workspace_id: int,
        author_id: int,
        caption: str,
        site_id: int | None,
        campaign_id: int | None,
        people_consented: bool,
        sensitive: bool,
        client_key: str | None,
        now: datetime,
        appears: str | None = None,
        title: str | None = None,
        link: str | None = None,
    ) -> tuple[Submission, bool]:
        """Insert a pending submission; (row, True), or (the existing row, False) when a
        concurrent request with the same ``client_key`` inserted it first."""
        row = Submission(
            workspace_id=workspace_id,
            author_id=author_id,
            caption=caption,
            site_id=site_id,
            campaign_id=campaign_id,
            status=Status.PENDING.value,
            people_consented=people_consented,
            appears=appears,
            sensitive=sensitive,
            client_key=client_key,
            title=title,
            link=link,
            revision=1,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.s.begin_nested():
                self.s.add(row)
        except IntegrityError:
            if client_key is None:
                raise
            existing = await self.by_client_key(workspace_id, client_key)
            if existing is None:
                raise
            return existing, False
        return row, True

    async def get(self, submission_id: int) -> Submission | None:
        """A submission by id, fresh from the database."""
        return await self.s.get(Submission, submission_id, populate_existing=True)

    async def by_client_key(self, workspace_id: int, client_key: str) -> Submission | None:
        """The submission created from this platform idempotency key, if any."""
        return (
            await self.s.execute(
                select(Submission).where(
                    Submission.workspace_id == workspace_id, Submission.client_key == client_key
                )
            )
        ).scalar_one_or_none()

    async def transition(
        self,
        submission_id: int,
        *,
        expected: Status,
        new: Status,
        now: datetime,
        decided_by: int | None = None,
        reason: str | None = None,
        expected_revision: int | None = None,
    ) -> bool:
        """Move ``expected -> new`` in one conditional UPDATE; False if someone moved it first.

        With ``expected_revision`` the row must also still be at that revision (the version
        the reviewer saw).
        """
        move = transition(expected, new)
        if move is None:
            raise ValueError(f"the state machine has no move {expected} -> {new}")
        values: dict[str, object] = {"status": new.value, "updated_at": now}
        if move.decides:
            values.update(decided_at=now, decided_by_id=decided_by, decision_reason=reason)
        if move.audit is ReviewAction.RESUBMITTED:
            values.update(
                decided_at=None,
                decided_by_id=None,
                decision_reason=None,
                revision=Submission.revision + 1,
            )
        conditions = [Submission.id == submission_id, Submission.status == expected.value]
        if expected_revision is not None:
            conditions.append(Submission.revision == expected_revision)
        result = await self.s.execute(
            update(Submission)
            .where(*conditions)
            .values(**values)
            .returning(Submission.workspace_id)
            .execution_options(synchronize_session=False)
        )
        moved = result.scalars().all()
        if moved and new is Status.APPROVED:
            await self.s.execute(
                update(Workspace)
                .where(Workspace.id == moved[0])
                .values(approved_total=Workspace.approved_total + 1)
                .execution_options(synchronize_session=False)
            )
        return len(moved) == 1

    async def update_content(
        self,
        submission_id: int,
        *,
        caption: str,
        people_consented: bool,
        sensitive: bool,
        site_id: int | None,
        campaign_id: int | None,
        appears: str | None = None,
        title: str | None = None,
        link: str | None = None,
    ) -> None:
        """Replace what the author can change when resubmitting."""
        await self.s.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(
                caption=caption,
                people_consented=people_consented,
                appears=appears,
                sensitive=sensitive,
                site_id=site_id,
                campaign_id=campaign_id,
                title=title,
                link=link,
            )
            .execution_options(synchronize_session=False)
        )

    async def approved_ids_of(self, author_id: int) -> list[int]:
        """The ids of ``author_id``'s approved submissions, newest first."""
        rows = await self.s.scalars(
            select(Submission.id)
            .where(Submission.author_id == author_id, Submission.status == Status.APPROVED.value)
            .order_by(Submission.id.desc())
        )
        return list(rows)

    async def set_internal_only(self, submission_id: int, internal_only: bool) -> None:
        """Record whether the approval was for use inside the company only."""
        await self.s.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(internal_only=internal_only)
            .execution_options(synchronize_session=False)
        )

    async def withdraw_consent(self, submission_id: int, *, now: datetime) -> bool:
        """Mark the submission's consent withdrawn (out of future digests, the library
        and the export's external use); False when it already was."""
        result = await self.s.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.consent_withdrawn_at.is_(None))
            .values(consent_withdrawn_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def set_cards(self, submission_id: int, outbox_ids: Sequence[int]) -> None:
        """Remember which outbox rows posted the submission's current review cards."""
        await self.s.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(card_outbox_ids=list(outbox_ids))
            .execution_options(synchronize_session=False)
        )

    async def attach_media(self, submission_id: int, media_ids: Sequence[int]) -> None:
        """Link photos to a submission, in order, replacing any earlier set."""
        existing = await self.s.scalars(
            select(SubmissionMedia).where(SubmissionMedia.submission_id == submission_id)
        )
        for link in existing:
            await self.s.delete(link)
        await self.s.flush()
        for position, media_id in enumerate(media_ids):
            self.s.add(
                SubmissionMedia(submission_id=submission_id, media_id=media_id, position=position)
            )
        await self.s.flush()

    async def media_keys(self, submission_id: int) -> tuple[str, ...]:
        """Storage keys of the submission's photos, in order (not those the retention round
        deleted); a video's poster frame stands for the video."""
        keys, _ = await self.media_and_videos(submission_id)
        return keys

    async def media_and_videos(
        self, submission_id: int
    ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """What :meth:`media_keys` returns, and each video as (poster key, clip key)."""
        rows = await self.s.execute(
            select(Media.storage_key, Media.poster_key)
            .join(SubmissionMedia, SubmissionMedia.media_id == Media.id)
            .where(SubmissionMedia.submission_id == submission_id, Media.purged_at.is_(None))
            .order_by(SubmissionMedia.position)
        )
        keys: list[str] = []
        videos: list[tuple[str, str]] = []
        for storage_key, poster_key in rows:
            keys.append(poster_key or storage_key)
            if poster_key:
                videos.append((poster_key, storage_key))
        return tuple(keys), tuple(videos)

    async def find_duplicate(
        self, author_id: int, source_hashes: Sequence[str], *, exclude_id: int | None = None
    ) -> int | None:
        """Id of a live submission by this author that already holds one of these photos."""
        if not source_hashes:
            return None
        query = (
            select(Submission.id)
            .join(SubmissionMedia, SubmissionMedia.submission_id == Submission.id)
            .join(Media, Media.id == SubmissionMedia.media_id)
            .where(
                Submission.author_id == author_id,
                Media.owner_id == author_id,
                Media.source_sha256.in_(list(source_hashes)),
                Submission.status.not_in([Status.WITHDRAWN.value, Status.REJECTED.value]),
            )
            .order_by(Submission.id)
            .limit(1)
        )
        if exclude_id is not None:
            query = query.where(Submission.id != exclude_id)
        return await self.s.scalar(query)

    async def by_author(self, author_id: int, *, limit: int = 10) -> list[Submission]:
        """The author's latest submissions, newest first."""
        rows = await self.s.scalars(
            select(Submission)
            .where(Submission.author_id == author_id)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def awaiting_review(
        self, workspace_id: int, *, limit: int = 20, site_ids: Collection[int] | None = None
    ) -> list[Submission]:
        """Pending and escalated submissions, oldest first (of these sites only, when
        ``site_ids`` is given: a referent's queue)."""
        query = select(Submission).where(
            Submission.workspace_id == workspace_id,
            Submission.status.in_([Status.PENDING.value, Status.ESCALATED.value]),
        )
        if site_ids is not None:
            query = query.where(Submission.site_id.in_(list(site_ids)))
        rows = await self.s.scalars(
            query.order_by(Submission.created_at, Submission.id).limit(limit)
        )
        return list(rows)

    async def count_awaiting_review(
        self, workspace_id: int, *, site_ids: Collection[int] | None = None
    ) -> int:
        """How many submissions wait for a decision (of these sites, when given)."""
        query = (
            select(func.count())
            .select_from(Submission)
            .where(
                Submission.workspace_id == workspace_id,
                Submission.status.in_([Status.PENDING.value, Status.ESCALATED.value]),
            )
        )
        if site_ids is not None:
            query = query.where(Submission.site_id.in_(list(site_ids)))
        return int(await self.s.scalar(query) or 0)

    async def site_activity(
        self, site_id: int, start: datetime, end: datetime
    ) -> tuple[int, int, int]:
        """A site's week: (submissions sent, approved, distinct authors) in [start, end)."""
        sent, authors = (
            await self.s.execute(
                select(func.count(), func.count(func.distinct(Submission.author_id))).where(
                    Submission.site_id == site_id,
                    Submission.created_at >= start,
                    Submission.created_at < end,
                )
            )
        ).one()
        approved = await self.s.scalar(
            select(func.count())
            .select_from(Submission)
            .where(
                Submission.site_id == site_id,
                Submission.status == Status.APPROVED.value,
                Submission.decided_at >= start,
                Submission.decided_at < end,
            )
        )
        return int(sent or 0), int(approved or 0), int(authors or 0)


class MediaRepository:
    """Rows of ``media``: what the intake recorded about each stored photo."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self,
        *,
        owner_id: int,
        sha256: str,
        source_sha256: str,
        mime: str,
        size: int,
        width: int,
        height: int,
        storage_key: str,
        now: datetime,
        poster_key: str | None = None,
    ) -> int:
        """Record a stored photo (or a video and its poster frame) and return its id."""
        row = Media(
            poster_key=poster_key or None,
            owner_id=owner_id,
            sha256=sha256,
            source_sha256=source_sha256,
            mime=mime,
            size=size,
            width=width,
            height=height,
            storage_key=storage_key,
            created_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return row.id


class ReviewEventRepository:
    """The append-only audit trail in ``review_events``: insert and read, nothing else."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self,
        submission_id: int,
        *,
        actor_id: int | None,
        action: ReviewAction,
        from_status: Status | None,
        to_status: Status,
        reason: str | None,
        now: datetime,
    ) -> None:
        """Append one audit row."""
        self.s.add(
            ReviewEvent(
                submission_id=submission_id,
                actor_id=actor_id,
                action=action.value,
                from_status=from_status.value if from_status else None,
                to_status=to_status.value,
                reason=reason,
                at=now,
            )
        )
        await self.s.flush()

    async def for_submission(self, submission_id: int) -> list[ReviewEvent]:
        """Every audit row of a submission, oldest first."""
        rows = await self.s.scalars(
            select(ReviewEvent)
            .where(ReviewEvent.submission_id == submission_id)
            .order_by(ReviewEvent.id)
        )
        return list(rows)


class PointsRepository:
    """The ``points_ledger``: credits are rows, a balance is their sum."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def credit(
        self,
        member_id: int,
        points: int,
        *,
        reason: str,
        submission_id: int | None,
        now: datetime,
    ) -> bool:
        """Add a ledger row, once per (member, submission, reason): False when that credit
        is already there (a retried or replayed decision credits nothing more)."""
        return await insert_once(
            self.s,
            PointsEntry,
            {
                "member_id": member_id,
                "submission_id": submission_id,
                "points": points,
                "reason": reason,
                "at": now,
            },
            ("member_id", "submission_id", "reason"),
        )

    async def balance(self, member_id: int) -> int:
        """The member's total points."""
        total = await self.s.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                PointsEntry.member_id == member_id
            )
        )
        return int(total or 0)


class CampaignRepository:
    """Rows of ``campaigns``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def create(
        self,
        workspace_id: int,
        *,
        title: str,
        brief: str,
        starts_on: date,
        ends_on: date,
        site_ids: Collection[int] = (),
        created_by: int | None,
        now: datetime,
        hashtag: str | None = None,
    ) -> Campaign:
        """Insert a campaign for these sites (none: every site)."""
        row = Campaign(
            workspace_id=workspace_id,
            title=title,
            brief=brief,
            starts_on=starts_on,
            ends_on=ends_on,
            hashtag=hashtag,
            created_by_id=created_by,
            created_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        self.s.add_all(CampaignSite(campaign_id=row.id, site_id=i) for i in sorted(set(site_ids)))
        await self.s.flush()
        return row

    async def site_names(self, campaign_ids: Collection[int]) -> dict[int, list[str]]:
        """The names of the sites each of these campaigns is for, in the sites' order
        (their key); a campaign for every site is absent."""
        if not campaign_ids:
            return {}
        rows = await self.s.execute(
            select(CampaignSite.campaign_id, Site.name)
            .join(Site, Site.id == CampaignSite.site_id)
            .where(CampaignSite.campaign_id.in_(campaign_ids))
            .order_by(Site.key, Site.id)
        )
        found: dict[int, list[str]] = {}
        for campaign_id, name in rows:
            found.setdefault(campaign_id, []).append(name)
        return found

    async def site_ids(self, campaign_ids: Collection[int]) -> dict[int, set[int]]:
        """The sites each of these campaigns is for; a campaign for every site is absent."""
        if not campaign_ids:
            return {}
        rows = await self.s.execute(
            select(CampaignSite.campaign_id, CampaignSite.site_id).where(
                CampaignSite.campaign_id.in_(campaign_ids)
            )
        )
        found: dict[int, set[int]] = {}
        for campaign_id, site_id in rows:
            found.setdefault(campaign_id, set()).add(site_id)
        return found

    async def running(self, workspace_id: int, today: date) -> list[Campaign]:
        """Every campaign running today, whatever its site, by start date."""
        rows = await self.s.scalars(
            select(Campaign)
            .where(
                Campaign.workspace_id == workspace_id,
                Campaign.starts_on <= today,
                Campaign.ends_on >= today,
                Campaign.closed_at.is_(None),
            )
            .order_by(Campaign.starts_on, Campaign.id)
        )
        return list(rows)

    async def active(self, workspace_id: int, today: date, site_id: int | None) -> list[Campaign]:
        """Campaigns running today for this site (or for every site), ending soonest first.
        A member without a site is offered only the campaigns for every site."""
        targeted = select(CampaignSite.campaign_id).where(CampaignSite.campaign_id == Campaign.id)
        for_site = ~targeted.exists()
        if site_id is not None:
            for_site = or_(for_site, targeted.where(CampaignSite.site_id == site_id).exists())
        rows = await self.s.scalars(
            select(Campaign)
            .where(
                Campaign.workspace_id == workspace_id,
                Campaign.starts_on <= today,
                Campaign.ends_on >= today,
                Campaign.closed_at.is_(None),
                for_site,
            )
            .order_by(Campaign.ends_on, Campaign.id)
        )
        return list(rows)

    async def all(self, workspace_id: int) -> list[Campaign]:
        """Every campaign of the workspace, the latest start first."""
        rows = await self.s.scalars(
            select(Campaign)
            .where(Campaign.workspace_id == workspace_id)
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        )
        return list(rows)

    async def close(self, campaign_id: int, now: datetime) -> bool:
        """Close a campaign; False when it was closed already (two CMs at once)."""
        result = await self.s.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.closed_at.is_(None))
            .values(closed_at=now)
        )
        return rowcount(result) > 0

    async def results(self, campaign_id: int) -> tuple[list[tuple[int, int]], int, int]:
        """The approved content of a campaign: ([(author id, approved count)] most first,
        approved in all, sites they came from)."""
        approved = (
            Submission.campaign_id == campaign_id,
            Submission.status == Status.APPROVED.value,
        )
        rows = await self.s.execute(
            select(Submission.author_id, func.count())
            .where(*approved)
            .group_by(Submission.author_id)
            .order_by(func.count().desc(), Submission.author_id)
        )
        authors = [(author_id, int(n)) for author_id, n in rows]
        sites = await self.s.scalar(
            select(func.count(func.distinct(Submission.site_id))).where(*approved)
        )
        return authors, sum(n for _, n in authors), int(sites or 0)

    async def get(self, campaign_id: int) -> Campaign | None:
        """A campaign by id."""
        return await self.s.get(Campaign, campaign_id)
