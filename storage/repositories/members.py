"""Workspaces, members, roles, sites and charter versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import MemberView, Platform, Role, site_key
from storage.models import (
    AuditEvent,
    CampaignSite,
    CharterAcceptance,
    CharterVersion,
    Member,
    MemberRole,
    Site,
    SiteReferent,
    Submission,
    Workspace,
)
from storage.repositories.dml import rowcount


class WorkspaceRepository:
    """Rows of ``workspaces``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def find(self, platform: Platform, external_id: str) -> Workspace | None:
        """The workspace with this platform id, if known."""
        query = select(Workspace).where(
            Workspace.platform == platform.value, Workspace.external_id == external_id
        )
        return (await self.s.execute(query)).scalar_one_or_none()

    async def get_or_create(
        self, platform: Platform, external_id: str, *, locale: str, timezone: str, now: datetime
    ) -> Workspace:
        """Find the workspace or create it; safe when two requests race to create it."""
        query = select(Workspace).where(
            Workspace.platform == platform.value, Workspace.external_id == external_id
        )
        row = await self.find(platform, external_id)
        if row is not None:
            return row
        try:
            async with self.s.begin_nested():
                row = Workspace(
                    platform=platform.value,
                    external_id=external_id,
                    locale=locale,
                    timezone=timezone,
                    created_at=now,
                )
                self.s.add(row)
        except IntegrityError:
            row = (await self.s.execute(query)).scalar_one()
        return row

    async def ids(self) -> list[int]:
        """Every workspace id."""
        return list(await self.s.scalars(select(Workspace.id).order_by(Workspace.id)))

    async def get(self, workspace_id: int) -> Workspace:
        """The workspace with this id (it must exist)."""
        return await self.s.get_one(Workspace, workspace_id)

    async def get_or_none(self, workspace_id: int) -> Workspace | None:
        """The workspace with this id, None when there is none (a link naming one)."""
        return await self.s.get(Workspace, workspace_id)


class MemberRepository:
    """Rows of ``members`` and ``member_roles``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get_or_create(
        self,
        workspace_id: int,
        external_id: str,
        *,
        display_name: str,
        locale: str | None,
        timezone: str | None,
        now: datetime,
    ) -> Member:
        """Find the member or create it, refreshing name, locale and timezone when given."""
        query = select(Member).where(
            Member.workspace_id == workspace_id, Member.external_id == external_id
        )
        row = (await self.s.execute(query)).scalar_one_or_none()
        if row is None:
            try:
                async with self.s.begin_nested():
                    row = Member(
                        workspace_id=workspace_id,
                        external_id=external_id,
                        display_name=display_name or external_id,
                        locale=locale,
                        timezone=timezone,
                        nudges_opt_out=False,
                        created_at=now,
                    )
                    self.s.add(row)
            except IntegrityError:
                row = (await self.s.execute(query)).scalar_one()
            return row
        if display_name and row.display_name != display_name:
            row.display_name = display_name
        if locale and row.locale != locale:
            row.locale = locale
        if timezone and row.timezone != timezone:
            row.timezone = timezone
        return row

    async def find(self, workspace_id: int, external_id: str) -> Member | None:
        """The member with this platform id, if known."""
        query = select(Member).where(
            Member.workspace_id == workspace_id, Member.external_id == external_id
        )
        return (await self.s.execute(query)).scalar_one_or_none()

    async def by_name(self, workspace_id: int, name: str) -> Member | None:
        """The one member whose display name is ``name`` (ignoring case); None when no one
        or several have it."""
        rows = list(
            await self.s.scalars(
                select(Member)
                .where(
                    Member.workspace_id == workspace_id,
                    func.lower(Member.display_name) == name.lower(),
                )
                .limit(2)
            )
        )
        return rows[0] if len(rows) == 1 else None

    async def view(self, member_id: int) -> MemberView:
        """The member as a value object, with its roles."""
        row = await self.s.get_one(Member, member_id)
        ws = await self.s.get_one(Workspace, row.workspace_id)
        roles = await self.roles(member_id)
        sites = await self.referent_sites(member_id)
        return MemberView(
            id=row.id,
            workspace_id=row.workspace_id,
            platform=Platform(ws.platform),
            external_id=row.external_id,
            display_name=row.display_name,
            locale=row.locale or ws.locale,
            timezone=row.timezone,
            site_id=row.site_id,
            roles=roles | {Role.REFERENT} if sites else roles,
            referent_sites=sites,
            leaderboard_hidden=row.leaderboard_hidden,
            badges_public=row.badges_public,
            forgotten=row.forgotten_at is not None,
        )

    async def views(self, member_ids: list[int]) -> dict[int, MemberView]:
        """Several members as value objects in two queries (the digest's contributors)."""
        if not member_ids:
            return {}
        rows = await self.s.execute(
            select(Member, Workspace)
            .join(Workspace, Workspace.id == Member.workspace_id)
            .where(Member.id.in_(member_ids))
        )
        roles: dict[int, set[Role]] = {}
        for member_id, role in await self.s.execute(
            select(MemberRole.member_id, MemberRole.role).where(
                MemberRole.member_id.in_(member_ids)
            )
        ):
            roles.setdefault(member_id, set()).add(Role(role))
        referent: dict[int, set[int]] = {}
        for member_id, site_id in await self.s.execute(
            select(SiteReferent.member_id, SiteReferent.site_id).where(
                SiteReferent.member_id.in_(member_ids)
            )
        ):
            referent.setdefault(member_id, set()).add(site_id)
            roles.setdefault(member_id, set()).add(Role.REFERENT)
        return {
            row.id: MemberView(
                id=row.id,
                workspace_id=row.workspace_id,
                platform=Platform(ws.platform),
                external_id=row.external_id,
                display_name=row.display_name,
                locale=row.locale or ws.locale,
                timezone=row.timezone,
                site_id=row.site_id,
                roles=frozenset(roles.get(row.id, ())),
                referent_sites=frozenset(referent.get(row.id, ())),
                leaderboard_hidden=row.leaderboard_hidden,
                badges_public=row.badges_public,
                forgotten=row.forgotten_at is not None,
            )
            for row, ws in rows.all()
        }

    async def roles(self, member_id: int) -> frozenset[Role]:
        """The roles a member holds."""
        rows = await self.s.scalars(
            select(MemberRole.role).where(MemberRole.member_id == member_id)
        )
        return frozenset(Role(r) for r in rows)

    async def referent_sites(self, member_id: int) -> frozenset[int]:
        """The sites this member is the referent of."""
        rows = await self.s.scalars(
            select(SiteReferent.site_id).where(SiteReferent.member_id == member_id)
        )
        return frozenset(rows)

    async def grant_referent(
        self, member_id: int, site_id: int, *, now: datetime, by: int | None = None
    ) -> bool:
        """Name the member a referent of the site; False when they already were."""
        if site_id in await self.referent_sites(member_id):
            return False
        try:
            async with self.s.begin_nested():
                self.s.add(
                    SiteReferent(
                        site_id=site_id, member_id=member_id, granted_at=now, granted_by_id=by
                    )
                )
        except IntegrityError:
            return False
        return True

    async def revoke_referent(self, member_id: int, site_id: int | None) -> list[int]:
        """Stop the member being a referent of the site (of every site: None); returns
        the sites they no longer relay."""
        query = delete(SiteReferent).where(SiteReferent.member_id == member_id)
        if site_id is not None:
            query = query.where(SiteReferent.site_id == site_id)
        result = await self.s.execute(query.returning(SiteReferent.site_id))
        return sorted(result.scalars())

    async def referent_pairs(self, workspace_id: int) -> list[tuple[int, str, int]]:
        """Every (site id, site name, referent member id) of the workspace, by site."""
        rows = await self.s.execute(
            select(Site.id, Site.name, SiteReferent.member_id)
            .join(SiteReferent, SiteReferent.site_id == Site.id)
            .where(Site.workspace_id == workspace_id)
            .order_by(Site.key, SiteReferent.id)
        )
        return [(site_id, name, member_id) for site_id, name, member_id in rows]

    async def referents_of(self, site_id: int) -> list[MemberView]:
        """The referents of a site, first named first."""
        ids = await self.s.scalars(
            select(SiteReferent.member_id)
            .where(SiteReferent.site_id == site_id)
            .order_by(SiteReferent.id)
        )
        return [await self.view(i) for i in ids]

    async def staff(self, workspace_id: int) -> list[tuple[MemberView, list[str]]]:
        """Every member holding a role beyond ambassador, with the names of the sites
        they relay, by name (``/relais role list``)."""
        with_roles = (
            select(Member.id)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .where(
                Member.workspace_id == workspace_id,
                MemberRole.role.in_([Role.CM.value, Role.APPROVER.value, Role.ADMIN.value]),
            )
        )
        referents = (
            select(Member.id)
            .join(SiteReferent, SiteReferent.member_id == Member.id)
            .where(Member.workspace_id == workspace_id)
        )
        ids = sorted(set(await self.s.scalars(with_roles)) | set(await self.s.scalars(referents)))
        views = await self.views(ids)
        site_names: dict[int, list[str]] = {}
        for member_id, name in await self.s.execute(
            select(SiteReferent.member_id, Site.name)
            .join(Site, Site.id == SiteReferent.site_id)
            .where(SiteReferent.member_id.in_(ids))
            .order_by(Site.name)
        ):
            site_names.setdefault(member_id, []).append(name)
        people = sorted(views.values(), key=lambda v: (v.display_name.casefold(), v.id))
        return [(v, site_names.get(v.id, [])) for v in people]

    async def grant(
        self, member_id: int, role: Role, *, now: datetime, by: int | None = None
    ) -> bool:
        """Give a role; False when the member already held it."""
        if role in await self.roles(member_id):
            return False
        try:
            async with self.s.begin_nested():
                self.s.add(
                    MemberRole(
                        member_id=member_id, role=role.value, granted_at=now, granted_by_id=by
                    )
                )
        except IntegrityError:
            return False
        return True

    async def revoke(self, member_id: int, role: Role) -> bool:
        """Take a role away; False when the member did not hold it."""
        result = await self.s.execute(
            delete(MemberRole).where(
                MemberRole.member_id == member_id, MemberRole.role == role.value
            )
        )
        return rowcount(result) > 0

    async def any_with_role(self, workspace_id: int, *roles: Role) -> bool:
        """True when at least one member of the workspace holds one of ``roles``."""
        found = await self.s.scalar(
            select(MemberRole.id)
            .join(Member, MemberRole.member_id == Member.id)
            .where(
                Member.workspace_id == workspace_id, MemberRole.role.in_([r.value for r in roles])
            )
            .limit(1)
        )
        return found is not None

    async def with_role(self, workspace_id: int, role: Role) -> list[MemberView]:
        """Every member of the workspace holding ``role``, oldest first."""
        ids = await self.s.scalars(
            select(Member.id)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .where(Member.workspace_id == workspace_id, MemberRole.role == role.value)
            .order_by(Member.id)
        )
        return [await self.view(i) for i in ids]

    async def row(self, member_id: int) -> Member:
        """The raw member row (for fields the view does not carry)."""
        return await self.s.get_one(Member, member_id, populate_existing=True)

    async def set_snooze(
        self, member_id: int, until: datetime | None, *, opt_out: bool = False
    ) -> None:
        """Silence nudges until ``until`` (None lifts the snooze); ``opt_out``: for good."""
        await self.s.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(snoozed_until=until, nudges_opt_out=opt_out)
        )

    async def set_preferences(
        self,
        member_id: int,
        *,
        leaderboard_hidden: bool | None = None,
        badges_public: bool | None = None,
    ) -> None:
        """Change the member's personal preferences (None leaves one as it is)."""
        values = {
            key: value
            for key, value in (
                ("leaderboard_hidden", leaderboard_hidden),
                ("badges_public", badges_public),
            )
            if value is not None
        }
        if values:
            await self.s.execute(update(Member).where(Member.id == member_id).values(**values))

    async def set_site(self, member_id: int, site_id: int | None) -> None:
        """Attach the member to a site (or none)."""
        await self.s.execute(update(Member).where(Member.id == member_id).values(site_id=site_id))


class SiteRepository:
    """Rows of ``sites``: one per name ignoring case, accents and spaces (``key``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def find(self, workspace_id: int, name: str) -> Site | None:
        """The site this name means (case, accents and spaces ignored), if any."""
        query = select(Site).where(Site.workspace_id == workspace_id, Site.key == site_key(name))
        return (await self.s.execute(query)).scalar_one_or_none()

    async def add(self, workspace_id: int, name: str, *, now: datetime) -> Site | None:
        """Create the site; None when one with the same key exists."""
        clean = " ".join(name.split())
        try:
            async with self.s.begin_nested():
                row = Site(
                    workspace_id=workspace_id, name=clean, key=site_key(clean), created_at=now
                )
                self.s.add(row)
        except IntegrityError:
            return None
        return row

    async def rename(self, site_id: int, name: str) -> bool:
        """Rename; False when another site of the workspace already has this key."""
        clean = " ".join(name.split())
        try:
            async with self.s.begin_nested():
                await self.s.execute(
                    update(Site).where(Site.id == site_id).values(name=clean, key=site_key(clean))
                )
        except IntegrityError:
            return False
        return True

    async def merge(self, source_id: int, into_id: int) -> dict[str, int]:
        """Move members, submissions, campaign targets and referents of ``source`` to
        ``into``, then delete ``source``; returns how many rows of each moved. A campaign
        for both sites stays for ``into`` once."""
        moved: dict[str, int] = {}
        for name, model in (("members", Member), ("submissions", Submission)):
            result = await self.s.execute(
                update(model).where(model.site_id == source_id).values(site_id=into_id)
            )
            moved[name] = rowcount(result)
        both = select(CampaignSite.campaign_id).where(CampaignSite.site_id == into_id)
        result = await self.s.execute(
            update(CampaignSite)
            .where(CampaignSite.site_id == source_id, CampaignSite.campaign_id.not_in(both))
            .values(site_id=into_id)
        )
        moved["campaigns"] = rowcount(result)
        already = select(SiteReferent.member_id).where(SiteReferent.site_id == into_id)
        result = await self.s.execute(
            update(SiteReferent)
            .where(SiteReferent.site_id == source_id, SiteReferent.member_id.not_in(already))
            .values(site_id=into_id)
        )
        moved["referents"] = rowcount(result)
        await self.s.execute(delete(Site).where(Site.id == source_id))
        return moved

    async def list(self, workspace_id: int) -> list[Site]:
        """Every site of the workspace, by name."""
        rows = await self.s.scalars(
            select(Site).where(Site.workspace_id == workspace_id).order_by(Site.key)
        )
        return list(rows)

    async def member_counts(self, workspace_id: int) -> dict[int, int]:
        """Members attached to each site of the workspace."""
        rows = await self.s.execute(
            select(Member.site_id, func.count())
            .where(Member.workspace_id == workspace_id, Member.site_id.is_not(None))
            .group_by(Member.site_id)
        )
        return {site_id: n for site_id, n in rows if site_id is not None}

    async def get(self, site_id: int) -> Site | None:
        """A site by id."""
        return await self.s.get(Site, site_id)


class AuditRepository:
    """Rows of ``audit_events``: inserted, never changed (a trigger refuses UPDATE)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(
        self,
        workspace_id: int,
        *,
        actor_id: int | None,
        action: str,
        subject: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> None:
        """Record one change."""
        self.s.add(
            AuditEvent(
                workspace_id=workspace_id,
                actor_id=actor_id,
                action=action,
                subject=subject[:300],
                detail=detail,
                at=now,
            )
        )
        await self.s.flush()

    async def form_version(self) -> tuple[int, int]:
        """(latest audit row, latest charter version row), over every workspace, in one
        statement on two primary keys: every change of sites and campaigns writes an
        audit row in its transaction and publishing a charter adds a row, so this pair
        moves on whenever what a submission form offers (or the charter a member must
        have accepted to see it) may have changed, in any workspace."""
        audit = select(func.max(AuditEvent.id))
        charter = select(func.max(CharterVersion.id))
        row = (
            await self.s.execute(select(audit.scalar_subquery(), charter.scalar_subquery()))
        ).one()
        return int(row[0] or 0), int(row[1] or 0)

    async def recent(self, workspace_id: int, limit: int = 50) -> list[AuditEvent]:
        """The latest changes, newest first."""
        rows = await self.s.scalars(
            select(AuditEvent)
            .where(AuditEvent.workspace_id == workspace_id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        return list(rows)


class CharterRepository:
    """Rows of ``charter_versions`` and ``charter_acceptances``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def current(self, workspace_id: int) -> CharterVersion | None:
        """The latest published charter version."""
        return (
            await self.s.execute(
                select(CharterVersion)
                .where(CharterVersion.workspace_id == workspace_id)
                .order_by(CharterVersion.version.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def publish(
        self, workspace_id: int, text: str, *, now: datetime, by: int | None = None
    ) -> CharterVersion:
        """Publish a new version numbered one above the latest."""
        latest = await self.s.scalar(
            select(func.max(CharterVersion.version)).where(
                CharterVersion.workspace_id == workspace_id
            )
        )
        row = CharterVersion(
            workspace_id=workspace_id,
            version=(latest or 0) + 1,
            text=text,
            published_at=now,
            published_by_id=by,
        )
        self.s.add(row)
        await self.s.flush()
        return row

    async def accept(self, member_id: int, version_id: int, *, now: datetime) -> None:
        """Record that a member accepted a version (idempotent)."""
        exists = await self.s.scalar(
            select(CharterAcceptance.id).where(
                CharterAcceptance.member_id == member_id,
                CharterAcceptance.charter_version_id == version_id,
            )
        )
        if exists is None:
            self.s.add(
                CharterAcceptance(
                    member_id=member_id, charter_version_id=version_id, accepted_at=now
                )
            )
            await self.s.flush()

    async def ambassadors_versions(self, workspace_id: int) -> list[tuple[int, int | None]]:
        """Every ambassador of the workspace with the highest version they accepted."""
        accepted = (
            select(
                CharterAcceptance.member_id.label("member_id"),
                func.max(CharterVersion.version).label("version"),
            )
            .join(CharterVersion, CharterVersion.id == CharterAcceptance.charter_version_id)
            .group_by(CharterAcceptance.member_id)
            .subquery()
        )
        rows = await self.s.execute(
            select(Member.id, accepted.c.version)
            .join(MemberRole, MemberRole.member_id == Member.id)
            .outerjoin(accepted, accepted.c.member_id == Member.id)
            .where(Member.workspace_id == workspace_id, MemberRole.role == Role.AMBASSADOR.value)
            .order_by(Member.id)
        )
        return [(member_id, version) for member_id, version in rows]

    async def accepted_version(self, member_id: int) -> int | None:
        """The highest charter version number the member accepted."""
        return await self.s.scalar(
            select(func.max(CharterVersion.version))
            .join(CharterAcceptance, CharterAcceptance.charter_version_id == CharterVersion.id)
            .where(CharterAcceptance.member_id == member_id)
        )
