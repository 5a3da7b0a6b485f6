"""Photo intake: stream, check, strip metadata, store.

Adapters download a photo as an async stream of chunks; :class:`MediaIntake` writes it
to a temp file while counting and hashing (memory never grows with the file), then,
in a worker thread, checks it with Pillow and re-encodes it without metadata (EXIF,
GPS, XMP, comments) before storing it by content hash.

Refusals raise :class:`MediaRejected` with a stable ``code``; the core turns codes
into translated messages, so no user-facing text lives here.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from bot import metrics
from storage.media_store import LocalMediaStore

__all__ = ["ACCEPTED_FORMATS", "CleanImage", "MediaIntake", "MediaRejected", "RejectCode"]

RejectCode = Literal[
    "too_large",
    "unsupported_type",
    "too_many_pixels",
    "corrupt",
    "empty",
    # Raised by adapters while fetching a photo from the platform:
    "login_page",
    "download_failed",
    "not_yours",
]

#: Pillow format name -> (MIME type, file extension) of what we accept and store.
ACCEPTED_FORMATS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "JPEG": ("image/jpeg", "jpg"),
        "PNG": ("image/png", "png"),
        "WEBP": ("image/webp", "webp"),
    }
)
ACCEPTED_LABEL = "JPEG, PNG, WebP"
_JPEG_QUALITY = 88
_WEBP_QUALITY = 88
_CHUNK = 64 * 1024
# Small chunks (some HTTP clients yield a few KiB) are gathered before each write so
# the thread hop per write stays cheap; this also bounds the memory used.
_WRITE_BUFFER = 256 * 1024
# Signatures of the accepted formats: a file that starts like one but that Pillow
# cannot identify is a broken photo ("corrupt"), not a wrong type.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
# warnings.catch_warnings() swaps process-wide state; concurrent intakes must not
# interleave it. Only the header parse runs under the lock, never the decode.
_WARNINGS_LOCK = threading.Lock()

_LOG_MESSAGES: dict[str, str] = {
    "too_large": "file is larger than the limit",
    "unsupported_type": "not a JPEG, PNG or WebP image",
    "too_many_pixels": "image has more pixels than the limit",
    "corrupt": "image data is corrupt or truncated",
    "empty": "file is empty",
    "login_page": "the platform served a login page instead of the file (missing scope)",
    "download_failed": "the platform refused the download",
    "not_yours": "the file was shared by someone else than the submitter",
}


class MediaRejected(Exception):
    """A photo was refused. ``code`` says why; ``detail`` holds values for the message."""

    def __init__(self, code: RejectCode, detail: Mapping[str, object] | None = None) -> None:
        super().__init__(code, dict(detail or {}))
        self.code: RejectCode = code
        self.detail: dict[str, object] = dict(detail or {})

    def __str__(self) -> str:
        text = _LOG_MESSAGES.get(self.code, self.code)
        return f"{text} {self.detail}" if self.detail else text


@dataclass(frozen=True)
class CleanImage:
    """A stored, metadata-free photo."""

    sha256: str  # of the cleaned bytes as stored
    source_sha256: str  # of the bytes received: spots the same photo sent twice
    mime: str
    size: int
    width: int
    height: int
    storage_key: str


class MediaIntake:
    """Turns an untrusted byte stream into a :class:`CleanImage` in the store."""

    def __init__(self, store: LocalMediaStore, *, max_bytes: int, max_pixels: int) -> None:
        """``max_bytes`` bounds the bytes received, ``max_pixels`` width x height."""
        self._store = store
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels

    async def intake(self, chunks: AsyncIterable[bytes]) -> CleanImage:
        """Receive, check, clean and store one photo; raise MediaRejected if refused.

        Reading stops (and the stream is closed) as soon as more than ``max_bytes``
        arrived, so an oversized download is not pulled to the end.
        """
        temp = await asyncio.to_thread(self._store.new_temp_path)
        try:
            source_sha256, size = await self._receive(chunks, temp)
            metrics.PHOTO_BYTES.inc(size)
            if size == 0:
                raise MediaRejected("empty")
            return await asyncio.to_thread(self._clean, temp, source_sha256)
        except MediaRejected as exc:
            metrics.PHOTO_REJECTIONS.labels(exc.code).inc()
            raise
        finally:
            # Synchronous on purpose: it must run even while the task is cancelled.
            temp.unlink(missing_ok=True)

    async def intake_path(self, path: Path) -> CleanImage:
        """Like :meth:`intake`, reading a local file in 64 KiB chunks."""
        return await self.intake(_read_file(Path(path)))

    async def intake_bytes(self, data: bytes) -> CleanImage:
        """Like :meth:`intake`, for bytes already in memory."""

        async def one_by_one() -> AsyncIterator[bytes]:
            view = memoryview(data)
            for start in range(0, len(view), _CHUNK):
                yield bytes(view[start : start + _CHUNK])

        return await self.intake(one_by_one())

    async def _receive(self, chunks: AsyncIterable[bytes], temp: Path) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        fh = await asyncio.to_thread(temp.open, "xb")
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > self._max_bytes:
                    raise MediaRejected(
                        "too_large", {"limit_mb": _in_units(self._max_bytes, 2**20)}
                    )
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= _WRITE_BUFFER:
                    await asyncio.to_thread(fh.write, buffer)
                    buffer.clear()
            if buffer:
                await asyncio.to_thread(fh.write, buffer)
        finally:
            await asyncio.to_thread(fh.close)
            # Closing an async generator at once releases its resources (an HTTP
            # response, a file) instead of leaving it suspended until garbage collection.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        return digest.hexdigest(), size

    def _clean(self, source: Path, source_sha256: str) -> CleanImage:
        """Check and re-encode ``source``; runs in a worker thread."""
        with self._open(source) as img:
            fmt = img.format or ""
            mime, ext = ACCEPTED_FORMATS[fmt]
            try:
                img.load()
            except Image.DecompressionBombError as exc:
                raise self._too_many_pixels() from exc
            except Exception as exc:
                raise MediaRejected("corrupt") from exc
            try:
                ImageOps.exif_transpose(img, in_place=True)
            except Exception:
                # Unreadable EXIF says nothing reliable about orientation; the pixels
                # are fine, so keep them as they are.
                pass
            out = self._store.new_temp_path()
            try:
                _encode(img, fmt, out)
                sha256, size = _hash_file(out)
                key = self._store.commit(out, sha256, ext)
            finally:
                out.unlink(missing_ok=True)
            return CleanImage(
                sha256=sha256,
                source_sha256=source_sha256,
                mime=mime,
                size=size,
                width=img.width,
                height=img.height,
                storage_key=key,
            )

    def _open(self, source: Path) -> Image.Image:
        """Identify by content and check the size from the header, before decoding."""
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                # Only our formats' parsers ever see untrusted bytes (no EPS, etc.).
                img = Image.open(source, formats=tuple(ACCEPTED_FORMATS))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise self._too_many_pixels() from exc
            except UnidentifiedImageError as exc:
                if _looks_like_accepted(source):
                    raise MediaRejected("corrupt") from exc
                raise MediaRejected("unsupported_type", {"accepted": ACCEPTED_LABEL}) from exc
            except Exception as exc:
                raise MediaRejected("corrupt") from exc
        if img.format not in ACCEPTED_FORMATS:
            img.close()
            raise MediaRejected("unsupported_type", {"accepted": ACCEPTED_LABEL})
        if img.width * img.height > self._max_pixels:
            img.close()
            raise self._too_many_pixels()
        return img

    def _too_many_pixels(self) -> MediaRejected:
        return MediaRejected(
            "too_many_pixels", {"limit_mp": _in_units(self._max_pixels, 1_000_000)}
        )


def _encode(img: Image.Image, fmt: str, out: Path) -> None:
    """Write pixels only: no EXIF, XMP, comments, text chunks, GPS; ICC kept."""
    source_mode = img.mode
    icc = img.info.get("icc_profile")
    transparency = img.info.get("transparency")
    # Savers also read some metadata from img.info (JPEG comment, PNG ICC): empty it so
    # only what is passed explicitly below is written.
    img.info = {}
    params: dict[str, object] = {}
    if fmt == "JPEG":
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        params = {"quality": _JPEG_QUALITY}
    elif fmt == "PNG":
        if transparency is not None:
            params["transparency"] = transparency
    else:
        params = {"quality": _WEBP_QUALITY, "method": 4}
    # A profile describes the original colour space; after a mode change it would lie.
    if icc and img.mode == source_mode:
        params["icc_profile"] = icc
    img.save(out, format=fmt, **params)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _looks_like_accepted(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(12)
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _in_units(value: int, unit: int) -> int | float:
    amount = value / unit
    return int(amount) if amount.is_integer() else round(amount, 1)


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    fh = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(fh.read, _CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(fh.close)
