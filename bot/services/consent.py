"""Consent of the people in a photo.

The submission form says who appears: nobody, colleagues (named one by one), or people
outside the company (the author declares holding their written agreement). Each
colleague named gets a ``consents`` row and a direct message with the photo and Agree /
Decline, queued in the transaction that records the submission. Their answers show on
the review card, updated in place. ``/relais consent`` lists the photos a person
appears in, with Withdraw; a withdrawal (or a decline after agreeing, or any decline
once the photo is approved) marks the submission ``consent_withdrawn``: out of future
digests, the content library and the export's external use, the CMs told, the audit
trail written. The author may withdraw their own photo's external use the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import cards, notify
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import translator
from bot.services.roles import person_token
from bot.services.submissions import load_view
from domain import (
    Appears,
    ConsentEntry,
    ConsentState,
    MemberView,
    Platform,
    Role,
    Status,
    SubmissionView,
)
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core

#: Most colleagues one submission may name (each gets a message).
MAX_PEOPLE = 20
#: Lines of ``/relais consent`` (three blocks each: a message holds 50 on Slack).
LIST_MAX = 15
# Platform ids a picker hands over: Slack user ids, Teams (Entra ID) object ids.
_PLATFORM_ID = {
    Platform.SLACK: re.compile(r"[UW][A-Z0-9]{2,20}"),
    Platform.TEAMS: re.compile(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ),
}
#: Submission statuses whose consent answers still matter (cards updated, CMs told).
LIVE = frozenset((Status.PENDING, Status.ESCALATED, Status.APPROVED, Status.CHANGES_REQUESTED))


def people_tokens(value: Any) -> list[str]:
    """What a people field sent: a list (Slack's multi-user select, the console) or a
    comma-separated string (Teams' people picker); empty items dropped, order kept."""
    items: Iterable[Any]
    if isinstance(value, list | tuple):
        items = value
    elif isinstance(value, str):
        items = value.split(",")
    else:
        items = ()
    seen: list[str] = []
    for item in items:
        token = str(item).strip()
        if token and token not in seen:
            seen.append(token)
    return seen


def parse_appears(value: Any) -> Appears:
    """The required answer "who appears in these photos"; no answer is refused (there is
    no default that would silently mean "nobody")."""
    try:
        return Appears(str(value or "").strip().lower())
    except ValueError:
        raise InvalidInput("error.appears_required", field="appears") from None


def declaration_problem(values: Mapping[str, Any]) -> InvalidInput | None:
    """What is wrong with a form's "who appears" answers that needs no database (no
    answer; colleagues but nobody picked; outside people without the agreement box),
    for adapters that check a form before accepting it (Slack's modal); None when
    nothing is. The service checks it all again, and the people named."""
    try:
        appears = parse_appears(values.get("appears"))
    except InvalidInput as err:
        return err
    if appears is Appears.COLLEAGUES and not people_tokens(values.get("people")):
        return InvalidInput("error.people_required", field="people")
    agreement = values.get("outside_agreement")
    if appears is Appears.OUTSIDE and str(agreement).lower() not in ("true", "1", "yes", "on"):
        return InvalidInput("error.outside_agreement_required", field="outside_agreement")
    return None


@dataclass(frozen=True)
class Declared:
    """Who appears in a submission, checked: the colleagues named (members of the
    workspace, the author aside) and whether outside people's agreement is declared."""

    appears: Appears | None
    people: tuple[MemberView, ...] = ()
    outside_agreement: bool = False


class Consents:
    """Asking, answering, withdrawing, reminding."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def declare(
        self,
        r: Repos,
        author: MemberView,
        appears: Appears | None,
        people: Sequence[str],
        outside_agreement: bool,
    ) -> Declared:
        """Check what the form said about who appears (inside the submission's transaction)."""
        if appears is None:
            return Declared(None)
        if appears is Appears.OUTSIDE:
            if not outside_agreement:
                raise InvalidInput("error.outside_agreement_required", field="outside_agreement")
            return Declared(appears, (), True)
        if appears is Appears.NOBODY:
            return Declared(appears)
        named = await self._resolve(r, author, people)
        if not named:
            raise InvalidInput("error.people_required", field="people")
        return Declared(appears, tuple(named))

    async def _resolve(
        self, r: Repos, author: MemberView, tokens: Sequence[str]
    ) -> list[MemberView]:
        """The members ``tokens`` name (platform ids from a picker, mentions, or names typed
        in the console); unknown names are refused, naming them. A valid Slack or Teams
        id not seen yet becomes a member row (they have not talked to Relais yet)."""
        if len(tokens) > MAX_PEOPLE:
            raise InvalidInput("error.too_many_people", field="people", max=MAX_PEOPLE)
        found: dict[int, MemberView] = {}
        unknown: list[str] = []
        pattern = _PLATFORM_ID.get(author.platform)
        for token in tokens:
            who, name = person_token(token)
            row = await r.members.find(author.workspace_id, who) if who else None
            for candidate in (who, name):
                if row is None and candidate:
                    row = await r.members.by_name(author.workspace_id, candidate)
            if row is None and who and pattern is not None and pattern.fullmatch(who):
                row = await r.members.get_or_create(
                    author.workspace_id,
                    who,
                    display_name=name or who,
                    locale=None,
                    timezone=None,
                    now=self.core.clock(),
                )
            if row is None or row.forgotten_at is not None:
                unknown.append(name or who or token)
                continue
            if row.id != author.id:  # the author's own consent goes without saying
                found.setdefault(row.id, await r.members.view(row.id))
        if unknown:
            raise InvalidInput(
                "error.unknown_people", field="people", names=", ".join(unknown)[:200]
            )
        return list(found.values())

    async def ask(self, r: Repos, submission_id: int, declared: Declared, now: datetime) -> None:
        """Record a request for each colleague named; drop those of people no longer
        named (a resubmission). Answers already given are kept."""
        await r.consents.keep_only(submission_id, [p.id for p in declared.people])
        for person in declared.people:
            await r.consents.ask(submission_id, person.id, now=now)

    async def send_requests(self, r: Repos, view: SubmissionView, now: datetime) -> None:
        """Queue the message with the photo and Agree / Decline to each person still to
        answer (once per request: its dedupe key)."""
        for line in view.consents:
            key = f"consent:{line.id}"
            if line.state is not ConsentState.PENDING or await r.outbox.has_dedupe_key(key):
                continue
            person = await r.members.view(line.member_id)
            t = translator(person.locale)
            await notify.dm(
                r,
                person,
                cards.consent_request(t, view, line.id),
                now=now,
                dedupe_key=key,
            )

    async def answer(self, member: MemberView, consent_id: int, *, agree: bool) -> SubmissionView:
        """The person named agrees or declines. A decline after agreeing, or once the photo
        is approved, counts as a withdrawal."""
        new = ConsentState.AGREED if agree else ConsentState.DECLINED
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            row = await self._own(r, member, consent_id)
            before = ConsentState(row.state)
            if before is new:
                return await load_view(r, row.submission_id)
            if before is ConsentState.WITHDRAWN:
                raise NotAllowed("error.consent_withdrawn_already")
            if not await r.consents.answer(consent_id, expected=(before,), new=new, now=now):
                return await load_view(r, row.submission_id)
            view = await load_view(r, row.submission_id)
            withdrawal = not agree and (
                before is ConsentState.AGREED or view.status is Status.APPROVED
            )
            await r.audit.add(
                view.workspace_id,
                actor_id=member.id,
                action="consent.agreed" if agree else "consent.declined",
                subject=f"submission:{view.id}",
                detail={"consent": consent_id, "before": before.value},
                now=now,
            )
            if withdrawal:
                view = await self._withdrawn(r, view, member, now)
            elif view.status in LIVE:
                await self.core.submissions.update_cards(r, view)
        self.core.outbox_changed()
        return view

    async def withdraw(self, member: MemberView, consent_id: int) -> SubmissionView:
        """The person named takes their consent back (whatever they answered before)."""
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            row = await self._own(r, member, consent_id)
            before = ConsentState(row.state)
            if before is ConsentState.WITHDRAWN:
                return await load_view(r, row.submission_id)
            await r.consents.answer(
                consent_id, expected=(before,), new=ConsentState.WITHDRAWN, now=now
            )
            view = await load_view(r, row.submission_id)
            await r.audit.add(
                view.workspace_id,
                actor_id=member.id,
                action="consent.withdrawn",
                subject=f"submission:{view.id}",
                detail={"consent": consent_id, "before": before.value, "by": "person"},
                now=now,
            )
            view = await self._withdrawn(r, view, member, now)
        self.core.outbox_changed()
        return view

    async def withdraw_as_author(self, author: MemberView, submission_id: int) -> SubmissionView:
        """The author takes back their own photo's use outside the company."""
        now = self.core.clock()
        async with self.core.db.transaction() as r:
            view = await load_view(r, submission_id)
            if view.author.id != author.id:
                raise NotAllowed("error.not_author")
            if view.consent_withdrawn:
                return view
            await r.audit.add(
                view.workspace_id,
                actor_id=author.id,
                action="consent.withdrawn",
                subject=f"submission:{view.id}",
                detail={"by": "author"},
                now=now,
            )
            view = await self._withdrawn(r, view, author, now)
        self.core.outbox_changed()
        return view

    async def forget(self, r: Repos, member_id: int, now: datetime) -> list[int]:
        """``/relais forget``: the person's pending and agreed answers become withdrawals
        (their row stays, as the pseudonym, so a decline keeps refusing); the photos they
        are in leave future digests, the library and external use. Returns those
        submissions (their cards are refreshed by the caller, after the pseudonym)."""
        submissions = await r.consents.withdraw_all(member_id, now=now)
        for submission_id in submissions:
            await r.submissions.withdraw_consent(submission_id, now=now)
        return submissions

    async def entries(self, member: MemberView) -> list[ConsentEntry]:
        """``/relais consent``: the photos ``member`` appears in (newest first), then their
        own approved photos still cleared for use outside the company; ``LIST_MAX`` lines."""
        async with self.core.db.read() as r:
            out: list[ConsentEntry] = []
            for row in await r.consents.of_member(member.id):
                if len(out) >= LIST_MAX:
                    break
                view = await load_view(r, row.submission_id)
                if view.status in (Status.REJECTED, Status.WITHDRAWN):
                    continue
                out.append(ConsentEntry(row.id, view, ConsentState(row.state)))
            for submission_id in await r.submissions.approved_ids_of(member.id):
                if len(out) >= LIST_MAX:
                    break
                view = await load_view(r, submission_id)
                if view.external_use_ok:
                    out.append(ConsentEntry(None, view, None))
            return out

    async def _own(self, r: Repos, member: MemberView, consent_id: int) -> Any:
        row = await r.consents.get(consent_id)
        if row is None:
            raise NotFound("error.consent_not_found")
        if row.member_id != member.id:
            raise NotAllowed("error.not_named")
        return row

    async def _withdrawn(
        self, r: Repos, view: SubmissionView, actor: MemberView, now: datetime
    ) -> SubmissionView:
        """Mark the submission withdrawn from external use, refresh its cards and tell
        the CMs (in the review channel, or by DM when there is none)."""
        first = await r.submissions.withdraw_consent(view.id, now=now)
        view = await load_view(r, view.id)
        if view.status in LIVE:
            await self.core.submissions.update_cards(r, view)
        if not first:
            return view
        ws = await r.workspaces.get(view.workspace_id)
        config = await self.core.config.load(r, ws.id)
        by_author = actor.id == view.author.id
        key = "consent.cms_withdrawn_author" if by_author else "consent.cms_withdrawn"

        def note(locale: str) -> Any:
            t = translator(locale)
            return cards.notice(
                t(key, id=view.id, name=actor.display_name, author=cards.author_name(t, view))
            )

        if config.review_channel:
            await notify.channel_post(
                r,
                workspace_id=ws.id,
                platform=ws.platform,
                channel=config.review_channel,
                message=note(ws.locale),
                now=now,
                dedupe_key=f"consent-withdrawn:{view.id}",
            )
        else:
            for cm in await r.members.with_role(ws.id, Role.CM):
                await notify.dm(
                    r,
                    cm,
                    note(cm.locale),
                    now=now,
                    dedupe_key=f"consent-withdrawn:{view.id}:{cm.id}",
                )
        return view
