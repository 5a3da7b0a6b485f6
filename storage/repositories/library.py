"""The content library's reads: approved submissions with their photos, filtered, a page
at a time, and the filters' choices. Plain values out (``LibraryItem``), no rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, and_, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import Appears, ConsentState, Status
from storage.models import Campaign, Consent, Media, Member, Site, Submission, SubmissionMedia


@dataclass(frozen=True)
class LibraryPhoto:
    media_id: int
    position: int
    storage_key: str
    mime: str
    width: int
    height: int
    # A video's poster frame (the picture the page shows); None for a photo.
    poster_key: str | None = None

    @property
    def is_video(self) -> bool:
        return self.mime.startswith("video/")


@dataclass(frozen=True)
class LibraryItem:
    """One approved submission as the library shows it."""

    submission_id: int
    decided_at: datetime
    caption: str
    author: str
    author_forgotten: bool
    site: str | None
    campaign: str | None
    # Who appears (None: sent before the form asked) and the consents of those named.
    appears: str | None
    named: int
    agreed: int
    internal_only: bool
    # ``domain.external_use_allowed``: may it be used outside the company.
    external_ok: bool
    photos: tuple[LibraryPhoto, ...]
    # Field news (no photo) has a title; any item may have a link (http or https).
    title: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class LibraryHit:
    """One photo asked for by the library page: its submission, its place in it, and
    whether (and by how many people who agreed) it may be used outside."""

    submission_id: int
    position: int
    photo: LibraryPhoto
    external_ok: bool
    agreed: int


@dataclass(frozen=True)
class LibraryFilter:
    """What the page asks for; None means "any"."""

    site_id: int | None = None
    campaign_id: int | None = None
    # [start, end) in UTC: a local week (Monday 00:00 to Monday 00:00).
    start: datetime | None = None
    end: datetime | None = None
    # True: only photos cleared for use outside the company; False: only the others.
    external: bool | None = None


def _external_ok() -> ColumnElement[bool]:
    """``domain.external_use_allowed`` as SQL: who appears declared (outside people with
    the written agreement), not internal only, not withdrawn, nobody named short of
    "agreed"."""
    return and_(
        Submission.appears.is_not(None),
        Submission.internal_only.is_(False),
        Submission.consent_withdrawn_at.is_(None),
        or_(Submission.appears != Appears.OUTSIDE.value, Submission.people_consented.is_(True)),
        not_(
            exists().where(
                Consent.submission_id == Submission.id,
                Consent.state != ConsentState.AGREED.value,
            )
        ),
    )


class LibraryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def _where(self, workspace_id: int, f: LibraryFilter) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = [
            Submission.workspace_id == workspace_id,
            Submission.status == Status.APPROVED.value,
            # Someone named (or the author) took their consent back: out of the library.
            Submission.consent_withdrawn_at.is_(None),
        ]
        if f.site_id is not None:
            clauses.append(Submission.site_id == f.site_id)
        if f.campaign_id is not None:
            clauses.append(Submission.campaign_id == f.campaign_id)
        if f.start is not None:
            clauses.append(Submission.decided_at >= f.start)
        if f.end is not None:
            clauses.append(Submission.decided_at < f.end)
        if f.external is True:
            clauses.append(_external_ok())
        elif f.external is False:
            clauses.append(not_(_external_ok()))
        return clauses

    async def count(self, workspace_id: int, f: LibraryFilter) -> int:
        total = await self.s.scalar(
            select(func.count()).select_from(Submission).where(*self._where(workspace_id, f))
        )
        return int(total or 0)

    async def page(
        self, workspace_id: int, f: LibraryFilter, *, limit: int, offset: int
    ) -> list[LibraryItem]:
        """Newest decisions first; photos the retention round deleted are left out."""
        rows = (
            await self.s.execute(
                select(Submission, Member, Site.name, Campaign.title, _external_ok())
                .join(Member, Member.id == Submission.author_id)
                .outerjoin(Site, Site.id == Submission.site_id)
                .outerjoin(Campaign, Campaign.id == Submission.campaign_id)
                .where(*self._where(workspace_id, f))
                .order_by(Submission.decided_at.desc(), Submission.id.desc())
                .limit(limit)
                .offset(offset)
            )
        ).all()
        ids = [sub.id for sub, _, _, _, _ in rows]
        photos: dict[int, list[LibraryPhoto]] = {i: [] for i in ids}
        consents: dict[int, tuple[int, int]] = {}
        if ids:
            agreed = func.sum(func.cast(Consent.state == ConsentState.AGREED.value, Integer))
            for submission_id, named, yes in await self.s.execute(
                select(Consent.submission_id, func.count(), agreed)
                .where(Consent.submission_id.in_(ids))
                .group_by(Consent.submission_id)
            ):
                consents[submission_id] = (int(named), int(yes or 0))
        if ids:
            found = await self.s.execute(
                select(SubmissionMedia.submission_id, SubmissionMedia.position, Media)
                .join(Media, Media.id == SubmissionMedia.media_id)
                .where(SubmissionMedia.submission_id.in_(ids), Media.purged_at.is_(None))
                .order_by(SubmissionMedia.submission_id, SubmissionMedia.position)
            )
            for submission_id, position, media in found:
                photos[submission_id].append(_library_photo(media, position))
        return [
            LibraryItem(
                submission_id=sub.id,
                decided_at=sub.decided_at or sub.updated_at,
                caption=sub.caption,
                author=author.display_name,
                author_forgotten=author.forgotten_at is not None,
                site=site,
                campaign=campaign,
                appears=sub.appears,
                named=consents.get(sub.id, (0, 0))[0],
                agreed=consents.get(sub.id, (0, 0))[1],
                internal_only=sub.internal_only,
                external_ok=bool(external_ok),
                photos=tuple(photos[sub.id]),
                title=sub.title,
                link=sub.link,
            )
            for sub, author, site, campaign, external_ok in rows
        ]

    async def photo(self, workspace_id: int, media_id: int) -> LibraryHit | None:
        """A photo of an approved submission of this workspace, with what the copy for use
        outside needs; None for anything else (another workspace's, a pending one's,
        purged, withdrawn)."""
        row = (
            await self.s.execute(
                select(Submission.id, SubmissionMedia.position, Media, _external_ok())
                .join(SubmissionMedia, SubmissionMedia.submission_id == Submission.id)
                .join(Media, Media.id == SubmissionMedia.media_id)
                .where(
                    Media.id == media_id,
                    Media.purged_at.is_(None),
                    *self._where(workspace_id, LibraryFilter()),
                )
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        submission_id, position, media, external_ok = row
        photo = _library_photo(media, position)
        agreed = await self.s.scalar(
            select(func.count()).where(
                Consent.submission_id == submission_id,
                Consent.state == ConsentState.AGREED.value,
            )
        )
        return LibraryHit(submission_id, position, photo, bool(external_ok), int(agreed or 0))

    async def choices(
        self, workspace_id: int
    ) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """(sites, campaigns) that have approved submissions, by name."""
        approved = self._where(workspace_id, LibraryFilter())
        sites = await self.s.execute(
            select(Site.id, Site.name)
            .where(Site.id.in_(select(Submission.site_id).where(*approved)))
            .order_by(Site.name)
        )
        campaigns = await self.s.execute(
            select(Campaign.id, Campaign.title)
            .where(Campaign.id.in_(select(Submission.campaign_id).where(*approved)))
            .order_by(Campaign.title)
        )
        return [(i, n) for i, n in sites], [(i, n) for i, n in campaigns]


def _library_photo(media: Media, position: int) -> LibraryPhoto:
    """The library's view of a stored photo or video at ``position`` in its submission."""
    return LibraryPhoto(
        media.id,
        position,
        media.storage_key,
        media.mime,
        media.width,
        media.height,
        media.poster_key,
    )
