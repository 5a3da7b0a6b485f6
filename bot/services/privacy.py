"""A person's rights over their data: ``/relais mydata`` (everything Relais stores about
them, as a JSON file, and their photos as a zip, both by direct message)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import cards
from bot.i18n import translator
from domain import MemberView

if TYPE_CHECKING:
    from bot.core import Core
    from storage.media_store import LocalMediaStore

#: The version of the JSON layout (a reader can tell which fields to expect).
FORMAT = 1
_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


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
                "points": await mine.points(member.id),
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
        day = self.core.clock().date().isoformat()
        photos = [
            (f"submission-{sub['id']}-{p['position'] + 1}.{_EXT.get(p['type'], 'bin')}", p)
            for sub in data["submissions"]
            for p in sub["photos"]
        ]
        photos_key = None
        if photos:
            photos_key = await asyncio.to_thread(
                _zip_photos, store, [(name, p["storage_key"]) for name, p in photos]
            )
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
        digest = hashlib.sha256()
        with temp.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return store.commit(temp, digest.hexdigest(), "zip")
    finally:
        temp.unlink(missing_ok=True)
