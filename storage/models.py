"""SQLAlchemy 2 models: every table Relais owns. Alembic migrations mirror this file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so migrations and autogenerate agree on every dialect.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware values")
        value = value.astimezone(UTC)
        # SQLite compares datetimes as text: store them all in the same (naive UTC) form.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    # Submissions ever approved: kept with each approval so the digest's milestones cost
    # the same whatever the history (approved is final, the total never goes down).
    approved_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]


class Site(Base):
    __tablename__ = "sites"
    # One site per name ignoring case, accents and spaces: ``key`` is domain.site_key(name).
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index(None, "workspace_id", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(120), server_default="")
    created_at: Mapped[datetime]


class SiteReferent(Base):
    """A member named the referent (the relay) of a site."""

    __tablename__ = "site_referents"
    __table_args__ = (UniqueConstraint("site_id", "member_id"), Index(None, "member_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))


class AuditEvent(Base):
    """Append-only record of programme changes (roles, sites); the migration adds a
    trigger that refuses UPDATE, as for review_events."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "workspace_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    # What it was about, as words that survive the rows (a person's id, a site's name).
    subject: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    snoozed_until: Mapped[datetime | None]
    nudges_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # ``/relais config me``: off the leaderboard by name (still counted); badges
    # announced in the ambassadors' channel (off until the member agrees).
    leaderboard_hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    badges_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # ``/relais forget``: the row stays as a pseudonym (``external_id`` is then
    # ``forgotten:<random>``, the name empty) so the trail keeps who decided what.
    forgotten_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MemberRole(Base):
    __tablename__ = "member_roles"
    __table_args__ = (UniqueConstraint("member_id", "role"), Index(None, "role"))

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))


class CharterVersion(Base):
    __tablename__ = "charter_versions"
    __table_args__ = (UniqueConstraint("workspace_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )


class CharterAcceptance(Base):
    __tablename__ = "charter_acceptances"
    __table_args__ = (UniqueConstraint("member_id", "charter_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    charter_version_id: Mapped[int] = mapped_column(
        ForeignKey("charter_versions.id", ondelete="CASCADE")
    )
    accepted_at: Mapped[datetime]


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index(None, "workspace_id", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    brief: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[Any] = mapped_column(Date)
    ends_on: Mapped[Any] = mapped_column(Date)
    # The sites it is for are rows of ``campaign_sites``; none means every site.
    # Optional, shown with the campaign (``#summer``), without its "#".
    hashtag: Mapped[str | None] = mapped_column(String(60))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    # Set by ``campaign close``: a closed campaign takes no more submissions.
    closed_at: Mapped[datetime | None]


class CampaignSite(Base):
    """A site a campaign is for; a campaign without any row is for every site. Sites are
    deleted only by ``site merge``, which moves these rows to the site kept first."""

    __tablename__ = "campaign_sites"
    __table_args__ = (Index(None, "site_id"),)

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index(None, "workspace_id", "status", "created_at"),
        # The digest reads one week of decisions: this keeps it independent of history.
        Index(None, "workspace_id", "status", "decided_at"),
        Index(None, "author_id", "created_at"),
        # /relais stats reads the weeks it shows (whatever the status) and a campaign's
        # submissions: both bounded by what is shown, not by the history.
        Index(None, "workspace_id", "created_at"),
        Index(None, "campaign_id"),
        UniqueConstraint("workspace_id", "client_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    caption: Mapped[str] = mapped_column(Text)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(24))
    people_consented: Mapped[bool] = mapped_column(Boolean)
    sensitive: Mapped[bool] = mapped_column(Boolean)
    # Idempotency key from the platform (e.g. a view id) so a retried submit is one row.
    client_key: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # Outbox rows of the review cards currently showing this submission (one in the review
    # channel, or one per CM when no channel is set), so a decision can update them all.
    card_outbox_ids: Mapped[list[int] | None] = mapped_column(JSON)
    # Who appears in the photos (domain.Appears): nobody, colleagues (each asked, see
    # ``consents``) or people outside the company (``people_consented``: the author
    # declared holding their written agreement). NULL: sent before the form asked
    # (migration 0015 set "outside" where the old consent box was ticked).
    appears: Mapped[str | None] = mapped_column(String(16))
    # Approved for use inside the company only (consent incomplete at approval).
    internal_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When someone named (or the author) withdrew consent: the photo leaves future
    # digests, the content library and the export's external use.
    consent_withdrawn_at: Mapped[datetime | None]
    # A title and a link (http/https), optional on a photo; field news (a submission
    # without a photo) has a title, its text in ``caption`` (migration 0018).
    title: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)


class Consent(Base):
    """One person named in a submission's photos, and their answer."""

    __tablename__ = "consents"
    __table_args__ = (
        UniqueConstraint("submission_id", "member_id"),
        # ``/relais consent``: the photos a person appears in.
        Index(None, "member_id"),
        # The reminder round: pending requests, oldest first.
        Index(None, "state", "asked_at"),
        # An id is never reused (SQLite would reuse a deleted one): the request's message
        # is queued once per id (its outbox dedupe key).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # domain.ConsentState: pending, agreed, declined, withdrawn.
    state: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (
        Index(None, "owner_id", "source_sha256"),
        # The retention round asks whether a stored file is still some photo's.
        Index(None, "storage_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    source_sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(120))
    # A video's poster frame (a JPEG in the store); NULL for a photo (migration 0019).
    poster_key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    # Set by the retention round (``bot/services/retention.py``) when the photo's file was
    # deleted; the row stays so the submission's history stays whole.
    purged_at: Mapped[datetime | None]


class SubmissionMedia(Base):
    __tablename__ = "submission_media"
    __table_args__ = (UniqueConstraint("submission_id", "media_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    # index: the retention round asks which submissions hold a photo.
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)


class ReviewEvent(Base):
    """Append-only audit trail; the migration adds a trigger that refuses UPDATE."""

    __tablename__ = "review_events"
    # /relais stats: the escalations of the weeks it shows.
    __table_args__ = (Index(None, "to_status", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class PointsEntry(Base):
    __tablename__ = "points_ledger"
    __table_args__ = (UniqueConstraint("member_id", "submission_id", "reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]


class Badge(Base):
    """A personal milestone a member reached (``domain.BadgeCode``), once per member;
    ``submission_id`` is the approval that earned it."""

    __tablename__ = "badges"
    __table_args__ = (UniqueConstraint("member_id", "badge"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    badge: Mapped[str] = mapped_column(String(32))
    awarded_at: Mapped[datetime]
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )


class Thanks(Base):
    """A CM's personal thank-you for one submission, sent to its author once: the unique
    key on ``submission_id`` makes two clicks (even at once, on two replicas) one row."""

    __tablename__ = "thanks"
    __table_args__ = (UniqueConstraint("submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    # Who thanked: named from the member row, so a pseudonymised member shows as such.
    by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    # "post" sends a new message; "update" rewrites the message an earlier row posted.
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    replaces_id: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # What the platform returned for a post (channel + message id) so updates can find it.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DataExport(Base):
    """A file Relais generated from people's data and handed to someone (``/relais
    mydata``'s JSON and zip, ``/relais export``'s CSV files): kept so that forgetting a
    person also deletes the files that hold their name or id."""

    __tablename__ = "data_exports"
    __table_args__ = (Index(None, "workspace_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # Who asked for it (a CM for an export, the person for their own data).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    media_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]


class ForgetMark(Base):
    """Inserted and deleted inside the transaction that forgets a person, never committed:
    while it exists there, ``review_events.reason`` may be rewritten (the trigger of
    migration 0017 checks for it); everywhere else that table stays append-only."""

    __tablename__ = "forget_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]


class SendLease(Base):
    """Which replica sends a workspace's outbox rows on one platform, and until when.

    Platform rate limits are per workspace (Slack) or tenant (Teams): one sender per
    workspace at a time keeps every replica's pacing within one budget. The holder renews
    its lease while it has rows of the workspace to send; another dispatcher takes the
    workspace over once ``until`` has passed (see ``bot.outbox``).
    """

    __tablename__ = "send_leases"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]


class SendDispatcher(Base):
    """A dispatcher that is running, per platform it sends to, until when (renewed by its
    claims): how many replicas share the workspaces' send leases (see ``bot.outbox``)."""

    __tablename__ = "send_dispatchers"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime]


class Job(Base):
    """Heavy work done after the ack (downloading and cleaning photos), resumed after a crash."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        UniqueConstraint("key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What runs it (e.g. "slack.submission") and an idempotency key: the same input twice
    # (a platform retry, a double submit) finds the existing row instead of a second job.
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class SlackUpload(Base):
    """A cleaned photo uploaded (or being uploaded) to a Slack workspace, so cards reuse its
    file id and an interrupted upload resumes where it stopped instead of starting again."""

    __tablename__ = "slack_uploads"
    __table_args__ = (UniqueConstraint("team_id", "media_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    media_key: Mapped[str] = mapped_column(String(200))
    file_id: Mapped[str] = mapped_column(String(32))
    # The three calls of an upload, each recorded once it succeeded: "reserved"
    # (files.getUploadURLExternal gave file_id and upload_url), "uploaded" (the bytes were
    # accepted at upload_url), "complete" (files.completeUploadExternal: usable in cards).
    state: Mapped[str] = mapped_column(String(16), server_default="complete")
    upload_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


# Bolt's SQLAlchemy installation and OAuth state stores (slack_sdk.oauth.*.sqlalchemy) read
# and write these three tables; they are declared here, column for column as the SDK's
# build_*_table() methods declare them, so Alembic creates and checks them with the rest
# and storage needs no chat SDK. tests/test_cli.py holds them against the SDK's own.


def _slack_bot_columns() -> list[Column[Any]]:
    """The columns Bolt's installations and bots tables both start with."""
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
    ]


slack_installations = Table(
    "slack_installations",
    Base.metadata,
    *_slack_bot_columns(),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", String(200)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", String(200)),
    Column("bot_token_expires_at", DateTime),
    Column("user_id", String(32), nullable=False),
    Column("user_token", String(200)),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", String(200)),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index(
        "slack_installations_idx",
        "client_id",
        "enterprise_id",
        "team_id",
        "user_id",
        "installed_at",
    ),
)

slack_bots = Table(
    "slack_bots",
    Base.metadata,
    *_slack_bot_columns(),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", String(200)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", String(200)),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)


class ConversationRef(Base):
    """Where a Teams person or channel can be reached proactively (Bot Framework reference).

    Saved on install and on every message, so the outbox can reach anyone who has the
    app after a restart and from any replica.
    """

    __tablename__ = "conversation_refs"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # "user" (key: the member's external id) or "channel" (key: the channel id).
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class WorkspaceSetting(Base):
    """A setting a CM changed from chat (it overrides the environment's default)."""

    __tablename__ = "workspace_settings"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]


class Draft(Base):
    """Photos received in a chat (Teams) waiting for the person to fill in the form.

    The form carries only the draft's random token; the photos stay on the server, so
    a crafted form cannot point at somebody else's photo.
    """

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    photos: Mapped[dict[str, Any]] = mapped_column(JSON)
    caption: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class ScheduleRun(Base):
    """One scheduled round claimed for one period: the unique key makes it exactly once.

    ``kind`` is "digest" or a nudge kind; ``period`` names the round (the digest's week,
    a nudge's day); ``target`` whom it is for (a channel, a person). The row is written
    in the same transaction as the round's outbox messages, so N replicas and restarts
    send each round once. ``status`` is "sent" or "skipped" (missed beyond the grace).
    ``at`` is when a nudge was sent, and for a digest the end of the period it covered
    (its slot, or the moment of an early ``digest send``): the next digest starts there.
    """

    __tablename__ = "schedule_runs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "period", "target"),
        Index(None, "workspace_id", "kind", "target", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class SiteDigest(Base):
    """A site's own weekly digest: the channel it is posted in (``/relais config
    site_digest <site> #channel``). No row, no local digest; the row goes with its site."""

    __tablename__ = "site_digests"
    __table_args__ = (Index(None, "workspace_id"),)

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(200))
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    set_at: Mapped[datetime]
