"""The action table: every button, form and slash subcommand, with who may use it.

An entry is declared where its handler is written, errbot-style::

    @action(ActionName.REVIEW_APPROVE, Permission.of(Role.CM, Role.APPROVER,
            target=Target.SUBMISSION, author=Author.OTHERS))
    async def approve(req: Request) -> Reply: ...

``Permission`` has no default: an action cannot be added without saying who may use it,
and ``tests/test_action_table.py`` walks every entry with people who must be refused.
``bot.actions.dispatch`` runs the one check (``authorize``) in front of all of them.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.i18n import Translator
from bot.media import CleanImage
from bot.ui import Form, Reply
from domain import MemberView, Role, SubmissionView

if TYPE_CHECKING:
    from bot.core import Core
    from bot.services.config import WorkspaceConfig


class ActionName(enum.StrEnum):
    """Every action's name: buttons and forms carry it, adapters route on it."""

    # Slash commands: /submit and /relais <subcommand>.
    SUBMIT = "submit"
    HELP = "help"
    JOIN = "join"
    LEAVE = "leave"
    ME = "me"
    SNOOZE = "snooze"
    DIGEST = "digest"
    CONFIG = "config"
    # ``config me [key on|off]``: a member's own preferences (leaderboard, badges).
    CONFIG_ME = "config.me"
    # ``mydata``: everything stored about the member, by DM (JSON file and photos zip).
    MYDATA = "mydata"
    # ``forget``: what it deletes and a button; ``forget.confirm``: the button (it can
    # only ever forget whoever clicks it, and only if the prompt was theirs).
    FORGET = "forget"
    FORGET_CONFIRM = "forget.confirm"
    # ``library``: a short-lived signed link to the content library page (CMs).
    LIBRARY = "library"
    STATS = "stats"
    LEADERBOARD = "leaderboard"
    EXPORT = "export"
    CHARTER = "charter"
    CAMPAIGN = "campaign"
    SITE = "site"
    ROLE = "role"
    # ``role grant|revoke <person> cm|approver``: reached from ``role``, admins only.
    ROLE_STAFF = "role.staff"
    # A button that runs a /relais subcommand (App Home, nudges).
    RELAIS_COMMAND = "relais.command"
    # Buttons and forms.
    CHARTER_ACCEPT = "charter.accept"
    # ``charter publish``: the form to edit the charter, then what changed, then publish.
    CHARTER_PUBLISH = "charter.publish"
    # ``campaign new``: the form (title, brief, dates, site, hashtag).
    CAMPAIGN_NEW = "campaign.new"
    SUBMISSION_CREATE = "submission.create"
    SUBMISSION_WITHDRAW = "submission.withdraw"
    SUBMISSION_RESUBMIT_FORM = "submission.resubmit_form"
    SUBMISSION_RESUBMIT = "submission.resubmit"
    REVIEW_SHOW = "review.show"
    REVIEW_APPROVE = "review.approve"
    # Approve for use inside the company only (always possible, whatever the consents).
    REVIEW_APPROVE_INTERNAL = "review.approve_internal"
    REVIEW_REJECT = "review.reject"
    REVIEW_CHANGES = "review.changes"
    REVIEW_ESCALATE = "review.escalate"
    # ``consent``: the photos the member appears in (and their own), with Withdraw.
    CONSENT = "consent"
    # The buttons of a consent request, for the person named only (Target.CONSENT).
    CONSENT_AGREE = "consent.agree"
    CONSENT_DECLINE = "consent.decline"
    CONSENT_WITHDRAW = "consent.withdraw"
    # The author takes back their own photo's use outside the company.
    CONSENT_WITHDRAW_OWN = "consent.withdraw_own"
    # The Thank button on an approved review card: the author's thank-you, once.
    REVIEW_THANK = "review.thank"


class Target(enum.Enum):
    """What the action's value names."""

    NONE = "none"
    # ``"<id>"`` or ``"<id>:<revision>"``: a submission, which must be in the member's
    # own workspace (another workspace's is "not found", never shown).
    SUBMISSION = "submission"
    # ``"<id>"``: a consent request, which must name the member (only the person in the
    # photo answers or withdraws it); its submission must be in their workspace.
    CONSENT = "consent"


class Author(enum.Enum):
    """How the member must relate to the target submission."""

    ANY = "any"
    # Only the submission's author (withdraw, resubmit).
    OWN = "own"
    # Never the author (a reviewer deciding their own submission), unless the workspace
    # set ``self_review on`` (a one-person programme).
    OTHERS = "others"


@dataclass(frozen=True)
class Permission:
    """Who may use an action: any of ``roles`` (admin holds them all; none: every member
    of the workspace), on which target, and whether it must (not) be their own.

    ``site_referents``: the referents of the target submission's site may use it too,
    when the workspace allows it (``/relais config referents_review on``); the review
    service still keeps sensitive and escalated submissions for approvers."""

    roles: frozenset[Role]
    target: Target = Target.NONE
    author: Author = Author.ANY
    site_referents: bool = False

    @classmethod
    def of(
        cls,
        *roles: Role,
        target: Target = Target.NONE,
        author: Author = Author.ANY,
        site_referents: bool = False,
    ) -> Permission:
        """A permission for the holders of ``roles`` (none given: every member)."""
        if site_referents and target is not Target.SUBMISSION:
            raise ValueError("site_referents needs a submission target (whose site?)")
        return cls(frozenset(roles), target, author, site_referents)


#: Every member of the workspace (help, join, /submit which walks them to the charter).
EVERYONE = Permission.of()


@dataclass(frozen=True)
class Request:
    """One action as its handler sees it, after the permission check."""

    core: Core
    # Re-read from the database for this request: roles are never taken from a button.
    member: MemberView
    t: Translator
    config: WorkspaceConfig
    name: ActionName
    value: str
    # The submitted form's values; None for a button press or a command.
    values: Mapping[str, Any] | None
    photos: Sequence[CleanImage]
    # The target, loaded and checked (Target.SUBMISSION), and the revision the card showed.
    submission: SubmissionView | None = None
    revision: int | None = None
    # The checked consent request (Target.CONSENT).
    consent_id: int | None = None

    @property
    def tz(self) -> str:
        """The timezone for dates shown to this member: theirs, else the workspace's."""
        return self.member.timezone or self.config.timezone

    @property
    def sub(self) -> SubmissionView:
        """The checked target submission (for Target.SUBMISSION actions)."""
        assert self.submission is not None, f"{self.name} has no submission target"
        return self.submission


Handler = Callable[[Request], Awaitable[Reply]]
FormBuilder = Callable[[Request], Awaitable[Form]]


@dataclass(frozen=True)
class Action:
    """One entry of the table."""

    name: ActionName
    handler: Handler
    permission: Permission
    # The form that collects this action's values: a button press (no values) gets it,
    # after the permission check, so nobody is shown a form they may not submit.
    form: FormBuilder | None = None
    # Words that run it as ``/relais <word>`` (English first; French aliases welcome).
    words: tuple[str, ...] = ()
    # True when it may change who the member is (roles, charter, snooze): adapters
    # drop their cached identity afterwards.
    changes_member: bool = False


TABLE: dict[ActionName, Action] = {}


def action(
    name: ActionName,
    permission: Permission,
    *,
    form: FormBuilder | None = None,
    words: tuple[str, ...] = (),
    changes_member: bool = False,
) -> Callable[[Handler], Handler]:
    """Declare ``name``'s handler and its permission (and form, and command words)."""

    def register(handler: Handler) -> Handler:
        if name in TABLE:
            raise ValueError(f"action {name} is declared twice")
        TABLE[name] = Action(name, handler, permission, form, words, changes_member)
        return handler

    return register
