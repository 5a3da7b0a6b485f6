"""Content-addressed media files on local disk.

A stored file is named after the SHA-256 of its bytes, so the same content is kept once
and a key can never point at different bytes over time. Keys look like
``ab/cd/abcd….jpg``; the two levels of sharding keep directories small.

All methods do blocking file-system calls: async callers run them in a thread.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

__all__ = ["LocalMediaStore"]

# fullmatch, not "^...$": "$" would also accept a trailing newline.
_KEY_RE = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})\.(jpg|png|webp|csv)")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
# csv: exports a CM asked for (``/relais export``), delivered like a photo.
_EXTENSIONS = frozenset({"jpg", "png", "webp", "csv"})


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
        target = self.path(key)
        if target.exists():
            Path(temp).unlink(missing_ok=True)
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
        """Return the absolute path for ``key``; raise ValueError for a malformed key.

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
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file stored under ``key``; a missing file is not an error."""
        self.path(key).unlink(missing_ok=True)
