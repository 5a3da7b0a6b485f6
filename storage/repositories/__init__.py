"""Repositories: the only code that writes SQL. ``Repos`` bundles them for one transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.consents import ConsentRepository
from storage.repositories.jobs import JobRepository
from storage.repositories.leaderboard import LeaderboardRepository
from storage.repositories.library import LibraryRepository
from storage.repositories.members import (
    AuditRepository,
    CharterRepository,
    MemberRepository,
    SiteRepository,
    WorkspaceRepository,
)
from storage.repositories.outbox import OutboxRepository
from storage.repositories.personal import PersonalDataRepository
from storage.repositories.recognition import BadgeRepository
from storage.repositories.retention import RetentionRepository
from storage.repositories.rounds import RoundRepository
from storage.repositories.send_leases import SendLeaseRepository
from storage.repositories.settings import SettingsRepository
from storage.repositories.site_digests import SiteDigestRepository
from storage.repositories.slack import SlackUploadRepository
from storage.repositories.stats import StatsRepository
from storage.repositories.submissions import (
    CampaignRepository,
    MediaRepository,
    PointsRepository,
    ReviewEventRepository,
    SubmissionRepository,
)
from storage.repositories.teams import ConversationRefRepository, DraftRepository
from storage.repositories.thanks import ThanksRepository


class Repos:
    """Every repository, sharing one session and so one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.workspaces = WorkspaceRepository(session)
        self.members = MemberRepository(session)
        self.sites = SiteRepository(session)
        self.audit = AuditRepository(session)
        self.charters = CharterRepository(session)
        self.campaigns = CampaignRepository(session)
        self.submissions = SubmissionRepository(session)
        self.media = MediaRepository(session)
        self.reviews = ReviewEventRepository(session)
        self.points = PointsRepository(session)
        self.badges = BadgeRepository(session)
        self.outbox = OutboxRepository(session)
        self.send_leases = SendLeaseRepository(session)
        self.jobs = JobRepository(session)
        self.slack_uploads = SlackUploadRepository(session)
        self.settings = SettingsRepository(session)
        self.rounds = RoundRepository(session)
        self.retention = RetentionRepository(session)
        self.stats = StatsRepository(session)
        self.conversations = ConversationRefRepository(session)
        self.drafts = DraftRepository(session)
        self.personal = PersonalDataRepository(session)
        self.library = LibraryRepository(session)
        self.consents = ConsentRepository(session)
        self.leaderboard = LeaderboardRepository(session)
        self.thanks = ThanksRepository(session)
        self.site_digests = SiteDigestRepository(session)


__all__ = ["Repos"]
