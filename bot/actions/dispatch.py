"""The one check in front of every action, and the way in for adapters.

``handle_command`` (``/submit``, ``/relais <subcommand>``) and ``handle_action`` (a
button or a submitted form) both end in ``dispatch``: find the entry in the table,
``authorize`` it (roles re-read from the database, the target submission loaded and
checked against the member's workspace and authorship), then show the entry's form or
run its handler. Adapters never decide permissions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from bot import cards
from bot.actions.common import card_ref, error_reply, int_or_none
from bot.actions.table import TABLE, Action, ActionName, Author, Permission, Request, Target
from bot.core import Core
from bot.errors import NotAllowed, NotAmbassador, NotFound, RelaisError
from bot.i18n import translator
from bot.media import CleanImage
from bot.services.review import REVIEWER_ROLES, own_review_refused
from bot.services.submissions import load_view
from bot.ui import Reply
from domain import MemberView, Role, SubmissionView


@functools.cache
def command_words() -> dict[str, ActionName]:
    """``/relais <word>`` -> the action it runs (English words and French aliases)."""
    return {word: entry.name for entry in TABLE.values() for word in entry.words}


def parse_command(command: str, text: str) -> tuple[ActionName | None, str, str]:
    """(action or None when unknown, the rest of the line, the word typed)."""
    if command.lstrip("/").lower() == "submit":
        return ActionName.SUBMIT, text.strip(), "submit"
    words = command_words()
    parts = text.split(maxsplit=2)
    # Two-word commands first (``config me``: a member's own settings, open to everyone,
    # while ``config`` is the CMs').
    if len(parts) >= 2 and (pair := f"{parts[0]} {parts[1]}".lower()) in words:
        return words[pair], parts[2].strip() if len(parts) > 2 else "", pair
    word, _, rest = text.strip().partition(" ")
    return words.get(word.lower()), rest.strip(), word


def changes_member(action: str, text: str = "") -> bool:
    """True when running ``action`` (or ``/relais text``) may change who the member is."""
    if action in ("/relais", ActionName.RELAIS_COMMAND):
        name, _, _ = parse_command("/relais", text)
        return name is not None and TABLE[name].changes_member
    known = action in ActionName.__members__.values()
    return known and TABLE[ActionName(action)].changes_member


async def handle_command(core: Core, member: MemberView, command: str, text: str) -> Reply:
    """Answer ``/submit [caption]`` or ``/relais <subcommand> [args]``."""
    name, rest, word = parse_command(command, text)
    if name is None:
        t = translator(member.locale)
        return Reply(message=cards.notice(t("help.unknown", word=word[:40])))
    return await dispatch(core, member, name, rest)


async def handle_action(
    core: Core,
    member: MemberView,
    action: str,
    value: str,
    values: Mapping[str, Any] | None = None,
    photos: Sequence[CleanImage] = (),
) -> Reply:
    """Run the action a button or a form asked for and say what happened."""
    try:
        name = ActionName(action)
    except ValueError:
        t = translator(member.locale)
        return error_reply(
            t, NotFound("error.unknown_action", action=action[:60]), member.timezone or "UTC"
        )
    return await dispatch(core, member, name, value, values, photos)


async def dispatch(
    core: Core,
    member: MemberView,
    name: ActionName,
    value: str,
    values: Mapping[str, Any] | None = None,
    photos: Sequence[CleanImage] = (),
) -> Reply:
    """Check, then run one entry of the table. Errors become replies in the member's
    language (form errors attached to their field)."""
    t = translator(member.locale)
    # Refusals before the WorkspaceConfig is read carry no date; afterwards dates follow it.
    tz = member.timezone or "UTC"
    entry = TABLE[name]
    try:
        request = await authorize(core, member, entry, value, values, photos)
        tz = request.tz
        if entry.form is not None and not values:
            return Reply(form=await entry.form(request))
        return await entry.handler(request)
    except RelaisError as err:
        return error_reply(t, err, tz)


async def authorize(
    core: Core,
    member: MemberView,
    entry: Action,
    value: str,
    values: Mapping[str, Any] | None,
    photos: Sequence[CleanImage],
) -> Request:
    """The permission check, declared by the entry and nowhere else."""
    permission = entry.permission
    submission: SubmissionView | None = None
    revision: int | None = None
    consent_id: int | None = None
    fresh = member
    by_role = True
    if permission.roles or permission.target is not Target.NONE:
        # Roles and the target are read afresh: never taken from what a button showed.
        async with core.db.read() as r:
            fresh = await r.members.view(member.id)
            by_role = _has_roles(fresh, permission)
            if not by_role and not (permission.site_referents and fresh.referent_sites):
                _refuse(permission)
            if permission.target is Target.SUBMISSION:
                submission_id, revision = card_ref(value)
                submission = await load_view(r, submission_id)
            if permission.target is Target.CONSENT:
                consent_id = int_or_none(value)
                consent = await r.consents.get(consent_id) if consent_id else None
                if consent is None:
                    raise NotFound("error.consent_not_found")
                submission = await load_view(r, consent.submission_id)
                if submission.workspace_id != fresh.workspace_id:
                    raise NotFound("error.consent_not_found")
                if consent.member_id != fresh.id:
                    # Only the person in the photo answers for themselves.
                    raise NotAllowed("error.not_named")
    config = await core.config.recent(fresh.workspace_id)
    if submission is not None:
        if submission.workspace_id != fresh.workspace_id:
            # Another workspace's submission does not exist for this member.
            raise NotFound("error.submission_not_found", id=submission.id)
        if not by_role and not (
            config.referents_review and submission.site_id in fresh.referent_sites
        ):
            # A referent, but not of this submission's site (or the workspace keeps
            # review to the reviewers).
            _refuse(permission)
        if permission.author is Author.OWN and submission.author.id != fresh.id:
            raise NotAllowed("error.not_author")
        if permission.author is Author.OTHERS and own_review_refused(
            fresh, submission, config.self_review
        ):
            raise NotAllowed("error.own_submission")
    return Request(
        core=core,
        member=fresh,
        t=translator(fresh.locale),
        config=config,
        name=entry.name,
        value=value,
        values=values,
        photos=photos,
        submission=submission,
        revision=revision,
        consent_id=consent_id,
    )


def _has_roles(member: MemberView, permission: Permission) -> bool:
    return not permission.roles or member.has(*permission.roles)


def _refuse(permission: Permission) -> None:
    if permission.roles == {Role.AMBASSADOR}:
        raise NotAmbassador()
    if permission.roles == frozenset(REVIEWER_ROLES):
        raise NotAllowed("error.reviewers_only")
    if permission.roles == {Role.ADMIN}:
        raise NotAllowed("error.admins_only")
    raise NotAllowed()
