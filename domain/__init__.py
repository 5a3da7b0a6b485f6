"""The ground floor: statuses, roles, value objects and limits shared by every layer.

Imports nothing from the project: the core, storage and the adapters all build on it.
"""

from __future__ import annotations

import enum
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime


class Platform(enum.StrEnum):
    """Where a workspace lives."""

    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"


class Role(enum.StrEnum):
    """Roles a member can hold (DESIGN.md, "Roles"). ``member`` is implicit."""

    AMBASSADOR = "ambassador"
    REFERENT = "referent"
    CM = "cm"
    APPROVER = "approver"
    ADMIN = "admin"


class Status(enum.StrEnum):
    """Submission lifecycle."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"


class ReviewAction(enum.StrEnum):
    """What an audit row records."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    ESCALATED = "escalated"
    RESUBMITTED = "resubmitted"
    WITHDRAWN = "withdrawn"


class Mover(enum.StrEnum):
    """Who makes a transition: a reviewer (the review rule checks which roles) or the
    submission's author."""

    REVIEWER = "reviewer"
    AUTHOR = "author"


@dataclass(frozen=True)
class Transition:
    """One allowed move of a submission, what the audit trail records, and who makes it."""

    source: Status
    target: Status
    audit: ReviewAction
    by: Mover

    @property
    def decides(self) -> bool:
        """True for a reviewer's decision (it records who decided, when and why)."""
        return self.by is Mover.REVIEWER


#: The submission state machine (DESIGN.md "The data"), the only place its rules live:
#: review, withdraw, resubmit and the repository's conditional UPDATE all read it.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.PENDING, Status.APPROVED, ReviewAction.APPROVED, Mover.REVIEWER),
    Transition(Status.PENDING, Status.REJECTED, ReviewAction.REJECTED, Mover.REVIEWER),
    Transition(
        Status.PENDING, Status.CHANGES_REQUESTED, ReviewAction.CHANGES_REQUESTED, Mover.REVIEWER
    ),
    Transition(Status.PENDING, Status.ESCALATED, ReviewAction.ESCALATED, Mover.REVIEWER),
    Transition(Status.ESCALATED, Status.APPROVED, ReviewAction.APPROVED, Mover.REVIEWER),
    Transition(Status.ESCALATED, Status.REJECTED, ReviewAction.REJECTED, Mover.REVIEWER),
    Transition(Status.CHANGES_REQUESTED, Status.PENDING, ReviewAction.RESUBMITTED, Mover.AUTHOR),
    Transition(Status.PENDING, Status.WITHDRAWN, ReviewAction.WITHDRAWN, Mover.AUTHOR),
    Transition(Status.CHANGES_REQUESTED, Status.WITHDRAWN, ReviewAction.WITHDRAWN, Mover.AUTHOR),
    Transition(Status.ESCALATED, Status.WITHDRAWN, ReviewAction.WITHDRAWN, Mover.AUTHOR),
)
_BY_PAIR = {(t.source, t.target): t for t in TRANSITIONS}


def transition(source: Status, target: Status) -> Transition | None:
    """The move ``source -> target``, or None when the state machine forbids it."""
    return _BY_PAIR.get((source, target))


def sources(target: Status) -> frozenset[Status]:
    """The statuses a submission may move to ``target`` from."""
    return frozenset(t.source for t in TRANSITIONS if t.target is target)


#: Statuses in which nobody has decided yet: the author may still withdraw.
UNDECIDED = sources(Status.WITHDRAWN)


class OutboxStatus(enum.StrEnum):
    """Outbox row lifecycle: pending -> sending -> sent, or -> dead after the last try."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class JobStatus(enum.StrEnum):
    """Job lifecycle: pending -> running -> done, or -> dead after the last try."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class BadgeCode(enum.StrEnum):
    """A personal milestone, awarded once per member when an approval reaches it."""

    FIRST_APPROVED = "first_approved"
    APPROVED_10 = "approved_10"
    APPROVED_50 = "approved_50"
    FIRST_CAMPAIGN = "first_campaign"
    # Approved submissions from three different sites (the submissions' sites).
    THREE_SITES = "three_sites"


@dataclass(frozen=True)
class MemberView:
    """A member as the core sees it (no ORM object escapes storage)."""

    id: int
    workspace_id: int
    platform: Platform
    external_id: str
    display_name: str
    locale: str
    timezone: str | None
    site_id: int | None
    roles: frozenset[Role]
    # The sites this member is the referent of (Role.REFERENT is held while non-empty).
    referent_sites: frozenset[int] = field(default=frozenset())
    # Personal preferences (``/relais config me``).
    leaderboard_hidden: bool = False
    badges_public: bool = False
    # Forgotten at their request: shown as "a colleague from <site>", never named.
    forgotten: bool = False

    def has(self, *roles: Role) -> bool:
        """True when the member holds any of ``roles`` (admin holds them all)."""
        return Role.ADMIN in self.roles or any(r in self.roles for r in roles)


class Appears(enum.StrEnum):
    """Who appears in a submission's photos, as its author declared on the form."""

    NOBODY = "nobody"
    # Colleagues named on the form: each is asked (a ``consents`` row per person).
    COLLEAGUES = "colleagues"
    # People outside the company: the author declares holding their written agreement.
    OUTSIDE = "outside"


class ConsentState(enum.StrEnum):
    """The answer of one person named in a photo."""

    PENDING = "pending"
    AGREED = "agreed"
    DECLINED = "declined"
    # Agreed, then taken back (``/relais consent``), or the person was forgotten.
    WITHDRAWN = "withdrawn"


def external_use_allowed(
    appears: Appears | None,
    *,
    people_consented: bool,
    internal_only: bool,
    withdrawn: bool,
    everyone_agreed: bool,
) -> bool:
    """The one rule for using a photo outside the company (cards, the export, the
    content library): who appears was declared (people outside the company: with the
    author's declaration of their written agreement), everyone named agreed, it was not
    approved for internal use only, and nobody withdrew."""
    if appears is None or internal_only or withdrawn:
        return False
    if appears is Appears.OUTSIDE and not people_consented:
        return False
    return everyone_agreed


@dataclass(frozen=True)
class ConsentLine:
    """One person named in a submission's photos and their answer."""

    id: int
    member_id: int
    name: str
    state: ConsentState
    # The person's platform id (a people picker's value).
    external_id: str = ""


@dataclass(frozen=True)
class SubmissionView:
    """A submission with what a card or a DM needs to show."""

    id: int
    workspace_id: int
    author: MemberView
    caption: str
    status: Status
    site_name: str | None
    campaign_title: str | None
    people_consented: bool
    sensitive: bool
    media_keys: tuple[str, ...]
    created_at: datetime
    decided_by_name: str | None
    decided_at: datetime | None
    decision_reason: str | None
    revision: int
    site_id: int | None = None
    campaign_id: int | None = None
    # The CM's thank-you (approved submissions): who sent it, when; None before.
    thanked_by_name: str | None = None
    thanked_at: datetime | None = None
    # Who appears (None: sent before the form asked, see migration 0015).
    appears: Appears | None = None
    # Approved for use inside the company only (the consent was not complete).
    internal_only: bool = False
    consents: tuple[ConsentLine, ...] = ()
    # Someone named (or the author) took their consent back: out of future digests,
    # the content library and the export's external use.
    consent_withdrawn: bool = False
    # A title and a link (http/https), both optional on a photo; a news item (no
    # photo) always has a title, and its text is the caption.
    title: str | None = None
    link: str | None = None

    @property
    def is_news(self) -> bool:
        """Field news: a title and a text, no photo."""
        return not self.media_keys

    # The videos among the media: (poster key, cleaned clip key). A video's poster frame
    # is in ``media_keys`` where the video stands.
    videos: tuple[tuple[str, str], ...] = ()

    def video_for(self, media_key: str) -> str:
        """The cleaned clip whose poster frame is ``media_key`` ("" for a photo)."""
        return next((clip for poster, clip in self.videos if poster == media_key), "")

    @property
    def consent_complete(self) -> bool:
        """Everyone named agreed (true when nobody was named)."""
        return all(c.state is ConsentState.AGREED for c in self.consents)

    @property
    def external_use_ok(self) -> bool:
        """May this photo be used outside the company: who appears was declared (outside
        people: with their written agreement), everyone named agreed, it was not approved
        for internal use only, and nobody withdrew. The content library and the export
        follow this rule."""
        return external_use_allowed(
            self.appears,
            people_consented=self.people_consented,
            internal_only=self.internal_only,
            withdrawn=self.consent_withdrawn,
            everyone_agreed=self.consent_complete,
        )


@dataclass(frozen=True)
class ConsentEntry:
    """One line of ``/relais consent``: a photo and where the person stands."""

    # None: the person's own photo (the author withdraws its external use).
    consent_id: int | None
    submission: SubmissionView
    state: ConsentState | None
    # The CM's thank-you (approved submissions): who sent it, when; None before.
    thanked_by_name: str | None = None
    thanked_at: datetime | None = None


@dataclass(frozen=True)
class Charter:
    """The current charter and where the member stands with it."""

    version: int
    text: str
    accepted_version: int | None

    @property
    def accepted(self) -> bool:
        """True when the member accepted this very version."""
        return self.accepted_version == self.version


@dataclass(frozen=True)
class SubmissionLine:
    """One line of a member's history."""

    id: int
    caption: str
    status: Status
    created_at: datetime


@dataclass(frozen=True)
class Profile:
    """What ``/relais me`` and the App Home show."""

    member: MemberView
    site_name: str | None
    points: int
    charter: Charter
    snoozed_until: datetime | None
    recent: tuple[SubmissionLine, ...]
    awaiting_review: tuple[SubmissionLine, ...]
    awaiting_count: int = 0
    # Badges in the order they were earned.
    badges: tuple[BadgeCode, ...] = ()


@dataclass(frozen=True)
class CampaignLine:
    """The active campaign and its last day."""

    title: str
    brief: str
    ends_on: date


@dataclass(frozen=True)
class CampaignView:
    """A campaign as ``/relais campaign list|show`` and its closing post give it."""

    id: int
    title: str
    brief: str
    starts_on: date
    ends_on: date
    # The names of the sites it is for, in the sites' order; empty: every site.
    site_names: tuple[str, ...]
    hashtag: str | None
    closed: bool
    approved: int = 0
    sites: int = 0
    contributors: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class SiteLine:
    """One site as ``/relais site list`` shows it."""

    id: int
    name: str
    members: int
    referents: tuple[str, ...]
    # The channel of the site's own weekly digest ("" when it has none).
    digest_channel: str = ""


@dataclass(frozen=True)
class Digest:
    """Everything one digest shows."""

    workspace_id: int
    start: datetime
    end: datetime
    approved: int
    highlights: tuple[SubmissionView, ...]
    contributors: tuple[tuple[MemberView, int], ...]
    sites: tuple[tuple[str | None, int], ...]
    newcomers: tuple[MemberView, ...]
    campaign: CampaignLine | None
    milestones: tuple[int, ...]
    # A site's local digest: that site's name (None: the workspace's national digest).
    site: str | None = None

    @property
    def empty(self) -> bool:
        """True when nothing was approved in the period."""
        return self.approved == 0


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` by linear interpolation between closest ranks (as
    PostgreSQL's ``percentile_cont``); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class StatsView(enum.StrEnum):
    """Whose numbers ``/relais stats`` shows: the workspace (CMs), one site (a referent's,
    not offered yet), or the member's own (ambassadors)."""

    WORKSPACE = "workspace"
    SITE = "site"
    OWN = "own"


@dataclass(frozen=True)
class Durations:
    """How long something took, over ``count`` cases: median and 90th percentile
    (linear interpolation between closest ranks), in hours; None when there is none."""

    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class WeekCount:
    """One local week (Monday 00:00 in the workspace timezone) of submissions."""

    start: date
    submitted: int
    approved: int


@dataclass(frozen=True)
class SiteFigures:
    """A site's participation: ambassadors, and submissions this month and over the window."""

    name: str
    ambassadors: int
    submitted_month: int
    contributors_month: int
    submitted_window: int

    @property
    def silent(self) -> bool:
        """True when nobody of the site submitted anything this month."""
        return self.submitted_month == 0


@dataclass(frozen=True)
class CampaignFigures:
    """What a campaign brought in."""

    title: str
    starts_on: date
    ends_on: date
    submitted: int
    approved: int
    contributors: int


@dataclass(frozen=True)
class Stats:
    """Everything ``/relais stats`` shows, for one view (whole workspace, site or own)."""

    view: StatsView
    timezone: str
    at: datetime
    month: date
    ambassadors: int
    active_30_days: int
    joined_this_month: int
    weeks: tuple[WeekCount, ...]
    approved: int
    rejected: int
    decision: Durations
    escalated: int
    escalations_pending: int
    escalation_decision: Durations
    sites: tuple[SiteFigures, ...]
    campaigns: tuple[CampaignFigures, ...]

    @property
    def approval_rate(self) -> float | None:
        """Approved over approved and rejected (decided in the window); None without any."""
        decided = self.approved + self.rejected
        return self.approved / decided if decided else None

    @property
    def silent_sites(self) -> tuple[str, ...]:
        """Sites with no submission this month."""
        return tuple(site.name for site in self.sites if site.silent)


class LeaderboardPeriod(enum.StrEnum):
    """What a leaderboard sums: this calendar month (workspace timezone) or everything."""

    MONTH = "month"
    ALL = "all"


@dataclass(frozen=True)
class LeaderLine:
    """One contributor's total over a leaderboard's period; ``rank`` counts the people
    shown by name (a hidden member's own line says where they would stand)."""

    rank: int
    member_id: int
    name: str
    points: int
    photos: int
    hidden: bool


@dataclass(frozen=True)
class Leaderboard:
    """``/relais leaderboard`` as one reader may see it.

    ``lines``: the top of the people shown by name (none when ``counts_only``: a site
    where fewer than ``LEADERBOARD_MIN_NAMED`` people would be named). ``others`` and
    ``others_points``: the contributors not in ``lines`` (hidden, beyond the top, or all
    of them when counts only). ``own``: the reader's own line when it is not among
    ``lines`` (outside the top, or hidden: then only they see it); its rank is 0 when
    counts only (no ranking is shown there).
    """

    period: LeaderboardPeriod
    month: date | None
    site_name: str
    counts_only: bool
    lines: tuple[LeaderLine, ...]
    others: int
    others_points: int
    contributors: int
    points: int
    photos: int
    reader_id: int
    own: LeaderLine | None


#: How many people a leaderboard names, at most.
LEADERBOARD_TOP = 10
#: A site's leaderboard names people only when at least this many would be named.
LEADERBOARD_MIN_NAMED = 3
#: Longest personal note a CM's thank-you may carry (characters).
THANKS_NOTE_MAX = 500


#: Longest caption a submission may carry (characters).
CAPTION_MAX = 2000
#: Longest reason or note a reviewer may give (characters).
REASON_MAX = 1000
#: Most photos in one submission.
MAX_PHOTOS = 10
#: Longest title of a submission (field news: a title and a text, no photo). The text
#: of a news item is its caption, so ``CAPTION_MAX`` bounds it.
NEWS_TITLE_MAX = 150
#: Longest link a submission may carry (characters; http or https only).
LINK_MAX = 1000


#: Longest charter text published from chat: Slack's plain-text input holds 3000
#: characters (longer texts are published with RELAIS_CHARTER_FILE).
CHARTER_MAX = 3000

#: Longest site name (characters).
SITE_NAME_MAX = 120


def site_key(name: str) -> str:
    """What makes two site names the same site: case, accents, surrounding spaces and
    runs of inner spaces do not count (" Lyon ", "lyon" and "LYON" are one site;
    "Saint-Étienne" and "saint-etienne" too)."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())
