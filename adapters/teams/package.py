"""The Teams app package: ``manifest/manifest.json`` filled in, zipped with its two icons.

Teams installs a bot from a zip holding ``manifest.json``, ``color.png`` (192x192) and
``outline.png`` (32x32, white on transparent) at its root. The manifest in this folder is
a template with three placeholders, filled from the settings:

- ``{{MICROSOFT_APP_ID}}``: the Azure Bot's App ID, used as the Teams app id and the bot id;
- ``{{PUBLIC_URL}}``: the server's public base URL (the developer links);
- ``{{PUBLIC_HOST}}``: its host, listed in ``validDomains`` so cards may show photos
  served from ``PUBLIC_URL/media/...``.

``relais teams-package`` calls ``build_package``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.settings import Settings

MANIFEST_DIR = Path(__file__).parent / "manifest"
TEMPLATE = "manifest.json"
ICONS = ("color.png", "outline.png")
DEFAULT_OUTPUT = Path("relais-teams.zip")

_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# A fixed timestamp: the same settings give a byte-identical package.
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


class PackageError(ValueError):
    """A setting the package needs is missing or wrong (the message says which and how)."""


def placeholder_values(settings: Settings) -> dict[str, str]:
    """The values of the template's placeholders, checked."""
    app_id = settings.microsoft_app_id.strip()
    if not app_id:
        raise PackageError(
            "MICROSOFT_APP_ID is required: the Microsoft App ID of your Azure Bot "
            "(Azure portal > your Azure Bot > Configuration)"
        )
    if not _GUID.fullmatch(app_id):
        raise PackageError(
            f"MICROSOFT_APP_ID must be the Azure Bot's Microsoft App ID, a GUID such as "
            f"00000000-0000-0000-0000-000000000000 (got {app_id!r})"
        )
    public_url = settings.public_url.strip().rstrip("/")
    if not public_url:
        raise PackageError(
            "PUBLIC_URL is required: the https address where Teams reaches Relais, "
            "for example https://relais.yourcompany.com"
        )
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.hostname:
        raise PackageError(
            f"PUBLIC_URL must be an https URL such as https://relais.yourcompany.com "
            f"(got {public_url!r})"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise PackageError(
            f"PUBLIC_URL must be a plain base URL, without credentials, query or fragment "
            f"(got {public_url!r})"
        )
    return {"MICROSOFT_APP_ID": app_id, "PUBLIC_URL": public_url, "PUBLIC_HOST": parts.hostname}


def render_manifest(settings: Settings, template: Path | None = None) -> str:
    """The manifest template with its placeholders filled, checked to be a JSON object."""
    values = placeholder_values(settings)
    text = (template or MANIFEST_DIR / TEMPLATE).read_text(encoding="utf-8")
    unknown = sorted({name for name in _PLACEHOLDER.findall(text) if name not in values})
    if unknown:
        raise PackageError(f"the manifest template has unknown placeholders: {unknown}")
    # Each value lands inside a JSON string: escape it as one.
    filled = _PLACEHOLDER.sub(lambda m: json.dumps(values[m[1]])[1:-1], text)
    try:
        manifest: Any = json.loads(filled)
    except json.JSONDecodeError as exc:
        raise PackageError(f"the filled manifest is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise PackageError("the filled manifest is not a JSON object")
    return filled


def build_package(settings: Settings, output: Path = DEFAULT_OUTPUT) -> Path:
    """Write the Teams app package (a zip) to ``output`` and return its path.

    Raises ``PackageError`` when a setting is missing or wrong, ``OSError`` when the file
    cannot be written. The zip is written next to ``output`` and renamed into place, so a
    failure never leaves half a package behind.
    """
    manifest = render_manifest(settings)
    entries = {TEMPLATE: manifest.encode("utf-8")}
    for name in ICONS:
        entries[name] = (MANIFEST_DIR / name).read_bytes()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".relais-teams-", suffix=".zip", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries.items():
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a package is not a secret
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output
