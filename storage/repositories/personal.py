"""Everything stored about one person, read for ``/relais mydata``.

Each method returns plain values (dicts of str, int, bool and ISO dates), never rows:
the export is a JSON file the person reads. Nothing about anyone else goes in: who
reviewed a submission is not named (the decision and its reason are the person's), and
other people's submissions never appear.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEvent,
    Badge,
    Campaign,
    CharterAcceptance,
    CharterVersion,
    Consent,
    ConversationRef,
    DataExport,
    Draft,
    ForgetMark,
    Job,
    Media,
    Member,
    MemberRole,
    OutboxMessage,
    PointsEntry,
    ReviewEvent,
    Site,
    SiteReferent,
    Submission,
    SubmissionMedia,
    Thanks,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Scrubber:
    """Rewrites a forgotten person out of JSON values and text: their platform id becomes
    the pseudonym, their name (as a whole word) the label, and a mention of them
    (``[id, name]`` pairs, as ``Mentions`` blocks store them) is dropped."""

    def __init__(self, external_id: str, name: str, pseudonym: str, label: str) -> None:
        self.external_id = external_id
        self.name = name.strip()
        self.pseudonym = pseudonym
        self.label = label
        self._name = re.compile(rf"(?<!\w){re.escape(self.name)}(?!\w)") if self.name else None

    def text(self, value: str) -> str:
        value = value.replace(self.external_id, self.pseudonym)
        return self._name.sub(self.label, value) if self._name else value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [
                self.value(v)
                for v in value
                if not (isinstance(v, list) and len(v) == 2 and v[0] == self.external_id)
            ]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    @staticmethod
    def mentions(value: Any, needle: str) -> bool:
        """Whether any string inside ``value`` contains ``needle``."""
        if isinstance(value, str):
            return needle in value
        if isinstance(value, list):
            return any(Scrubber.mentions(v, needle) for v in value)
        if isinstance(value, dict):
            return any(Scrubber.mentions(v, needle) for v in value.values())
        return False


def _consent(row: Consent) -> dict[str, Any]:
    return {
        "state": row.state,
        "asked_at": _iso(row.asked_at),
        "answered_at": _iso(row.answered_at),
        "reminded_at": _iso(row.reminded_at),
    }


def _to_person(target: dict[str, Any] | None, external_id: str) -> bool:
    """Whether an outbox row's target is the person (their DMs, home view, or a message
    only they see in a channel)."""
    target = target or {}
    if target.get("kind") in ("user", "home"):
        return target.get("id") == external_id
    return target.get("kind") == "ephemeral" and target.get("user") == external_id


class PersonalDataRepository:
    """Reads across the tables that hold a member's data."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def profile(self, member_id: int) -> dict[str, Any]:
        row = await self.s.get_one(Member, member_id, populate_existing=True)
        site = await self.s.get(Site, row.site_id) if row.site_id else None
        return {
            "platform_user_id": row.external_id,
            "display_name": row.display_name,
            "locale": row.locale,
            "timezone": row.timezone,
            "site": site.name if site else None,
            "joined_at": _iso(row.created_at),
            "reminders_paused_until": _iso(row.snoozed_until),
            "reminders_off": row.nudges_opt_out,
            "leaderboard_hidden": row.leaderboard_hidden,
            "badges_public": row.badges_public,
        }

    async def roles(self, member_id: int) -> list[dict[str, Any]]:
        rows = await self.s.execute(
            select(MemberRole.role, MemberRole.granted_at)
            .where(MemberRole.member_id == member_id)
            .order_by(MemberRole.granted_at)
        )
        roles = [{"role": role, "since": _iso(at)} for role, at in rows]
        sites = await self.s.execute(
            select(Site.name, SiteReferent.granted_at)
            .join(Site, Site.id == SiteReferent.site_id)
            .where(SiteReferent.member_id == member_id)
            .order_by(SiteReferent.granted_at)
        )
        roles += [{"role": "referent", "site": name, "since": _iso(at)} for name, at in sites]
        return roles

    async def charter_acceptances(self, member_id: int) -> list[dict[str, Any]]:
        rows = await self.s.execute(
            select(CharterVersion.version, CharterAcceptance.accepted_at)
            .join(CharterVersion, CharterVersion.id == CharterAcceptance.charter_version_id)
            .where(CharterAcceptance.member_id == member_id)
            .order_by(CharterAcceptance.accepted_at)
        )
        return [{"version": version, "accepted_at": _iso(at)} for version, at in rows]

    async def submissions(self, member_id: int) -> list[dict[str, Any]]:
        """The person's submissions with their history (what happened, when, why; not
        who) and the storage keys of their photos (``photos``: for the zip)."""
        rows = (
            await self.s.execute(
                select(Submission, Site.name, Campaign.title)
                .outerjoin(Site, Site.id == Submission.site_id)
                .outerjoin(Campaign, Campaign.id == Submission.campaign_id)
                .where(Submission.author_id == member_id)
                .order_by(Submission.id)
            )
        ).all()
        ids = [sub.id for sub, _, _ in rows]
        history: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        photos: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        consents_asked: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            events = await self.s.execute(
                select(ReviewEvent)
                .where(ReviewEvent.submission_id.in_(ids))
                .order_by(ReviewEvent.at, ReviewEvent.id)
            )
            for event in events.scalars():
                history[event.submission_id].append(
                    {
                        "action": event.action,
                        "status": event.to_status,
                        "reason": event.reason,
                        "at": _iso(event.at),
                    }
                )
            asked = await self.s.execute(
                select(Consent).where(Consent.submission_id.in_(ids)).order_by(Consent.id)
            )
            for consent in asked.scalars():
                # Who was asked is not named (their answer is theirs): what, and when.
                consents_asked[consent.submission_id].append(_consent(consent))
            media = await self.s.execute(
                select(SubmissionMedia.submission_id, SubmissionMedia.position, Media)
                .join(Media, Media.id == SubmissionMedia.media_id)
                .where(SubmissionMedia.submission_id.in_(ids))
                .order_by(SubmissionMedia.submission_id, SubmissionMedia.position)
            )
            for submission_id, position, row in media:
                photos[submission_id].append(
                    {
                        "position": position,
                        "type": row.mime,
                        "width": row.width,
                        "height": row.height,
                        "bytes": row.size,
                        "storage_key": row.storage_key,
                    }
                )
        return [
            {
                "id": sub.id,
                "created_at": _iso(sub.created_at),
                "caption": sub.caption,
                # Field news (no photo): its title; any submission may carry a link.
                "title": sub.title,
                "link": sub.link,
                "site": site,
                "campaign": campaign,
                "status": sub.status,
                "people_in_photos_agreed": sub.people_consented,
                "who_appears": sub.appears,
                "consents_asked": consents_asked[sub.id],
                "internal_use_only": sub.internal_only,
                "consent_withdrawn_at": _iso(sub.consent_withdrawn_at),
                "sensitive": sub.sensitive,
                "decided_at": _iso(sub.decided_at),
                "decision_reason": sub.decision_reason,
                "history": history[sub.id],
                "photos": photos[sub.id],
            }
            for sub, site, campaign in rows
        ]

    async def consents(self, member_id: int) -> list[dict[str, Any]]:
        """The consent requests made to the person (photos they appear in, which are
        other people's: only the submission's id) and their answers."""
        rows = await self.s.scalars(
            select(Consent).where(Consent.member_id == member_id).order_by(Consent.id)
        )
        return [{"submission_id": c.submission_id, **_consent(c)} for c in rows]

    async def points(self, member_id: int) -> list[dict[str, Any]]:
        rows = await self.s.execute(
            select(PointsEntry)
            .where(PointsEntry.member_id == member_id)
            .order_by(PointsEntry.at, PointsEntry.id)
        )
        return [
            {
                "points": e.points,
                "reason": e.reason,
                "submission_id": e.submission_id,
                "at": _iso(e.at),
            }
            for e in rows.scalars()
        ]

    async def thanks(self, member_id: int) -> dict[str, list[dict[str, Any]]]:
        """Thank-yous received for their submissions (the note, when; not who sent it) and
        given by them (the note, when, for which submission)."""
        received = await self.s.execute(
            select(Thanks.submission_id, Thanks.note, Thanks.at)
            .join(Submission, Submission.id == Thanks.submission_id)
            .where(Submission.author_id == member_id)
            .order_by(Thanks.at)
        )
        given = await self.s.execute(
            select(Thanks.submission_id, Thanks.note, Thanks.at)
            .where(Thanks.by_id == member_id)
            .order_by(Thanks.at)
        )
        return {
            "received": [
                {"submission_id": i, "note": note, "at": _iso(at)} for i, note, at in received
            ],
            "given": [{"submission_id": i, "note": note, "at": _iso(at)} for i, note, at in given],
        }

    async def badges(self, member_id: int) -> list[dict[str, Any]]:
        rows = await self.s.execute(
            select(Badge.badge, Badge.awarded_at, Badge.submission_id)
            .where(Badge.member_id == member_id)
            .order_by(Badge.awarded_at, Badge.id)
        )
        return [
            {"badge": badge, "awarded_at": _iso(at), "submission_id": submission_id}
            for badge, at, submission_id in rows
        ]

    async def messages_to(self, workspace_id: int, external_id: str) -> list[dict[str, Any]]:
        """What Relais sent or queued to the person (DMs, nudges, their home view), with
        the text as they read it."""
        rows = await self.s.execute(
            select(OutboxMessage)
            .where(OutboxMessage.workspace_id == workspace_id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        found = []
        for row in rows.scalars():
            if not _to_person(row.target, external_id):
                continue
            target = row.target
            found.append(
                {
                    "kind": str(target.get("kind")),
                    "what": (row.dedupe_key or "").split(":", 1)[0] or None,
                    "text": (row.payload or {}).get("text", ""),
                    "queued_at": _iso(row.created_at),
                    "sent_at": _iso(row.sent_at),
                    "status": row.status,
                }
            )
        return found

    async def audit(
        self, workspace_id: int, member_id: int, external_id: str
    ) -> list[dict[str, Any]]:
        """Audit entries about the person (roles given or taken, and what they did)."""
        rows = await self.s.execute(
            select(AuditEvent)
            .where(
                AuditEvent.workspace_id == workspace_id,
                or_(
                    AuditEvent.actor_id == member_id,
                    AuditEvent.subject == external_id,
                ),
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return [
            {
                "action": e.action,
                "by_them": e.actor_id == member_id,
                "about_them": e.subject == external_id,
                "detail": {k: v for k, v in (e.detail or {}).items() if k != "member_id"},
                "at": _iso(e.at),
            }
            for e in rows.scalars()
        ]

    async def kept_for_delivery(
        self, workspace_id: int, member_id: int, external_id: str
    ) -> dict[str, Any]:
        """Technical records: photos waiting in a draft, and whether a Teams conversation
        reference is kept to reach them."""
        drafts = await self.s.execute(
            select(Draft.created_at, Draft.caption).where(Draft.member_id == member_id)
        )
        ref = await self.s.scalar(
            select(ConversationRef.updated_at).where(
                and_(
                    ConversationRef.workspace_id == workspace_id,
                    ConversationRef.kind == "user",
                    ConversationRef.key == external_id,
                )
            )
        )
        return {
            "drafts": [{"created_at": _iso(at), "caption": caption} for at, caption in drafts],
            "teams_conversation_reference_updated_at": _iso(ref),
        }

    # -- forgetting -----------------------------------------------------------------------

    async def submissions_to_forget(self, member_id: int) -> list[tuple[int, str, list[int]]]:
        """(id, status, review card outbox ids) of each of the person's submissions."""
        rows = await self.s.execute(
            select(Submission.id, Submission.status, Submission.card_outbox_ids)
            .where(Submission.author_id == member_id)
            .order_by(Submission.id)
        )
        return [(i, status, list(cards or [])) for i, status, cards in rows]

    async def forget(
        self,
        member_id: int,
        *,
        delete_submissions: list[int],
        pseudonym: str,
        label: str,
        exports: list[str],
        now: datetime,
    ) -> list[str]:
        """Delete the person's data and keep their row as ``pseudonym``; returns the
        storage keys of the photos whose rows were deleted (their files go once no other
        row names them: ``unreferenced``).

        Deleted: ``delete_submissions`` (with their photos, history and cards' links),
        every photo of theirs no kept submission shows, roles, referent sites, charter
        acceptances, points, drafts, the Teams conversation reference, and every message
        queued to them, the jobs and ``exports`` (data export keys) that hold their id.
        Rewritten: their platform id (to ``pseudonym``) and their name (to ``label``, "a
        colleague") in every other message, caption, decision and review reason of the
        workspace, and in the audit trail's subjects. Kept: the submissions not listed
        (anonymised: the author is the pseudonym).
        """
        row = await self.s.get_one(Member, member_id, populate_existing=True)
        workspace_id, external_id = row.workspace_id, row.external_id
        scrub = Scrubber(external_id, row.display_name, pseudonym, label)
        if delete_submissions:
            await self.s.execute(delete(Submission).where(Submission.id.in_(delete_submissions)))
        # Thank-yous for their kept submissions were written to them (and may name them).
        await self.s.execute(
            delete(Thanks).where(
                Thanks.submission_id.in_(
                    select(Submission.id).where(Submission.author_id == member_id)
                )
            )
        )
        kept_media = select(SubmissionMedia.media_id).join(
            Submission, Submission.id == SubmissionMedia.submission_id
        )
        gone = (
            await self.s.execute(
                select(Media.id, Media.storage_key, Media.poster_key).where(
                    Media.owner_id == member_id, Media.id.not_in(kept_media)
                )
            )
        ).all()
        if gone:
            await self.s.execute(delete(Media).where(Media.id.in_([i for i, _, _ in gone])))
        for model in (MemberRole, SiteReferent, CharterAcceptance, PointsEntry, Badge, Draft):
            await self.s.execute(delete(model).where(model.member_id == member_id))
        await self.s.execute(
            delete(ConversationRef).where(
                ConversationRef.workspace_id == workspace_id,
                ConversationRef.kind == "user",
                ConversationRef.key == external_id,
            )
        )
        await self._forget_messages(workspace_id, external_id)
        await self._scrub_messages(workspace_id, scrub)
        await self._scrub_submissions(workspace_id, scrub)
        await self._forget_jobs(external_id)
        if exports:
            await self.s.execute(
                delete(DataExport).where(
                    DataExport.workspace_id == workspace_id, DataExport.media_key.in_(exports)
                )
            )
        await self.s.execute(
            update(AuditEvent)
            .where(AuditEvent.workspace_id == workspace_id, AuditEvent.subject == external_id)
            .values(subject=pseudonym)
        )
        await self.s.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(
                external_id=pseudonym,
                display_name="",
                locale=None,
                timezone=None,
                snoozed_until=None,
                nudges_opt_out=True,
                leaderboard_hidden=True,
                badges_public=False,
                forgotten_at=now,
            )
        )
        # A video's poster frame goes with it.
        return [key for _, clip, poster in gone for key in (clip, poster) if key]

    async def _scrub_messages(self, workspace_id: int, scrub: Scrubber) -> None:
        """Rewrite every other outbox message of the workspace that names the person
        (cards, digests, DMs to others), a thousand rows at a time."""
        last = 0
        while True:
            rows = (
                await self.s.execute(
                    select(OutboxMessage.id, OutboxMessage.payload)
                    .where(OutboxMessage.workspace_id == workspace_id, OutboxMessage.id > last)
                    .order_by(OutboxMessage.id)
                    .limit(1000)
                )
            ).all()
            if not rows:
                return
            last = rows[-1][0]
            for row_id, payload in rows:
                cleaned = scrub.value(payload)
                if cleaned != payload:
                    await self.s.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == row_id)
                        .values(payload=cleaned)
                    )

    async def _scrub_submissions(self, workspace_id: int, scrub: Scrubber) -> None:
        """Their name in the workspace's captions, news titles and decision reasons becomes
        the label."""
        if not scrub.name:
            return
        rows = await self.s.execute(
            select(
                Submission.id, Submission.caption, Submission.title, Submission.decision_reason
            ).where(
                Submission.workspace_id == workspace_id,
                or_(
                    Submission.caption.contains(scrub.name),
                    Submission.title.contains(scrub.name),
                    Submission.decision_reason.contains(scrub.name),
                ),
            )
        )
        for submission_id, caption, title, reason in rows.all():
            await self.s.execute(
                update(Submission)
                .where(Submission.id == submission_id)
                .values(
                    caption=scrub.text(caption),
                    title=scrub.text(title) if title is not None else None,
                    decision_reason=scrub.text(reason) if reason is not None else None,
                )
            )
        # What reviewers wrote: review_events is append-only, except for its reason while
        # this transaction holds a forget mark (never committed: deleted below).
        mark = ForgetMark(at=datetime.now(UTC))
        self.s.add(mark)
        await self.s.flush()
        events = await self.s.execute(
            select(ReviewEvent.id, ReviewEvent.reason)
            .join(Submission, Submission.id == ReviewEvent.submission_id)
            .where(
                Submission.workspace_id == workspace_id,
                ReviewEvent.reason.contains(scrub.name),
            )
        )
        for event_id, reason in events.all():
            await self.s.execute(
                update(ReviewEvent)
                .where(ReviewEvent.id == event_id)
                .values(reason=scrub.text(reason or ""))
            )
        await self.s.delete(mark)
        await self.s.flush()

    async def _forget_jobs(self, external_id: str) -> None:
        """Jobs (photo downloads, done or not) started by the person."""
        rows = await self.s.execute(select(Job.id, Job.payload))
        ids = [i for i, payload in rows if Scrubber.mentions(payload, external_id)]
        if ids:
            await self.s.execute(delete(Job).where(Job.id.in_(ids)))

    async def record_export(
        self, workspace_id: int, member_id: int | None, media_key: str, now: datetime
    ) -> None:
        """Remember a file generated from people's data (so forgetting finds it)."""
        self.s.add(
            DataExport(
                workspace_id=workspace_id, member_id=member_id, media_key=media_key, created_at=now
            )
        )
        await self.s.flush()

    async def exports(self, workspace_id: int) -> list[tuple[int | None, str]]:
        """(who asked, media key) of the workspace's recorded exports."""
        rows = await self.s.execute(
            select(DataExport.member_id, DataExport.media_key).where(
                DataExport.workspace_id == workspace_id
            )
        )
        return [(member_id, key) for member_id, key in rows]

    async def _forget_messages(self, workspace_id: int, external_id: str) -> None:
        """Delete the outbox rows addressed to the person (sent or not: a message to
        someone forgotten is neither delivered nor kept)."""
        rows = await self.s.execute(
            select(OutboxMessage.id, OutboxMessage.target).where(
                OutboxMessage.workspace_id == workspace_id
            )
        )
        ids = [i for i, target in rows if _to_person(target, external_id)]
        for start in range(0, len(ids), 500):
            await self.s.execute(
                delete(OutboxMessage).where(OutboxMessage.id.in_(ids[start : start + 500]))
            )

    async def unreferenced(self, keys: list[str]) -> list[str]:
        """The storage keys among ``keys`` that no photo row names any more (a file is
        shared by identical photos, possibly someone else's)."""
        if not keys:
            return []
        still = set(
            await self.s.scalars(select(Media.storage_key).where(Media.storage_key.in_(keys)))
        )
        still.update(
            await self.s.scalars(select(Media.poster_key).where(Media.poster_key.in_(keys)))
        )
        return sorted(set(keys) - still)
