"""Content-addressed media files on local disk, or in an S3-compatible bucket.

A stored file is named after the SHA-256 of its bytes, so the same content is kept once
and a key can never point at different bytes over time. Keys look like
``ab/cd/abcd….jpg``; the two levels of sharding keep directories small.

All methods do blocking file-system (and, for S3, network) calls: async callers run
them in a thread.

``S3MediaStore`` (``MEDIA_URL=s3://bucket/prefix``) is for replicas that share no disk:
each photo is written to the bucket when it is stored, and ``MEDIA_DIR`` becomes a local
cache that ``path()`` fills from the bucket on first use. Keys are content hashes, so a
cached file can never be stale. The endpoint, region and credentials are boto3's usual
ones (``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, or an instance role).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

__all__ = ["LocalMediaStore", "S3MediaStore", "media_store"]

# fullmatch, not "^...$": "$" would also accept a trailing newline.
_KEY_RE = re.compile(
    r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\.(jpg|png|webp|mp4|webm|csv|json|zip)"
)
_SHA_RE = re.compile(r"[0-9a-f]{64}")
# csv: exports a CM asked for (``/relais export``); json and zip: a person's own data
# (``/relais mydata``); delivered like a photo. mp4 and webm: cleaned videos.
_EXTENSIONS = frozenset({"jpg", "png", "webp", "mp4", "webm", "csv", "json", "zip"})


class LocalMediaStore:
    """Media files under one root directory, addressed by content hash."""

    def __init__(self, root: Path) -> None:
        """Use ``root`` as the store; nothing is created on disk until first written."""
        self._root = Path(root).absolute()
        # Temp files live inside the root, on the same file system as the final
        # files, so that commit() is an atomic rename and never a copy.
        self._tmp = self._root / "tmp"

    @property
    def root(self) -> Path:
        """The store's root directory."""
        return self._root

    def new_temp_path(self) -> Path:
        """Return a fresh, unused path under ``root/tmp`` (the file is not created)."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        return self._tmp / uuid.uuid4().hex

    def commit(self, temp: Path, sha256: str, ext: str) -> str:
        """Move ``temp`` to its content address and return the storage key.

        ``sha256`` must be the hex digest of the file's bytes. When a file with that
        address already exists it has the same content, so ``temp`` is just removed.
        """
        if not _SHA_RE.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        if ext not in _EXTENSIONS:
            raise ValueError(f"unsupported extension: {ext!r}")
        key = f"{sha256[0:2]}/{sha256[2:4]}/{sha256}.{ext}"
        target = self.local_path(key)
        if target.exists():
            Path(temp).unlink(missing_ok=True)
            # Stored again: its age (what the orphan collection goes by) starts again.
            _touch(target)
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        # os.replace is atomic: readers see either no file or the whole file, and two
        # replicas committing the same content at once both succeed.
        os.replace(temp, target)
        return key

    def put(self, data: bytes, ext: str) -> str:
        """Store ``data`` (a generated file: a chart, an export) and return its key."""
        temp = self.new_temp_path()
        temp.write_bytes(data)
        return self.commit(temp, hashlib.sha256(data).hexdigest(), ext)

    def path(self, key: str) -> Path:
        """Return the absolute path for ``key``; raise ValueError for a malformed key."""
        return self.local_path(key)

    def local_path(self, key: str) -> Path:
        """Where ``key`` is (or would be) on this machine; raise ValueError for a malformed key.

        Only the exact key shape is accepted, so a key coming from a database row or a
        URL can never reach outside the store (``..``, absolute paths, other names).
        """
        match = _KEY_RE.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(f"invalid media key: {key!r}")
        first, second, sha, _ext = match.groups()
        if sha[0:2] != first or sha[2:4] != second:
            raise ValueError(f"invalid media key: {key!r}")
        return self._root / key

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
        return self.local_path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file stored under ``key``; a missing file is not an error."""
        self.local_path(key).unlink(missing_ok=True)

    def stored_before(self, before: datetime) -> Iterator[str]:
        """The keys of the files last stored before ``before`` (the retention round's
        orphan collection; anything else under the root is not a media file)."""
        return self.cached_before(before)

    def cached_before(self, before: datetime) -> Iterator[str]:
        """The keys of the files on this machine last written before ``before``."""
        limit = before.timestamp()
        for path in self._root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            key = path.relative_to(self._root).as_posix()
            if not _KEY_RE.fullmatch(key):
                continue
            try:
                if path.stat().st_mtime < limit:
                    yield key
            except FileNotFoundError:
                continue

    def stored_at(self, key: str) -> datetime | None:
        """When the file under ``key`` was last stored; None when there is none."""
        try:
            return datetime.fromtimestamp(self.local_path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def uncache(self, key: str) -> None:
        """Remove this machine's copy of ``key`` (for a local store: the file itself)."""
        self.local_path(key).unlink(missing_ok=True)

    def remove_stale_temps(self, before: datetime) -> int:
        """Delete temporary files (an intake that crashed) last written before ``before``."""
        removed = 0
        if not self._tmp.is_dir():
            return 0
        for path in self._tmp.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < before.timestamp():
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class S3MediaStore(LocalMediaStore):
    """Photos in an S3-compatible bucket under ``prefix``, cached under ``cache``."""

    def __init__(self, cache: Path, bucket: str, prefix: str = "", client: Any = None) -> None:
        super().__init__(cache)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, cache: Path) -> S3MediaStore:
        """``s3://bucket/prefix`` (the prefix is optional)."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"MEDIA_URL must look like s3://bucket/prefix, not {url!r}")
        return cls(cache, parsed.netloc, parsed.path)

    @property
    def client(self) -> Any:
        """boto3's S3 client (made on first use; boto3 clients are thread-safe)."""
        with self._lock:
            if self._client is None:
                import boto3

                self._client = boto3.client("s3")
            return self._client

    def object_key(self, key: str) -> str:
        """The bucket's key for a media key (checked like ``path``)."""
        self.local_path(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def commit(self, temp: Path, sha256: str, ext: str) -> str:
        """Store locally (the cache), then in the bucket unless it is already there."""
        key = super().commit(temp, sha256, ext)
        content_type = _CONTENT_TYPES[key.rsplit(".", 1)[1]]
        if not self._in_bucket(key):
            self.client.upload_file(
                str(self.local_path(key)),
                self.bucket,
                self.object_key(key),
                ExtraArgs={"ContentType": content_type},
            )
        else:
            # Stored again: copying the object onto itself renews its LastModified, the
            # age the orphan collection goes by.
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self.object_key(key),
                CopySource={"Bucket": self.bucket, "Key": self.object_key(key)},
                MetadataDirective="REPLACE",
                ContentType=content_type,
            )
        return key

    def path(self, key: str) -> Path:
        """The cached file for ``key``, fetched from the bucket when not cached yet (the
        path of a missing file when the bucket has none either)."""
        local = self.local_path(key)
        if local.is_file():
            return local
        temp = self.new_temp_path()
        try:
            self.client.download_file(self.bucket, self.object_key(key), str(temp))
        except Exception as exc:
            temp.unlink(missing_ok=True)
            if _not_found(exc):
                return local
            raise
        local.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, local)
        return local

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file() or self._in_bucket(key)

    def stored_before(self, before: datetime) -> Iterator[str]:
        """The keys of the bucket's objects last stored before ``before``."""
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                key = obj["Key"][len(start) :]
                if _KEY_RE.fullmatch(key) and obj["LastModified"] < before:
                    yield key

    def stored_at(self, key: str) -> datetime | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except Exception as exc:
            if _not_found(exc):
                return None
            raise
        modified: datetime = head["LastModified"]
        return modified

    def uncache(self, key: str) -> None:
        """Remove this replica's cached copy only (the bucket keeps the object)."""
        super().delete(key)

    def delete(self, key: str) -> None:
        super().delete(key)
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def check(self) -> None:
        """Raise unless the bucket takes, returns and deletes an object (the doctor)."""
        probe = f"{self.prefix}/.relais-check-{uuid.uuid4().hex}".lstrip("/")
        self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
        try:
            self.client.get_object(Bucket=self.bucket, Key=probe)["Body"].read()
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=probe)

    def _in_bucket(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except Exception as exc:
            if _not_found(exc):
                return False
            raise
        return True


_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "zip": "application/zip",
}


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except FileNotFoundError:
        pass


def _not_found(exc: Exception) -> bool:
    """botocore's ClientError for a missing object (404 / NoSuchKey)."""
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")


def media_store(media_dir: Path, media_url: str = "") -> LocalMediaStore:
    """The store the settings ask for: the bucket of ``MEDIA_URL`` (``MEDIA_DIR`` its
    cache), else files under ``MEDIA_DIR``."""
    if media_url:
        return S3MediaStore.from_url(media_url, media_dir)
    return LocalMediaStore(media_dir)
