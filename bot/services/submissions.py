"""Submissions: create with photos (or as field news: a title and a text, no photo),
withdraw while undecided, resubmit after changes."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import HttpUrl, TypeAdapter, ValidationError

from bot import cards, notify
from bot.errors import (
    AlreadyDecided,
    CharterNotAccepted,
    DuplicatePhoto,
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotAmbassador,
    NotFound,
)
from bot.i18n import translator
from bot.media import CleanImage
from bot.schedule import local_day
from domain import (
    CAPTION_MAX,
    LINK_MAX,
    MAX_PHOTOS,
    NEWS_TITLE_MAX,
    Appears,
    MemberView,
    ReviewAction,
    Role,
    Status,
    SubmissionView,
    transition,
)
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core


async def load_view(r: Repos, submission_id: int) -> SubmissionView:
    """A submission with its author, site, campaign, photos and decider, as a value."""
    row = await r.submissions.get(submission_id)
    if row is None:
        raise NotFound("error.submission_not_found", id=submission_id)
    author = await r.members.view(row.author_id)
    site = await r.sites.get(row.site_id) if row.site_id else None
    campaign = await r.campaigns.get(row.campaign_id) if row.campaign_id else None
    decider = await r.members.view(row.decided_by_id) if row.decided_by_id else None
    # Only an approved submission can be thanked: no read for the others.
    thanks = await r.thanks.get(row.id) if row.status == Status.APPROVED else None
    thanker = await r.members.view(thanks.by_id) if thanks and thanks.by_id else None
    media_keys, videos = await r.submissions.media_and_videos(row.id)
    return SubmissionView(
        id=row.id,
        workspace_id=row.workspace_id,
        author=author,
        caption=row.caption,
        status=Status(row.status),
        site_name=site.name if site else None,
        site_id=row.site_id,
        campaign_title=campaign.title if campaign else None,
        campaign_id=row.campaign_id,
        people_consented=row.people_consented,
        sensitive=row.sensitive,
        media_keys=media_keys,
        videos=videos,
        created_at=row.created_at,
        decided_by_name=decider.display_name if decider else None,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        revision=row.revision,
        appears=Appears(row.appears) if row.appears else None,
        internal_only=row.internal_only,
        consents=await r.consents.lines(row.id),
        consent_withdrawn=row.consent_withdrawn_at is not None,
        # A member forgotten since has no name: the card says "?" rather than a blank.
        thanked_by_name=(thanker.display_name or None) if thanker else None,
        thanked_at=thanks.at if thanks else None,
        title=row.title,
        link=row.link,
    )


async def raise_already_decided(r: Repos, submission_id: int) -> None:
    """Tell the loser of a race (or a late clicker) who moved the submission, to what, when."""
    view = await load_view(r, submission_id)
    events = await r.reviews.for_submission(submission_id)
    last = events[-1] if events else None
    by = "?"
    if last is not None and last.actor_id is not None:
        by = (await r.members.view(last.actor_id)).display_name
    raise AlreadyDecided(by=by, status=view.status, at=last.at if last else view.created_at)


def check_caption(caption: str) -> str:
    """The caption as stored: trimmed, within the limit."""
    caption = caption.strip()
    if len(caption) > CAPTION_MAX:
        raise InvalidInput(
            "error.caption_too_long", field="caption", max=CAPTION_MAX, length=len(caption)
        )
    return caption


def check_title(title: str) -> str | None:
    """The title as stored: one line, trimmed, within the limit; None when empty."""
    title = " ".join(title.split())
    if len(title) > NEWS_TITLE_MAX:
        raise InvalidInput(
            "error.title_too_long", field="title", max=NEWS_TITLE_MAX, length=len(title)
        )
    return title or None


_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def check_link(link: str) -> str | None:
    """The link as stored (pydantic's ``HttpUrl``, normalised: an IDN host in punycode);
    None when empty. Only http and https with a host; no spaces or control characters,
    no user name or password before the host (``https://bank.example@elsewhere``)."""
    link = link.strip()
    if not link:
        return None
    if len(link) > LINK_MAX or any(c.isspace() or unicodedata.category(c) == "Cc" for c in link):
        raise InvalidInput("error.bad_link", field="link", max=LINK_MAX)
    try:
        url = _URL.validate_python(link)
    except ValidationError:
        raise InvalidInput("error.bad_link", field="link", max=LINK_MAX) from None
    if url.username or url.password or len(str(url)) > LINK_MAX:
        raise InvalidInput("error.bad_link", field="link", max=LINK_MAX)
    return str(url)


def content_problems(title: str, caption: str, link: str, *, news: bool) -> list[InvalidInput]:
    """What is wrong with a submission's title, text (the caption) and link, one error per
    field in the form's order; a news item (no photo) needs a title and a text. The
    service raises the first; Slack's modal shows them all before the ack."""
    problems: list[InvalidInput] = []
    for name, check, value, required in (
        ("title", check_title, title, "error.news_title_required"),
        ("caption", check_caption, caption, "error.news_text_required"),
        ("link", check_link, link, None),
    ):
        try:
            if not check(value) and news and required:
                problems.append(InvalidInput(required, field=name))
        except InvalidInput as err:
            problems.append(err)
    return problems


def check_content(
    title: str, caption: str, link: str, *, news: bool
) -> tuple[str | None, str, str | None]:
    """(title, caption, link) as stored, or the first problem raised on its field."""
    problems = content_problems(title, caption, link, news=news)
    if problems:
        raise problems[0]
    return check_title(title), check_caption(caption), check_link(link)


def unique_photos(photos: Sequence[CleanImage]) -> list[CleanImage]:
    """The photos without repeats (the same file picked twice in one form)."""
    seen: dict[str, CleanImage] = {}
    for photo in photos:
        seen.setdefault(photo.source_sha256, photo)
    return list(seen.values())


def check_photos(photos: Sequence[CleanImage]) -> None:
    """At least one photo, at most ``MAX_PHOTOS``."""
    if not photos:
        raise InvalidInput("error.no_photo", field="photos")
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput("error.too_many_photos", field="photos", max=MAX_PHOTOS)


class Submissions:
    """The ambassador's side of a submission's life."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def create(
        self,
        author: MemberView,
        *,
        photos: Sequence[CleanImage],
        caption: str,
        site_id: int | None = None,
        campaign_id: int | None = None,
        people_consented: bool = False,
        sensitive: bool = False,
        client_key: str | None = None,
        appears: Appears | None = None,
        people: Sequence[str] = (),
        title: str = "",
        link: str = "",
    ) -> SubmissionView:
        """Record a pending submission, queue its review card(s), the author's receipt
        and a consent request to each colleague named in ``people`` (``appears``
        colleagues; ``people_consented``: with ``appears`` outside, the author declares
        holding their written agreement). ``appears`` None: not stated (callers other
        than the form; never cleared for use outside the company).

        Without photos it is field news: ``title`` and a text (``caption``) required,
        ``link`` optional. Nobody appears in a news item (there is no picture), so no
        consent is asked: ``appears`` is recorded as nobody whatever was given.

        Idempotent on ``client_key``: a retried platform request returns the first result.
        """
        photos = unique_photos(photos)
        news = not photos
        title_, caption, link_ = check_content(title, caption, link, news=news)
        if news:
            appears, people, people_consented = Appears.NOBODY, (), False
        else:
            check_photos(photos)
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            fresh = await r.members.view(author.id)
            if client_key:
                existing = await r.submissions.by_client_key(fresh.workspace_id, client_key)
                if existing is not None:
                    return await load_view(r, existing.id)
            await self._check_can_submit(r, fresh)
            dup = (
                await r.submissions.find_duplicate(fresh.id, [p.source_sha256 for p in photos])
                if photos
                else None
            )
            if dup is not None:
                # A concurrent retry of this very request may have committed between the
                # client-key check and this one (PostgreSQL, READ COMMITTED): answer like it.
                if client_key:
                    existing = await r.submissions.by_client_key(fresh.workspace_id, client_key)
                    if existing is not None:
                        return await load_view(r, existing.id)
                raise DuplicatePhoto(id=dup)
            site_id, campaign_id = await self._check_refs(r, fresh, site_id, campaign_id)
            declared = await self.core.consents.declare(r, fresh, appears, people, people_consented)
            row, created = await r.submissions.create(
                workspace_id=fresh.workspace_id,
                author_id=fresh.id,
                caption=caption,
                site_id=site_id,
                campaign_id=campaign_id,
                people_consented=declared.outside_agreement,
                appears=declared.appears.value if declared.appears else None,
                sensitive=sensitive,
                client_key=client_key,
                now=now,
                title=title_,
                link=link_,
            )
            if not created:  # a concurrent retry of the same request won: answer like it
                return await load_view(r, row.id)
            if photos:
                await r.submissions.attach_media(row.id, await self._record_media(r, fresh, photos))
            await self.core.consents.ask(r, row.id, declared, now)
            await r.reviews.add(
                row.id,
                actor_id=fresh.id,
                action=ReviewAction.SUBMITTED,
                from_status=None,
                to_status=Status.PENDING,
                reason=None,
                now=now,
            )
            view = await load_view(r, row.id)
            await self.post_cards(r, view)
            await notify.dm(r, fresh, cards.receipt_dm(translator(fresh.locale), view), now=now)
            await self.core.consents.send_requests(r, view, now)
        self.core.outbox_changed()
        return view

    async def withdraw(self, author: MemberView, submission_id: int) -> SubmissionView:
        """The author takes back an undecided submission; its cards say so."""
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            view = await load_view(r, submission_id)
            if view.author.id != author.id:
                raise NotAllowed("error.not_author")
            if transition(view.status, Status.WITHDRAWN) is None:
                await raise_already_decided(r, submission_id)
            if not await r.submissions.transition(
                submission_id, expected=view.status, new=Status.WITHDRAWN, now=now
            ):
                await raise_already_decided(r, submission_id)
            await r.reviews.add(
                submission_id,
                actor_id=author.id,
                action=ReviewAction.WITHDRAWN,
                from_status=view.status,
                to_status=Status.WITHDRAWN,
                reason=None,
                now=now,
            )
            view = await load_view(r, submission_id)
            await self.update_cards(r, view)
        self.core.outbox_changed()
        return view

    async def resubmit(
        self,
        author: MemberView,
        submission_id: int,
        *,
        caption: str,
        photos: Sequence[CleanImage] = (),
        people_consented: bool = False,
        sensitive: bool = False,
        site_id: int | None = None,
        campaign_id: int | None = None,
        appears: Appears | None = None,
        people: Sequence[str] = (),
        title: str = "",
        link: str = "",
    ) -> SubmissionView:
        """Send a submission back to review after "changes requested" (new photos
        optional). Who appears is asked again: people still named keep their answers,
        new ones are asked, those no longer named are dropped. A news item stays news
        unless photos are added (then who appears is asked like any photo)."""
        photos = unique_photos(photos)
        if photos:
            check_photos(photos)
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            view = await load_view(r, submission_id)
            if view.author.id != author.id:
                raise NotAllowed("error.not_author")
            news = not photos and not view.media_keys
            title_, caption, link_ = check_content(title, caption, link, news=news)
            if news:
                appears, people, people_consented = Appears.NOBODY, (), False
            if transition(view.status, Status.PENDING) is None:
                raise InvalidTransition(status=view.status)
            fresh = await r.members.view(author.id)
            await self._check_can_submit(r, fresh)
            site_id, campaign_id = await self._check_refs(r, fresh, site_id, campaign_id)
            declared = await self.core.consents.declare(r, fresh, appears, people, people_consented)
            if not await r.submissions.transition(
                submission_id, expected=Status.CHANGES_REQUESTED, new=Status.PENDING, now=now
            ):
                await raise_already_decided(r, submission_id)
            await r.submissions.update_content(
                submission_id,
                caption=caption,
                people_consented=declared.outside_agreement,
                appears=declared.appears.value if declared.appears else None,
                sensitive=sensitive,
                site_id=site_id,
                campaign_id=campaign_id,
                title=title_,
                link=link_,
            )
            await self.core.consents.ask(r, submission_id, declared, now)
            if photos:
                dup = await r.submissions.find_duplicate(
                    fresh.id, [p.source_sha256 for p in photos], exclude_id=submission_id
                )
                if dup is not None:
                    raise DuplicatePhoto(id=dup)
                await r.submissions.attach_media(
                    submission_id, await self._record_media(r, fresh, photos)
                )
            await r.reviews.add(
                submission_id,
                actor_id=author.id,
                action=ReviewAction.RESUBMITTED,
                from_status=Status.CHANGES_REQUESTED,
                to_status=Status.PENDING,
                reason=None,
                now=now,
            )
            view = await load_view(r, submission_id)
            await self.update_cards(r, view, superseded=True)
            await self.post_cards(r, view)
            await notify.dm(r, fresh, cards.receipt_dm(translator(fresh.locale), view), now=now)
            await self.core.consents.send_requests(r, view, now)
        self.core.outbox_changed()
        return view

    async def form_choices(
        self, member: MemberView
    ) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """Sites and active campaigns to offer in the submission form (cached per
        workspace: ``bot/services/forms.py``)."""
        return await self.core.forms.choices(member)

    # -- shared with review ---------------------------------------------------------

    async def post_cards(self, r: Repos, view: SubmissionView) -> list[int]:
        """Queue the review card in the review channel, or to each CM when none is set."""
        now = self.core.clock()
        ws = await r.workspaces.get(view.workspace_id)
        t = translator(ws.locale)
        # A CM may have chosen the channel from chat ("review here"); else the setting.
        config = await self.core.config.load(r, ws.id)
        channel = config.review_channel
        card = cards.review_card(t, view, config.timezone)
        ids: list[int] = []
        if channel:
            ids.append(
                await notify.channel_post(
                    r,
                    workspace_id=ws.id,
                    platform=ws.platform,
                    channel=channel,
                    message=card,
                    now=now,
                    dedupe_key=f"card:{view.id}:{view.revision}",
                )
            )
        else:
            cms = await r.members.with_role(ws.id, Role.CM)
            # One's own submission goes to the other reviewers (to all when alone).
            others = [cm for cm in cms if cm.id != view.author.id] or cms
            for cm in others:
                msg = cards.review_card(translator(cm.locale), view, config.timezone)
                ids.append(
                    await notify.dm(
                        r, cm, msg, now=now, dedupe_key=f"card:{view.id}:{view.revision}:{cm.id}"
                    )
                )
        await r.submissions.set_cards(view.id, ids)
        return ids

    async def update_cards(
        self, r: Repos, view: SubmissionView, *, superseded: bool = False
    ) -> None:
        """Queue an in-place update of every card showing this submission, each in the
        language of whoever sees it (the workspace's for a channel, the person's for a DM).
        ``superseded`` turns them into a pointer to the new cards of a resubmission."""
        row = await r.submissions.get(view.id)
        ws = await r.workspaces.get(view.workspace_id)
        tz = (await self.core.config.load(r, ws.id)).timezone
        for post_id in (row.card_outbox_ids or []) if row else []:
            original = await r.outbox.get(post_id)
            if original is None:
                # A card sent by DM to someone since forgotten (their messages are gone).
                continue
            locale = ws.locale
            if original is not None and original.target.get("kind") == "user":
                member = await r.members.find(ws.id, original.target["id"])
                if member is not None:
                    locale = (await r.members.view(member.id)).locale
            t = translator(locale)
            card = cards.superseded_card(t, view) if superseded else cards.review_card(t, view, tz)
            await notify.replace(r, post_id, card, now=self.core.clock())

    async def _check_can_submit(self, r: Repos, member: MemberView) -> None:
        if Role.AMBASSADOR not in member.roles:
            raise NotAmbassador()
        current = await r.charters.current(member.workspace_id)
        accepted = await r.charters.accepted_version(member.id)
        if current is not None and accepted != current.version:
            raise CharterNotAccepted(version=current.version)

    async def _check_refs(
        self, r: Repos, member: MemberView, site_id: int | None, campaign_id: int | None
    ) -> tuple[int | None, int | None]:
        site_id = site_id if site_id is not None else member.site_id
        if site_id is not None:
            site = await r.sites.get(site_id)
            if site is None or site.workspace_id != member.workspace_id:
                raise InvalidInput("error.unknown_site", field="site")
        if campaign_id is not None:
            campaign = await r.campaigns.get(campaign_id)
            if campaign is None or campaign.workspace_id != member.workspace_id:
                raise InvalidInput("error.unknown_campaign", field="campaign")
            # Running today in the workspace's timezone (ending today: until midnight
            # there), not closed, and for this site or every site.
            config = await self.core.config.load(r, member.workspace_id)
            today = local_day(self.core.clock(), config.timezone)
            running = campaign.starts_on <= today <= campaign.ends_on
            sites = (await r.campaigns.site_ids([campaign.id])).get(campaign.id)
            for_site = not sites or site_id in sites
            if campaign.closed_at is not None or not running or not for_site:
                raise InvalidInput("error.campaign_over", field="campaign", title=campaign.title)
        return site_id, campaign_id

    async def _record_media(
        self, r: Repos, member: MemberView, photos: Sequence[CleanImage]
    ) -> list[int]:
        now = self.core.clock()
        return [
            await r.media.add(
                owner_id=member.id,
                sha256=p.sha256,
                source_sha256=p.source_sha256,
                mime=p.mime,
                size=p.size,
                width=p.width,
                height=p.height,
                storage_key=p.storage_key,
                now=now,
                poster_key=p.poster_key,
            )
            for p in photos
        ]
