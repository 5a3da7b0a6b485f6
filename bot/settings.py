"""Settings read from the environment or a ``.env`` file.

Names follow the interface contract in DESIGN.md; the extra ``RELAIS_*`` knobs have
safe defaults so a fresh machine runs with nothing set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_database_url() -> str:
    """SQLite file in the working directory: the embedded default."""
    return f"sqlite+aiosqlite:///{Path.cwd() / 'relais.db'}"


def async_database_url(value: str) -> str:
    """The URL with an async driver: people paste what their host gives them."""
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    if value.startswith("postgresql://"):
        return "postgresql+asyncpg://" + value.removeprefix("postgresql://")
    if value.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
    return value


class Settings(BaseSettings):
    """Every setting Relais reads. Environment names are the field names, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 3000
    database_url: str = Field(default_factory=default_database_url)
    media_dir: Path = Field(default_factory=lambda: Path.cwd() / "media")
    public_url: str = ""

    relais_locale: Literal["fr", "en"] = "en"
    relais_timezone: str = "Europe/Paris"
    relais_review_channel: str = ""
    relais_digest_channel: str = ""
    relais_digest_schedule: str = "fri 16:00"
    relais_cms: Annotated[list[str], NoDecode] = Field(default_factory=list)
    relais_approvers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    relais_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    relais_charter_file: Path | None = None
    relais_max_photo_mb: float = 20.0
    relais_max_photo_pixels: int = 40_000_000
    # Decoded photo bytes all photo work in a process may hold at once (bot.media).
    relais_photo_memory_mb: float = Field(default=100.0, gt=0)
    relais_points_per_approval: int = 10
    relais_outbox_max_attempts: int = 8
    # Slack: requests per second per workspace for posting and updating messages.
    relais_slack_rate: float = Field(default=20.0, gt=0)
    # Signs the short-lived photo links of /media/{token} (Teams cards show photos by URL).
    relais_secret_key: str = ""
    # Run the Teams adapter without Bot Framework authentication (Bot Framework Emulator,
    # local only): refused unless MICROSOFT_APP_ID is empty; binds 127.0.0.1.
    relais_teams_emulator: bool = False

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_api_url: str = "https://slack.com/api/"

    microsoft_app_id: str = ""
    microsoft_app_password: str = ""
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: str = "MultiTenant"

    @field_validator("relais_cms", "relais_approvers", "relais_admins", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # RELAIS_CMS=U1,U2 (commas and/or spaces), as people write it in a .env file.
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    def slack_configured(self) -> bool:
        """True when these settings describe a Slack app (token, OAuth or Socket Mode)."""
        return bool(self.slack_bot_token or (self.slack_client_id and self.slack_client_secret))

    def teams_configured(self) -> bool:
        """True when these settings describe a Teams bot (or the local emulator mode)."""
        return bool(self.microsoft_app_id or self.relais_teams_emulator)

    def slack_problem(self) -> str | None:
        """What is wrong with the Slack settings, in one sentence; None when usable or unset."""
        oauth = bool(self.slack_client_id or self.slack_client_secret)
        if oauth and not (self.slack_client_id and self.slack_client_secret):
            return "set both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (multi-workspace OAuth)"
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            return "SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write"
        if self.slack_app_token and not (self.slack_bot_token or oauth):
            return "Socket Mode (SLACK_APP_TOKEN) also needs SLACK_BOT_TOKEN"
        configured = self.slack_bot_token or oauth
        if configured and not self.slack_app_token and not self.slack_signing_secret:
            return "SLACK_SIGNING_SECRET is required to verify Slack's requests"
        return None

    def teams_problem(self) -> str | None:
        """What is wrong with the Teams settings; None when usable or unset."""
        if self.relais_teams_emulator and self.microsoft_app_id:
            return "RELAIS_TEAMS_EMULATOR turns authentication off: leave MICROSOFT_APP_ID empty"
        if self.microsoft_app_id and not self.microsoft_app_password:
            return "MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID"
        kind = self.microsoft_app_type.lower()
        if self.microsoft_app_id and kind not in ("multitenant", "singletenant"):
            return "MICROSOFT_APP_TYPE must be MultiTenant or SingleTenant"
        if self.microsoft_app_id and kind == "singletenant" and not self.microsoft_app_tenant_id:
            return "MICROSOFT_APP_TENANT_ID is required for a SingleTenant app"
        return None

    @property
    def max_photo_bytes(self) -> int:
        """The photo size limit in bytes."""
        return int(self.relais_max_photo_mb * 1024 * 1024)

    @property
    def photo_memory_bytes(self) -> int:
        """The photo work budget in bytes (RELAIS_PHOTO_MEMORY_MB)."""
        return int(self.relais_photo_memory_mb * 1024 * 1024)
