"""Sites: the places ambassadors report from, kept by the CMs (add, rename, merge, list,
import). One site per name ignoring case, accents and spaces (``domain.site_key``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import InvalidInput, NotAllowed, NotFound
from domain import SITE_NAME_MAX, MemberView, Role, SiteLine, site_key
from storage.models import Site
from storage.repositories import Repos

if TYPE_CHECKING:
    from bot.core import Core


@dataclass(frozen=True)
class Imported:
    """What ``relais site import`` did."""

    added: tuple[str, ...]
    existing: int
    # (line number, the name as written) of the names refused (too long).
    refused: tuple[tuple[int, str], ...]


def clean_name(name: str, field: str = "name") -> str:
    """A site name as stored: inner runs of spaces made one; refused when empty or long."""
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("site.name_missing", field=field)
    if len(clean) > SITE_NAME_MAX:
        raise InvalidInput("error.site_too_long", field=field, max=SITE_NAME_MAX)
    return clean


class Sites:
    """The CM's side of sites. Every change is one transaction with its audit row."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def _cm(self, r: Repos, actor: MemberView) -> MemberView:
        """The actor re-read: the action table let them in, the rule is checked again
        in the transaction that writes."""
        fresh = await r.members.view(actor.id)
        if not fresh.has(Role.CM):
            raise NotAllowed()
        return fresh

    @staticmethod
    async def _named(r: Repos, workspace_id: int, name: str) -> Site:
        site = await r.sites.find(workspace_id, name)
        if site is None:
            raise NotFound("site.not_found", site=" ".join(name.split())[:SITE_NAME_MAX])
        return site

    async def add(self, actor: MemberView, name: str) -> str:
        """Create a site; refused when one of the same name (ignoring case, accents and
        spaces) exists."""
        clean = clean_name(name)
        now = self.core.clock()
        async with self.core.forms.changing(actor.workspace_id), self.core.db.transaction() as r:
            fresh = await self._cm(r, actor)
            existing = await r.sites.find(fresh.workspace_id, clean)
            row = None if existing else await r.sites.add(fresh.workspace_id, clean, now=now)
            if row is None:
                other = existing or await self._named(r, fresh.workspace_id, clean)
                raise InvalidInput("site.exists", field="name", site=other.name)
            await r.audit.add(
                fresh.workspace_id,
                actor_id=fresh.id,
                action="site.add",
                subject=row.name,
                detail={"site_id": row.id},
                now=now,
            )
            return row.name

    async def rename(self, actor: MemberView, old: str, new: str) -> tuple[str, str]:
        """Rename a site (its members, submissions and referents stay with it)."""
        clean = clean_name(new)
        now = self.core.clock()
        async with self.core.forms.changing(actor.workspace_id), self.core.db.transaction() as r:
            fresh = await self._cm(r, actor)
            site = await self._named(r, fresh.workspace_id, old)
            before = site.name
            other = await r.sites.find(fresh.workspace_id, clean)
            if (other is not None and other.id != site.id) or not await r.sites.rename(
                site.id, clean
            ):
                raise InvalidInput("site.exists", field="name", site=other.name if other else clean)
            await r.audit.add(
                fresh.workspace_id,
                actor_id=fresh.id,
                action="site.rename",
                subject=clean,
                detail={"site_id": site.id, "from": before, "to": clean},
                now=now,
            )
            return before, clean

    async def merge(self, actor: MemberView, source: str, into: str) -> tuple[str, str, int, int]:
        """Fold ``source`` into ``into``: its members, submissions, campaign targets,
        referents and local digest channel (when ``into`` has none) move, ``source`` is
        deleted, the audit trail keeps what moved. Returns (source name, target name,
        members moved, submissions moved)."""
        now = self.core.clock()
        async with self.core.forms.changing(actor.workspace_id), self.core.db.transaction() as r:
            fresh = await self._cm(r, actor)
            gone = await self._named(r, fresh.workspace_id, source)
            kept = await self._named(r, fresh.workspace_id, into)
            if gone.id == kept.id:
                raise InvalidInput("site.merge_same", field="name", site=kept.name)
            gone_name, gone_id = gone.name, gone.id
            # ``into`` keeps its own local digest, or takes ``source``'s (before the
            # delete of ``source`` would drop it).
            digest_moved = await r.site_digests.merge(gone_id, kept.id)
            moved = await r.sites.merge(gone_id, kept.id)
            await r.audit.add(
                fresh.workspace_id,
                actor_id=fresh.id,
                action="site.merge",
                subject=f"{gone_name} -> {kept.name}",
                detail={
                    "from_id": gone_id,
                    "from": gone_name,
                    "into_id": kept.id,
                    **moved,
                    "digest_channel": int(digest_moved),
                },
                now=now,
            )
            return gone_name, kept.name, moved["members"], moved["submissions"]

    async def lines(self, workspace_id: int) -> list[SiteLine]:
        """Every site with its number of members and its referents, by name."""
        async with self.core.db.read() as r:
            counts = await r.sites.member_counts(workspace_id)
            channels = {i: ch for i, _, ch in await r.site_digests.channels(workspace_id)}
            result = []
            for site in await r.sites.list(workspace_id):
                referents = await r.members.referents_of(site.id)
                result.append(
                    SiteLine(
                        id=site.id,
                        name=site.name,
                        members=counts.get(site.id, 0),
                        referents=tuple(m.display_name for m in referents),
                        digest_channel=channels.get(site.id, ""),
                    )
                )
            return result

    async def names(self, workspace_id: int) -> list[tuple[int, str]]:
        """Sites as (id, name), by name: what a form offers."""
        async with self.core.db.read() as r:
            return [(s.id, s.name) for s in await r.sites.list(workspace_id)]

    async def matching(self, workspace_id: int, typed: str, limit: int) -> list[tuple[int, str]]:
        """Sites whose name holds what was typed (case, accents and spaces aside), the
        names starting with it first: what a select menu offers as the person types."""
        key = site_key(typed)
        found = [(i, n) for i, n in await self.names(workspace_id) if key in site_key(n)]
        found.sort(key=lambda pair: not site_key(pair[1]).startswith(key))
        return found[:limit]

    async def ensure(self, workspace_id: int, names: Iterable[str]) -> Imported:
        """Create each site not there yet (``relais site import``, test set-ups): running
        it again with the same names adds nothing. Names too long are listed, not cut."""
        now = self.core.clock()
        added: list[str] = []
        refused: list[tuple[int, str]] = []
        existing = 0
        seen: set[str] = set()
        async with self.core.forms.changing(workspace_id), self.core.db.transaction() as r:
            for line, name in enumerate(names, start=1):
                clean = " ".join(name.split())
                if not clean or site_key(clean) in seen:
                    continue
                seen.add(site_key(clean))
                if len(clean) > SITE_NAME_MAX:
                    refused.append((line, clean))
                elif await r.sites.find(workspace_id, clean) is not None:
                    existing += 1
                elif await r.sites.add(workspace_id, clean, now=now) is not None:
                    added.append(clean)
                else:
                    existing += 1
            if added:
                await r.audit.add(
                    workspace_id,
                    actor_id=None,
                    action="site.import",
                    subject=f"{len(added)} sites",
                    detail={"added": added},
                    now=now,
                )
        return Imported(tuple(added), existing, tuple(refused))
