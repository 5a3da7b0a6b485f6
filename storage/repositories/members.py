"""Workspaces, members, roles, sites and charter versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import MemberView, Platform, Role
from storage.models import (
    CharterAcceptance,
    CharterVersion,
    Member,
    MemberRole,
    Site,
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

    async def view(self, member_id: int) -> MemberView:
        """The member as a value object, with its roles."""
        row = await self.s.get_one(Member, member_id)
        ws = await self.s.get_one(Workspace, row.workspace_id)
        roles = await self.roles(member_id)
        return MemberView(
            id=row.id,
            workspace_id=row.workspace_id,
            platform=Platform(ws.platform),
            external_id=row.external_id,
            display_name=row.display_name,
            locale=row.locale or ws.locale,
            timezone=row.timezone,
            site_id=row.site_id,
            roles=roles,
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
            )
            for row, ws in rows.all()
        }

    async def roles(self, member_id: int) -> frozenset[Role]:
        """The roles a member holds."""
        rows = await self.s.scalars(
            select(MemberRole.role).where(MemberRole.member_id == member_id)
        )
        return frozenset(Role(r) for r in rows)

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

    async def set_site(self, member_id: int, site_id: int | None) -> None:
        """Attach the member to a site (or none)."""
        await self.s.execute(update(Member).where(Member.id == member_id).values(site_id=site_id))


class SiteRepository:
    """Rows of ``sites``."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get_or_create(self, workspace_id: int, name: str, *, now: datetime) -> Site:
        """The site with this name, created if new."""
        query = select(Site).where(Site.workspace_id == workspace_id, Site.name == name)
        row = (await self.s.execute(query)).scalar_one_or_none()
        if row is not None:
            return row
        try:
            async with self.s.begin_nested():
                row = Site(workspace_id=workspace_id, name=name, created_at=now)
                self.s.add(row)
        except IntegrityError:
            row = (await self.s.execute(query)).scalar_one()
        return row

    async def list(self, workspace_id: int) -> list[Site]:
        """Every site of the workspace, by name."""
        rows = await self.s.scalars(
            select(Site).where(Site.workspace_id == workspace_id).order_by(Site.name)
        )
        return list(rows)

    async def get(self, site_id: int) -> Site | None:
        """A site by id."""
        return await self.s.get(Site, site_id)


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

    async def accepted_version(self, member_id: int) -> int | None:
        """The highest charter version number the member accepted."""
        return await self.s.scalar(
            select(func.max(CharterVersion.version))
            .join(CharterAcceptance, CharterAcceptance.charter_version_id == CharterVersion.id)
            .where(CharterAcceptance.member_id == member_id)
        )
