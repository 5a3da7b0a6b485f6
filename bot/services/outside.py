"""The copy of a photo that leaves the company (the library's download for use outside,
``relais export --photos``).

With ``/relais config face_blur on``, faces are blurred in that copy unless every face
found can be someone who agreed: OpenCV cannot tell whose face is whose, so when it
finds more faces than people named who agreed (a bystander, someone who declined or was
never asked), every face is blurred (``bot.faces``, in a worker thread). The cleaned
original is never changed: it stays for the CMs. A blurred copy is stored once (PNG,
content-addressed) and remembered in this process by the original's key.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.faces import blur_faces
from bot.media import EXTENSIONS
from storage.repositories.library import LibraryFilter

if TYPE_CHECKING:
    from bot.core import Core


@dataclass(frozen=True)
class OutsideCopy:
    """What to hand out: a media key, its type, and whether faces were blurred in it."""

    media_key: str
    mime: str
    blurred: bool


class OutsideCopies:
    def __init__(self, core: Core) -> None:
        self.core = core
        # (original key, people who agreed) -> the copy decided for it.
        self._known: dict[tuple[str, int], OutsideCopy] = {}

    async def copy(
        self, storage_key: str, mime: str, *, agreed: int, face_blur: bool
    ) -> OutsideCopy:
        """The copy of the stored photo ``storage_key`` to use outside the company."""
        original = OutsideCopy(storage_key, mime, blurred=False)
        if not face_blur:
            return original
        known = self._known.get((storage_key, agreed))
        if known is not None:
            return known
        store = self.core.store
        data = await asyncio.to_thread(lambda: store.path(storage_key).read_bytes())
        done = await asyncio.to_thread(blur_faces, data)
        if len(done.faces) <= agreed:
            chosen = original
        else:
            key = await asyncio.to_thread(store.put, done.png, "png")
            chosen = OutsideCopy(key, "image/png", blurred=True)
        if len(self._known) > 1024:
            self._known.clear()
        self._known[(storage_key, agreed)] = chosen
        return chosen

    @staticmethod
    def offered(mime: str, *, face_blur: bool) -> bool:
        """Whether a stored file has a copy for use outside: a video's faces cannot be
        blurred, so with ``face_blur`` on a video stays inside the company."""
        return not (face_blur and mime.startswith("video/"))

    async def photos_zip(self, workspace_id: int, target: Path) -> int:
        """``relais export --photos``: every approved photo cleared for use outside the
        company, as its copy for use outside (faces blurred where ``face_blur`` says so),
        each with a JSON sidecar (caption, credit, site, campaign, approval, who appears,
        consents), zipped to ``target`` one photo at a time; returns how many."""
        config = await self.core.config.get(workspace_id)
        count, offset, batch = 0, 0, 200
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
            while True:
                async with self.core.db.read() as r:
                    items = await r.library.page(
                        workspace_id, LibraryFilter(external=True), limit=batch, offset=offset
                    )
                if not items:
                    return count
                offset += batch
                for item in items:
                    for photo in item.photos:
                        if not self.offered(photo.mime, face_blur=config.face_blur):
                            continue
                        made = await self.copy(
                            photo.storage_key,
                            photo.mime,
                            agreed=item.agreed,
                            face_blur=config.face_blur,
                        )
                        ext = EXTENSIONS.get(made.mime, "jpg")
                        name = f"submission-{item.submission_id}-{photo.position + 1}"
                        source = self.core.store.path(made.media_key)
                        await asyncio.to_thread(zf.write, source, f"{name}.{ext}")
                        sidecar = {
                            "submission_id": item.submission_id,
                            "photo": photo.position + 1,
                            "caption": item.caption,
                            "credit": None if item.author_forgotten else item.author,
                            "site": item.site,
                            "campaign": item.campaign,
                            "approved_at": item.decided_at.isoformat(),
                            "who_appears": item.appears,
                            "people_named": item.named,
                            "people_agreed": item.agreed,
                            "external_use": True,
                            "faces_blurred": made.blurred,
                        }
                        text = json.dumps(sidecar, ensure_ascii=False, indent=2)
                        zf.writestr(f"{name}.json", text)
                        count += 1
