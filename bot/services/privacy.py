"""A person's rights over their data: ``/relais mydata`` (everything Relais stores about
them, as a JSON file, and their photos as a zip, both by direct message) and ``/relais
forget`` (their data deleted; approved submissions deleted or kept anonymised as the
workspace configures; the audit trail keeps a pseudonym)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import cards, notify
from bot.i18n import translator
from bot.media import EXTENSIONS, hash_file
from bot.services.submissions import load_view
from domain import MemberView, Status

if TYPE_CHECKING:
    from bot.core import Core
    from storage.media_store import LocalMediaStore

log = logging.getLogger(__name__)

#: The version of the JSON layout (a reader can tell which fields to expect).
FORMAT = 1


@dataclass(frozen=True)
class PersonalExport:
    """What ``mydata`` wrote: the JSON file's media key, the zip's (None without photos)
    and how many photos went in."""

    data_key: str
    photos_key: str | None
    photos: int


class PersonalData:
    """Collects and delivers one person's data; never anybody else's."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def collect(self, member: MemberView) -> dict[str, Any]:
        """Everything stored about ``member``, as plain JSON values."""
        async with self.core.db.read() as r:
            mine = r.personal
            return {
                "format": FORMAT,
                "exported_at": self.core.clock().isoformat(),
                "platform": member.platform.value,
                "profile": await mine.profile(member.id),
                "roles": await mine.roles(member.id),
                "charter_acceptances": await mine.charter_acceptances(member.id),
                "submissions": await mine.submissions(member.id),
                "consents_given": await mine.consents(member.id),
                "points": await mine.points(member.id),
                "badges": await mine.badges(member.id),
                "thanks": await mine.thanks(member.id),
                "messages_to_you": await mine.messages_to(member.workspace_id, member.external_id),
                "audit_trail": await mine.audit(member.workspace_id, member.id, member.external_id),
                "kept_for_delivery": await mine.kept_for_delivery(
                    member.workspace_id, member.id, member.external_id
                ),
            }

    async def export(self, member: MemberView) -> PersonalExport:
        """Write the JSON file and the zip of photos, and queue both to ``member`` by DM
        (on Slack as files, on Teams through signed links, on the console as paths)."""
        t = translator(member.locale)
        data = await self.collect(member)
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()
        store = self.core.store
        data_key = await asyncio.to_thread(store.put, body, "json")
        keys = [data_key]
        day = self.core.clock().date().isoformat()
        photos = [
            (f"submission-{sub['id']}-{p['position'] + 1}.{EXTENSIONS.get(p['type'], 'bin')}", p)
            for sub in data["submissions"]
            for p in sub["photos"]
        ]
        photos_key = None
        if photos:
            photos_key = await asyncio.to_thread(
                _zip_photos, store, [(name, p["storage_key"]) for name, p in photos]
            )
            keys.append(photos_key)
        await self.core.record_exports(member, keys)
        await self.core.send_dm(
            member,
            cards.mydata_message(t, data_key, f"relais-mydata-{day}.json", len(photos)),
        )
        if photos_key is not None:
            await self.core.send_dm(
                member,
                cards.export_message(
                    t, photos_key, f"relais-photos-{day}.zip", t("mydata.photos", count=len(photos))
                ),
            )
        return PersonalExport(data_key, photos_key, len(photos))


@dataclass(frozen=True)
class Forgotten:
    """What ``forget`` did: submissions deleted and kept (anonymised), photo files removed,
    and the pseudonym the audit trail now shows."""

    deleted: int
    kept: int
    files_removed: int
    pseudonym: str


class Forgetting:
    """``/relais forget`` and ``relais forget <platform user id>``."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def forget(self, member: MemberView, *, by: str = "self") -> Forgotten:
        """Delete ``member``'s personal data in one transaction; ``by`` ("self" or
        "admin") is recorded. Their review cards say the submission was removed, or show
        "a colleague from <site>" where approved ones are kept anonymised."""
        now = self.core.clock()
        config = await self.core.config.get(member.workspace_id)
        keep_approved = config.forget_approved == "anonymise"
        pseudonym = f"forgotten:{secrets.token_hex(8)}"
        async with self.core.db.read() as r:
            exports = await r.personal.exports(member.workspace_id)
        # Their own data files, and exports that name them (read in a thread).
        doomed = await asyncio.to_thread(_exports_naming, self.core.store, exports, member)
        async with self.core.db.transaction() as r:
            ws = await r.workspaces.get(member.workspace_id)
            t = translator(ws.locale)
            mine = await r.personal.submissions_to_forget(member.id)
            kept = [i for i, status, _ in mine if keep_approved and status == Status.APPROVED]
            deleted = [i for i, _, _ in mine if i not in kept]
            for submission_id, _, card_ids in mine:
                if submission_id in deleted:
                    for post_id in card_ids:
                        if await r.outbox.get(post_id) is not None:
                            card = cards.removed_card(t, submission_id)
                            await notify.replace(r, post_id, card, now=now)
            # Their answers about photos they appear in become withdrawals (the row stays,
            # as the pseudonym: a decline keeps refusing); the requests they made go with
            # their submissions.
            appears_in = await self.core.consents.forget(r, member.id, now)
            keys = await r.personal.forget(
                member.id,
                delete_submissions=deleted,
                pseudonym=pseudonym,
                label=t("person.forgotten"),
                exports=doomed,
                now=now,
            )
            await r.audit.add(
                member.workspace_id,
                actor_id=member.id,
                action="member.forget",
                subject=pseudonym,
                detail={"by": by, "deleted": len(deleted), "kept": len(kept)},
                now=now,
            )
            for submission_id in kept + [i for i in appears_in if i not in deleted]:
                await self.core.submissions.update_cards(r, await load_view(r, submission_id))
            unreferenced = await r.personal.unreferenced(keys)
        self.core.outbox_changed()
        # After the commit: a crash here leaves files no row names, which the retention
        # round collects as orphans.
        removed = await asyncio.to_thread(_delete_files, self.core.store, unreferenced)
        await asyncio.to_thread(_delete_files, self.core.store, doomed)
        return Forgotten(len(deleted), len(kept), removed, pseudonym)


def _exports_naming(
    store: LocalMediaStore, exports: list[tuple[int | None, str]], member: MemberView
) -> list[str]:
    """The export files to delete with ``member``: those they asked for (their own data)
    and the text ones (JSON, CSV) holding their platform id or name."""
    needles = [member.external_id.encode()]
    if member.display_name.strip():
        needles.append(member.display_name.strip().encode())
    doomed = []
    for owner, key in exports:
        if owner == member.id:
            doomed.append(key)
            continue
        if key.endswith(".zip") or not store.exists(key):
            continue
        data = store.path(key).read_bytes()
        if any(needle in data for needle in needles):
            doomed.append(key)
    return doomed


def _delete_files(store: LocalMediaStore, keys: list[str]) -> int:
    done = 0
    for key in keys:
        try:
            store.delete(key)
            done += 1
        except Exception:
            log.exception("forget: could not delete media file %s", key)
    return done


def _zip_photos(store: LocalMediaStore, photos: list[tuple[str, str]]) -> str:
    """Zip the stored files ``photos`` (name in the zip, media key) into the store, one file
    at a time (memory does not grow with the number of photos); returns the zip's key.
    A photo whose file is gone (purged after the retention period) is left out."""
    temp = Path(store.new_temp_path())
    try:
        # JPEG, PNG and WebP are compressed already: stored, not deflated again.
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_STORED) as zf:
            for name, key in photos:
                if store.exists(key):
                    zf.write(store.path(key), name)
        return store.commit(temp, hash_file(temp)[0], "zip")
    finally:
        temp.unlink(missing_ok=True)
